"""The measuring tools of `make bench` on tiny inputs (they report times; nothing here checks one)."""
import sys
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.chapter_times import format_table  # noqa: E402
from benchmarks.profile_training import WARMUP_STEPS, PhaseTimer, _loops, profile  # noqa: E402
from attnbook.train import TrainConfig, run_training  # noqa: E402


def test_the_phase_timer_splits_every_step_into_four_phases():
    model = nn.Linear(3, 1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    timer = PhaseTimer()
    with timer.watching(model):
        run_training(model, TrainConfig(steps=5, progress=False),
                     lambda g: ((model(x) - y) ** 2).mean())
    steps = timer.phases()
    assert len(steps) == 5
    assert all(set(s) == {"data", "forward", "backward", "optimizer"} for s in steps)
    assert all(v >= 0 for s in steps for v in s.values())
    # the hooks are gone afterwards: another step leaves no marks
    marks = len(timer.marks)
    model(x).sum().backward()
    assert len(timer.marks) == marks


def test_every_chapter_with_training_has_a_profile_and_one_runs():
    assert {"chapter1", "chapter2", "chapter3", "chapter4", "chapter5a", "chapter5b", "chapter5c", "chapter6",
            "chapter6b", "chapter7"} <= set(_loops())
    rows = profile("chapter5a", WARMUP_STEPS + 2)
    assert len(rows) == 1 and "order task" in rows[0] and rows[0].count("%") == 4


def test_the_chapter_table_flags_a_chapter_over_budget_and_the_median():
    rows = [{"chapter": "a.ipynb", "median_s": 30.0, "max_s": 31.0, "runs": 1, "top_cells": [(20.0, 3, "train()")]},
            {"chapter": "b.ipynb", "median_s": 95.0, "max_s": 96.0, "runs": 1, "top_cells": []},
            {"chapter": "c.ipynb", "median_s": 70.0, "max_s": 70.0, "runs": 1, "top_cells": []}]
    table = format_table(rows)
    assert "OVER 90 s" in table.splitlines()[4] and "cell   3" in table.splitlines()[3]
    assert "median over the chapters" in table and "OVER 60 s" in table.splitlines()[-2]


def test_the_live_view_bench_finds_the_pages_with_live_views(tmp_path):
    """benchmarks/live_views.py measures the pages whose widget state holds a LiveModelView, only those."""
    from benchmarks.live_views import live_pages

    state = ('<script type="application/vnd.jupyter.widget-state+json">{"state": {"m1": {"state": '
             '{"_anywidget_id": "attnbook.widgets.live.%s"}}}}</script>')
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a.html").write_text(state % "LiveModelView")
    (tmp_path / "chapters" / "b.html").write_text(state % "AttentionMatrixView")
    (tmp_path / "chapters" / "c.html").write_text("<p>no widgets</p>")
    assert [p.name for p in live_pages(tmp_path)] == ["a.html"]
