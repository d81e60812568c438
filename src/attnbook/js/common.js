// Shared by every attnbook view (attnbook.widgets). Python puts this file's
// text before each view's own code, and the two travel as one ES module:
// anywidget loads a view's code from a blob: URL, where an `import` of a
// neighbouring file could not resolve. So nothing here is imported or exported;
// a view's file calls these functions and ends with
// `export default anywidgetView(build);`.
// Text goes in with textContent only.

// An element with a class and a text (set as text, never parsed as markup).
function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function fmt(x, d) {
  return Number(x).toFixed(d);
}

// The outer box of a view of kind "matrix", "image", ...: its classes, the
// data-attn-view attribute (the browser test finds views by it) and the title.
function frame(model, kind) {
  const root = h("div", `attn-view attn-${kind}`);
  root.dataset.attnView = kind;
  if (model.get("title")) root.append(h("div", "attn-title", model.get("title")));
  return root;
}

// The line that says what is under the mouse (read out by screen readers).
function readoutLine() {
  const readout = h("div", "attn-readout");
  readout.setAttribute("aria-live", "polite");
  return readout;
}

// The end of a view's set-up: its parts, then the readout line under them,
// into the root box, and the root box into the page. Returns the readout.
function mount(el, root, ...parts) {
  const readout = readoutLine();
  root.append(...parts, readout);
  el.append(root);
  return readout;
}

// Send the view's state (example, step, ...) back to Python.
function saveState(model, values) {
  for (const [name, value] of Object.entries(values)) model.set(name, value);
  model.save_changes();
}

// A dropdown of examples: "label [name v]". options([[index, name], ...], current)
// fills it (again) and returns how many there are; onPick(index) on a change.
function picker(label, onPick) {
  const el = h("label", "attn-control");
  const select = h("select");
  el.append(h("span", "attn-control-name", label), select);
  select.addEventListener("change", () => onPick(Number(select.value)));
  function options(items, current) {
    select.replaceChildren(...items.map(([i, name]) => {
      const o = h("option", null, name);
      o.value = String(i);
      return o;
    }));
    select.value = String(current);
    return items.length;
  }
  return { el, options };
}

// One control over the values of an axis {label, values, control}: a slider
// (with the value beside it), a dropdown or a row of buttons. Returns its
// element and sync(i), which shows value i as chosen; onChoose(i) on a change.
function control(axis, onChoose) {
  const el = h("span", "attn-control");
  el.append(h("span", "attn-control-name", axis.label));
  const choose = (i) => {
    sync(i);
    onChoose(i);
  };
  let sync;
  if (axis.control === "dropdown") {
    const select = h("select");
    select.setAttribute("aria-label", axis.label);
    axis.values.forEach((v, i) => {
      const o = h("option", null, v);
      o.value = String(i);
      select.append(o);
    });
    select.addEventListener("change", () => choose(Number(select.value)));
    el.append(select);
    sync = (i) => {
      select.value = String(i);
    };
  } else if (axis.control === "buttons") {
    const buttons = axis.values.map((v, i) => {
      const b = h("button", "attn-btn", v);
      b.type = "button";
      b.setAttribute("aria-label", `${axis.label} ${v}`);
      b.addEventListener("click", () => choose(i));
      return b;
    });
    el.append(...buttons);
    sync = (i) => buttons.forEach((b, k) => b.setAttribute("aria-pressed", String(k === i)));
  } else {
    const slider = h("input");
    slider.type = "range";
    slider.min = "0";
    slider.max = String(axis.values.length - 1);
    slider.step = "1";
    slider.setAttribute("aria-label", axis.label);
    const value = h("span", "attn-value");
    slider.addEventListener("input", () => choose(Number(slider.value)));
    el.append(slider, value);
    sync = (i) => {
      slider.value = String(i);
      value.textContent = axis.values[i];
      slider.setAttribute("aria-valuetext", `${axis.label} ${axis.values[i]}`);
    };
  }
  return { el, sync };
}

// Hover (or Tab to) an element of `container` to show it; leave to go back to
// the pinned one; click to pin it, click again to unpin. focusOf(target) says
// what an element stands for (an object such as {i, j}, or null); pin.value
// holds the pinned one.
function hoverToShow(container, focusOf, show, pin) {
  const at = (ev) => {
    const f = focusOf(ev.target);
    if (f) show(f);
  };
  container.addEventListener("mouseover", at);
  container.addEventListener("focusin", at);
  container.addEventListener("mouseleave", () => show(pin.value));
  container.addEventListener("click", (ev) => {
    const f = focusOf(ev.target);
    if (!f) return;
    const p = pin.value;
    const same = p && Object.keys({ ...p, ...f }).every((k) => p[k] === f[k]);
    pin.value = same ? null : f;
    show(f);
  });
}

// The anywidget module of a view: build(model, el) draws it, and draws it
// again whenever Python sends new data or a new title.
function anywidgetView(build) {
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
  return { render };
}
