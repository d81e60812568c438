"""Chapter 5's Transformer: reference checks against torch.nn, masks, positions, models."""
import math

import pytest
import torch
from torch import nn

from attnbook.data import DatesConfig, make_dates_data
from attnbook.data.language import make_language_data, make_order_data
from attnbook.train import TrainConfig, evaluate, train_seq2seq
from attnbook.transformer import (MaskedLanguageModel, PositionalEncoding, Seq2SeqTransformer, TokenEmbedding,
                                  TransformerClassifier, TransformerConfig, TransformerDecoderLayer,
                                  TransformerEncoderLayer, causal_mask, classify, count_parameters,
                                  evaluate_masked_lm, fill_masks, lengths_to_mask, mask_tokens,
                                  sinusoidal_positional_encoding, train_masked_lm, train_sequence_classifier)

TOL = 1e-5


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 7, 32, generator=g)
    y = torch.randn(3, 5, 32, generator=g)
    src_mask = lengths_to_mask(torch.tensor([7, 5, 2]), 7)  # True = real token
    tgt_mask = lengths_to_mask(torch.tensor([5, 3, 4]), 5)
    return x, y, src_mask, tgt_mask


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first, activation):
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, activation=activation, batch_first=True,
                                     norm_first=norm_first).eval()
    ours = TransformerEncoderLayer.from_torch(ref).eval()
    x, _, mask, _ = _inputs()
    # padding mask (torch: True = ignore; ours: True = may attend)
    out, w = ours(x, key_padding_mask=mask)
    expected = ref(x, src_key_padding_mask=~mask)
    assert (out - expected)[mask].abs().max() < TOL
    assert w.shape == (3, 4, 7, 7) and (w[..., ~mask[:, None, None, :].expand(3, 4, 7, 7)] == 0).all()
    # causal + padding
    cm = causal_mask(7)
    out, w = ours(x, key_padding_mask=mask, attn_mask=cm)
    expected = ref(x, src_mask=~cm, src_key_padding_mask=~mask)
    assert (out - expected)[mask].abs().max() < TOL
    assert (w.triu(1) == 0).all()


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    torch.manual_seed(1)
    ref = nn.TransformerDecoderLayer(32, 4, 64, dropout=0.1, batch_first=True, norm_first=norm_first).eval()
    ours = TransformerDecoderLayer.from_torch(ref).eval()
    memory, y, src_mask, tgt_mask = _inputs(1)
    expected = ref(y, memory, tgt_mask=~causal_mask(5), tgt_key_padding_mask=~tgt_mask,
                   memory_key_padding_mask=~src_mask)
    out, w_self, w_cross = ours(y, memory, tgt_key_padding_mask=tgt_mask, memory_key_padding_mask=src_mask)
    assert (out - expected)[tgt_mask].abs().max() < TOL
    assert w_self.shape == (3, 4, 5, 5) and (w_self.triu(1) == 0).all()   # no peeking at the future
    assert w_cross.shape == (3, 4, 5, 7)
    assert (w_cross[2, :, :, 2:] == 0).all()                               # source padding gets nothing
    assert torch.allclose(w_cross.sum(-1), torch.ones(3, 4, 5), atol=1e-5)


def test_from_torch_rejects_wrong_layers():
    with pytest.raises(TypeError, match="TransformerEncoderLayer"):
        TransformerEncoderLayer.from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="batch_first"):
        TransformerEncoderLayer.from_torch(nn.TransformerEncoderLayer(8, 2, 16))
    with pytest.raises(ValueError, match="batch_first"):
        TransformerDecoderLayer.from_torch(nn.TransformerDecoderLayer(8, 2, 16))


def test_layers_reject_bad_input():
    layer = TransformerEncoderLayer(16, 4, 32)
    with pytest.raises(ValueError, match="d_model=16"):
        layer(torch.randn(2, 3, 8))
    with pytest.raises(ValueError, match="dimensions"):
        layer(torch.randn(3, 16))
    with pytest.raises(ValueError, match="key_padding_mask"):
        layer(torch.randn(2, 3, 16), key_padding_mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="torch.bool"):
        layer(torch.randn(2, 3, 16), key_padding_mask=torch.ones(2, 3))
    with pytest.raises(ValueError, match="divisible"):
        TransformerEncoderLayer(18, 4, 32)
    with pytest.raises(ValueError, match="activation"):
        TransformerEncoderLayer(16, 4, 32, activation="tanh")
    dec = TransformerDecoderLayer(16, 4, 32)
    with pytest.raises(ValueError, match="batch sizes"):
        dec(torch.randn(2, 3, 16), torch.randn(3, 4, 16))


