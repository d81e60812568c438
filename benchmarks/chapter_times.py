"""Execution time of each chapter notebook on this machine.

    python benchmarks/chapter_times.py [--repeat N] [chapters/01_*.ipynb ...]

Each notebook is executed from a clean kernel with nbclient, as the book build
does; the table gives the median over the repeats and, per chapter, the three
cells that took longest (in the first run). The budget: at most 90 s per
chapter, and a median over the chapters of at most 60 s. Run nothing else
meanwhile: two notebooks on two cores slow each other down. For where a
training loop's time goes, see ``python -m benchmarks.profile_training``.
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
BUDGET_S = 90.0  # each chapter
MEDIAN_BUDGET_S = 60.0  # the median over the chapters
TOP_CELLS = 3


def time_notebook(path: Path, timeout: int = 600) -> tuple[float, list[tuple[float, int, str]]]:
    """Seconds to execute every cell of `path` in a fresh kernel (start-up excluded), and
    ``(seconds, index, first line)`` of each code cell."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    cells = []
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            t0 = time.perf_counter()
            client.execute_cell(cell, index)
            if cell.cell_type == "code":
                first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
                cells.append((time.perf_counter() - t0, index, first))
        return time.perf_counter() - start, cells


def chapter_table(paths: list[Path], repeat: int = 1) -> list[dict]:
    rows = []
    for path in paths:
        runs = [time_notebook(path) for _ in range(repeat)]
        times = [t for t, _ in runs]
        top = sorted(runs[0][1], reverse=True)[:TOP_CELLS]
        rows.append({"chapter": path.name, "median_s": statistics.median(times),
                     "max_s": max(times), "runs": repeat, "top_cells": top})
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'chapter':40s} {'median s':>9s} {'max s':>8s}  budget", "-" * 68]
    for r in rows:
        flag = "ok" if r["max_s"] <= BUDGET_S else f"OVER {BUDGET_S:.0f} s"
        lines.append(f"{r['chapter']:40s} {r['median_s']:9.1f} {r['max_s']:8.1f}  {flag}")
        for seconds, index, first in r.get("top_cells", []):
            lines.append(f"    cell {index:3d} {seconds:6.1f} s  {first[:60]}")
    if len(rows) > 1:
        median = statistics.median(r["median_s"] for r in rows)
        flag = "ok" if median <= MEDIAN_BUDGET_S else f"OVER {MEDIAN_BUDGET_S:.0f} s"
        lines.append("-" * 68)
        lines.append(f"{'median over the chapters':40s} {median:9.1f} {'':8s}  {flag}")
        lines.append(f"{'sum':40s} {sum(r['median_s'] for r in rows):9.1f}")
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
