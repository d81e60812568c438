// AttentionMatrixView (attnbook.widgets): query tokens as rows, key tokens as
// columns, a bertviz-style line view beside it. All interaction happens here,
// from data the Python side computed once. Runs after common.js (h, fmt,
// frame, picker, control, ...). Text goes in with textContent only.

const SVGNS = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
}

// white -> blue for weights in [0, vmax]; white -> red for negative scores
function cellColor(w, vmax) {
  const t = Math.max(-1, Math.min(1, vmax > 0 ? w / vmax : 0));
  const a = Math.abs(t);
  const to = t >= 0 ? [31, 95, 168] : [200, 60, 40];
  const c = [255, 255, 255].map((v, i) => Math.round(v + (to[i] - v) * a));
  return { bg: `rgb(${c[0]},${c[1]},${c[2]})`, fg: a > 0.55 ? "#fff" : "#222" };
}

function pick(weights, sel) {
  let w = weights;
  for (const i of sel) w = w[i];
  return w; // (T, S)
}

function build(model, el) {
  const data = model.get("data");
  const axes = data.axes || [];
  const examples = data.examples;
  const d = data.decimals ?? 3;
  const qname = data.query_label || "query";
  const kname = data.key_label || "key";

  let ex = Math.min(Math.max(model.get("example") || 0, 0), examples.length - 1);
  let sel = axes.map((a, i) => Math.min(Math.max((model.get("selection") || [])[i] || 0, 0), a.labels.length - 1));
  const pin = { value: null }; // the pinned focus: {kind: "cell"|"row"|"col", i, j}

  const root = frame(model, "matrix");
  const controls = h("div", "attn-controls");
  if (examples.length > 1) {
    const p = picker(data.example_label || "example", (i) => {
      ex = i;
      save();
      draw();
    });
    p.options(examples.map((e, i) => [i, e.name]), ex);
    controls.append(p.el);
  }
  axes.forEach((axis, k) => {
    const values = axis.labels;
    const c = control({ label: axis.name, values, control: values.length <= 8 ? "buttons" : "slider" }, (i) => {
      sel[k] = i;
      save();
      draw();
    });
    c.sync(sel[k]);
    controls.append(c.el);
  });
  if (controls.childElementCount) root.append(controls);

  const body = h("div", "attn-body");
  const readout = mount(el, root, body);
  if (data.note) root.append(h("div", "attn-note", data.note));

  function save() {
    saveState(model, { example: ex, selection: sel.slice() });
  }

  // state of the current drawing, rebuilt by draw()
  let cur = null;

  function draw() {
    const e = examples[ex];
    const W = pick(e.weights, sel);
    const T = e.queries.length;
    const S = e.keys.length;
    body.replaceChildren();

    // ---- the matrix -------------------------------------------------------
    const size = S <= 12 ? 36 : Math.max(10, Math.floor(480 / S));
    const showValues = data.show_values ?? (S <= 12 && T <= 16);
    const vertical = S > 6 || e.keys.some((k) => k.length > 4);
    const grid = h("div", "attn-grid");
    grid.style.gridTemplateColumns = `auto repeat(${S}, ${size}px)`;
    grid.style.gridAutoRows = `${Math.max(size, 18)}px`;
    const corner = h("div", "attn-axis-name", `${qname} \u2193  ${kname} \u2192`);
    grid.append(corner);
    const colToks = e.keys.map((k, j) => {
      const t = h("div", "attn-tok attn-col-tok" + (vertical ? " attn-vertical" : ""), k);
      t.tabIndex = 0;
      t.dataset.j = String(j);
      t.setAttribute("aria-label", `${kname} ${k}`);
      grid.append(t);
      return t;
    });
    const rowToks = [];
    const cells = [];
    for (let i = 0; i < T; i++) {
      const t = h("div", "attn-tok attn-row-tok", e.queries[i]);
      t.tabIndex = 0;
      t.dataset.i = String(i);
      t.setAttribute("aria-label", `${qname} ${e.queries[i]}`);
      grid.append(t);
      rowToks.push(t);
      const row = [];
      for (let j = 0; j < S; j++) {
        const w = W[i][j];
        const c = h("div", "attn-cell", showValues ? fmt(w, 2) : null);
        const col = cellColor(w, data.vmax);
        c.style.background = col.bg;
        c.style.color = col.fg;
        c.dataset.i = String(i);
        c.dataset.j = String(j);
        grid.append(c);
        row.push(c);
      }
      cells.push(row);
    }
    if (vertical) grid.style.gridTemplateRows = "auto"; // the header row fits the longest key
    body.append(grid);

    // ---- the lines (bertviz-style) ---------------------------------------
    let lines = null;
    if (data.lines !== false && T <= 40 && S <= 40) {
      const rowH = 22;
      // long tokens are cut short here (the matrix shows them in full)
      const short = (t) => (t.length > 18 ? t.slice(0, 17) + "\u2026" : t);
      const longest = Math.max(...e.queries.map((q) => short(q).length), ...e.keys.map((k) => short(k).length));
      const colW = Math.min(150, 16 + 7.5 * longest);
      const gap = 120;
      const width = 2 * colW + gap;
      const height = Math.max(T, S) * rowH + 8;
      const s = svg("svg", { class: "attn-lines", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
      s.setAttribute("aria-label", `lines from each ${qname} to each ${kname}, darker for larger weights`);
      const linkG = svg("g");
      s.append(linkG);
      const links = [];
      for (let i = 0; i < T; i++) {
        const row = [];
        for (let j = 0; j < S; j++) {
          const w = W[i][j];
          const a = data.vmax > 0 ? Math.min(1, Math.abs(w) / data.vmax) : 0;
          const l = svg("line", {
            x1: colW, y1: 4 + (i + 0.5) * rowH, x2: colW + gap, y2: 4 + (j + 0.5) * rowH,
            class: "attn-link", "stroke-width": (0.5 + 4 * a).toFixed(2),
          });
          l.dataset.base = a.toFixed(3);
          l.style.opacity = Math.min(1, 1.3 * a).toFixed(3);
          if (w < 0) l.style.stroke = "#c83c28";
          linkG.append(l);
          row.push(l);
        }
        links.push(row);
      }
      // a token beside the lines: shortened, the whole of it in a tooltip
      const label = (token, attrs, key, index) => {
        const t = svg("text", { ...attrs, "dominant-baseline": "middle" });
        t.textContent = short(token);
        if (short(token) !== token) {
          const tip = svg("title");
          tip.textContent = token;
          t.append(tip);
        }
        t.dataset[key] = String(index);
        s.append(t);
        return t;
      };
      const qText = e.queries.map((q, i) => label(q, { x: colW - 6, y: 4 + (i + 0.5) * rowH, "text-anchor": "end" }, "i", i));
      const kText = e.keys.map((k, j) => label(k, { x: colW + gap + 6, y: 4 + (j + 0.5) * rowH }, "j", j));
      body.append(s);
      lines = { s, links, qText, kText };
    }

    cur = { e, W, T, S, rowToks, colToks, cells, lines };
    hoverToShow(grid, focusOf, show, pin);
    if (lines) hoverToShow(lines.s, focusOf, show, pin);
    show(pin.value && validFocus(pin.value) ? pin.value : null);
  }

  function validFocus(f) {
    return (f.i === undefined || f.i < cur.T) && (f.j === undefined || f.j < cur.S);
  }

  function focusOf(target) {
    const t = target.closest ? target.closest("[data-i],[data-j]") : null;
    if (!t) return null;
    const i = t.dataset.i !== undefined ? Number(t.dataset.i) : undefined;
    const j = t.dataset.j !== undefined ? Number(t.dataset.j) : undefined;
    if (i !== undefined && j !== undefined) return { kind: "cell", i, j };
    if (i !== undefined) return { kind: "row", i };
    return { kind: "col", j };
  }

  function show(f) {
    const { e, W, T, S, rowToks, colToks, cells, lines } = cur;
    const inRow = (i) => f && (f.kind === "row" || f.kind === "cell") && f.i === i;
    const inCol = (j) => f && (f.kind === "col" || f.kind === "cell") && f.j === j;
    rowToks.forEach((t, i) => t.classList.toggle("attn-on", !!inRow(i)));
    colToks.forEach((t, j) => t.classList.toggle("attn-on", !!inCol(j)));
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < S; j++) {
        const c = cells[i][j];
        const on = f && f.kind === "cell" && f.i === i && f.j === j;
        c.classList.toggle("attn-on", !!on);
        c.classList.toggle("attn-rowcol", !on && !!(f && ((f.kind === "row" && f.i === i) || (f.kind === "col" && f.j === j))));
        c.classList.toggle("attn-dim", !!f && !inRow(i) && !inCol(j) && f.kind !== "cell");
      }
    }
    if (lines) {
      lines.qText.forEach((t, i) => t.classList.toggle("attn-on", !!inRow(i)));
      lines.kText.forEach((t, j) => t.classList.toggle("attn-on", !!inCol(j)));
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < S; j++) {
          const l = lines.links[i][j];
          const base = Number(l.dataset.base);
          let op = Math.min(1, 1.3 * base);
          if (f) {
            const keep = f.kind === "row" ? f.i === i : f.kind === "col" ? f.j === j : f.i === i && f.j === j;
            op = keep ? Math.min(1, 0.2 + 1.6 * base) : 0.04 * base;
          }
          l.style.opacity = op.toFixed(3);
        }
      }
    }
    root.dataset.attnSelection = f ? `${f.kind}:${f.i ?? ""}:${f.j ?? ""}` : "";

    // the readout, in words
    const q = (i) => `\u201c${e.queries[i]}\u201d`;
    const k = (j) => `\u201c${e.keys[j]}\u201d`;
    if (!f) {
      readout.textContent = data.hint || `Hover a cell, a ${qname} (row) or a ${kname} (column); click to pin.`;
    } else if (f.kind === "cell") {
      readout.textContent = `${qname} ${q(f.i)} \u2192 ${kname} ${k(f.j)}: weight ${fmt(W[f.i][f.j], d)}`;
    } else if (f.kind === "row") {
      const row = W[f.i].map((w, j) => [w, j]).sort((a, b) => b[0] - a[0]);
      const top = row.slice(0, 3).map(([w, j]) => `${k(j)} ${fmt(w, d)}`).join(", ");
      const sum = W[f.i].reduce((a, b) => a + b, 0);
      readout.textContent = `${qname} ${q(f.i)} looks most at ${top}` + (data.normalized ? ` (its row sums to ${fmt(sum, 2)})` : "");
    } else {
      const col = W.map((r, i) => [r[f.j], i]).sort((a, b) => b[0] - a[0]);
      const top = col.slice(0, 3).map(([w, i]) => `${q(i)} ${fmt(w, d)}`).join(", ");
      readout.textContent = `${kname} ${k(f.j)} is looked at most by ${top}`;
    }
  }

  draw();
}

export default anywidgetView(build);
