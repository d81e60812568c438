"""Checkers for the write-it-yourself exercises.

An exercise asks the reader to write a piece of the package (scaled dot-product
attention, a causal mask, patchify, ...) in a cell. The chapter then calls a
checker from this module: it runs the reader's function and the package's own on
the same random inputs (shapes, masks, edge cases) and raises
:class:`ExerciseMismatch` naming the first case where they disagree: which
input, which output, the shapes or the largest difference. When every case
agrees it returns a one-line report, so the cell shows what was checked.

The generic :func:`check_against` does the comparison; each ``check_*`` function
below it builds the cases for one exercise.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import torch
from torch import Tensor

__all__ = ["ExerciseMismatch", "Case", "check_against"]


class ExerciseMismatch(AssertionError):
    """The reader's function disagrees with the package's on one case (the message says which)."""


class Case(NamedTuple):
    """One input on which the reader's function is compared with the package's."""

    what: str  # said in the message, e.g. "B=2, T=3, S=5, with a padding mask"
    args: Sequence[Any]
    kwargs: Mapping[str, Any] = {}


def _clone(x: Any) -> Any:
    """A deep copy of tensors (so an in-place edit by one function cannot change the other's input)."""
    if isinstance(x, Tensor):
        return x.clone()
    if isinstance(x, (list, tuple)):
        return type(x)(_clone(v) for v in x)
    if isinstance(x, dict):
        return {k: _clone(v) for k, v in x.items()}
    return x


def _describe(x: Any) -> str:
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)}"
    return f"a {type(x).__name__}"


def _compare(got: Any, want: Any, where: str, atol: float, rtol: float) -> str | None:
    """None when ``got`` matches ``want``, else what differs."""
    if isinstance(want, Tensor):
        if not isinstance(got, Tensor):
            return f"{where} should be {_describe(want)}, got {_describe(got)}"
        if tuple(got.shape) != tuple(want.shape):
            return f"{where} has shape {tuple(got.shape)}, expected {tuple(want.shape)}"
        if got.dtype == torch.bool or want.dtype == torch.bool:
            if got.dtype != want.dtype:
                return f"{where} has dtype {got.dtype}, expected {want.dtype}"
            wrong = (got != want).nonzero()
            if len(wrong):
                idx = tuple(int(i) for i in wrong[0])
                return (f"{where} differs at {len(wrong)} position(s), first at index {idx}: "
                        f"got {bool(got[idx])}, expected {bool(want[idx])}")
            return None
        g, w = got.detach().double(), want.detach().double()
        if torch.isnan(g).any() and not torch.isnan(w).any():
            idx = tuple(int(i) for i in torch.isnan(g).nonzero()[0])
            return f"{where} contains NaN (first at index {idx}) where the package's has {float(w[idx]):.4g}"
        close = torch.isclose(g, w, atol=atol, rtol=rtol, equal_nan=True)
        if not bool(close.all()):
            diff = (g - w).abs().nan_to_num(nan=float("inf"))
            idx = tuple(int(i) for i in (diff == diff.max()).nonzero()[0])
            return (f"{where} differs by up to {float(diff.max()):.3g} (at index {idx}: got {float(g[idx]):.6g}, "
                    f"expected {float(w[idx]):.6g}); {int((~close).sum())} of {close.numel()} values are off")
        return None
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"{where} should be {_describe(want)}, got {_describe(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            problem = _compare(g, w, f"{where}[{i}]", atol, rtol)
            if problem:
                return problem
        return None
    if got != want:
        return f"{where} is {got!r}, expected {want!r}"
    return None


def check_against(candidate: Callable, reference: Callable, cases: Iterable[Case], *, name: str,
                  atol: float = 1e-5, rtol: float = 1e-4) -> str:
    """Run ``candidate`` and ``reference`` on every case; raise :class:`ExerciseMismatch` at the first
    disagreement, naming the case and what differs. Returns a one-line report when all agree."""
    if not callable(candidate):
        raise TypeError(f"pass your function itself (e.g. my_{name}), got {type(candidate).__name__}")
    cases = list(cases)
    for k, case in enumerate(cases, 1):
        want = reference(*_clone(case.args), **_clone(dict(case.kwargs)))
        try:
            got = candidate(*_clone(case.args), **_clone(dict(case.kwargs)))
        except Exception as err:  # the reader's code: report it with the case that triggered it
            raise ExerciseMismatch(f"case {k} of {len(cases)} ({case.what}): your {name} raised "
                                   f"{type(err).__name__}: {err}") from err
        problem = _compare(got, want, "the output", atol, rtol)
        if problem:
            raise ExerciseMismatch(f"case {k} of {len(cases)} ({case.what}): {problem}")
    return f"✓ {name} agrees with the package's on all {len(cases)} cases"
