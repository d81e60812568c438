"""The package's top level: seeding and device choice."""
import random

import numpy as np
import pytest
import torch

import attnbook


def test_seed_everything_reads_the_environment(monkeypatch):
    monkeypatch.setenv("ATTNBOOK_SEED", "3")
    assert attnbook.seed_everything() == 3
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    attnbook.seed_everything(3)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_seed_everything_defaults_to_zero(monkeypatch):
    monkeypatch.delenv("ATTNBOOK_SEED", raising=False)
    assert attnbook.seed_everything() == 0


@pytest.mark.parametrize("bad", ["abc", "1.5", "-2"])
def test_bad_seed_in_the_environment_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv("ATTNBOOK_SEED", bad)
    with pytest.raises(ValueError, match="ATTNBOOK_SEED|non-negative"):
        attnbook.seed_everything()


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_seed_argument_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="seed"):
        attnbook.seed_everything(bad)


def test_get_device_falls_back_to_cpu():
    dev = attnbook.get_device()
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert attnbook.get_device(prefer_cuda=False).type == "cpu"


def test_threads_from_the_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("ATTNBOOK_THREADS", "1")
        attnbook.seed_everything(0)
        assert torch.get_num_threads() == 1
        monkeypatch.delenv("ATTNBOOK_THREADS")
        assert attnbook.resolve_threads() is None
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("bad", ["0", "two", "-1"])
def test_bad_thread_count_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv("ATTNBOOK_THREADS", bad)
    with pytest.raises(ValueError, match="ATTNBOOK_THREADS"):
        attnbook.seed_everything(0)
