"""attnbook.viz: the static figures of chapter 1 are drawn from the data they are given."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from pathlib import Path  # noqa: E402
import pytest  # noqa: E402

from attnbook import viz  # noqa: E402
from attnbook.train import score_translations  # noqa: E402

SRC = "red cat sees old dog".split()
REF = "chien vieux voit chat rouge".split()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_rnn_diagram_plain_rnn_has_one_output_per_input():
    fig = viz.rnn_diagram(SRC)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert [w for w in texts if w in SRC] == SRC
    assert sum(t.startswith("$y_") for t in texts) == len(SRC)


def test_rnn_diagram_encoder_decoder_feeds_the_last_state_only():
    fig = viz.rnn_diagram(SRC, REF)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "<bos>" in texts and all(w in texts for w in REF)
    assert sum(t.startswith("$h_") for t in texts) == len(SRC)
    assert sum(t.startswith("$s_") for t in texts) == len(REF)
    assert any("all the decoder sees" in t for t in texts)


@pytest.mark.parametrize("args, match", [(([],), "source is empty"), ((SRC, []), "target is empty"),
                                          ((SRC, "chien vieux"), "not a string")])
def test_rnn_diagram_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        viz.rnn_diagram(*args)


def _result(acc):
    return {"by_bucket": [{"bucket": f"{lo}-{hi}", "lo": lo, "hi": hi, "n": 10, "exact_match": a / 2,
                           "token_accuracy": a} for (lo, hi), a in zip([(4, 10), (11, 20), (21, 30)], acc)]}


def test_accuracy_by_length_plots_each_bucket_at_its_middle():
    fig = viz.accuracy_by_length({"small": _result([0.5, 0.2, 0.1]), "big": _result([0.9, 0.4, 0.2])},
                                 highlight="big")
    ax = fig.axes[0]
    small, big = ax.get_lines()
    np.testing.assert_allclose(big.get_xdata(), [7, 15.5, 25.5])
    np.testing.assert_allclose(big.get_ydata(), [0.9, 0.4, 0.2])
    assert big.get_linewidth() > small.get_linewidth() and small.get_alpha() < 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4–10", "11–20", "21–30"]
    fig = viz.accuracy_by_length(_result([0.5, 0.2, 0.1]), metric="exact_match")
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.25, 0.1, 0.05])


@pytest.mark.parametrize("args, kwargs, match", [
    ((_result([1, 1, 1]),), {"metric": "bleu"}, "metric"),
    (({},), {}, "non-empty"),
    (({"a": {"overall": {}}},), {}, "by_bucket"),
    (({"a": _result([1, 1, 1])},), {"highlight": "b"}, "highlight"),
])
def test_accuracy_by_length_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.accuracy_by_length(*args, **kwargs)


def test_correctness_map_agrees_with_the_token_accuracy():
    preds = [REF, REF[:2] + ["pain"], REF[:3], []]
    refs = [REF, REF[:3], REF, REF[:1]]
    fig = viz.correctness_map(preds, refs, row_labels=["a", "b", "c", "d"])
    grid = fig.axes[0].get_images()[0].get_array()
    assert grid.shape == (4, 5)
    assert list(grid[1]) == [1, 1, 2, 0, 0]  # right, right, wrong, beyond the reference
    assert list(grid[2]) == [1, 1, 1, 3, 3]  # the output stopped two tokens short
    right = int((np.asarray(grid) == 1).sum())
    scored = score_translations(preds, refs, [5, 3, 5, 1], buckets=[(1, 5)])
    assert right == round(scored["overall"]["token_accuracy"] * sum(map(len, refs)))


def test_correctness_map_rejects_bad_input():
    with pytest.raises(ValueError, match="as many predictions"):
        viz.correctness_map([REF], [REF, REF])
    with pytest.raises(ValueError, match="row labels"):
        viz.correctness_map([REF], [REF], row_labels=["a", "b"])


def test_timeline_events_are_in_the_bibliography_and_in_order():
    bib = (Path(__file__).resolve().parents[1] / "book" / "references.bib").read_text()
    for events in (viz.TIMELINE, viz.WHAT_CAME_NEXT):
        assert [e[0] for e in events] == sorted(e[0] for e in events)
        for year, name, what, key in events:
            assert "{" + key + "," in bib, f"{name}: {key} is not in references.bib"
    fig = viz.timeline(sorted(viz.TIMELINE + viz.WHAT_CAME_NEXT))
    assert len(fig.axes[0].texts) == len(viz.TIMELINE) + len(viz.WHAT_CAME_NEXT)
    plt.close(fig)
