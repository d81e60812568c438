"""attnbook.cost: the measurements behind chapter 7 (no timing thresholds here)."""
import numpy as np
import pytest
import torch

from attnbook.cost import (analytic_cost, attention_kernels, attention_matrix_bytes, compare_layers, crossover_length,
                           count_products, gradient_by_distance, make_layer, matrix_products, median_times, num_threads,
                           products_table, saved_tensor_bytes, thread_scaling, time_layer)


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


def test_compare_layers_and_crossover():
    rows = compare_layers([8, 16], [8, 12], batch=2, repeats=1)
    assert [(r["d"], r["n"]) for r in rows] == [(8, 8), (8, 16), (12, 8), (12, 16)]
    assert all(r["rnn_s"] > 0 and r["attention_s"] > 0 for r in rows)
    fake = [{"n": n, "rnn_s": 1.0, "attention_s": a} for n, a in [(32, 0.5), (64, 1.5), (128, 0.9), (256, 2), (512, 4)]]
    assert crossover_length(fake) == 256           # attention dearer from 256 on, at every longer n
    assert crossover_length(fake[:3]) is None      # cheaper again at the longest n: no crossover
    with pytest.raises(ValueError, match="several widths"):
        crossover_length(rows)
    with pytest.raises(ValueError, match="lengths"):
        compare_layers([], [8])
    with pytest.raises(ValueError, match="widths"):
        compare_layers([8], [0])


def test_thread_scaling_measures_every_combination():
    t = thread_scaling(16, 8, [1, 2], batch=2, repeats=1)
    assert set(t) == {"rnn", "attention"} and all(set(v) == {1, 2} for v in t.values())
    assert all(s > 0 for v in t.values() for s in v.values())
    with pytest.raises(ValueError, match="threads"):
        thread_scaling(16, 8, [0])


def test_float64_follows_the_gradient_below_float32():
    g32 = gradient_by_distance("rnn", 400, 16)
    g64 = gradient_by_distance("rnn", 400, 16, dtype=torch.float64)
    assert g32[0] == 0.0 and 0.0 < g64[0] < 1e-40      # float32 underflows; float64 does not
    assert np.allclose(g32[-50:], g64[-50:], rtol=1e-3)  # the same numbers where float32 can hold them
    with pytest.raises(ValueError, match="dtype"):
        gradient_by_distance("rnn", 4, 4, dtype=torch.float16)


def test_saved_bytes_show_the_matrix_the_fused_kernel_does_not_keep():
    x = torch.randn(3, 5, requires_grad=True)
    assert saved_tensor_bytes(lambda: (x * x).sum()) == 3 * 5 * 4   # x, saved once
    with pytest.raises(ValueError, match="requires grad"):
        saved_tensor_bytes(lambda: torch.ones(2))
    rows = attention_kernels([32, 128], batch=1, heads=2, head_dim=8, repeats=1)
    for r in rows:
        n = r["n"]
        assert r["matrix_bytes"] == 2 * n * n * 4
        assert r["readable_saved_bytes"] >= r["matrix_bytes"]          # keeps the weights
        assert r["fused_saved_bytes"] < 6 * 2 * n * 8 * 4              # O(n · Dh): q, k, v, output and a bit
        assert r["max_difference"] < 1e-5
        assert r["readable_s"] > 0 and r["fused_s"] > 0


def test_bad_device_is_named():
    with pytest.raises(ValueError, match="device"):
        time_layer("rnn", 4, 4, device="gpu0")


def test_matrix_products_one_per_step_for_the_recurrence_a_fixed_few_for_attention():
    for n in (5, 40):
        rnn = matrix_products("rnn", n, 16, batch=2)
        att = matrix_products("attention", n, 16, batch=2, heads=4)
        assert rnn["forward"]["calls"] == n + 1            # W x_t for all t at once, then U h_{t-1} per step
        assert att["forward"]["calls"] == 6                # q, k, v, scores, weighted sum, output
        for kind, counted in (("rnn", rnn), ("attention", att)):
            # what torch ran is exactly the counted formula, times the batch
            assert counted["forward"]["multiply_adds"] == 2 * analytic_cost(kind, n, 16)["multiply_adds"]
            assert counted["backward"]["calls"] > counted["forward"]["calls"]
        assert rnn["forward"]["median_multiply_adds"] == 2 * 16 * 16   # one step: (B, d) @ (d, d)
    assert "RNN products" in products_table(count_products([4], 8, batch=1))
    with pytest.raises(ValueError, match="n must"):
        matrix_products("rnn", 0, 4)
