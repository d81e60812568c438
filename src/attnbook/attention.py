"""Attention, from the tanh "attention model" to multi-head attention.

The file reads top to bottom in the book's order:

1. ``masked_softmax`` -- a softmax that may skip some positions;
2. ``ScoredAttention`` -- softmax over ``score(query, project_keys(keys))``,
   then the weighted mean of the values; ``AdditiveAttention`` -- the
   attention model / Bahdanau's tanh score (ch. 2-4);
3. ``LuongAttention`` -- Luong's dot / general / concat scores (ch. 3);
   ``LocalAttention`` -- Luong's local attention, a score over a window of
   ``2D + 1`` source positions around an aligned position ``p_t`` (ch. 3);
4. ``scaled_dot_product_attention`` -- softmax(Q Kᵀ / √Dh) V (ch. 5-7);
5. ``MultiHeadAttention`` -- H scaled dot-product attentions side by side (ch. 5-7).

Conventions (see CONTRIBUTING.md, "Shapes and their letters" and "Attention: outputs and masks"):

* batch first; shape letters ``B`` batch, ``T`` query length, ``S`` key
  length, ``D`` model dim, ``H`` heads, ``Dh`` head dim;
* every module returns ``(output, weights)``; every row of ``weights`` sums
  to 1 -- except a row whose mask allows nothing, which is all zeros;
* boolean masks: ``True`` = may attend (the ``F.scaled_dot_product_attention``
  convention). **This is the opposite of** ``nn.MultiheadAttention``'s
  ``key_padding_mask`` and boolean ``attn_mask``, where ``True`` = ignore;
* bad input raises ``ValueError`` naming the shapes involved.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from .checks import (check_bool, check_choice, check_dtype, check_mask, check_positive_ints, check_tensor,
                     positive_int, shape_of)

__all__ = [
    "masked_softmax",
    "attention_entropy",
    "ScoredAttention",
    "AdditiveAttentionConfig",
    "AdditiveAttention",
    "LuongAttentionConfig",
    "LuongAttention",
    "LOCAL_ATTENTIONS",
    "LocalAttention",
    "check_local_window",
    "scaled_dot_product_attention",
    "MultiHeadAttention",
    "split_heads",
    "merge_heads",
]

LUONG_SCORES = ("dot", "general", "concat")


# ---------------------------------------------------------------------------
# 1. masked softmax
# ---------------------------------------------------------------------------


def masked_softmax(scores: Tensor, mask: Optional[Tensor] = None, dim: int = -1) -> Tensor:
    """Softmax of ``scores`` along ``dim``, giving weight 0 where ``mask`` is False.

    Args:
        scores: any shape, e.g. ``(B, T, S)`` or ``(B, H, T, S)``.
        mask: boolean, ``True`` = may attend; broadcastable to ``scores``
            (e.g. ``(B, 1, S)`` or ``(T, S)`` for scores ``(B, T, S)``).
        dim: the dimension that is normalised (the keys).

    Returns:
        weights with the shape of ``scores``: non-negative, each slice along
        ``dim`` sums to 1 -- or is all zeros if the mask allows nothing there.
        Such a fully masked row has zero gradient, never NaN.
    """
    check_tensor(scores, "scores")
    if mask is None:
        return torch.softmax(scores, dim=dim)
    check_mask(mask, scores.shape)
    # Masked scores become the most negative finite number rather than -inf:
    # exp() of it is exactly 0, and a row with nothing allowed stays finite
    # (a uniform softmax) instead of 0/0 = NaN, so its gradient is finite too.
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=dim)
    if torch.compiler.is_exporting():
        # torch.export (the ONNX export, attnbook.export) cannot trace the branch on a tensor's
        # value below, so an exported graph writes the zeros at every masked entry instead: the
        # fully masked rows, and exact zeros whatever exp() the runtime uses. Never taken eagerly.
        return weights.masked_fill(~mask, 0.0)
    # Rows where the mask allows nothing: zero weights (and zero gradient).
    # They are rare, so the extra pass over the weights runs only if there are any.
    nothing_allowed = ~mask.any(dim=dim, keepdim=True)  # the mask's shape, size 1 along dim
    if nothing_allowed.any():
        weights = weights.masked_fill(nothing_allowed, 0.0)
    return weights


def attention_entropy(weights) -> float:
    """Mean entropy of the rows of attention weights, in nats.

    ``weights``: a tensor or array whose last axis holds one distribution per row
    (``(S,)``, ``(T, S)``, ``(B, H, T, S)``, ...). 0 means every row is one-hot,
    ``log S`` means every row is uniform over its ``S`` keys. Rows must be
    non-negative and sum to 1 (or to 0, for a fully masked row, whose entropy is 0).
    """
    w = torch.as_tensor(weights, dtype=torch.float64)
    if w.dim() == 0 or w.numel() == 0:
        raise ValueError(f"weights must hold at least one row of attention weights, got shape {shape_of(w)}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise ValueError("weights must be finite and non-negative (attention weights, not scores)")
    sums = w.sum(-1)
    if not bool(((sums - 1).abs() < 1e-3).logical_or(sums == 0).all()):
        raise ValueError(f"each row of weights must sum to 1 (or 0 when fully masked); "
                         f"row sums range from {float(sums.min()):.4g} to {float(sums.max()):.4g}")
    return float(-(w * w.clamp_min(1e-12).log()).sum(-1).mean()) + 0.0  # + 0.0: never -0.0


# ---------------------------------------------------------------------------
# 2. the attention model / Bahdanau: an additive (tanh) score
# ---------------------------------------------------------------------------


def _check_query_keys(module: nn.Module, query, keys, values, mask, query_dim, key_dim):
    """Shared checks of AdditiveAttention / LuongAttention.forward.

    Returns ``(query, values, mask, squeeze)`` with ``query`` made 3-D
    ``(B, T, Dq)`` and ``mask`` made 3-D ``(B, 1 or T, S)``.
    """
    check_tensor(query, "query", ranks=(2, 3))
    check_tensor(keys, "keys", ranks=(3,))
    values = keys if values is None else values
    check_tensor(values, "values", ranks=(3,))
    given = shape_of(query)  # for messages: the shape the caller passed
    squeeze = query.dim() == 2
    if squeeze:
        query = query.unsqueeze(1)  # (B, Dq) -> (B, 1, Dq)
    B, T, Dq = query.shape
    Bk, S, Dk = keys.shape
    if Bk != B or values.shape[0] != B:
        raise ValueError(
            f"batch sizes differ: query {given}, keys {shape_of(keys)}, values {shape_of(values)}"
        )
    if values.shape[1] != S:
        raise ValueError(
            f"keys and values must have the same length S: keys {shape_of(keys)}, "
            f"values {shape_of(values)}"
        )
    if query_dim is not None and Dq != query_dim:
        raise ValueError(f"query of shape {given} must have last dimension query_dim={query_dim}")
    if key_dim is not None and Dk != key_dim:
        raise ValueError(f"keys of shape {shape_of(keys)} must have last dimension key_dim={key_dim}")
    if not (query.dtype == keys.dtype == values.dtype):
        raise ValueError(
            f"query, keys and values must share a dtype, got {query.dtype}, {keys.dtype}, {values.dtype}"
        )
    check_dtype(query, "query", module)
    if mask is not None:
        if isinstance(mask, Tensor) and mask.dim() == 2:
            check_mask(mask, (B, S), expected=f"(B, S) = {(B, S)} or (B, T, S) = {(B, T, S)}")
            mask = mask.unsqueeze(1)  # (B, S) -> (B, 1, S)
        else:
            check_mask(mask, (B, T, S), expected=f"(B, S) = {(B, S)} or (B, T, S) = {(B, T, S)}")
    return query, values, mask, squeeze


def _check_score_input(query, keys, query_dim: Optional[int], keys_dim: Optional[int]) -> None:
    """Checks of the ``score`` methods: ``query (B, Dq)`` or ``(B, T, Dq)``, projected ``keys (B, S, A)``."""
    check_tensor(query, "query", ranks=(2, 3))
    check_tensor(keys, "keys", ranks=(3,))
    if keys.shape[0] != query.shape[0]:
        raise ValueError(f"batch sizes differ: query {shape_of(query)}, keys {shape_of(keys)}")
    if query_dim is not None and query.shape[-1] != query_dim:
        raise ValueError(f"query of shape {shape_of(query)} must have last dimension query_dim={query_dim}")
    if keys_dim is not None and keys.shape[-1] != keys_dim:
        raise ValueError(
            f"keys of shape {shape_of(keys)} must have last dimension {keys_dim}: "
            f"pass the keys through project_keys first"
        )


def _query_plus_keys(q: Tensor, keys: Tensor) -> Tensor:
    """The query side ``(B, A)`` or ``(B, T, A)`` plus the key side ``(B, S, A)`` of a tanh score,
    for every query and key: ``(B, S, A)`` or ``(B, T, S, A)``."""
    if q.dim() == 3:
        keys = keys.unsqueeze(1)  # (B, S, A) -> (B, 1, S, A)
    return q.unsqueeze(-2) + keys  # (B, [T,] 1, A) + (B, [1,] S, A) -> (B, [T,] S, A)


class ScoredAttention(nn.Module):
    """What ``AdditiveAttention`` and ``LuongAttention`` share: attention by a score function.

    A subclass says how a query is compared with a key: ``project_keys(keys)``
    computes the key side of the score (it does not depend on the query, so a
    decoder that attends to the same keys at every word computes it once), and
    ``score(query, projected_keys)`` gives one number per query and key.
    ``forward`` then takes the softmax of the scores over the keys and the
    weighted mean of the values. ``self.config`` has ``query_dim`` and
    ``key_dim`` (``None`` where any size will do).
    """

    def project_keys(self, keys: Tensor) -> Tensor:
        """``(B, S, Dk) -> (B, S, A)``: the key side of the score."""
        raise NotImplementedError

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """``query (B, Dq)`` or ``(B, T, Dq)``, projected ``keys (B, S, A)`` -> scores ``(B, S)`` or ``(B, T, S)``."""
        raise NotImplementedError

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Optional[Tensor] = None,
        mask: Optional[Tensor] = None,
    ) -> tuple[Tensor, Tensor]:
        """Attend from each query to the keys.

        Args:
            query: ``(B, T, Dq)``, or ``(B, Dq)`` for a single query per example.
            keys: ``(B, S, Dk)``.
            values: ``(B, S, Dv)``; defaults to ``keys``.
            mask: boolean, ``True`` = may attend; ``(B, S)`` or ``(B, T, S)``.

        Returns:
            ``(output, weights)``: ``(B, T, Dv)`` and ``(B, T, S)``, or
            ``(B, Dv)`` and ``(B, S)`` for a 2-D query.
        """
        cfg = self.config
        query, values, mask, squeeze = _check_query_keys(
            self, query, keys, values, mask, cfg.query_dim, cfg.key_dim
        )
        scores = self.score(query, self.project_keys(keys))  # (B, T, S)
        weights = masked_softmax(scores, mask)  # (B, T, S)
        output = weights @ values  # (B, T, S) @ (B, S, Dv) -> (B, T, Dv)
        if squeeze:
            return output.squeeze(1), weights.squeeze(1)  # (B, Dv), (B, S)
        return output, weights


def _config_or_fields(config_class: type, config: object, *, required: tuple = (), **fields: object) -> object:
    """The constructors' two ways in: ``config`` as given, or a ``config_class`` built from the
    keyword arguments that are not None (all of ``required`` among them) -- never both."""
    given = {name: value for name, value in fields.items() if value is not None}
    if config is not None:
        if given:
            raise ValueError(f"give either config=... or the keyword arguments ({', '.join(given)}), not both")
        return config
    missing = [name for name in required if name not in given]
    if missing:
        every = ", ".join(required[:-1]) + " and " + required[-1] if len(required) > 1 else required[0]
        raise ValueError(f"give config=... or all of {every}; missing {', '.join(missing)}")
    return config_class(**given)


@dataclass
class AdditiveAttentionConfig:
    query_dim: int  # Dq: size of the context / decoder state c (the "query")
    key_dim: int  # Dk: size of each input y_i (the "keys")
    hidden_dim: int  # size of m_i, the tanh layer between them


class AdditiveAttention(ScoredAttention):
    """The attention model with a tanh score (Bahdanau et al., 2015).

    For a context ``c`` (the query) and inputs ``y_1..y_S`` (the keys)::

        m_i = tanh(W_c c + W_y y_i + b)  # how well y_i fits c, as a vector
        score_i = w · m_i                # ... as a number
        s = softmax(score)               # the weights, sum to 1
        z = Σ_i s_i v_i                  # weighted mean of the values (v_i = y_i by default)

    Build with keyword arguments or a config::

        AdditiveAttention(query_dim=32, key_dim=64, hidden_dim=16)
        AdditiveAttention(config=AdditiveAttentionConfig(32, 64, 16))
    """

    def __init__(self, *, config: AdditiveAttentionConfig | None = None, query_dim: int | None = None,
                 key_dim: int | None = None, hidden_dim: int | None = None):
        super().__init__()
        config = _config_or_fields(AdditiveAttentionConfig, config, required=("query_dim", "key_dim", "hidden_dim"),
                                   query_dim=query_dim, key_dim=key_dim, hidden_dim=hidden_dim)
        check_positive_ints(query_dim=config.query_dim, key_dim=config.key_dim, hidden_dim=config.hidden_dim)
        self.config = config
        self.W_c = nn.Linear(config.query_dim, config.hidden_dim, bias=False)
        self.W_y = nn.Linear(config.key_dim, config.hidden_dim, bias=True)  # W_y y + b
        self.w = nn.Linear(config.hidden_dim, 1, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:
        """The key side of the score, ``W_y y_i + b``: ``(B, S, Dk) -> (B, S, hidden)``.

        It does not depend on the query, so a decoder that attends to the same
        keys at every output word computes it once and passes it to :meth:`score`.
        """
        return self.W_y(keys)

    def tanh_layer(self, query: Tensor, keys: Tensor) -> Tensor:
        """``m_i = tanh(W_c c + W_y y_i + b)``: how well each key fits each query, as a vector.

        ``query (B, Dq)`` or ``(B, T, Dq)``; ``keys`` the output of
        :meth:`project_keys`, ``(B, S, hidden)``. Returns ``(B, S, hidden)`` or
        ``(B, T, S, hidden)``.
        """
        _check_score_input(query, keys, self.config.query_dim, self.config.hidden_dim)
        return torch.tanh(_query_plus_keys(self.W_c(query), keys))  # (B, [T,] S, hidden)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """``score_i = w · m_i``, one number per query and key (before the softmax).

        ``query (B, Dq)`` or ``(B, T, Dq)``; ``keys`` the output of
        :meth:`project_keys`, ``(B, S, hidden)``. Returns ``(B, S)`` or ``(B, T, S)``.
        """
        return self.w(self.tanh_layer(query, keys)).squeeze(-1)  # (B, [T,] S, 1) -> (B, [T,] S)


# ---------------------------------------------------------------------------
# 3. Luong: dot, general and concat scores
# ---------------------------------------------------------------------------


@dataclass
class LuongAttentionConfig:
    score: str = "dot"  # "dot": hᵀh̄, "general": hᵀ W_a h̄, "concat": v_aᵀ tanh(W_a [h; h̄])
    query_dim: int | None = None  # Dq: size of the decoder state h (needed by general/concat)
    key_dim: int | None = None  # Dk: size of each encoder state h̄ (needed by general/concat)
    hidden_dim: int | None = None  # size of the tanh layer (concat only)


class LuongAttention(ScoredAttention):
    """Luong et al. (2015) global attention with one of three scores.

    For a decoder state ``h`` (the query) and encoder states ``h̄_s`` (keys)::

        dot:      score_s = hᵀ h̄_s                     (needs Dq == Dk, no parameters)
        general:  score_s = hᵀ W_a h̄_s
        concat:   score_s = v_aᵀ tanh(W_a [h; h̄_s])    (Bahdanau's additive score)
        weights = softmax(score),  output = Σ_s weights_s v_s

    Build with keyword arguments or a config::

        LuongAttention(score="general", query_dim=32, key_dim=64)
        LuongAttention(config=LuongAttentionConfig("concat", 32, 64, hidden_dim=16))
    """

    def __init__(self, *, config: LuongAttentionConfig | None = None, score: str | None = None,
                 query_dim: int | None = None, key_dim: int | None = None, hidden_dim: int | None = None):
        super().__init__()
        config = _config_or_fields(LuongAttentionConfig, config, score=score, query_dim=query_dim,
                                   key_dim=key_dim, hidden_dim=hidden_dim)  # score: "dot" unless given
        check_choice(config.score, "score", LUONG_SCORES)
        for name in ("query_dim", "key_dim", "hidden_dim"):
            if getattr(config, name) is not None:
                positive_int(getattr(config, name), name)
        if config.score == "dot":
            if config.query_dim is not None and config.key_dim is not None and config.query_dim != config.key_dim:
                raise ValueError(
                    f'score="dot" needs query_dim == key_dim, got query_dim={config.query_dim}, '
                    f'key_dim={config.key_dim}; use score="general" for different sizes'
                )
        elif config.query_dim is None or config.key_dim is None:
            raise ValueError(f'score="{config.score}" needs query_dim and key_dim')
        if config.score == "concat" and config.hidden_dim is None:
            raise ValueError('score="concat" needs hidden_dim')
        self.config = config
        if config.score == "general":
            self.W_a = nn.Linear(config.key_dim, config.query_dim, bias=False)
        elif config.score == "concat":
            self.W_a = nn.Linear(config.query_dim + config.key_dim, config.hidden_dim, bias=False)
            self.v_a = nn.Linear(config.hidden_dim, 1, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:
        """The key side of the score: ``(B, S, Dk) -> (B, S, A)``.

        dot: the keys themselves (``A = Dk``); general: ``W_a h̄_s`` (``A = Dq``);
        concat: the half of ``W_a [h; h̄_s]`` that multiplies ``h̄_s`` (``A`` =
        ``hidden_dim``). It does not depend on the query, so a decoder that
        attends to the same keys at every output word computes it once and
        passes it to :meth:`score`.
        """
        cfg = self.config
        if cfg.score == "dot":
            return keys  # (B, S, Dk)
        if cfg.score == "general":
            return self.W_a(keys)  # (B, S, Dq)
        # concat: W_a [h; h̄] = W_a[:, :Dq] h + W_a[:, Dq:] h̄ -- the h̄ half
        return F.linear(keys, self.W_a.weight[:, cfg.query_dim:])  # (B, S, hidden)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """One score per query and key (before the softmax).

        ``query (B, Dq)`` or ``(B, T, Dq)``; ``keys`` the output of
        :meth:`project_keys`, ``(B, S, A)``. Returns ``(B, S)`` or ``(B, T, S)``.
        """
        cfg = self.config
        if cfg.score == "concat":
            _check_score_input(query, keys, cfg.query_dim, cfg.hidden_dim)
            q = F.linear(query, self.W_a.weight[:, : cfg.query_dim])  # the h half of W_a [h; h̄]: (B, [T,] hidden)
            m = torch.tanh(_query_plus_keys(q, keys))  # (B, [T,] S, hidden)
            return self.v_a(m).squeeze(-1)  # (B, [T,] S, 1) -> (B, [T,] S)
        # dot and general: hᵀ h̄_s, with h̄_s already multiplied by W_a for general
        _check_score_input(query, keys, cfg.query_dim, cfg.query_dim)
        if query.shape[-1] != keys.shape[-1]:
            raise ValueError(
                f'score="dot" needs query and keys of the same size, got query '
                f'{shape_of(query)} and keys {shape_of(keys)}; use score="general"'
            )
        if query.dim() == 2:
            return torch.bmm(keys, query.unsqueeze(-1)).squeeze(-1)  # (B, S, Dq) @ (B, Dq, 1) -> (B, S)
        return query @ keys.transpose(1, 2)  # (B, T, Dq) @ (B, Dq, S) -> (B, T, S)


# ---------------------------------------------------------------------------
# 3b. Luong: local attention, a window of 2D + 1 positions
# ---------------------------------------------------------------------------

#: Luong et al.'s two local attentions: monotonic (p_t = t) and predictive (p_t learnt)
LOCAL_ATTENTIONS = ("local-m", "local-p")


def check_local_window(kind: str, window: int) -> None:
    """``kind`` is ``"local-m"`` or ``"local-p"`` and ``window`` (``D``) a non-negative integer, at least 1 for
    local-p (with ``D = 0`` the window is one position, the Gaussian is flat there and ``p_t`` gets no gradient)."""
    check_choice(kind, "kind", LOCAL_ATTENTIONS)
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 0:
        raise ValueError(f"window (D, the half-width of the local window) must be a non-negative integer, "
                         f"got {window!r}")
    if kind == "local-p" and window < 1:
        raise ValueError(f'"local-p" needs window >= 1: with D = 0 the window is one position and p_t gets no '
                         f"gradient; got window={window!r}")


class LocalAttention(nn.Module):
    """Luong et al.'s (2015) local attention: a score's softmax over a window of ``2D + 1`` source positions.

    ``attention`` (an ``AdditiveAttention`` or a ``LuongAttention``) says how a query
    ``h_t`` is scored against an annotation ``h̄_s``; this module says which
    annotations are scored at all -- the window around an aligned position
    ``p_t``, a real number::

        local-m (monotonic):   p_t = t                                    (output word t, source word t)
        local-p (predictive):  p_t = S · sigmoid(v_pᵀ tanh(W_p h_t))       (S: the sentence's length; 0 < p_t < S)
        window:   s = c - D, ..., c + D  around  c = round(p_t)  (moved to 0 or S - 1 if it falls outside);
                  positions outside the sentence are masked
        local-m:  a_t(s) = softmax over the window of  score(h_t, h̄_s)
        local-p:  a_t(s) = softmax over the window of  score(h_t, h̄_s) - (s - p_t)² / (2σ²),   σ = D / 2
        c_t     = Σ_s a_t(s) h̄_s

    **The one difference from the paper (local-p).** Luong et al. multiply the
    window's softmax by the Gaussian, ``align(h_t, h̄_s) · exp(-(s - p_t)² / (2σ²))``,
    and stop there, so their weights sum to less than 1. Here each row is divided
    by its sum, which is the same as adding the Gaussian's logarithm to the scores
    before the softmax: a Gaussian prior around ``p_t``. All weights of a row change
    by the same factor, so the row peaks where the paper's does and the ratios
    between its weights are the paper's; the weights sum to 1 like every attention
    in this package, and the context is a weighted mean of the window's
    annotations rather than that mean shrunk by the row's sum. (The gradients are
    not the same, so training is not identical either.)

    ``round`` has no gradient: local-p learns ``p_t`` through the Gaussian term,
    which is why it needs ``window >= 1``. Only the window's ``2D + 1``
    annotations are gathered and scored, so the scores, the softmax and the
    weighted sum of one step cost ``O(D)``, not ``O(S)``. The weights come back
    scattered into ``(B, S)`` rows of zeros, so they read like global
    attention's (writing those zeros is the one part that grows with ``S``).

    Build with the score module::

        LocalAttention(LuongAttention(score="general", query_dim=64, key_dim=64),
                       kind="local-p", window=2, query_dim=64)
    """

    def __init__(self, attention: ScoredAttention, *, kind: str, window: int, query_dim: int | None = None,
                 sigma: float | None = None):
        super().__init__()
        if not isinstance(attention, ScoredAttention):
            raise ValueError(f"attention must be an AdditiveAttention or a LuongAttention, "
                             f"got {type(attention).__name__}")
        check_local_window(kind, window)
        sigma = window / 2 if sigma is None else sigma
        if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not sigma > 0:
            raise ValueError(f"sigma must be a positive number, got {sigma!r}")
        self.scorer = attention  # score(h_t, h̄_s)
        self.kind, self.window, self.sigma = kind, int(window), float(sigma)  # D, σ (Luong et al.: D / 2)
        if kind == "local-p":
            if query_dim is None:
                raise ValueError('kind="local-p" needs query_dim, the size of h_t (W_p is query_dim x query_dim)')
            query_dim = positive_int(query_dim, "query_dim")
            self.W_p = nn.Linear(query_dim, query_dim, bias=False)
            self.v_p = nn.Linear(query_dim, 1, bias=False)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, window={self.window}, sigma={self.sigma:g}"

    def project_keys(self, keys: Tensor) -> Tensor:
        """The key side of the score, ``(B, S, Dk) -> (B, S, A)``: the score module's ``project_keys``."""
        return self.scorer.project_keys(keys)

    def position(self, query: Tensor, lengths: Tensor, t: int) -> Tensor:
        """The aligned position ``p_t``, a real number per sentence: ``(B,)``.

        ``query (B, Dq)`` is ``h_t``; ``lengths (B,)`` the sentences' lengths
        ``S``; ``t`` the index of the output word (0 for the first).
        """
        if self.kind == "local-m":
            return torch.full(lengths.shape, float(t), dtype=query.dtype, device=query.device)  # (B,) p_t = t
        gate = torch.sigmoid(self.v_p(torch.tanh(self.W_p(query)))).squeeze(-1)  # (B, 1) -> (B,) in (0, 1)
        return lengths.to(query.dtype) * gate  # (B,) p_t = S · sigmoid(v_pᵀ tanh(W_p h_t))

    def forward(self, query: Tensor, keys: Tensor, values: Tensor, lengths: Tensor,
                position: Tensor) -> tuple[Tensor, Tensor]:
        """Attend from ``query (B, Dq)`` to the window of ``2D + 1`` positions around ``position (B,)``.

        ``keys (B, S, A)`` are the projected keys (:meth:`project_keys`, once per
        sentence), ``values (B, S, Dv)`` the annotations; sentence ``b`` has
        ``lengths[b]`` real words, the rest is padding. Returns ``(output (B, Dv),
        weights (B, S))``; the weights are zero outside the window and each row
        sums to 1.
        """
        B, S, A = keys.shape
        last = (lengths - 1).clamp_min(0)  # (B,) the last real position of each sentence
        centre = torch.minimum(position.detach().round().long(), last).clamp_min(0)  # (B,) c = round(p_t)
        offsets = torch.arange(-self.window, self.window + 1, device=keys.device)  # (W,) with W = 2D + 1
        idx = centre[:, None] + offsets  # (B, W) the window's source positions
        inside = (idx >= 0) & (idx < lengths[:, None])  # (B, W) True at real source words
        idx = idx.clamp(0, S - 1)  # (B, W) gather()-able indices; the ones outside are masked below
        window_keys = keys.gather(1, idx[..., None].expand(B, -1, A))  # (B, W, A)
        window_values = values.gather(1, idx[..., None].expand(B, -1, values.shape[-1]))  # (B, W, Dv)
        scores = self.scorer.score(query, window_keys)  # (B, W): only 2D + 1 scores per query
        if self.kind == "local-p":  # a Gaussian around p_t: log of exp(-(s - p_t)² / (2σ²))
            scores = scores - (idx - position[:, None]) ** 2 / (2 * self.sigma ** 2)  # (B, W)
        w = masked_softmax(scores, inside)  # (B, W), exactly 0 where masked
        output = torch.bmm(w[:, None, :], window_values).squeeze(1)  # (B, 1, W) @ (B, W, Dv) -> (B, Dv)
        weights = torch.zeros(B, S, dtype=w.dtype, device=w.device).scatter_add(1, idx, w)  # (B, S)
        return output, weights


# ---------------------------------------------------------------------------
# 4. scaled dot-product attention
# ---------------------------------------------------------------------------


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Optional[Tensor] = None,
    *,
    is_causal: bool = False,
    dropout_p: float = 0.0,
    scale: Optional[float] = None,
    training: bool = True,
) -> tuple[Tensor, Tensor]:
    """softmax(q kᵀ · scale) v, written out -- the readable twin of
    ``torch.nn.functional.scaled_dot_product_attention``.

    Args:
        q: ``(..., T, Dh)``, e.g. ``(B, H, T, Dh)``.
        k: ``(..., S, Dh)``.
        v: ``(..., S, Dv)``. The leading ``...`` dims of q, k and v broadcast
            against each other as in ``torch.matmul``.
        mask: boolean, ``True`` = may attend; broadcastable to the weights
            ``(..., T, S)``, e.g. ``(T, S)``, ``(B, 1, 1, S)`` or ``(B, H, T, S)``.
        is_causal: query ``t`` attends only to keys ``0..t`` (the lower-left
            triangle, aligned top-left as in torch). Combined with ``mask`` by AND.
        dropout_p: dropout on the weights, applied only when ``training``.
        scale: multiplies the scores; default ``1 / sqrt(Dh)``.
        training: whether dropout is applied (modules pass ``self.training``);
            as with ``F.dropout``, the default is True.

    Returns:
        ``(output, weights)``: ``(..., T, Dv)`` and ``(..., T, S)``. The weights
        are those before dropout; each row sums to 1, or is all zeros where
        the mask allows no key.
    """
    _check_qkv(q, k, v, mask, dropout_p)
    if is_causal:  # query t may attend to keys 0..t only: the lower-left triangle
        causal = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()  # (T, S)
        mask = causal if mask is None else mask & causal
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])  # 1 / √Dh
    # Scaling q before the product gives the same scores as scaling q kᵀ,
    # but touches T×Dh numbers instead of T×S.
    scores = (q * scale) @ k.transpose(-2, -1)  # (..., T, Dh) @ (..., Dh, S) -> (..., T, S)
    weights = masked_softmax(scores, mask)  # (..., T, S): each row sums to 1, 0 where the mask is False
    dropped = F.dropout(weights, p=dropout_p, training=training) if dropout_p > 0 else weights
    output = dropped @ v  # (..., T, S) @ (..., S, Dv) -> (..., T, Dv): a weighted mean of the values
    return output, weights


