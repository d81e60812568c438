"""attnbook.seq2seq.AttentionDecoder / AttentionSeq2Seq and attnbook.align:
shapes, weights that are distributions over the real source tokens, the cached
key projection against the attention modules themselves, bad input, alignment
scoring by hand, BLEU, and a short training run that learns to align."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import attnbook
from attnbook.align import (
    alignment_accuracy,
    alignment_hits,
    attention_on_references,
    decode_with_attention,
    true_positions,
)
from attnbook.data import Example, ReorderConfig, make_batch, make_reorder_data
from attnbook.seq2seq import (
    ATTENTION_SCORES,
    DECODER_STYLES,
    AttentionDecoder,
    AttentionSeq2Seq,
    AttentionSeq2SeqConfig,
    BaseDecoder,
    Seq2Seq,
    Seq2SeqConfig,
)
from attnbook.train import TrainConfig, bleu_by_bucket, corpus_bleu, evaluate, train_seq2seq, translate_examples

TINY = ReorderConfig(n_words=6, min_len=3, max_len=8, n_train=800, n_test_per_bucket=20, buckets=((3, 5), (6, 8)))
VARIANTS = list(itertools.product(ATTENTION_SCORES, DECODER_STYLES))


@pytest.fixture(scope="module")
def data():
    return make_reorder_data(TINY, seed=0)


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread (and far faster than on two busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_model(data, **kw):
    torch.manual_seed(0)
    kw.setdefault("hidden_size", 8)
    kw.setdefault("emb_dim", 8)
    return AttentionSeq2Seq.from_config(AttentionSeq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, **kw))


@pytest.mark.parametrize("score,style", VARIANTS)
def test_shapes_and_weights_are_distributions_over_real_tokens(data, score, style):
    model = make_model(data, score=score, style=style)
    b = make_batch(data.test[:7], data.src_vocab, data.tgt_vocab)
    B, S = b.src.shape
    T = b.tgt_in.shape[1]
    logits, weights = model(b.src, b.src_lengths, b.tgt_in)
    assert logits.shape == (B, T, len(data.tgt_vocab))
    assert weights.shape == (B, T, S)
    assert torch.allclose(weights.sum(-1), torch.ones(B, T), atol=1e-5)
    assert (weights >= 0).all()
    pad = ~model.encoder(b.src, b.src_lengths).mask  # (B, S)
    assert torch.all(weights.masked_select(pad[:, None, :].expand(B, T, S)) == 0)  # padding gets nothing


@pytest.mark.parametrize("score,style", VARIANTS)
def test_forward_equals_the_step_loop(data, score, style):
    model = make_model(data, score=score, style=style)
    b = make_batch(data.test[:5], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    fast_logits, fast_w = model.decoder(b.tgt_in, enc)
    slow_logits, slow_w = BaseDecoder.forward(model.decoder, b.tgt_in, enc)
    assert torch.allclose(fast_logits, slow_logits, atol=1e-5)
    assert torch.allclose(fast_w, slow_w, atol=1e-6)


@pytest.mark.parametrize("score", ATTENTION_SCORES)
def test_cached_keys_give_the_attention_modules_own_result(data, score):
    """attend() with the attention's project_keys() == calling the AdditiveAttention / LuongAttention module."""
    model = make_model(data, score=score, hidden_size=6)
    dec = model.decoder
    b = make_batch(data.test[:6], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    query = torch.randn(6, dec.hidden_size)
    context, weights, position = dec.attend(query, dec.attention.project_keys(enc.annotations), enc)
    assert position is None  # global attention has no aligned position p_t
    ref_context, ref_weights = dec.attention(query, enc.annotations, mask=enc.mask)
    assert torch.allclose(weights, ref_weights, atol=1e-6)
    assert torch.allclose(context, ref_context, atol=1e-6)


def test_greedy_decode_collects_the_alignment(data):
    model = make_model(data)
    b = make_batch(data.test[:8], data.src_vocab, data.tgt_vocab)
    out = model.greedy_decode(b.src, b.src_lengths, max_len=12)
    B, L = out.tokens.shape
    assert out.weights is not None and out.weights.shape == (B, L, b.src.shape[1])
    assert torch.allclose(out.weights.sum(-1), torch.ones(B, L), atol=1e-5)
    # greedy decoding and teacher forcing on its own output see the same weights
    tgt_in = torch.cat([torch.full((B, 1), model.bos_id), out.tokens[:, :-1]], dim=1)  # (B, L)
    _, weights = model(b.src, b.src_lengths, tgt_in)
    for i in range(B):
        n = min(int(out.lengths[i]) + 1, L)
        assert torch.allclose(weights[i, :n], out.weights[i, :n], atol=1e-5)
    assert model.training  # mode restored


def test_the_decoder_reads_the_annotations(data):
    """Unlike chapter 1's Decoder, changing the annotations changes the output."""
    model = make_model(data)
    b = make_batch(data.test[:4], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    scrambled = enc._replace(annotations=torch.randn_like(enc.annotations) * enc.mask[..., None])
    assert not torch.allclose(model.decoder(b.tgt_in, enc)[0], model.decoder(b.tgt_in, scrambled)[0])


def test_config_and_constructor_validation(data):
    with pytest.raises(ValueError, match="score must be one of"):
        AttentionSeq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10, score="cosine")
    with pytest.raises(ValueError, match="style must be one of"):
        AttentionSeq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10, style="vaswani")
    with pytest.raises(ValueError, match="decoder_hidden_size"):
        AttentionSeq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10, decoder_hidden_size=0)
    with pytest.raises(ValueError, match="fixed_context"):  # an option of the decoder without attention
        AttentionSeq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10, fixed_context=True)
    with pytest.raises(ValueError, match="hidden_size"):
        AttentionSeq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10, hidden_size=-1)
    # dot compares the decoder state with the annotations: sizes must agree
    with pytest.raises(ValueError, match=r"hidden_size=16, enc_dim=32"):
        AttentionDecoder(vocab_size=10, emb_dim=4, enc_dim=32, hidden_size=16, score="dot")
    with pytest.raises(ValueError, match="AttentionSeq2SeqConfig"):
        AttentionSeq2Seq.from_config(Seq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10))
    with pytest.raises(TypeError):
        AttentionDecoder(10, 4, 8)  # keyword-only
    cfg = AttentionSeq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, hidden_size=5)
    model = AttentionSeq2Seq.from_config(cfg)
    assert cfg.bidirectional and model.encoder.out_dim == 10 and model.decoder.hidden_size == 10
    assert model.config is cfg and isinstance(model, Seq2Seq)


