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
  :func:`compare_layers` times both, taking turns, over a grid of ``n`` and
  ``d``, and :func:`crossover_length` reads off where attention becomes the
  dearer of the two;
* :func:`thread_scaling` — the same work on one thread and on several;
* :func:`matrix_products` — the matrix products torch actually runs for one
  pass of a layer: how many (one per step for the recurrence) and how large;
* :func:`analytic_cost` — the multiply-adds and sequential steps of Table 1's
  formulas, to draw beside the measured points;
* :func:`gradient_by_distance` — the path-length measurement: the size of the
  gradient of the last output with respect to each input;
* :func:`num_threads` — run a block with a given number of CPU threads;
* :func:`attention_matrix_bytes` — the memory of the n × n weights;
  :func:`saved_tensor_bytes` measures what a computation keeps for its backward
  pass, and :func:`attention_kernels` compares the readable attention with
  torch's fused kernel in memory and time;
* :func:`counting_scores` and :func:`attention_step_cost` — one decoder
  attention step (chapter 3) as the source grows: how many source positions
  it scores, counted as it runs, and its time; global against local attention.

Times depend on the machine and its load; compare them within one run (ratios
and orderings), never against fixed numbers.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

from .attention import MultiHeadAttention, ScoredAttention, scaled_dot_product_attention
from .checks import check_choice, check_positive_ints, positive_int_list
from .seq2seq import EncoderOutput

__all__ = [
    "LAYER_KINDS",
    "LENGTHS",
    "WIDTHS",
    "KERNEL_LENGTHS",
    "layer_table",
    "thread_table",
    "products_table",
    "kernel_table",
    "median_times",
    "forward_backward_step",
    "make_layer",
    "time_layer",
    "compare_layers",
    "crossover_length",
    "thread_scaling",
    "matrix_products",
    "count_products",
    "analytic_cost",
    "gradient_by_distance",
    "num_threads",
    "attention_matrix_bytes",
    "saved_tensor_bytes",
    "attention_kernels",
    "counting_scores",
    "attention_step_cost",
]

LAYER_KINDS = ("rnn", "attention")

#: The grid chapter 7 and ``make bench`` measure: sequence lengths n and widths d
#: for the layer comparison, and lengths for the attention kernels.
LENGTHS = (16, 32, 64, 128, 256, 512, 1024)
WIDTHS = (32, 64, 128, 256)
KERNEL_LENGTHS = (128, 256, 512, 1024, 2048)


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


def forward_backward_step(fn: Callable[[], Tensor], grad: Tensor, tensors: Sequence[Tensor],
                          sync: Callable[[], None] = lambda: None) -> Callable[[], None]:
    """A step for :func:`median_times`: clear the gradients of ``tensors``, run
    ``fn()`` forward and back-propagate ``grad`` from its output, then ``sync()``
    (``torch.cuda.synchronize`` on a GPU, which runs asynchronously)."""

    def step() -> None:
        for t in tensors:
            t.grad = None
        fn().backward(grad)
        sync()

    return step


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
    check_choice(kind, "kind", LAYER_KINDS)
    check_positive_ints(d=d, heads=heads)
    torch.manual_seed(seed)
    return _Recurrent(d) if kind == "rnn" else _SelfAttention(d, heads)


def _device(device) -> torch.device:
    try:
        return torch.device("cpu" if device is None else device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch device or its name ('cpu', 'cuda'), got {device!r}") from None


def _layer_step(kind: str, n: int, d: int, *, batch: int, heads: int, backward: bool,
                seed: int, device=None) -> Callable[[], None]:
    """One forward (+ backward) pass of a seeded ``kind`` layer on a fixed ``(batch, n, d)`` input."""
    check_positive_ints(n=n, d=d, batch=batch)
    device = _device(device)
    layer = make_layer(kind, d, heads=heads, seed=seed).to(device)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n, d, generator=g).to(device).requires_grad_(backward)
    grad = torch.randn(batch, n, d, generator=g).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)  # else we time the launch
    if backward:
        return forward_backward_step(lambda: layer(x), grad, [x, *layer.parameters()], sync)

    def step() -> None:
        with torch.no_grad():
            layer(x)
        sync()

    return step