def _check_qkv(q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor], dropout_p: float) -> None:
    """The input checks of :func:`scaled_dot_product_attention`: a ``ValueError`` naming the shapes."""
    check_tensor(q, "q")
    check_tensor(k, "k")
    check_tensor(v, "v")
    for name, x in (("q", q), ("k", k), ("v", v)):
        if x.dim() < 2:
            raise ValueError(f"{name} must have at least 2 dimensions (..., length, dim), got shape {shape_of(x)}")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"q, k and v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same last dimension Dh: q {shape_of(q)}, k {shape_of(k)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same length S (dimension -2): k {shape_of(k)}, v {shape_of(v)}"
        )
    try:
        torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2])  # the weights' leading dims
    except RuntimeError:
        raise ValueError(
            f"the leading (batch) dimensions of q {shape_of(q)}, k {shape_of(k)} and "
            f"v {shape_of(v)} do not broadcast"
        ) from None
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")
    T, S = q.shape[-2], k.shape[-2]
    if mask is not None:
        check_mask(mask, (*batch, T, S), expected=f"something broadcastable to (..., T, S) = {(*batch, T, S)}")


# ---------------------------------------------------------------------------
# 5. multi-head attention
# ---------------------------------------------------------------------------


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """``(B, T, D)`` -> ``(B, H, T, Dh)``: each position's D numbers cut into H heads of Dh = D / H.

    Head h gets the numbers ``h * Dh .. (h + 1) * Dh - 1``; the heads then become a
    batch dimension, so one matrix product attends with all of them at once.
    """
    check_tensor(x, "x", ranks=(3,))
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads <= 0:
        raise ValueError(f"num_heads must be a positive integer, got {num_heads!r}")
    if x.shape[-1] % num_heads:
        raise ValueError(f"x of shape {shape_of(x)}: its last dimension D is not divisible by num_heads={num_heads}")
    return rearrange(x, "b t (h d) -> b h t d", h=num_heads)  # (B, T, H·Dh) -> (B, H, T, Dh)


