"""The ONNX export of the four model kinds (attnbook.export): the contract the page's JavaScript is
written against (names, dtypes, shapes, size), parity with PyTorch on real test inputs, exact zeros
at padding, and clear errors.

Each kind is built with its chapter's config, seeded, trained for a few dozen steps (so that its
attention is not uniform and greedy decoding writes whole dates) and exported once per module.
"""
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Dict, List

import numpy as np
import onnx
import pytest
import torch

from attnbook.data.dates import DATE_FORMATS, DatesConfig, make_dates_data
from attnbook.data.digits import load_digits_data
from attnbook.data.language import make_language_data
from attnbook.data.reviews import ReviewsConfig, make_reviews_data
from attnbook.export import (EXPORT_KINDS, MAX_ONNX_BYTES, ONNX_INPUTS, ONNX_OUTPUTS, OnnxModel, export_onnx, kind_of,
                             onnx_inputs, parity, reference_outputs)
from attnbook.han import HAN, FlatAttentionClassifier, HANConfig, train_classifier
from attnbook.seq2seq import AttentionSeq2Seq, AttentionSeq2SeqConfig, Seq2Seq, Seq2SeqConfig
from attnbook.train import TrainConfig, train_seq2seq
from attnbook.transformer import MaskedLanguageModel, TransformerConfig, train_masked_lm
from attnbook.vit import VisionTransformer, ViTConfig, train_image_classifier

TOL = 1e-5  # what the chapters assert: PyTorch and the ONNX graph agree to this
MAX_TARGET = 12  # greedy steps of the exported translator: 8 target tokens, <eos>, and 3 steps to spare


def _quick(steps: int, batch_size: int, lr: float = 3e-3) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=batch_size, lr=lr, progress=False, seed=0)


@dataclass
class Case:
    """One exported model, the inputs it is tested on and what its export left behind."""

    model: torch.nn.Module
    onnx_bytes: bytes
    inputs: List[Dict[str, np.ndarray]]
    sizes: Dict[str, int]
    info: Dict[str, Any]

    @cached_property
    def onnx(self) -> OnnxModel:
        return OnnxModel(self.onnx_bytes)


def _export(model: torch.nn.Module, **sizes: int):
    """export_onnx, and what it must leave alone: the model's mode, weights and the random state."""
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    onnx_bytes = export_onnx(model, **sizes)
    info = {"training_after": model.training, "rng_unchanged": torch.equal(rng, torch.get_rng_state()),
            "weights_unchanged": all(torch.equal(before[k], v) for k, v in model.state_dict().items())}
    model.eval()
    return onnx_bytes, info


def _translate_case() -> Case:
    dates = make_dates_data(DatesConfig(n_train=2000, n_test=300), seed=0)
    torch.manual_seed(0)
    model = AttentionSeq2Seq.from_config(AttentionSeq2SeqConfig.for_vocabs(
        dates.src_vocab, dates.tgt_vocab, emb_dim=32, hidden_size=32, score="additive"))
    train_seq2seq(model, dates, _quick(40, 32, lr=1e-2))
    first_of_format = {}
    for e in dates.test:
        first_of_format.setdefault(e.format, e)
    assert len(first_of_format) == len(DATE_FORMATS)
    longest = max(dates.test, key=lambda e: len(e.source))
    examples = [longest] + list(first_of_format.values())
    examples += [e for e in dates.test if e not in examples][:24 - len(examples)]
    S = len(longest.source)  # the longest source fills every slot: no padding there
    onnx_bytes, info = _export(model, max_source=S, max_target=MAX_TARGET)
    inputs = [onnx_inputs("translate", dates.src_vocab.encode(e.source), max_source=S) for e in examples]
    return Case(model, onnx_bytes, inputs, {"max_source": S, "max_target": MAX_TARGET}, info)


def _document_case() -> Case:
    reviews = make_reviews_data(ReviewsConfig(n_train=800, n_test=120, seed=0))
    torch.manual_seed(0)
    model = HAN(HANConfig.for_data(reviews, emb_dim=32, word_hidden=32, sentence_hidden=32, attention_dim=32))
    train_classifier(model, reviews, _quick(30, 32))
    N = max(len(r.sentences) for r in reviews.test)
    L = max(len(s) for r in reviews.test for s in r.sentences)
    docs = [[reviews.vocab.encode(list(s)) for s in r.sentences] for r in reviews.test]
    most = max(range(len(docs)), key=lambda i: len(docs[i]))
    chosen = [docs[most]] + [d[:1] for d in docs[:6]] + docs[:16]  # the most sentences; single sentences; others
    onnx_bytes, info = _export(model, max_sentences=N, max_words=L)
    inputs = [onnx_inputs("document", d, max_sentences=N, max_words=L) for d in chosen]
    return Case(model, onnx_bytes, inputs, {"max_sentences": N, "max_words": L}, info)


