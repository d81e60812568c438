"""attnbook.widgets: every view is built here and the data it carries is checked.

(The same views are driven in a real browser by tests/test_book_html.py.)
"""
from __future__ import annotations

import ast
import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from attnbook import widgets  # noqa: E402
from attnbook.widgets import (  # noqa: E402
    AttentionMatrixView,
    ImageAttentionView,
    PrecomputedView,
    TextAttentionView,
    TranslationView,
    base,
)
from attnbook.widgets.live import LiveModelView  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = base.JS_DIR
JS_FILES = sorted(JS_DIR.glob("*.js"))
VIEWS = [AttentionMatrixView, ImageAttentionView, TextAttentionView, PrecomputedView, TranslationView]
JS_NAME = {AttentionMatrixView: "matrix", ImageAttentionView: "image", TextAttentionView: "text",
           PrecomputedView: "precomputed", TranslationView: "translation", LiveModelView: "live"}
#: every view's JavaScript (the live view is tested with real models in test_live.py)
JS_VIEWS = VIEWS + [LiveModelView]
#: files put between common.js and a view's own file
JS_EXTRA = {LiveModelView: ["tokenizers"]}
#: the functions js/common.js gives every view
SHARED_JS = re.findall(r"^function (\w+)\(", (JS_DIR / "common.js").read_text(), re.M)
TOKENS = ["Hello", "I", "love", "you"]
#: a small valid view of each kind, as the constructor's keyword arguments
BUILD = {
    AttentionMatrixView: lambda: dict(weights=np.eye(2), queries=["a", "b"]),
    ImageAttentionView: lambda: dict(image=np.zeros((4, 4)), maps=np.full((2, 2), 0.25)),
    TextAttentionView: lambda: dict(sentences=[["a", "b"]], word_weights=[[0.5, 0.5]]),
    PrecomputedView: lambda: dict(values=[1, 2], captions=["one", "two"]),
    TranslationView: lambda: dict(source=["a"], reference=["b"], outputs=["b"]),
}


def softmax_rows(shape, seed=0):
    x = np.random.default_rng(seed).normal(size=shape)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def as_json(view) -> str:
    return json.dumps(view.get_state())


# --------------------------------------------------------------------------- the package


def test_public_names():
    assert widgets.__all__ == ["AttentionMatrixView", "ImageAttentionView", "TextAttentionView", "PrecomputedView",
                               "TranslationView", "figure_to_data_url", "image_to_data_url", "LiveModelView",
                               "live_translation", "live_document", "live_fill_mask", "live_image"]
    for name in widgets.__all__:
        assert getattr(widgets, name).__module__.startswith("attnbook.widgets.")
    assert (JS_DIR / "common.js").is_file() and (JS_DIR / "common.css").is_file()


@pytest.mark.parametrize("cls", VIEWS, ids=lambda c: c.__name__)
def test_each_view_lives_in_its_module(cls):
    """The book's browser test finds the views by this prefix of their anywidget id."""
    assert cls.__module__ == f"attnbook.widgets.{JS_NAME[cls]}"
    assert cls(**BUILD[cls]())._anywidget_id == f"attnbook.widgets.{JS_NAME[cls]}.{cls.__name__}"


