"""Run the chapter notebooks under several seeds and thread counts; store every value they glue.

    python benchmarks/sweep.py [chapters/03_*.ipynb ...] [--runs seed0 seed0-1thread ...] [--load]
    make sweep [CHAPTERS="chapters/03_learning_to_align.ipynb ..."]

The notebooks themselves are executed (nbclient, a fresh kernel per run, as the
book build does) — there is no second copy of the experiments. Each run sets

* ``ATTNBOOK_SEED`` (seeds 0–4 with torch's default threads, and seed 0 with
  ``ATTNBOOK_THREADS=1``),
* ``ATTNBOOK_RECORD``, a file every ``attnbook.claims`` value is appended to,
* ``ATTNBOOK_SWEEPING``, so a sentence quoting a quantity the sweep has not
  stored yet reads "(not yet swept)" instead of failing.

The values of every run are stored in ``src/attnbook/sweep.json`` (chapter →
name → run → value, with each run's seed, threads, seconds, torch version, CPU
model, date and commit); chapters not run keep their stored entries. A run that
raises (a failed claim) is recorded as failed, and the script exits non-zero.
It then prints, for every quantity a chapter checks, the bound beside the worst
value over the runs, so a threshold's margin is measured, not guessed.

``--load`` keeps one extra process spinning on a core for the whole sweep (a busy
machine, as CI's neighbours make it).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from attnbook.claims import (RECORD_ENV, SWEEP_FILE, SWEEPING_ENV, SWEEP_SEEDS, load_sweep,  # noqa: E402
                             notebook_code_hash)

#: run id -> (seed, threads); threads None = torch's default (all cores)
RUNS = {**{f"seed{s}": (s, None) for s in SWEEP_SEEDS}, "seed0-1thread": (0, 1)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def execute(path: Path, seed: int, threads: int | None, timeout: int = 900) -> dict:
    """Run one notebook in a fresh kernel; return its recorded values, time and outcome."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "values.jsonl"
        env = {"ATTNBOOK_SEED": str(seed), RECORD_ENV: str(log), SWEEPING_ENV: "1"}
        if threads is not None:
            env["ATTNBOOK_THREADS"] = str(threads)
        saved = {k: os.environ.get(k) for k in [*env, "ATTNBOOK_THREADS"]}
        os.environ.pop("ATTNBOOK_THREADS", None)
        os.environ.update(env)            # the kernel inherits this process's environment
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        error = None
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as exc:
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            error = lines[-1][:500] if lines else "cell failed"
        except Exception as exc:  # a dead kernel or a timeout is a failed run too
            error = f"{type(exc).__name__}: {exc}"[:500]
        seconds = time.perf_counter() - start
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        values, bounds = {}, {}
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                values[row["name"]] = row["value"]
                if "bounds" in row:
                    bounds[row["name"]] = row["bounds"]
    return {"ok": error is None, "error": error, "seconds": round(seconds, 1), "values": values, "bounds": bounds}


def sweep_chapter(path: Path, run_ids: list[str], threads_override: int | None = None) -> dict:
    meta = {"torch": _torch_version(), "cpu": cpu_model(), "cores": os.cpu_count(),
            "date": dt.date.today().isoformat(), "commit": git_commit()}
    chapter = {"code": notebook_code_hash(path), "runs": {}, "values": {}, "bounds": {}}
    for run_id in run_ids:
        seed, threads = RUNS[run_id]
        threads = threads_override or threads
        print(f"  {path.stem} {run_id} ...", end=" ", flush=True)
        result = execute(path, seed, threads)
        status = "ok" if result["ok"] else f"FAILED: {result['error']}"
        print(f"{result['seconds']:.0f} s {status}", flush=True)
        chapter["runs"][run_id] = {"seed": seed, "threads": threads or meta["cores"], "ok": result["ok"],
                                   "error": result["error"], "seconds": result["seconds"], **meta}
        for name, value in result["values"].items():
            chapter["values"].setdefault(name, {})[run_id] = value
        for name, b in result["bounds"].items():
            chapter["bounds"][name] = b
    return chapter


def _torch_version() -> str:
    try:
        import torch
        return torch.__version__
    except ImportError:
        return "unknown"


