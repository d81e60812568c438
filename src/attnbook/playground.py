"""The attention model in two dimensions: soft against hard (chapter 2).

The file reads top to bottom:

1. ``PLAYGROUND_POINTS`` and ``direction`` -- six inputs ``y_i`` in the plane,
   and a context ``c`` given by its angle;
2. ``attention_playground`` -- every quantity of the attention model for one
   context: ``m_i = tanh(W_c c + W_y y_i)``, ``s = softmax(w·m / τ)``,
   ``z = Σ s_i y_i`` and hard attention's choice -- or the same with the
   dot-product score ``c · y_i``;
3. ``fit_additive_to_dot`` -- trains the tanh model to score like the dot product;
4. ``reinforce_estimates`` -- the sampled gradient that trains hard attention,
   beside the exact one.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from . import resolve_seed
from .attention import AdditiveAttention
from .checks import positive_int, shape_of

__all__ = [
    "PLAYGROUND_POINTS",
    "direction",
    "attention_playground",
    "fit_additive_to_dot",
    "reinforce_estimates",
]


def direction(angle_deg: float, length: float = 1.0) -> Tensor:
    """The vector of the plane at ``angle_deg`` degrees from the x axis, of the given ``length``: ``(2,)``."""
    a = math.radians(float(angle_deg))
    return torch.tensor([length * math.cos(a), length * math.sin(a)])  # (2,)


#: six inputs y_i in the plane for the playground: (angle in degrees, length)
_POLAR = ((10, 1.0), (70, 0.7), (130, 1.2), (200, 0.9), (250, 1.1), (315, 0.6))
PLAYGROUND_POINTS: Tensor = torch.stack([direction(a, r) for a, r in _POLAR])  # (6, 2)


def attention_playground(
    points: Tensor,
    context: Tensor,
    *,
    temperature: float = 1.0,
    attention: Optional[AdditiveAttention] = None,
) -> Dict[str, Tensor]:
    """Every quantity of the attention model for one context ``c`` and inputs ``y_i``.

    Args:
        points: the inputs ``y_1..y_n``, ``(n, Dk)``.
        context: ``c``, ``(Dq,)``.
        temperature: ``τ``; the scores are divided by it before the softmax.
        attention: an ``AdditiveAttention`` (the tanh model); ``None`` uses the
            dot-product variant ``score_i = c · y_i`` (needs ``Dq == Dk``).

    Returns a dict of tensors: ``m`` ``(n, hidden)`` (the tanh layer; ``None``
    for the dot product), ``scores`` ``(n,)``, ``s`` ``(n,)`` (soft attention,
    sums to 1), ``z`` ``(Dk,)`` (``Σ s_i y_i``), ``hard`` ``(n,)`` (one-hot
    arg-max: hard attention's most likely choice) and ``z_hard`` ``(Dk,)``.
    """
    if not isinstance(points, Tensor) or points.dim() != 2:
        raise ValueError(f"points must be an (n, D) tensor, got shape {shape_of(points)}")
    if not isinstance(context, Tensor) or context.dim() != 1:
        raise ValueError(f"context must be a (D,) tensor, got shape {shape_of(context)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    points, context = points.float(), context.float()
    with torch.no_grad():
        if attention is None:
            if context.shape[0] != points.shape[1]:
                raise ValueError(
                    f"the dot product needs c and y_i of the same size, got context {tuple(context.shape)} "
                    f"and points {tuple(points.shape)}"
                )
            m = None
            scores = points @ context  # (n, D) @ (D,) -> (n,)
        else:
            cfg = attention.config
            if context.shape[0] != cfg.query_dim or points.shape[1] != cfg.key_dim:
                raise ValueError(
                    f"attention expects context ({cfg.query_dim},) and points (n, {cfg.key_dim}), got "
                    f"{tuple(context.shape)} and {tuple(points.shape)}"
                )
            keys = attention.project_keys(points[None])  # a batch of one: (1, n, hidden)
            m = attention.tanh_layer(context[None], keys)[0]  # (n, hidden)
            scores = attention.score(context[None], keys)[0]  # (n,)
        s = torch.softmax(scores / temperature, dim=0)  # (n,)
        z = s @ points  # (n,) @ (n, D) -> (D,)
        hard = F.one_hot(scores.argmax(), points.shape[0]).float()  # (n,)
    return {"m": m, "scores": scores, "s": s, "z": z, "hard": hard, "z_hard": hard @ points}


def fit_additive_to_dot(
    *, hidden_dim: int = 8, steps: int = 400, n_points: int = 6, lr: float = 0.03, seed: Optional[int] = None
) -> Tuple[AdditiveAttention, float]:
    """Train a 2-D ``AdditiveAttention`` (the tanh model) to imitate the dot-product score.

    On random sets of ``n_points`` points and random contexts (lengths up to
    1.5), minimise the KL divergence from ``softmax(c · y)`` to the tanh model's
    weights. Returns ``(attention, agreement)``: the trained module and the
    share of fresh random sets where both pick the same arg-max.
    """
    g = torch.Generator().manual_seed(resolve_seed(seed))
    with torch.random.fork_rng():
        torch.manual_seed(int(torch.randint(2**31 - 1, (1,), generator=g)))
        attn = AdditiveAttention(query_dim=2, key_dim=2, hidden_dim=hidden_dim)
    opt = torch.optim.Adam(attn.parameters(), lr=lr)

    def sample(n_sets: int) -> Tuple[Tensor, Tensor]:
        y = (torch.rand(n_sets, n_points, 2, generator=g) * 2 - 1) * 1.2  # (B, n, 2)
        c = (torch.rand(n_sets, 2, generator=g) * 2 - 1) * 1.5  # (B, 2)
        return c, y

    for _ in range(steps):
        c, y = sample(128)
        target = torch.softmax(torch.einsum("bd,bnd->bn", c, y), dim=-1)  # (B, n)
        _, s = attn(c, y)  # (B, n)
        loss = F.kl_div(s.clamp_min(1e-9).log(), target, reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        c, y = sample(2000)
        _, s = attn(c, y)
        agreement = float((s.argmax(-1) == torch.einsum("bd,bnd->bn", c, y).argmax(-1)).float().mean())
    attn.eval()
    return attn, agreement


def reinforce_estimates(
    scores: Tensor,
    rewards: Tensor,
    *,
    n_samples: int = 1000,
    baseline: Optional[float] = None,
    generator: Optional[torch.Generator] = None,
) -> Tuple[Tensor, Tensor]:
    """Hard attention's gradient, estimated by sampling (REINFORCE) and computed exactly.

    Hard attention picks input ``a`` with probability ``s_a = softmax(scores)_a``
    and then earns a reward ``r_a``. The gradient of the expected reward
    ``E[r] = Σ_a s_a r_a`` with respect to the scores is
    ``s ⊙ (r - E[r])`` (exact, needs every ``r_a``). REINFORCE estimates it
    from one sample ``a`` at a time, without knowing the other rewards::

        (r_a - b) · ∇ log s_a = (r_a - b) · (onehot(a) - s)

    Any baseline ``b`` keeps the estimate unbiased; a good one (close to
    ``E[r]``) makes it far less noisy.

    Args:
        scores: ``(n,)`` attention scores; ``rewards``: ``(n,)`` the reward of each choice.
        n_samples: how many samples (one estimate each).
        baseline: ``b``; ``None`` means 0 (no baseline).

    Returns ``(estimates (n_samples, n), exact (n,))``.
    """
    if not isinstance(scores, Tensor) or scores.dim() != 1:
        raise ValueError(f"scores must be a (n,) tensor, got shape {shape_of(scores)}")
    if not isinstance(rewards, Tensor) or rewards.shape != scores.shape:
        raise ValueError(f"rewards must have the shape of scores {tuple(scores.shape)}, got {shape_of(rewards)}")
    positive_int(n_samples, "n_samples")
    s = torch.softmax(scores.float(), dim=0)  # (n,)
    r = rewards.float()
    exact = s * (r - (s * r).sum())  # (n,)
    a = torch.multinomial(s, n_samples, replacement=True, generator=generator)  # (n_samples,)
    b = 0.0 if baseline is None else float(baseline)
    grad_log_s = F.one_hot(a, s.shape[0]).float() - s  # (n_samples, n): ∇_scores log s_a
    return (r[a] - b)[:, None] * grad_log_s, exact
