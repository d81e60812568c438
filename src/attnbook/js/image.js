// ImageAttentionView (attnbook.widgets): an image with an attention map over it
// for each output step (a caption word, a head, a layer). Click a step to see
// where the model looked; hover the image to read a region's weight.
// Runs after common.js (h, fmt, frame, picker, ...). Text goes in with
// textContent only.

// paint a (gh, gw) map into a gh x gw canvas: "spotlight" darkens what the model
// did not look at; "heat" puts warm colour where it looked
function paint(canvas, weights, gh, gw, style, vmax) {
  canvas.width = gw;
  canvas.height = gh;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(gw, gh);
  for (let p = 0; p < gh * gw; p++) {
    const a = vmax > 0 ? Math.max(0, Math.min(1, weights[p] / vmax)) : 0;
    const o = 4 * p;
    if (style === "heat") {
      img.data[o] = 255;
      img.data[o + 1] = Math.round(230 * (1 - a) + 40 * a);
      img.data[o + 2] = 0;
      img.data[o + 3] = Math.round(160 * a); // at most ~60% opaque: the image stays visible
    } else {
      img.data[o] = img.data[o + 1] = img.data[o + 2] = 0;
      img.data[o + 3] = Math.round(205 * (1 - a));
    }
  }
  ctx.putImageData(img, 0, 0);
}

function build(model, el) {
  const data = model.get("data");
  const examples = data.examples;
  const d = data.decimals ?? 3;
  const stepName = data.step_label || "step";
  let ex = Math.min(Math.max(model.get("example") || 0, 0), examples.length - 1);
  let step = Math.max(model.get("step") || 0, 0);
  let hover = null; // the step under the mouse, previewed without clicking

  const root = frame(model, "image");
  if (examples.length > 1) {
    const controls = h("div", "attn-controls");
    const p = picker(data.example_label || "image", (i) => {
      ex = i;
      step = 0;
      save();
      draw();
    });
    p.options(examples.map((e, i) => [i, e.name]), ex);
    controls.append(p.el);
    root.append(controls);
  }
  const steps = h("div", "attn-steps");
  const panels = h("div", "attn-panels");
  const caption = h("div", "attn-note");
  const readout = mount(el, root, steps, panels, caption);

  function save() {
    saveState(model, { example: ex, step });
  }

  let cur = null;

  function draw() {
    const e = examples[ex];
    step = Math.min(step, e.steps.length - 1);
    steps.replaceChildren();
    if (e.steps.length > 1) {
      steps.append(h("span", "attn-control-name", stepName));
      e.steps.forEach((s, i) => {
        const b = h("button", "attn-btn", s);
        b.type = "button";
        b.dataset.step = String(i);
        b.setAttribute("aria-pressed", String(i === step));
        b.addEventListener("click", () => {
          step = i;
          hover = null;
          save();
          update();
        });
        b.addEventListener("mouseenter", () => {
          hover = i;
          update();
        });
        b.addEventListener("mouseleave", () => {
          hover = null;
          update();
        });
        steps.append(b);
      });
    }
    panels.replaceChildren();
    const scale = data.size / Math.max(e.height, e.width);
    const dw = Math.round(e.width * scale);
    const dh = Math.round(e.height * scale);
    const boxes = e.maps.map((m) => {
      const fig = h("figure", "attn-panel");
      const box = h("div", "attn-imgbox");
      box.style.width = `${dw}px`;
      box.style.height = `${dh}px`;
      const img = h("img", scale >= 2 ? "attn-pixelated" : null);
      img.src = e.image;
      img.alt = `${e.name}`;
      const canvas = h("canvas", data.smooth ? null : "attn-pixelated");
      const region = h("div", "attn-region");
      region.hidden = true;
      box.append(img, canvas, region);
      fig.append(box);
      if (e.maps.length > 1 || m.name) fig.append(h("figcaption", null, m.name));
      panels.append(fig);
      box.addEventListener("mousemove", (ev) => {
        const r = box.getBoundingClientRect();
        const [gh, gw] = m.grid;
        const row = Math.min(gh - 1, Math.max(0, Math.floor(((ev.clientY - r.top) / r.height) * gh)));
        const col = Math.min(gw - 1, Math.max(0, Math.floor(((ev.clientX - r.left) / r.width) * gw)));
        showRegion(m, region, row, col);
      });
      box.addEventListener("mouseleave", () => {
        region.hidden = true;
        update();
      });
      return { m, canvas, region };
    });
    caption.textContent = e.caption || "";
    caption.hidden = !e.caption;
    cur = { e, boxes };
    update();
  }

  function shown() {
    return hover !== null ? hover : step;
  }

  function update() {
    const { e, boxes } = cur;
    const s = shown();
    for (const b of steps.querySelectorAll("button")) {
      const i = Number(b.dataset.step);
      b.setAttribute("aria-pressed", String(i === step));
      b.classList.toggle("attn-on", i === s);
    }
    for (const { m, canvas } of boxes) {
      paint(canvas, m.weights[s], m.grid[0], m.grid[1], data.style, m.vmax);
    }
    root.dataset.attnSelection = `${ex}:${s}`;
    const where = boxes.map(({ m }) => {
      const w = m.weights[s];
      let best = 0;
      for (let p = 1; p < w.length; p++) if (w[p] > w[best]) best = p;
      const r = Math.floor(best / m.grid[1]);
      const c = best % m.grid[1];
      return `${m.name ? m.name + ": " : ""}most weight on region (row ${r + 1}, col ${c + 1}) = ${fmt(w[best], d)}`;
    });
    const label = e.steps.length > 1 ? `${stepName} \u201c${e.steps[s]}\u201d \u2014 ` : "";
    readout.textContent = label + where.join("; ");
  }

  function showRegion(m, region, row, col) {
    const [gh, gw] = m.grid;
    region.hidden = false;
    region.style.left = `${(100 * col) / gw}%`;
    region.style.top = `${(100 * row) / gh}%`;
    region.style.width = `${100 / gw}%`;
    region.style.height = `${100 / gh}%`;
    const s = shown();
    const w = m.weights[s][row * gw + col];
    const label = cur.e.steps.length > 1 ? `${stepName} \u201c${cur.e.steps[s]}\u201d, ` : "";
    readout.textContent = `${label}${m.name ? m.name + ", " : ""}region (row ${row + 1}, col ${col + 1}): weight ${fmt(w, d)}`;
    root.dataset.attnSelection = `${ex}:${s}:${row}:${col}`;
  }

  draw();
}

export default anywidgetView(build);