def margins_table(sweep: dict, chapters: list[str] | None = None) -> str:
    """For every checked quantity: its bound, the worst value over the runs, and the range."""
    lines = [f"{'chapter':34s} {'quantity':30s} {'bound':>12s} {'worst':>9s} {'min–max over runs':>22s}", "-" * 112]
    for name, ch in sweep["chapters"].items():
        if chapters and name not in chapters:
            continue
        for q, b in sorted(ch.get("bounds", {}).items()):
            vals = [v for v in ch["values"].get(q, {}).values() if isinstance(v, (int, float))]
            if not vals:
                continue
            if "at_least" in b:
                bound, worst = f">= {b['at_least']:g}", min(vals)
            else:
                bound, worst = f"<= {b['at_most']:g}", max(vals)
            if "at_least" in b and "at_most" in b:
                bound = f"{b['at_least']:g}..{b['at_most']:g}"
                worst = min(vals) if min(vals) - b["at_least"] < b["at_most"] - max(vals) else max(vals)
            lines.append(f"{name:34s} {q:30s} {bound:>12s} {worst:9.4g} {f'{min(vals):.4g}–{max(vals):.4g}':>22s}")
    return "\n".join(lines)


def times_table(sweep: dict) -> str:
    lines = [f"{'chapter':34s} " + " ".join(f"{r:>14s}" for r in RUNS), "-" * (35 + 15 * len(RUNS))]
    for name, ch in sweep["chapters"].items():
        cells = []
        for r in RUNS:
            run = ch["runs"].get(r)
            cells.append(f"{run['seconds']:>11.0f} s{'' if run['ok'] else '!'}".rjust(14) if run else " " * 14)
        lines.append(f"{name:34s} " + " ".join(cells))
    return "\n".join(lines)


def _spin():  # pragma: no cover - a busy core
    while True:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--out", type=Path, default=SWEEP_FILE)
    parser.add_argument("--load", action="store_true", help="keep one other core busy during the sweep")
    parser.add_argument("--report", action="store_true", help="only print the stored sweep's tables")
    parser.add_argument("--threads", type=int, default=None,
                        help="trying thresholds: run every run with this many threads (use with --out elsewhere)")
    args = parser.parse_args(argv)

    sweep = load_sweep(args.out)
    sweep.setdefault("chapters", {})
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    if not args.report:
        burner = multiprocessing.Process(target=_spin, daemon=True) if args.load else None
        if burner:
            burner.start()
        try:
            for path in paths:
                print(f"{path.name}: {len(args.runs)} runs", flush=True)
                new = sweep_chapter(path, args.runs, args.threads)
                # re-read the file: another sweep (of another chapter) may have written it meanwhile
                sweep = load_sweep(args.out)
                sweep.setdefault("chapters", {})
                old = sweep["chapters"].get(path.stem)
                if old and set(args.runs) != set(RUNS) and old.get("code") == new["code"]:
                    # a partial re-run of an unchanged notebook keeps the other runs
                    for r, run in old["runs"].items():
                        if r not in new["runs"]:
                            new["runs"][r] = run
                            for q, per_run in old["values"].items():
                                if r in per_run:
                                    new["values"].setdefault(q, {})[r] = per_run[r]
                    new["bounds"] = {**old.get("bounds", {}), **new["bounds"]}
                new["runs"] = {r: new["runs"][r] for r in RUNS if r in new["runs"]}
                sweep["chapters"][path.stem] = new
                sweep["chapters"] = dict(sorted(sweep["chapters"].items()))
                sweep["runs"] = {r: {"seed": s, "threads": t or "default"} for r, (s, t) in RUNS.items()}
                args.out.write_text(json.dumps(sweep, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        finally:
            if burner:
                burner.terminate()
    stems = [p.stem for p in paths] if args.notebooks else None
    print("\nExecution time per run (! = a claim failed)")
    print(times_table(sweep))
    print("\nChecked quantities: the bound beside the worst value over the runs")
    print(margins_table(sweep, stems))
    failed = [(name, r) for name, ch in sweep["chapters"].items() if not stems or name in stems
              for r, run in ch["runs"].items() if not run["ok"]]
    for name, r in failed:
        print(f"FAILED: {name} {r}: {sweep['chapters'][name]['runs'][r]['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