def test_no_private_name_is_imported_across_modules():
    for path in Path(widgets.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


# --------------------------------------------------------------------------- the JavaScript


def test_every_view_has_its_js_file():
    names = {p.name for p in JS_FILES}
    assert {"common.js", "matrix.js", "image.js", "text.js", "precomputed.js", "translation.js"} <= names
    for css in ("common", "matrix", "image", "text", "precomputed", "translation"):
        assert (JS_DIR / f"{css}.css").is_file()


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_js_puts_text_in_the_page_with_textContent_only(path):
    src = path.read_text()
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert bad not in src, f"{path.name} uses {bad}; set text with textContent"
    if path.name == "tokenizers.js":  # pure functions on strings: no page at all
        assert "document" not in src
    else:
        assert "textContent" in src


def test_common_js_has_the_shared_helpers_and_no_import_or_export():
    assert {"h", "fmt", "frame", "picker", "control", "hoverToShow", "anywidgetView"} <= set(SHARED_JS)
    src = (JS_DIR / "common.js").read_text()
    assert "function render({ model, el })" in src   # the anywidget contract, once for every view
    # it is joined to each view's code: an import or export here would break that module
    assert not re.search(r"^\s*(import|export)\b", src, re.M)


@pytest.mark.parametrize("cls", JS_VIEWS, ids=lambda c: c.__name__)
def test_view_js_follows_the_anywidget_contract(cls):
    src = (JS_DIR / f"{JS_NAME[cls]}.js").read_text()
    assert src.rstrip().endswith("export default anywidgetView(build);")
    assert "function build(model, el)" in src
    assert not re.search(r"^\s*import\b", src, re.M), "a blob: module cannot import its neighbours"
    assert len(re.findall(r"^export\b", src, re.M)) == 1


@pytest.mark.parametrize("cls", JS_VIEWS, ids=lambda c: c.__name__)
def test_views_embed_the_shared_js_then_their_own(cls):
    esm = str(cls._esm)
    name = JS_NAME[cls]
    # one ES module: common.js (and any shared file it needs) then the view's file, less comments and indentation
    parts = ["common", *JS_EXTRA.get(cls, []), name]
    assert esm == "\n".join(base.compact(JS_DIR / f"{part}.js") for part in parts)
    css = str(cls._css)
    assert css == base.compact(JS_DIR / "common.css") + "\n" + base.compact(JS_DIR / f"{name}.css")
    assert not any(line.startswith("//") for line in esm.splitlines())


@pytest.mark.parametrize("cls", JS_VIEWS, ids=lambda c: c.__name__)
def test_every_view_carries_each_shared_helper_exactly_once(cls):
    esm = str(cls._esm)
    defined = {name: len(re.findall(rf"\bfunction {name}\(", esm)) for name in SHARED_JS}
    assert defined == dict.fromkeys(SHARED_JS, 1), f"{cls.__name__}: times each shared helper is defined: {defined}"
    assert esm.count("function render(") == 1 and esm.count("export default") == 1
    # the view's own file defines none of them again
    own = (JS_DIR / f"{JS_NAME[cls]}.js").read_text()
    assert not [n for n in SHARED_JS if re.search(rf"\bfunction {n}\(", own)]


@pytest.mark.parametrize("cls", JS_VIEWS, ids=lambda c: c.__name__)
def test_view_module_parses(cls, tmp_path):
    """The module the browser gets (shared helpers + the view) is valid JavaScript: no name
    of a view clashes with a shared one."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot syntax-check the JavaScript")
    copy = tmp_path / f"{JS_NAME[cls]}.mjs"
    copy.write_text(str(cls._esm))
    r = subprocess.run([node, "--check", str(copy)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_no_trait_is_named_keys():
    """A traitlet named `keys` would shadow Widget.keys (the list of synced traits)."""
    for cls in VIEWS + [base.View, base.ExampleView]:
        assert "keys" not in cls.class_own_traits()
    v = AttentionMatrixView(softmax_rows((4, 4)), TOKENS)
    assert {"data", "title", "example", "selection"} <= set(v.keys)


# --------------------------------------------------------------------------- AttentionMatrixView


def test_matrix_view_carries_rounded_rows_that_sum_to_one():
    w = softmax_rows((4, 4))
    v = AttentionMatrixView(w, TOKENS)
    ex = v.data["examples"][0]
    assert ex["queries"] == TOKENS and ex["keys"] == TOKENS  # keys default to the queries
    W = np.array(ex["weights"])
    assert W.shape == (4, 4)
    np.testing.assert_allclose(W.sum(-1), 1.0, atol=4 * 10 ** -3)
    np.testing.assert_allclose(W, np.round(w, 3))
    assert v.data["axes"] == [] and v.selection == []
    # nothing longer than 3 decimals goes into the page
    assert not re.search(r"\d\.\d{4,}", json.dumps(v.data))


def test_matrix_view_cross_attention_lengths_match_the_tokens():
    w = softmax_rows((3, 5))
    v = AttentionMatrixView(w, ["a", "b", "c"], ["v", "w", "x", "y", "z"], decimals=4)
    ex = v.data["examples"][0]
    assert len(ex["weights"]) == len(ex["queries"]) == 3
    assert all(len(row) == len(ex["keys"]) == 5 for row in ex["weights"])
    assert v.data["decimals"] == 4


def test_matrix_view_stacked_layers_and_heads():
    w = softmax_rows((2, 3, 4, 4))
    v = AttentionMatrixView(w, TOKENS, axes={"layer": ["L1", "L2"], "head": 3})
    assert v.data["axes"] == [{"name": "layer", "labels": ["L1", "L2"]},
                              {"name": "head", "labels": ["1", "2", "3"]}]
    assert v.selection == [0, 0]
    W = np.array(v.data["examples"][0]["weights"])
    assert W.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(W.sum(-1), 1.0, atol=4e-3)
    # default names: 3-D is heads, 4-D is layers x heads
    assert [a["name"] for a in AttentionMatrixView(w[0], TOKENS).data["axes"]] == ["head"]
    assert [a["name"] for a in AttentionMatrixView(w, TOKENS).data["axes"]] == ["layer", "head"]


def test_matrix_view_training_steps_as_a_stacked_dimension():
    w = softmax_rows((6, 4, 4))
    v = AttentionMatrixView(w, TOKENS, axes={"training step": [0, 10, 20, 50, 100, 200]})
    assert v.data["axes"][0]["labels"] == ["0", "10", "20", "50", "100", "200"]


def test_matrix_view_accepts_torch_tensors():
    w = torch.softmax(torch.randn(4, 4), dim=-1)
    v = AttentionMatrixView(w, TOKENS)
    np.testing.assert_allclose(v.data["examples"][0]["weights"], np.round(w.numpy(), 3), atol=1e-6)


def test_matrix_view_examples_each_with_their_own_tokens():
    v = AttentionMatrixView.from_examples(
        [
            {"weights": softmax_rows((4, 4)), "queries": TOKENS, "name": "greeting"},
            (softmax_rows((2, 3)), ["je", "t'aime"], ["I", "love", "you"]),
        ],
        title="two examples",
    )
    names = [e["name"] for e in v.data["examples"]]
    assert names == ["greeting", "example 2"]
    second = v.data["examples"][1]
    assert (len(second["queries"]), len(second["keys"])) == (2, 3)
    assert np.array(second["weights"]).shape == (2, 3)
    assert v.title == "two examples" and v.example == 0


def test_matrix_view_fully_masked_rows_are_allowed():
    w = softmax_rows((4, 4))
    w[3] = 0.0  # a padded query attends to nothing
    AttentionMatrixView(w, TOKENS)


def test_matrix_view_raw_scores_with_normalized_false():
    scores = np.random.default_rng(0).normal(size=(4, 4)) * 3
    v = AttentionMatrixView(scores, TOKENS, normalized=False)
    assert v.data["normalized"] is False
    assert v.data["vmax"] == pytest.approx(np.abs(scores).max(), rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(weights=softmax_rows((4, 3)), queries=TOKENS), r"shape \(4, 3\).*4 queries and 4 keys"),
        (dict(weights=softmax_rows((3, 4)), queries=TOKENS), r"\(T, S\) = \(4, 4\)"),
        (dict(weights=softmax_rows((4, 4)), queries=TOKENS, keys=["a", "b"]), r"2 keys"),
        (dict(weights=np.ones((4, 4)), queries=TOKENS), r"rows must sum to 1.*row 0.*4\.0000"),
        (dict(weights=softmax_rows((4, 4)) - 0.3, queries=TOKENS), r"negative"),
        (dict(weights=np.full((4, 4), np.nan), queries=TOKENS), r"NaN"),
        (dict(weights=np.array([0.5, 0.5]), queries=TOKENS), r"at least 2-D"),
        (dict(weights=softmax_rows((2, 3, 4, 4)), queries=TOKENS, axes={"head": 3}), r"axes names 1"),
        (dict(weights=softmax_rows((3, 4, 4)), queries=TOKENS, axes={"head": ["a", "b"]}), r"2 labels.*3"),
        (dict(weights=softmax_rows((2, 2, 2, 4, 4)), queries=TOKENS), r"name them with axes"),
        (dict(weights=softmax_rows((4, 4)), queries="Hello I love you"), r"single string"),
        (dict(weights=softmax_rows((4, 4)), queries=[]), r"empty"),
        (dict(weights=softmax_rows((4, 4)), queries=TOKENS, decimals=0), r"decimals"),
        (dict(weights=[[0.5, "x"], [0.5, 0.5]], queries=["a", "b"]), r"numbers"),
    ],
)
def test_matrix_view_rejects_bad_input_with_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AttentionMatrixView(**kwargs)


def test_matrix_view_rows_error_names_the_stacked_position():
    w = softmax_rows((2, 3, 4, 4))
    w[1, 2, 0] *= 2
    with pytest.raises(ValueError, match=r"layer 1, head 2, row 0"):
        AttentionMatrixView(w, TOKENS)


def test_matrix_examples_must_share_stacked_dimensions():
    with pytest.raises(ValueError, match="differ|unlike"):
        AttentionMatrixView.from_examples([(softmax_rows((2, 4, 4)), TOKENS), (softmax_rows((3, 4, 4)), TOKENS)])
    with pytest.raises(ValueError, match="unknown field"):
        AttentionMatrixView.from_examples([{"weights": softmax_rows((4, 4)), "queries": TOKENS, "tokens": 1}])
    with pytest.raises(ValueError, match="empty"):
        AttentionMatrixView.from_examples([])


# --------------------------------------------------------------------------- ImageAttentionView


def image_and_maps(k=3, grid=4, size=64, rgb=False, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.random((size, size, 3) if rgb else (size, size))
    maps = softmax_rows((k, grid * grid), seed).reshape(k, grid, grid)
    return img, maps


def test_image_view_captioning_grid_over_a_64px_image():
    img, soft = image_and_maps(k=3, grid=4)
    hard = np.zeros_like(soft)
    hard.reshape(3, 16)[np.arange(3), soft.reshape(3, 16).argmax(1)] = 1.0
    v = ImageAttentionView(img, {"soft": soft, "hard": hard}, steps=["a", "red", "circle"], step_label="word")
    ex = v.data["examples"][0]
    assert (ex["height"], ex["width"]) == (64, 64)
    assert ex["steps"] == ["a", "red", "circle"]
    assert [m["name"] for m in ex["maps"]] == ["soft", "hard"]
    for m in ex["maps"]:
        assert m["grid"] == [4, 4]
        W = np.array(m["weights"])
        assert W.shape == (3, 16)  # one flattened map per step
        np.testing.assert_allclose(W.sum(-1), 1.0, atol=16 * 1e-3)
    png = base64.b64decode(ex["image"].split(",", 1)[1])
    assert ex["image"].startswith("data:image/png;base64,") and png[:8] == b"\x89PNG\r\n\x1a\n"


def test_image_view_vit_patch_grid_rgb_single_map():
    img, maps = image_and_maps(k=1, grid=8, size=32, rgb=True)
    v = ImageAttentionView((img * 255).astype(np.uint8), maps[0], title="CLS attention")
    ex = v.data["examples"][0]
    assert ex["steps"] == ["step 1"] and ex["maps"][0]["grid"] == [8, 8]


def test_image_view_several_images_with_a_picker():
    exs = []
    for i in range(3):
        img, maps = image_and_maps(k=2 + i, seed=i)
        exs.append({"image": img, "maps": {"layer 1": maps, "rollout": maps}, "name": f"digit {i}",
                    "steps": [f"w{j}" for j in range(2 + i)], "caption": f"true: {i}"})
    v = ImageAttentionView.from_examples(exs, example_label="digit")
    assert [e["name"] for e in v.data["examples"]] == ["digit 0", "digit 1", "digit 2"]
    assert [len(e["steps"]) for e in v.data["examples"]] == [2, 3, 4]
    assert v.data["examples"][2]["caption"] == "true: 2"


def test_image_view_unnormalised_maps_such_as_rollout_without_cls():
    img, maps = image_and_maps(k=1)
    ImageAttentionView(img, maps * 0.8, normalized=False)
    with pytest.raises(ValueError, match="sum to 1"):
        ImageAttentionView(img, maps * 0.8)


@pytest.mark.parametrize(
    "image, maps, kwargs, match",
    [
        (np.zeros((64, 64)), softmax_rows((2, 25)).reshape(2, 5, 5), {}, r"5x5 grid.*does not divide the 64x64"),
        (np.zeros((64, 64)), softmax_rows((2, 16)).reshape(2, 4, 4), {"steps": ["a"]}, r"1 steps.*maps have 2"),
        (np.zeros((64, 64)), {"a": softmax_rows((2, 16)).reshape(2, 4, 4),
                              "b": softmax_rows((3, 16)).reshape(3, 4, 4)}, {}, r"3 steps.*other maps have 2"),
        (np.zeros((64, 64, 2)), softmax_rows((1, 16)).reshape(1, 4, 4), {}, r"\(H, W\) grayscale"),
        (np.full((8, 8), np.nan), softmax_rows((1, 4)).reshape(1, 2, 2), {}, r"image contains 64 NaN"),
        (np.zeros((8, 8)), np.full((1, 2, 2), np.nan), {}, r"NaN"),
        (np.zeros((8, 8)) - 1, softmax_rows((1, 4)).reshape(1, 2, 2), {}, r"negative"),
        (np.zeros((8, 8)) + 300, softmax_rows((1, 4)).reshape(1, 2, 2), {}, r"0\.\.255"),
        (np.zeros((8, 8)), softmax_rows((4,)), {}, r"\(K, gh, gw\)"),
        (np.zeros((8, 8)), softmax_rows((1, 4)).reshape(1, 2, 2), {"style": "glow"}, r"style"),
        (np.zeros((8, 8)), {}, {}, r"empty"),
    ],
)
def test_image_view_rejects_bad_input_with_a_clear_error(image, maps, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageAttentionView(image, maps, **kwargs)


# --------------------------------------------------------------------------- TextAttentionView


def test_text_view_hierarchical_weights():
    sents = [["the", "plot", "was", "great"], "but the ending dragged".split()]
    ww = [softmax_rows((4,)), softmax_rows((4,), 1)]
    v = TextAttentionView(sents, ww, [0.7, 0.3], label="positive", prediction="positive (0.93)")
    ex = v.data["examples"][0]
    assert ex["sentences"][1] == ["but", "the", "ending", "dragged"]
    assert [len(w) for w in ex["word_weights"]] == [len(s) for s in ex["sentences"]]
    for w in ex["word_weights"]:
        assert sum(w) == pytest.approx(1.0, abs=4e-3)
    assert ex["sentence_weights"] == [0.7, 0.3]
    assert (ex["label"], ex["prediction"]) == ("positive", "positive (0.93)")


def test_text_view_flat_attention_and_several_documents():
    w = softmax_rows((4, 4))
    v = TextAttentionView.from_examples(
        [{"sentences": [TOKENS], "word_weights": [w[t]], "name": f"query {tok}"} for t, tok in enumerate(TOKENS)],
        example_label="query",
    )
    assert len(v.data["examples"]) == 4
    assert all(e["sentence_weights"] is None for e in v.data["examples"])
    assert v.data["example_label"] == "query"


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([["a", "b"]], [[0.5, 0.3, 0.2]]), {}, r"2 tokens but \(3,\) word weights"),
        (([["a", "b"], ["c"]], [[0.5, 0.5]]), {}, r"2 sentences but 1 lists"),
        (([["a", "b"]], [[0.9, 0.3]]), {}, r"sum to 1"),
        (([["a", "b"], ["c"]], [[0.5, 0.5], [1.0]], [0.5, 0.6]), {}, r"sentence weights.*sum to 1"),
        (([["a", "b"], ["c"]], [[0.5, 0.5], [1.0]], [1.0]), {}, r"2 sentences but sentence weights of shape"),
        (([["a", "b"]], [[np.nan, 0.5]]), {}, r"NaN"),
        (("a b", [[0.5, 0.5]]), {}, r"list of sentences"),
        (([[]], [[]]), {}, r"empty"),
    ],
)
def test_text_view_rejects_bad_input_with_a_clear_error(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextAttentionView(*args, **kwargs)


def test_text_view_raw_scores_with_normalized_false():
    TextAttentionView([["a", "b"]], [[2.0, 3.0]], normalized=False)


# --------------------------------------------------------------------------- PrecomputedView


def _bar(t):
    p = np.exp(np.array([1.0, 2.0, 3.0]) / t)
    p /= p.sum()
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(range(3), p)
    return fig, {"largest weight": p.max(), "entropy": float(-(p * np.log(p)).sum()), "hard?": bool(t < 0.2)}


def test_precomputed_view_renders_each_figure_once_and_closes_it():
    before = len(plt.get_fignums())
    v = PrecomputedView.from_function([0.1, 1.0, 10.0], _bar, label="temperature", index=1)
    assert len(plt.get_fignums()) == before  # closed: the notebook shows each only in the view
    d = v.data
    assert d["values"] == ["0.1", "1", "10"] and d["label"] == "temperature" and v.index == 1
    assert len(d["images"]) == 3
    for url in d["images"]:
        assert url.startswith("data:image/png;base64,")
        assert base64.b64decode(url.split(",", 1)[1])[:4] == b"\x89PNG"
    # data keep their order and are rounded
    assert [k for k, _ in d["data"][0]] == ["largest weight", "entropy", "hard?"]
    assert d["data"][2][0] == ["largest weight", "0.367"]
    assert d["data"][0][2] == ["hard?", "True"]


def test_precomputed_view_data_or_captions_alone_and_controls():
    v = PrecomputedView(["dot", "general", "concat"], data=[{"BLEU": 20.1}, {"BLEU": 21.5}, {"BLEU": 21.0}],
                        control="dropdown", label="score")
    assert v.data["images"] == [None, None, None] and v.data["control"] == "dropdown"
    v = PrecomputedView([1, 2], captions=["one", "two"], control="buttons")
    assert v.data["captions"] == ["one", "two"]


def test_figure_to_data_url_without_tight_bbox_keeps_the_figure_size():
    from PIL import Image

    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1])
    url = widgets.figure_to_data_url(fig, dpi=50, close=False, tight=False)
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (200, 100)
    assert plt.fignum_exists(fig.number)   # close=False: still open, to be drawn again
    plt.close(fig)


def test_precomputed_view_svg_and_prerendered_png():
    fig, _ = _bar(1.0)
    svg = widgets.figure_to_data_url(fig, fmt="svg")
    assert svg.startswith("data:image/svg+xml;base64,")
    fig, _ = _bar(1.0)
    png = base64.b64decode(widgets.figure_to_data_url(fig).split(",", 1)[1])
    v = PrecomputedView(["a", "b"], [png, svg])
    assert v.data["images"][1] == svg


def test_precomputed_view_over_a_grid_has_one_control_per_parameter():
    calls = []

    def make(d, n):
        calls.append((d, n))
        return {"cost": d * n}

    v = PrecomputedView.from_grid({"d": [32, 64], "n": [16, 64, 256]}, make, controls={"d": "buttons"},
                                  index={"d": 64, "n": 16})
    assert calls == [(32, 16), (32, 64), (32, 256), (64, 16), (64, 64), (64, 256)]   # row-major, n fastest
    d = v.data
    assert d["axes"] == [{"label": "d", "values": ["32", "64"], "control": "buttons"},
                         {"label": "n", "values": ["16", "64", "256"], "control": "slider"}]
    assert d["values"][v.index] == "d = 64, n = 16" and v.index == 3
    assert d["data"][5] == [["cost", "16384"]]
    assert PrecomputedView.from_grid({"d": [1, 2]}, lambda d: {"x": d}, index=1).index == 1


@pytest.mark.parametrize(
    "grid, kwargs, match",
    [
        ({}, {}, r"non-empty dict"),
        ({"d": []}, {}, r"grid\['d'\] must be a non-empty list"),
        ({"d": [1]}, {"controls": {"n": "slider"}}, r"not in the grid"),
        ({"d": [1]}, {"controls": {"d": "knob"}}, r"control"),
        ({"d": [1], "n": [2]}, {"index": {"d": 1}}, r"every parameter"),
        ({"d": [1], "n": [2]}, {"index": {"d": 1, "n": 3}}, r"not a point"),
    ],
)
def test_precomputed_grid_rejects_bad_input_with_a_clear_error(grid, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PrecomputedView.from_grid(grid, lambda **p: {"x": 1}, **kwargs)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([1, 2, 3], [None, None]), {}, r"2 figures for 3 values"),
        (([1, 2],), {"data": [{"a": 1}]}, r"1 data tables for 2 values"),
        (([1, 2],), {"captions": ["x"]}, r"1 captions for 2 values"),
        (([],), {"captions": []}, r"empty"),
        (([1, 2],), {}, r"give figures, data or captions"),
        (([1, 2],), {"captions": ["a", "b"], "control": "knob"}, r"control"),
        (([1, 2],), {"captions": ["a", "b"], "index": 2}, r"index"),
        (([1, 2], ["not a figure", "x"]), {}, r"figure 0 must be"),
        (([1, 2], [b"GIF89a", b"x"]), {}, r"not a PNG"),
        (([1],), {"data": [{"a": float("nan")}]}, r"nan"),
        (([1],), {"data": [{"a": [1, 2]}]}, r"number or a string"),
    ],
)
def test_precomputed_view_rejects_bad_input_with_a_clear_error(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PrecomputedView(*args, **kwargs)


# --------------------------------------------------------------------------- TranslationView

SRC = "red cat sees old dog".split()
REF = "chien vieux voit chat rouge".split()


def test_translation_view_marks_each_output_token_against_the_reference():
    out = "chien vieux aime chat".split()  # one wrong, one missing
    v = TranslationView(SRC, REF, out, alignment=[4, 3, 2, 1, 0])
    ex = v.data["examples"][0]
    assert ex["source"] == SRC and ex["reference"] == REF and ex["alignment"] == [4, 3, 2, 1, 0]
    (o,) = ex["outputs"]
    assert o["name"] == "model" and o["tokens"] == out
    assert o["status"] == ["right", "right", "wrong", "right"]
    assert (o["right"], o["missing"]) == (3, 1)
    assert v.data["groups"] == [""]


def test_translation_view_status_follows_the_token_accuracy_rule():
    from attnbook.train import score_translations

    outs = {"exact": REF, "long": REF + ["pain"], "empty": [], "shifted": REF[1:]}
    v = TranslationView(SRC, REF, outs)
    got = {o["name"]: o for o in v.data["examples"][0]["outputs"]}
    assert got["long"]["status"][-1] == "extra" and got["long"]["right"] == 5
    assert got["empty"]["tokens"] == [] and got["empty"]["missing"] == 5
    for name, o in got.items():  # the same count of right tokens as the metric of chapter 1
        scored = score_translations([outs[name]], [REF], [len(SRC)], buckets=[(1, 10)])
        assert o["right"] == round(scored["overall"]["token_accuracy"] * len(REF)), name


def test_translation_view_groups_examples_by_bucket():
    exs = [{"source": SRC[:n], "reference": REF[-n:], "outputs": REF[-n:], "group": g, "name": f"#{i}"}
           for i, (n, g) in enumerate([(2, "short"), (3, "short"), (5, "long")])]
    v = TranslationView.from_examples(exs, group_label="source length", example_label="sentence", index=2)
    assert v.data["groups"] == ["short", "long"] and v.example == 2
    assert [e["group"] for e in v.data["examples"]] == ["short", "short", "long"]
    assert (v.data["group_label"], v.data["example_label"]) == ("source length", "sentence")
    unnamed = TranslationView.from_examples([{"source": SRC, "reference": REF, "outputs": REF}])
    assert unnamed.data["examples"][0]["name"] == "example 1"


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("red cat", REF, REF), {}, r"source.*single string"),
        ((SRC, [], REF), {}, r"reference.*empty"),
        ((SRC, REF, "chien vieux"), {}, r"output 'model'.*single string"),
        ((SRC, REF, {}), {}, r"empty dict"),
        ((SRC, REF, REF), {"alignment": [0, 1]}, r"2 entries but the reference has 5"),
        ((SRC, REF, REF), {"alignment": [4, 3, 2, 1, 5]}, r"entry 4 is 5, not a source position 0..4"),
        ((SRC, REF, REF), {"alignment": "43210"}, r"list of source positions"),
    ],
)
def test_translation_view_rejects_bad_input_with_a_clear_error(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TranslationView(*args, **kwargs)


def test_translation_view_from_examples_rejects_bad_examples():
    ok = {"source": SRC, "reference": REF, "outputs": REF}
    with pytest.raises(ValueError, match="empty"):
        TranslationView.from_examples([])
    with pytest.raises(ValueError, match="unknown field"):
        TranslationView.from_examples([dict(ok, target=REF)])
    with pytest.raises(ValueError, match=r"needs \['outputs'\]"):
        TranslationView.from_examples([{"source": SRC, "reference": REF}])
    with pytest.raises(ValueError, match="every example a group, or none"):
        TranslationView.from_examples([dict(ok, group="a"), ok])
    with pytest.raises(ValueError, match="index"):
        TranslationView.from_examples([ok], index=1)


# --------------------------------------------------------------------------- one way in

#: one valid example of each view that has from_examples, as the constructor's keyword arguments
ONE_EXAMPLE = {
    AttentionMatrixView: lambda: dict(weights=softmax_rows((2, 4, 4)), queries=TOKENS, axes={"head": 2}),
    ImageAttentionView: lambda: dict(image=image_and_maps()[0], maps=image_and_maps()[1], steps=["a", "b", "c"]),
    TextAttentionView: lambda: dict(sentences=[TOKENS], word_weights=[softmax_rows((4,))], sentence_weights=[1.0]),
    TranslationView: lambda: dict(source=SRC, reference=REF, outputs=REF[:3], alignment=[4, 3, 2, 1, 0]),
}
#: the fields of each example (the rest of ONE_EXAMPLE are options of the view)
OPTIONS = {"axes"}


def state(view) -> dict:
    """A view's synced state, less the ids of its sub-widgets (its layout)."""
    return {k: v for k, v in view.get_state().items() if k != "layout"}


def split(kwargs):
    example = {k: v for k, v in kwargs.items() if k not in OPTIONS}
    options = {k: v for k, v in kwargs.items() if k in OPTIONS}
    return example, options


@pytest.mark.parametrize("cls", list(ONE_EXAMPLE), ids=lambda c: c.__name__)
def test_from_examples_with_one_example_builds_what_the_constructor_builds(cls):
    kwargs = ONE_EXAMPLE[cls]()
    example, options = split(kwargs)
    name = "example" if cls is AttentionMatrixView else "one"   # the matrix names its example by its title
    if cls is not AttentionMatrixView:
        kwargs["name"] = name
    direct = cls(**kwargs)
    listed = cls.from_examples([dict(example, name=name)], example_label=cls.default_example_label, **options)
    assert listed.data == direct.data
    assert state(listed) == state(direct)   # the same traits the JavaScript reads


@pytest.mark.parametrize("cls", list(ONE_EXAMPLE), ids=lambda c: c.__name__)
def test_every_way_in_calls_the_shared_constructor_once(cls, monkeypatch):
    calls = []
    real = base.ExampleView.__init__

    def spy(self, examples, **kwargs):
        calls.append(len(examples))
        real(self, examples, **kwargs)

    monkeypatch.setattr(base.ExampleView, "__init__", spy)
    kwargs = ONE_EXAMPLE[cls]()
    cls(**kwargs)
    example, options = split(kwargs)
    cls.from_examples([example, example], **options)
    assert calls == [1, 2]


@pytest.mark.parametrize(
    "cls, bad, match",
    [
        (AttentionMatrixView, {"decimals": 0}, r"decimals must be an integer from 1 to 6"),
        (AttentionMatrixView, {"weights": np.ones((2, 4, 4))}, r"rows must sum to 1.*head 0, row 0"),
        (AttentionMatrixView, {"queries": TOKENS[:3]}, r"3 queries and 3 keys"),
        (ImageAttentionView, {"style": "glow"}, r"style must be"),
        (ImageAttentionView, {"size": 8}, r"size \(pixels\) must be an integer from 16 to 2000"),
        (ImageAttentionView, {"steps": ["a"]}, r"1 steps but its maps have 3"),
        (TextAttentionView, {"decimals": 7}, r"decimals"),
        (TextAttentionView, {"word_weights": [[0.5, 0.5, 0.5, 0.5]]}, r"sum to 1"),
        (TranslationView, {"alignment": [0, 1]}, r"2 entries but the reference has 5"),
        (TranslationView, {"output_label": "m", "outputs": "chien"}, r"output 'm'.*single string"),
    ],
)
def test_from_examples_goes_through_the_constructors_checks(cls, bad, match):
    kwargs = {**ONE_EXAMPLE[cls](), **bad}
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)
    example, options = split(kwargs)
    fields = set(cls.required_fields) | set(cls.optional_fields)
    options.update({k: v for k, v in example.items() if k not in fields})
    example = {k: v for k, v in example.items() if k in fields}
    with pytest.raises(ValueError, match=match):
        cls.from_examples([example], **options)


