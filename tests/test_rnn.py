"""attnbook.rnn: the from-scratch RNN against torch.nn.RNN, and the gradient probes
against an independent reference (autograd through the whole unrolled chain)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from attnbook.rnn import (
    RNN,
    RNNCell,
    gated_rnn_gradient_norms,
    gradient_norms,
    matrix_with_spectral_radius,
    rnn_cell_step,
    vanilla_rnn_gradient_norms,
)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_matches_torch_rnn_with_copied_weights(nonlinearity, bias):
    torch.manual_seed(0)
    ours = RNN(input_size=5, hidden_size=7, bias=bias, nonlinearity=nonlinearity)
    ref = nn.RNN(5, 7, batch_first=True, bias=bias, nonlinearity=nonlinearity)
    assert set(ours.state_dict()) == set(ref.state_dict())
    ref.load_state_dict(ours.state_dict())
    x, h0 = torch.randn(3, 11, 5), torch.randn(3, 7)
    out, h = ours(x, h0)
    out_ref, h_ref = ref(x, h0[None])
    assert out.shape == (3, 11, 7) and h.shape == (3, 7)
    assert torch.allclose(out, out_ref, atol=1e-6)
    assert torch.allclose(h, h_ref[0], atol=1e-6)


def test_weights_copy_the_other_way_and_gradients_agree():
    torch.manual_seed(1)
    ref = nn.RNN(4, 6, batch_first=True)
    ours = RNN(input_size=4, hidden_size=6)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 9, 4)
    ours(x)[0].pow(2).sum().backward()
    ref(x)[0].pow(2).sum().backward()
    for name, p in ours.named_parameters():
        assert torch.allclose(p.grad, dict(ref.named_parameters())[name].grad, atol=1e-6), name


def test_cell_matches_torch_rnncell_and_the_formula():
    torch.manual_seed(2)
    cell = RNNCell(input_size=3, hidden_size=4)
    ref = nn.RNNCell(3, 4)
    ref.load_state_dict(cell.state_dict())
    x, h = torch.randn(5, 3), torch.randn(5, 4)
    assert torch.allclose(cell(x, h), ref(x, h), atol=1e-6)
    by_hand = torch.tanh(x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
    assert torch.allclose(cell(x, h), by_hand, atol=1e-6)
    assert torch.allclose(cell(x), ref(x), atol=1e-6)  # h=None means zeros


def test_rnn_maps_T_inputs_to_T_outputs():
    rnn = RNN(input_size=2, hidden_size=3)
    for T in (1, 4, 13):
        assert rnn(torch.randn(1, T, 2))[0].shape == (1, T, 3)


def test_bad_input_raises_value_error_naming_shapes():
    rnn = RNN(input_size=2, hidden_size=3)
    with pytest.raises(ValueError, match=r"\(B, T, I=2\)"):
        rnn(torch.randn(4, 2))
    with pytest.raises(ValueError, match=r"\(B, T, I=2\)"):
        rnn(torch.randn(4, 5, 3))
    with pytest.raises(ValueError, match=r"h0 must be \(B=4, H=3\)"):
        rnn(torch.randn(4, 5, 2), torch.randn(1, 4, 3))
    cell = RNNCell(input_size=2, hidden_size=3)
    with pytest.raises(ValueError, match="h must be"):
        cell(torch.randn(4, 2), torch.randn(4, 2))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(input_size=2, hidden_size=3, nonlinearity="sigmoid")


def test_rnn_cell_step_without_bias():
    x, h, w_ih, w_hh = torch.randn(2, 3), torch.randn(2, 4), torch.randn(4, 3), torch.randn(4, 4)
    assert torch.allclose(rnn_cell_step(x, h, w_ih, w_hh), torch.tanh(x @ w_ih.T + h @ w_hh.T))


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.5])
def test_matrix_with_spectral_radius(radius):
    w = matrix_with_spectral_radius(32, radius, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert w.shape == (32, 32)
    assert torch.linalg.eigvals(w).abs().max().item() == pytest.approx(radius, rel=1e-9)


def _reference_norms(rnn: RNN, x: torch.Tensor) -> torch.Tensor:
    """||dh_T/dh_t||_2 by autograd through the whole remaining chain (no chain-rule product)."""
    T = x.shape[0]
    hs = [torch.zeros(rnn.hidden_size, dtype=x.dtype)]
    for t in range(T):
        hs.append(rnn.step(x[t][None], hs[-1][None])[0].detach())

    def run_from(t):
        def f(h):
            for k in range(t, T):
                h = rnn.step(x[k][None], h[None])[0]
            return h
        return f

    return torch.stack(
        [torch.linalg.matrix_norm(torch.autograd.functional.jacobian(run_from(t), hs[t]), ord=2) for t in range(T + 1)]
    )


def test_gradient_norms_match_autograd_through_the_whole_chain():
    torch.manual_seed(3)
    rnn = RNN(input_size=3, hidden_size=6).double()
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(matrix_with_spectral_radius(6, 1.2, dtype=torch.float64))
    x = torch.randn(12, 3, dtype=torch.float64)
    norms = gradient_norms(rnn, x)
    assert norms.shape == (13,)
    assert norms[-1].item() == pytest.approx(1.0)
    assert torch.allclose(norms, _reference_norms(rnn, x), rtol=1e-8)


def test_gradient_norms_of_torch_rnn_equal_ours():
    torch.manual_seed(4)
    ours = RNN(input_size=3, hidden_size=5).double()
    ref = nn.RNN(3, 5, batch_first=True).double()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(10, 3, dtype=torch.float64)
    assert torch.allclose(gradient_norms(ours, x), gradient_norms(ref, x), rtol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_radius_half_vanishes_and_one_and_a_half_explodes(seed):
    small = vanilla_rnn_gradient_norms(0.5, steps=50, seed=seed)
    large = vanilla_rnn_gradient_norms(1.5, steps=50, seed=seed)
    assert small.shape == large.shape == (51,)
    assert small[0] / small[-1] <= 1e-3  # shrinks at least 1000x over 50 steps
    assert large[0] / large[-1] > 1.0  # grows
    assert torch.all(torch.isfinite(large))


def test_gradient_norm_grows_with_the_radius():
    first = [vanilla_rnn_gradient_norms(r, steps=50)[0].item() for r in (0.5, 0.9, 1.0, 1.1, 1.5)]
    assert first == sorted(first)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_gated_probes(kind):
    base = gated_rnn_gradient_norms(kind, steps=30)
    remember = gated_rnn_gradient_norms(kind, steps=30, memory_bias=3.0)
    assert base.shape == remember.shape == (31,)
    assert base[-1].item() == pytest.approx(1.0) and remember[-1].item() == pytest.approx(1.0)
    assert torch.all(torch.isfinite(base))
    assert remember[0] > 100 * base[0]  # a gate biased to keep the state keeps the gradient alive


def test_probe_rejects_unsupported_modules():
    with pytest.raises(ValueError, match="one-layer"):
        gradient_norms(nn.GRU(2, 3, num_layers=2), torch.randn(4, 2))
    with pytest.raises(ValueError, match="support"):
        gradient_norms(nn.Linear(2, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match=r"\(T, I\)"):
        gradient_norms(RNN(input_size=2, hidden_size=3), torch.randn(1, 4, 2))
    with pytest.raises(ValueError, match="kind"):
        gated_rnn_gradient_norms("rnn")