def _fill_mask_case() -> Case:
    lang = make_language_data(seed=0)
    torch.manual_seed(0)
    model = MaskedLanguageModel(TransformerConfig.for_vocabs(
        lang.vocab, d_model=64, nhead=4, num_layers=2, dim_feedforward=128, positional="learned", max_len=16))
    train_masked_lm(model, lang, _quick(30, 64))
    T = model.config.max_len
    rows = []
    for i, s in enumerate(lang.test[:22]):
        tokens = list(s.tokens)
        tokens[i % len(tokens)] = "[mask]"  # masks at every position in turn
        rows.append(lang.vocab.encode(tokens))
    full = (lang.test[0].tokens + lang.test[1].tokens + lang.test[2].tokens)[:T]  # every slot real, no padding
    assert len(full) == T
    rows += [lang.vocab.encode(["[mask]"] + list(full[1:])), lang.vocab.encode(["[mask]"])]
    onnx_bytes, info = _export(model)  # max_length defaults to config.max_len
    inputs = [onnx_inputs("fill_mask", r, max_length=T) for r in rows]
    return Case(model, onnx_bytes, inputs, {"max_length": T}, info)


def _image_case() -> Case:
    digits = load_digits_data()
    torch.manual_seed(0)
    model = VisionTransformer(ViTConfig(image_size=(8, 8), patch_size=2, in_channels=1, num_classes=10, d_model=32,
                                        depth=2, nhead=4, dim_feedforward=40))
    train_image_classifier(model, digits.train_images, digits.train_labels, _quick(30, 64))
    onnx_bytes, info = _export(model)
    inputs = [onnx_inputs("image", digits.test_images[i]) for i in range(20)]
    return Case(model, onnx_bytes, inputs, {}, info)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


_MAKERS = {"translate": _translate_case, "document": _document_case, "fill_mask": _fill_mask_case,
           "image": _image_case}


@pytest.fixture(scope="module")
def cases():
    """Each kind built, trained and exported once, on first use."""
    made: Dict[str, Case] = {}

    def get(kind: str) -> Case:
        if kind not in made:
            made[kind] = _MAKERS[kind]()
        return made[kind]

    return get


# ---------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------


def _expected_shapes(kind: str, case: Case) -> Dict[str, tuple]:
    cfg, s = getattr(case.model, "config", None), case.sizes
    if kind == "translate":
        S, T = s["max_source"], s["max_target"]
        return {"src": (1, S), "src_length": (1,), "tokens": (1, T), "attention": (1, T, S)}
    if kind == "document":
        N, L = s["max_sentences"], s["max_words"]
        return {"words": (1, N, L), "sentence_lengths": (1, N), "probs": (1, cfg.n_classes),
                "word_attention": (1, N, L), "sentence_attention": (1, N)}
    if kind == "fill_mask":
        T = s["max_length"]
        return {"ids": (1, T), "length": (1,), "probs": (1, T, cfg.vocab_size),
                "attention": (cfg.num_layers, 1, cfg.nhead, T, T)}
    n = 1 + cfg.num_patches
    return {"images": (1, cfg.in_channels, *cfg.image_size), "probs": (1, cfg.num_classes),
            "attention": (cfg.depth, 1, cfg.nhead, n, n), "rollout": (1, n, n)}


@pytest.mark.parametrize("kind", EXPORT_KINDS)
def test_inputs_and_outputs_have_the_contracted_names_dtypes_and_shapes(cases, kind):
    case = cases(kind)
    session = case.onnx.session
    expected = _expected_shapes(kind, case)
    ort_type = {"int32": "tensor(int32)", "float32": "tensor(float)"}
    for got, spec in ((session.get_inputs(), ONNX_INPUTS[kind]), (session.get_outputs(), ONNX_OUTPUTS[kind])):
        assert [x.name for x in got] == [name for name, _ in spec]
        for x, (name, dtype) in zip(got, spec):
            assert x.type == ort_type[dtype], name
            assert tuple(x.shape) == expected[name], name  # fixed: no dynamic axes
    out = case.onnx.run(**case.inputs[0])
    assert list(out) == [name for name, _ in ONNX_OUTPUTS[kind]]
    for name, dtype in ONNX_OUTPUTS[kind]:
        assert out[name].dtype == np.dtype(dtype) and out[name].shape == expected[name], name