@pytest.mark.parametrize("cls", list(ONE_EXAMPLE), ids=lambda c: c.__name__)
def test_from_examples_rejects_a_bad_list_the_same_way_for_every_view(cls):
    example, options = split(ONE_EXAMPLE[cls]())
    with pytest.raises(ValueError, match="examples is empty"):
        cls.from_examples([], **options)
    with pytest.raises(ValueError, match=r"example 1 has unknown field\(s\) \['colour'\]"):
        cls.from_examples([example, dict(example, colour="red")], **options)
    need = cls.required_fields[-1]
    with pytest.raises(ValueError, match=rf"example 0 needs \['{need}'\]"):
        cls.from_examples([{k: v for k, v in example.items() if k != need}], **options)
    with pytest.raises(ValueError, match=r"example 0 must be a dict"):
        cls.from_examples(["not an example"], **options)
    with pytest.raises(ValueError, match=r"index must be an integer from 0 to 1, got 2"):
        cls.from_examples([example, example], index=2, **options)
    with pytest.raises(ValueError, match=r"names has 1 entries for 2 examples"):
        cls.from_examples([example, example], names=["only one"], **options)
    v = cls.from_examples([example, dict(example, name="second")], index=1, **options)
    assert v.example == 1
    assert [e["name"] for e in v.data["examples"]] == [f"{cls.default_example_label} 1", "second"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"decimals": 0}, r"decimals must be an integer from 1 to 6"),
        ({"control": "knob"}, r"control must be"),
        ({"index": 9}, r"index must be an integer from 0 to \d, got 9"),
        ({"dpi": 80, "fmt": "gif"}, r"fmt must be 'png' or 'svg'"),
    ],
)
def test_from_function_and_from_grid_go_through_the_constructors_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PrecomputedView([1, 2], [_bar(1)[0], _bar(2)[0]], **kwargs)
    with pytest.raises(ValueError, match=match):
        PrecomputedView.from_function([1, 2], _bar, **kwargs)
    with pytest.raises(ValueError, match=match):
        PrecomputedView.from_grid({"t": [1, 2], "u": [3]}, lambda t, u: _bar(t), **kwargs)
    plt.close("all")   # the figures of the views that were refused


