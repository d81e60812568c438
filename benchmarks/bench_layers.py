"""Chapter 7's measurements: a recurrent layer against a self-attention layer.

    python benchmarks/bench_layers.py

Prints, with the same code and grid as the chapter (``attnbook.cost``):

* Table 1 of Vaswani et al., measured: forward + backward time of one layer
  of width d on n positions, beside the analytic multiply-adds and the number
  of sequential steps, and where attention becomes the slower of the two;
* the matrix products one forward pass runs: how many, how large;
* the same work on one thread and on all threads (everything else runs on one
  thread, as in the chapter, so that a busy core does not decide the result);
* the gradient of the last output with respect to the first input;
* the readable attention against torch's fused kernel: memory kept for the
  backward pass and time, as n grows.

Times depend on the machine and its load; read ratios and orderings.
"""
from __future__ import annotations

import argparse
import time

import torch

from attnbook.cost import (KERNEL_LENGTHS, LENGTHS, WIDTHS, attention_kernels, compare_layers, count_products,
                           crossover_length, gradient_by_distance, kernel_table, layer_table, num_threads, products_table,
                           thread_scaling, thread_table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"CPU, float32, one thread (as in chapter 7), torch {torch.__version__}, batch 8, one head")
    with num_threads(1):
        rows = compare_layers(LENGTHS, WIDTHS, repeats=args.repeats)
    print(layer_table(rows, 64))
    print("crossover by width:", ", ".join(
        f"d = {d}: n = {crossover_length([r for r in rows if r['d'] == d])}" for d in WIDTHS))
    print()
    print("d = 64, batch 8: matrix products in one forward pass")
    print(products_table(count_products((16, 256, 1024), 64)))
    print()
    threads = sorted({1, torch.get_num_threads()})
    for n in (128, 512, 1024):
        print(f"n = {n}, d = 64")
        print(thread_table(thread_scaling(n, 64, threads, repeats=5)))
    print()
    n = 256  # as in the chapter: longer, and even float64 cannot hold the RNN's gradient
    rnn = gradient_by_distance("rnn", n, 64, dtype=torch.float64)
    att = gradient_by_distance("attention", n, 64, dtype=torch.float64)
    print(f"|d y_last / d x_first| at n = {n}, d = 64 (float64): RNN {rnn[0]:.2e}, attention {att[0]:.2e}; "
          f"float32 RNN: {gradient_by_distance('rnn', n, 64)[0]:.2e}")
    print()
    print("readable attention vs torch.nn.functional.scaled_dot_product_attention, batch 1, 4 heads of 16")
    with num_threads(1):
        print(kernel_table(attention_kernels(KERNEL_LENGTHS, repeats=args.repeats)))
    print(f"(took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
