"""The Transformer (Vaswani et al. 2017), built from ``attnbook.attention``.

Everything chapter 5 trains, from the pieces up::

    sinusoidal_positional_encoding     PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(...)
    PositionalEncoding                 adds sinusoidal, learned or no positions to embeddings
    TokenEmbedding                     nn.Embedding scaled by sqrt(D) (or not: scale=False)
    TransformerEncoderLayer            self-attention -> add & norm -> feed-forward -> add & norm
    TransformerDecoderLayer            causal self-attention, cross-attention, feed-forward
    TransformerEncoder / ...Decoder    stacks of layers that also return every layer's weights
    Seq2SeqTransformer                 encoder-decoder for the translation tasks (the interface of
                                       ``attnbook.seq2seq.Seq2Seq``: train_seq2seq and evaluate work)
    TransformerClassifier              encoder + a [CLS] token -> class logits
    MaskedLanguageModel                BERT in miniature: encoder + a masked-token head
    ablate_training_details            the paper's recipe, then each training detail switched off in turn

The layers keep the parameter names of ``torch.nn.TransformerEncoderLayer`` and
``torch.nn.TransformerDecoderLayer`` (``self_attn``, ``multihead_attn``,
``linear1``, ``linear2``, ``norm1``...), and ``from_torch`` copies a torch layer,
so ``tests/test_transformer.py`` checks ours against torch's to 1e-5.

Masks follow the package convention: boolean, **True = may attend** (a real
token). ``torch.nn.Transformer*`` use the opposite for boolean masks.
Weights come back per head: ``(L, B, H, T, S)`` for a stack of L layers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import MultiHeadAttention
from .checks import (check_ids, check_probability, check_src, check_tensor, check_tgt, checking_values,
                     positive_int, shape_of)
from .data.vocab import pad_sequences
from .decoding import DecodeOutput, Step, greedy_decode
from . import resolve_seed
from .train import TrainConfig, TrainResult, evaluate, heldout_cross_entropy, run_training, train_seq2seq

__all__ = [
    "POSITIONAL_KINDS",
    "MASK_RATE",
    "MASK_SPLIT",
    "sinusoidal_positional_encoding",
    "PositionalEncoding",
    "TokenEmbedding",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerDecoder",
    "lengths_to_mask",
    "causal_mask",
    "TransformerConfig",
    "Seq2SeqTransformer",
    "TransformerClassifier",
    "MaskedLanguageModel",
    "EncoderOnlyOutput",
    "mask_tokens",
    "count_parameters",
    "train_sequence_classifier",
    "classify",
    "train_masked_lm",
    "fill_masks",
    "evaluate_masked_lm",
    "layer_gradient_norms",
    "TRAINING_DETAILS",
    "DetailRun",
    "switch_off",
    "ablate_training_details",
]

POSITIONAL_KINDS = ("sinusoidal", "learned", "none")
_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def count_parameters(module: nn.Module) -> int:
    """The number of trainable numbers in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------
# 1. Positions and embeddings
# ---------------------------------------------------------------------------


def sinusoidal_positional_encoding(
    length: int, d_model: int, *, base: float = 10000.0, dtype: torch.dtype = torch.float32,
    device: Optional[torch.device] = None,
) -> Tensor:
    """The encoding of Vaswani et al. (2017), section 3.5, as a ``(length, d_model)`` tensor.

    ``PE[p, 2i] = sin(p / base^(2i / D))`` and ``PE[p, 2i+1] = cos(p / base^(2i / D))``:
    each pair of dimensions is a clock hand turning at its own speed, from one
    turn every 2π positions (i = 0) to one every 2π·base positions.
    """
    positive_int(length, "length")
    positive_int(d_model, "d_model")
    if d_model % 2:
        raise ValueError(f"d_model must be even (sin and cos pairs), got {d_model}")
    if not base > 1:
        raise ValueError(f"base must be > 1, got {base}")
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (length, 1)
    i2 = torch.arange(0, d_model, 2, dtype=torch.float64)  # (D/2,): the even dimensions 2i
    angle = position / base ** (i2 / d_model)  # (length, 1) / (D/2,) -> (length, D/2)
    pe = torch.zeros(length, d_model, dtype=torch.float64)  # (length, D)
    pe[:, 0::2] = torch.sin(angle)  # even dimensions
    pe[:, 1::2] = torch.cos(angle)  # odd dimensions
    return pe.to(dtype=dtype, device=device)


class PositionalEncoding(nn.Module):
    """Adds position information to a batch of embeddings ``(B, T, D)``.

    ``kind``: ``"sinusoidal"`` (fixed, Vaswani et al.), ``"learned"`` (one
    trained vector per position, as BERT and ViT) or ``"none"`` (nothing added:
    the model then sees its input as a set).
    """

    def __init__(self, d_model: int, max_len: int = 256, *, kind: str = "sinusoidal", dropout: float = 0.0):
        super().__init__()
        positive_int(d_model, "d_model")
        positive_int(max_len, "max_len")
        check_probability(dropout)
        if kind not in POSITIONAL_KINDS:
            raise ValueError(f"kind must be one of {POSITIONAL_KINDS}, got {kind!r}")
        self.kind, self.d_model, self.max_len = kind, d_model, max_len
        self.dropout = nn.Dropout(dropout)
        if kind == "sinusoidal":
            self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model), persistent=False)
        elif kind == "learned":
            self.embedding = nn.Embedding(max_len, d_model)
            nn.init.normal_(self.embedding.weight, std=0.02)

    def encodings(self, length: int) -> Optional[Tensor]:
        """The ``(length, D)`` vectors added at positions ``0..length-1`` (None for ``"none"``)."""
        if length > self.max_len:
            raise ValueError(f"sequence of length {length} is longer than max_len={self.max_len}")
        if self.kind == "sinusoidal":
            return self.pe[:length]
        if self.kind == "learned":
            return self.embedding.weight[:length]
        return None

    def forward(self, x: Tensor) -> Tensor:
        check_tensor(x, "x", ranks=(3,))
        if x.shape[-1] != self.d_model:
            raise ValueError(f"x of shape {shape_of(x)} must have last dimension d_model={self.d_model}")
        pe = self.encodings(x.shape[1])
        if pe is not None:
            x = x + pe.to(x.dtype)  # (B, T, D) + (T, D)
        return self.dropout(x)


