// PrecomputedView (attnbook.widgets): a slider, dropdown or row of buttons over
// a few values -- or one control per axis of a grid of values -- each with a
// figure and/or small data computed in Python; moving a control switches
// between them in the browser, no kernel needed.
// Text goes in with textContent only.

function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

// One control (slider, dropdown or buttons) over the values of one axis;
// returns its element and a sync(i) that shows value i as chosen.
function makeControl(axis, onChoose) {
  const box = h("span", "attn-control");
  box.append(h("span", "attn-control-name", axis.label));
  const n = axis.values.length;
  if (axis.control === "dropdown") {
    const select = h("select");
    select.setAttribute("aria-label", axis.label);
    axis.values.forEach((v, i) => {
      const o = h("option", null, v);
      o.value = String(i);
      select.append(o);
    });
    select.addEventListener("change", () => onChoose(Number(select.value)));
    box.append(select);
    return { el: box, sync: (i) => (select.value = String(i)) };
  }
  if (axis.control === "buttons") {
    const buttons = axis.values.map((v, i) => {
      const b = h("button", "attn-btn", v);
      b.type = "button";
      b.addEventListener("click", () => onChoose(i));
      return b;
    });
    box.append(...buttons);
    return { el: box, sync: (i) => buttons.forEach((b, k) => b.setAttribute("aria-pressed", String(k === i))) };
  }
  const slider = h("input");
  slider.type = "range";
  slider.min = "0";
  slider.max = String(n - 1);
  slider.step = "1";
  slider.setAttribute("aria-label", axis.label);
  const value = h("span", "attn-value");
  slider.addEventListener("input", () => onChoose(Number(slider.value)));
  box.append(slider, value);
  return {
    el: box,
    sync: (i) => {
      slider.value = String(i);
      value.textContent = axis.values[i];
      slider.setAttribute("aria-valuetext", `${axis.label} ${axis.values[i]}`);
    },
  };
}

function build(model, el) {
  const data = model.get("data");
  const n = data.values.length;
  // One axis, or a grid of several (values in row-major order, the last axis fastest).
  const axes = data.axes || [{ label: data.label, values: data.values, control: data.control }];
  const strides = axes.map((_, a) => axes.slice(a + 1).reduce((p, ax) => p * ax.values.length, 1));
  let index = Math.min(Math.max(model.get("index") || 0, 0), n - 1);
  const position = (a) => Math.floor(index / strides[a]) % axes[a].values.length;

  const root = h("div", "attn-view attn-precomputed");
  root.dataset.attnView = "precomputed";
  if (model.get("title")) root.append(h("div", "attn-title", model.get("title")));
  const controls = h("div", "attn-controls");
  const made = axes.map((axis, a) =>
    makeControl(axis, (i) => choose(index + (i - position(a)) * strides[a])),
  );
  controls.append(...made.map((c) => c.el));
  root.append(controls);

  const img = h("img", "attn-figure");
  const caption = h("div", "attn-readout");
  caption.setAttribute("aria-live", "polite");
  const table = h("table", "attn-data");
  root.append(img, caption, table);
  el.append(root);

  function choose(i) {
    index = i;
    model.set("index", i);
    model.save_changes();
    show();
  }

  function show() {
    made.forEach((c, a) => c.sync(position(a)));
    const chosen = axes.map((axis, a) => `${axis.label} = ${axis.values[position(a)]}`).join(", ");
    const src = data.images[index];
    img.hidden = !src;
    if (src) {
      img.src = src;
      img.alt = `${data.alt || "figure"} for ${chosen}`;
      if (data.width) img.style.width = `${data.width}px`;
    }
    const text = data.captions ? data.captions[index] : null;
    caption.textContent = text || chosen;
    table.replaceChildren();
    const row = data.data ? data.data[index] : null;
    table.hidden = !row;
    if (row) {
      for (const [k, v] of row) {
        const tr = h("tr");
        tr.append(h("th", null, k), h("td", null, v));
        table.append(tr);
      }
    }
    root.dataset.attnSelection = String(index);
  }

  show();
}

function render({ model, el }) {
  const redraw = () => {
    el.replaceChildren();
    build(model, el);
  };
  redraw();
  model.on("change:data", redraw);
  model.on("change:title", redraw);
  return () => {
    model.off("change:data", redraw);
    model.off("change:title", redraw);
  };
}

export default { render };