def test_from_grid_builds_what_the_constructor_builds(monkeypatch):
    calls = []
    real = PrecomputedView.__init__

    def spy(self, values, *args, **kwargs):
        calls.append(list(values))
        real(self, values, *args, **kwargs)

    make = lambda d, n: {"cost": d * n}  # noqa: E731
    grid = PrecomputedView.from_grid({"d": [1, 2], "n": [3]}, make, index={"d": 2, "n": 3})
    direct = PrecomputedView(["d = 1, n = 3", "d = 2, n = 3"], data=[{"cost": 3}, {"cost": 6}], label="d × n",
                             index=1, axes=[{"label": "d", "values": [1, 2]}, {"label": "n", "values": [3]}])
    assert state(grid) == state(direct)
    monkeypatch.setattr(PrecomputedView, "__init__", spy)
    PrecomputedView.from_grid({"d": [1, 2], "n": [3]}, make)
    PrecomputedView.from_function([5, 6], lambda v: {"v": v})
    assert calls == [["d = 1, n = 3", "d = 2, n = 3"], [5, 6]]


# --------------------------------------------------------------------------- page weight


def test_views_serialise_to_small_json():
    img, maps = image_and_maps(k=5)
    fig_view = PrecomputedView.from_function([0.1, 0.5, 1.0, 2.0, 5.0], _bar)
    built = {
        "matrix": AttentionMatrixView(softmax_rows((2, 4, 8, 8)), [f"t{i}" for i in range(8)]),
        "image": ImageAttentionView(img, {"soft": maps, "hard": maps}),
        "text": TextAttentionView([["a"] * 10] * 5, [softmax_rows((10,))] * 5, [0.2] * 5),
        "precomputed": fig_view,
        "translation": TranslationView.from_examples(
            [{"source": ["cat"] * 40, "reference": ["chat"] * 40, "outputs": ["chien"] * 30,
              "alignment": list(range(40)), "group": str(i // 5)} for i in range(20)]
        ),
    }
    for name, view in built.items():
        size = view.state_size()
        assert size == len(json.dumps(view.get_state(), separators=(",", ":")))
        # code + css (~15 kB) + the data: 8x8 weights for 8 heads, a 64x64 image, 5 figures
        assert size < 80_000, f"{name}: {size} bytes of widget state"


# --------------------------------------------------------------------------- the JS the book serves


def test_npm_packages_are_pinned_exactly():
    pkg = json.loads((ROOT / "book" / "package.json").read_text())
    deps = pkg["dependencies"]
    assert set(deps) == {"@jupyter-widgets/html-manager", "anywidget", "requirejs", "mathjax", "onnxruntime-web"}
    for name, version in deps.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned to one version: {version}"
    assert deps["mathjax"].startswith("3."), "the book uses MathJax 3"
    lock = json.loads((ROOT / "book" / "package-lock.json").read_text())
    for name, version in deps.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, f"lockfile disagrees on {name}"


def test_anywidget_js_matches_the_python_package():
    from importlib.metadata import version

    pkg = json.loads((ROOT / "book" / "package.json").read_text())
    assert pkg["dependencies"]["anywidget"].split(".")[:2] == version("anywidget").split(".")[:2], (
        "book/package.json's anywidget must match the Python anywidget's minor version "
        "(the widget state asks for anywidget ~MAJOR.MINOR.*)"
    )


def test_config_points_the_widget_js_and_mathjax_at_the_vendored_files():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert cfg["html_static_path"] == ["book/vendor"]
    paths = list(cfg["nb_ipywidgets_js"]) + [cfg["mathjax_path"]]
    assert all("://" not in p for p in paths), "no CDN: the book serves its own JavaScript"
    assert list(cfg["nb_ipywidgets_js"]) == [
        "attnbook-js/require.js", "attnbook-js/setup-widgets.js", "attnbook-js/html-manager/embed-amd.js",
    ], "require.js, then our setup, then the manager (which uses both)"
    vendor = ROOT / "book" / "vendor"
    if not (vendor / "attnbook-js").is_dir():
        pytest.skip("book/vendor is not populated yet (make setup runs tools/vendor_js.py)")
    for p in paths:
        assert (vendor / p).is_file(), f"_config.yml names {p}, which tools/vendor_js.py did not produce"
    assert not (ROOT / "_static").exists(), "JB1 injects every .js under _static into every page"
