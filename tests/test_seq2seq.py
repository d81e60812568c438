"""attnbook.seq2seq and attnbook.train: shapes, padding, the decoder contract,
greedy decoding, bad input, scoring, and a few-second training smoke test."""
from __future__ import annotations

import pytest
import torch

import attnbook
from attnbook.data import ReorderConfig, make_batch, make_reorder_data
from attnbook.seq2seq import (
    AttentionDecoder,
    BaseDecoder,
    Decoder,
    Encoder,
    FixedContextDecoder,
    Seq2Seq,
    Seq2SeqConfig,
)
from attnbook.train import (
    TrainConfig,
    evaluate,
    format_table,
    score_translations,
    train_seq2seq,
    translate_examples,
)

TINY = ReorderConfig(n_words=6, min_len=3, max_len=8, n_train=600, n_test_per_bucket=20, buckets=((3, 5), (6, 8)))


@pytest.fixture(scope="module")
def data():
    return make_reorder_data(TINY, seed=0)


def make_model(data, **kw):
    torch.manual_seed(0)
    return Seq2Seq.from_config(Seq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, **kw))


def test_config_from_vocabs(data):
    cfg = Seq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, hidden_size=16)
    assert (cfg.src_vocab_size, cfg.tgt_vocab_size, cfg.hidden_size) == (10, 10, 16)
    assert (cfg.pad_id, cfg.bos_id, cfg.eos_id) == (0, 1, 2)
    with pytest.raises(ValueError, match="hidden_size"):
        Seq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10, hidden_size=0)
    with pytest.raises(ValueError, match="dropout"):
        Seq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10, dropout=1.0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_shapes(data, bidirectional):
    model = make_model(data, hidden_size=12, emb_dim=8, bidirectional=bidirectional)
    b = make_batch(data.test[:7], data.src_vocab, data.tgt_vocab)
    B, S = b.src.shape
    T = b.tgt_in.shape[1]
    logits, weights = model(b.src, b.src_lengths, b.tgt_in)
    assert logits.shape == (B, T, len(data.tgt_vocab)) and weights is None
    enc = model.encoder(b.src, b.src_lengths)
    De = 24 if bidirectional else 12
    assert enc.annotations.shape == (B, S, De) and enc.final.shape == (B, De) and enc.mask.shape == (B, S)
    assert enc.mask.sum(1).tolist() == b.src_lengths.tolist()
    assert torch.all(enc.annotations[~enc.mask] == 0)  # padding gives zero annotations


