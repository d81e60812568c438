// LiveModelView (attnbook/widgets/live.py): the reader types or draws an input,
// the chapter's exported model answers in the page. Python put before this
// file: common.js (h, frame, mount, ...) and tokenizers.js (TOKENIZERS, the
// twin of attnbook/data/tokenize.py).
//
// One path for every kind: read the input -> encode it (the twin of
// live.py's encode) -> run the model -> draw the answer. The model runs with
// onnxruntime-web, served by the book (window.attnbookAssets, set by
// setup-widgets.js) and loaded once per page on first use; where no book
// serves it (Jupyter, Colab) the kernel runs it. The examples carry the
// answers PyTorch gave when the page was built: shown when the model cannot
// run here (file://, no WebAssembly) and until the reader runs it.

const MASK = "[mask]";

class LiveError extends Error {}

// ---------------------------------------------------------------- running the model

function unavailableReason() {
  if (typeof WebAssembly !== "object") {
    return "This browser has no WebAssembly, which the model needs to run in the page.";
  }
  if (window.attnbookAssets && location.protocol === "file:") {
    return "This page was opened from a file (file://), and browsers do not load the model's " +
      "WebAssembly runtime from files. Serve the book instead: run `make serve` in the " +
      "repository (or `python -m http.server --directory _build/html 8000`) and open " +
      "http://localhost:8000 - or open the chapter in Colab.";
  }
  return null;
}

// onnxruntime-web, imported once per page (every view of the page shares it).
function loadRuntime() {
  if (!window.attnbookOrt) {
    const base = window.attnbookAssets + "ort/";
    window.attnbookOrt = import(base + "ort.wasm.min.mjs").then((ort) => {
      ort.env.wasm.wasmPaths = base;
      ort.env.wasm.numThreads = 1; // no cross-origin isolation on static hosts: no threads
      ort.env.wasm.proxy = false;
      return ort;
    });
  }
  return window.attnbookOrt;
}

function modelBytes(model) {
  const bin = atob(model.get("onnx"));
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

// run(inputs) -> Promise of {name: {data, dims}}; inputs are {name: {type, data, dims}}.
function makeRunner(model) {
  if (window.attnbookAssets) {
    let session = null;
    return {
      where: "in your browser (onnxruntime-web)",
      prepare() {
        if (!session) {
          session = loadRuntime().then((ort) => ort.InferenceSession.create(modelBytes(model), {
            executionProviders: ["wasm"],
          }).then((s) => ({ ort, s })));
          session.catch(() => { session = null; });
        }
        return session;
      },
      async run(inputs) {
        const { ort, s } = await this.prepare();
        const feeds = {};
        for (const [name, t] of Object.entries(inputs)) {
          const data = t.type === "float32" ? Float32Array.from(t.data) : Int32Array.from(t.data);
          feeds[name] = new ort.Tensor(t.type, data, t.dims);
        }
        const results = await s.run(feeds);
        const out = {};
        for (const [name, t] of Object.entries(results)) out[name] = { data: Array.from(t.data, Number), dims: t.dims };
        return out;
      },
    };
  }
  // Jupyter, Colab: the kernel runs the same ONNX bytes with onnxruntime.
  let next = 0;
  const waiting = new Map();
  model.on("msg:custom", (msg) => {
    const w = msg && waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.type === "result") w.resolve(msg.outputs);
    else w.reject(new Error(msg.message || "the kernel could not run the model"));
  });
  return {
    where: "by the kernel (onnxruntime)",
    prepare() { return Promise.resolve(); },
    run(inputs) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        model.send({ type: "run", id, inputs });
        setTimeout(() => {
          if (waiting.delete(id)) {
            reject(new Error("no kernel answered: run the chapter's cells (Colab, Jupyter), or serve the built book"));
          }
        }, 20000);
      });
    },
  };
}

// ---------------------------------------------------------------- encoding (twin of live.py's encode)

function quoted(tokens) {
  const seen = [...new Set(tokens)];
  const shown = seen.slice(0, 8).map((t) => `“${t}”`).join(", ");
  return shown + (seen.length > 8 ? ` and ${seen.length - 8} more` : "");
}

function ids(tokens, index, unk) {
  return tokens.map((t) => (index.has(t) ? index.get(t) : unk));
}

