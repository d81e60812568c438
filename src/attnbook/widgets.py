"""Interactive attention views that keep working in the static HTML book.

Each view is an `anywidget <https://anywidget.dev>`_ component: Python checks
and computes everything once (weights rounded to a few decimals, figures
rendered to PNG), the JavaScript in ``attnbook/js/`` draws it and does all the
interaction in the browser. So the same view works in Jupyter, in Colab and in
the built HTML book, where no kernel runs.

=========================  =====================================================
view                       shows
=========================  =====================================================
:class:`AttentionMatrixView`  a (T, S) weight matrix, queries as rows and keys as
                              columns, with a line view beside it; hover a cell,
                              a row or a token; pick example / layer / head / step
:class:`ImageAttentionView`   an image with an attention map per output step
                              (caption word, head, layer); several images and
                              several named maps (e.g. soft vs hard) side by side
:class:`TextAttentionView`    documents with words and sentences shaded by their
                              weights (hierarchical attention)
:class:`PrecomputedView`      a slider / dropdown / buttons over a few values,
                              each with a figure and/or data computed in Python
:class:`TranslationView`      source, reference and model output(s) token by
                              token, wrong tokens highlighted; pick a group (a
                              length bucket) and an example, hover a position
=========================  =====================================================

Every constructor checks its input and raises :class:`ValueError` naming what
is wrong (shapes that do not match the tokens, rows that do not sum to 1,
NaNs, a map grid that does not divide the image).
"""
from __future__ import annotations

import base64
import io
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

import anywidget
import numpy as np
import traitlets

__all__ = [
    "AttentionMatrixView",
    "ImageAttentionView",
    "TextAttentionView",
    "PrecomputedView",
    "TranslationView",
    "figure_to_data_url",
    "image_to_data_url",
]

JS_DIR = Path(__file__).with_name("js")

#: tolerance on "each row of attention weights sums to 1"
ROW_SUM_ATOL = 1e-3


# --------------------------------------------------------------------------- helpers


