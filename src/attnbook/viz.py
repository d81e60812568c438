"""Static matplotlib/seaborn figures shared by the chapters.

Every interactive view in :mod:`attnbook.widgets` comes after one of these
static figures, so a reader of the printed page loses nothing.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["TIMELINE", "timeline", "attention_heatmap"]

#: (year, short name, paper, citation key) — the path the book follows.
TIMELINE: list[tuple[float, str, str, str]] = [
    (2014.0, "Seq2Seq", "RNN encoder–decoder; one vector for the whole sentence", "sutskever2014sequence"),
    (2015.0, "Bahdanau / Luong", "learning to align and translate", "bahdanau2015neural"),
    (2015.5, "Show, Attend and Tell", "visual attention for captions, soft and hard", "xu2015show"),
    (2016.0, "HAN", "attention over words, then sentences", "yang2016hierarchical"),
    (2017.0, "Transformer", "attention is all you need: no recurrence", "vaswani2017attention"),
    (2018.0, "BERT", "bidirectional masked-LM pre-training", "devlin2019bert"),
    (2020.0, "ViT", "an image is 16×16 words", "dosovitskiy2021image"),
]


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
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
