"""attnbook.train: the shared loop's schedule, what it records, and training sets encoded once."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from attnbook.train import TrainConfig, encoded_once, run_training


def test_cosine_schedule_falls_to_lr_final():
    cfg = TrainConfig(steps=100, lr=1e-2, lr_schedule="cosine", lr_final=0.1)
    assert cfg.lr_at(1) == pytest.approx(1e-2)
    assert cfg.lr_at(51) == pytest.approx(1e-2 * (0.1 + 0.9 * 0.5))  # half way: half way down
    assert 1e-3 < cfg.lr_at(100) < 1.01e-3  # the last step: just above lr × lr_final
    rates = [cfg.lr_at(s) for s in range(1, 101)]
    assert all(a > b for a, b in zip(rates, rates[1:]))
    # lr_final = 0 (the default) is the plain cosine, to the last bit
    plain = TrainConfig(steps=900, lr=1e-2, lr_schedule="cosine")
    assert all(plain.lr_at(s) == 1e-2 * 0.5 * (1.0 + math.cos(math.pi * (s - 1) / 900)) for s in range(1, 901))
    assert TrainConfig(steps=100, lr=1e-2, lr_schedule="cosine", lr_final=1.0).lr_at(77) == 1e-2


@pytest.mark.parametrize("bad, match", [
    (dict(lr_final=1.5), "lr_final"),
    (dict(lr=0.0), "lr"),
    (dict(log_every=0), "log_every"),
    (dict(callback_every=-1), "callback_every"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(lr_schedule="step"), "lr_schedule must be one of"),
])
def test_train_config_rejects_bad_settings(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**bad)


def _regression(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Linear(3, 1)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return model, x, y


def test_run_training_records_what_batch_loss_logs():
    """batch_loss may return (loss, logged): the loss is minimised, the logged number recorded."""
    model, x, y = _regression()
    cfg = TrainConfig(steps=30, lr=0.05, progress=False)

    def mse(generator):
        idx = torch.randint(len(x), (16,), generator=generator)
        return ((model(x[idx]).squeeze(-1) - y[idx]) ** 2).mean()

    plain = run_training(model, cfg, mse)
    assert plain.steps == 30 and len(plain.losses) == 30 and plain.losses[-1] < plain.losses[0]

    model2, _, _ = _regression()
    logged = run_training(model2, cfg, lambda g: _pair(model2, x, y, g))
    assert logged.losses == [7.0] * 30  # the logged value, not the loss ...
    assert ((model2(x).squeeze(-1) - y) ** 2).mean() < ((_regression()[0](x).squeeze(-1) - y) ** 2).mean()  # ... minimised


def _pair(model, x, y, generator):
    idx = torch.randint(len(x), (16,), generator=generator)
    return ((model(x[idx]).squeeze(-1) - y[idx]) ** 2).mean(), torch.tensor(7.0)


def test_encoded_once_reuses_a_result_while_the_sources_are_the_same():
    calls = []

    def encode(items, vocab, grid):
        calls.append((len(items), grid))
        return [grid * v for v in items]

    items, vocab = [1, 2, 3], object()
    first = encoded_once(encode, items, vocab, 4)
    assert encoded_once(encode, items, vocab, 4) is first and len(calls) == 1  # the same objects: reused
    assert encoded_once(encode, list(items), vocab, 4) is not first  # equal but another list: encoded again
    assert encoded_once(encode, items, vocab, 2) == [2, 4, 6]  # another number: encoded again
    items.append(4)
    assert encoded_once(encode, items, vocab, 4) == [4, 8, 12, 16]  # the list grew: encoded again
    assert len(calls) == 4
    a, b, c = [1], [2], [3]
    for xs in (a, b, c):
        encoded_once(encode, xs, vocab, 1)
    encoded_once(encode, c, vocab, 1)
    encoded_once(encode, b, vocab, 1)
    assert len(calls) == 7  # the last two are kept ...
    encoded_once(encode, a, vocab, 1)
    assert len(calls) == 8  # ... the one before them is not


# --- The Transformer's training details: warm-up, the inverse-square-root schedule, label smoothing ------------
def test_inverse_sqrt_schedule_is_the_papers_shape():
    """With warm-up W the rate is lr × min(step / W, sqrt(W / step)): linear up to its peak at step W, then 1/√step."""
    cfg = TrainConfig(steps=400, lr=1e-2, lr_schedule="inverse_sqrt", warmup=40)
    for step in (1, 10, 39, 40, 41, 100, 160, 400):
        assert cfg.lr_at(step) == pytest.approx(1e-2 * min(step / 40, math.sqrt(40 / step)))
    assert cfg.lr_at(1) == pytest.approx(1e-2 / 40) and cfg.lr_at(40) == pytest.approx(1e-2)
    assert cfg.lr_at(160) == pytest.approx(1e-2 / 2)  # four times the warm-up: half the peak
    rates = [cfg.lr_at(s) for s in range(1, 401)]
    assert max(rates) == rates[39]  # the peak is at the end of the warm-up
    assert all(a < b for a, b in zip(rates[:40], rates[1:40])) and all(a > b for a, b in zip(rates[39:], rates[40:]))
    # Vaswani et al.: lrate = D^-0.5 · min(step^-0.5, step · W^-1.5) is this with lr = D^-0.5 · W^-0.5
    D, W = 512, 4000
    paper = TrainConfig(steps=100_000, lr=D ** -0.5 * W ** -0.5, lr_schedule="inverse_sqrt", warmup=W)
    for step in (1, 1000, 4000, 10_000, 100_000):
        assert paper.lr_at(step) == pytest.approx(D ** -0.5 * min(step ** -0.5, step * W ** -1.5))


def test_warmup_switched_off_keeps_the_peak_and_the_decay():
    with_warmup = TrainConfig(steps=300, lr=1e-2, lr_schedule="inverse_sqrt", warmup=50)
    without = TrainConfig(steps=300, lr=1e-2, lr_schedule="inverse_sqrt", lr_decay_start=50)
    assert [without.lr_at(s) for s in (1, 25, 50)] == [1e-2] * 3  # the peak rate from step 1 ...
    assert all(without.lr_at(s) == pytest.approx(with_warmup.lr_at(s)) for s in range(50, 301))  # ... the same decay
    assert TrainConfig(lr=1e-2, lr_schedule="inverse_sqrt").lr_at(4) == pytest.approx(5e-3)  # neither: 1/√step
    # a warm-up works on any schedule, and without one the schedules are what they were
    assert TrainConfig(lr=1e-2, warmup=10).lr_at(5) == pytest.approx(5e-3)
    assert TrainConfig(lr=1e-2, warmup=10).lr_at(11) == 1e-2
    cosine = TrainConfig(steps=100, lr=1e-2, lr_schedule="cosine", warmup=20)
    assert cosine.lr_at(10) == pytest.approx(0.5 * TrainConfig(steps=100, lr=1e-2, lr_schedule="cosine").lr_at(10))


def test_run_training_follows_the_warmup(monkeypatch):
    """The loop sets each step's rate from lr_at, also for a constant schedule with a warm-up."""
    optimizers, rates = [], []
    adam = torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda *a, **kw: optimizers.append(adam(*a, **kw)) or optimizers[-1])
    model, x, y = _regression()

    def mse(generator):
        rates.append(optimizers[0].param_groups[0]["lr"])
        idx = torch.randint(len(x), (16,), generator=generator)
        return ((model(x[idx]).squeeze(-1) - y[idx]) ** 2).mean()

    run_training(model, TrainConfig(steps=8, lr=0.04, warmup=4, progress=False), mse)
    assert rates == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.04, 0.04, 0.04, 0.04])
    assert optimizers[0].defaults["betas"] == (0.9, 0.999) and optimizers[0].defaults["eps"] == 1e-8  # torch's
    run_training(model, TrainConfig(steps=1, betas=(0.9, 0.98), eps=1e-9, progress=False), mse)
    assert optimizers[1].defaults["betas"] == (0.9, 0.98) and optimizers[1].defaults["eps"] == 1e-9