def test_sinusoidal_encoding_formula_and_distance_property():
    pe = sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16)
    p, i = 7, 3
    assert math.isclose(pe[p, 2 * i].item(), math.sin(p / 10000 ** (2 * i / 16)), abs_tol=1e-6)
    assert math.isclose(pe[p, 2 * i + 1].item(), math.cos(p / 10000 ** (2 * i / 16)), abs_tol=1e-6)
    sim = pe @ pe.T
    # the dot product depends only on the distance: PE_p . PE_{p+k} is the same for every p
    for k in (0, 1, 5, 20):
        d = torch.diagonal(sim, offset=k)
        assert (d - d[0]).abs().max() < 1e-4
    assert torch.allclose(torch.diagonal(sim), torch.full((50,), 8.0), atol=1e-5)   # |PE_p|^2 = D/2
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positional_encoding(10, 7)
    with pytest.raises(ValueError, match="length"):
        sinusoidal_positional_encoding(0, 8)


def test_positional_encoding_module():
    x = torch.zeros(2, 5, 8)
    assert torch.allclose(PositionalEncoding(8, 10)(x)[1], sinusoidal_positional_encoding(5, 8))
    assert torch.equal(PositionalEncoding(8, 10, kind="none")(x), x)
    assert PositionalEncoding(8, 10, kind="learned")(x).shape == (2, 5, 8)
    with pytest.raises(ValueError, match="max_len=4"):
        PositionalEncoding(8, 4)(x)
    with pytest.raises(ValueError, match="kind"):
        PositionalEncoding(8, 4, kind="rotary")
    with pytest.raises(ValueError, match="d_model=8"):
        PositionalEncoding(8, 10)(torch.zeros(2, 5, 6))


def test_token_embedding_checks_ids():
    emb = TokenEmbedding(10, 4)
    assert emb(torch.tensor([[1, 2, 0]])).shape == (1, 3, 4)
    assert (emb(torch.tensor([[0]])) == 0).all()           # padding embeds to zero
    with pytest.raises(ValueError, match="outside the vocabulary"):
        emb(torch.tensor([[1, 10]]))
    with pytest.raises(ValueError, match="integer"):
        emb(torch.tensor([[1.0]]))


def test_without_positions_the_encoder_is_permutation_equivariant():
    torch.manual_seed(0)
    for kind, equivariant in (("none", True), ("sinusoidal", False)):
        model = TransformerClassifier(TransformerConfig(vocab_size=20, positional=kind, max_len=16)).eval()
        ids = torch.randint(4, 20, (2, 9))
        perm = torch.randperm(9)
        with torch.no_grad():
            h = model(ids).hidden
            h_perm = model(ids[:, perm]).hidden
        assert torch.allclose(h[:, perm], h_perm, atol=1e-5) == equivariant


def test_config_errors():
    with pytest.raises(ValueError, match="vocab_size"):
        TransformerConfig()
    with pytest.raises(ValueError, match="divisible"):
        TransformerConfig(vocab_size=10, d_model=30, nhead=4)
    with pytest.raises(ValueError, match="positional"):
        TransformerConfig(vocab_size=10, positional="rope")
    with pytest.raises(ValueError, match="tgt_vocab_size"):
        Seq2SeqTransformer(TransformerConfig(vocab_size=10))


