"""What a layer costs: measurements behind chapter 7 and ``make bench``.

Vaswani et al. (2017) compare layers in their Table 1 by three numbers:

=================  ====================  ====================  ===================
layer              complexity per layer  sequential operations  maximum path length
=================  ====================  ====================  ===================
self-attention     O(n² · d)             O(1)                   O(1)
recurrent          O(n · d²)             O(n)                   O(n)
=================  ====================  ====================  ===================

This module measures them instead of quoting them, on whatever machine runs it:

* :func:`median_times` — fair timing of several steps that take turns;
* :func:`time_layer` — forward + backward time of one recurrent or one
  self-attention layer of width ``d`` on sequences of length ``n``;
* :func:`analytic_cost` — the multiply-adds and sequential steps of Table 1's
  formulas, to draw beside the measured points;
* :func:`gradient_by_distance` — the path-length measurement: the size of the
  gradient of the last output with respect to each input;
* :func:`num_threads` — run a block with a given number of CPU threads;
* :func:`attention_matrix_bytes` — the memory of the n × n weights.

Times depend on the machine and its load; compare them within one run (ratios
and orderings), never against fixed numbers.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from typing import Callable, Dict, Iterator, Optional

import numpy as np
import torch
from torch import Tensor, nn

from .attention import MultiHeadAttention

__all__ = [
    "LAYER_KINDS",
    "median_times",
    "make_layer",
    "time_layer",
    "analytic_cost",
    "gradient_by_distance",
    "num_threads",
    "attention_matrix_bytes",
]

LAYER_KINDS = ("rnn", "attention")


def median_times(steps: Dict[str, Callable[[], None]], repeats: int, warmup: int = 1) -> Dict[str, float]:
    """Median wall time (s) of each step, after ``warmup`` untimed calls.

    The steps take turns (a, b, c, a, b, c, ...), so a burst of load from
    elsewhere on the machine slows all of them alike and the ratios stay fair.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be positive, got {repeats}")
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: Dict[str, list] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _check_kind(kind: str) -> None:
    if kind not in LAYER_KINDS:
        raise ValueError(f"kind must be one of {LAYER_KINDS}, got {kind!r}")


def _check_positive(**values: int) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


class _SelfAttention(nn.Module):
    """One self-attention layer ``(B, n, d) -> (B, n, d)``; the weights are dropped."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.mha = MultiHeadAttention(d, heads)

    def forward(self, x: Tensor) -> Tensor:
        return self.mha(x)[0]


class _Recurrent(nn.Module):
    """One tanh RNN layer ``(B, n, d) -> (B, n, d)``: a loop over the n positions."""

    def __init__(self, d: int):
        super().__init__()
        self.rnn = nn.RNN(d, d, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.rnn(x)[0]


def make_layer(kind: str, d: int, *, heads: int = 1, seed: int = 0) -> nn.Module:
    """A ``"rnn"`` (tanh, ``nn.RNN``) or ``"attention"`` (``MultiHeadAttention``) layer
    mapping ``(B, n, d)`` to ``(B, n, d)``, with seeded weights."""
    _check_kind(kind)
    _check_positive(d=d, heads=heads)
    torch.manual_seed(seed)
    return _Recurrent(d) if kind == "rnn" else _SelfAttention(d, heads)


def time_layer(kind: str, n: int, d: int, *, batch: int = 8, heads: int = 1, repeats: int = 5,
               backward: bool = True, seed: int = 0) -> float:
    """Median seconds of one forward (+ backward) pass of a ``kind`` layer on a
    ``(batch, n, d)`` input."""
    _check_positive(n=n, d=d, batch=batch)
    layer = make_layer(kind, d, heads=heads, seed=seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n, d, generator=g, requires_grad=backward)
    grad = torch.randn(batch, n, d, generator=g)

    def step() -> None:
        if backward:
            x.grad = None
            layer.zero_grad(set_to_none=True)
            layer(x).backward(grad)
        else:
            with torch.no_grad():
                layer(x)

    return median_times({"step": step}, repeats)["step"]


def analytic_cost(kind: str, n: int, d: int) -> Dict[str, int]:
    """Table 1's formulas with their constants for one layer of width ``d`` on ``n`` positions:

    * ``multiply_adds`` — recurrent: ``n · 2d²`` (input and hidden matrices at
      every step); self-attention: ``4 n d²`` (the q, k, v and output
      projections) ``+ 2 n² d`` (scores and weighted sum);
    * ``sequential_steps`` — operations that must wait for the previous one:
      ``n`` for the recurrence, 1 for attention;
    * ``max_path_length`` — layers of computation between the first input and
      the last output: ``n`` through the recurrence, 1 through attention.
    """
    _check_kind(kind)
    _check_positive(n=n, d=d)
    if kind == "rnn":
        return {"multiply_adds": 2 * n * d * d, "sequential_steps": n, "max_path_length": n}
    return {"multiply_adds": 4 * n * d * d + 2 * n * n * d, "sequential_steps": 1, "max_path_length": 1}


def gradient_by_distance(kind: str, n: int, d: int, *, seed: int = 0, heads: int = 1) -> np.ndarray:
    """``‖∂y_last / ∂x_t‖`` for every input position ``t`` (an untrained layer,
    one random sequence): how strongly the last output depends on each input.

    Returns an array of ``n`` norms; entry 0 is the first input, entry ``n-1``
    the last. Through a recurrence the signal from early inputs passes through
    many steps and fades; through attention every input is one step away.
    """
    _check_positive(n=n, d=d)
    layer = make_layer(kind, d, heads=heads, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(1, n, d, generator=g, requires_grad=True)
    y = layer(x)[0, -1]  # (d,): the last output
    direction = torch.randn(d, generator=g)
    (grad,) = torch.autograd.grad(y @ direction, x)  # (1, n, d)
    return grad[0].norm(dim=-1).numpy()


@contextlib.contextmanager
def num_threads(n: Optional[int]) -> Iterator[int]:
    """Run the block with ``torch.set_num_threads(n)`` (None: leave as is); restore afterwards."""
    before = torch.get_num_threads()
    if n is not None:
        _check_positive(n=n)
        torch.set_num_threads(int(n))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def attention_matrix_bytes(n: int, *, batch: int = 1, heads: int = 1, dtype: torch.dtype = torch.float32) -> int:
    """Bytes of the ``(batch, heads, n, n)`` weights a readable attention keeps for
    the backward pass (a fused kernel recomputes them instead of storing them)."""
    _check_positive(n=n, batch=batch, heads=heads)
    return batch * heads * n * n * torch.empty(0, dtype=dtype).element_size()