def test_bad_input_raises_value_error_naming_shapes(data):
    model = make_model(data)
    src, lengths = torch.ones(2, 5, dtype=torch.long), torch.tensor([5, 3])
    tgt = torch.ones(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"\(B, S\)"):
        model(src[0], lengths, tgt)
    with pytest.raises(ValueError, match=r"src_lengths must have shape \(B,\) = \(2,\)"):
        model(src, torch.tensor([5]), tgt)
    with pytest.raises(ValueError, match="different batch sizes"):
        model(src, lengths, tgt[:1])
    with pytest.raises(ValueError, match=r"\(B, S\)"):
        model.greedy_decode(src[0], lengths)


# --- alignment scoring --------------------------------------------------------


def test_alignment_hits_and_accuracy_by_hand():
    ex = Example(("a", "b", "c", "d"), ("x", "y", "z"), (3, 0, -1))
    w = np.array([
        [0.1, 0.1, 0.2, 0.6],  # arg-max 3: a hit
        [0.1, 0.7, 0.1, 0.1],  # arg-max 1, truth 0: a miss, but within 1
        [1.0, 0.0, 0.0, 0.0],  # no true position: not counted
    ])
    assert true_positions(ex) == [(3,), (0,), ()]
    assert alignment_hits([w], [ex]) == [[True, False, None]]
    assert alignment_hits([w], [ex], tolerance=1) == [[True, True, None]]
    acc = alignment_accuracy([w], [ex])
    assert acc == pytest.approx({"accuracy": 0.5, "chance": 0.25, "n_tokens": 2})
    near = alignment_accuracy([w], [ex], tolerance=1)  # positions {2, 3} and {0, 1}: 2 of 4 each
    assert near["accuracy"] == 1.0 and near["chance"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"need \(3, 4\)"):
        alignment_hits([w[:, :3]], [ex])
    with pytest.raises(ValueError, match="weight arrays"):
        alignment_hits([w, w], [ex])
    with pytest.raises(ValueError, match="tolerance"):
        alignment_hits([w], [ex], tolerance=-1)