def test_seq2seq_transformer_shapes_causality_and_decoding():
    torch.manual_seed(0)
    data = make_dates_data()
    model = Seq2SeqTransformer(TransformerConfig.for_vocabs(data.src_vocab, data.tgt_vocab, d_model=32)).eval()
    batch = data.batch(data.test[:4])
    logits, w = model(batch.src, batch.src_lengths, batch.tgt_in)
    B, S = batch.src.shape
    T = batch.tgt_in.shape[1]
    assert logits.shape == (B, T, len(data.tgt_vocab)) and w.shape == (B, T, S)
    maps = model.attention_maps(batch.src, batch.src_lengths, batch.tgt_in)
    assert maps["encoder"].shape == (2, B, 4, S, S) and maps["cross"].shape == (2, B, 4, T, S)
    assert (maps["decoder"].triu(1) == 0).all()
    # changing a later target word never changes an earlier prediction (the causal mask)
    changed = batch.tgt_in.clone()
    changed[:, -1] = 5
    logits2, _ = model(batch.src, batch.src_lengths, changed)
    assert torch.allclose(logits[:, :-1], logits2[:, :-1], atol=1e-5)
    # greedy decoding agrees with teacher forcing on its own output
    dec = model.greedy_decode(batch.src, batch.src_lengths, max_len=6)
    assert dec.tokens.shape[0] == B and dec.weights.shape[:2] == dec.tokens.shape
    forced = torch.cat([torch.full((B, 1), data.tgt_vocab.bos_id), dec.tokens[:, :-1]], 1)
    again = model(batch.src, batch.src_lengths, forced)[0].argmax(-1)
    first = dec.tokens[:, 0]
    assert torch.equal(again[:, 0], first)
    with pytest.raises(ValueError, match="does not fit"):
        model.greedy_decode(batch.src, batch.src_lengths, max_len=500)


def test_seq2seq_transformer_learns_dates_quickly():
    torch.manual_seed(0)
    data = make_dates_data()
    model = Seq2SeqTransformer(TransformerConfig.for_vocabs(data.src_vocab, data.tgt_vocab, d_model=32, nhead=2,
                                                            num_layers=1, num_decoder_layers=1, dim_feedforward=64))
    train_seq2seq(model, data, TrainConfig(steps=150, batch_size=32, lr=3e-3, progress=False))
    result = evaluate(model, data, examples=data.test[:200])
    assert result["overall"]["token_accuracy"] > 0.6


def test_mask_tokens_follows_bert_rule():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 50, (400, 20))
    lengths = torch.randint(3, 21, (400,))
    ids[:, 0] = 4   # a protected [cls]
    inputs, labels = mask_tokens(ids, lengths, mask_id=3, vocab_size=50, p=0.15, protected=(4,), generator=g)
    chosen = labels != -100
    real = lengths_to_mask(lengths, 20)
    assert not chosen[~real].any() and not chosen[:, 0].any()
    assert chosen.any(dim=1).all()                       # at least one per sequence
    assert torch.equal(labels[chosen], ids[chosen])
    frac = chosen.sum() / real[:, 1:].sum()
    assert 0.13 < frac < 0.2
    became_mask = (inputs[chosen] == 3).float().mean()
    assert 0.75 < became_mask < 0.85
    assert torch.equal(inputs[~chosen], ids[~chosen])    # the rest is untouched
    with pytest.raises(ValueError, match="p must be"):
        mask_tokens(ids, lengths, mask_id=3, vocab_size=50, p=0)
    with pytest.raises(ValueError, match="mask_id"):
        mask_tokens(ids, lengths, mask_id=60, vocab_size=50)


def test_order_classifier_needs_positions():
    data = make_order_data(n_train=2000, n_test=400)
    acc = {}
    for kind in ("none", "sinusoidal"):
        torch.manual_seed(0)
        model = TransformerClassifier(TransformerConfig.for_vocabs(data.vocab, d_model=32, nhead=2, num_layers=1,
                                                                   dim_feedforward=64, positional=kind, max_len=16))
        train_sequence_classifier(model, data.train_ids, data.train_lengths, data.train_labels,
                                  TrainConfig(steps=300, batch_size=64, lr=3e-3, progress=False))
        pred, probs = classify(model, data.test_ids, data.test_lengths)
        acc[kind] = (pred == data.test_labels).float().mean().item()
        if kind == "none":   # a set model gives a sequence and its swapped twin the same answer
            assert torch.allclose(probs[0::2], probs[1::2], atol=1e-5)
    assert acc["none"] == 0.5
    assert acc["sinusoidal"] > 0.85


def test_masked_lm_trains_and_fills_in():
    data = make_language_data()
    torch.manual_seed(0)
    model = MaskedLanguageModel(TransformerConfig.for_vocabs(data.vocab, d_model=32, nhead=2, dim_feedforward=64,
                                                             positional="learned", max_len=16))
    train_masked_lm(model, data, TrainConfig(steps=300, batch_size=64, lr=3e-3, progress=False))
    ev = evaluate_masked_lm(model, data, data.test[:60])
    assert ev["function"]["accuracy"] > 0.7        # chance: 1 in 88
    assert ev["all"]["fits"] > 0.8
    assert len(ev["records"]) == sum(len(s.tokens) for s in data.test[:60])
    top = fill_masks(model, data.vocab, [data.test[0].tokens], [0], k=3)
    assert len(top[0]) == 3 and top[0][0][1] >= top[0][1][1]
    with pytest.raises(ValueError, match="unknown word"):
        fill_masks(model, data.vocab, [["on", "blursday"]], [0])
    with pytest.raises(ValueError, match="outside"):
        fill_masks(model, data.vocab, [["on", "monday"]], [5])