class TokenEmbedding(nn.Module):
    """Token ids ``(B, T)`` -> vectors ``(B, T, D)``, multiplied by √D as in the paper
    (so that the embeddings and the positional encodings have a similar size);
    ``scale=False`` leaves the factor out. The table starts with entries of
    standard deviation 1/√D, so the scaled vectors start with entries of size 1."""

    def __init__(self, vocab_size: int, d_model: int, *, pad_id: Optional[int] = 0, scale: bool = True):
        super().__init__()
        positive_int(vocab_size, "vocab_size")
        positive_int(d_model, "d_model")
        self.vocab_size, self.d_model, self.scale = vocab_size, d_model, bool(scale)
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        nn.init.normal_(self.embedding.weight, std=d_model ** -0.5)
        if pad_id is not None:
            with torch.no_grad():
                self.embedding.weight[pad_id].zero_()

    @property
    def weight(self) -> Tensor:
        """The ``(vocab_size, D)`` table (one row per token), before the √D factor."""
        return self.embedding.weight

    def forward(self, ids: Tensor) -> Tensor:
        check_ids(ids, "ids", self.vocab_size)
        x = self.embedding(ids)  # (B, T, D)
        return x * math.sqrt(self.d_model) if self.scale else x


def lengths_to_mask(lengths: Tensor, max_len: Optional[int] = None) -> Tensor:
    """``(B,)`` lengths -> boolean ``(B, L)``, True at the real tokens (the first ``lengths[b]``)."""
    if not isinstance(lengths, Tensor) or lengths.dim() != 1:
        raise ValueError(f"lengths must be a (B,) tensor, got shape {tuple(getattr(lengths, 'shape', ()))}")
    L = int(lengths.max()) if max_len is None else int(max_len)
    if lengths.numel() and checking_values() and (int(lengths.min()) < 0 or int(lengths.max()) > L):
        raise ValueError(f"lengths must lie in 0..{L}, got min {int(lengths.min())}, max {int(lengths.max())}")
    return torch.arange(L, device=lengths.device)[None, :] < lengths[:, None]  # (B, L)


def causal_mask(length: int, device: Optional[torch.device] = None) -> Tensor:
    """Boolean ``(T, T)``: position t may attend to positions 0..t (True on and below the diagonal)."""
    positive_int(length, "length")
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


# ---------------------------------------------------------------------------
# 2. The layers
# ---------------------------------------------------------------------------


def _check_layer_arguments(d_model: int, nhead: int, dim_feedforward: int, dropout: float, activation: str) -> None:
    """The constructor arguments of both layers (``d_model % nhead`` is checked by ``MultiHeadAttention``)."""
    positive_int(d_model, "d_model")
    positive_int(nhead, "nhead")
    positive_int(dim_feedforward, "dim_feedforward")
    check_probability(dropout)
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")


def _check_last_dim(x: Tensor, name: str, d_model: int) -> None:
    """``x`` is a ``(B, L, D)`` tensor with ``D = d_model``."""
    check_tensor(x, name, ranks=(3,))
    if x.shape[-1] != d_model:
        raise ValueError(f"{name} of shape {shape_of(x)} must have last dimension d_model={d_model}")


def _copy_torch_layer(cls: type, layer: nn.Module, torch_class: type) -> nn.Module:
    """``cls.from_torch``: a new ``cls`` holding the numbers of ``layer``, a ``torch_class``
    with the same sub-module names (the attentions are converted, the rest copied)."""
    if not isinstance(layer, torch_class):
        raise TypeError(f"expected torch.nn.{torch_class.__name__}, got {type(layer).__name__}")
    if not layer.self_attn.batch_first:
        raise ValueError("only batch_first=True layers can be copied (attnbook is batch first)")
    act = layer.activation
    if act is F.relu or isinstance(act, nn.ReLU):
        activation = "relu"
    elif act is F.gelu or isinstance(act, nn.GELU):
        activation = "gelu"
    else:
        raise ValueError(f"unsupported activation {act!r}: only relu and gelu")
    new = cls(layer.self_attn.embed_dim, layer.self_attn.num_heads, layer.linear1.out_features,
              layer.dropout.p, activation=activation, norm_first=layer.norm_first,
              layer_norm_eps=layer.norm1.eps)
    with torch.no_grad():
        for name, ours in list(new.named_children()):  # linear1, dropout, linear2, norm1, dropout1, ...
            theirs = getattr(layer, name)
            if isinstance(ours, MultiHeadAttention):  # torch packs q, k, v in one matrix; ours has three
                setattr(new, name, MultiHeadAttention.from_torch(theirs))
            else:
                for p_new, p_old in zip(ours.parameters(), theirs.parameters()):
                    p_new.copy_(p_old)
    return new.to(layer.linear1.weight.device)