def test_label_smoothing_loss_matches_a_hand_computation():
    """ε-smoothed target: (1 - ε) on the right word + ε / V on every word; the loss is its cross-entropy."""
    from attnbook.train import seq2seq_loss

    class Fixed(nn.Module):
        pad_id = 0

        def __init__(self, logits):
            super().__init__()
            self.logits = logits

        def forward(self, src, src_lengths, tgt_in):
            return self.logits, None

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 7, generator=g)  # (B, T, V)
    tgt_out = torch.tensor([[3, 5, 2], [4, 2, 0]])  # the last target of sentence 2 is padding
    model = Fixed(logits)
    args = (None, None, None, tgt_out)
    eps = 0.1
    log_p = logits.log_softmax(-1)  # (B, T, V)
    real = tgt_out != 0
    target = torch.full_like(log_p, eps / 7).scatter_add(-1, tgt_out[..., None], torch.full((2, 3, 1), 1 - eps))
    by_hand = -(target * log_p).sum(-1)[real].mean()
    plain = -log_p.gather(-1, tgt_out[..., None]).squeeze(-1)[real].mean()
    assert seq2seq_loss(model, *args, label_smoothing=eps) == pytest.approx(by_hand.item(), rel=1e-6)
    assert seq2seq_loss(model, *args) == pytest.approx(plain.item(), rel=1e-6)
    assert torch.equal(seq2seq_loss(model, *args), seq2seq_loss(model, *args, label_smoothing=0.0))
    # the smoothed loss is the plain one plus ε times the mean distance to the uniform distribution
    uniform = -(log_p.mean(-1))[real].mean()
    assert by_hand.item() == pytest.approx(((1 - eps) * plain + eps * uniform).item(), rel=1e-6)


