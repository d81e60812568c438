"""PrecomputedView: a control over a few values, each with a figure and/or data computed beforehand."""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import numpy as np
import traitlets

from .base import View, check_decimals, check_int, figure_to_data_url, png_data_url, view_css, view_esm

__all__ = ["PrecomputedView"]


def _results(values: Sequence[Any], make: Callable[[Any], Any]) -> tuple[list | None, list | None]:
    """``make(value)`` for every value, split into ``(figures, data)``: ``make``
    returns a Figure, a dict of data, or a ``(figure, dict)`` pair; either list
    is None when ``make`` returned none of its kind."""
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
    return (figures if has_fig else None), (data if has_data else None)


def _value_label(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


class PrecomputedView(View):
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

    _esm = view_esm("precomputed")
    _css = view_css("precomputed")
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
        decimals = check_decimals(decimals)
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
        index = check_int(index, "index", 0, n - 1)
        payload = {"label": str(label), "values": labels, "control": control, "images": images,
                   "data": rows, "captions": caps, "alt": str(alt)}
        if axes is not None:
            payload["axes"] = self._axes(axes, n)
        super().__init__(data=payload, title=title, index=index)

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
        figures, data = _results(points, lambda p: make(**p))
        return cls(labels, figures, data=data, label=" × ".join(names), index=index, axes=axes, **kwargs)

    @classmethod
    def from_function(
        cls,
        values: Sequence[Any],
        make: Callable[[Any], Any],
        **kwargs: Any,
    ) -> "PrecomputedView":
        """Call ``make(value)`` for every value; it returns a Figure, a dict of data,
        or a ``(figure, dict)`` pair. Other keyword arguments are the constructor's."""
        figures, data = _results(values, make)
        return cls(values, figures, data=data, **kwargs)

    @staticmethod
    def _image(f: Any, i: int, dpi: int, fmt: str) -> str:
        if hasattr(f, "savefig"):
            return figure_to_data_url(f, dpi=dpi, fmt=fmt)
        if isinstance(f, (bytes, bytearray)):
            if not bytes(f[:8]) == b"\x89PNG\r\n\x1a\n":
                raise ValueError(f"figure {i} is bytes but not a PNG")
            return png_data_url(bytes(f))
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