function encode(spec, value, index) {
  if (spec.kind === "image") {
    const [H, W] = spec.image_size;
    if (!value.some((v) => v > 0)) throw new LiveError("the pad is empty: draw a digit first");
    return { inputs: { images: { type: "float32", data: value, dims: [1, spec.channels, H, W] } }, tokens: null, unknown: [] };
  }
  const tokens = TOKENIZERS[spec.tokenizer](value);
  const unk = spec.unk_id;
  if (spec.kind === "document") {
    if (!tokens.length) throw new LiveError(`type a ${spec.what} first`);
    const N = spec.max_sentences;
    const L = spec.max_words;
    if (tokens.length > N) throw new LiveError(`that is ${tokens.length} sentences; the model reads at most ${N}`);
    let long = 0;
    tokens.forEach((s, i) => { if (s.length > tokens[long].length) long = i; });
    if (tokens[long].length > L) {
      throw new LiveError(`sentence ${long + 1} has ${tokens[long].length} words; the model reads at most ${L}`);
    }
    const words = new Array(N * L).fill(spec.pad_id);
    const lengths = new Array(N).fill(0);
    tokens.forEach((s, i) => {
      ids(s, index, unk).forEach((id, j) => { words[i * L + j] = id; });
      lengths[i] = s.length;
    });
    const unknown = tokens.flat().filter((t) => !index.has(t));
    return {
      inputs: {
        words: { type: "int32", data: words, dims: [1, N, L] },
        sentence_lengths: { type: "int32", data: lengths, dims: [1, N] },
      },
      tokens, unknown,
    };
  }
  if (!tokens.length) throw new LiveError(`type a ${spec.what} first`);
  const T = spec.kind === "translate" ? spec.max_source : spec.max_length;
  if (tokens.length > T) throw new LiveError(`that is ${tokens.length} tokens; the model reads at most ${T}`);
  const unknown = tokens.filter((t) => !index.has(t));
  if (spec.kind === "fill_mask") {
    if (unknown.length) {
      throw new LiveError(`the model does not know ${quoted(unknown)}: it reads only the words of its toy language`);
    }
    if (!tokens.includes(MASK)) throw new LiveError("put [MASK] where the model should fill in a word");
  }
  const data = new Array(T).fill(spec.pad_id);
  ids(tokens, index, unk).forEach((id, j) => { data[j] = id; });
  const names = spec.kind === "translate" ? ["src", "src_length"] : ["ids", "length"];
  return {
    inputs: {
      [names[0]]: { type: "int32", data, dims: [1, T] },
      [names[1]]: { type: "int32", data: [tokens.length], dims: [1] },
    },
    tokens, unknown,
  };
}

// ---------------------------------------------------------------- drawing

// Element (i, j, ...) of a flat array with the given dims.
function at(t, ...idx) {
  let k = 0;
  for (let a = 0; a < t.dims.length; a++) k = k * t.dims[a] + idx[a];
  return t.data[k];
}

function shade(w) {
  const a = Math.max(0, Math.min(1, w));
  return `rgba(232, 89, 12, ${(0.08 + 0.92 * a).toFixed(3)})`;
}

// A heatmap: rows (queries) x columns (keys), every cell's weight in data-w.
function heatmap(rows, cols, weight, rowName, colName, readout) {
  const table = h("table", "attn-live-heat");
  const head = h("tr");
  head.append(h("th", "attn-live-corner", `${rowName} ↓ ${colName} →`));
  cols.forEach((c) => head.append(h("th", "attn-live-col", c)));
  table.append(head);
  rows.forEach((r, i) => {
    const tr = h("tr");
    tr.append(h("th", "attn-live-row", r));
    cols.forEach((c, j) => {
      const w = weight(i, j);
      const td = h("td", "attn-live-cell");
      td.dataset.w = String(w);
      td.dataset.i = String(i);
      td.dataset.j = String(j);
      td.style.background = shade(w);
      td.title = `${r} ← ${c}: ${fmt(w, 3)}`;
      tr.append(td);
    });
    table.append(tr);
  });
  table.addEventListener("mouseover", (ev) => {
    const td = ev.target.closest("td");
    if (td) readout.textContent = `${rows[+td.dataset.i]} looked at ${cols[+td.dataset.j]}: ${fmt(+td.dataset.w, 3)}`;
  });
  return table;
}

