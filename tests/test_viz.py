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


def _fraction_inputs():
    fractions = [0.1, 0.5, 1.0]
    accuracy = {"ViT": [0.8, 0.9, 0.95], "CNN": [0.85, 0.92, 0.97], "MLP": [0.82, 0.9, 0.96]}
    labels = np.arange(12) % 10
    preds = {"ViT": labels.copy(), "CNN": labels.copy(), "MLP": labels.copy()}
    preds["ViT"][[1, 4, 7]] = 9 - labels[[1, 4, 7]]   # the ViT and the CNN disagree on images 1, 4 and 7
    preds["MLP"][2] = 0
    images = np.random.default_rng(0).random((12, 1, 8, 8))
    return fractions, accuracy, preds, images, labels


def test_fraction_figure_shows_the_curves_and_exactly_the_disagreements():
    fractions, accuracy, preds, images, labels = _fraction_inputs()
    fig = viz.fraction_figure(0.5, fractions, accuracy, preds, images, labels, colors={"CNN": "#e8590c"})
    curves, *thumbs = fig.axes
    lines = curves.get_lines()
    assert [l.get_label() for l in lines[:3]] == ["ViT", "CNN", "MLP"]
    np.testing.assert_allclose(lines[1].get_ydata(), accuracy["CNN"])
    assert lines[1].get_color() == "#e8590c"
    assert list(lines[3].get_xdata()) == [0.5, 0.5]                     # the dotted line marks the fraction
    assert [t.get_text() for t in curves.get_xticklabels()] == ["10%", "50%", "100%"]
    assert [a.get_title() for a in thumbs] == [
        f"true {labels[i]}\nViT {9 - labels[i]} · CNN {labels[i]} · MLP {labels[i]}" for i in (1, 4, 7)]
    np.testing.assert_allclose(thumbs[1].get_images()[0].get_array(), images[4, 0])
    assert len(viz.fraction_figure(0.5, fractions, accuracy, preds, images, labels, max_examples=2).axes) == 3
    assert len(viz.fraction_figure(1.0, fractions, accuracy, preds, images, labels, compare=("CNN", "MLP")).axes) == 2


@pytest.mark.parametrize("change, match", [
    (lambda a: {**a, "fraction": 0.3}, "not one of the fractions"),
    (lambda a: {**a, "accuracy": {"ViT": [0.8, 0.9, 0.95]}}, "same models"),
    (lambda a: {**a, "accuracy": {**a["accuracy"], "MLP": [0.8]}}, "one value per fraction"),
    (lambda a: {**a, "compare": ("ViT", "RNN")}, "compare"),
    (lambda a: {**a, "labels": a["labels"][:5]}, "one entry per test image"),
    (lambda a: {**a, "max_examples": 9}, "max_examples"),
])
def test_fraction_figure_rejects_bad_input(change, match):
    fractions, accuracy, preds, images, labels = _fraction_inputs()
    args = change({"fraction": 0.5, "fractions": fractions, "accuracy": accuracy, "predictions": preds,
                   "images": images, "labels": labels})
    with pytest.raises(ValueError, match=match):
        viz.fraction_figure(**args)


def test_mask_figure_shows_the_mask_and_counts_what_leaks_through():
    import torch

    from attnbook.attention import scaled_dot_product_attention

    T, tokens = 4, ["<bos>", "a", "b", "c"]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    q = k = v = torch.randn(1, T, 8, generator=torch.Generator().manual_seed(0))
    _, w = scaled_dot_product_attention(q, k, v, causal)
    fig, facts = viz.mask_figure(causal, w[0], tokens, tokens, title="causal mask", ylabel="query position")
    assert facts == {"cells that may attend": 10, "cells masked": 6, "largest weight on a masked cell": 0.0}
    left, right = fig.axes[:2]
    np.testing.assert_array_equal(left.get_images()[0].get_array(), causal.numpy().astype(float))
    assert left.get_title() == "causal mask" and left.get_ylabel() == "query position"
    assert [t.get_text() for t in right.get_xticklabels()] == tokens
    # uniform weights ignore the mask: 1/4 lands on every masked cell
    _, facts = viz.mask_figure(causal, torch.full((T, T), 0.25), tokens, tokens)
    assert facts["largest weight on a masked cell"] == 0.25
    # a padding mask (B, S) is shown as it is; the weights of sentence 2 are checked against its row
    pad = torch.tensor([[True, True, True], [True, True, False]])
    weights = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.8, 0.0]])
    fig, facts = viz.mask_figure(pad, weights, ["x", "y"], ["x", "y", "<pad>"], applied=pad[1].expand(2, 3),
                                 row_labels=["sentence 1", "sentence 2"])
    assert facts == {"cells that may attend": 5, "cells masked": 1, "largest weight on a masked cell": 0.0}
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["sentence 1", "sentence 2"]
    with pytest.raises(ValueError, match="applied"):   # a (B, S) mask does not fit (T, S) weights by itself
        viz.mask_figure(pad, torch.zeros(2, 2), ["x", "y"], ["x", "y"])
    with pytest.raises(ValueError, match="boolean"):
        viz.mask_figure(causal.float(), w[0], tokens, tokens)
    with pytest.raises(ValueError, match="4 queries x 3 keys"):
        viz.mask_figure(causal, w[0], tokens, tokens[:3])
    with pytest.raises(ValueError, match="row_labels"):
        viz.mask_figure(pad, weights, ["x", "y"], ["x", "y", "<pad>"], applied=pad, row_labels=["one"])