# --- layer_gradient_norms: how large a gradient each layer of a stack receives -----------------------
def _stack_and_batch(norm_first, seed=0):
    from attnbook.transformer import TransformerEncoder

    torch.manual_seed(seed)
    stack = TransformerEncoder(3, 16, 2, 32, dropout=0.0, norm_first=norm_first)
    g = torch.Generator().manual_seed(seed)
    return stack, torch.randn(2, 5, 16, generator=g), torch.randn(2, 5, 16, generator=g)


@pytest.mark.parametrize("norm_first", [False, True])
def test_layer_gradient_norms_match_backward(norm_first):
    from attnbook.transformer import layer_gradient_norms

    stack, x, target = _stack_and_batch(norm_first)
    norms = layer_gradient_norms(stack, x, target)
    w2 = layer_gradient_norms(stack, x, target, parameter="linear2.weight")
    assert norms.shape == w2.shape == (3,)
    assert all(p.grad is None for p in stack.parameters())   # the .grad fields are left alone
    # the reference: an ordinary backward pass and the norms of the .grad fields
    torch.nn.functional.mse_loss(stack(x)[0], target).backward()
    expected = torch.stack([torch.sqrt(sum(p.grad.pow(2).sum() for p in layer.parameters()))
                            for layer in stack.layers])
    assert torch.allclose(norms, expected, rtol=1e-5, atol=1e-8)
    assert torch.allclose(w2, torch.stack([layer.linear2.weight.grad.norm() for layer in stack.layers]),
                          rtol=1e-5, atol=1e-8)
    assert (w2 < norms).all()   # one matrix of a layer is part of the whole


def test_layer_gradient_norms_rejects_bad_input():
    from attnbook.transformer import layer_gradient_norms

    stack, x, target = _stack_and_batch(False)
    with pytest.raises(ValueError, match="shape of x"):
        layer_gradient_norms(stack, x, target[:, :3])
    with pytest.raises(ValueError, match="no parameter 'linear3.weight'"):
        layer_gradient_norms(stack, x, target, parameter="linear3.weight")
    with pytest.raises(ValueError, match="TransformerEncoder"):
        layer_gradient_norms(stack.layers[0], x, target)
    with pytest.raises(ValueError, match="last dimension"):
        layer_gradient_norms(stack, x[..., :8], target[..., :8])
    stack.layers[1].linear2.weight.requires_grad_(False)
    with pytest.raises(ValueError, match="layer 1 has no trainable"):
        layer_gradient_norms(stack, x, target, parameter="linear2.weight")


# --- The layers as written out: sub-module order, heads split and merged ----------------------------
def test_layers_create_their_sub_modules_in_a_fixed_order():
    """The order decides which random numbers each sub-module draws at a given seed: the chapters'
    results depend on it. (Dropout and LayerNorm draw none; linear1, linear2 and the attentions do.)"""
    enc = TransformerEncoderLayer(16, 4, 32)
    dec = TransformerDecoderLayer(16, 4, 32)
    assert [n for n, _ in enc.named_children()] == [
        "linear1", "dropout", "linear2", "norm1", "dropout1", "norm2", "dropout2", "self_attn"]
    assert [n for n, _ in dec.named_children()] == [
        "linear1", "dropout", "linear2", "norm1", "dropout1", "norm2", "dropout2", "norm3", "dropout3",
        "self_attn", "multihead_attn"]
    torch.manual_seed(0)
    a = TransformerDecoderLayer(16, 4, 32)
    torch.manual_seed(0)
    expected_linear1 = nn.Linear(16, 32)   # drawn first, from the same seed
    assert torch.equal(a.linear1.weight, expected_linear1.weight)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_forward_is_the_residual_lines(norm_first):
    """One line per sub-layer: recompute the layer from its parts and compare."""
    torch.manual_seed(0)
    layer = TransformerEncoderLayer(16, 4, 32, dropout=0.0, norm_first=norm_first).eval()
    x = torch.randn(2, 5, 16)
    mask = lengths_to_mask(torch.tensor([5, 3]), 5)
    ff = lambda h: layer.linear2(torch.relu(layer.linear1(h)))  # noqa: E731
    attend = lambda h: layer.self_attn(h, key_padding_mask=mask, average_weights=False)[0]  # noqa: E731
    if norm_first:
        h = x + attend(layer.norm1(x))
        expected = h + ff(layer.norm2(h))
    else:
        h = layer.norm1(x + attend(x))
        expected = layer.norm2(h + ff(h))
    out, w = layer(x, key_padding_mask=mask)
    assert torch.allclose(out, expected, atol=1e-6) and w.shape == (2, 4, 5, 5)