@pytest.mark.parametrize("kind", EXPORT_KINDS)
def test_the_file_is_small_self_contained_and_labelled(cases, kind):
    case = cases(kind)
    assert 0 < len(case.onnx_bytes) <= MAX_ONNX_BYTES
    proto = onnx.load_from_string(case.onnx_bytes)
    onnx.checker.check_model(proto)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert not any(n.metadata_props for n in proto.graph.node)  # no stack traces or local paths in the file
    m = case.onnx
    assert m.kind == kind and m.size == len(case.onnx_bytes)
    assert m.input_shapes == {name: _expected_shapes(kind, case)[name] for name, _ in ONNX_INPUTS[kind]}
    assert kind_of(case.model) == kind


@pytest.mark.parametrize("kind", EXPORT_KINDS)
def test_export_leaves_the_model_its_mode_weights_and_the_random_state(cases, kind):
    info = cases(kind).info
    assert info["training_after"] and info["weights_unchanged"] and info["rng_unchanged"]


# ---------------------------------------------------------------------------
# Parity with PyTorch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", EXPORT_KINDS)
def test_parity_with_pytorch_on_real_test_inputs(cases, kind):
    case = cases(kind)
    result = parity(case.model, case.onnx_bytes, case.inputs)
    assert result["n"] == len(case.inputs) >= 20
    assert set(result["max_abs_diff"]) == {name for name, _ in ONNX_OUTPUTS[kind]}
    assert max(result["max_abs_diff"].values()) <= TOL, result
    assert result["tokens_equal"] is (True if kind == "translate" else None)


def test_translations_are_whole_dates_and_the_graph_writes_them(cases):
    """The parity above is about real translations: every reference writes several tokens and
    <eos> before the last step, and the graph's own tokens, cut at its first <eos>, are the same."""
    case = cases("translate")
    eos = case.model.eos_id
    m = case.onnx
    for inputs in case.inputs:
        ref = reference_outputs(case.model, "translate", inputs, max_target=MAX_TARGET)["tokens"][0]
        n = int((ref != -1).sum())
        assert 2 < n < MAX_TARGET and ref[n - 1] == eos and (ref[n:] == -1).all()
        got = m.run(**inputs)["tokens"][0]
        cut = list(got).index(eos) + 1
        assert got[:cut].tolist() == ref[:n].tolist()


def test_document_parity_covers_one_sentence_and_the_most_sentences(cases):
    case = cases("document")
    counts = {int((inp["sentence_lengths"][0] > 0).sum()) for inp in case.inputs}
    assert 1 in counts and case.sizes["max_sentences"] in counts


@pytest.mark.parametrize("style,score,bidirectional", [
    ("luong", "dot", True), ("luong", "concat", False), ("bahdanau", "general", True),
])
def test_translate_parity_for_other_decoders(cases, style, score, bidirectional):
    """The decoder's style and score and a one-directional encoder (untrained models, short graphs)."""
    dates = make_dates_data(DatesConfig(n_train=20, n_test=40), seed=0)
    torch.manual_seed(1)
    model = AttentionSeq2Seq.from_config(AttentionSeq2SeqConfig.for_vocabs(
        dates.src_vocab, dates.tgt_vocab, emb_dim=8, hidden_size=8, score=score, style=style,
        bidirectional=bidirectional))
    S = max(len(e.source) for e in dates.test)
    onnx_bytes = export_onnx(model, max_source=S, max_target=4)
    inputs = [onnx_inputs("translate", dates.src_vocab.encode(e.source), max_source=S) for e in dates.test[:20]]
    result = parity(model, onnx_bytes, inputs)
    assert result["tokens_equal"] and max(result["max_abs_diff"].values()) <= TOL, result


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_document_parity_for_the_other_poolings(pooling):
    """Chapter 4's ablation (HN-AVE, HN-MAX): untrained small models, every test review of a small set."""
    reviews = make_reviews_data(ReviewsConfig(n_train=60, n_test=30, seed=0))
    torch.manual_seed(1)
    model = HAN(HANConfig.for_data(reviews, emb_dim=8, word_hidden=8, sentence_hidden=8, attention_dim=8,
                                   pooling=pooling))
    N = max(len(r.sentences) for r in reviews.test)
    L = max(len(s) for r in reviews.test for s in r.sentences)
    docs = [[reviews.vocab.encode(list(s)) for s in r.sentences] for r in reviews.test[:20]]
    inputs = [onnx_inputs("document", d, max_sentences=N, max_words=L) for d in docs + [docs[0][:1]]]
    result = parity(model, export_onnx(model, max_sentences=N, max_words=L), inputs)
    assert max(result["max_abs_diff"].values()) <= TOL, result


