"""Luong et al.'s local attention (attnbook.attention.LocalAttention and the
AttentionDecoder's attention_type="local-m" / "local-p"): weights that live in
the window and sum to 1, the borders, p_t in [0, S] with a gradient, the
whole-source window against an independent global reference, the counted work,
bad input, and defaults that leave the global models as they were."""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch

from attnbook.attention import LOCAL_ATTENTIONS, AdditiveAttention, LocalAttention, LuongAttention
from attnbook.cost import attention_step_cost, counting_scores
from attnbook.data import ReorderConfig, make_batch, make_reorder_data
from attnbook.export import export_onnx
from attnbook.seq2seq import (
    ATTENTION_TYPES,
    DECODER_STYLES,
    AttentionDecoder,
    AttentionSeq2Seq,
    AttentionSeq2SeqConfig,
    BaseDecoder,
)

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ReorderConfig(n_words=6, min_len=3, max_len=8, n_train=200, n_test_per_bucket=10, buckets=((3, 5), (6, 8)))
LOCAL = [(kind, style) for kind, style in itertools.product(LOCAL_ATTENTIONS, DECODER_STYLES)]
B, S, Dq = 4, 9, 6


@pytest.fixture(scope="module")
def data():
    return make_reorder_data(TINY, seed=0)


def make_model(data, **kw):
    torch.manual_seed(0)
    kw.setdefault("hidden_size", 4)
    kw.setdefault("emb_dim", 8)
    return AttentionSeq2Seq.from_config(AttentionSeq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, **kw))