function bars(labels, probs, chosen) {
  const list = h("div", "attn-live-bars");
  labels.forEach((label, k) => {
    const row = h("div", "attn-live-bar" + (k === chosen ? " attn-live-chosen" : ""));
    row.dataset.label = label;
    row.dataset.p = String(probs[k]);
    const fill = h("span", "attn-live-fill");
    fill.style.width = `${(100 * probs[k]).toFixed(1)}%`;
    row.append(h("span", "attn-live-label", label), h("span", "attn-live-track"), h("span", "attn-live-p", fmt(probs[k], 3)));
    row.children[1].append(fill);
    list.append(row);
  });
  return list;
}

// The answer's line: what comes before it, then the answer in bold; data-output holds the
// answer itself (what the browser test compares).
function answerLine(text, output, ...before) {
  const line = h("div", "attn-live-answer");
  const out = h("b", "attn-live-out", text);
  out.dataset.output = output;
  line.append(...before, out);
  return line;
}

function argmax(xs) {
  let best = 0;
  xs.forEach((x, i) => { if (x > xs[best]) best = i; });
  return best;
}

// A small grid of cells (a map over patches or pixels), values in data-w.
// A grid of cells over patches, each one's weight in data-w, shaded relative to the
// largest (translucent when laid over the image).
function grid(values, rows, cols, what, cell, over) {
  const box = h("div", "attn-live-grid");
  box.style.gridTemplateColumns = `repeat(${cols}, ${cell}px)`;
  const top = Math.max(...values, 1e-12);
  values.forEach((v, k) => {
    const c = h("div", "attn-live-gcell");
    c.dataset.w = String(v);
    c.title = `${what} ${k + 1} (row ${Math.floor(k / cols) + 1}, column ${(k % cols) + 1}): ${fmt(v, 3)}`;
    c.style.width = c.style.height = `${cell}px`;
    c.style.background = over ? `rgba(232, 89, 12, ${(0.8 * v / top).toFixed(3)})` : shade(v / top);
    box.append(c);
  });
  return box;
}

// An H x W grey image (values 0..1, ink dark) drawn size x size pixels.
function digitCanvas(pixels, H, W, size) {
  const canvas = h("canvas", "attn-live-digit");
  canvas.width = W;
  canvas.height = H;
  canvas.style.width = canvas.style.height = `${size}px`;
  const ctx = canvas.getContext("2d");
  pixels.forEach((v, k) => {
    const g = Math.round(255 * (1 - Math.max(0, Math.min(1, v))));
    ctx.fillStyle = `rgb(${g},${g},${g})`;
    ctx.fillRect(k % W, Math.floor(k / W), 1, 1);
  });
  return canvas;
}

