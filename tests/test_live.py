"""The live views (attnbook.widgets.live) on the Python side: what they carry into the
page, how they encode what the reader types (the twin of js/live.js), the messages for
input the model cannot take, and the kernel's answers in Jupyter/Colab.

The page itself (onnxruntime-web, typing into the built book) is tested in
test_live_browser.py; the export and its parity with PyTorch in test_export.py."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import torch

from attnbook.data.dates import DatesConfig, make_dates_data
from attnbook.data.digits import load_digits_data
from attnbook.data.language import make_language_data
from attnbook.data.reviews import LABELS, make_reviews_data
from attnbook.export import OnnxModel
from attnbook.han import HAN, HANConfig
from attnbook.seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig
from attnbook.transformer import MaskedLanguageModel, TransformerConfig
from attnbook.vit import VisionTransformer, ViTConfig
from attnbook.widgets import LiveModelView, live_document, live_fill_mask, live_image, live_translation
from attnbook.widgets.live import PARITY_ATOL, LiveInputError

DATES = ["Tuesday, March 3rd 1998", "25.12.1999", "Sat 5 Marchh 2011"]
REVIEWS = ["I love this phone. The delivery was awful.", "This phone is fantastic. I use it every day."]
MASKED = ["on saturday max gave his cat some [MASK]", "on [MASK] leo gave his [MASK] some carrots"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def dates():
    return make_dates_data(DatesConfig(n_train=10, n_test=5), seed=0)


@pytest.fixture(scope="module")
def date_view(dates):
    torch.manual_seed(0)
    model = AttentionSeq2Seq.from_config(AttentionSeq2SeqConfig.for_vocabs(
        dates.src_vocab, dates.tgt_vocab, emb_dim=16, hidden_size=16, score="additive"))
    return live_translation(model, dates.src_vocab, dates.tgt_vocab, DATES, max_source=24, max_target=12), model


@pytest.fixture(scope="module")
def reviews():
    return make_reviews_data()


@pytest.fixture(scope="module")
def review_view(reviews):
    torch.manual_seed(0)
    model = HAN(HANConfig.for_data(reviews, emb_dim=16, word_hidden=16, sentence_hidden=16, attention_dim=16))
    return live_document(model, reviews.vocab, LABELS, REVIEWS, max_sentences=4, max_words=12), model


@pytest.fixture(scope="module")
def lang():
    return make_language_data(seed=0)


@pytest.fixture(scope="module")
def mask_view(lang):
    torch.manual_seed(0)
    model = MaskedLanguageModel(TransformerConfig.for_vocabs(lang.vocab, d_model=16, nhead=2, num_layers=2,
                                                             dim_feedforward=32, positional="learned", max_len=12))
    return live_fill_mask(model, lang.vocab, MASKED, top_k=3), model


@pytest.fixture(scope="module")
def digit_view():
    digits = load_digits_data()
    torch.manual_seed(0)
    model = VisionTransformer(ViTConfig(image_size=(8, 8), patch_size=2, in_channels=1, num_classes=10,
                                        d_model=16, depth=2, nhead=2, dim_feedforward=20))
    return live_image(model, digits.test_images[:3], names=["a", "b", "c"]), model, digits


def test_a_view_carries_the_model_the_vocabulary_and_pytorchs_answers(date_view, dates):
    view, model = date_view
    assert isinstance(view, LiveModelView)
    data = view.data
    onnx = base64.b64decode(view.onnx)
    assert len(onnx) == view.size == data["model_bytes"] and view.size <= 1_000_000
    assert OnnxModel(onnx).kind == "translate"
    assert data["vocab"] == [dates.src_vocab.id_to_token(i) for i in range(len(dates.src_vocab))]
    assert data["max_source"] == 24 and data["max_target"] == 12 and data["tokenizer"] == "date"
    assert [e["text"] for e in data["examples"]] == DATES
    ref = data["examples"][0]["reference"]
    assert ref["tokens"]["dims"] == [1, 12] and ref["attention"]["dims"] == [1, 12, 24]
    assert view.parity["n"] == len(DATES) and view.parity["tokens_equal"]
    assert max(view.parity["max_abs_diff"].values()) <= PARITY_ATOL
    json.dumps(view.get_state()["data"])  # the state is plain JSON


def test_the_kernel_answers_what_pytorch_answered(date_view, review_view, mask_view, digit_view):
    """In Jupyter/Colab the page asks the kernel; its answer is the example's reference."""
    for view in (date_view[0], review_view[0], mask_view[0], digit_view[0]):
        ex = view.data["examples"][-1]
        value = np.array(ex["image"]) if "image" in ex else ex["text"]
        sent = []
        view.send = sent.append  # what the kernel would send to the page
        inputs = {name: {"type": "float32" if a.dtype == np.float32 else "int32", "dims": list(a.shape),
                         "data": a.ravel().tolist()} for name, a in view.encode(value)["inputs"].items()}
        view._on_message(view, {"type": "run", "id": 7, "inputs": inputs}, [])
        (reply,) = sent
        assert reply["type"] == "result" and reply["id"] == 7
        for name, ref in ex["reference"].items():
            got = np.array(reply["outputs"][name]["data"]).reshape(reply["outputs"][name]["dims"])
            want = np.array(ref["data"], dtype=np.float64).reshape(ref["dims"])
            if name == "tokens":  # after <eos> the graph's steps are unspecified (-1 in the reference)
                got, want = got[want >= 0], want[want >= 0]
            assert np.allclose(got, want, atol=PARITY_ATOL), name
        sent.clear()
        view._on_message(view, {"type": "run", "id": 8, "inputs": {"nonsense": {"type": "int32", "dims": [1],
                                                                                "data": [0]}}}, [])
        assert sent[0]["type"] == "error" and sent[0]["id"] == 8 and sent[0]["message"]
        view._on_message(view, {"type": "something else"}, [])  # not for the model: ignored
        assert len(sent) == 1