class _Layer(nn.Module):
    """What the encoder and decoder layers share: their settings and the position-wise feed-forward
    network ``linear2(dropout(activation(linear1(x))))``, the same small MLP at every position.

    The order of creation decides which random numbers each sub-module draws: the feed-forward's
    come first, then each layer's norms, dropouts and attentions, as in ``torch.nn``'s layers, so
    that a seed gives the initial weights the book's results were measured with.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, activation: str,
                 norm_first: bool):
        super().__init__()
        _check_layer_arguments(d_model, nhead, dim_feedforward, dropout, activation)
        self.d_model, self.nhead, self.norm_first = d_model, nhead, bool(norm_first)
        self.activation_name, self.activation = activation, _ACTIVATIONS[activation]
        self.linear1 = nn.Linear(d_model, dim_feedforward)  # feed-forward: D -> F
        self.dropout = nn.Dropout(dropout)  # inside the feed-forward
        self.linear2 = nn.Linear(dim_feedforward, d_model)  # F -> D

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))  # (B, T, D) -> (B, T, F) -> (B, T, D)


class TransformerEncoderLayer(_Layer):
    """One encoder block of the Transformer::

        x -> self-attention -> dropout -> + x -> LayerNorm        (norm1)
          -> feed-forward   -> dropout -> + x -> LayerNorm        (norm2)

    (the paper's "post-norm"; ``norm_first=True`` normalises before each
    sub-layer instead, as most later models do). The residual ``+ x`` lets
    every layer add to its input instead of replacing it; the layer norm keeps
    each position's vector at mean 0 and variance 1. The feed-forward sub-layer
    (from :class:`_Layer`, shared with the decoder layer) is
    ``linear2(dropout(activation(linear1(x))))``, the same small MLP at every position.

    The sub-modules have the names of ``torch.nn.TransformerEncoderLayer``, and
    :meth:`from_torch` copies one.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1, *,
                 activation: str = "relu", norm_first: bool = False, layer_norm_eps: float = 1e-5):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, norm_first)  # linear1, dropout, linear2
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)  # sub-layer 1: self-attention
        self.dropout1 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)  # sub-layer 2: feed-forward
        self.dropout2 = nn.Dropout(dropout)
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout=dropout)

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer) -> "TransformerEncoderLayer":
        """A copy of a ``torch.nn.TransformerEncoderLayer`` (``batch_first=True``): same numbers, same outputs."""
        return _copy_torch_layer(cls, layer, nn.TransformerEncoderLayer)

    def forward(self, x: Tensor, *, key_padding_mask: Optional[Tensor] = None, attn_mask: Optional[Tensor] = None,
                is_causal: bool = False) -> Tuple[Tensor, Tensor]:
        """``x (B, T, D)`` -> ``(output (B, T, D), weights (B, H, T, T))``.

        ``key_padding_mask``: boolean ``(B, T)``, True at real tokens.
        ``attn_mask``: boolean ``(T, T)``/``(B, T, T)``/``(B, H, T, T)``, True = may attend.
        """
        _check_last_dim(x, "x", self.d_model)
        if self.norm_first:  # pre-norm: x + sublayer(LayerNorm(x))
            a, w = self._self_attention(self.norm1(x), key_padding_mask, attn_mask, is_causal)  # w: (B, H, T, T)
            x = x + self.dropout1(a)  # (B, T, D)
            x = x + self.dropout2(self._feed_forward(self.norm2(x)))  # (B, T, D)
        else:  # post-norm, the paper's: LayerNorm(x + sublayer(x))
            a, w = self._self_attention(x, key_padding_mask, attn_mask, is_causal)  # w: (B, H, T, T)
            x = self.norm1(x + self.dropout1(a))  # (B, T, D)
            x = self.norm2(x + self.dropout2(self._feed_forward(x)))  # (B, T, D)
        return x, w

    def _self_attention(self, x: Tensor, key_padding_mask: Optional[Tensor], attn_mask: Optional[Tensor],
                        is_causal: bool) -> Tuple[Tensor, Tensor]:
        return self.self_attn(x, key_padding_mask=key_padding_mask, attn_mask=attn_mask, is_causal=is_causal,
                              average_weights=False)  # (B, T, D), (B, H, T, T)


