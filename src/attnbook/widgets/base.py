"""What every view shares: the base classes, the input checks, the encoders
(arrays, tokens, images, figures) and the JavaScript each view runs.

A view's JavaScript is one ES module: ``js/common.js`` (the helpers every view
uses: ``h``, ``frame``, the example picker, the slider control, ...) followed by
the view's own ``js/<name>.js``. anywidget loads a view's code from a ``blob:``
URL, where an ``import`` of a neighbouring file would not resolve, so the two
files are joined here instead. Its CSS is ``js/common.css`` followed by
``js/<name>.css``.
"""
from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import numpy as np
import traitlets

__all__ = [
    "JS_DIR",
    "ROW_SUM_ATOL",
    "View",
    "ExampleView",
    "as_array",
    "as_tokens",
    "check_rows",
    "check_decimals",
    "check_int",
    "rounded",
    "example_names",
    "png_data_url",
    "image_to_data_url",
    "figure_to_data_url",
    "compact",
    "view_esm",
    "view_css",
]

JS_DIR = Path(__file__).resolve().parent.parent / "js"

#: tolerance on "each row of attention weights sums to 1"
ROW_SUM_ATOL = 1e-3


# --------------------------------------------------------------------------- input checks


def as_array(x: Any, what: str) -> np.ndarray:
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


def as_tokens(x: Any, what: str, *, allow_empty: bool = False) -> list[str]:
    """A list of str tokens (not a single string); empty only with ``allow_empty``."""
    if isinstance(x, str):
        raise ValueError(f"{what} must be a list of tokens, not a single string {x!r} (use .split())")
    try:
        toks = [str(t) for t in x]
    except TypeError:
        raise ValueError(f"{what} must be a list of tokens, got {type(x).__name__}") from None
    if not toks and not allow_empty:
        raise ValueError(f"{what} is empty")
    return toks


def check_rows(w: np.ndarray, what: str, axis_names: Sequence[str] = ()) -> None:
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


def check_int(value: Any, what: str, lo: int, hi: int) -> int:
    """``value`` as an int, if it is an integer from ``lo`` to ``hi`` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{what} must be an integer from {lo} to {hi}, got {value!r}")
    return int(value)


def check_decimals(decimals: Any) -> int:
    return check_int(decimals, "decimals", 1, 6)


def rounded(a: np.ndarray, decimals: int) -> Any:
    """Nested lists of Python floats rounded to `decimals` (small JSON, no -0.0)."""
    r = np.round(a, decimals) + 0.0
    return r.tolist()


def example_names(names: Sequence[Any] | None, n: int, what: str, default: str) -> list[str]:
    """``n`` names: the given ones (checked), or "<default> 1", "<default> 2", ..."""
    if names is None:
        return [f"{default} {i + 1}" for i in range(n)]
    names = as_tokens(names, what)
    if len(names) != n:
        raise ValueError(f"{what} has {len(names)} entries for {n} examples")
    return names


# --------------------------------------------------------------------------- images and figures


def png_data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image_to_data_url(image: Any) -> tuple[str, int, int]:
    """Encode an (H, W) grayscale or (H, W, 3|4) colour image as a PNG data URL.

    Floats are read as 0..1 (0..255 if the maximum is above 1), integers as 0..255.
    Returns ``(url, H, W)``.
    """
    from PIL import Image

    a = as_array(image, "image")
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
    return png_data_url(buf.getvalue()), int(a.shape[0]), int(a.shape[1])


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
    return png_data_url(png)


# --------------------------------------------------------------------------- the JavaScript


def compact(path: Path) -> str:
    """The text of a file in js/, without comment lines, indentation and blank lines.

    Every view embeds its code in the page's widget state, once per view; this
    keeps that about a third smaller. (Only whole-line comments go, so the code
    itself is untouched: the files use no multi-line strings.)
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".css":
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def view_esm(name: str, extra: Sequence[str] = ()) -> str:
    """The ES module of one view: js/common.js, the files named in ``extra``, then
    js/<name>.js, as one string."""
    parts = ["common", *extra, name]
    return "\n".join(compact(JS_DIR / f"{part}.js") for part in parts)


def view_css(name: str) -> str:
    """The CSS of one view: js/common.css, then js/<name>.css."""
    return compact(JS_DIR / "common.css") + "\n" + compact(JS_DIR / f"{name}.css")