def test_split_and_merge_heads():
    from attnbook.attention import MultiHeadAttention, merge_heads, scaled_dot_product_attention, split_heads

    x = torch.arange(2 * 3 * 8.0).reshape(2, 3, 8)                    # (B, T, D)
    heads = split_heads(x, 4)                                          # (B, H, T, Dh)
    assert heads.shape == (2, 4, 3, 2)
    assert torch.equal(heads[1, 2, 0], x[1, 0, 4:6])                   # head 2 holds numbers 4..5
    assert torch.equal(merge_heads(heads), x)                          # merge undoes split
    # MultiHeadAttention is project -> split -> attend -> merge -> project
    mha = MultiHeadAttention(8, 4).eval()
    y = torch.randn(2, 3, 8)
    q, k, v = (split_heads(p(y), 4) for p in (mha.q_proj, mha.k_proj, mha.v_proj))
    by_hand = mha.out_proj(merge_heads(scaled_dot_product_attention(q, k, v)[0]))
    assert torch.allclose(mha(y)[0], by_hand, atol=1e-6)
    with pytest.raises(ValueError, match="not divisible by num_heads=3"):
        split_heads(x, 3)
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        split_heads(x, 0)
    with pytest.raises(ValueError, match="3 dimensions"):
        split_heads(x[0], 2)
    with pytest.raises(ValueError, match="4 dimensions"):
        merge_heads(x)


# --- The training details: √D embedding scale, weight tying, the ablation ---------------------------------------
def test_scale_embeddings_false_removes_the_sqrt_d_factor():
    torch.manual_seed(0)
    scaled = TokenEmbedding(10, 16)
    plain = TokenEmbedding(10, 16, scale=False)
    plain.load_state_dict(scaled.state_dict())
    ids = torch.tensor([[1, 2, 0, 9]])
    assert torch.allclose(scaled(ids), plain(ids) * 4.0) and torch.equal(plain(ids), plain.weight[ids])
    # the model-level switch reaches the encoder's and the decoder's tables, and draws the same weights
    data = make_dates_data()
    models = {}
    for scale in (True, False):
        torch.manual_seed(0)
        models[scale] = Seq2SeqTransformer(TransformerConfig.for_vocabs(data.src_vocab, data.tgt_vocab, d_model=16,
                                                                        scale_embeddings=scale))
    on, off = models[True], models[False]
    assert all(torch.equal(a, b) for a, b in zip(on.state_dict().values(), off.state_dict().values()))
    assert not off.src_embed.scale and not off.tgt_embed.scale and on.src_embed.scale
    batch = data.batch(data.test[:3])
    assert not torch.allclose(on(batch.src, batch.src_lengths, batch.tgt_in)[0],
                              off(batch.src, batch.src_lengths, batch.tgt_in)[0])
    assert not MaskedLanguageModel(TransformerConfig(vocab_size=12, scale_embeddings=False)).embed.scale


def test_weight_tying_shares_one_parameter():
    data = make_dates_data()
    models = {}
    for tie in (False, True):
        torch.manual_seed(0)
        models[tie] = Seq2SeqTransformer(TransformerConfig.for_vocabs(data.src_vocab, data.tgt_vocab, d_model=16,
                                                                      tie_weights=tie))
    untied, tied = models[False], models[True]
    assert tied.generator.weight is tied.tgt_embed.weight and untied.generator.weight is not untied.tgt_embed.weight
    V, D = len(data.tgt_vocab), 16
    assert count_parameters(untied) - count_parameters(tied) == V * D  # the table counts once
    # every other weight is drawn as without tying (the generator's own draw is made, then replaced)
    shared = {k: v for k, v in untied.state_dict().items() if k != "generator.weight"}
    assert all(torch.equal(v, tied.state_dict()[k]) for k, v in shared.items())
    # one gradient: what the generator and the embedding contribute lands in the same tensor
    batch = data.batch(data.test[:4])
    logits, _ = tied(batch.src, batch.src_lengths, batch.tgt_in)
    logits.logsumexp(-1).sum().backward()
    assert tied.tgt_embed.weight.grad is tied.generator.weight.grad
    assert (tied.tgt_embed.weight.grad[data.tgt_vocab.pad_id] != 0).any()  # the generator scores the pad row too