def test_text_is_encoded_as_the_page_encodes_it(date_view, review_view, mask_view, dates, reviews, lang):
    enc = date_view[0].encode("Tuesday, March 3rd 1998")
    tokens = ["tuesday", ",", "march", "3", "rd", "1", "9", "9", "8"]
    assert enc["tokens"] == tokens and enc["unknown"] == []
    src = enc["inputs"]["src"]
    assert src.dtype == np.int32 and src.shape == (1, 24)
    assert src[0, :9].tolist() == dates.src_vocab.encode(tokens) and (src[0, 9:] == dates.src_vocab.pad_id).all()
    assert enc["inputs"]["src_length"].tolist() == [9]
    assert date_view[0].encode("Sat 5 Marchh 2011")["unknown"] == ["marchh"]

    enc = review_view[0].encode("I love this phone. The box is bad!")
    assert enc["tokens"] == [["i", "love", "this", "phone", "."], ["the", "box", "is", "bad", "!"]]
    assert enc["inputs"]["words"].shape == (1, 4, 12) and enc["inputs"]["sentence_lengths"].tolist() == [[5, 5, 0, 0]]
    assert enc["unknown"] == ["!"]

    enc = mask_view[0].encode("On Monday [MASK] gave her dog some bones")
    assert enc["tokens"][2] == "[mask]" and enc["inputs"]["ids"][0, 2] == lang.vocab.encode(["[mask]"])[0]
    assert enc["inputs"]["length"].tolist() == [8]


@pytest.mark.parametrize("text, message", [
    ("", "type a date first"), ("   ", "type a date first"),
    ("1 " * 30, "that is 30 tokens; the model reads at most 24"),
])
def test_dates_the_model_cannot_take(date_view, text, message):
    with pytest.raises(LiveInputError, match=message):
        date_view[0].encode(text)


@pytest.mark.parametrize("text, message", [
    ("", "type a review first"),
    ("a. b. c. d. e.", "that is 5 sentences; the model reads at most 4"),
    ("ok. " + "very " * 20 + "good.", "sentence 2 has 22 words; the model reads at most 12"),
])
def test_reviews_the_model_cannot_take(review_view, text, message):
    with pytest.raises(LiveInputError, match=message):
        review_view[0].encode(text)


