"""attnbook.playground: the attention model on points in the plane, its dot-product variant, REINFORCE."""
from __future__ import annotations

import math

import pytest
import torch

from attnbook.attention import AdditiveAttention
from attnbook.playground import (
    PLAYGROUND_POINTS,
    attention_playground,
    direction,
    fit_additive_to_dot,
    reinforce_estimates,
)


def test_playground_soft_hard_and_dot():
    torch.manual_seed(0)
    attn = AdditiveAttention(query_dim=2, key_dim=2, hidden_dim=5)
    c = torch.tensor([1.0, 0.5])
    out = attention_playground(PLAYGROUND_POINTS, c, attention=attn)
    n = PLAYGROUND_POINTS.shape[0]
    assert out["m"].shape == (n, 5) and out["s"].shape == (n,) and out["z"].shape == (2,)
    assert torch.isclose(out["s"].sum(), torch.tensor(1.0))
    assert torch.allclose(out["z"], out["s"] @ PLAYGROUND_POINTS)
    # the module's own forward gives the same weights and output
    z_ref, s_ref = attn(c[None], PLAYGROUND_POINTS[None])
    assert torch.allclose(out["s"], s_ref[0], atol=1e-6) and torch.allclose(out["z"], z_ref[0], atol=1e-6)
    # m_i depends on y_i alone: moving another point leaves it unchanged
    moved = PLAYGROUND_POINTS.clone()
    moved[1] += 3.0
    assert torch.allclose(attention_playground(moved, c, attention=attn)["m"][0], out["m"][0])
    dot = attention_playground(PLAYGROUND_POINTS, c)
    assert dot["m"] is None and torch.allclose(dot["scores"], PLAYGROUND_POINTS @ c)
    # temperature: cold -> the one-hot arg-max (hard attention), hot -> uniform
    cold = attention_playground(PLAYGROUND_POINTS, c, temperature=1e-3)
    hot = attention_playground(PLAYGROUND_POINTS, c, temperature=1e3)
    assert torch.allclose(cold["s"], cold["hard"], atol=1e-4)
    assert torch.allclose(hot["z"], PLAYGROUND_POINTS.mean(0), atol=1e-2)


def test_playground_rejects_bad_input():
    with pytest.raises(ValueError, match="points"):
        attention_playground(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="context"):
        attention_playground(PLAYGROUND_POINTS, torch.zeros(1, 2))
    with pytest.raises(ValueError, match="temperature"):
        attention_playground(PLAYGROUND_POINTS, torch.zeros(2), temperature=0)
    with pytest.raises(ValueError, match="same size"):
        attention_playground(PLAYGROUND_POINTS, torch.zeros(3))
    with pytest.raises(ValueError, match="expects"):
        attention_playground(PLAYGROUND_POINTS, torch.zeros(3),
                             attention=AdditiveAttention(query_dim=2, key_dim=2, hidden_dim=4))


def test_fit_additive_to_dot_is_deterministic():
    a1, agree1 = fit_additive_to_dot(steps=10, seed=1)
    a2, agree2 = fit_additive_to_dot(steps=10, seed=1)
    assert agree1 == agree2 and 0.0 <= agree1 <= 1.0
    assert all(torch.equal(p, q) for p, q in zip(a1.parameters(), a2.parameters()))


def test_reinforce_is_unbiased_and_a_baseline_cuts_its_variance():
    g = torch.Generator().manual_seed(0)
    scores, rewards = torch.tensor([1.0, 0.0, -0.5]), torch.tensor([-1.0, -3.0, -2.0])
    est, exact = reinforce_estimates(scores, rewards, n_samples=20000, generator=g)
    assert est.shape == (20000, 3) and exact.shape == (3,)
    s = torch.softmax(scores, 0)
    assert torch.allclose(exact, s * (rewards - (s * rewards).sum()))
    assert torch.allclose(est.mean(0), exact, atol=0.03)
    est_b, _ = reinforce_estimates(scores, rewards, n_samples=20000, generator=g,
                                   baseline=float((s * rewards).sum()))
    assert torch.allclose(est_b.mean(0), exact, atol=0.03)
    assert est_b.var(0).sum() < 0.5 * est.var(0).sum()
    with pytest.raises(ValueError, match="rewards"):
        reinforce_estimates(scores, rewards[:2])
    with pytest.raises(ValueError, match="n_samples"):
        reinforce_estimates(scores, rewards, n_samples=0)


def test_direction_and_the_six_points():
    assert torch.allclose(direction(90, 2.0), torch.tensor([0.0, 2.0]), atol=1e-6)
    assert torch.allclose(direction(180), torch.tensor([-1.0, 0.0]), atol=1e-6)
    assert PLAYGROUND_POINTS.shape == (6, 2)
    lengths = PLAYGROUND_POINTS.norm(dim=1)
    assert 0.5 < float(lengths.min()) and float(lengths.max()) < 1.5  # around the unit circle ...
    angles = sorted(math.degrees(math.atan2(float(y), float(x))) % 360 for x, y in PLAYGROUND_POINTS)
    assert min(b - a for a, b in zip(angles, angles[1:])) > 30  # ... in six different directions
