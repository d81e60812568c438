// TextAttentionView (attnbook.widgets): a document whose words and sentences are
// shaded by their attention weights (hierarchical attention: a weight per
// sentence, and per word within its sentence). Runs after common.js (h, fmt,
// frame, picker, hoverToShow, ...). Text goes in with textContent only.

function build(model, el) {
  const data = model.get("data");
  const examples = data.examples;
  const d = data.decimals ?? 3;
  let ex = Math.min(Math.max(model.get("example") || 0, 0), examples.length - 1);
  let weigh = data.scale_by_sentence !== false;
  const pin = { value: null }; // the pinned word or sentence: {s, t}

  const root = frame(model, "text");
  const controls = h("div", "attn-controls");
  if (examples.length > 1) {
    const p = picker(data.example_label || "document", (i) => {
      ex = i;
      pin.value = null;
      saveState(model, { example: ex });
      draw();
    });
    p.options(examples.map((e, i) => [i, e.name]), ex);
    controls.append(p.el);
  }
  const weighBox = h("label", "attn-control");
  const check = h("input");
  check.type = "checkbox";
  check.checked = weigh;
  check.addEventListener("change", () => {
    weigh = check.checked;
    draw();
  });
  weighBox.append(check, h("span", null, "shade words by word \u00d7 \u221asentence weight"));
  controls.append(weighBox);
  root.append(controls);
  const caption = h("div", "attn-caption");
  const doc = h("div", "attn-doc");
  const readout = mount(el, root, caption, doc);

  let cur = null;

  function draw() {
    const e = examples[ex];
    const sw = e.sentence_weights;
    weighBox.hidden = !sw;
    caption.replaceChildren();
    for (const [name, value] of [["label", e.label], ["prediction", e.prediction]]) {
      if (value === null || value === undefined || value === "") continue;
      if (caption.childElementCount) caption.append(h("span", "attn-label", "  \u00b7  "));
      caption.append(h("span", "attn-label", `${name}: `), h("strong", null, value));
    }
    caption.hidden = !caption.childElementCount;

    const eff = e.word_weights.map((ws, s) => ws.map((w) => (sw && weigh ? w * Math.sqrt(Math.max(sw[s], 0)) : w)));
    const wmax = Math.max(1e-12, ...eff.flat().map(Math.abs));
    const smax = sw ? Math.max(1e-12, ...sw.map(Math.abs)) : 1;
    doc.replaceChildren();
    const words = [];
    const bars = [];
    e.sentences.forEach((tokens, s) => {
      const line = h("div", "attn-sent");
      if (sw) {
        const bar = h("span", "attn-sbar", fmt(sw[s], 2));
        const a = Math.min(1, Math.abs(sw[s]) / smax);
        bar.style.background = `rgba(214, 40, 40, ${(0.85 * a).toFixed(3)})`;
        bar.style.color = a > 0.55 ? "#fff" : "inherit";
        bar.tabIndex = 0;
        bar.dataset.s = String(s);
        bar.setAttribute("aria-label", `sentence ${s + 1} weight ${fmt(sw[s], d)}`);
        line.append(bar);
        bars.push(bar);
      }
      const box = h("span", "attn-words");
      tokens.forEach((tok, t) => {
        const span = h("span", "attn-word", tok);
        const a = Math.min(1, Math.abs(eff[s][t]) / wmax);
        span.style.background = `rgba(31, 95, 168, ${(0.85 * a).toFixed(3)})`;
        span.style.color = a > 0.55 ? "#fff" : "inherit";
        span.tabIndex = 0;
        span.dataset.s = String(s);
        span.dataset.t = String(t);
        box.append(span);
        words.push(span);
      });
      line.append(box);
      doc.append(line);
    });
    cur = { e, words, bars };
    show(pin.value);
  }

  function focusOf(target) {
    const t = target.closest ? target.closest("[data-s]") : null;
    if (!t) return null;
    return { s: Number(t.dataset.s), t: t.dataset.t !== undefined ? Number(t.dataset.t) : null };
  }

  function show(f) {
    const { e, words, bars } = cur;
    for (const w of words) {
      w.classList.toggle("attn-on", !!f && f.t !== null && Number(w.dataset.s) === f.s && Number(w.dataset.t) === f.t);
    }
    for (const b of bars) b.classList.toggle("attn-on", !!f && Number(b.dataset.s) === f.s);
    root.dataset.attnSelection = f ? `${ex}:${f.s}:${f.t ?? ""}` : "";
    const sw = e.sentence_weights;
    if (!f) {
      readout.textContent = sw
        ? "Hover a word or a sentence weight; click to pin. Darker = more attention."
        : "Hover a word; click to pin. Darker = more attention.";
      return;
    }
    const sent = sw ? `sentence ${f.s + 1} (weight ${fmt(sw[f.s], d)})` : e.sentences.length > 1 ? `sentence ${f.s + 1}` : "";
    if (f.t === null) {
      const ws = e.word_weights[f.s];
      let best = 0;
      for (let t = 1; t < ws.length; t++) if (ws[t] > ws[best]) best = t;
      readout.textContent = `${sent}: its most attended word is \u201c${e.sentences[f.s][best]}\u201d (${fmt(ws[best], d)})`;
    } else {
      const w = e.word_weights[f.s][f.t];
      readout.textContent = `\u201c${e.sentences[f.s][f.t]}\u201d: word weight ${fmt(w, d)}` + (sent ? ` in ${sent}` : "");
    }
  }

  hoverToShow(doc, focusOf, show, pin);

  draw();
}

export default anywidgetView(build);