def _array(x: Any, what: str) -> np.ndarray:
    """A float64 NumPy copy of x (NumPy array, torch tensor or nested lists)."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be an array of numbers: {err}") from None
    if a.dtype == object:
        raise ValueError(f"{what} must be a rectangular array of numbers")
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.isfinite(a).sum())
        raise ValueError(f"{what} contains {bad} NaN or infinite value(s)")
    return a


def _tokens(x: Any, what: str) -> list[str]:
    if isinstance(x, str):
        raise ValueError(f"{what} must be a list of tokens, not a single string {x!r} (use .split())")
    try:
        toks = [str(t) for t in x]
    except TypeError:
        raise ValueError(f"{what} must be a list of tokens, got {type(x).__name__}") from None
    if not toks:
        raise ValueError(f"{what} is empty")
    return toks


def _check_rows(w: np.ndarray, what: str, axis_names: Sequence[str] = ()) -> None:
    """Every row along the last axis is >= 0 and sums to 1 (all-zero rows allowed:
    a fully masked query attends to nothing)."""
    if (w < -1e-9).any():
        raise ValueError(
            f"{what} has negative entries (min {w.min():.4g}); attention weights are >= 0. "
            "Pass normalized=False to show raw scores."
        )
    sums = w.sum(axis=-1)
    bad = ~(np.isclose(sums, 1.0, atol=ROW_SUM_ATOL) | (np.abs(sums) <= ROW_SUM_ATOL))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        names = list(axis_names) + ["row"]
        where = ", ".join(f"{n} {i}" for n, i in zip(names[-len(idx):], idx))
        raise ValueError(
            f"{what}: rows must sum to 1 (softmax output), but {int(bad.sum())} do not; "
            f"first at {where}, which sums to {float(sums[idx]):.4f}. "
            "Pass normalized=False to show unnormalised scores."
        )


def _round(a: np.ndarray, decimals: int) -> Any:
    """Nested lists of Python floats rounded to `decimals` (small JSON, no -0.0)."""
    r = np.round(a, decimals) + 0.0
    return r.tolist()


def _check_decimals(decimals: int) -> int:
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)) or not 1 <= decimals <= 6:
        raise ValueError(f"decimals must be an integer from 1 to 6, got {decimals!r}")
    return int(decimals)


def _names(names: Sequence[Any] | None, n: int, what: str, default: str) -> list[str]:
    if names is None:
        return [f"{default} {i + 1}" for i in range(n)]
    names = _tokens(names, what)
    if len(names) != n:
        raise ValueError(f"{what} has {len(names)} entries for {n} examples")
    return names


def _png_data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image_to_data_url(image: Any) -> tuple[str, int, int]:
    """Encode an (H, W) grayscale or (H, W, 3|4) colour image as a PNG data URL.

    Floats are read as 0..1 (0..255 if the maximum is above 1), integers as 0..255.
    Returns ``(url, H, W)``.
    """
    from PIL import Image

    a = _array(image, "image")
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (3, 4))):
        raise ValueError(f"image must be (H, W) grayscale or (H, W, 3) RGB, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"image is empty: shape {a.shape}")
    if a.min() < 0:
        raise ValueError(f"image has negative values (min {a.min():.4g}); expected 0..1 or 0..255")
    scale = 255.0 if a.max() <= 1.0 else 1.0
    if a.max() * scale > 255.0 + 1e-6:
        raise ValueError(f"image values go up to {a.max():.4g}; expected 0..1 or 0..255")
    u8 = np.clip(np.round(a * scale), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="PNG", optimize=True)
    return _png_data_url(buf.getvalue()), int(a.shape[0]), int(a.shape[1])


def figure_to_data_url(fig: Any, *, dpi: int = 80, fmt: str = "png", close: bool = True, tight: bool = True) -> str:
    """Render a matplotlib figure to a compact data URL (PNG quantised to 256 colours, or SVG).

    With ``close=True`` the figure is closed so the notebook does not show it a second time.
    ``tight=False`` keeps the figure's own size and margins (e.g. after
    ``fig.tight_layout()``), which renders about twice as fast — worth it when
    one figure is rendered many times with a marker moved in between.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be 'png' or 'svg', got {fmt!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight" if tight else None)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    if fmt == "svg":
        return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    try:  # a palette PNG is about a third of the size, and looks the same for plots
        from PIL import Image

        buf.seek(0)
        im = Image.open(buf).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        im.save(out, format="PNG", optimize=True)
        png = out.getvalue() if out.tell() < len(buf.getvalue()) else buf.getvalue()
    except ImportError:  # pragma: no cover - matplotlib depends on Pillow
        png = buf.getvalue()
    return _png_data_url(png)


def _compact(path: Path) -> str:
    """The text of a file in js/, without comment lines, indentation and blank lines.

    Every view embeds its code in the page's widget state, once per view; this
    keeps that about a third smaller. (Only whole-line comments go, so the code
    itself is untouched: the files use no multi-line strings.)
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".css":
        import re

        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def _styles(name: str) -> str:
    """The CSS of one view: the shared rules, then its own (js/attnbook.css + js/<name>.css)."""
    return _compact(JS_DIR / "attnbook.css") + "\n" + _compact(JS_DIR / f"{name}.css")


class _View(anywidget.AnyWidget):
    """Shared plumbing: one ``data`` dict the JS draws from, and a title."""

    #: everything the JavaScript draws, computed once in Python (JSON)
    data = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def state_size(self) -> int:
        """Bytes this view adds to a page's embedded widget state (its data and code)."""
        import json

        state = self.get_state()
        return len(json.dumps(state, separators=(",", ":")))


# --------------------------------------------------------------------------- matrix


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
        labels = _tokens(labels, f"labels of axis {name!r}")
        if len(labels) != n:
            raise ValueError(f"axis {name!r} has {len(labels)} labels but the weights have {n} along it")
        out.append({"name": str(name), "labels": labels})
    return out


class AttentionMatrixView(_View):
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

    Use :meth:`from_examples` for several examples, each with its own tokens.
    """

    _esm = _compact(JS_DIR / "matrix.js")
    _css = _styles("matrix")
    example = traitlets.Int(0).tag(sync=True)
    selection = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(
        self,
        weights: Any,
        queries: Sequence[str],
        keys: Sequence[str] | None = None,
        *,
        axes: Any = None,
        normalized: bool = True,
        decimals: int = 3,
        show_values: bool | None = None,
        lines: bool = True,
        query_label: str = "query",
        key_label: str = "key",
        title: str = "",
        note: str = "",
    ) -> None:
        example = {"weights": weights, "queries": queries, "keys": keys, "name": title or "example"}
        data = self._build(
            [example], axes=axes, normalized=normalized, decimals=decimals, show_values=show_values,
            lines=lines, query_label=query_label, key_label=key_label, note=note, example_label="example",
        )
        super().__init__(data=data, title=title, selection=[0] * len(data["axes"]))

    @classmethod
    def from_examples(
        cls,
        examples: Sequence[Any],
        *,
        names: Sequence[str] | None = None,
        example_label: str = "example",
        title: str = "",
        **kwargs: Any,
    ) -> "AttentionMatrixView":
        """Several examples, each with its own tokens, and a picker.

        Each example is a dict with ``weights``, ``queries`` and optionally ``keys``
        and ``name``, or a tuple ``(weights, queries[, keys])``. Stacked dimensions
        (``axes``) must be the same for all examples. Other keyword arguments are
        those of the constructor.
        """
        exs = []
        for i, e in enumerate(examples):
            if isinstance(e, Mapping):
                unknown = set(e) - {"weights", "queries", "keys", "name"}
                if unknown:
                    raise ValueError(f"example {i} has unknown field(s) {sorted(unknown)}")
                if "weights" not in e or "queries" not in e:
                    raise ValueError(f"example {i} needs 'weights' and 'queries'")
                exs.append(dict(e))
            elif isinstance(e, (tuple, list)) and len(e) in (2, 3):
                exs.append({"weights": e[0], "queries": e[1], "keys": e[2] if len(e) == 3 else None})
            else:
                raise ValueError(f"example {i} must be a dict or a (weights, queries[, keys]) tuple")
        if not exs:
            raise ValueError("examples is empty")
        given = [e.get("name") for e in exs]
        if names is not None:
            labels = _names(names, len(exs), "names", "example")
        else:
            labels = [str(g) if g is not None else f"{example_label} {i + 1}" for i, g in enumerate(given)]
        for e, n in zip(exs, labels):
            e["name"] = n
        self = cls.__new__(cls)
        data = cls._build(exs, example_label=example_label, **{k: v for k, v in kwargs.items()})
        _View.__init__(self, data=data, title=title, selection=[0] * len(data["axes"]))
        return self

    @staticmethod
    def _build(
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
        decimals = _check_decimals(decimals)
        out = []
        axes_out = None
        vmax = 0.0
        for k, e in enumerate(examples):
            tag = f"example {k} ({e['name']})" if len(examples) > 1 else "weights"
            w = _array(e["weights"], tag)
            q = _tokens(e["queries"], f"queries of {tag}" if len(examples) > 1 else "queries")
            keys = e.get("keys")
            s = q if keys is None else _tokens(keys, f"keys of {tag}" if len(examples) > 1 else "keys")
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
                _check_rows(w, tag, [a["name"] for a in ax])
            vmax = max(vmax, float(np.abs(w).max()))
            out.append({"name": e["name"], "queries": q, "keys": s, "weights": _round(w, decimals)})
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


# --------------------------------------------------------------------------- image


class ImageAttentionView(_View):
    """An image with an attention map over it for each output step.

    Click a step (a word of a generated caption, a head, a layer) to see where the
    model looked; hover a step to preview it; hover the image to read a region's
    weight. Several named maps (e.g. ``{"soft": ..., "hard": ...}`` or one per
    layer) are drawn side by side for the same step.

    Parameters
    ----------
    image : array (H, W) grayscale or (H, W, 3) RGB
        Values in 0..1 (floats) or 0..255.
    maps : array (K, gh, gw) or (gh, gw), or dict name -> such arrays
        ``maps[name][k]`` is the attention over a gh × gw grid of regions at step
        ``k``; the grid must divide the image (H % gh == 0 and W % gw == 0), e.g. a
        4 × 4 grid of 16 × 16 regions over a 64 × 64 image, or ViT's patch grid.
        Each map sums to 1 unless ``normalized=False``.
    steps : list of K str, optional
        Labels of the steps (the caption's words, "layer 1", ...).
    step_label : str
        What a step is called ("word", "layer", ...).
    caption : str
        A line under the image (e.g. "reference: a red circle above a blue square").
    size : int
        Displayed size of the image's longer side in pixels (default 192).
    style : "heat" or "spotlight"
        Colour where the model looked (default), or darken where it did not.
    smooth : bool
        Interpolate the map between regions instead of drawing blocks.

    Use :meth:`from_examples` for several images and a picker.
    """

    _esm = _compact(JS_DIR / "image.js")
    _css = _styles("image")
    example = traitlets.Int(0).tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        image: Any,
        maps: Any,
        *,
        steps: Sequence[str] | None = None,
        step_label: str = "step",
        caption: str = "",
        name: str = "image",
        normalized: bool = True,
        decimals: int = 3,
        size: int = 192,
        style: str = "heat",
        smooth: bool = False,
        title: str = "",
    ) -> None:
        example = {"image": image, "maps": maps, "steps": steps, "caption": caption, "name": name}
        data = self._build([example], step_label=step_label, normalized=normalized, decimals=decimals,
                           size=size, style=style, smooth=smooth, example_label="image")
        super().__init__(data=data, title=title)

    @classmethod
    def from_examples(
        cls,
        examples: Sequence[Mapping[str, Any]],
        *,
        names: Sequence[str] | None = None,
        example_label: str = "image",
        title: str = "",
        **kwargs: Any,
    ) -> "ImageAttentionView":
        """Several images and a picker. Each example is a dict with ``image``, ``maps``
        and optionally ``steps``, ``caption`` and ``name`` (see the constructor);
        other keyword arguments are those of the constructor."""
        exs = []
        for i, e in enumerate(examples):
            if not isinstance(e, Mapping):
                raise ValueError(f"example {i} must be a dict with 'image' and 'maps'")
            unknown = set(e) - {"image", "maps", "steps", "caption", "name"}
            if unknown:
                raise ValueError(f"example {i} has unknown field(s) {sorted(unknown)}")
            if "image" not in e or "maps" not in e:
                raise ValueError(f"example {i} needs 'image' and 'maps'")
            exs.append(dict(e))
        if not exs:
            raise ValueError("examples is empty")
        labels = _names(names, len(exs), "names", example_label) if names is not None else [
            str(e["name"]) if e.get("name") is not None else f"{example_label} {i + 1}" for i, e in enumerate(exs)
        ]
        for e, n in zip(exs, labels):
            e["name"] = n
        self = cls.__new__(cls)
        data = cls._build(exs, example_label=example_label, **kwargs)
        _View.__init__(self, data=data, title=title)
        return self

    @staticmethod
    def _build(
        examples: list[dict],
        *,
        step_label: str = "step",
        normalized: bool = True,
        decimals: int = 3,
        size: int = 192,
        style: str = "heat",
        smooth: bool = False,
        example_label: str = "image",
    ) -> dict:
        decimals = _check_decimals(decimals)
        if style not in ("spotlight", "heat"):
            raise ValueError(f"style must be 'spotlight' or 'heat', got {style!r}")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 16 <= size <= 2000:
            raise ValueError(f"size must be an integer number of pixels from 16 to 2000, got {size!r}")
        out = []
        for e in examples:
            tag = f"image {e['name']!r}" if len(examples) > 1 else "image"
            url, H, W = image_to_data_url(e["image"])
            maps = e["maps"]
            if not isinstance(maps, Mapping):
                maps = {"": maps}
            if not maps:
                raise ValueError(f"maps of {tag} is empty")
            K = None
            maps_out = []
            for mname, m in maps.items():
                what = f"map {mname!r} of {tag}" if mname else f"map of {tag}"
                a = _array(m, what)
                if a.ndim == 2:
                    a = a[None]
                if a.ndim != 3:
                    raise ValueError(f"{what} must be (K, gh, gw) or (gh, gw), got shape {a.shape}")
                k, gh, gw = a.shape
                if K is None:
                    K = k
                elif k != K:
                    raise ValueError(f"{what} has {k} steps but the other maps have {K}")
                if gh < 1 or gw < 1 or H % gh or W % gw:
                    raise ValueError(
                        f"{what} is a {gh}x{gw} grid, which does not divide the {H}x{W} image: "
                        "the image height and width must be multiples of the grid's"
                    )
                if normalized:
                    _check_rows(a.reshape(k, gh * gw), what, ["step"])
                vmax = float(a.max()) if a.size else 0.0
                maps_out.append({
                    "name": str(mname), "grid": [gh, gw],
                    "weights": _round(a.reshape(k, gh * gw), decimals),
                    "vmax": round(vmax, decimals) or 1.0,
                })
            if e.get("steps") is None:
                steps = [f"{step_label} {i + 1}" for i in range(K)]
            else:
                steps = _tokens(e["steps"], f"steps of {tag}")
                if len(steps) != K:
                    raise ValueError(f"{tag} has {len(steps)} steps but its maps have {K}")
            out.append({"name": str(e["name"]), "image": url, "height": H, "width": W,
                        "steps": steps, "caption": str(e.get("caption") or ""), "maps": maps_out})
        return {
            "examples": out, "normalized": bool(normalized), "decimals": decimals, "size": int(size),
            "style": style, "smooth": bool(smooth), "step_label": str(step_label),
            "example_label": str(example_label),
        }


# --------------------------------------------------------------------------- text


class TextAttentionView(_View):
    """A document with each word and sentence shaded by its attention weight.

    Made for hierarchical attention: a weight per sentence (red bar at the left)
    and per word within its sentence (blue). Words are shaded by
    ``word weight × √sentence weight`` (a checkbox switches to the word weight
    alone), so only important words in important sentences stand out. Hover or
    click a word or a sentence bar to read its weights.

    Parameters
    ----------
    sentences : list of sentences, each a list of tokens (or a string, split on spaces)
    word_weights : list of lists of float
        One weight per token; each sentence's weights sum to 1 unless ``normalized=False``.
    sentence_weights : list of float, optional
        One per sentence, summing to 1. Omit for a flat (one-level) attention.
    label, prediction : str, optional
        Shown above the document ("label: positive · prediction: negative").

    Use :meth:`from_examples` for several documents and a picker.
    """

    _esm = _compact(JS_DIR / "text.js")
    _css = _styles("text")
    example = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        sentences: Sequence[Any],
        word_weights: Sequence[Any],
        sentence_weights: Sequence[float] | None = None,
        *,
        label: str | None = None,
        prediction: str | None = None,
        name: str = "document",
        normalized: bool = True,
        decimals: int = 3,
        scale_by_sentence: bool = True,
        title: str = "",
    ) -> None:
        example = {"sentences": sentences, "word_weights": word_weights, "sentence_weights": sentence_weights,
                   "label": label, "prediction": prediction, "name": name}
        data = self._build([example], normalized=normalized, decimals=decimals,
                           scale_by_sentence=scale_by_sentence, example_label="document")
        super().__init__(data=data, title=title)

    @classmethod
    def from_examples(
        cls,
        examples: Sequence[Mapping[str, Any]],
        *,
        names: Sequence[str] | None = None,
        example_label: str = "document",
        title: str = "",
        **kwargs: Any,
    ) -> "TextAttentionView":
        """Several documents and a picker. Each example is a dict with ``sentences``,
        ``word_weights`` and optionally ``sentence_weights``, ``label``,
        ``prediction`` and ``name``; other keyword arguments are those of the constructor."""
        fields = {"sentences", "word_weights", "sentence_weights", "label", "prediction", "name"}
        exs = []
        for i, e in enumerate(examples):
            if not isinstance(e, Mapping):
                raise ValueError(f"example {i} must be a dict with 'sentences' and 'word_weights'")
            unknown = set(e) - fields
            if unknown:
                raise ValueError(f"example {i} has unknown field(s) {sorted(unknown)}")
            if "sentences" not in e or "word_weights" not in e:
                raise ValueError(f"example {i} needs 'sentences' and 'word_weights'")
            exs.append(dict(e))
        if not exs:
            raise ValueError("examples is empty")
        labels = _names(names, len(exs), "names", example_label) if names is not None else [
            str(e["name"]) if e.get("name") is not None else f"{example_label} {i + 1}" for i, e in enumerate(exs)
        ]
        for e, n in zip(exs, labels):
            e["name"] = n
        self = cls.__new__(cls)
        data = cls._build(exs, example_label=example_label, **kwargs)
        _View.__init__(self, data=data, title=title)
        return self

    @staticmethod
    def _build(
        examples: list[dict],
        *,
        normalized: bool = True,
        decimals: int = 3,
        scale_by_sentence: bool = True,
        example_label: str = "document",
    ) -> dict:
        decimals = _check_decimals(decimals)
        out = []
        for e in examples:
            tag = f"document {e['name']!r}" if len(examples) > 1 else "document"
            raw = e["sentences"]
            if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
                raise ValueError(f"sentences of {tag} must be a non-empty list of sentences")
            sents = [
                _tokens(s.split() if isinstance(s, str) else s, f"sentence {i} of {tag}")
                for i, s in enumerate(raw)
            ]
            ww = e["word_weights"]
            if isinstance(ww, np.ndarray) and ww.ndim == 1:
                ww = [ww]
            if len(ww) != len(sents):
                raise ValueError(f"{tag} has {len(sents)} sentences but {len(ww)} lists of word weights")
            words = []
            for i, (s, w) in enumerate(zip(sents, ww)):
                a = _array(w, f"word weights of sentence {i} of {tag}")
                if a.shape != (len(s),):
                    raise ValueError(
                        f"sentence {i} of {tag} has {len(s)} tokens but {a.shape} word weights"
                    )
                if normalized:
                    _check_rows(a, f"word weights of sentence {i} of {tag}")
                words.append(_round(a, decimals))
            sw = e.get("sentence_weights")
            if sw is not None:
                a = _array(sw, f"sentence weights of {tag}")
                if a.shape != (len(sents),):
                    raise ValueError(f"{tag} has {len(sents)} sentences but sentence weights of shape {a.shape}")
                if normalized:
                    _check_rows(a, f"sentence weights of {tag}")
                sw = _round(a, decimals)
            out.append({
                "name": str(e["name"]), "sentences": sents, "word_weights": words, "sentence_weights": sw,
                "label": None if e.get("label") is None else str(e["label"]),
                "prediction": None if e.get("prediction") is None else str(e["prediction"]),
            })
        return {"examples": out, "normalized": bool(normalized), "decimals": decimals,
                "scale_by_sentence": bool(scale_by_sentence), "example_label": str(example_label)}


# --------------------------------------------------------------------------- precomputed


def _value_label(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


class PrecomputedView(_View):
    """A control over a few values, each with a figure and/or small data
    computed in Python beforehand; moving the control switches between them in
    the browser (so it works in the static book, where no kernel runs).

    Parameters
    ----------
    values : list
        The values of the parameter (numbers or names), shown on the control.
    figures : list, optional
        One per value: a matplotlib Figure (rendered to PNG here and closed),
        PNG bytes, or a ``data:image/...`` URL.
    data : list of dict, optional
        One small ``{name: value}`` table per value (numbers are rounded to ``decimals``).
    captions : list of str, optional
        One line of text per value.
    label : str
        The parameter's name ("temperature").
    control : "slider", "dropdown" or "buttons"
    index : int
        The value shown first.
    dpi : int
        Resolution of rendered figures (default 80: small pages).
    axes : list of dict, optional
        For a grid of values (built by :meth:`from_grid`): one
        ``{"label", "values", "control"}`` per parameter; ``values`` is then
        the flat list of points in row-major order, the last parameter fastest.

    See also :meth:`from_function`, and :meth:`from_grid` for one control per
    parameter over a grid of values (e.g. width × length).
    """

    _esm = _compact(JS_DIR / "precomputed.js")
    _css = _styles("precomputed")
    index = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        values: Sequence[Any],
        figures: Sequence[Any] | None = None,
        *,
        data: Sequence[Mapping[str, Any]] | None = None,
        captions: Sequence[str] | None = None,
        label: str = "value",
        control: str = "slider",
        index: int = 0,
        dpi: int = 80,
        fmt: str = "png",
        decimals: int = 3,
        alt: str = "figure",
        title: str = "",
        axes: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        decimals = _check_decimals(decimals)
        if isinstance(values, str) or not isinstance(values, Sequence) and not hasattr(values, "__len__"):
            raise ValueError("values must be a list of parameter values")
        labels = [_value_label(v) for v in values]
        n = len(labels)
        if n == 0:
            raise ValueError("values is empty")
        if control not in ("slider", "dropdown", "buttons"):
            raise ValueError(f"control must be 'slider', 'dropdown' or 'buttons', got {control!r}")
        if figures is None and data is None and captions is None:
            raise ValueError("give figures, data or captions: something to show for each value")
        images: list[str | None] = [None] * n
        if figures is not None:
            figures = list(figures)
            if len(figures) != n:
                raise ValueError(f"{len(figures)} figures for {n} values")
            images = [self._image(f, i, dpi, fmt) for i, f in enumerate(figures)]
        rows = None
        if data is not None:
            data = list(data)
            if len(data) != n:
                raise ValueError(f"{len(data)} data tables for {n} values")
            rows = [self._row(d, i, decimals) for i, d in enumerate(data)]
        caps = None
        if captions is not None:
            caps = [str(c) for c in captions]
            if len(caps) != n:
                raise ValueError(f"{len(caps)} captions for {n} values")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
            raise ValueError(f"index must be an integer from 0 to {n - 1}, got {index!r}")
        payload = {"label": str(label), "values": labels, "control": control, "images": images,
                   "data": rows, "captions": caps, "alt": str(alt)}
        if axes is not None:
            payload["axes"] = self._axes(axes, n)
        super().__init__(data=payload, title=title, index=int(index))

    @staticmethod
    def _axes(axes: Sequence[Mapping[str, Any]], n: int) -> list[dict]:
        """Check the axes of a grid (see :meth:`from_grid`): their sizes multiply to ``n``."""
        out, size = [], 1
        for a in axes:
            values = [_value_label(v) for v in a["values"]]
            control = a.get("control", "slider")
            if not values:
                raise ValueError(f"axis {a['label']!r} has no values")
            if control not in ("slider", "dropdown", "buttons"):
                raise ValueError(f"control must be 'slider', 'dropdown' or 'buttons', got {control!r}")
            out.append({"label": str(a["label"]), "values": values, "control": control})
            size *= len(values)
        if size != n:
            raise ValueError(f"the axes make a grid of {size} points but there are {n} values")
        return out

    @classmethod
    def from_grid(
        cls,
        grid: Mapping[str, Sequence[Any]],
        make: Callable[..., Any],
        *,
        controls: Mapping[str, str] | None = None,
        index: Mapping[str, Any] | int = 0,
        **kwargs: Any,
    ) -> "PrecomputedView":
        """One control per parameter over every combination of their values.

        ``grid`` maps each parameter's name to its values, e.g.
        ``{"d": [32, 64], "n": [16, 64, 256]}``; ``make(**point)`` is called for
        every point (``make(d=32, n=16)``, ...) and returns what
        :meth:`from_function`'s ``make`` returns. ``controls`` picks each
        parameter's control (default: slider); ``index`` is the point shown
        first, as ``{name: value}`` or a position in the row-major order. Other
        keyword arguments are the constructor's.
        """
        if not isinstance(grid, Mapping) or not grid:
            raise ValueError("grid must be a non-empty dict of parameter name -> list of values")
        names = [str(k) for k in grid]
        value_lists = []
        for name, values in grid.items():
            if isinstance(values, str) or not hasattr(values, "__len__") or len(values) == 0:
                raise ValueError(f"grid[{name!r}] must be a non-empty list of values")
            value_lists.append(list(values))
        controls = dict(controls or {})
        unknown = set(controls) - set(names)
        if unknown:
            raise ValueError(f"controls names {sorted(unknown)} that are not in the grid {names}")
        points = [dict(zip(names, combo)) for combo in itertools.product(*value_lists)]
        if isinstance(index, Mapping):
            missing = set(names) - set(index)
            if missing or set(index) - set(names):
                raise ValueError(f"index must name every parameter of the grid {names}, got {sorted(index)}")
            try:
                index = points.index({k: index[k] for k in names})
            except ValueError:
                raise ValueError(f"index {dict(index)} is not a point of the grid") from None
        labels = [", ".join(f"{k} = {_value_label(v)}" for k, v in p.items()) for p in points]
        axes = [{"label": name, "values": vals, "control": controls.get(name, "slider")}
                for name, vals in zip(names, value_lists)]
        view = cls.from_function(points, lambda p: make(**p), label=" × ".join(names), index=index,
                                 axes=axes, **kwargs)
        view.data = {**view.data, "values": labels}
        return view

    @classmethod
    def from_function(
        cls,
        values: Sequence[Any],
        make: Callable[[Any], Any],
        **kwargs: Any,
    ) -> "PrecomputedView":
        """Call ``make(value)`` for every value; it returns a Figure, a dict of data,
        or a ``(figure, dict)`` pair. Other keyword arguments are the constructor's."""
        figures, data = [], []
        for v in values:
            r = make(v)
            if isinstance(r, tuple) and len(r) == 2:
                figures.append(r[0])
                data.append(r[1])
            elif isinstance(r, Mapping):
                figures.append(None)
                data.append(r)
            else:
                figures.append(r)
                data.append(None)
        has_fig = any(f is not None for f in figures)
        has_data = any(d is not None for d in data)
        if has_fig and not all(f is not None for f in figures):
            raise ValueError("make(value) returned a figure for some values but not for others")
        if has_data and not all(d is not None for d in data):
            raise ValueError("make(value) returned data for some values but not for others")
        return cls(values, figures if has_fig else None, data=data if has_data else None, **kwargs)

    @staticmethod
    def _image(f: Any, i: int, dpi: int, fmt: str) -> str:
        if hasattr(f, "savefig"):
            return figure_to_data_url(f, dpi=dpi, fmt=fmt)
        if isinstance(f, (bytes, bytearray)):
            if not bytes(f[:8]) == b"\x89PNG\r\n\x1a\n":
                raise ValueError(f"figure {i} is bytes but not a PNG")
            return _png_data_url(bytes(f))
        if isinstance(f, str) and f.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,",
                                                "data:image/jpeg;base64,")):
            return f
        raise ValueError(
            f"figure {i} must be a matplotlib Figure, PNG bytes or a data:image/... URL, got {type(f).__name__}"
        )

    @staticmethod
    def _row(d: Any, i: int, decimals: int) -> list[list[str]]:
        if not isinstance(d, Mapping):
            raise ValueError(f"data {i} must be a dict of name -> value, got {type(d).__name__}")
        out = []
        for k, v in d.items():
            if hasattr(v, "item") and np.ndim(v) == 0:
                v = v.item()
            if isinstance(v, float):
                if not math.isfinite(v):
                    raise ValueError(f"data {i}[{k!r}] is {v}")
                small = v != 0 and abs(v) < 10 ** -decimals
                v = f"{v:.{decimals}g}" if small else f"{round(v, decimals):g}"
            elif not isinstance(v, (str, int, bool)) and v is not None:
                raise ValueError(f"data {i}[{k!r}] must be a number or a string, got {type(v).__name__}")
            out.append([str(k), "" if v is None else str(v)])
        return out  # [name, value] pairs: a JSON object would lose the order