# --------------------------------------------------------------------------- base classes


class View(anywidget.AnyWidget):
    """Shared plumbing: one ``data`` dict the JS draws from, and a title."""

    #: everything the JavaScript draws, computed once in Python (JSON)
    data = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def state_size(self) -> int:
        """Bytes this view adds to a page's embedded widget state (its data and code)."""
        return len(json.dumps(self.get_state(), separators=(",", ":")))


class ExampleView(View):
    """A view of one example, or of several with a picker.

    A subclass defines ``build_data(examples, **options)``, which checks the
    examples (dicts of its fields) and options and returns the ``data`` the
    JavaScript draws. Its constructor takes one example's fields and calls
    this constructor with ``[example]``; :meth:`from_examples` calls it with
    the list. So a view goes through the same checks either way.
    """

    #: the example shown (the picker's choice)
    example = traitlets.Int(0).tag(sync=True)

    #: the fields an example must have, and those it may have
    required_fields: ClassVar[tuple[str, ...]] = ()
    optional_fields: ClassVar[tuple[str, ...]] = ("name",)
    #: the fields of an example given as a tuple (empty: only dicts)
    tuple_fields: ClassVar[tuple[str, ...]] = ()
    #: what an example is called in the picker ("image", "document", ...)
    default_example_label: ClassVar[str] = "example"

    def __init__(self, examples: list[dict], *, title: str = "", index: int = 0, **options: Any) -> None:
        index = check_int(index, "index", 0, len(examples) - 1)
        data = self.build_data(examples, **options)
        super().__init__(data=data, title=title, example=index, **self.initial_state(data))

    def initial_state(self, data: dict) -> dict:
        """Other synced traits to start from, given the built data (none by default)."""
        return {}

    @classmethod
    def from_examples(
        cls,
        examples: Sequence[Any],
        *,
        names: Sequence[str] | None = None,
        example_label: str | None = None,
        title: str = "",
        index: int = 0,
        **options: Any,
    ) -> "ExampleView":
        """Several examples and a picker.

        Each example is a dict of the fields of the constructor's example (see
        the class's ``required_fields`` and ``optional_fields``; ``name`` names
        it in the picker). ``names`` overrides those names; ``index`` is the
        example shown first. Other keyword arguments are the constructor's.
        """
        label = cls.default_example_label if example_label is None else str(example_label)
        exs = [cls.example_dict(e, i) for i, e in enumerate(examples)]
        if not exs:
            raise ValueError("examples is empty")
        if names is not None:
            labels = example_names(names, len(exs), "names", label)
        else:
            labels = [f"{label} {i + 1}" if e.get("name") is None else str(e["name"]) for i, e in enumerate(exs)]
        for e, n in zip(exs, labels):
            e["name"] = n
        view = cls.__new__(cls)  # the subclass's constructor takes one example: call the shared one
        ExampleView.__init__(view, exs, title=title, index=index, example_label=label, **options)
        return view

    @classmethod
    def example_dict(cls, e: Any, i: int) -> dict:
        """Example ``i`` of :meth:`from_examples` as a dict of known fields, with the required ones."""
        need = cls.required_fields
        if cls.tuple_fields and isinstance(e, (tuple, list)) and len(need) <= len(e) <= len(cls.tuple_fields):
            return dict(zip(cls.tuple_fields, e))
        if not isinstance(e, Mapping):
            if cls.tuple_fields:
                optional = "".join(f"[, {f}" for f in cls.tuple_fields[len(need):])
                closing = "]" * (len(cls.tuple_fields) - len(need))
                raise ValueError(f"example {i} must be a dict or a ({', '.join(need)}{optional}{closing}) tuple")
            quoted = [repr(f) for f in need]
            fields = ", ".join(quoted[:-1]) + " and " + quoted[-1] if len(quoted) > 1 else quoted[0]
            raise ValueError(f"example {i} must be a dict with {fields}")
        unknown = set(e) - set(need) - set(cls.optional_fields)
        if unknown:
            raise ValueError(f"example {i} has unknown field(s) {sorted(unknown)}")
        missing = [f for f in need if f not in e]
        if missing:
            raise ValueError(f"example {i} needs {missing}")
        return dict(e)