class TransformerDecoderLayer(_Layer):
    """One decoder block::

        y -> masked (causal) self-attention -> + y -> LayerNorm   (norm1)
          -> cross-attention to the encoder's output -> + -> LayerNorm (norm2)
          -> feed-forward -> + -> LayerNorm                          (norm3)

    The causal mask lets output position t see outputs 0..t only (it must not
    peek at the words it is about to predict); cross-attention is where the
    decoder reads the source, the role Bahdanau's attention played in chapter 3.
    ``norm_first=True`` normalises before each sub-layer instead (pre-norm).

    The sub-modules have the names of ``torch.nn.TransformerDecoderLayer``
    (``multihead_attn`` is the cross-attention), and :meth:`from_torch` copies one.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1, *,
                 activation: str = "relu", norm_first: bool = False, layer_norm_eps: float = 1e-5):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, norm_first)  # linear1, dropout, linear2
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)  # sub-layer 1: causal self-attention
        self.dropout1 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)  # sub-layer 2: cross-attention
        self.dropout2 = nn.Dropout(dropout)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)  # sub-layer 3: feed-forward
        self.dropout3 = nn.Dropout(dropout)
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout=dropout)
        self.multihead_attn = MultiHeadAttention(d_model, nhead, dropout=dropout)  # the cross-attention

    @classmethod
    def from_torch(cls, layer: nn.TransformerDecoderLayer) -> "TransformerDecoderLayer":
        """A copy of a ``torch.nn.TransformerDecoderLayer`` (``batch_first=True``): same numbers, same outputs."""
        return _copy_torch_layer(cls, layer, nn.TransformerDecoderLayer)

    def forward(self, y: Tensor, memory: Tensor, *, tgt_key_padding_mask: Optional[Tensor] = None,
                memory_key_padding_mask: Optional[Tensor] = None, tgt_mask: Optional[Tensor] = None,
                causal: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
        """``y (B, T, D)``, ``memory (B, S, D)`` ->
        ``(output (B, T, D), self weights (B, H, T, T), cross weights (B, H, T, S))``.

        ``causal`` (default True) masks the future; ``tgt_mask`` adds a mask of
        your own (True = may attend). Padding masks: True at real tokens.
        """
        self._check_inputs(y, memory)
        if self.norm_first:  # pre-norm: y + sublayer(LayerNorm(y))
            a, w_self = self._self_attention(self.norm1(y), tgt_key_padding_mask, tgt_mask, causal)  # (B, H, T, T)
            y = y + self.dropout1(a)  # (B, T, D)
            c, w_cross = self._cross_attention(self.norm2(y), memory, memory_key_padding_mask)  # (B, H, T, S)
            y = y + self.dropout2(c)  # (B, T, D)
            y = y + self.dropout3(self._feed_forward(self.norm3(y)))  # (B, T, D)
        else:  # post-norm, the paper's: LayerNorm(y + sublayer(y))
            a, w_self = self._self_attention(y, tgt_key_padding_mask, tgt_mask, causal)  # (B, H, T, T)
            y = self.norm1(y + self.dropout1(a))  # (B, T, D)
            c, w_cross = self._cross_attention(y, memory, memory_key_padding_mask)  # (B, H, T, S)
            y = self.norm2(y + self.dropout2(c))  # (B, T, D)
            y = self.norm3(y + self.dropout3(self._feed_forward(y)))  # (B, T, D)
        return y, w_self, w_cross

    def _check_inputs(self, y: Tensor, memory: Tensor) -> None:
        _check_last_dim(y, "y", self.d_model)
        _check_last_dim(memory, "memory", self.d_model)
        if memory.shape[0] != y.shape[0]:
            raise ValueError(f"y {shape_of(y)} and memory {shape_of(memory)} have different batch sizes")

    def _self_attention(self, y: Tensor, key_padding_mask: Optional[Tensor], attn_mask: Optional[Tensor],
                        causal: bool) -> Tuple[Tensor, Tensor]:
        return self.self_attn(y, key_padding_mask=key_padding_mask, attn_mask=attn_mask, is_causal=causal,
                              average_weights=False)  # (B, T, D), (B, H, T, T)

    def _cross_attention(self, y: Tensor, memory: Tensor, memory_key_padding_mask: Optional[Tensor]
                         ) -> Tuple[Tensor, Tensor]:
        # queries from the decoder (B, T, D); keys and values from the encoder's output (B, S, D)
        return self.multihead_attn(y, memory, memory, key_padding_mask=memory_key_padding_mask,
                                   average_weights=False)  # (B, T, D), (B, H, T, S)


def _stack(layer_class: type, num_layers: int, d_model: int, *args: Any,
           **layer_kwargs: Any) -> Tuple[nn.ModuleList, Optional[nn.LayerNorm]]:
    """``num_layers`` new layers, and the final LayerNorm that pre-norm stacks end with (else None)."""
    positive_int(num_layers, "num_layers")
    layers = nn.ModuleList(layer_class(d_model, *args, **layer_kwargs) for _ in range(num_layers))
    return layers, (nn.LayerNorm(d_model) if layer_kwargs.get("norm_first") else None)


class TransformerEncoder(nn.Module):
    """``num_layers`` encoder layers; returns the output and every layer's weights ``(L, B, H, T, T)``.
    With ``norm_first`` layers a final LayerNorm follows (as in pre-norm models)."""

    def __init__(self, num_layers: int, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, **layer_kwargs: Any):
        super().__init__()
        self.layers, self.norm = _stack(TransformerEncoderLayer, num_layers, d_model, nhead, dim_feedforward,
                                        dropout, **layer_kwargs)

    def forward(self, x: Tensor, *, key_padding_mask: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """``x (B, T, D)`` -> ``(output (B, T, D), weights (L, B, H, T, T))``; masks as in the layer."""
        weights = []
        for layer in self.layers:
            x, w = layer(x, key_padding_mask=key_padding_mask, attn_mask=attn_mask)  # (B, T, D), (B, H, T, T)
            weights.append(w)
        if self.norm is not None:
            x = self.norm(x)
        return x, torch.stack(weights)  # (B, T, D), (L, B, H, T, T)


class TransformerDecoder(nn.Module):
    """``num_layers`` decoder layers; returns the output, the self-attention weights
    ``(L, B, H, T, T)`` and the cross-attention weights ``(L, B, H, T, S)``."""

    def __init__(self, num_layers: int, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, **layer_kwargs: Any):
        super().__init__()
        self.layers, self.norm = _stack(TransformerDecoderLayer, num_layers, d_model, nhead, dim_feedforward,
                                        dropout, **layer_kwargs)

    def forward(self, y: Tensor, memory: Tensor, *, tgt_key_padding_mask: Optional[Tensor] = None,
                memory_key_padding_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """``y (B, T, D)``, ``memory (B, S, D)`` -> ``(output (B, T, D), self weights (L, B, H, T, T),
        cross weights (L, B, H, T, S))``; every layer is causal."""
        self_w, cross_w = [], []
        for layer in self.layers:
            y, ws, wc = layer(y, memory, tgt_key_padding_mask=tgt_key_padding_mask,
                              memory_key_padding_mask=memory_key_padding_mask)  # (B, T, D), (B, H, T, T), (B, H, T, S)
            self_w.append(ws)
            cross_w.append(wc)
        if self.norm is not None:
            y = self.norm(y)
        return y, torch.stack(self_w), torch.stack(cross_w)  # (B, T, D), (L, B, H, T, T), (L, B, H, T, S)


# ---------------------------------------------------------------------------
# 3. Models
# ---------------------------------------------------------------------------


@dataclass
class TransformerConfig:
    """Hyperparameters of the chapter's Transformers (small defaults for a laptop CPU)."""

    vocab_size: int = 0  # (source) vocabulary
    tgt_vocab_size: int = 0  # target vocabulary (Seq2SeqTransformer only)
    d_model: int = 64  # D
    nhead: int = 4  # H (Dh = D / H)
    num_layers: int = 2  # encoder layers
    num_decoder_layers: int = 2  # decoder layers (Seq2SeqTransformer only)
    dim_feedforward: int = 128  # F, the feed-forward layer's hidden size
    dropout: float = 0.0  # on the positions, the attention weights and every sub-layer's output
    max_len: int = 128  # longest sequence the positions cover
    positional: str = "sinusoidal"  # "sinusoidal", "learned" or "none"
    norm_first: bool = False  # the paper's post-norm by default
    activation: str = "relu"  # of the feed-forward layer: "relu" (the paper's) or "gelu" (BERT's)
    scale_embeddings: bool = True  # multiply the token embeddings by √D (the paper's); False = no factor
    tie_weights: bool = False  # Seq2SeqTransformer only: the generator's weight is the target embedding table
    num_classes: int = 2  # TransformerClassifier only
    pad_id: int = 0  # padding token (embedded as zeros)
    bos_id: int = 1  # start of sentence: the decoder's first input
    eos_id: int = 2  # end of sentence: greedy decoding stops there

    def __post_init__(self) -> None:
        positive_int(self.vocab_size, "vocab_size")
        for name in ("d_model", "nhead", "num_layers", "num_decoder_layers", "dim_feedforward", "max_len",
                     "num_classes"):
            positive_int(getattr(self, name), name)
        if self.d_model % self.nhead:
            raise ValueError(f"d_model={self.d_model} is not divisible by nhead={self.nhead}")
        if self.positional not in POSITIONAL_KINDS:
            raise ValueError(f"positional must be one of {POSITIONAL_KINDS}, got {self.positional!r}")
        if self.positional == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model, got {self.d_model}")
        check_probability(self.dropout)
        for name in ("scale_embeddings", "tie_weights"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @classmethod
    def for_vocabs(cls, src_vocab: Any, tgt_vocab: Any = None, **overrides: Any) -> "TransformerConfig":
        """A config sized for the given ``Vocab`` objects (their pad/bos/eos ids)."""
        fields = dict(vocab_size=len(src_vocab), pad_id=src_vocab.pad_id, bos_id=src_vocab.bos_id,
                      eos_id=src_vocab.eos_id)
        if tgt_vocab is not None:
            fields["tgt_vocab_size"] = len(tgt_vocab)
        fields.update(overrides)
        return cls(**fields)

    def layer_kwargs(self) -> Dict[str, Any]:
        return dict(d_model=self.d_model, nhead=self.nhead, dim_feedforward=self.dim_feedforward,
                    dropout=self.dropout, activation=self.activation, norm_first=self.norm_first)


class Seq2SeqTransformer(nn.Module):
    """The encoder-decoder Transformer of "Attention is all you need", small.

    Same interface as ``attnbook.seq2seq.Seq2Seq``: ``model(src, src_lengths, tgt_in)``
    -> ``(logits (B, T, V), weights (B, T, S))`` and ``greedy_decode``, so
    ``train_seq2seq``, ``evaluate`` and ``attention_on_references`` work
    unchanged. The weights returned are the last decoder layer's
    cross-attention averaged over heads; ``attention_maps`` gives all of them.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        if config.tgt_vocab_size <= 0:
            raise ValueError("Seq2SeqTransformer needs tgt_vocab_size (use TransformerConfig.for_vocabs(src, tgt))")
        self.config = config
        self.pad_id, self.bos_id, self.eos_id = config.pad_id, config.bos_id, config.eos_id
        D = config.d_model
        self.src_embed = TokenEmbedding(config.vocab_size, D, pad_id=config.pad_id, scale=config.scale_embeddings)
        self.tgt_embed = TokenEmbedding(config.tgt_vocab_size, D, pad_id=config.pad_id, scale=config.scale_embeddings)
        self.positions = PositionalEncoding(D, config.max_len, kind=config.positional, dropout=config.dropout)
        kw = config.layer_kwargs()
        self.encoder = TransformerEncoder(config.num_layers, **kw)
        self.decoder = TransformerDecoder(config.num_decoder_layers, **kw)
        self.generator = nn.Linear(D, config.tgt_vocab_size)  # decoder output -> next-word logits
        if config.tie_weights:  # one (V, D) table: embeds the target words and scores the next one
            self.generator.weight = self.tgt_embed.embedding.weight

    def encode(self, src: Tensor, src_lengths: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """-> ``(memory (B, S, D), src_mask (B, S) True at real tokens, weights (L, B, H, S, S))``."""
        check_src(src, src_lengths)
        check_ids(src, "src", self.config.vocab_size)
        src_mask = lengths_to_mask(src_lengths, src.shape[1])  # (B, S)
        memory, weights = self.encoder(self.positions(self.src_embed(src)), key_padding_mask=src_mask)
        return memory, src_mask, weights

    def decode(self, tgt_in: Tensor, memory: Tensor, src_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """-> ``(logits (B, T, V), self weights (L, B, H, T, T), cross weights (L, B, H, T, S))``.
        No target padding mask is needed: the causal mask already keeps real
        positions from seeing the padding after them."""
        check_ids(tgt_in, "tgt_in", self.config.tgt_vocab_size)
        y, w_self, w_cross = self.decoder(self.positions(self.tgt_embed(tgt_in)), memory,
                                          memory_key_padding_mask=src_mask)
        return self.generator(y), w_self, w_cross

    def attention_maps(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Dict[str, Tensor]:
        """Every attention weight of a teacher-forced pass: ``{"encoder": (L, B, H, S, S),
        "decoder": (L, B, H, T, T), "cross": (L, B, H, T, S), "logits": (B, T, V)}``."""
        check_tgt(tgt_in, src.shape[0])
        memory, src_mask, w_enc = self.encode(src, src_lengths)
        logits, w_self, w_cross = self.decode(tgt_in, memory, src_mask)
        return {"encoder": w_enc, "decoder": w_self, "cross": w_cross, "logits": logits}

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tuple[Tensor, Tensor]:
        check_src(src, src_lengths)
        check_tgt(tgt_in, src.shape[0])
        memory, src_mask, _ = self.encode(src, src_lengths)
        logits, _, w_cross = self.decode(tgt_in, memory, src_mask)
        return logits, w_cross[-1].mean(dim=1)  # (B, T, V), (B, T, S)

    @torch.inference_mode()
    def greedy_decode(self, src: Tensor, src_lengths: Tensor, *, max_len: Optional[int] = None) -> DecodeOutput:
        """Translate word by word, always taking the most likely word; the decoder
        re-reads the whole prefix at each step. Stops when every sentence has
        produced ``<eos>`` or after ``max_len`` words (default ``S + 10``)."""
        check_src(src, src_lengths)
        B, S = src.shape
        max_len = S + 10 if max_len is None else int(max_len)
        if max_len < 1:
            raise ValueError(f"max_len must be positive, got {max_len}")
        if max_len + 1 > self.config.max_len:
            raise ValueError(f"max_len={max_len} does not fit the model's positions (max_len={self.config.max_len})")
        was_training = self.training
        self.eval()
        try:
            memory, src_mask, _ = self.encode(src, src_lengths)

            def step(y: Tensor, prefix: Tensor) -> Step:  # the state is the prefix written so far
                prefix = torch.cat([prefix, y[:, None]], dim=1)  # (B, t+1)
                logits, _, w_cross = self.decode(prefix, memory, src_mask)  # (B, t+1, V), [(B, H, t+1, S)]
                return Step(logits[:, -1], w_cross[-1][:, :, -1].mean(dim=1), prefix)  # (B, V), (B, S)

            empty = torch.zeros((B, 0), dtype=torch.long, device=src.device)  # (B, 0): nothing written yet
            return greedy_decode(step, empty, batch_size=B, max_len=max_len, bos_id=self.bos_id,
                                 eos_id=self.eos_id, pad_id=self.pad_id, device=src.device)
        finally:
            self.train(was_training)


class EncoderOnlyOutput(NamedTuple):
    """What an encoder-only model returns."""

    logits: Tensor  # (B, C) for a classifier, (B, T, V) for the masked LM
    weights: Tensor  # (L, B, H, T, T) every layer's self-attention, per head
    hidden: Tensor  # (B, T, D) the last layer's output


class _EncoderOnly(nn.Module):
    """What the classifier and the masked LM share: embeddings, positions and an encoder stack."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        if config.tie_weights:
            raise ValueError("tie_weights ties a decoder's embedding to its generator: Seq2SeqTransformer only")
        self.config = config
        self.embed = TokenEmbedding(config.vocab_size, config.d_model, pad_id=config.pad_id,
                                    scale=config.scale_embeddings)
        self.positions = PositionalEncoding(config.d_model, config.max_len, kind=config.positional,
                                            dropout=config.dropout)
        self.encoder = TransformerEncoder(config.num_layers, **config.layer_kwargs())

    def _encode(self, ids: Tensor, lengths: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        check_ids(ids, "ids", self.config.vocab_size)
        B, T = ids.shape
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=ids.device)
        check_src(ids, lengths)
        mask = lengths_to_mask(lengths, T)  # (B, T): True at real tokens
        return self.encoder(self.positions(self.embed(ids)), key_padding_mask=mask)  # (B, T, D), (L, B, H, T, T)


class TransformerClassifier(_EncoderOnly):
    """A Transformer encoder that classifies a sequence from its first token.

    Put a ``[CLS]`` token first in every sequence (as BERT does): it has no
    meaning of its own, so its output vector can only be what it gathered by
    attending to the others. ``model(ids, lengths)`` -> ``EncoderOnlyOutput`` with
    ``logits (B, num_classes)``.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__(config)
        self.head = nn.Linear(config.d_model, config.num_classes)

    def forward(self, ids: Tensor, lengths: Optional[Tensor] = None) -> EncoderOnlyOutput:
        hidden, weights = self._encode(ids, lengths)
        return EncoderOnlyOutput(self.head(hidden[:, 0]), weights, hidden)  # (B, C)


class MaskedLanguageModel(_EncoderOnly):
    """BERT in miniature: a bidirectional Transformer encoder and a head that
    predicts, at every position, which token is there. Trained on sequences where
    some tokens were replaced by ``[MASK]`` (see :func:`mask_tokens`), it must
    fill them in from the context on both sides.

    ``model(ids, lengths)`` -> ``EncoderOnlyOutput`` with ``logits (B, T, V)``.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__(config)
        D = config.d_model
        self.head = nn.Sequential(nn.Linear(D, D), nn.GELU(), nn.LayerNorm(D), nn.Linear(D, config.vocab_size))

    def forward(self, ids: Tensor, lengths: Optional[Tensor] = None) -> EncoderOnlyOutput:
        hidden, weights = self._encode(ids, lengths)
        return EncoderOnlyOutput(self.head(hidden), weights, hidden)  # (B, T, V)


#: BERT's masking rate: the share of the real tokens chosen for prediction (Devlin et al.).
MASK_RATE = 0.15
#: What happens to a chosen token: replaced by ``[MASK]``, by a random token, or kept (Devlin et al.).
MASK_SPLIT = (0.8, 0.1, 0.1)


def mask_tokens(
    ids: Tensor,
    lengths: Tensor,
    *,
    mask_id: int,
    vocab_size: int,
    p: float = MASK_RATE,
    protected: Sequence[int] = (),
    generator: Optional[torch.Generator] = None,
) -> Tuple[Tensor, Tensor]:
    """BERT's corruption: choose ``p`` of the real tokens (at least one per
    sequence); of those, 80 % become ``[MASK]``, 10 % a random token, 10 % stay
    (:data:`MASK_SPLIT`).

    Returns ``(inputs (B, T), labels (B, T))``: labels hold the original id at the
    chosen positions and -100 (ignored by ``F.cross_entropy``) elsewhere.
    ``protected`` ids (e.g. ``[CLS]``) are never chosen.
    """
    check_src(ids, lengths)
    if not 0.0 < p <= 1.0:
        raise ValueError(f"p must be in (0, 1], got {p}")
    if not 0 <= mask_id < vocab_size:
        raise ValueError(f"mask_id={mask_id} is outside the vocabulary 0..{vocab_size - 1}")
    device = ids.device
    real = lengths_to_mask(lengths, ids.shape[1])  # (B, T): True where a token may be chosen
    for t in protected:
        real &= ids != t
    if not bool(real.any(dim=1).all()):
        raise ValueError("every sequence needs at least one token that may be masked")
    r = torch.rand(ids.shape, generator=generator).to(device)  # (B, T)
    chosen = (r < p) & real  # (B, T): the positions the model must predict
    # at least one per sequence: where none was chosen, take the real token with the smallest r
    none = ~chosen.any(dim=1)  # (B,)
    if bool(none.any()):
        first = torch.where(real, r, torch.full_like(r, 2.0)).argmin(dim=1)  # (B,)
        chosen[none, first[none]] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))  # (B, T)
    action = torch.rand(ids.shape, generator=generator).to(device)  # (B, T): which of the three happens
    random_ids = torch.randint(vocab_size, ids.shape, generator=generator).to(device)  # (B, T)
    inputs = ids.clone()
    to_mask, to_random = MASK_SPLIT[0], MASK_SPLIT[0] + MASK_SPLIT[1]
    inputs = torch.where(chosen & (action < to_mask), torch.full_like(ids, mask_id), inputs)
    inputs = torch.where(chosen & (action >= to_mask) & (action < to_random), random_ids, inputs)
    return inputs, labels  # (B, T), (B, T); the chosen tokens with action >= to_random stay as they were