@pytest.mark.parametrize("text, message", [
    ("", "type a sentence first"),
    ("on monday sara gave her dog some bones", r"put \[MASK\] where"),
    ("on monday zorblax gave her [MASK] some <img>", "does not know “zorblax”, “<”, “img”, “>”"),
    ("on " * 13 + "[MASK]", "that is 14 tokens; the model reads at most 12"),
])
def test_sentences_the_model_cannot_take(mask_view, text, message):
    with pytest.raises(LiveInputError, match=message):
        mask_view[0].encode(text)


def test_digits_the_model_cannot_take(digit_view):
    view = digit_view[0]
    with pytest.raises(LiveInputError, match="the pad is empty"):
        view.encode(np.zeros((8, 8)))
    with pytest.raises(LiveInputError, match="8 × 8 pixels"):
        view.encode(np.ones((4, 4)))
    with pytest.raises(LiveInputError, match="between 0 and 1"):
        view.encode(np.full((8, 8), 2.0))
    with pytest.raises(LiveInputError, match="between 0 and 1"):
        view.encode(np.full((8, 8), np.nan))


def test_answers_have_the_graphs_shapes(review_view, mask_view, digit_view):
    out = review_view[0].answer(REVIEWS[0])
    assert out["probs"].shape == (1, 2) and np.isclose(out["probs"].sum(), 1, atol=1e-5)
    assert out["word_attention"].shape == (1, 4, 12) and np.isclose(out["sentence_attention"].sum(), 1, atol=1e-5)
    out = mask_view[0].answer(MASKED[1])
    assert out["probs"].shape[:2] == (1, 12) and out["attention"].shape == (2, 1, 2, 12, 12)
    view, model, digits = digit_view
    out = view.answer(digits.test_images[0, 0].numpy())
    assert out["probs"].shape == (1, 10) and out["rollout"].shape == (1, 17, 17)
    with torch.no_grad():
        assert np.allclose(out["probs"], model(digits.test_images[:1]).logits.softmax(-1).numpy(), atol=1e-5)


def test_bad_arguments_get_clear_errors(dates, reviews, lang, date_view, review_view, mask_view, digit_view):
    model = date_view[1]
    with pytest.raises(ValueError, match="examples is empty"):
        live_translation(model, dates.src_vocab, dates.tgt_vocab, [])
    with pytest.raises(ValueError, match="examples must be a list of texts"):
        live_translation(model, dates.src_vocab, dates.tgt_vocab, "3/3/98")
    with pytest.raises(ValueError, match=r"example 1 \(   \): type a date first"):
        live_translation(model, dates.src_vocab, dates.tgt_vocab, ["3/3/98", "   "])
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        live_translation(model, dates.src_vocab, dates.tgt_vocab, ["3/3/98"], tokenizer="words")
    with pytest.raises(ValueError, match="src_vocab must be an attnbook.data.Vocab"):
        live_translation(model, {}, dates.tgt_vocab, ["3/3/98"])
    with pytest.raises(ValueError, match="names has 2 entries for 1 examples"):
        live_translation(model, dates.src_vocab, dates.tgt_vocab, ["3/3/98"], names=["a", "b"])
    with pytest.raises(ValueError, match="max_source must be an integer"):
        live_translation(model, dates.src_vocab, dates.tgt_vocab, ["3/3/98"], max_source=0)
    with pytest.raises(ValueError, match="only these models can be exported"):
        live_translation(torch.nn.Linear(2, 2), dates.src_vocab, dates.tgt_vocab, ["3/3/98"])
    with pytest.raises(ValueError, match="labels has 3 names for a model with 2 classes"):
        live_document(review_view[1], reviews.vocab, ["a", "b", "c"], REVIEWS)
    with pytest.raises(ValueError, match="top_k must be an integer"):
        live_fill_mask(mask_view[1], lang.vocab, MASKED, top_k=0)
    with pytest.raises(ValueError, match=r"images must be \(n, 1, 8, 8\)"):
        live_image(digit_view[1], np.zeros((2, 7, 7)))
