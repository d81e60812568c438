"""Encoder-decoder translation models (Cho et al. 2014; Sutskever et al. 2014).

The file reads top to bottom:

1. ``Seq2SeqConfig`` -- the hyperparameters;
2. ``Encoder`` -- embeds the source and runs a GRU (optionally bidirectional)
   over it; returns one vector per source token (the *annotations*) and one
   summary vector (the *final* state);
3. ``BaseDecoder`` -- the interface every decoder implements
   (``init_state`` / ``step``; ``forward`` = teacher forcing);
4. ``Decoder`` -- a GRU decoder **without attention**: the encoder's final
   state is the only thing it ever sees of the source (chapter 1);
5. (chapter 3) ``AttentionDecoder`` -- reads a weighted mix of the
   annotations at every step;
6. ``Seq2Seq`` -- encoder + decoder, teacher-forced ``forward`` and batched
   ``greedy_decode``.

Shape letters: ``B`` batch, ``S`` source length, ``T`` target length, ``E``
embedding size, ``H`` hidden size, ``De`` encoder output size (``H``, or
``2H`` for a bidirectional encoder), ``V`` target vocabulary size.
Token id 0 is ``<pad>`` (see ``attnbook.data.Vocab``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = [
    "Seq2SeqConfig",
    "EncoderOutput",
    "Encoder",
    "BaseDecoder",
    "Decoder",
    "DecodeOutput",
    "Seq2Seq",
]


# ---------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------


@dataclass
class Seq2SeqConfig:
    """Hyperparameters of an encoder-decoder."""

    src_vocab_size: int  # source vocabulary size, specials included (len(src_vocab))
    tgt_vocab_size: int  # target vocabulary size, specials included (len(tgt_vocab))
    emb_dim: int = 32  # E: size of the word embeddings (source and target)
    hidden_size: int = 128  # H: size of the GRU hidden state, encoder and decoder
    bidirectional: bool = False  # bi-GRU encoder (annotations of size 2H, Bahdanau et al.)
    dropout: float = 0.0  # dropout on the embeddings
    pad_id: int = 0  # id of <pad> in both vocabularies
    bos_id: int = 1  # id of <bos> in the target vocabulary
    eos_id: int = 2  # id of <eos> in the target vocabulary

    def __post_init__(self) -> None:
        for name in ("src_vocab_size", "tgt_vocab_size", "emb_dim", "hidden_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def for_vocabs(cls, src_vocab: Any, tgt_vocab: Any, **overrides: Any) -> "Seq2SeqConfig":
        """A config sized for two ``attnbook.data.Vocab`` objects (special ids taken from them)."""
        kw = dict(
            src_vocab_size=len(src_vocab),
            tgt_vocab_size=len(tgt_vocab),
            pad_id=tgt_vocab.pad_id,
            bos_id=tgt_vocab.bos_id,
            eos_id=tgt_vocab.eos_id,
        )
        kw.update(overrides)
        return cls(**kw)


# ---------------------------------------------------------------------------
# Input checks (ValueError naming the shapes, never a bare assert)
# ---------------------------------------------------------------------------


def _check_src(src: Tensor, src_lengths: Tensor) -> None:
    if not isinstance(src, Tensor) or src.dim() != 2:
        raise ValueError(f"src must be a (B, S) tensor of token ids, got shape {tuple(getattr(src, 'shape', ()))}")
    if src.dtype not in (torch.long, torch.int32, torch.int64):
        raise ValueError(f"src must hold integer token ids, got dtype {src.dtype}")
    B, S = src.shape
    if not isinstance(src_lengths, Tensor) or src_lengths.shape != (B,):
        raise ValueError(
            f"src_lengths must have shape (B,) = ({B},) to match src {tuple(src.shape)}, "
            f"got {tuple(getattr(src_lengths, 'shape', ()))}"
        )
    if B == 0 or S == 0:
        raise ValueError(f"src must have at least one sentence and one token, got shape {tuple(src.shape)}")
    lo, hi = int(src_lengths.min()), int(src_lengths.max())
    if lo < 1 or hi > S:
        raise ValueError(f"src_lengths must lie in 1..S = 1..{S} for src {tuple(src.shape)}, got min {lo}, max {hi}")


def _check_tgt(tgt_in: Tensor, batch_size: int) -> None:
    if not isinstance(tgt_in, Tensor) or tgt_in.dim() != 2:
        shape = tuple(getattr(tgt_in, "shape", ()))
        raise ValueError(f"tgt_in must be a (B, T) tensor of token ids, got shape {shape}")
    if tgt_in.shape[0] != batch_size:
        raise ValueError(
            f"tgt_in {tuple(tgt_in.shape)} and src have different batch sizes ({tgt_in.shape[0]} vs {batch_size})"
        )
    if tgt_in.dtype not in (torch.long, torch.int32, torch.int64):
        raise ValueError(f"tgt_in must hold integer token ids, got dtype {tgt_in.dtype}")


# ---------------------------------------------------------------------------
# 2. Encoder
# ---------------------------------------------------------------------------


class EncoderOutput(NamedTuple):
    """What the encoder hands the decoder."""

    annotations: Tensor  # (B, S, De): one vector per source token (zeros at padding)
    final: Tensor  # (B, De): the summary; bi-GRU: [forward state at the last token; backward state at the first]
    mask: Tensor  # (B, S) bool: True at real tokens (the attention "may attend" convention)


class Encoder(nn.Module):
    """Embedding + GRU over the source.

    ``forward(src (B, S), src_lengths (B,)) -> EncoderOutput``. Padding is
    skipped with ``pack_padded_sequence``, so ``final`` is the state at each
    sentence's true last token.
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        emb_dim: int,
        hidden_size: int,
        bidirectional: bool = False,
        dropout: float = 0.0,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.hidden_size, self.bidirectional = hidden_size, bidirectional
        self.out_dim = hidden_size * (2 if bidirectional else 1)  # De
        self.embed = nn.Embedding(vocab_size, emb_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.rnn = nn.GRU(emb_dim, hidden_size, batch_first=True, bidirectional=bidirectional)

    def forward(self, src: Tensor, src_lengths: Tensor) -> EncoderOutput:
        _check_src(src, src_lengths)
        B, S = src.shape
        x = self.dropout(self.embed(src))  # (B, S, E)
        packed = pack_padded_sequence(x, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)  # h_n: (directions, B, H)
        annotations, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (B, S, De)
        final = torch.cat(list(h_n), dim=-1)  # (B, De): [forward; backward]
        mask = torch.arange(S, device=src.device)[None, :] < src_lengths.to(src.device)[:, None]  # (B, S)
        return EncoderOutput(annotations, final, mask)


# ---------------------------------------------------------------------------
# 3. The decoder interface
# ---------------------------------------------------------------------------


class BaseDecoder(nn.Module):
    """What ``Seq2Seq`` needs from a decoder.

    A subclass implements

    * ``init_state(enc) -> state`` -- the state before the first word;
    * ``step(y_prev (B,), state, enc) -> (logits (B, V), state, weights)`` --
      one output word; ``weights`` is the attention over the source ``(B, S)``,
      or ``None`` for a decoder without attention.

    ``forward`` (teacher forcing) loops over ``step``; a decoder may override it
    with something faster that gives the same result.
    """

    def init_state(self, enc: EncoderOutput) -> Any:
        raise NotImplementedError

    def step(self, y_prev: Tensor, state: Any, enc: EncoderOutput) -> Tuple[Tensor, Any, Optional[Tensor]]:
        raise NotImplementedError

    def forward(self, tgt_in: Tensor, enc: EncoderOutput) -> Tuple[Tensor, Optional[Tensor]]:
        """Teacher forcing: ``tgt_in (B, T)`` -> ``(logits (B, T, V), weights (B, T, S) or None)``."""
        state = self.init_state(enc)
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            step_logits, state, w = self.step(tgt_in[:, t], state, enc)  # (B, V), _, (B, S) or None
            logits.append(step_logits)
            weights.append(w)
        all_weights = None if weights[0] is None else torch.stack(weights, dim=1)  # (B, T, S)
        return torch.stack(logits, dim=1), all_weights  # (B, T, V)


# ---------------------------------------------------------------------------
# 4. Decoder without attention
# ---------------------------------------------------------------------------


class Decoder(BaseDecoder):
    """GRU decoder that sees the source only through the encoder's final state.

    ``h_0 = bridge(enc.final)`` (the identity when ``De == H``, else
    ``tanh(Linear)``); then ``h_t = GRU(embed(y_{t-1}), h_{t-1})`` and
    ``logits_t = Linear(h_t)``. The annotations are never read: this is the
    bottleneck of chapter 1.
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        emb_dim: int,
        hidden_size: int,
        enc_dim: int,
        dropout: float = 0.0,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.embed = nn.Embedding(vocab_size, emb_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.bridge = (
            nn.Identity() if enc_dim == hidden_size else nn.Sequential(nn.Linear(enc_dim, hidden_size), nn.Tanh())
        )
        self.rnn = nn.GRU(emb_dim, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, vocab_size)

    def init_state(self, enc: EncoderOutput) -> Tensor:
        return self.bridge(enc.final)  # (B, H)

    def step(self, y_prev: Tensor, state: Tensor, enc: EncoderOutput) -> Tuple[Tensor, Tensor, None]:
        x = self.dropout(self.embed(y_prev))[:, None]  # (B, 1, E)
        out, h = self.rnn(x, state[None])  # (B, 1, H), (1, B, H)
        return self.out(out[:, 0]), h[0], None  # (B, V), (B, H)

    def forward(self, tgt_in: Tensor, enc: EncoderOutput) -> Tuple[Tensor, None]:
        # Same as looping over step(), but one GRU call over the whole target (faster).
        x = self.dropout(self.embed(tgt_in))  # (B, T, E)
        out, _ = self.rnn(x, self.init_state(enc)[None])  # (B, T, H)
        return self.out(out), None  # (B, T, V)


# ---------------------------------------------------------------------------
# 5. AttentionDecoder (chapter 3) goes here: subclass BaseDecoder, implement
#    init_state and step with attnbook.attention.AdditiveAttention /
#    LuongAttention over enc.annotations (mask = enc.mask), and return the
#    weights (B, S) from step; Seq2Seq and greedy_decode need no change.
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# 6. The whole model
# ---------------------------------------------------------------------------


class DecodeOutput(NamedTuple):
    """Result of ``Seq2Seq.greedy_decode``."""

    tokens: Tensor  # (B, L) predicted ids, <eos> included, <pad> after it
    lengths: Tensor  # (B,) number of tokens before <eos> (L if none was produced)
    weights: Optional[Tensor]  # (B, L, S) attention weights, None without attention


class Seq2Seq(nn.Module):
    """Encoder + decoder.

    Build from a config (``Seq2Seq.from_config(cfg)``: GRU encoder and the
    decoder without attention) or from parts
    (``Seq2Seq(encoder=..., decoder=...)``).
    """

    def __init__(
        self, *, encoder: Encoder, decoder: BaseDecoder, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2
    ) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.config: Optional[Seq2SeqConfig] = None  # set by from_config

    @classmethod
    def from_config(cls, config: Seq2SeqConfig) -> "Seq2Seq":
        encoder = Encoder(
            vocab_size=config.src_vocab_size,
            emb_dim=config.emb_dim,
            hidden_size=config.hidden_size,
            bidirectional=config.bidirectional,
            dropout=config.dropout,
            pad_id=config.pad_id,
        )
        decoder = Decoder(
            vocab_size=config.tgt_vocab_size,
            emb_dim=config.emb_dim,
            hidden_size=config.hidden_size,
            enc_dim=encoder.out_dim,
            dropout=config.dropout,
            pad_id=config.pad_id,
        )
        model = cls(encoder=encoder, decoder=decoder, pad_id=config.pad_id, bos_id=config.bos_id, eos_id=config.eos_id)
        model.config = config
        return model

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Teacher forcing.

        ``src (B, S)``, ``src_lengths (B,)``, ``tgt_in (B, T)`` (``<bos> y_1 ... y_n``)
        -> ``(logits (B, T, V), weights (B, T, S) or None)``.
        """
        _check_src(src, src_lengths)
        _check_tgt(tgt_in, src.shape[0])
        return self.decoder(tgt_in, self.encoder(src, src_lengths))

    @torch.no_grad()
    def greedy_decode(self, src: Tensor, src_lengths: Tensor, *, max_len: Optional[int] = None) -> DecodeOutput:
        """Translate a batch word by word, always taking the most likely word.

        Stops when every sentence has produced ``<eos>`` or after ``max_len``
        words (default ``S + 10``). Runs in eval mode (restored afterwards).
        """
        _check_src(src, src_lengths)
        B, S = src.shape
        max_len = S + 10 if max_len is None else int(max_len)
        if max_len < 1:
            raise ValueError(f"max_len must be positive, got {max_len}")
        was_training = self.training
        self.eval()
        try:
            enc = self.encoder(src, src_lengths)
            state = self.decoder.init_state(enc)
            y = torch.full((B,), self.bos_id, dtype=torch.long, device=src.device)  # (B,)
            finished = torch.zeros(B, dtype=torch.bool, device=src.device)  # (B,)
            lengths = torch.full((B,), max_len, dtype=torch.long, device=src.device)  # (B,)
            tokens: List[Tensor] = []
            weights: List[Optional[Tensor]] = []
            for t in range(max_len):
                logits, state, w = self.decoder.step(y, state, enc)  # (B, V), _, (B, S) or None
                y = logits.argmax(dim=-1)  # (B,)
                y = y.masked_fill(finished, self.pad_id)
                tokens.append(y)
                weights.append(w)
                newly = (y == self.eos_id) & ~finished
                lengths = torch.where(newly, torch.full_like(lengths, t), lengths)
                finished = finished | newly
                if bool(finished.all()):
                    break
        finally:
            self.train(was_training)
        all_weights = None if weights[0] is None else torch.stack(weights, dim=1)  # (B, L, S)
        return DecodeOutput(torch.stack(tokens, dim=1), lengths, all_weights)  # (B, L)