# --------------------------------------------------------------------------- translation


def _output_tokens(x: Any, what: str) -> list[str]:
    """Like _tokens, but an empty output (the model stopped at once) is allowed."""
    if isinstance(x, str):
        raise ValueError(f"{what} must be a list of tokens, not a single string {x!r} (use .split())")
    try:
        return [str(t) for t in x]
    except TypeError:
        raise ValueError(f"{what} must be a list of tokens, got {type(x).__name__}") from None


def _token_status(tokens: Sequence[str], reference: Sequence[str]) -> list[str]:
    """Per output token: "right" (equals the reference token at its position),
    "wrong", or "extra" (past the end of the reference) — the rule of
    ``attnbook.train.score_translations``' token accuracy."""
    return ["extra" if j >= len(reference) else "right" if t == reference[j] else "wrong"
            for j, t in enumerate(tokens)]


class TranslationView(_View):
    """Translations checked against their reference, token by token.

    One line shows the source, one the reference and one each model output.
    An output token that differs from the reference token at the same position
    is highlighted as wrong; positions the output never reached are empty
    slots, tokens past the end of the reference are extra. Hover (or Tab to) a
    token to mark that position on every line — and, with an ``alignment``, the
    source word it translates — and read them side by side; click to pin.
    Examples can be grouped (e.g. by source-length bucket): pick a group, then
    an example.

    Parameters
    ----------
    source, reference : list of str
        The sentence to translate and its correct translation.
    outputs : list of str, or dict name -> list of str
        One model's output, or several (``{"no attention": ..., "attention": ...}``),
        without ``<eos>``. May be empty.
    alignment : list of int, optional
        ``alignment[j]`` is the source position that reference token ``j``
        translates (``attnbook.data.Example.alignment``).

    Use :meth:`from_examples` for several examples and the pickers.
    """

    _esm = _compact(JS_DIR / "translation.js")
    _css = _styles("translation")
    example = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        source: Sequence[str],
        reference: Sequence[str],
        outputs: Any,
        *,
        alignment: Sequence[int] | None = None,
        name: str = "example",
        output_label: str = "model",
        title: str = "",
    ) -> None:
        example = {"source": source, "reference": reference, "outputs": outputs,
                   "alignment": alignment, "name": name}
        data = self._build([example], output_label=output_label)
        super().__init__(data=data, title=title)

    @classmethod
    def from_examples(
        cls,
        examples: Sequence[Mapping[str, Any]],
        *,
        example_label: str = "example",
        group_label: str = "group",
        output_label: str = "model",
        title: str = "",
        index: int = 0,
    ) -> "TranslationView":
        """Several examples and pickers. Each example is a dict with ``source``,
        ``reference`` and ``outputs`` and optionally ``alignment``, ``name`` and
        ``group`` (examples with the same group are picked together; groups keep
        the order in which they first appear). ``index`` is the example shown first."""
        fields = {"source", "reference", "outputs", "alignment", "name", "group"}
        exs = []
        for i, e in enumerate(examples):
            if not isinstance(e, Mapping):
                raise ValueError(f"example {i} must be a dict with 'source', 'reference' and 'outputs'")
            unknown = set(e) - fields
            if unknown:
                raise ValueError(f"example {i} has unknown field(s) {sorted(unknown)}")
            missing = [k for k in ("source", "reference", "outputs") if k not in e]
            if missing:
                raise ValueError(f"example {i} needs {missing}")
            exs.append(dict(e))
        if not exs:
            raise ValueError("examples is empty")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(exs):
            raise ValueError(f"index must be an integer from 0 to {len(exs) - 1}, got {index!r}")
        for i, e in enumerate(exs):
            if e.get("name") is None:
                e["name"] = f"{example_label} {i + 1}"
        self = cls.__new__(cls)
        data = cls._build(exs, example_label=example_label, group_label=group_label, output_label=output_label)
        _View.__init__(self, data=data, title=title, example=int(index))
        return self

    @staticmethod
    def _build(
        examples: list[dict],
        *,
        example_label: str = "example",
        group_label: str = "group",
        output_label: str = "model",
    ) -> dict:
        out, groups = [], []
        for k, e in enumerate(examples):
            tag = f"example {k} ({e['name']})" if len(examples) > 1 else "the example"
            src = _tokens(e["source"], f"source of {tag}")
            ref = _tokens(e["reference"], f"reference of {tag}")
            outs = e["outputs"]
            if isinstance(outs, Mapping):
                if not outs:
                    raise ValueError(f"outputs of {tag} is an empty dict")
                items = [(str(n), o) for n, o in outs.items()]
            else:
                items = [(str(output_label), outs)]
            outputs = []
            for oname, o in items:
                toks = _output_tokens(o, f"output {oname!r} of {tag}")
                status = _token_status(toks, ref)
                outputs.append({"name": oname, "tokens": toks, "status": status,
                                "right": status.count("right"), "missing": max(0, len(ref) - len(toks))})
            align = e.get("alignment")
            if align is not None:
                if isinstance(align, str) or not hasattr(align, "__len__"):
                    raise ValueError(f"alignment of {tag} must be a list of source positions")
                align = list(align)
                if len(align) != len(ref):
                    raise ValueError(
                        f"alignment of {tag} has {len(align)} entries but the reference has {len(ref)} tokens"
                    )
                for j, a in enumerate(align):
                    if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= a < len(src):
                        raise ValueError(
                            f"alignment of {tag}: entry {j} is {a!r}, not a source position 0..{len(src) - 1}"
                        )
                align = [int(a) for a in align]
            group = "" if e.get("group") is None else str(e["group"])
            if group not in groups:
                groups.append(group)
            out.append({"name": str(e["name"]), "group": group, "source": src, "reference": ref,
                        "alignment": align, "outputs": outputs})
        if "" in groups and len(groups) > 1:
            raise ValueError("give every example a group, or none: some examples have a group and others not")
        return {"examples": out, "groups": groups, "example_label": str(example_label),
                "group_label": str(group_label)}
