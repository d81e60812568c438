// PrecomputedView (attnbook.widgets): a slider, dropdown or row of buttons over
// a few values, each with a figure and/or small data computed in Python; moving
// the control switches between them in the browser, no kernel needed.
// Text goes in with textContent only.

function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function build(model, el) {
  const data = model.get("data");
  const n = data.values.length;
  let index = Math.min(Math.max(model.get("index") || 0, 0), n - 1);

  const root = h("div", "attn-view attn-precomputed");
  root.dataset.attnView = "precomputed";
  if (model.get("title")) root.append(h("div", "attn-title", model.get("title")));
  const controls = h("div", "attn-controls");
  const box = h("span", "attn-control");
  box.append(h("span", "attn-control-name", data.label));
  let sync = () => {};
  if (data.control === "dropdown") {
    const select = h("select");
    select.setAttribute("aria-label", data.label);
    data.values.forEach((v, i) => {
      const o = h("option", null, v);
      o.value = String(i);
      select.append(o);
    });
    select.addEventListener("change", () => choose(Number(select.value)));
    sync = () => (select.value = String(index));
    box.append(select);
  } else if (data.control === "buttons") {
    const buttons = data.values.map((v, i) => {
      const b = h("button", "attn-btn", v);
      b.type = "button";
      b.addEventListener("click", () => choose(i));
      return b;
    });
    sync = () => buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === index)));
    box.append(...buttons);
  } else {
    const slider = h("input");
    slider.type = "range";
    slider.min = "0";
    slider.max = String(n - 1);
    slider.step = "1";
    slider.setAttribute("aria-label", data.label);
    const value = h("span", "attn-value");
    slider.addEventListener("input", () => choose(Number(slider.value)));
    sync = () => {
      slider.value = String(index);
      value.textContent = data.values[index];
      slider.setAttribute("aria-valuetext", `${data.label} ${data.values[index]}`);
    };
    box.append(slider, value);
  }
  controls.append(box);
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
    sync();
    const src = data.images[index];
    img.hidden = !src;
    if (src) {
      img.src = src;
      img.alt = `${data.alt || "figure"} for ${data.label} = ${data.values[index]}`;
      if (data.width) img.style.width = `${data.width}px`;
    }
    const text = data.captions ? data.captions[index] : null;
    caption.textContent = text || `${data.label} = ${data.values[index]}`;
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