const DRAW = {
  translate(spec, enc, out, parts) {
    const target = spec.target_vocab;
    const tokens = [];
    for (let t = 0; t < out.tokens.dims[1]; t++) {
      const id = at(out.tokens, 0, t);
      if (id === spec.eos_id) break;
      tokens.push(target[id]);
    }
    const output = tokens.join(spec.join);
    parts.out.append(answerLine(output || "(nothing)", output, h("span", "attn-live-in", enc.tokens.join(" ")),
      h("span", null, " → ")));
    if (tokens.length) {
      parts.out.append(heatmap(tokens, enc.tokens, (i, j) => at(out.attention, 0, i, j), "output", "source",
        parts.readout));
    }
  },
  document(spec, enc, out, parts) {
    const probs = Array.from({ length: out.probs.dims[1] }, (_, k) => at(out.probs, 0, k));
    const chosen = argmax(probs);
    parts.out.append(answerLine(spec.labels[chosen], spec.labels[chosen], h("span", null, "verdict: ")),
      bars(spec.labels, probs, chosen));
    const doc = h("div", "attn-live-doc");
    enc.tokens.forEach((sentence, i) => {
      const sw = at(out.sentence_attention, 0, i);
      const row = h("div", "attn-live-sentence");
      row.dataset.w = String(sw);
      const bar = h("span", "attn-live-sbar");
      bar.style.background = shade(sw);
      bar.title = `sentence ${i + 1}: ${fmt(sw, 3)}`;
      bar.textContent = fmt(sw, 2);
      row.append(bar);
      sentence.forEach((word, j) => {
        const ww = at(out.word_attention, 0, i, j);
        const span = h("span", "attn-live-word", word);
        span.dataset.w = String(ww);
        span.style.background = shade(ww);
        span.title = `${word}: ${fmt(ww, 3)} of sentence ${i + 1}`;
        row.append(span, document.createTextNode(" "));
      });
      doc.append(row);
    });
    doc.addEventListener("mouseover", (ev) => {
      const w = ev.target.closest("[data-w]");
      if (w && w.title) parts.readout.textContent = w.title;
    });
    parts.out.append(doc);
  },
  fill_mask(spec, enc, out, parts) {
    const V = out.probs.dims[2];
    const masks = enc.tokens.map((t, i) => (t === MASK ? i : -1)).filter((i) => i >= 0);
    const fills = h("div", "attn-live-fills");
    masks.forEach((pos) => {
      const probs = Array.from({ length: V }, (_, v) => at(out.probs, 0, pos, v));
      // the words of the language, not the special tokens (<pad>, [mask], ...)
      const order = probs.map((p, v) => v).filter((v) => !/^[<[]/.test(spec.vocab[v]))
        .sort((a, b) => probs[b] - probs[a]).slice(0, spec.top_k);
      const box = h("div", "attn-live-fill-at");
      box.dataset.position = String(pos);
      box.append(h("div", "attn-live-sub", `[MASK] at word ${pos + 1}: the ${spec.top_k} likeliest words of the language`));
      box.append(bars(order.map((v) => spec.vocab[v]), order.map((v) => probs[v]), 0));
      fills.append(box);
      if (pos === masks[0]) {
        const best = spec.vocab[order[0]];
        parts.out.append(answerLine(enc.tokens.map((t, i) => (i === pos ? best : t)).join(" "), best));
      }
    });
    parts.out.append(fills);
    const [L, , H] = out.attention.dims;
    const n = enc.tokens.length;
    const mapBox = h("div", "attn-live-map");
    const choice = { layer: L - 1, head: 0 };
    const drawMap = () => {
      mapBox.replaceChildren(heatmap(enc.tokens, enc.tokens, (i, j) => at(out.attention, choice.layer, 0, choice.head, i, j),
        "query", "key", parts.readout));
      mapBox.dataset.layer = String(choice.layer);
      mapBox.dataset.head = String(choice.head);
    };
    const controls = h("div", "attn-controls");
    const layer = control({ label: "layer", values: Array.from({ length: L }, (_, i) => String(i + 1)), control: "buttons" },
      (i) => { choice.layer = i; drawMap(); });
    const head = control({ label: "head", values: Array.from({ length: H }, (_, i) => String(i + 1)), control: "buttons" },
      (i) => { choice.head = i; drawMap(); });
    layer.sync(choice.layer);
    head.sync(choice.head);
    controls.append(layer.el, head.el);
    parts.out.append(h("div", "attn-live-sub", `Where each word looked (${n} words; the [MASK] row is the one that chose the filler):`),
      controls, mapBox);
    drawMap();
  },
  image(spec, enc, out, parts) {
    const K = out.probs.dims[1];
    const probs = Array.from({ length: K }, (_, k) => at(out.probs, 0, k));
    const chosen = argmax(probs);
    parts.out.append(answerLine(spec.labels[chosen], spec.labels[chosen], h("span", null, "the ViT reads: ")),
      bars(spec.labels, probs, chosen));
    const [L, , H, T] = out.attention.dims;
    const [Hi, Wi] = spec.image_size;
    const gr = Hi / spec.patch_size;
    const gc = Wi / spec.patch_size;
    const maps = h("div", "attn-live-maps");
    const size = 96;
    const panel = (title, values, kind) => {
      const p = h("div", "attn-live-panel");
      p.dataset.map = kind;
      const box = h("div", "attn-live-overlay");
      box.style.width = box.style.height = `${size}px`;
      box.append(digitCanvas(enc.inputs.images.data, Hi, Wi, size), grid(values, gr, gc, "patch", size / gc, true));
      p.append(h("div", "attn-live-sub", title), box);
      return p;
    };
    for (let l = 0; l < L; l++) {
      const cls = Array.from({ length: T - 1 }, (_, k) => {
        let s = 0;
        for (let hh = 0; hh < H; hh++) s += at(out.attention, l, 0, hh, 0, k + 1);
        return s / H;
      });
      maps.append(panel(`[CLS] attention, layer ${l + 1} (heads averaged)`, cls, `cls-${l}`));
    }
    maps.append(panel("rollout of [CLS] over all layers", Array.from({ length: T - 1 }, (_, k) => at(out.rollout, 0, 0, k + 1)), "rollout"));
    parts.out.append(maps);
  },
};

// ---------------------------------------------------------------- inputs

// The drawing pad: a (pad_scale·H) x (pad_scale·W) bitmap; each pad_scale² block's
// share of ink is one pixel of the model's image (how the 8 x 8 digits were made).
function drawingPad(spec, onChange) {
  const [H, W] = spec.image_size;
  const s = spec.pad_scale;
  const R = H * s;
  const C = W * s;
  const px = 8;
  const ink = new Uint8Array(R * C);
  const canvas = h("canvas", "attn-live-pad");
  canvas.width = C * px;
  canvas.height = R * px;
  canvas.setAttribute("aria-label", "drawing pad: draw a digit with the mouse or a finger");
  canvas.tabIndex = 0;
  const ctx = canvas.getContext("2d");
  let shown = null; // an example's pixels, drawn in grey until the reader draws
  const paint = () => {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (shown) {
      shown.forEach((v, k) => {
        const g = Math.round(255 * (1 - v));
        ctx.fillStyle = `rgb(${g},${g},${g})`;
        ctx.fillRect((k % W) * s * px, Math.floor(k / W) * s * px, s * px, s * px);
      });
    }
    ctx.fillStyle = "#222";
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) if (ink[r * C + c]) ctx.fillRect(c * px, r * px, px, px);
    ctx.strokeStyle = "#e8590c55";
    for (let k = 1; k < W; k++) { ctx.beginPath(); ctx.moveTo(k * s * px, 0); ctx.lineTo(k * s * px, canvas.height); ctx.stroke(); }
    for (let k = 1; k < H; k++) { ctx.beginPath(); ctx.moveTo(0, k * s * px); ctx.lineTo(canvas.width, k * s * px); ctx.stroke(); }
  };
  const image = () => {
    const out = new Array(H * W).fill(0);
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[Math.floor(r / s) * W + Math.floor(c / s)] += ink[r * C + c];
    return out.map((v) => v / (s * s));
  };
  let down = false;
  const stamp = (ev) => {
    const box = canvas.getBoundingClientRect();
    const x = ((ev.clientX - box.left) / box.width) * C;
    const y = ((ev.clientY - box.top) / box.height) * R;
    for (let r = Math.floor(y - 1.6); r <= y + 1.6; r++) {
      for (let c = Math.floor(x - 1.6); c <= x + 1.6; c++) {
        if (r >= 0 && r < R && c >= 0 && c < C && (r + 0.5 - y) ** 2 + (c + 0.5 - x) ** 2 <= 2.6) ink[r * C + c] = 1;
      }
    }
    paint();
  };
  canvas.addEventListener("pointerdown", (ev) => {
    if (shown) {
      shown = null;
      ink.fill(0);
    }
    down = true;
    canvas.setPointerCapture(ev.pointerId);
    stamp(ev);
    ev.preventDefault();
  });
  canvas.addEventListener("pointermove", (ev) => { if (down) stamp(ev); });
  const up = () => { if (down) { down = false; onChange(image()); } };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.style.touchAction = "none";
  paint();
  return {
    el: canvas,
    clear() { shown = null; ink.fill(0); paint(); },
    image,
    // Show a given image (an example) in grey; drawing on it starts a new digit.
    show(pixels) {
      ink.fill(0);
      shown = pixels;
      paint();
    },
  };
}