# ---------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------


def test_translate_attention_is_exactly_zero_at_padding(cases):
    case = cases("translate")
    padded = 0
    for inputs in case.inputs:
        n = int(inputs["src_length"][0])
        att = case.onnx.run(**inputs)["attention"][0]  # (T, S)
        assert (att[:, n:] == 0).all()
        assert np.allclose(att.sum(-1), 1, atol=1e-5)
        padded += n < att.shape[1]
    assert padded >= 10


def test_document_attention_is_exactly_zero_at_padding(cases):
    case = cases("document")
    for inputs in case.inputs:
        lengths = inputs["sentence_lengths"][0]  # (N,)
        out = case.onnx.run(**inputs)
        words = np.arange(case.sizes["max_words"])[None, :] < lengths[:, None]  # (N, L)
        assert (out["word_attention"][0][~words] == 0).all()
        assert (out["sentence_attention"][0][lengths == 0] == 0).all()
        assert np.allclose(out["word_attention"][0][lengths > 0].sum(-1), 1, atol=1e-5)
        assert np.isclose(out["sentence_attention"].sum(), 1, atol=1e-5)


def test_fill_mask_attention_is_exactly_zero_at_padding(cases):
    case = cases("fill_mask")
    for inputs in case.inputs:
        n = int(inputs["length"][0])
        att = case.onnx.run(**inputs)["attention"]  # (Lyr, 1, H, T, T)
        assert (att[..., n:] == 0).all()
        assert np.allclose(att.sum(-1), 1, atol=1e-5)


# ---------------------------------------------------------------------------
# Quiet export, errors
# ---------------------------------------------------------------------------