def test_training_detail_configs_are_checked():
    with pytest.raises(ValueError, match="scale_embeddings"):
        TransformerConfig(vocab_size=10, scale_embeddings="yes")
    with pytest.raises(ValueError, match="tie_weights"):
        TransformerConfig(vocab_size=10, tie_weights=1)
    with pytest.raises(ValueError, match="Seq2SeqTransformer only"):
        MaskedLanguageModel(TransformerConfig(vocab_size=10, tie_weights=True))
    with pytest.raises(ValueError, match="Seq2SeqTransformer only"):
        TransformerClassifier(TransformerConfig(vocab_size=10, tie_weights=True))


def test_switch_off_changes_one_detail_and_keeps_the_rest():
    from dataclasses import asdict

    from attnbook.transformer import TRAINING_DETAILS, switch_off

    model = TransformerConfig(vocab_size=10, tgt_vocab_size=12, tie_weights=True)
    train = TrainConfig(steps=200, lr=1e-2, lr_schedule="inverse_sqrt", warmup=50, label_smoothing=0.1)
    changed = {}
    for detail in TRAINING_DETAILS:
        m, t = switch_off(detail, model, train)
        diff = {k for k, v in asdict(m).items() if asdict(model)[k] != v}
        diff |= {k for k, v in asdict(t).items() if asdict(train)[k] != v}
        changed[detail] = diff
    assert changed == {"warm-up": {"warmup", "lr_decay_start"}, "label smoothing": {"label_smoothing"},
                       "√D embedding scale": {"scale_embeddings"}, "weight tying": {"tie_weights"}}
    _, no_warmup = switch_off("warm-up", model, train)
    assert no_warmup.lr_at(1) == train.lr_at(50) == 1e-2 and no_warmup.lr_at(120) == train.lr_at(120)
    cosine = TrainConfig(lr_schedule="cosine", warmup=10)
    assert switch_off("warm-up", model, cosine)[1].lr_decay_start == 0  # only the inverse_sqrt decay has a start
    with pytest.raises(ValueError, match="detail must be one of"):
        switch_off("dropout", model, train)


def test_ablate_training_details_same_seed_same_budget():
    from attnbook.transformer import ablate_training_details

    small = make_dates_data(DatesConfig(n_train=200, n_test=20))
    model = TransformerConfig.for_vocabs(small.src_vocab, small.tgt_vocab, d_model=16, nhead=2, num_layers=1,
                                         num_decoder_layers=1, dim_feedforward=32, tie_weights=True)
    train = TrainConfig(steps=4, batch_size=8, lr=1e-2, lr_schedule="inverse_sqrt", warmup=2, label_smoothing=0.1,
                        progress=False)
    runs = ablate_training_details(small, model, train, seed=3, details=("warm-up", "weight tying"))
    assert list(runs) == ["full recipe", "no warm-up", "no weight tying"]
    full = runs["full recipe"]
    assert all(r.result.steps == 4 and r.train_config.seed == 3 for r in runs.values())
    assert full.parameters == runs["no warm-up"].parameters < runs["no weight tying"].parameters
    assert runs["no warm-up"].train_config.warmup == 0 and runs["no warm-up"].train_config.lr_decay_start == 2
    assert runs["no warm-up"].result.losses[0] == pytest.approx(full.result.losses[0])  # same weights, same batch
    assert all(0 <= r.exact_match <= 1 and 0 <= r.token_accuracy <= 1 and r.heldout_nll > 0 for r in runs.values())
    with pytest.raises(ValueError, match="must use label smoothing"):
        ablate_training_details(small, model, TrainConfig(steps=1, warmup=1), details=("label smoothing",))
    with pytest.raises(ValueError, match="detail must be one of"):
        ablate_training_details(small, model, train, details=("dropout",))