def test_bidirectional_final_state_is_forward_last_and_backward_first(data):
    model = make_model(data, hidden_size=5, bidirectional=True)
    b = make_batch(data.test[:6], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    for i, n in enumerate(b.src_lengths.tolist()):
        assert torch.allclose(enc.final[i, :5], enc.annotations[i, n - 1, :5], atol=1e-6)
        assert torch.allclose(enc.final[i, 5:], enc.annotations[i, 0, 5:], atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_the_encoding(data, bidirectional):
    model = make_model(data, hidden_size=8, bidirectional=bidirectional)
    examples = data.test[:5]
    b = make_batch(examples, data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    for i, e in enumerate(examples):
        alone = make_batch([e], data.src_vocab, data.tgt_vocab)
        enc1 = model.encoder(alone.src, alone.src_lengths)
        n = len(e.source)
        assert torch.allclose(enc.final[i], enc1.final[0], atol=1e-6)
        assert torch.allclose(enc.annotations[i, :n], enc1.annotations[0, :n], atol=1e-6)


def test_decoder_forward_equals_the_step_loop(data):
    """The contract an AttentionDecoder relies on: forward == looping step()."""
    model = make_model(data, hidden_size=10, bidirectional=True)
    b = make_batch(data.test[:4], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    fast, _ = model.decoder(b.tgt_in, enc)
    slow, weights = BaseDecoder.forward(model.decoder, b.tgt_in, enc)
    assert weights is None
    assert torch.allclose(fast, slow, atol=1e-5)


def test_decoder_without_attention_ignores_the_annotations(data):
    model = make_model(data, hidden_size=10)
    b = make_batch(data.test[:4], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    scrambled = enc._replace(annotations=torch.randn_like(enc.annotations))
    assert torch.equal(model.decoder(b.tgt_in, enc)[0], model.decoder(b.tgt_in, scrambled)[0])


def test_greedy_decode_agrees_with_teacher_forcing_on_its_own_output(data):
    model = make_model(data, hidden_size=16)
    b = make_batch(data.test[:8], data.src_vocab, data.tgt_vocab)
    out = model.greedy_decode(b.src, b.src_lengths, max_len=12)
    B, L = out.tokens.shape
    assert out.lengths.shape == (B,) and out.weights is None and L <= 12
    tgt_in = torch.cat([torch.full((B, 1), model.bos_id), out.tokens[:, :-1]], dim=1)  # (B, L)
    logits, _ = model(b.src, b.src_lengths, tgt_in)
    for i in range(B):
        n = int(out.lengths[i])
        upto = min(n + 1, L)  # the tokens and the <eos>
        assert torch.equal(logits[i, :upto].argmax(-1), out.tokens[i, :upto])
        if n < L:
            assert out.tokens[i, n].item() == model.eos_id
            assert torch.all(out.tokens[i, n + 1:] == model.pad_id)
            assert model.eos_id not in out.tokens[i, :n].tolist()
    assert model.training  # mode restored


def test_greedy_decode_stops_when_every_sentence_has_ended(data):
    model = make_model(data, hidden_size=8)
    with torch.no_grad():  # make <eos> always the most likely word
        model.decoder.out.bias.fill_(-10.0)
        model.decoder.out.bias[model.eos_id] = 10.0
    b = make_batch(data.test[:3], data.src_vocab, data.tgt_vocab)
    out = model.greedy_decode(b.src, b.src_lengths)
    assert out.tokens.shape == (3, 1) and out.lengths.tolist() == [0, 0, 0]


def test_bad_input_raises_value_error_naming_shapes(data):
    model = make_model(data, hidden_size=8)
    src, lengths = torch.ones(2, 5, dtype=torch.long), torch.tensor([5, 3])
    tgt = torch.ones(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"\(B, S\)"):
        model(src[0], lengths, tgt)
    with pytest.raises(ValueError, match=r"src_lengths must have shape \(B,\) = \(2,\)"):
        model(src, torch.tensor([5]), tgt)
    with pytest.raises(ValueError, match=r"1\.\.S = 1\.\.5"):
        model(src, torch.tensor([6, 3]), tgt)
    with pytest.raises(ValueError, match=r"1\.\.S"):
        model(src, torch.tensor([0, 3]), tgt)
    with pytest.raises(ValueError, match="integer token ids"):
        model(src.float(), lengths, tgt)
    with pytest.raises(ValueError, match="different batch sizes"):
        model(src, lengths, tgt[:1])
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(src, lengths, tgt[0])
    with pytest.raises(ValueError, match=r"\(B, S\)"):
        model.greedy_decode(src[0], lengths)
    with pytest.raises(ValueError, match="max_len"):
        model.greedy_decode(src, lengths, max_len=0)


def test_parts_can_be_assembled_by_hand(data):
    enc = Encoder(vocab_size=len(data.src_vocab), emb_dim=8, hidden_size=6, bidirectional=True)
    dec = Decoder(vocab_size=len(data.tgt_vocab), emb_dim=8, hidden_size=6, enc_dim=enc.out_dim)
    model = Seq2Seq(encoder=enc, decoder=dec)
    b = make_batch(data.test[:2], data.src_vocab, data.tgt_vocab)
    assert model(b.src, b.src_lengths, b.tgt_in)[0].shape[:2] == b.tgt_in.shape
    with pytest.raises(TypeError):
        Seq2Seq(enc, dec)  # keyword-only


# --- the decoder with a fixed context (chapter 3's no-attention baseline) ------


def test_the_default_config_still_builds_the_plain_decoder(data):
    model = make_model(data, hidden_size=8, bidirectional=True)
    assert type(model.decoder) is Decoder and not model.config.fixed_context
    fixed = make_model(data, hidden_size=8, bidirectional=True, fixed_context=True)
    assert type(fixed.decoder) is FixedContextDecoder
    assert fixed.decoder.hidden_size == 8 and fixed.decoder.enc_dim == 16  # Hd = H, c = [forward; backward]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_fixed_context_decoder_forward_equals_the_step_loop(data, bidirectional):
    model = make_model(data, hidden_size=10, emb_dim=6, bidirectional=bidirectional, fixed_context=True)
    b = make_batch(data.test[:5], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    fast, weights = model.decoder(b.tgt_in, enc)
    slow, slow_weights = BaseDecoder.forward(model.decoder, b.tgt_in, enc)
    assert weights is None and slow_weights is None
    assert fast.shape == (*b.tgt_in.shape, len(data.tgt_vocab))
    assert torch.allclose(fast, slow, atol=1e-5)


def test_fixed_context_decoder_reads_the_summary_and_never_the_annotations(data):
    model = make_model(data, hidden_size=10, bidirectional=True, fixed_context=True)
    b = make_batch(data.test[:4], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    logits = model.decoder(b.tgt_in, enc)[0]
    scrambled = enc._replace(annotations=torch.randn_like(enc.annotations))
    assert torch.equal(logits, model.decoder(b.tgt_in, scrambled)[0])
    # the summary reaches every step, not just the first state: change it only after s_0 is computed
    s0 = model.decoder.init_state(enc)
    other = enc._replace(final=torch.randn_like(enc.final))
    y = b.tgt_in[:, 0]
    step_logits, _, _ = model.decoder.step(y, s0, enc)
    other_logits, _, _ = model.decoder.step(y, s0, other)
    assert not torch.allclose(step_logits, other_logits)


def test_fixed_context_decoder_is_the_attention_decoder_with_its_context_fixed(data):
    """Bahdanau et al.: the model "becomes RNN Encoder-Decoder if we fix c_i". Copy an
    AttentionDecoder's weights into a FixedContextDecoder and make the attention decoder's
    context the summary: the two give the same logits."""
    torch.manual_seed(0)
    E, De, Hd, V = 5, 12, 7, len(data.tgt_vocab)
    att = AttentionDecoder(vocab_size=V, emb_dim=E, enc_dim=De, hidden_size=Hd)
    fixed = FixedContextDecoder(vocab_size=V, emb_dim=E, enc_dim=De, hidden_size=Hd)
    own = {k: v for k, v in att.state_dict().items() if not k.startswith("attention.")}
    renamed = {k.replace("rnn.weight_ih", "rnn.weight_ih_l0").replace("rnn.weight_hh", "rnn.weight_hh_l0")
               .replace("rnn.bias_ih", "rnn.bias_ih_l0").replace("rnn.bias_hh", "rnn.bias_hh_l0"): v
               for k, v in own.items()}
    assert {k: v.shape for k, v in renamed.items()} == {k: v.shape for k, v in fixed.state_dict().items()}
    fixed.load_state_dict(renamed)
    encoder = Encoder(vocab_size=len(data.src_vocab), emb_dim=E, hidden_size=De // 2, bidirectional=True)
    b = make_batch(data.test[:4], data.src_vocab, data.tgt_vocab)
    enc = encoder(b.src, b.src_lengths)
    att.attend = lambda query, keys, enc, t, lengths: (enc.final, enc.mask.float() / enc.mask.sum(1, keepdim=True),
                                                       None)
    assert torch.allclose(att(b.tgt_in, enc)[0], fixed(b.tgt_in, enc)[0], atol=1e-5)


def test_fixed_context_greedy_decode_agrees_with_teacher_forcing(data):
    model = make_model(data, hidden_size=12, bidirectional=True, fixed_context=True)
    b = make_batch(data.test[:6], data.src_vocab, data.tgt_vocab)
    out = model.greedy_decode(b.src, b.src_lengths, max_len=10)
    B, L = out.tokens.shape
    assert out.weights is None
    tgt_in = torch.cat([torch.full((B, 1), model.bos_id), out.tokens[:, :-1]], dim=1)  # (B, L)
    logits, _ = model(b.src, b.src_lengths, tgt_in)
    for i in range(B):
        upto = min(int(out.lengths[i]) + 1, L)
        assert torch.equal(logits[i, :upto].argmax(-1), out.tokens[i, :upto])


def test_fixed_context_decoder_bad_input(data):
    with pytest.raises(ValueError, match="enc_dim must be a positive integer"):
        FixedContextDecoder(vocab_size=10, emb_dim=4, enc_dim=0)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        FixedContextDecoder(vocab_size=10, emb_dim=4, enc_dim=8, hidden_size=-2)
    with pytest.raises(TypeError):
        FixedContextDecoder(10, 4, 8)  # keyword-only
    model = make_model(data, hidden_size=6, bidirectional=True, fixed_context=True)
    b = make_batch(data.test[:2], data.src_vocab, data.tgt_vocab)
    enc = model.encoder(b.src, b.src_lengths)
    with pytest.raises(ValueError, match=r"enc.final must have shape \(B, enc_dim\) = \(B, 12\), got \(2, 6\)"):
        model.decoder(b.tgt_in, enc._replace(final=enc.final[:, :6]))


# --- scoring -----------------------------------------------------------------


def test_score_translations_by_hand():
    refs = [["a", "b", "c", "d"], ["a", "b"], ["x"] * 12]
    preds = [["a", "b", "c", "d"], ["a"], ["x"] * 6 + ["y"] * 7]
    res = score_translations(preds, refs, [4, 2, 12], buckets=((1, 4), (5, 20)))
    assert res["overall"] == pytest.approx({"n": 3, "exact_match": 1 / 3, "token_accuracy": (4 + 1 + 6) / 18})
    small, large = res["by_bucket"]
    assert small["bucket"] == "1-4" and small["n"] == 2
    assert small["exact_match"] == pytest.approx(0.5) and small["token_accuracy"] == pytest.approx(5 / 6)
    assert large["exact_match"] == 0 and large["token_accuracy"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same length"):
        score_translations(preds, refs[:2], [4, 2, 12])


# --- training smoke test -----------------------------------------------------


def test_training_is_seeded_learns_and_evaluates(data):
    cfg = TrainConfig(steps=120, batch_size=32, lr=1e-2, seed=0, progress=False)
    runs = []
    for _ in range(2):
        attnbook.seed_everything(0)
        model = Seq2Seq.from_config(Seq2SeqConfig.for_vocabs(data.src_vocab, data.tgt_vocab, hidden_size=32))
        runs.append((model, train_seq2seq(model, data, cfg)))
    (model, result), (_, again) = runs
    assert result.steps == 120 and result.stopped_by == "steps" and result.steps_per_second > 0
    assert result.losses == again.losses  # same seed, same run
    assert sum(result.losses[-10:]) < 0.6 * sum(result.losses[:10])
    ev = evaluate(model, data)
    assert [r["bucket"] for r in ev["by_bucket"]] == ["3-5", "6-8"]
    assert [r["n"] for r in ev["by_bucket"]] == [20, 20] and ev["overall"]["n"] == 40
    assert len(ev["predictions"]) == len(data.test)
    assert ev["by_bucket"][0]["token_accuracy"] > 0.5  # chance is 1/6
    assert "3-5" in format_table(ev) and "all" in format_table(ev)
    preds = translate_examples(model, data.test[:3], data.src_vocab, data.tgt_vocab)
    assert preds == ev["predictions"][:3]


def test_time_budget_and_callback(data):
    attnbook.seed_everything(0)
    model = make_model(data, hidden_size=8)
    seen = []
    result = train_seq2seq(
        model,
        data,
        TrainConfig(steps=10_000, max_seconds=0.5, batch_size=8, progress=False, callback_every=5),
        callback=lambda step, m: seen.append(step),
    )
    assert result.stopped_by == "time" and 0 < result.steps < 10_000
    assert seen and seen[-1] == result.steps and all(s % 5 == 0 for s in seen[:-1])


def test_train_config_validation():
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="max_seconds"):
        TrainConfig(max_seconds=0)
    with pytest.raises(ValueError, match="length_grouping"):
        TrainConfig(length_grouping=0)