def test_train_seq2seq_minimises_the_smoothed_loss_and_logs_the_plain_one():
    from attnbook.data import make_dates_data
    from attnbook.train import heldout_cross_entropy, seq2seq_loss, train_seq2seq
    from attnbook.transformer import Seq2SeqTransformer, TransformerConfig

    data = make_dates_data()
    config = TransformerConfig.for_vocabs(data.src_vocab, data.tgt_vocab, d_model=16, nhead=2, num_layers=1,
                                          num_decoder_layers=1, dim_feedforward=32)
    runs = {}
    for eps in (0.0, 0.3):
        torch.manual_seed(0)
        model = Seq2SeqTransformer(config)
        runs[eps] = (model, train_seq2seq(model, data, TrainConfig(steps=3, batch_size=8, progress=False,
                                                                    label_smoothing=eps, seed=0)))
    plain, smoothed = runs[0.0][1].losses, runs[0.3][1].losses
    assert plain[0] == pytest.approx(smoothed[0])  # the same model and batch: the same plain loss logged ...
    assert plain[1] != pytest.approx(smoothed[1])  # ... but a different loss was minimised
    # heldout_cross_entropy: the plain teacher-forced loss, pooled over the target tokens
    model = runs[0.3][0]
    batch = data.batch(data.test[:5])
    with torch.no_grad():
        direct = seq2seq_loss(model, batch.src, batch.src_lengths, batch.tgt_in, batch.tgt_out).item()
    assert heldout_cross_entropy(model, data, examples=data.test[:5]) == pytest.approx(direct, rel=1e-5)
    assert heldout_cross_entropy(model, data, examples=data.test[:5], batch_size=2) == pytest.approx(direct, rel=1e-5)
    with pytest.raises(ValueError, match="at least one"):
        heldout_cross_entropy(model, data, examples=[])


@pytest.mark.parametrize("bad, match", [
    (dict(warmup=-1), "warmup"),
    (dict(warmup=2.5), "warmup"),
    (dict(lr_decay_start=-3, lr_schedule="inverse_sqrt"), "lr_decay_start"),
    (dict(lr_decay_start=10), "inverse_sqrt"),
    (dict(label_smoothing=1.0), "label_smoothing"),
    (dict(label_smoothing=-0.1), "label_smoothing"),
    (dict(betas=(0.9, 1.0)), "betas"),
    (dict(betas=(0.9,)), "betas"),
    (dict(eps=0.0), "eps"),
])
def test_train_config_rejects_bad_training_details(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**bad)
