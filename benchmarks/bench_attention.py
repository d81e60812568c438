"""How fast is the readable attention next to torch's?

Times forward + backward (float32, CPU) of

* ``attnbook.scaled_dot_product_attention`` vs ``torch.nn.functional.scaled_dot_product_attention``
  on ``(B, H, n, Dh)`` tensors, and
* ``attnbook.MultiHeadAttention`` vs ``torch.nn.MultiheadAttention(batch_first=True)``
  on ``(B, n, D)`` tensors with ``D = H * Dh``, same weights. torch is timed
  twice: with ``need_weights=False`` (its fast path, the fused kernel) and
  ``need_weights=True`` (it then returns the weights, as ours always does).

Each time is the median of several repeats after a warm-up; the ratios
(ours / torch) come from the same run, so they compare like with like even
on a busy machine. Run it with ``python benchmarks/bench_attention.py``.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from attnbook.attention import MultiHeadAttention, scaled_dot_product_attention
from attnbook.cost import forward_backward_step, median_times as _median_times


def _repeats_for(n: int, repeats: int | None) -> int:
    if repeats is not None:
        return repeats
    return 7 if n <= 128 else 5 if n <= 512 else 3  # long sequences are slow: fewer repeats


def _row(n: int, what: str, ours: float, theirs: float) -> dict:
    return dict(n=n, what=what, ours_ms=1e3 * ours, torch_ms=1e3 * theirs, ratio=ours / theirs)


def attention_benchmark(
    lengths=(128, 512, 1024),
    B: int = 8,
    H: int = 8,
    Dh: int = 64,
    repeats: int | None = None,
    seed: int = 0,
) -> list[dict]:
    """Forward + backward times (ms) of ours vs torch's for each sequence length n.

    Returns one dict per (n, comparison) with keys ``n``, ``what``,
    ``ours_ms``, ``torch_ms``, ``ratio`` (ours / torch; < 1 means ours is faster).
    ``repeats=None`` picks 7 / 5 / 3 repeats for n ≤ 128 / ≤ 512 / longer.
    """
    torch.manual_seed(seed)
    D = H * Dh
    torch_mha = nn.MultiheadAttention(D, H, batch_first=True)
    ours_mha = MultiHeadAttention.from_torch(torch_mha)  # same numbers: same arithmetic

    # One untimed round at the shortest length first: the first calls in a
    # process pay for thread-pool and allocator start-up.
    x = torch.randn(B, min(lengths), D, requires_grad=True)
    for module in (ours_mha, torch_mha):
        module(x, x, x)[0].sum().backward()

    rows = []
    for n in lengths:
        reps = _repeats_for(n, repeats)
        q, k, v = (torch.randn(B, H, n, Dh, requires_grad=True) for _ in range(3))
        g = torch.randn(B, H, n, Dh)
        t = _median_times(
            {
                "ours": forward_backward_step(lambda: scaled_dot_product_attention(q, k, v)[0], g, (q, k, v)),
                "torch": forward_backward_step(lambda: F.scaled_dot_product_attention(q, k, v), g, (q, k, v)),
            },
            reps,
        )
        rows.append(_row(n, "sdpa", t["ours"], t["torch"]))
        del q, k, v, g

        x = torch.randn(B, n, D, requires_grad=True)
        g = torch.randn(B, n, D)
        ours_params = [x, *ours_mha.parameters()]
        torch_params = [x, *torch_mha.parameters()]
        t = _median_times(
            {
                "ours": forward_backward_step(lambda: ours_mha(x, x, x)[0], g, ours_params),
                "fast": forward_backward_step(lambda: torch_mha(x, x, x, need_weights=False)[0], g, torch_params),
                "slow": forward_backward_step(lambda: torch_mha(x, x, x, need_weights=True)[0], g, torch_params),
            },
            reps,
        )
        rows.append(_row(n, "MHA vs need_weights=False", t["ours"], t["fast"]))
        rows.append(_row(n, "MHA vs need_weights=True", t["ours"], t["slow"]))
        del x, g
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`attention_benchmark` as a Markdown table."""
    lines = [
        "| n | comparison | attnbook (ms) | torch (ms) | ratio attnbook/torch |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['what']} | {r['ours_ms']:.1f} | {r['torch_ms']:.1f} | {r['ratio']:.2f}× |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 1024])
    parser.add_argument("--repeats", type=int, default=None, help="default: 7 / 5 / 3 by length")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch threads (default: torch's choice); 1 gives steadier numbers on a busy machine",
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = attention_benchmark(
        tuple(args.lengths), B=args.batch, H=args.heads, Dh=args.head_dim, repeats=args.repeats
    )
    print(
        f"forward + backward, float32, CPU ({torch.get_num_threads()} threads), "
        f"B={args.batch}, H={args.heads}, Dh={args.head_dim}, D={args.heads * args.head_dim}; "
        f"median of repeats after a warm-up; torch {torch.__version__}"
    )
    print(format_table(rows))
    print(f"(took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
