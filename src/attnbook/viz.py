"""Static matplotlib/seaborn figures shared by the chapters.

Every interactive view in :mod:`attnbook.widgets` comes after one of these
static figures, so a reader of the printed page loses nothing.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "TIMELINE",
    "WHAT_CAME_NEXT",
    "timeline",
    "attention_heatmap",
    "rnn_diagram",
    "accuracy_by_length",
    "correctness_map",
    "alignment_heatmap",
    "attention_model_diagram",
    "scene_gallery",
    "playground_figure",
    "caption_attention_grid",
    "fraction_figure",
    "mask_figure",
    "detection_gallery",
]

#: (year, short name, paper, citation key) — the path the book follows.
TIMELINE: list[tuple[float, str, str, str]] = [
    (2014.0, "Seq2Seq", "RNN encoder–decoder; one vector for the whole sentence", "sutskever2014sequence"),
    (2015.0, "Bahdanau / Luong", "learning to align and translate", "bahdanau2015neural"),
    (2015.5, "Show, Attend and Tell", "visual attention for captions, soft and hard", "xu2015show"),
    (2016.0, "HAN", "attention over words, then sentences", "yang2016hierarchical"),
    (2017.0, "Transformer", "attention is all you need: no recurrence", "vaswani2017attention"),
    (2018.8, "BERT", "bidirectional masked-LM pre-training", "devlin2019bert"),   # arXiv, October 2018
    (2020.0, "ViT", "an image is 16×16 words", "dosovitskiy2021image"),
]

#: What came after the Transformer besides BERT and ViT (chapter 7 closes the timeline with them).
WHAT_CAME_NEXT: list[tuple[float, str, str, str]] = [
    (2018.4, "GPT", "a decoder, pre-trained then fine-tuned", "radford2018improving"),   # June 2018: before BERT
    (2019.1, "GPT-2", "GPT scaled to 1.5B parameters; tasks without fine-tuning", "radford2019language"),  # Feb. 2019
    (2022.0, "FlashAttention", "exact attention without the n×n matrix in memory", "dao2022flashattention"),
]


def _finish(fig, title=None, ax=None, **title_kw):
    """Every figure builder's last lines: the title, if any (on ``ax``, or over the whole
    figure), then a tight layout; returns ``fig``."""
    if title:
        (ax.set_title if ax is not None else fig.suptitle)(title, **title_kw)
    fig.tight_layout()
    return fig


def timeline(events: Sequence[tuple[float, str, str, str]] = TIMELINE, *, ax=None):
    """Draw the papers the course follows on a time axis; returns the figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 4.2))
    else:
        fig = ax.figure
    import textwrap

    years = [e[0] for e in events]
    ax.axhline(0, color="0.3", lw=1.5, zorder=1)
    ax.scatter(years, np.zeros(len(years)), s=60, color="tab:blue", zorder=2)
    levels = [0.45, -0.45, 1.0, -1.0]  # stagger labels so neighbours never overlap
    for i, (year, name, what, _key) in enumerate(events):
        y = levels[i % len(levels)]
        ax.vlines(year, 0, y, color="0.6", lw=1, zorder=0)
        va = "bottom" if y > 0 else "top"
        label = name + "\n" + textwrap.fill(what, 22)
        ax.text(year, y + (0.04 if y > 0 else -0.04), label, ha="center", va=va, fontsize=8.5,
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="0.8"))
    ax.set_ylim(-1.9, 1.9)
    ax.set_xlim(min(years) - 0.6, max(years) + 0.6)
    ax.set_yticks([])
    ax.set_xticks(sorted({int(y) for y in years}))
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title("From one hidden state to attention everywhere")
    fig.tight_layout()
    return fig


