// TranslationView (attnbook.widgets): source, reference and model output(s)
// token by token. Output tokens that differ from the reference at the same
// position are highlighted; hover or Tab to a token to line up that position on
// every line (and the source word it translates); click to pin. Runs after
// common.js (h, frame, picker, hoverToShow, ...). Text goes in with textContent only.

const MARK = { right: "\u2713", wrong: "\u2717", extra: "extra", missing: "missing" };

function build(model, el) {
  const data = model.get("data");
  const examples = data.examples;
  const groups = data.groups;
  let ex = Math.min(Math.max(model.get("example") || 0, 0), examples.length - 1);
  const pin = { value: null }; // the pinned position: {j, i}

  const root = frame(model, "translation");
  const controls = h("div", "attn-controls");
  root.append(controls);

  let groupButtons = [];
  if (groups.length > 1) {
    const box = h("span", "attn-control");
    box.append(h("span", "attn-control-name", data.group_label));
    groupButtons = groups.map((g) => {
      const b = h("button", "attn-btn", g);
      b.type = "button";
      b.addEventListener("click", () => {
        const first = examples.findIndex((e) => e.group === g);
        if (first >= 0) choose(first);
      });
      box.append(b);
      return b;
    });
    controls.append(box);
  }
  const pick = picker(data.example_label, choose);
  controls.append(pick.el);

  const lines = h("div", "attn-tr-lines");
  const summary = h("div", "attn-note");
  const readout = mount(el, root, lines, summary);

  let cur = null;

  function choose(i) {
    ex = i;
    pin.value = null;
    saveState(model, { example: i });
    draw();
  }

  function line(label, cls) {
    lines.append(h("div", "attn-tr-name", label));
    const toks = h("div", `attn-tr-toks ${cls}`);
    lines.append(toks);
    return toks;
  }

  function tok(text, cls, role, j, tip) {
    const span = h("span", `attn-tr-tok ${cls}`, text);
    span.tabIndex = 0;
    span.dataset.role = role;
    span.dataset.j = String(j);
    if (tip) span.title = tip;
    return span;
  }

  function draw() {
    const e = examples[ex];
    groupButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(groups[i] === e.group)));
    const inGroup = examples.map((x, i) => [i, x.name]).filter(([i]) => examples[i].group === e.group);
    pick.el.hidden = pick.options(inGroup, ex) < 2;

    lines.replaceChildren();
    const src = line("source", "attn-tr-src");
    e.source.forEach((t, i) => src.append(tok(t, "", "src", i)));
    const ref = line("reference", "attn-tr-ref");
    e.reference.forEach((t, j) => ref.append(tok(t, "", "ref", j)));
    const notes = [];
    for (const o of e.outputs) {
      const box = line(o.name, "attn-tr-out");
      o.tokens.forEach((t, j) => box.append(tok(t, `attn-${o.status[j]}`, "out", j, MARK[o.status[j]])));
      for (let j = o.tokens.length; j < e.reference.length; j++) {
        box.append(tok("\u2013", "attn-missing", "out", j, MARK.missing));
      }
      const wrong = o.status.indexOf("wrong");
      let note = `${o.name}: ${o.right} of ${e.reference.length} tokens right`;
      if (o.right === e.reference.length && o.tokens.length === e.reference.length) note += " (exact match)";
      else if (wrong >= 0) note += `, first mistake at position ${wrong + 1}`;
      if (o.missing) note += `, ${o.missing} token${o.missing > 1 ? "s" : ""} short`;
      const extra = o.tokens.length - e.reference.length;
      if (extra > 0) note += `, ${extra} extra`;
      notes.push(note);
    }
    summary.textContent = notes.join(" \u00b7 ");
    cur = e;
    show(pin.value);
  }

  // what a hovered token points at: a reference position j (or a source word i)
  function focusOf(target) {
    const t = target.closest ? target.closest("[data-role]") : null;
    if (!t) return null;
    const j = Number(t.dataset.j);
    if (t.dataset.role === "src") {
      const a = cur.alignment;
      const js = a ? a.map((s, k) => (s === j ? k : -1)).filter((k) => k >= 0) : [];
      return js.length ? { j: js[0], i: j } : { j: null, i: j };
    }
    return { j, i: cur.alignment && j < cur.alignment.length ? cur.alignment[j] : null };
  }

  function show(f) {
    for (const s of lines.querySelectorAll("[data-role]")) {
      const j = Number(s.dataset.j);
      const on = !!f && (s.dataset.role === "src" ? j === f.i : j === f.j);
      s.classList.toggle("attn-on", on);
    }
    root.dataset.attnSelection = f ? `${ex}:${f.j ?? ""}:${f.i ?? ""}` : `${ex}`;
    if (!f) {
      readout.textContent = "Hover a token to compare it with the reference at the same position; click to pin.";
      return;
    }
    const e = cur;
    if (f.j === null) {
      readout.textContent = `source word ${f.i + 1}: \u201c${e.source[f.i]}\u201d`;
      return;
    }
    const parts = [];
    if (f.j < e.reference.length) {
      let r = `position ${f.j + 1}: reference \u201c${e.reference[f.j]}\u201d`;
      if (f.i !== null) r += ` (translates source word ${f.i + 1}, \u201c${e.source[f.i]}\u201d)`;
      parts.push(r);
    } else {
      parts.push(`position ${f.j + 1}: past the end of the reference`);
    }
    for (const o of e.outputs) {
      if (f.j < o.tokens.length) {
        parts.push(`${o.name} \u201c${o.tokens[f.j]}\u201d ${MARK[o.status[f.j]]}`);
      } else {
        parts.push(`${o.name}: nothing (the output ended)`);
      }
    }
    readout.textContent = parts.join(" \u00b7 ");
  }

  hoverToShow(lines, focusOf, show, pin);

  draw();
}

export default anywidgetView(build);