def merge_heads(x: Tensor) -> Tensor:
    """``(B, H, T, Dh)`` -> ``(B, T, D)``: the heads' outputs side by side again (undoes :func:`split_heads`)."""
    check_tensor(x, "x", ranks=(4,))
    return rearrange(x, "b h t d -> b t (h d)")  # (B, H, T, Dh) -> (B, T, H·Dh)


class MultiHeadAttention(nn.Module):
    """H scaled dot-product attentions on learned projections, side by side.

    ::

        q, k, v = q_proj(query), k_proj(key), v_proj(value)    # (B, T|S, D)
        split each into H heads of size Dh = D / H             # (B, H, T|S, Dh)
        per head: softmax(q kᵀ / √Dh) v                         # (B, H, T, Dh)
        concatenate the heads, then out_proj                   # (B, T, D)

    The four ``nn.Linear`` layers ``q_proj``, ``k_proj``, ``v_proj`` and
    ``out_proj`` hold the same numbers as ``torch.nn.MultiheadAttention``'s
    ``in_proj_weight`` (split in three along dim 0) and ``out_proj``; see
    :meth:`from_torch`.

    .. warning::
       Masks here use ``True`` = **may attend**, the convention of
       ``F.scaled_dot_product_attention``. ``nn.MultiheadAttention``'s boolean
       ``key_padding_mask`` and ``attn_mask`` use the **opposite**: ``True`` =
       ignore. Pass ``~mask`` when porting code between the two.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        *,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
    ):
        super().__init__()
        check_positive_ints(embed_dim=embed_dim, num_heads=num_heads,
                            **{name: v for name, v in (("kdim", kdim), ("vdim", vdim)) if v is not None})
        if embed_dim % num_heads != 0:
            raise ValueError(
                f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.embed_dim = embed_dim  # D
        self.num_heads = num_heads  # H
        self.head_dim = embed_dim // num_heads  # Dh
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(self.kdim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(self.vdim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # As nn.MultiheadAttention: Xavier-uniform projections, zero biases.
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.xavier_uniform_(proj.weight)
        for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """A copy of a ``torch.nn.MultiheadAttention`` (same numbers, same outputs)."""
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"expected torch.nn.MultiheadAttention, got {type(mha).__name__}")
        if mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError("add_bias_kv and add_zero_attn are not supported")
        ref = mha.out_proj.weight
        new = cls(
            mha.embed_dim,
            mha.num_heads,
            dropout=mha.dropout,
            bias=mha.in_proj_bias is not None,
            kdim=mha.kdim,
            vdim=mha.vdim,
        ).to(device=ref.device, dtype=ref.dtype)
        with torch.no_grad():
            if mha._qkv_same_embed_dim:
                w_q, w_k, w_v = mha.in_proj_weight.chunk(3, dim=0)  # 3 × (D, D)
            else:
                w_q, w_k, w_v = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
            for proj, w in ((new.q_proj, w_q), (new.k_proj, w_k), (new.v_proj, w_v)):
                proj.weight.copy_(w)
            new.out_proj.weight.copy_(mha.out_proj.weight)
            if mha.in_proj_bias is not None:
                b_q, b_k, b_v = mha.in_proj_bias.chunk(3)  # 3 × (D,)
                new.q_proj.bias.copy_(b_q)
                new.k_proj.bias.copy_(b_k)
                new.v_proj.bias.copy_(b_v)
                new.out_proj.bias.copy_(mha.out_proj.bias)
        return new

    def forward(
        self,
        query: Tensor,
        key: Optional[Tensor] = None,
        value: Optional[Tensor] = None,
        *,
        key_padding_mask: Optional[Tensor] = None,
        attn_mask: Optional[Tensor] = None,
        is_causal: bool = False,
        average_weights: bool = True,
    ) -> tuple[Tensor, Tensor]:
        """Multi-head attention from ``query`` to ``key``/``value``.

        Args:
            query: ``(B, T, D)``.
            key: ``(B, S, kdim)``; defaults to ``query`` (self-attention).
            value: ``(B, S, vdim)``; defaults to ``key``.
            key_padding_mask: boolean ``(B, S)``, **True = may attend** (a real
                token), False = padding. NOTE: ``nn.MultiheadAttention`` uses
                the opposite (True = ignore); pass ``~mask`` when porting.
            attn_mask: boolean, **True = may attend**; ``(T, S)``, ``(B, T, S)``
                or ``(B, H, T, S)``. (Also the opposite of torch's boolean
                ``attn_mask``.) Combined with the other masks by AND.
            is_causal: query ``t`` attends only to keys ``0..t``.
            average_weights: return weights averaged over heads ``(B, T, S)``
                (as torch's ``average_attn_weights=True``) or per head
                ``(B, H, T, S)``.

        Returns:
            ``(output, weights)``: ``(B, T, D)`` and ``(B, T, S)`` or
            ``(B, H, T, S)``. The weights are those before dropout.
        """
        key = query if key is None else key  # self-attention: the sequence attends to itself
        value = key if value is None else value
        mask = self._check_inputs(query, key, value, key_padding_mask, attn_mask)  # None or broadcasts to (B, H, T, S)
        q = split_heads(self.q_proj(query), self.num_heads)  # (B, T, D) -> (B, H, T, Dh)
        k = split_heads(self.k_proj(key), self.num_heads)  # (B, S, D) -> (B, H, S, Dh)
        v = split_heads(self.v_proj(value), self.num_heads)  # (B, S, D) -> (B, H, S, Dh)
        out, weights = scaled_dot_product_attention(
            q, k, v, mask, is_causal=is_causal, dropout_p=self.dropout, training=self.training
        )  # every head at once: (B, H, T, Dh), (B, H, T, S)
        out = self.out_proj(merge_heads(out))  # (B, H, T, Dh) -> (B, T, D) -> (B, T, D)
        if average_weights:
            weights = weights.mean(dim=1)  # (B, H, T, S) -> (B, T, S)
        return out, weights

    def _check_inputs(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Optional[Tensor],
        attn_mask: Optional[Tensor],
    ) -> Optional[Tensor]:
        """Check the inputs of :meth:`forward` (``ValueError`` naming the shapes) and combine
        its masks into one boolean mask that broadcasts to ``(B, H, T, S)`` (None if there is none)."""
        check_tensor(query, "query", ranks=(3,))
        check_tensor(key, "key", ranks=(3,))
        check_tensor(value, "value", ranks=(3,))
        B, T, S, H = query.shape[0], query.shape[1], key.shape[1], self.num_heads
        if key.shape[0] != B or value.shape[0] != B:
            raise ValueError(
                f"batch sizes differ: query {shape_of(query)}, key {shape_of(key)}, value {shape_of(value)}"
            )
        if value.shape[1] != S:
            raise ValueError(
                f"key and value must have the same length S: key {shape_of(key)}, value {shape_of(value)}"
            )
        for name, x, dim in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if x.shape[-1] != dim:
                raise ValueError(
                    f"{name} of shape {shape_of(x)} must have last dimension {dim} "
                    f"(embed_dim={self.embed_dim}, kdim={self.kdim}, vdim={self.vdim})"
                )
            check_dtype(x, name, self)

        # All masks become one boolean mask broadcastable to (B, H, T, S).
        mask = None
        if key_padding_mask is not None:
            check_bool(key_padding_mask, "key_padding_mask")
            if key_padding_mask.shape != (B, S):
                raise ValueError(
                    f"key_padding_mask of shape {shape_of(key_padding_mask)} must have shape (B, S) = {(B, S)}"
                )
            mask = rearrange(key_padding_mask, "b s -> b 1 1 s")  # (B, 1, 1, S)
        if attn_mask is not None:
            expected = f"(T, S) = {(T, S)}, (B, T, S) = {(B, T, S)} or (B, H, T, S) = {(B, H, T, S)}"
            check_bool(attn_mask, "attn_mask")
            if attn_mask.dim() not in (2, 3, 4):
                raise ValueError(f"attn_mask of shape {shape_of(attn_mask)} must be {expected}")
            target = {2: (T, S), 3: (B, T, S), 4: (B, H, T, S)}[attn_mask.dim()]
            check_mask(attn_mask, target, "attn_mask", expected)
            if attn_mask.dim() == 3:
                attn_mask = rearrange(attn_mask, "b t s -> b 1 t s")  # (B, 1, T, S)
            mask = attn_mask if mask is None else mask & attn_mask  # broadcasts to (B, H, T, S)
        return mask
