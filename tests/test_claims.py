"""attnbook.claims: what a chapter states is glued, checked, recorded and summarised over the sweep."""
import json
import sys

import pytest
import torch

from attnbook import claims
from attnbook.claims import Chapter, ClaimError


@pytest.fixture
def glued(monkeypatch):
    import myst_nb

    calls = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: calls.__setitem__(name, value))
    return calls


def test_measured_glues_the_formatted_value_and_returns_it(glued):
    ch = Chapter("03_x")
    assert ch.measured("bleu", 74.26, ".0f") == 74.26
    assert glued == {"bleu": "74"}
    assert ch.measured("label", "d = 64") == "d = 64"
    assert glued["label"] == "d = 64"
    assert ch.measured("pct", 0.5, lambda v: f"{100 * v:.0f} %") == 0.5 and glued["pct"] == "50 %"


def test_check_glues_value_and_bound_and_raises_with_both_numbers(glued):
    ch = Chapter("03_x")
    ch.check("acc", torch.tensor(0.812), at_least=0.6)
    assert glued["acc"] == "0.81" and glued["acc_bound"] == "0.60"
    ch.check("ratio", 0.3, at_most=0.5, fmt=".1f")
    assert glued["ratio_bound"] == "0.5"
    ch.check("both", 0.3, at_least=0.1, at_most=0.9)
    assert glued["both_bound"] == "0.10" and glued["both_upper"] == "0.90"
    with pytest.raises(ClaimError, match=r"03_x: acc = 0\.55.*at least 0\.6"):
        ch.check("acc", 0.55, at_least=0.6)
    with pytest.raises(AssertionError, match="at most 0.5"):   # nbval reports it like an assert
        ch.check("ratio", 0.51, at_most=0.5)
    with pytest.raises(ClaimError, match="NaN"):
        ch.check("acc", float("nan"), at_least=0.6)


def test_check_rejects_bad_arguments():
    ch = Chapter("03_x")
    with pytest.raises(ValueError, match="at_least, at_most"):
        ch.check("acc", 0.5)
    with pytest.raises(ValueError, match="above at_most"):
        ch.check("acc", 0.5, at_least=0.9, at_most=0.1)
    with pytest.raises(TypeError, match="expected a number"):
        ch.check("acc", "high", at_least=0.1)
    with pytest.raises(ValueError, match="notebook's name"):
        Chapter("")


def test_values_are_recorded_for_the_sweep(tmp_path, monkeypatch):
    log = tmp_path / "run.jsonl"
    monkeypatch.setenv(claims.RECORD_ENV, str(log))
    ch = Chapter("03_x")
    ch.measured("n", 12)
    ch.check("acc", 0.75, at_least=0.6)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert rows == [
        {"chapter": "03_x", "name": "n", "value": 12, "text": "12.00"},
        {"chapter": "03_x", "name": "acc", "value": 0.75, "text": "0.75", "bounds": {"at_least": 0.6}},
    ]


SWEEP = {"chapters": {"03_x": {"values": {"acc": {"seed0": 0.71, "seed1": 0.82, "seed2": 0.8, "seed3": 0.75,
                                                  "seed4": 0.77, "seed0-1thread": 0.5}}}}}


def test_over_seeds_is_the_range_over_the_seed_runs(glued):
    ch = Chapter("03_x", sweep=SWEEP)
    assert ch.over_seeds("acc") == "0.71–0.82"              # the one-thread run is not a seed run
    assert glued["acc_seeds"] == "0.71–0.82"
    assert ch.over_seeds("acc", ".0f", scale=100) == "71–82"
    assert ch.over_seeds("acc", ".0f") == "1"               # equal ends collapse to one number


def test_over_seeds_names_what_is_missing(monkeypatch, glued):
    monkeypatch.delenv(claims.SWEEPING_ENV, raising=False)
    ch = Chapter("03_x", sweep=SWEEP)
    with pytest.raises(KeyError, match="make sweep"):
        ch.over_seeds("bleu")
    monkeypatch.setenv(claims.SWEEPING_ENV, "1")            # during the sweep itself
    assert ch.over_seeds("bleu") == "(not yet swept)"


def test_glue_does_nothing_without_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)       # as in Colab: not installed
    assert Chapter("03_x").measured("acc", 0.5) == 0.5


def test_percent_is_how_the_text_writes_a_fraction(glued):
    assert claims.percent(0.953) == "95 %"
    Chapter("03_x").check("acc", 0.97, at_least=0.95, fmt=claims.percent)
    assert glued["acc"] == "97 %" and glued["acc_bound"] == "95 %"


def test_the_code_hash_ignores_markdown_and_outputs(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": ["text"]}, {"cell_type": "code", "source": ["x = 1\n"]}]}
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps(nb))
    h = claims.notebook_code_hash(path)
    nb["cells"][0]["source"] = ["other text"]
    nb["cells"][1]["outputs"] = [{"text": "1"}]
    path.write_text(json.dumps(nb))
    assert claims.notebook_code_hash(path) == h
    nb["cells"][1]["source"] = "x = 2\n"
    path.write_text(json.dumps(nb))
    assert claims.notebook_code_hash(path) != h


def test_points_and_powers_of_ten_as_the_text_writes_them():
    assert claims.points(0.153) == "15 percentage points"
    assert claims.points(0.01) == "1 percentage point" and claims.points(-0.012) == "-1 percentage point"
    assert claims.power_of_ten(3e-16) == "10⁻¹⁶" and claims.power_of_ten(2.9e2) == "10²"
    for bad in (0.0, -1e-3, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="positive finite"):
            claims.power_of_ten(bad)
