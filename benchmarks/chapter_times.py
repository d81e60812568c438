"""Execution time of each chapter notebook on this machine.

    python benchmarks/chapter_times.py [--repeat N] [chapters/01_*.ipynb ...]

Each notebook is executed from a clean kernel with nbclient, as the book build
does; the table gives the median over the repeats. The budget is 60 s per
chapter (median) unless its issue allows more.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 60.0


def time_notebook(path: Path, timeout: int = 600) -> float:
    """Seconds to execute every cell of `path` in a fresh kernel (start-up excluded)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        return time.perf_counter() - start


def chapter_table(paths: list[Path], repeat: int = 1) -> list[dict]:
    rows = []
    for path in paths:
        times = [time_notebook(path) for _ in range(repeat)]
        rows.append({"chapter": path.name, "median_s": statistics.median(times),
                     "max_s": max(times), "runs": repeat})
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'chapter':40s} {'median s':>9s} {'max s':>8s}  budget",
             "-" * 68]
    for r in rows:
        flag = "ok" if r["median_s"] <= BUDGET_S else "OVER 60 s"
        lines.append(f"{r['chapter']:40s} {r['median_s']:9.1f} {r['max_s']:8.1f}  {flag}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    print("Chapter execution time (this machine)")
    print(format_table(chapter_table(paths, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