// ---------------------------------------------------------------- the view

function build(model, el) {
  const spec = model.get("data");
  const root = frame(model, `live-${spec.kind}`);
  root.classList.add("attn-live");
  root.dataset.liveState = "idle";
  root.dataset.modelBytes = String(spec.model_bytes);
  const index = new Map((spec.vocab || []).map((t, i) => [t, i]));
  const status = h("div", "attn-live-status");
  status.setAttribute("role", "status");
  const error = h("div", "attn-live-error");
  error.setAttribute("role", "alert");
  const out = h("div", "attn-live-output");
  const reason = unavailableReason();
  const runner = reason ? null : makeRunner(model);
  const parts = { out, readout: null };
  let current = null; // what the reader typed (text) or drew (pixels)
  let firstClick = null;

  const show = (enc, outputs, source) => {
    out.replaceChildren();
    error.textContent = "";
    DRAW[spec.kind](spec, enc, outputs, parts);
    if (enc.unknown.length) {
      out.prepend(h("div", "attn-live-note",
        `The model has never seen ${quoted(enc.unknown)}: it reads ${enc.unknown.length > 1 ? "them" : "it"} as “<unk>” (unknown).`));
    }
    root.dataset.answerSource = source;
  };
  const fail = (message) => {
    out.replaceChildren();
    status.textContent = "";
    error.textContent = message;
    root.dataset.liveState = "error";
  };

  const run = async () => {
    let enc;
    try {
      enc = encode(spec, current, index);
    } catch (err) {
      if (err instanceof LiveError) return fail(err.message);
      throw err;
    }
    if (!runner) return fail(reason);
    const started = performance.now();
    if (firstClick === null) firstClick = started;
    root.dataset.liveState = "running";
    status.textContent = "running the model…";
    try {
      const outputs = await runner.run(enc.inputs);
      show(enc, outputs, "model");
      parts.readout.textContent = `your ${spec.what}: hover the answer to read its weights`;
      delete root.dataset.attnSelection;
      const ms = performance.now() - started;
      if (!root.dataset.firstAnswerMs) root.dataset.firstAnswerMs = String(Math.round(performance.now() - firstClick));
      root.dataset.lastAnswerMs = String(Math.round(ms));
      status.textContent = `answered ${runner.where} in ${Math.round(ms)} ms`;
      root.dataset.liveState = "answered";
    } catch (err) {
      status.textContent = "";
      fail(`The model could not run here: ${err && err.message ? err.message : err}`);
    }
  };

  // The input: a text box and a button, or the drawing pad.
  const inputRow = h("div", "attn-live-input");
  let pad = null;
  let box = null;
  if (spec.kind === "image") {
    pad = drawingPad(spec, (pixels) => { current = pixels; run(); });
    const clear = h("button", "attn-btn", "clear");
    clear.type = "button";
    clear.addEventListener("click", () => {
      pad.clear();
      current = pad.image();
      out.replaceChildren();
      error.textContent = "";
      status.textContent = "";
    });
    const go = h("button", "attn-btn attn-live-run", "run the model");
    go.type = "button";
    go.addEventListener("click", () => run()); // the drawing, or the example shown
    inputRow.append(pad.el, h("div", "attn-live-hint", "Draw a digit (mouse or finger); the answer comes when you lift the pen."), go, clear);
  } else {
    box = h(spec.kind === "document" ? "textarea" : "input", "attn-live-text");
    if (spec.kind !== "document") box.type = "text";
    else box.rows = 4;
    box.setAttribute("aria-label", `your ${spec.what}`);
    box.spellcheck = false;
    const go = h("button", "attn-btn attn-live-run", "run the model");
    go.type = "button";
    go.addEventListener("click", () => { current = box.value; run(); });
    box.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (spec.kind !== "document" || ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        current = box.value;
        run();
      }
    });
    inputRow.append(box, go);
  }
  // The runtime is fetched the first time the reader reaches for the input.
  const warm = () => { if (runner) runner.prepare().catch(() => {}); };
  inputRow.addEventListener("focusin", warm, { once: true });
  inputRow.addEventListener("pointerdown", warm, { once: true });

  // The examples, with the answers PyTorch gave when the page was built.
  const pick = picker("example", (i) => showExample(i));
  const showExample = (i) => {
    const ex = spec.examples[i];
    current = spec.kind === "image" ? ex.image.flat() : ex.text;
    if (box) box.value = ex.text;
    if (pad) pad.show(current);
    let enc;
    try {
      enc = encode(spec, current, index);
    } catch (err) {
      return fail(err.message);
    }
    show(enc, ex.reference, "built");
    root.dataset.liveState = "idle";
    root.dataset.attnSelection = `example:${i}`;
    parts.readout.textContent = `example: ${ex.name}`;
    status.textContent = "the answer PyTorch gave when this page was built" + (runner ? `; press “run the model” to run it ${runner.where}` : "");
  };
  pick.options(spec.examples.map((ex, i) => [i, ex.name]), 0);
  const top = h("div", "attn-controls");
  top.append(pick.el);
  const parts2 = [top, inputRow, status, error];
  if (reason) {
    root.dataset.liveState = "unavailable";
    const why = h("div", "attn-live-unavailable", reason + " Below: the examples, answered when the page was built.");
    parts2.unshift(why);
  }
  parts.readout = mount(el, root, ...parts2, out);
  showExample(0);
  if (reason) root.dataset.liveState = "unavailable";
}

export default anywidgetView(build);