def time_layer(kind: str, n: int, d: int, *, batch: int = 8, heads: int = 1, repeats: int = 5,
               backward: bool = True, seed: int = 0, device=None) -> float:
    """Median seconds of one forward (+ backward) pass of a ``kind`` layer on a
    ``(batch, n, d)`` input (on the CPU unless ``device`` says otherwise)."""
    step = _layer_step(kind, n, d, batch=batch, heads=heads, backward=backward, seed=seed, device=device)
    return median_times({"step": step}, repeats)["step"]


def compare_layers(lengths: Sequence[int], widths: Sequence[int] = (64,), *, batch: int = 8, heads: int = 1,
                   repeats: int = 3, backward: bool = True, seed: int = 0, device=None) -> List[Dict[str, float]]:
    """Time a recurrent and a self-attention layer on every ``(d, n)`` of the grid.

    At each point the two layers take turns (:func:`median_times`), so load from
    elsewhere on the machine slows both alike. Returns one row per point:
    ``{"d", "n", "rnn_s", "attention_s"}`` (median seconds of forward + backward),
    ordered by ``d``, then ``n``. ``device`` (default: the CPU) may be ``"cuda"``.
    """
    lengths, widths = positive_int_list(lengths, "lengths"), positive_int_list(widths, "widths")
    rows = []
    for d in widths:
        for n in lengths:
            steps = {kind: _layer_step(kind, n, d, batch=batch, heads=heads, backward=backward, seed=seed,
                                       device=device)
                     for kind in LAYER_KINDS}
            t = median_times(steps, repeats)
            rows.append({"d": d, "n": n, "rnn_s": t["rnn"], "attention_s": t["attention"]})
    return rows


def crossover_length(rows: Sequence[Dict[str, float]]) -> Optional[int]:
    """The shortest measured ``n`` from which on self-attention is slower than
    the recurrence at every longer measured ``n`` too (rows of one ``d``, from
    :func:`compare_layers`); None if attention is not slower at the longest ``n``."""
    rows = sorted(rows, key=lambda r: r["n"])
    if len({r.get("d") for r in rows}) > 1:
        raise ValueError("rows mix several widths d: pass the rows of one d")
    found = None
    for r in reversed(rows):
        if r["attention_s"] > r["rnn_s"]:
            found = int(r["n"])
        else:
            break
    return found


def thread_scaling(n: int, d: int, threads: Sequence[int], *, batch: int = 8, heads: int = 1, repeats: int = 5,
                   seed: int = 0) -> Dict[str, Dict[int, float]]:
    """Forward + backward seconds of both layers with each number of CPU threads.

    All (layer, threads) combinations take turns, so they are measured under
    the same conditions. Returns ``{"rnn": {threads: s}, "attention": {threads: s}}``.
    """
    threads = positive_int_list(threads, "threads")
    steps = {}
    for kind in LAYER_KINDS:
        step = _layer_step(kind, n, d, batch=batch, heads=heads, backward=True, seed=seed)
        for k in threads:
            def run(step=step, k=k) -> None:
                with num_threads(k):
                    step()
            steps[(kind, k)] = run
    t = median_times(steps, repeats)
    return {kind: {k: t[(kind, k)] for k in threads} for kind in LAYER_KINDS}


# name of a matrix-product operator -> position of its two factors in the arguments
_PRODUCTS = {"mm": 0, "bmm": 0, "addmm": 1, "baddbmm": 1, "addbmm": 1}


