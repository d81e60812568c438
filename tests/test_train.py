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
