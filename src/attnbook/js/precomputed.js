// PrecomputedView (attnbook.widgets): a slider, dropdown or row of buttons over
// a few values -- or one control per axis of a grid of values -- each with a
// figure and/or small data computed in Python; moving a control switches
// between them in the browser, no kernel needed. Runs after common.js (h,
// frame, control, ...). Text goes in with textContent only.

function build(model, el) {
  const data = model.get("data");
  const n = data.values.length;
  // One axis, or a grid of several (values in row-major order, the last axis fastest).
  const axes = data.axes || [{ label: data.label, values: data.values, control: data.control }];
  const strides = axes.map((_, a) => axes.slice(a + 1).reduce((p, ax) => p * ax.values.length, 1));
  let index = Math.min(Math.max(model.get("index") || 0, 0), n - 1);
  const position = (a) => Math.floor(index / strides[a]) % axes[a].values.length;

  const root = frame(model, "precomputed");
  const controls = h("div", "attn-controls");
  const made = axes.map((axis, a) =>
    control(axis, (i) => choose(index + (i - position(a)) * strides[a])),
  );
  controls.append(...made.map((c) => c.el));
  root.append(controls);

  const img = h("img", "attn-figure");
  const caption = readoutLine();
  const table = h("table", "attn-data");
  root.append(img, caption, table);
  el.append(root);

  function choose(i) {
    index = i;
    saveState(model, { index });
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

export default anywidgetView(build);