def window_inputs(lengths=(9, 5, 2, 1), seed=0):
    """A general score, random query / annotations, a padded batch with sentences of ``lengths``."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths)
    mask = torch.arange(S)[None, :] < lengths[:, None]  # (B, S)
    values = torch.randn(B, S, Dq, generator=g) * mask[..., None]  # (B, S, Dq), zeros at padding
    query = torch.randn(B, Dq, generator=g)
    torch.manual_seed(seed)
    scorer = LuongAttention(score="general", query_dim=Dq, key_dim=Dq)
    return scorer, query, values, mask, lengths


@pytest.mark.parametrize("kind", LOCAL_ATTENTIONS)
@pytest.mark.parametrize("D", [1, 2, 4])
def test_weights_live_in_the_window_and_sum_to_one(kind, D):
    scorer, query, values, mask, lengths = window_inputs()
    local = LocalAttention(scorer, kind=kind, window=D, query_dim=Dq)
    keys = local.project_keys(values)
    for t in range(0, 12):  # t runs past every sentence: local-m's window must stay inside it
        p = local.position(query, lengths, t)  # (B,)
        out, w = local(query, keys, values, lengths, p)
        assert out.shape == (B, Dq) and w.shape == (B, S)
        assert torch.isfinite(out).all() and torch.isfinite(w).all()
        assert torch.allclose(w.sum(-1), torch.ones(B), atol=1e-6)  # even for a one-word sentence
        assert (w[~mask] == 0).all()  # padding gets nothing
        centre = torch.minimum(p.round().long(), lengths - 1).clamp_min(0)  # (B,)
        outside = (torch.arange(S)[None, :] - centre[:, None]).abs() > D  # (B, S)
        assert (w[outside] == 0).all()
        # the context is the weighted mean of the annotations under those weights
        assert torch.allclose(out, torch.einsum("bs,bsd->bd", w, values), atol=1e-6)


def test_local_m_centres_on_t_and_local_p_stays_in_zero_to_s():
    scorer, query, values, mask, lengths = window_inputs()
    m = LocalAttention(scorer, kind="local-m", window=1)
    assert m.position(query, lengths, 3).tolist() == [3.0] * B
    for seed in range(5):
        _, query, _, _, _ = window_inputs(seed=seed)
        p = LocalAttention(scorer, kind="local-p", window=2, query_dim=Dq).position(query * 50, lengths, 0)
        assert ((p >= 0) & (p <= lengths)).all()  # p_t = S · sigmoid(...) lies in [0, S]


def test_local_p_position_gets_a_gradient_through_the_gaussian():
    scorer, query, values, mask, lengths = window_inputs(lengths=(9, 9, 9, 9))
    local = LocalAttention(scorer, kind="local-p", window=2, query_dim=Dq)
    p = local.position(query, lengths, 0)
    p.retain_grad()
    out, w = local(query, local.project_keys(values), values, lengths, p)
    (out * torch.randn_like(out)).sum().backward()
    assert p.grad is not None and (p.grad != 0).all()  # p_t is trained by backprop, no sampling
    assert local.W_p.weight.grad.abs().sum() > 0 and local.v_p.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", LOCAL_ATTENTIONS)
@pytest.mark.parametrize("make_scorer", ["general", "additive"])
def test_a_window_over_the_whole_source_with_a_flat_gaussian_is_global_attention(kind, make_scorer):
    scorer, query, values, mask, lengths = window_inputs()
    if make_scorer == "additive":
        torch.manual_seed(1)
        scorer = AdditiveAttention(query_dim=Dq, key_dim=Dq, hidden_dim=5)
    local = LocalAttention(scorer, kind=kind, window=2 * S, query_dim=Dq, sigma=1e6)
    p = local.position(query, lengths, 0)
    out, w = local(query, local.project_keys(values), values, lengths, p)
    # an independent reference: the scores of every source word, written out, and a softmax over the real ones
    if make_scorer == "general":
        scores = torch.einsum("bd,de,bse->bs", query, scorer.W_a.weight, values)  # hᵀ W_a h̄_s
    else:
        hidden = torch.tanh(scorer.W_c(query)[:, None, :] + scorer.W_y(values))  # (B, S, hidden)
        scores = scorer.w(hidden).squeeze(-1)
    ref = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)  # (B, S)
    assert torch.allclose(w, ref, atol=1e-5)
    assert torch.allclose(out, torch.einsum("bs,bsd->bd", ref, values), atol=1e-5)


def test_the_gaussian_is_a_prior_in_log_space_proportional_to_the_papers_weights():
    """Renormalised, the weights are the paper's softmax × Gaussian divided by the row's sum."""
    scorer, query, values, mask, lengths = window_inputs(lengths=(9, 9, 9, 9))
    local = LocalAttention(scorer, kind="local-p", window=2, query_dim=Dq)
    p = local.position(query, lengths, 0)
    _, w = local(query, local.project_keys(values), values, lengths, p)
    centre = p.round().long().clamp(0, S - 1)
    scores = torch.einsum("bd,de,bse->bs", query, scorer.W_a.weight, values)  # (B, S)
    s = torch.arange(S)[None, :]
    window = (s - centre[:, None]).abs() <= 2
    align = torch.softmax(scores.masked_fill(~window, float("-inf")), dim=-1)  # Luong's align over the window
    paper = align * torch.exp(-(s - p[:, None]) ** 2 / (2 * (2 / 2) ** 2))  # σ = D / 2
    assert (paper.sum(-1) < 1).all()  # the paper's rows sum to less than 1 ...
    assert torch.allclose(w, paper / paper.sum(-1, keepdim=True), atol=1e-6)  # ... ours are them, renormalised


@pytest.mark.parametrize("kind,style", LOCAL)
def test_decoder_forward_equals_the_step_loop_and_keeps_p_t(data, kind, style):
    model = make_model(data, score="general", style=style, attention_type=kind, window=1)
    b = make_batch(data.test[:6], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    fast_logits, fast_w = model.decoder(b.tgt_in, enc)
    slow_logits, slow_w = BaseDecoder.forward(model.decoder, b.tgt_in, enc)
    assert torch.allclose(fast_logits, slow_logits, atol=1e-5) and torch.allclose(fast_w, slow_w, atol=1e-6)
    T = b.tgt_in.shape[1]
    assert fast_w.shape == (6, T, b.src.shape[1])
    assert torch.allclose(fast_w.sum(-1), torch.ones(6, T), atol=1e-5)
    assert ((fast_w > 0).sum(-1) <= 3).all()  # at most 2D + 1 = 3 source words per output word
    state = model.decoder.init_state(enc)
    for t in range(3):
        _, state, _ = model.decoder.step(b.tgt_in[:, t], state, enc)
        assert state.t == t + 1 and state.position.shape == (6,)
        if kind == "local-m":
            assert state.position.tolist() == [float(t)] * 6


def test_greedy_decode_and_alignment_tools_work_unchanged(data):
    from attnbook.align import alignment_accuracy, attention_on_references, decode_with_attention

    model = make_model(data, score="dot", attention_type="local-p", window=1)
    w = attention_on_references(model, data.test[:5], data.src_vocab, data.tgt_vocab)
    assert alignment_accuracy(w, data.test[:5])["n_tokens"] > 0
    (tokens, weights), = decode_with_attention(model, [data.test[0].source], data.src_vocab, data.tgt_vocab,
                                               max_len=6)
    assert weights.shape == (len(tokens), len(data.test[0].source))


def test_counted_work_is_the_window_not_the_source():
    torch.manual_seed(0)
    decoders = {kind: AttentionDecoder(vocab_size=7, emb_dim=4, enc_dim=8, score="general", attention_type=kind,
                                       window=None if kind == "global" else 3) for kind in ATTENTION_TYPES}
    rows = attention_step_cost(decoders, [4, 40], batch=2, repeats=1)
    assert [r["S"] for r in rows] == [4, 40]
    for r in rows:
        assert r["global"]["scored"] == r["S"]
        assert r["local-m"]["scored"] == r["local-p"]["scored"] == 2 * 3 + 1  # 2D + 1, even where S < 2D + 1
        assert all(r[k]["seconds"] > 0 for k in ATTENTION_TYPES)
    with counting_scores(decoders["global"]) as counts:
        pass
    assert counts == [] and "score" not in vars(decoders["global"].attention)  # the method is back


@pytest.mark.parametrize("bad", [
    dict(attention_type="local-m"),  # no window
    dict(attention_type="local-p", window=0),  # p_t would get no gradient
    dict(attention_type="local-m", window=-1),
    dict(attention_type="local-m", window=1.5),
    dict(attention_type="local-m", window=True),
    dict(attention_type="global", window=2),  # a window only applies to local attention
    dict(attention_type="local", window=2),
])
def test_bad_settings_raise_value_error_naming_the_value(data, bad):
    with pytest.raises(ValueError, match="window|attention_type"):
        AttentionSeq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, **bad)
    with pytest.raises(ValueError, match="window|attention_type"):
        AttentionDecoder(vocab_size=7, emb_dim=4, enc_dim=8, **bad)


def test_local_attention_module_bad_input():
    scorer = LuongAttention(score="dot")
    with pytest.raises(ValueError, match="-2"):
        LocalAttention(scorer, kind="local-m", window=-2)
    with pytest.raises(ValueError, match="kind"):
        LocalAttention(scorer, kind="global", window=2)
    with pytest.raises(ValueError, match="query_dim"):
        LocalAttention(scorer, kind="local-p", window=2)
    with pytest.raises(ValueError, match="sigma"):
        LocalAttention(scorer, kind="local-m", window=2, sigma=0.0)
    with pytest.raises(ValueError, match="AdditiveAttention or a LuongAttention"):
        LocalAttention(torch.nn.Linear(2, 2), kind="local-m", window=2)


def test_defaults_are_global_and_unchanged(data):
    config = AttentionSeq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, emb_dim=8, hidden_size=4)
    assert config.attention_type == "global" and config.window is None
    default = make_model(data, score="general")
    explicit = make_model(data, score="general", attention_type="global")
    local_m = make_model(data, score="general", attention_type="local-m", window=2)
    local_p = make_model(data, score="general", attention_type="local-p", window=2)
    assert not isinstance(default.decoder.attention, LocalAttention)
    names = [n for n, _ in default.named_parameters()]
    assert not any("W_p" in n or "v_p" in n for n in names)
    b = make_batch(data.test[:4], data.src_vocab, data.tgt_vocab)
    assert torch.equal(default(b.src, b.src_lengths, b.tgt_in)[0], explicit(b.src, b.src_lengths, b.tgt_in)[0])
    # the same seed gives the local models the global model's initial weights (W_p, v_p are created last)
    shared = {n.replace("attention.scorer.", "attention."): p for n, p in local_p.named_parameters()}
    for n, p in default.named_parameters():
        assert torch.equal(p, shared[n]), n
    assert [n for n in shared if n not in dict(default.named_parameters())] == [
        "decoder.attention.W_p.weight", "decoder.attention.v_p.weight"]
    assert sum(p.numel() for p in local_m.parameters()) == sum(p.numel() for p in default.parameters())


def test_export_refuses_a_local_model_clearly(data):
    model = make_model(data, score="general", attention_type="local-p", window=1)
    with pytest.raises(ValueError, match="local"):
        export_onnx(model, max_source=8, max_target=8)


def test_replace_switches_a_global_config_to_local(data):
    config = AttentionSeq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, emb_dim=8, hidden_size=4)
    local = replace(config, attention_type="local-p", window=2)
    assert AttentionSeq2Seq.from_config(local).decoder.window == 2


def test_local_positions_are_the_decoders_p_t(data):
    from attnbook.align import attention_on_references, local_positions

    examples = data.test[:5]
    local_m = make_model(data, score="general", attention_type="local-m", window=1)
    for pos, e in zip(local_positions(local_m, examples, data.src_vocab, data.tgt_vocab), examples):
        assert pos.tolist() == list(range(len(e.target)))  # p_t = t
    local_p = make_model(data, score="general", attention_type="local-p", window=1)
    weights = attention_on_references(local_p, examples, data.src_vocab, data.tgt_vocab)
    for pos, w, e in zip(local_positions(local_p, examples, data.src_vocab, data.tgt_vocab), weights, examples):
        S = len(e.source)
        assert pos.shape == (len(e.target),) and ((pos >= 0) & (pos <= S)).all()
        centre = np.minimum(np.round(pos), S - 1)
        cols = np.arange(S)[None, :]
        assert (w[np.abs(cols - centre[:, None]) > 1] == 0).all()  # the weights sit in the window around p_t
    with pytest.raises(ValueError, match="local attention"):
        local_positions(make_model(data), examples, data.src_vocab, data.tgt_vocab)
