"""attnbook.cost: the measurements behind chapter 7 (no timing thresholds here)."""
import numpy as np
import pytest
import torch

from attnbook.cost import (analytic_cost, attention_matrix_bytes, gradient_by_distance, make_layer, median_times,
                           num_threads, time_layer)


def test_layers_map_sequences_to_sequences():
    x = torch.randn(2, 7, 16)
    for kind in ("rnn", "attention"):
        assert make_layer(kind, 16, heads=4)(x).shape == (2, 7, 16)
    with pytest.raises(ValueError, match="kind"):
        make_layer("lstm", 16)
    with pytest.raises(ValueError, match="d must"):
        make_layer("rnn", 0)


def test_analytic_cost_matches_table1():
    rnn, att = analytic_cost("rnn", 100, 64), analytic_cost("attention", 100, 64)
    assert rnn == {"multiply_adds": 2 * 100 * 64 * 64, "sequential_steps": 100, "max_path_length": 100}
    assert att["sequential_steps"] == att["max_path_length"] == 1
    # attention's n² term overtakes as n grows past d
    assert analytic_cost("attention", 4096, 64)["multiply_adds"] > 10 * analytic_cost("rnn", 4096, 64)["multiply_adds"]
    with pytest.raises(ValueError, match="n must"):
        analytic_cost("rnn", 0, 4)


def test_gradient_fades_through_the_recurrence_not_through_attention():
    rnn = gradient_by_distance("rnn", 60, 32)
    att = gradient_by_distance("attention", 60, 32)
    assert rnn.shape == att.shape == (60,)
    assert rnn[0] < 1e-3 * rnn[-1]              # the first input barely reaches the last output
    assert att[0] > 1e-2 * att[:-1].max()       # through attention it is one step away
    assert att[0] > 100 * rnn[0]


def test_timing_helpers_return_positive_times_and_restore_threads():
    t = time_layer("attention", 16, 8, batch=2, repeats=2)
    assert t > 0
    assert time_layer("rnn", 16, 8, batch=2, repeats=2, backward=False) > 0
    calls = []
    out = median_times({"a": lambda: calls.append(1)}, repeats=3, warmup=2)
    assert len(calls) == 5 and out["a"] >= 0
    before = torch.get_num_threads()
    with num_threads(1) as k:
        assert k == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="repeats"):
        median_times({"a": lambda: None}, repeats=0)


def test_attention_matrix_bytes():
    assert attention_matrix_bytes(1024) == 4 * 1024 * 1024
    assert attention_matrix_bytes(10, batch=2, heads=8, dtype=torch.float16) == 2 * 8 * 100 * 2