def test_attention_on_references_shapes(data):
    model = make_model(data)
    examples = data.test[:9]
    ws = attention_on_references(model, examples, data.src_vocab, data.tgt_vocab, batch_size=4)
    assert [w.shape for w in ws] == [(len(e.target), len(e.source)) for e in examples]
    assert all(np.allclose(w.sum(1), 1, atol=1e-5) for w in ws)
    no_attention = Seq2Seq.from_config(Seq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, hidden_size=4))
    with pytest.raises(ValueError, match="no attention"):
        attention_on_references(no_attention, examples, data.src_vocab, data.tgt_vocab)


# --- BLEU ---------------------------------------------------------------------------


def test_bleu_with_sacrebleu():
    ref = [["a", "b", "c", "d", "e", "f"], ["g", "h", "i", "j", "k"]]
    assert corpus_bleu(ref, ref) == pytest.approx(100.0)
    assert corpus_bleu([["x"] * 6, ["y"] * 5], ref) == pytest.approx(0.0)
    worse = corpus_bleu([["a", "b", "c", "d", "e", "x"], ["g", "h", "i", "j", "k"]], ref)
    assert 0 < worse < 100
    res = bleu_by_bucket(ref, ref, [6, 5], buckets=((1, 5), (6, 9), (10, 12)))
    assert [r["n"] for r in res["by_bucket"]] == [1, 1, 0]
    assert res["overall"] == pytest.approx(100.0) and np.isnan(res["by_bucket"][2]["bleu"])
    with pytest.raises(ValueError, match="predictions"):
        corpus_bleu(ref[:1], ref)


# --- training smoke test --------------------------------------------------------


def test_training_learns_to_translate_and_align(data, one_thread):
    attnbook.seed_everything(0)
    model = make_model(data, hidden_size=16, emb_dim=16)
    snapshots = []
    cfg = TrainConfig(steps=150, batch_size=32, lr=1e-2, seed=0, progress=False, callback_every=50)
    result = train_seq2seq(model, data, cfg, callback=lambda step, m: snapshots.append(step))
    assert result.steps == 150 and snapshots == [50, 100, 150]
    assert sum(result.losses[-10:]) < 0.3 * sum(result.losses[:10])
    ev = evaluate(model, data)
    assert ev["overall"]["token_accuracy"] > 0.8  # chance is 1/6
    ws = attention_on_references(model, data.test, data.src_vocab, data.tgt_vocab)
    acc = alignment_accuracy(ws, data.test)
    assert acc["accuracy"] > 2 * acc["chance"]  # the reversal is found: target j looks at source S-1-j


def test_decode_with_attention(data):
    model = make_model(data)
    sources = [e.source for e in data.test[:5]]
    out = decode_with_attention(model, sources, data.src_vocab, data.tgt_vocab, max_len=10)
    ref = translate_examples(model, data.test[:5], data.src_vocab, data.tgt_vocab, max_len=10)
    assert [tokens for tokens, _ in out] == ref
    for (tokens, w), s in zip(out, sources):
        assert w.shape == (len(tokens), len(s))
        assert np.allclose(w.sum(1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="string"):
        decode_with_attention(model, ["red cat"], data.src_vocab, data.tgt_vocab)


def test_cosine_schedule():
    cfg = TrainConfig(steps=100, lr=1e-2, lr_schedule="cosine")
    assert cfg.lr_at(1) == pytest.approx(1e-2)
    assert cfg.lr_at(51) == pytest.approx(5e-3)
    assert 0 < cfg.lr_at(100) < 1e-5
    assert TrainConfig(steps=100, lr=1e-2).lr_at(100) == 1e-2
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")


def test_alignment_heatmap_frames_the_truth():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from attnbook.viz import alignment_heatmap

    w = np.array([[0.1, 0.9, 0.0], [0.5, 0.25, 0.25]])
    fig = alignment_heatmap(w, ["x", "y"], ["a", "b", "c"], truth=[(1,), (0, 2)])
    frames = [p for p in fig.axes[0].patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert sorted((int(p.get_x()), int(p.get_y())) for p in frames) == [(0, 1), (1, 0), (2, 1)]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="2 output tokens x 2 source tokens"):
        alignment_heatmap(w, ["x", "y"], ["a", "b"])
    with pytest.raises(ValueError, match="truth has 3 rows"):
        alignment_heatmap(w, ["x", "y"], ["a", "b", "c"], truth=[(0,), (1,), (2,)])
    plt.close("all")