class _CountProducts(TorchDispatchMode):
    """Counts the matrix products that reach torch's dispatcher, and their multiply-adds.

    Every operator call passes the dispatcher, also the ones made from C++ inside
    ``nn.RNN``'s loop, so the count is what actually ran, not what the Python
    code spells out."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: List[int] = []  # multiply-adds of each product, in the order they ran

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        first = _PRODUCTS.get(func.overloadpacket.__name__)
        if first is not None:
            a, b = args[first], args[first + 1]
            self.sizes.append(int(np.prod(a.shape)) * int(b.shape[-1]))  # (..., m, k) @ (..., k, p)
        return func(*args, **(kwargs or {}))


def matrix_products(kind: str, n: int, d: int, *, batch: int = 8, heads: int = 1,
                    seed: int = 0) -> Dict[str, Dict[str, int]]:
    """The matrix products one forward and one backward pass of a ``kind`` layer
    run on a ``(batch, n, d)`` input on the CPU, counted as they reach torch's
    dispatcher: ``{"forward": {"calls", "multiply_adds", "median_multiply_adds"},
    "backward": {...}}`` (the median is the size of a typical product).

    A recurrence needs one product per position for ``U h_{t-1}``, each waiting
    for the one before; self-attention needs the same few products at any ``n``.
    """
    check_positive_ints(n=n, d=d, batch=batch)
    layer = make_layer(kind, d, heads=heads, seed=seed)
    x = torch.randn(batch, n, d, generator=torch.Generator().manual_seed(seed), requires_grad=True)
    with _CountProducts() as fwd:
        y = layer(x)
    with _CountProducts() as bwd:
        y.backward(torch.ones_like(y))
    return {name: {"calls": len(c.sizes), "multiply_adds": sum(c.sizes),
                   "median_multiply_adds": int(np.median(c.sizes)) if c.sizes else 0}
            for name, c in (("forward", fwd), ("backward", bwd))}


def count_products(lengths: Sequence[int], d: int, *, batch: int = 8, heads: int = 1,
                   seed: int = 0) -> List[Dict[str, Any]]:
    """:func:`matrix_products` of one forward pass of both layers at every ``n``:
    one row ``{"n", "rnn": {...}, "attention": {...}}`` per length."""
    return [{"n": n, **{kind: matrix_products(kind, n, d, batch=batch, heads=heads, seed=seed)["forward"]
                        for kind in LAYER_KINDS}}
            for n in positive_int_list(lengths, "lengths")]


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
    check_choice(kind, "kind", LAYER_KINDS)
    check_positive_ints(n=n, d=d)
    if kind == "rnn":
        return {"multiply_adds": 2 * n * d * d, "sequential_steps": n, "max_path_length": n}
    return {"multiply_adds": 4 * n * d * d + 2 * n * n * d, "sequential_steps": 1, "max_path_length": 1}


def gradient_by_distance(kind: str, n: int, d: int, *, seed: int = 0, heads: int = 1,
                         dtype: torch.dtype = torch.float32) -> np.ndarray:
    """``‖∂y_last / ∂x_t‖`` for every input position ``t`` (an untrained layer,
    one random sequence): how strongly the last output depends on each input.

    Returns an array of ``n`` norms; entry 0 is the first input, entry ``n-1``
    the last. Through a recurrence the signal from early inputs passes through
    many steps and fades; through attention every input is one step away.
    ``dtype=torch.float64`` follows a fading gradient far below float32's
    smallest number (about 1e-45), where float32 gives exactly 0.
    """
    check_positive_ints(n=n, d=d)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    layer = make_layer(kind, d, heads=heads, seed=seed).to(dtype)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(1, n, d, generator=g).to(dtype).requires_grad_()  # same draws in either dtype
    y = layer(x)[0, -1]  # (d,): the last output
    direction = torch.randn(d, generator=g).to(dtype)
    (grad,) = torch.autograd.grad(y @ direction, x)  # (1, n, d)
    return grad[0].norm(dim=-1).numpy()


@contextlib.contextmanager
def num_threads(n: Optional[int]) -> Iterator[int]:
    """Run the block with ``torch.set_num_threads(n)`` (None: leave as is); restore afterwards."""
    before = torch.get_num_threads()
    if n is not None:
        check_positive_ints(n=n)
        torch.set_num_threads(int(n))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def attention_matrix_bytes(n: int, *, batch: int = 1, heads: int = 1, dtype: torch.dtype = torch.float32) -> int:
    """Bytes of the ``(batch, heads, n, n)`` weights a readable attention keeps for
    the backward pass (a fused kernel recomputes them instead of storing them)."""
    check_positive_ints(n=n, batch=batch, heads=heads)
    return batch * heads * n * n * torch.empty(0, dtype=dtype).element_size()


def saved_tensor_bytes(fn: Callable[[], Tensor]) -> int:
    """Bytes of the tensors autograd keeps for the backward pass while ``fn()``
    runs (each storage counted once; the output itself too, if it is kept).

    This is the memory a layer holds from its forward pass until its backward
    pass — for the readable attention it includes the n × n weights."""
    storages: Dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ValueError("fn must return a tensor that requires grad (give it inputs with requires_grad=True)")
    return sum(storages.values())


def attention_kernels(lengths: Sequence[int], *, batch: int = 1, heads: int = 4, head_dim: int = 16,
                      repeats: int = 3, seed: int = 0) -> List[Dict[str, float]]:
    """The readable :func:`attnbook.attention.scaled_dot_product_attention`
    against torch's fused ``torch.nn.functional.scaled_dot_product_attention``
    on ``(batch, heads, n, head_dim)`` queries, keys and values.

    Returns one row per ``n``: ``matrix_bytes`` (the n × n weights of every
    head), ``readable_saved_bytes`` and ``fused_saved_bytes`` (kept for the
    backward pass, :func:`saved_tensor_bytes`), ``readable_s`` and ``fused_s``
    (median seconds of forward + backward, taking turns), and ``max_difference``
    between the two outputs.
    """
    lengths = positive_int_list(lengths, "lengths")
    check_positive_ints(batch=batch, heads=heads, head_dim=head_dim)
    g = torch.Generator().manual_seed(seed)
    rows = []
    for n in lengths:
        q, k, v = (torch.randn(batch, heads, n, head_dim, generator=g).requires_grad_() for _ in range(3))
        grad = torch.randn(batch, heads, n, head_dim, generator=g)
        fns = {"readable": lambda: scaled_dot_product_attention(q, k, v)[0],
               "fused": lambda: F.scaled_dot_product_attention(q, k, v)}
        saved = {name: saved_tensor_bytes(fn) for name, fn in fns.items()}
        with torch.no_grad():
            diff = (fns["readable"]() - fns["fused"]()).abs().max().item()
        t = median_times({name: forward_backward_step(fn, grad, (q, k, v)) for name, fn in fns.items()}, repeats)
        rows.append({"n": n, "matrix_bytes": attention_matrix_bytes(n, batch=batch, heads=heads),
                     "readable_saved_bytes": saved["readable"], "fused_saved_bytes": saved["fused"],
                     "readable_s": t["readable"], "fused_s": t["fused"], "max_difference": diff})
    return rows


@contextlib.contextmanager
def counting_scores(module: nn.Module) -> Iterator[List[int]]:
    """Within the block, count the source positions every attention score inside ``module`` scores.

    Each call of the ``score`` method of an ``AdditiveAttention`` or
    ``LuongAttention`` inside ``module`` (the module itself or any sub-module)
    appends the number of keys it scored per query -- the last dimension of
    its scores -- to the list the block gets. The scores are unchanged.
    """
    counts: List[int] = []
    scorers = [m for m in module.modules() if isinstance(m, ScoredAttention)]

    def counted(score: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
        def score_and_count(query: Tensor, keys: Tensor) -> Tensor:
            scores = score(query, keys)  # (B, S) or (B, T, S)
            counts.append(int(scores.shape[-1]))
            return scores
        return score_and_count

    for m in scorers:
        m.score = counted(m.score)  # an instance attribute hides the method ...
    try:
        yield counts
    finally:
        for m in scorers:
            del m.score  # ... until it is deleted


def attention_step_cost(decoders: Dict[str, nn.Module], lengths: Sequence[int], *, batch: int = 16,
                        repeats: int = 7, seed: int = 0) -> List[Dict[str, Any]]:
    """One attention step of each ``AttentionDecoder`` in ``decoders`` on synthetic sources of every length.

    For each ``S`` in ``lengths``: random annotations ``(batch, S, De)``, every
    source word real, a random decoder state as the query, output word
    ``t = S // 2`` (local-m's window inside the sentence). The key side of the
    score and the lengths are computed once per sentence, outside the timing, as
    ``init_state`` does; what is measured is ``decoder.attend`` -- the work of
    one output word.
    Returns one row per length, ``{"S": S, name: {"scored": ..., "seconds": ...}}``:
    the source positions scored per output word (:func:`counting_scores`) and
    the median time of the step (the decoders take turns, :func:`median_times`).
    """
    lengths = positive_int_list(lengths, "lengths")
    check_positive_ints(batch=batch, repeats=repeats)
    if not decoders:
        raise ValueError("decoders is empty: give at least one name -> AttentionDecoder")
    g = torch.Generator().manual_seed(seed)
    rows: List[Dict[str, Any]] = []
    with torch.inference_mode():
        for S in lengths:
            row: Dict[str, Any] = {"S": S}
            steps = {}
            for name, dec in decoders.items():
                annotations = torch.randn(batch, S, dec.enc_dim, generator=g)  # (B, S, De)
                enc = EncoderOutput(annotations, annotations[:, 0], torch.ones(batch, S, dtype=torch.bool))
                keys = dec.attention.project_keys(annotations)  # (B, S, A): once per sentence
                sizes = torch.full((batch,), S)  # (B,) every sentence S words long, counted once as init_state does
                query = torch.randn(batch, dec.hidden_size, generator=g)  # (B, Hd)
                with counting_scores(dec) as counts:
                    dec.attend(query, keys, enc, S // 2, sizes)
                row[name] = {"scored": sum(counts)}
                steps[name] = (lambda dec=dec, query=query, keys=keys, enc=enc, sizes=sizes:
                               dec.attend(query, keys, enc, S // 2, sizes))
            for name, seconds in median_times(steps, repeats).items():
                row[name]["seconds"] = seconds
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- tables (chapter 7 and make bench)


def layer_table(rows: Sequence[Dict[str, float]], d: int) -> str:
    """Table 1, measured: the rows of :func:`compare_layers` for width ``d``
    beside the analytic multiply-adds and sequential steps."""
    rows = sorted((r for r in rows if r["d"] == d), key=lambda r: r["n"])
    if not rows:
        raise ValueError(f"no rows for d = {d}")
    lines = [f"d = {d}: forward + backward of one layer, batch of sequences, median ms",
             f"{'n':>6} | {'RNN ms':>8} {'attn ms':>8} {'attn/RNN':>9} | {'RNN mult-adds':>14} "
             f"{'attn mult-adds':>15} | {'sequential steps':>16}"]
    for r in rows:
        n = int(r["n"])
        rnn, att = analytic_cost("rnn", n, d), analytic_cost("attention", n, d)
        lines.append(f"{n:>6} | {1e3 * r['rnn_s']:8.2f} {1e3 * r['attention_s']:8.2f} "
                     f"{r['attention_s'] / r['rnn_s']:8.2f}x | {rnn['multiply_adds']:>14,} "
                     f"{att['multiply_adds']:>15,} | {rnn['sequential_steps']:>7} vs {att['sequential_steps']}")
    cross = crossover_length(rows)
    lines.append("attention slower from n = " + (f"{cross} on" if cross else "(not within these lengths)"))
    return "\n".join(lines)


def products_table(rows: Sequence[Dict[str, Any]]) -> str:
    """The rows of :func:`count_products`: how many matrix products one forward
    pass runs, and the multiply-adds of a typical one (the median)."""
    lines = [f"{'n':>6} | {'RNN products':>12} {'median size':>15} | {'attention products':>18} {'median size':>15}"]
    for r in rows:
        rnn, att = r["rnn"], r["attention"]
        lines.append(f"{r['n']:>6} | {rnn['calls']:>12} {rnn['median_multiply_adds']:>15,} | "
                     f"{att['calls']:>18} {att['median_multiply_adds']:>15,}")
    return "\n".join(lines)


def thread_table(scaling: Dict[str, Dict[int, float]]) -> str:
    """The result of :func:`thread_scaling` with each layer's speed-up over one thread."""
    threads = sorted(next(iter(scaling.values())))
    head = " ".join(f"{f'{k} thread' + ('s' if k > 1 else '') + ' ms':>14}" for k in threads)
    lines = [f"{'layer':>9} | {head} | speed-up with {threads[-1]} vs {threads[0]}"]
    for kind, t in scaling.items():
        cells = " ".join(f"{1e3 * t[k]:14.2f}" for k in threads)
        lines.append(f"{kind:>9} | {cells} | {t[threads[0]] / t[threads[-1]]:.2f}x")
    return "\n".join(lines)


def kernel_table(rows: Sequence[Dict[str, float]]) -> str:
    """The rows of :func:`attention_kernels`: memory kept for backward and time."""
    lines = [f"{'n':>6} | {'n×n weights MB':>14} {'kept, readable':>14} {'kept, fused':>11} | "
             f"{'readable ms':>11} {'fused ms':>9} {'readable/fused':>14}"]
    for r in rows:
        lines.append(f"{int(r['n']):>6} | {r['matrix_bytes'] / 1e6:14.1f} {r['readable_saved_bytes'] / 1e6:11.1f} MB "
                     f"{r['fused_saved_bytes'] / 1e6:8.2f} MB | {1e3 * r['readable_s']:11.2f} "
                     f"{1e3 * r['fused_s']:9.2f} {r['readable_s'] / r['fused_s']:13.2f}x")
    return "\n".join(lines)