def attention_heatmap(
    weights,
    queries: Sequence[str],
    keys: Sequence[str],
    *,
    ax=None,
    title: str | None = None,
    annotate: bool = True,
    cmap: str = "Blues",
    fmt: str = ".2f",
):
    """Heatmap of a (T, S) attention matrix: one row per query token, one column per key token.

    Each row is a probability distribution (sums to 1): how the query token
    spreads its attention over the key tokens.
    """
    import seaborn as sns

    w = np.asarray(weights, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D (T, S) matrix, got shape {w.shape}")
    if w.shape != (len(queries), len(keys)):
        raise ValueError(
            f"weights of shape {w.shape} do not match {len(queries)} query tokens "
            f"× {len(keys)} key tokens"
        )
    if ax is None:
        size = (1.0 + 0.6 * len(keys), 0.8 + 0.5 * len(queries))
        fig, ax = plt.subplots(figsize=size)
    else:
        fig = ax.figure
    sns.heatmap(
        w, ax=ax, cmap=cmap, vmin=0.0, vmax=max(1e-9, float(w.max())), annot=annotate, fmt=fmt,
        xticklabels=list(keys), yticklabels=list(queries), cbar_kws={"label": "attention weight"},
        square=False, linewidths=0.5, linecolor="white",
    )
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.tick_params(axis="y", rotation=0)
    return _finish(fig, title, ax)


def rnn_diagram(source: Sequence[str], target: Sequence[str] | None = None, *, ax=None,
                title: str | None = None):
    """An unrolled recurrent network, one box per time step; returns the figure.

    * ``target=None``: a plain RNN — one input word below each step, one output
      ``y_t`` above it: T inputs, T outputs.
    * with ``target``: an encoder–decoder. The encoder reads ``source``; its last
      state (outlined) is the only arrow into the decoder, which reads ``<bos>``
      and its own previous words and writes ``target``.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    source = [str(t) for t in source]
    if not source:
        raise ValueError("source is empty: give at least one token")
    if isinstance(target, str):
        raise ValueError("target must be a list of tokens, not a string (use .split())")
    target = None if target is None else [str(t) for t in target]
    if target is not None and not target:
        raise ValueError("target is empty: give at least one token, or None for a plain RNN")
    S, T = len(source), 0 if target is None else len(target)
    gap = 0.9 if target is not None else 0.0
    xs_enc = [float(i) for i in range(S)]
    xs_dec = [S + gap + j for j in range(T)]
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.0 + 0.95 * (S + gap + T), 2.9))
    else:
        fig = ax.figure
    accent, enc_c, dec_c = "#d9480f", "#dbe7f5", "#fde9d9"

    def arrow(x0, y0, x1, y1, **kw):
        kw.setdefault("color", "0.35")
        kw.setdefault("lw", 1.1)
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10,
                                     shrinkA=0, shrinkB=0, **kw))

    def cell(x, label, fc, ec="0.35", lw=1.0):
        ax.add_patch(FancyBboxPatch((x - 0.32, 0.72), 0.64, 0.56, boxstyle="round,pad=0.02", fc=fc, ec=ec, lw=lw))
        ax.text(x, 1.0, label, ha="center", va="center", fontsize=10)

    for i, (x, w) in enumerate(zip(xs_enc, source)):
        last = target is not None and i == S - 1
        cell(x, f"$h_{{{i + 1}}}$", enc_c, ec=accent if last else "0.35", lw=2.2 if last else 1.0)
        ax.text(x, 0.2, w, ha="center", va="center", fontsize=9)
        arrow(x, 0.36, x, 0.72)
        if i:
            arrow(x - 0.68, 1.0, x - 0.32, 1.0)
        if target is None:
            arrow(x, 1.28, x, 1.62)
            ax.text(x, 1.8, f"$y_{{{i + 1}}}$", ha="center", va="center", fontsize=10)
    if target is not None:
        dec_in = ["<bos>"] + target[:-1]
        for j, (x, w_in, w_out) in enumerate(zip(xs_dec, dec_in, target)):
            cell(x, f"$s_{{{j + 1}}}$", dec_c)
            ax.text(x, 0.2, w_in, ha="center", va="center", fontsize=9, color="0.4")
            arrow(x, 0.36, x, 0.72)
            arrow(x, 1.28, x, 1.62)
            ax.text(x, 1.8, w_out, ha="center", va="center", fontsize=9, fontweight="bold")
            if j:
                arrow(x - 0.68, 1.0, x - 0.32, 1.0)
        arrow(xs_enc[-1] + 0.32, 1.0, xs_dec[0] - 0.32, 1.0, color=accent, lw=2.0)
        ax.text((xs_enc[-1] + xs_dec[0]) / 2, 1.45, "the last state:\nall the decoder sees",
                ha="center", va="bottom", fontsize=8, color=accent)
        ax.text(np.mean(xs_enc), -0.25, "encoder", ha="center", va="center", fontsize=9, color="0.3")
        ax.text(np.mean(xs_dec), -0.25, "decoder", ha="center", va="center", fontsize=9, color="0.3")
    ax.set_xlim(-0.7, (xs_dec[-1] if target is not None else xs_enc[-1]) + 0.7)
    ax.set_ylim(-0.45 if target is not None else -0.05, 2.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return _finish(fig, title, ax)


def _bucket_rows(result):
    rows = result.get("by_bucket") if isinstance(result, dict) else None
    if not rows:
        raise ValueError("each result must be attnbook.train.evaluate's dict, with a non-empty 'by_bucket' list")
    return rows


def accuracy_by_length(results, *, metric: str = "token_accuracy", ax=None, title: str | None = None,
                       highlight: str | None = None, ylabel: str | None = None):
    """Accuracy against source length, one line per model; returns the figure.

    ``results`` is ``{label: attnbook.train.evaluate(...)}`` (or one such dict);
    each bucket is plotted at its middle length. ``metric`` is
    ``"token_accuracy"`` or ``"exact_match"``. With ``highlight`` (a label) that
    line is drawn bold and the others faint.
    """
    if metric not in ("token_accuracy", "exact_match"):
        raise ValueError(f"metric must be 'token_accuracy' or 'exact_match', got {metric!r}")
    if isinstance(results, dict) and "by_bucket" in results:
        results = {"model": results}
    if not isinstance(results, dict) or not results:
        raise ValueError("results must be a non-empty dict of label -> evaluate() result")
    if highlight is not None and highlight not in results:
        raise ValueError(f"highlight {highlight!r} is not one of the labels {list(results)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.6))
    else:
        fig = ax.figure
    ticks = None
    for k, (label, res) in enumerate(results.items()):
        rows = _bucket_rows(res)
        x = [(r["lo"] + r["hi"]) / 2 for r in rows]
        y = [r[metric] for r in rows]
        ticks = ticks or (x, [f"{r['lo']}–{r['hi']}" for r in rows])
        faint = highlight is not None and label != highlight
        ax.plot(x, y, "o-", label=str(label), color=f"C{k}", lw=1.0 if faint else 2.2,
                alpha=0.3 if faint else 1.0, ms=4 if faint else 6)
    ax.set_xticks(ticks[0], ticks[1])
    ax.set_xlabel("source length (tokens)")
    ax.set_ylabel(ylabel or metric.replace("_", " "))
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if len(results) > 1:
        ax.legend(fontsize=8)
    return _finish(fig, title, ax)


#: colours of correctness_map: beyond the reference, right, wrong, missing
CORRECTNESS_COLORS = ("#ffffff", "#8ccf9a", "#c92a2a", "#bdbdbd")


def correctness_map(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], *,
                    row_labels: Sequence[str] | None = None, ax=None, title: str | None = None):
    """One row per sentence, one column per target position: right, wrong, or missing.

    A predicted token is right when it equals the reference token at the same
    position (the token-accuracy rule of ``attnbook.train.score_translations``);
    "missing" marks reference positions the prediction never reached. Returns
    the figure.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if len(predictions) != len(references) or not references:
        raise ValueError(
            f"need as many predictions as references (and at least one), got {len(predictions)} and {len(references)}"
        )
    if row_labels is not None and len(row_labels) != len(references):
        raise ValueError(f"{len(row_labels)} row labels for {len(references)} sentences")
    width = max(len(r) for r in references)
    if width == 0:
        raise ValueError("every reference is empty")
    grid = np.zeros((len(references), width), dtype=int)  # 0 = beyond the reference
    for i, (p, r) in enumerate(zip(predictions, references)):
        for j in range(len(r)):
            grid[i, j] = 3 if j >= len(p) else (1 if p[j] == r[j] else 2)
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(12, 2 + 0.2 * width), 1.2 + 0.22 * len(references)))
    else:
        fig = ax.figure
    ax.imshow(grid, cmap=ListedColormap(CORRECTNESS_COLORS), vmin=0, vmax=3, aspect="auto", interpolation="nearest")
    ax.set_xlabel("target position")
    ax.set_xticks(range(0, width, 5), [str(j + 1) for j in range(0, width, 5)])
    if row_labels is not None:
        ax.set_yticks(range(len(references)), list(row_labels), fontsize=8)
    else:
        ax.set_yticks([])
    ax.legend(handles=[Patch(fc=c, ec="0.5", label=n) for c, n in zip(CORRECTNESS_COLORS[1:], ("right", "wrong", "missing"))],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _finish(fig, title, ax)


def alignment_heatmap(weights, queries: Sequence[str], keys: Sequence[str], *, truth=None, ax=None,
                      title: str | None = None, vmax: float | None = 1.0, cmap: str = "Blues",
                      cbar: bool = True):
    """An attention matrix with the true alignment outlined; returns the figure.

    ``weights`` is ``(T, S)``: one row per output word, one column per source
    word (as :func:`attention_heatmap`, without the numbers in the cells).
    ``truth[j]`` lists the source positions output word ``j`` really comes from
    (e.g. ``DateExample.spans``, or ``[[a] for a in Example.alignment]``);
    those cells get an orange frame, so you can see at a glance whether the
    attention lands inside it. Rows with an empty list get no frame.

    The colour scale runs from 0 to ``vmax`` (default 1, the same for every
    figure, so a spread-out row looks pale and a one-hot row dark; ``None`` =
    the largest weight). ``cbar=False`` leaves out the colour bar (e.g. for all
    but one panel of a grid that shares the scale).
    """
    import seaborn as sns
    from matplotlib.patches import Rectangle

    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape != (len(queries), len(keys)):
        raise ValueError(
            f"weights of shape {w.shape} do not match {len(queries)} output tokens x {len(keys)} source tokens"
        )
    if truth is not None and len(truth) > w.shape[0]:
        raise ValueError(f"truth has {len(truth)} rows but the weights only {w.shape[0]}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.6 + 0.42 * len(keys), 1.0 + 0.36 * len(queries)))
    else:
        fig = ax.figure
    top = float(w.max()) if vmax is None else float(vmax)
    sns.heatmap(w, ax=ax, cmap=cmap, vmin=0.0, vmax=max(top, 1e-9), xticklabels=list(keys),
                yticklabels=list(queries), cbar=cbar, cbar_kws={"label": "attention weight"} if cbar else None,
                linewidths=0.5, linecolor="white")
    for j, span in enumerate(truth or ()):
        for p in span:
            if 0 <= p < w.shape[1]:
                ax.add_patch(Rectangle((p, j), 1, 1, fill=False, ec="#e8590c", lw=2.0, zorder=3))
    ax.tick_params(axis="both", length=0)
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel("source (attended to)")
    ax.set_ylabel("output (attending)")
    return _finish(fig, title, ax)


# --------------------------------------------------------------------------- chapter 2: visual attention


def attention_model_diagram(*, n_inputs: int = 3, ax=None, title: str | None = None):
    """The attention model as a schematic (the note's figure); returns the figure.

    Inputs ``y_1..y_n`` at the bottom and a context ``c`` at the left; each
    ``y_i`` meets ``c`` in its own tanh unit, ``m_i = tanh(W_cm c + W_ym y_i)``
    — independently of the other inputs; a softmax over the scores ``w·m_i``
    gives the weights ``s_i``; the output is ``z = Σ s_i y_i``.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or not 2 <= n_inputs <= 6:
        raise ValueError(f"n_inputs must be an integer from 2 to 6, got {n_inputs!r}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(2.2 + 1.9 * n_inputs, 5.4))
    else:
        fig = ax.figure
    xs = [1.6 + 1.9 * i for i in range(n_inputs)]
    labels = [f"$y_{{{i + 1}}}$" for i in range(n_inputs - 1)] + ["$y_n$"]
    idx = [str(i + 1) for i in range(n_inputs - 1)] + ["n"]
    c_in, c_m, c_s, c_z = "#dbe7f5", "#fde9d9", "#e6f4ea", "#fff3bf"

    def box(x, y, w, h, text, fc, fs=10):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc=fc, ec="0.35"))
        ax.text(x, y, text, ha="center", va="center", fontsize=fs)

    def arrow(x0, y0, x1, y1, color="0.35", **kw):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10, color=color,
                                     lw=1.1, shrinkA=0, shrinkB=0, **kw))

    y_in, y_m, y_sm, y_mul, y_z = 0.4, 1.7, 3.0, 4.0, 5.0
    box(0.3, y_m + 0.75, 0.55, 0.45, "$c$", c_in, 12)  # the context
    ax.plot([0.58, xs[-1] - 0.2], [y_m + 0.75, y_m + 0.75], color="#d9480f", lw=1.2)
    for x, lab, i in zip(xs, labels, idx):
        box(x, y_in, 0.6, 0.45, lab, c_in, 12)
        arrow(x, y_in + 0.23, x, y_m - 0.3)
        arrow(x - 0.2, y_m + 0.75, x - 0.2, y_m + 0.3, color="#d9480f")
        box(x, y_m, 1.55, 0.6, f"$m_{{{i}}} = \\tanh(W_{{cm}} c$\n$+ W_{{ym}} y_{{{i}}})$", c_m, 8.5)
        arrow(x, y_m + 0.3, x, y_sm - 0.3)
        ax.text(x + 0.08, y_sm - 0.45, f"$w \\cdot m_{{{i}}}$", fontsize=8.5, va="center")
        arrow(x, y_sm + 0.3, x, y_mul - 0.2)
        ax.text(x + 0.08, (y_sm + y_mul) / 2 + 0.05, f"$s_{{{i}}}$", fontsize=10, va="center")
        box(x, y_mul, 0.4, 0.38, "×", "white", 11)
        # y_i also goes up to the product: a line at the side of the column
        ax.plot([x + 0.45, x + 0.45], [y_in + 0.1, y_mul], color="0.6", lw=1.0, ls=":")
        arrow(x + 0.45, y_mul, x + 0.21, y_mul, color="0.6")
        arrow(x, y_mul + 0.2, (xs[0] + xs[-1]) / 2, y_z - 0.25, color="0.45")
    box((xs[0] + xs[-1]) / 2, y_sm, xs[-1] - xs[0] + 1.6, 0.6, "softmax over $i$:  $s_i = e^{w\\cdot m_i} / "
        "\\sum_j e^{w\\cdot m_j}$", c_s, 10)
    box((xs[0] + xs[-1]) / 2, y_z, 2.2, 0.5, "$z = \\sum_i s_i\\, y_i$", c_z, 12)
    if n_inputs >= 3:
        ax.text((xs[-2] + xs[-1]) / 2, y_in, "…", ha="center", va="center", fontsize=14)
    ax.set_xlim(-0.2, xs[-1] + 1.1)
    ax.set_ylim(0, 5.5)
    ax.set_aspect("equal")
    ax.axis("off")
    return _finish(fig, title, ax)


def _draw_grid(ax, size: int, grid: int, color: str = "white", lw: float = 0.6) -> None:
    step = size / grid
    for k in range(1, grid):
        ax.axhline(k * step - 0.5, color=color, lw=lw, alpha=0.8)
        ax.axvline(k * step - 0.5, color=color, lw=lw, alpha=0.8)


def scene_gallery(scenes, indices: Sequence[int] | None = None, *, ncols: int = 4, grid: bool = True,
                  title: str | None = None):
    """Scenes (``attnbook.data.scenes.Scenes``) with their captions under them; returns the figure.

    ``grid=True`` draws the cell layout the objects sit in.
    """
    import textwrap

    indices = list(range(min(8, len(scenes)))) if indices is None else [int(i) for i in indices]
    if not indices:
        raise ValueError("indices is empty")
    n = len(indices)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 2.7 * nrows), squeeze=False)
    H = scenes.images.shape[1]
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, indices):
        ax.imshow(scenes.images[i], interpolation="nearest")
        if grid:
            _draw_grid(ax, H, scenes.config.grid, color="0.6")
        ax.set_title(textwrap.fill(" ".join(scenes.captions[i]), 24), fontsize=8.5)
    return _finish(fig, title)


def playground_figure(points, context, soft: dict, *, dot: dict | None = None, temperature: float = 1.0,
                      title: str | None = None):
    """The 2-D attention playground: inputs, context, weights and output; returns the figure.

    ``soft`` (and ``dot``) are ``attnbook.playground.attention_playground``
    results for the tanh model (and the dot-product variant). Left: the points
    ``y_i`` (area ∝ weight ``s_i``), the context ``c`` (arrow), the soft output
    ``z`` (star) and hard attention's choice (ring). Middle: ``m_i``, one row
    per input. Right: the weights ``s_i``.
    """
    P = np.asarray(points, dtype=float)
    c = np.asarray(context, dtype=float)
    if P.ndim != 2 or P.shape[1] != 2 or c.shape != (2,):
        raise ValueError(f"points must be (n, 2) and context (2,), got {P.shape} and {c.shape}")
    s = np.asarray(soft["s"], dtype=float)
    n = len(P)
    fig, (a0, a1, a2) = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.15, 1.0, 1.1]})
    # left: the plane
    lim = 1.6
    a0.axhline(0, color="0.85", lw=0.8)
    a0.axvline(0, color="0.85", lw=0.8)
    a0.scatter(P[:, 0], P[:, 1], s=40 + 900 * s, color="tab:blue", alpha=0.55, edgecolor="tab:blue", zorder=2)
    for i, (x, y) in enumerate(P):
        a0.text(x * 1.13 + 0.02, y * 1.13, f"$y_{i + 1}$", ha="center", va="center", fontsize=9)
    h = int(np.argmax(np.asarray(soft["hard"])))
    a0.scatter([P[h, 0]], [P[h, 1]], s=520, facecolor="none", edgecolor="#d9480f", lw=2, zorder=3,
               label="hard: arg-max")
    a0.annotate("", xy=(c[0], c[1]), xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color="#d9480f", lw=2))
    a0.text(c[0] * 1.1, c[1] * 1.1 - 0.12, "$c$", color="#d9480f", fontsize=12, ha="center")
    z = np.asarray(soft["z"], dtype=float)
    a0.scatter([z[0]], [z[1]], marker="*", s=260, color="gold", edgecolor="k", zorder=4, label="soft: $z=\\sum s_i y_i$")
    a0.set_xlim(-lim, lim)
    a0.set_ylim(-lim, lim)
    a0.set_aspect("equal")
    a0.set_xticks([])
    a0.set_yticks([])
    a0.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2, fontsize=7.5, markerscale=0.4,
              frameon=False)
    a0.set_title("inputs $y_i$, context $c$, output $z$", fontsize=10)
    # middle: m_i
    m = soft.get("m")
    if m is not None:
        M = np.asarray(m, dtype=float)
        a1.imshow(M, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        a1.set_yticks(range(n), [f"$m_{i + 1}$" for i in range(n)])
        a1.set_xticks(range(M.shape[1]), [str(k + 1) for k in range(M.shape[1])], fontsize=7)
        a1.set_xlabel("unit of the tanh layer")
        sc = np.asarray(soft["scores"], dtype=float)
        for i in range(n):
            a1.text(M.shape[1] - 0.3, i, f"w·m = {sc[i]:+.2f}", va="center", fontsize=7.5)
        a1.set_xlim(-0.5, M.shape[1] + 2.3)
        a1.set_title("$m_i = \\tanh(W_{cm} c + W_{ym} y_i)$, each on its own", fontsize=10)
    else:
        a1.axis("off")
    # right: the weights
    x = np.arange(n)
    width = 0.4 if dot is not None else 0.7
    a2.bar(x - (width / 2 if dot is not None else 0), s, width, color="tab:blue", label="tanh model")
    if dot is not None:
        a2.bar(x + width / 2, np.asarray(dot["s"], dtype=float), width, color="tab:green", label="dot product $c\\cdot y_i$")
    a2.scatter([h], [min(1.0, s[h]) + 0.05], marker="v", color="#d9480f", s=40, label="hard choice")
    a2.set_xticks(x, [f"$y_{i + 1}$" for i in range(n)])
    a2.set_ylim(0, 1.12)
    a2.set_ylabel("weight $s_i$")
    a2.legend(fontsize=7.5, loc="upper right")
    a2.set_title(f"$s = \\mathrm{{softmax}}(w\\cdot m / \\tau)$, τ = {temperature:g}", fontsize=10)
    return _finish(fig, title)


def caption_attention_grid(image, words: Sequence[str], maps: dict, *, boxes=None, grid: int | None = None,
                           title: str | None = None, size: float = 1.45):
    """Where a captioner looked for every word: one row per model, one column per word.

    ``maps`` is ``{name: (T, gh, gw) weights}`` (one map per word); each panel
    shows the image lit where the weights are high (a spotlight: dark where the
    model did not look). ``boxes`` optionally outlines, per word, the region
    ``(row, col)`` of the object the word names. Returns the figure.
    """
    from matplotlib.patches import Rectangle

    img = np.asarray(image, dtype=float)
    if img.max() > 1.0:
        img = img / 255.0
    words = [str(w) for w in words]
    if not isinstance(maps, dict) or not maps:
        raise ValueError("maps must be a non-empty dict of name -> (T, gh, gw) weights")
    arrays = {}
    for name, m in maps.items():
        a = np.asarray(m, dtype=float)
        if a.ndim != 3 or a.shape[0] != len(words):
            raise ValueError(f"map {name!r} has shape {a.shape}; expected ({len(words)}, gh, gw), one per word")
        arrays[name] = a
    H, W = img.shape[:2]
    rows, cols = len(arrays), len(words)
    fig, axes = plt.subplots(rows, cols, figsize=(0.9 + size * cols, 0.35 + size * rows * 1.12), squeeze=False)
    for r, (name, a) in enumerate(arrays.items()):
        gh, gw = a.shape[1:]
        for t, word in enumerate(words):
            ax = axes[r, t]
            w = a[t] / max(a[t].max(), 1e-9)  # brightest region = 1
            light = np.kron(w, np.ones((H // gh, W // gw)))[..., None]  # (H, W, 1)
            ax.imshow(img * (0.15 + 0.85 * light), interpolation="nearest")
            if grid:
                _draw_grid(ax, H, grid, color="0.5", lw=0.4)
            if boxes is not None and boxes[t] is not None:
                br, bc = boxes[t]
                ax.add_patch(Rectangle((bc * W / gw - 0.5, br * H / gh - 0.5), W / gw, H / gh, fill=False,
                                       ec="#d9480f", lw=1.6, ls="--"))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(word, fontsize=9)
            if t == 0:
                ax.set_ylabel(name, fontsize=9)
    return _finish(fig, title, fontsize=10)


def detection_gallery(images, found: Sequence[Sequence[tuple]], truth: Sequence[Sequence[tuple]] | None = None, *,
                      ncols: int = 4, titles: Sequence[str] | None = None, title: str | None = None,
                      size: float = 2.4):
    """Detections drawn on images: one panel per image; returns the figure.

    ``images`` is ``(N, H, W, 3)``; ``found[i]`` lists image i's detections as
    ``(label, (cx, cy, w, h))`` with the box in 0..1 of the image side (solid
    outlines, labelled); ``truth[i]``, if given, the true boxes the same way
    (dashed outlines).
    """
    from matplotlib.patches import Rectangle

    images = np.asarray(images)
    n = len(images)
    if len(found) != n or (truth is not None and len(truth) != n):
        raise ValueError(f"{n} images but {len(found)} lists of detections"
                         + ("" if truth is None else f" and {len(truth)} of true boxes"))
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.3) * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:n]):
        H, W = images[i].shape[:2]
        ax.imshow(images[i], interpolation="nearest")

        def outline(box, **kw):
            cx, cy, w, h = (float(v) for v in box)
            ax.add_patch(Rectangle(((cx - w / 2) * W - 0.5, (cy - h / 2) * H - 0.5), w * W, h * H, fill=False, **kw))

        for _, box in (truth[i] if truth is not None else []):
            outline(box, ec="0.25", lw=1.0, ls="--")
        for label, box in found[i]:
            outline(box, ec="#d9480f", lw=1.4)
            if not label:
                continue
            cx, cy, w, h = (float(v) for v in box)
            top, bottom = (cy - h / 2) * H - 0.5, (cy + h / 2) * H - 0.5
            above = top > 0.2 * H  # room above the box, else write the label under it
            ax.text((cx - w / 2) * W - 0.5, top - 0.3 if above else bottom + 0.3, str(label), fontsize=6.5,
                    color="#d9480f", va="bottom" if above else "top", ha="left",
                    bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 0.6})
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    return _finish(fig, title)


def fraction_figure(fraction: float, fractions: Sequence[float], accuracy: dict, predictions: dict, images, labels,
                    *, compare: tuple[str, str] = ("ViT", "CNN"), colors: dict | None = None, max_examples: int = 8):
    """Test accuracy against the share of the training data (one line per model, a dotted line at
    ``fraction``), beside up to ``max_examples`` test images on which the two models ``compare``
    disagree, each titled with its true label and every model's answer.

    ``accuracy``: model name -> its test accuracy at each of ``fractions``; ``predictions``: model
    name -> its ``(N,)`` predicted labels for the models trained on ``fraction`` of the data;
    ``images (N, 1, H, W)`` and ``labels (N,)``, the test set. Returns the figure.
    """
    fractions = list(fractions)
    if fraction not in fractions:
        raise ValueError(f"fraction {fraction!r} is not one of the fractions {fractions}")
    if not predictions or set(accuracy) != set(predictions):
        raise ValueError(f"accuracy and predictions must name the same models, got {list(accuracy)} and "
                         f"{list(predictions)}")
    bad = [n for n in accuracy if len(accuracy[n]) != len(fractions)]
    if bad:
        raise ValueError(f"accuracy of {bad} must have one value per fraction ({len(fractions)})")
    if any(n not in predictions for n in compare):
        raise ValueError(f"compare names {compare}, but the models are {list(predictions)}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or not 0 <= max_examples <= 8:
        raise ValueError(f"max_examples must be an integer from 0 to 8 (two rows of four), got {max_examples!r}")
    if any(len(p) != len(labels) for p in predictions.values()) or len(images) != len(labels):
        raise ValueError(f"images ({len(images)}), labels ({len(labels)}) and every model's predictions must "
                         "have one entry per test image")
    colors = colors or {}
    first, second = (predictions[n] for n in compare)
    disagree = np.flatnonzero(np.asarray(first) != np.asarray(second))[:max_examples].tolist()
    fig = plt.figure(figsize=(9, 3.2))
    ax = fig.add_axes([0.06, 0.17, 0.34, 0.72])
    for name in predictions:
        ax.plot(fractions, accuracy[name], "o-", color=colors.get(name), label=name)
    ax.axvline(fraction, color="grey", ls=":")
    ax.set(xscale="log", xlabel="fraction of the training data", ylabel="test accuracy", ylim=(0.7, 1.0))
    ax.set_xticks(fractions, [f"{x:.0%}" for x in fractions])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    for k, i in enumerate(disagree):  # four images to a row, two rows
        a = fig.add_axes([0.45 + 0.135 * (k % 4), 0.52 - 0.45 * (k // 4), 0.11, 0.36])
        a.imshow(images[i, 0], cmap="gray_r")
        a.set(xticks=[], yticks=[])
        answers = " · ".join(f"{n} {int(p[i])}" for n, p in predictions.items())
        a.set_title(f"true {int(labels[i])}\n{answers}", fontsize=6)
    return fig


# --------------------------------------------------------------------------- chapter 5: masks


def mask_figure(mask, weights, queries: Sequence[str], keys: Sequence[str], *, applied=None, title: str = "",
                xlabel: str = "key position", ylabel: str | None = None, row_labels: Sequence[str] | None = None,
                aspect: str | None = None, weights_title: str = "attention weights under it"):
    """A boolean attention mask beside the weights computed under it; returns ``(figure, facts)``.

    Left, ``mask`` as the model builds it, green where it is True (may attend): a padding
    mask ``(B, S)`` with one row per sentence (``row_labels`` names them), a causal mask
    ``(T, T)``, ... Right, one sentence's attention ``weights (T, S)``, the rows labelled with
    ``queries`` and the columns with ``keys``. ``applied`` is the boolean ``(T, S)`` mask those
    weights were computed under (by default ``mask`` itself, which must then be ``(T, S)``).

    ``facts`` (a dict, e.g. for the table of a ``PrecomputedView``): how many cells of ``mask``
    may attend and how many are masked, and the largest weight on a cell that ``applied`` masks
    (0 when the masking works).
    """
    m = np.asarray(mask)
    w = np.asarray(weights, dtype=float)
    a = m if applied is None else np.asarray(applied)
    if m.dtype != bool or m.ndim != 2:
        raise ValueError(f"mask must be a 2-D boolean array (True = may attend), got dtype {m.dtype}, shape {m.shape}")
    if w.shape != (len(queries), len(keys)):
        raise ValueError(f"weights of shape {w.shape} do not match {len(queries)} queries x {len(keys)} keys")
    if a.dtype != bool or a.shape != w.shape:
        raise ValueError(f"applied must be a boolean array of the weights' shape {w.shape}, got dtype {a.dtype}, "
                         f"shape {a.shape} (pass applied= when the mask shown is not (T, S))")
    if row_labels is not None and len(row_labels) != m.shape[0]:
        raise ValueError(f"{len(row_labels)} row_labels for a mask of {m.shape[0]} rows")
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax0.imshow(m.astype(float), cmap="Greens", vmin=0, vmax=1, aspect=aspect)
    ax0.set(xlabel=xlabel, title=title)
    if ylabel:
        ax0.set_ylabel(ylabel)
    if row_labels is not None:
        ax0.set(yticks=range(len(row_labels)), yticklabels=list(row_labels))
    attention_heatmap(w, queries, keys, ax=ax1, title=weights_title, annotate=False)  # lays the figure out
    allowed = int(m.sum())
    largest_masked = float(w[~a].max()) if (~a).any() else 0.0
    return fig, {"cells that may attend": allowed, "cells masked": int(m.size - allowed),
                 "largest weight on a masked cell": largest_masked}