# ---------------------------------------------------------------------------
# 4. Training and evaluation of the encoder-only models
# ---------------------------------------------------------------------------


def _trim_batch(ids: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
    """``ids (B, L)`` cut to the longest sentence of the batch (less padding to attend over)."""
    L = int(lengths.max())
    return ids[:, :L], lengths


def train_sequence_classifier(model: nn.Module, ids: Tensor, lengths: Tensor, labels: Tensor,
                              config: Optional[Any] = None, *, callback=None):
    """Train a :class:`TransformerClassifier` on ``(ids (N, L), lengths (N,), labels (N,))``
    with the package's training loop (``attnbook.train.run_training``)."""
    config = config or TrainConfig()
    if ids.dim() != 2 or lengths.shape != (ids.shape[0],) or labels.shape != (ids.shape[0],):
        raise ValueError(
            f"ids (N, L), lengths (N,) and labels (N,) must agree, got {tuple(ids.shape)}, "
            f"{tuple(lengths.shape)}, {tuple(labels.shape)}"
        )
    device = next(model.parameters()).device
    n = ids.shape[0]

    def batch_loss(generator: torch.Generator) -> Tensor:
        idx = torch.randint(n, (config.batch_size,), generator=generator)
        x, ln = _trim_batch(ids[idx], lengths[idx])
        return F.cross_entropy(model(x.to(device), ln.to(device)).logits, labels[idx].to(device))

    return run_training(model, config, batch_loss, callback=callback)


@torch.inference_mode()
def classify(model: nn.Module, ids: Tensor, lengths: Tensor, batch_size: int = 1000) -> Tuple[Tensor, Tensor]:
    """-> ``(predicted labels (N,), probabilities (N, C))`` in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    probs = []
    for a in range(0, ids.shape[0], batch_size):
        x, ln = _trim_batch(ids[a:a + batch_size], lengths[a:a + batch_size])
        probs.append(model(x.to(device), ln.to(device)).logits.softmax(-1).cpu())
    p = torch.cat(probs)  # (N, C)
    return p.argmax(-1), p


def train_masked_lm(model: "MaskedLanguageModel", data: Any, config: Optional[Any] = None, *,
                    p: float = MASK_RATE, callback=None):
    """Pretrain ``model`` on ``data.train`` (a ``LanguageData``) by masked-token
    prediction: each step draws a batch of sentences, corrupts them with
    :func:`mask_tokens` and minimises the cross-entropy at the chosen positions."""
    config = config or TrainConfig()
    device = next(model.parameters()).device
    ids, lengths = data.encode(data.train)
    n = ids.shape[0]
    V = model.config.vocab_size

    def batch_loss(generator: torch.Generator) -> Tensor:
        idx = torch.randint(n, (config.batch_size,), generator=generator)
        x, ln = _trim_batch(ids[idx], lengths[idx])
        inputs, labels = mask_tokens(x, ln, mask_id=data.mask_id, vocab_size=V, p=p, generator=generator)
        logits = model(inputs.to(device), ln.to(device)).logits  # (B, T, V)
        # (B·T, V) against (B·T,): only the chosen positions count (the others are labelled -100)
        return F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1).to(device), ignore_index=-100)

    return run_training(model, config, batch_loss, callback=callback)


@torch.inference_mode()
def fill_masks(model: "MaskedLanguageModel", vocab: Any, sentences: Sequence[Sequence[str]],
               positions: Sequence[int], *, mask_token: str = "[mask]", k: int = 5) -> List[List[Tuple[str, float]]]:
    """For each sentence, replace the token at ``positions[i]`` by ``[mask]`` and
    return the model's ``k`` most likely fillers as ``(token, probability)``."""
    if len(sentences) != len(positions):
        raise ValueError(f"{len(sentences)} sentences but {len(positions)} positions")
    if mask_token not in vocab:
        raise ValueError(f"the vocabulary has no {mask_token!r} token")
    rows = []
    for s, i in zip(sentences, positions):
        s = list(s)
        if not 0 <= i < len(s):
            raise ValueError(f"position {i} is outside a sentence of {len(s)} tokens")
        unknown = [t for t in s if t not in vocab and t != mask_token]
        if unknown:
            raise ValueError(f"unknown word(s) {unknown}: the model only knows its vocabulary")
        s[i] = mask_token
        rows.append(vocab.encode(s))
    model.eval()
    device = next(model.parameters()).device
    ids, lengths = pad_sequences(rows, pad_id=vocab.pad_id)
    logits = model(ids.to(device), lengths.to(device)).logits  # (B, T, V)
    probs = logits[torch.arange(len(rows)), torch.as_tensor(list(positions))].softmax(-1).cpu()  # (B, V)
    top = probs.topk(k, dim=-1)
    return [[(vocab.id_to_token(int(j)), float(p)) for p, j in zip(pv, iv)] for pv, iv in zip(top.values, top.indices)]


@torch.inference_mode()
def evaluate_masked_lm(model: "MaskedLanguageModel", data: Any, sentences: Optional[Sequence[Any]] = None,
                       batch_size: int = 2000) -> Dict[str, Any]:
    """Mask every position of every held-out sentence, one at a time, and score
    the model's top-1 guess against what the language allows there.

    Returns per kind of position (``"function"``, ``"determined"``, ``"free"``,
    and ``"all"``): ``accuracy`` (top-1 = the original word), ``fits`` (top-1 is
    one of the words that fit there), ``chance`` (mean 1 / number of words that
    fit) and ``n``; plus ``records``, one dict per masked position.
    """
    sentences = data.test if sentences is None else list(sentences)
    rows, where = [], []
    for si, s in enumerate(sentences):
        for i in range(len(s.tokens)):
            toks = list(s.tokens)
            toks[i] = "[mask]"
            rows.append(data.vocab.encode(toks))
            where.append((si, i))
    ids, lengths = pad_sequences(rows, pad_id=data.vocab.pad_id)
    model.eval()
    device = next(model.parameters()).device
    preds, confs = [], []
    for a in range(0, len(rows), batch_size):
        logits = model(ids[a:a + batch_size].to(device), lengths[a:a + batch_size].to(device)).logits
        pos = torch.as_tensor([i for _, i in where[a:a + batch_size]], device=device)
        p = logits[torch.arange(len(pos), device=device), pos].softmax(-1)  # (b, V)
        c, j = p.max(-1)
        preds += j.tolist()
        confs += c.tolist()
    records = []
    for (si, i), j, c in zip(where, preds, confs):
        s = sentences[si]
        guess = data.vocab.id_to_token(j)
        records.append({"sentence": si, "position": i, "kind": s.kind(i), "truth": s.tokens[i], "guess": guess,
                        "confidence": c, "correct": guess == s.tokens[i], "fits": guess in s.choices[i],
                        "n_fit": len(s.choices[i])})
    out: Dict[str, Any] = {}
    for kind in ("function", "determined", "free", "all"):
        rs = [r for r in records if kind == "all" or r["kind"] == kind]
        if rs:
            out[kind] = {"accuracy": sum(r["correct"] for r in rs) / len(rs),
                         "fits": sum(r["fits"] for r in rs) / len(rs),
                         "chance": sum(1 / r["n_fit"] for r in rs) / len(rs), "n": len(rs)}
    out["records"] = records
    return out


# ---------------------------------------------------------------------------
# 5. Probes
# ---------------------------------------------------------------------------


def layer_gradient_norms(encoder: TransformerEncoder, x: Tensor, target: Tensor, *,
                         parameter: Optional[str] = None) -> Tensor:
    """How large a gradient each layer of a stack receives: ``(L,)``, the bottom layer first.

    Runs ``x (B, T, D)`` through ``encoder`` (a :class:`TransformerEncoder` of L
    layers), takes the loss ``mean((output - target) ** 2)`` against
    ``target (B, T, D)`` and returns, for each layer, the norm of the loss's
    gradient with respect to that layer's parameters: all of them, or only the
    one named ``parameter`` in every layer (a name from
    ``layer.named_parameters()``, e.g. ``"linear2.weight"``, the second matrix of
    the feed-forward layer, which Xiong et al. (2020) analyse).

    The parameters' ``.grad`` fields are left as they were. Dropout acts if the
    stack is in training mode: call ``.eval()`` (or build it with dropout 0) for
    a deterministic answer.
    """
    if not isinstance(encoder, TransformerEncoder):
        raise ValueError(f"encoder must be an attnbook TransformerEncoder, got {type(encoder).__name__}")
    check_tensor(x, "x", ranks=(3,))
    if not isinstance(target, Tensor) or target.shape != x.shape:
        raise ValueError(f"target of shape {tuple(getattr(target, 'shape', ()))} must have the shape of x, "
                         f"{shape_of(x)}")
    per_layer: List[List[Tensor]] = []
    for k, layer in enumerate(encoder.layers):
        named = dict(layer.named_parameters())
        if parameter is None:
            chosen = [p for p in named.values() if p.requires_grad]
        elif parameter in named:
            chosen = [named[parameter]] if named[parameter].requires_grad else []
        else:
            raise ValueError(f"layer {k} has no parameter {parameter!r}; it has {sorted(named)}")
        if not chosen:
            raise ValueError(f"layer {k} has no trainable parameter to measure ({parameter or 'all'})")
        per_layer.append(chosen)
    output, _ = encoder(x)  # (B, T, D)
    loss = F.mse_loss(output, target)
    grads = iter(torch.autograd.grad(loss, [p for ps in per_layer for p in ps]))
    norms = [torch.sqrt(sum(next(grads).pow(2).sum() for _ in ps)) for ps in per_layer]
    return torch.stack(norms).detach()  # (L,)


# ---------------------------------------------------------------------------
# 6. The training details, one at a time
# ---------------------------------------------------------------------------


#: The details of Vaswani et al.'s recipe that :func:`ablate_training_details` switches off, one at a time.
TRAINING_DETAILS = ("warm-up", "label smoothing", "√D embedding scale", "weight tying")


class DetailRun(NamedTuple):
    """One run of :func:`ablate_training_details`."""

    name: str  # "full recipe" or "no <detail>"
    model_config: TransformerConfig
    train_config: TrainConfig
    result: TrainResult  # result.losses: the plain (unsmoothed) training cross-entropy of every step
    exact_match: float  # held-out sentences translated exactly (greedy decoding)
    token_accuracy: float  # held-out target tokens right
    heldout_nll: float  # held-out cross-entropy, nats per target token, never smoothed
    parameters: int  # trainable numbers (tied weights count once)


def switch_off(detail: str, model_config: TransformerConfig, train_config: TrainConfig
               ) -> Tuple[TransformerConfig, TrainConfig]:
    """The recipe's two configs with one of :data:`TRAINING_DETAILS` switched off, all else kept.

    Without warm-up the rate starts at its peak and, in the "inverse_sqrt"
    schedule, decays from the step where the warm-up would have ended, as before.
    """
    if detail == "warm-up":
        decay_start = train_config.warmup if train_config.lr_schedule == "inverse_sqrt" else 0
        return model_config, replace(train_config, warmup=0, lr_decay_start=decay_start)
    if detail == "label smoothing":
        return model_config, replace(train_config, label_smoothing=0.0)
    if detail == "√D embedding scale":
        return replace(model_config, scale_embeddings=False), train_config
    if detail == "weight tying":
        return replace(model_config, tie_weights=False), train_config
    raise ValueError(f"detail must be one of {TRAINING_DETAILS}, got {detail!r}")


def _detail_is_on(detail: str, model_config: TransformerConfig, train_config: TrainConfig) -> bool:
    return {"warm-up": train_config.warmup > 0, "label smoothing": train_config.label_smoothing > 0,
            "√D embedding scale": model_config.scale_embeddings, "weight tying": model_config.tie_weights}[detail]


def ablate_training_details(data: Any, model_config: TransformerConfig, train_config: TrainConfig, *,
                            details: Sequence[str] = TRAINING_DETAILS, seed: Optional[int] = None,
                            examples: Optional[Sequence[Any]] = None) -> Dict[str, DetailRun]:
    """Train a ``Seq2SeqTransformer`` on ``data`` with the full recipe, then once
    per detail with that detail switched off (:func:`switch_off`); score each on
    ``examples`` (default ``data.test``).

    Every run starts from ``torch.manual_seed(seed)`` (None = ``ATTNBOOK_SEED``)
    and draws the same batches (``train_config.seed``, None = the same seed), for
    ``train_config.steps`` steps: only the detail differs. The initial weights
    are the same too, except where the detail changes them (untied, the
    generator keeps its own weight). Returns ``{"full recipe": run,
    "no warm-up": run, ...}`` (:class:`DetailRun`), in that order.
    """
    seed = resolve_seed(seed)
    for detail in details:
        if detail not in TRAINING_DETAILS:
            raise ValueError(f"detail must be one of {TRAINING_DETAILS}, got {detail!r}")
        if not _detail_is_on(detail, model_config, train_config):
            raise ValueError(f"the recipe must use {detail} for a run without it to mean anything")
    train_config = replace(train_config, seed=seed if train_config.seed is None else train_config.seed)
    recipes = {"full recipe": (model_config, train_config)}
    recipes.update({f"no {d}": switch_off(d, model_config, train_config) for d in details})
    runs = {}
    for name, (m_config, t_config) in recipes.items():
        torch.manual_seed(seed)
        model = Seq2SeqTransformer(m_config)
        result = train_seq2seq(model, data, replace(t_config, desc=name))
        scores = evaluate(model, data, examples=examples)["overall"]
        runs[name] = DetailRun(name, m_config, t_config, result, scores["exact_match"], scores["token_accuracy"],
                               heldout_cross_entropy(model, data, examples=examples), count_parameters(model))
    return runs