def test_export_prints_and_warns_nothing(capfd):
    torch.manual_seed(0)
    model = VisionTransformer(ViTConfig(image_size=(4, 4), patch_size=2, d_model=8, depth=1, nhead=2,
                                        dim_feedforward=8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        onnx_bytes = export_onnx(model)
    out, err = capfd.readouterr()
    assert out == "" and err == "" and not caught
    assert OnnxModel(onnx_bytes).kind == "image"


def test_unknown_models_are_refused():
    dates = make_dates_data(DatesConfig(n_train=10, n_test=5), seed=0)
    plain = Seq2Seq.from_config(Seq2SeqConfig.for_vocabs(dates.src_vocab, dates.tgt_vocab, emb_dim=4, hidden_size=4))
    flat = FlatAttentionClassifier(HANConfig(vocab_size=10, emb_dim=4, word_hidden=4, sentence_hidden=4,
                                             attention_dim=4))
    for model in (plain, flat, torch.nn.Linear(2, 2)):
        with pytest.raises(ValueError, match="only these models can be exported"):
            kind_of(model)
        with pytest.raises(ValueError, match=type(model).__name__):
            export_onnx(model, max_source=5, max_target=5)


def test_size_parameters_are_checked(cases):
    translator, han = cases("translate").model, cases("document").model
    mlm, vit = cases("fill_mask").model, cases("image").model
    with pytest.raises(ValueError, match="needs max_target"):
        export_onnx(translator, max_source=12)
    with pytest.raises(ValueError, match="needs max_source"):
        export_onnx(translator, max_target=12)
    with pytest.raises(ValueError, match="max_target must be a positive integer"):
        export_onnx(translator, max_source=12, max_target=0)
    with pytest.raises(ValueError, match="needs max_sentences"):
        export_onnx(han, max_words=10)
    with pytest.raises(ValueError, match="max_words must be a positive integer"):
        export_onnx(han, max_sentences=3, max_words=2.5)
    with pytest.raises(ValueError, match=r"max_length=17 is longer than the model's positions \(config.max_len=16\)"):
        export_onnx(mlm, max_length=17)
    with pytest.raises(ValueError, match="max_source does not apply to an image model"):
        export_onnx(vit, max_source=4)
    with pytest.raises(ValueError, match="max_words does not apply to a fill_mask model"):
        export_onnx(mlm, max_words=4)


def test_onnx_model_run_names_the_bad_input(cases):
    case = cases("translate")
    m = case.onnx
    good = case.inputs[0]
    with pytest.raises(ValueError, match=r"must have dtype int32, got int64"):
        m.run(src=good["src"].astype(np.int64), src_length=good["src_length"])
    with pytest.raises(ValueError, match=r"input 'src' must have shape \(1, \d+\), got \(1, 3\)"):
        m.run(src=good["src"][:, :3], src_length=good["src_length"])
    with pytest.raises(ValueError, match=r"missing \['src_length'\]"):
        m.run(src=good["src"])
    with pytest.raises(ValueError, match=r"unknown \['lengths'\]"):
        m.run(src=good["src"], src_length=good["src_length"], lengths=good["src_length"])
    with pytest.raises(ValueError, match=r"'src_length' must lie in 1\.\.\d+"):
        m.run(src=good["src"], src_length=np.array([0], dtype=np.int32))
    with pytest.raises(ValueError, match=r"'src' holds ids from .* outside the vocabulary"):
        m.run(src=good["src"] + 1000, src_length=good["src_length"])
    with pytest.raises(TypeError, match="must be a NumPy array"):
        m.run(src=good["src"].tolist(), src_length=good["src_length"])
    doc = cases("document")
    bad = {k: v.copy() for k, v in doc.inputs[0].items()}
    bad["sentence_lengths"][0, :2] = [0, 3]  # a padding sentence before a real one
    with pytest.raises(ValueError, match="must start with the real sentences"):
        doc.onnx.run(**bad)
    with pytest.raises(ValueError, match=r"'images' must have dtype float32, got float64"):
        cases("image").onnx.run(images=np.zeros((1, 1, 8, 8)))


def test_onnx_model_refuses_what_is_not_a_model():
    with pytest.raises(ValueError, match="is not a model ONNX Runtime can load"):
        OnnxModel(b"not an onnx file")
    with pytest.raises(TypeError, match="onnx_bytes must be bytes"):
        OnnxModel("model.onnx")


def test_helpers_refuse_bad_arguments(cases):
    case = cases("translate")
    S = case.sizes["max_source"]
    with pytest.raises(ValueError, match=f"more than max_source={S}"):
        onnx_inputs("translate", [4] * (S + 1), max_source=S)
    with pytest.raises(ValueError, match="needs max_source"):
        onnx_inputs("translate", [4, 5])
    with pytest.raises(ValueError, match="kind must be one of"):
        onnx_inputs("summarise", [4, 5])
    with pytest.raises(ValueError, match="1 to max_sentences=2 sentences, got 3"):
        onnx_inputs("document", [[4], [5], [6]], max_sentences=2, max_words=3)
    with pytest.raises(ValueError, match="not fill_mask"):
        reference_outputs(case.model, "fill_mask", case.inputs[0])
    with pytest.raises(ValueError, match="needs max_target"):
        reference_outputs(case.model, "translate", case.inputs[0])
    with pytest.raises(ValueError, match="inputs_list is empty"):
        parity(case.model, case.onnx_bytes, [])
    with pytest.raises(ValueError, match="of kind 'image' but model is a translate model"):
        parity(case.model, cases("image").onnx_bytes, case.inputs[:1])


def test_onnx_inputs_pads_with_zeros():
    out = onnx_inputs("document", [[5, 6, 7], [8]], max_sentences=3, max_words=4)
    assert out["words"].dtype == np.int32 and out["words"].shape == (1, 3, 4)
    assert out["words"][0].tolist() == [[5, 6, 7, 0], [8, 0, 0, 0], [0, 0, 0, 0]]
    assert out["sentence_lengths"].tolist() == [[3, 1, 0]]
    out = onnx_inputs("fill_mask", [5, 6], max_length=4)
    assert out["ids"].tolist() == [[5, 6, 0, 0]] and out["length"].tolist() == [2]
    assert out["length"].dtype == np.int32
    image = onnx_inputs("image", torch.ones(1, 8, 8, dtype=torch.float64))["images"]
    assert image.dtype == np.float32 and image.shape == (1, 1, 8, 8)
