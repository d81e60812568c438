"""AttentionMatrixView: a (T, S) weight matrix, with a line view beside it."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import traitlets

from .base import ExampleView, as_array, as_tokens, check_decimals, check_rows, rounded, view_css, view_esm

__all__ = ["AttentionMatrixView"]


def _axes(axes: Any, shape: tuple[int, ...]) -> list[dict]:
    """Names and labels of the leading (stacked) dimensions of a weight array."""
    nd = len(shape)
    if axes is None:
        defaults = {0: [], 1: ["head"], 2: ["layer", "head"]}
        if nd not in defaults:
            raise ValueError(
                f"weights have {nd} stacked dimensions {shape} before (T, S); "
                "name them with axes={'step': ..., 'layer': ..., 'head': ...}"
            )
        axes = {name: n for name, n in zip(defaults[nd], shape)}
    items = list(axes.items()) if isinstance(axes, Mapping) else list(axes)
    if len(items) != nd:
        raise ValueError(
            f"axes names {len(items)} dimension(s) {[n for n, _ in items]}, "
            f"but the weights have {nd} before (T, S): shape {shape}"
        )
    out = []
    for (name, labels), n in zip(items, shape):
        if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
            labels = [str(i + 1) for i in range(int(labels))]
        labels = as_tokens(labels, f"labels of axis {name!r}")
        if len(labels) != n:
            raise ValueError(f"axis {name!r} has {len(labels)} labels but the weights have {n} along it")
        out.append({"name": str(name), "labels": labels})
    return out


class AttentionMatrixView(ExampleView):
    """Attention weights as a matrix — query tokens as rows, key tokens as columns —
    and as lines from each query to each key (darker = more weight).

    Hover a cell, a row or a token to highlight it and read its weight; click to
    pin. Stacked weights get selectors, one per leading dimension.

    Parameters
    ----------
    weights : array (T, S), or (*stacked, T, S)
        ``weights[..., t, s]`` is how much query ``t`` attends to key ``s``.
        Stacked dimensions (layers, heads, training steps, ...) are named by ``axes``;
        without it, 3-D weights are (H, T, S) heads and 4-D are (L, H, T, S).
    queries : list of T str
        The row tokens.
    keys : list of S str, optional
        The column tokens; defaults to ``queries`` (self-attention).
    axes : dict name -> labels (or a count), optional
        The stacked dimensions in order, e.g. ``{"layer": ["1", "2"], "head": 4}``.
    normalized : bool
        Check that every row is >= 0 and sums to 1 (all-zero rows, fully masked,
        are allowed). Pass ``False`` for raw scores (negative values are drawn red).
    decimals : int
        Weights are rounded to this many decimals in the page (default 3).
    show_values : bool, optional
        Print the weight in each cell (default: when the matrix is at most 12 × 16).
    lines : bool
        Draw the line view beside the matrix (default True, up to 40 tokens).
    query_label, key_label : str
        What to call rows and columns in the readout ("query", "key").
    title, note : str
        A heading above, a note below.

    Use :meth:`from_examples` for several examples, each with its own tokens:
    dicts with ``weights``, ``queries`` and optionally ``keys`` and ``name``, or
    tuples ``(weights, queries[, keys])``. Stacked dimensions (``axes``) must be
    the same for all examples.
    """

    _esm = view_esm("matrix")
    _css = view_css("matrix")
    #: the position picked along each stacked dimension
    selection = traitlets.List(traitlets.Int()).tag(sync=True)

    required_fields = ("weights", "queries")
    optional_fields = ("keys", "name")
    tuple_fields = ("weights", "queries", "keys")
    default_example_label = "example"

    def __init__(self, weights: Any, queries: Sequence[str], keys: Sequence[str] | None = None, *,
                 title: str = "", **options: Any) -> None:
        # options: build_data's (axes, normalized, decimals, show_values, lines, query_label, key_label, note)
        example = {"weights": weights, "queries": queries, "keys": keys, "name": title or "example"}
        super().__init__([example], title=title, **options)

    def initial_state(self, data: dict) -> dict:
        return {"selection": [0] * len(data["axes"])}

    @staticmethod
    def build_data(
        examples: list[dict],
        *,
        axes: Any = None,
        normalized: bool = True,
        decimals: int = 3,
        show_values: bool | None = None,
        lines: bool = True,
        query_label: str = "query",
        key_label: str = "key",
        note: str = "",
        example_label: str = "example",
    ) -> dict:
        decimals = check_decimals(decimals)
        out = []
        axes_out = None
        vmax = 0.0
        for k, e in enumerate(examples):
            tag = f"example {k} ({e['name']})" if len(examples) > 1 else "weights"
            w = as_array(e["weights"], tag)
            q = as_tokens(e["queries"], f"queries of {tag}" if len(examples) > 1 else "queries")
            keys = e.get("keys")
            s = q if keys is None else as_tokens(keys, f"keys of {tag}" if len(examples) > 1 else "keys")
            if w.ndim < 2:
                raise ValueError(f"{tag} must be at least 2-D (T, S), got shape {w.shape}")
            if w.shape[-2:] != (len(q), len(s)):
                raise ValueError(
                    f"{tag} has shape {w.shape}, but there are {len(q)} queries and {len(s)} keys: "
                    f"the last two dimensions must be (T, S) = ({len(q)}, {len(s)})"
                )
            ax = _axes(axes, w.shape[:-2])
            if axes_out is not None and [a["name"] for a in ax] != [a["name"] for a in axes_out]:
                raise ValueError(f"{tag} has stacked dimensions {w.shape[:-2]} unlike the first example's")
            if axes_out is not None and ax != axes_out:
                raise ValueError(f"{tag}: stacked dimensions {w.shape[:-2]} differ from the first example's")
            axes_out = ax
            if normalized:
                check_rows(w, tag, [a["name"] for a in ax])
            vmax = max(vmax, float(np.abs(w).max()))
            out.append({"name": e["name"], "queries": q, "keys": s, "weights": rounded(w, decimals)})
        return {
            "axes": axes_out,
            "examples": out,
            "normalized": bool(normalized),
            # normalised weights are drawn on a fixed 0..1 scale, so views compare
            "vmax": 1.0 if normalized else (vmax or 1.0),
            "decimals": decimals,
            "show_values": show_values,
            "lines": bool(lines),
            "query_label": str(query_label),
            "key_label": str(key_label),
            "example_label": str(example_label),
            "note": str(note),
        }
