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
   annotations at every step (Bahdanau's additive score or Luong's dot /
   general / concat) and returns those weights, the alignment; and
   ``FixedContextDecoder`` -- the same decoder with its context fixed to the
   encoder's summary (the no-attention baseline of chapter 3);
6. ``Seq2Seq`` -- encoder + decoder, teacher-forced ``forward`` and batched
   ``greedy_decode``;
7. (chapter 3) ``AttentionSeq2SeqConfig`` and ``AttentionSeq2Seq`` -- the
   encoder-decoder with attention, built from a config.

Shape letters: ``B`` batch, ``S`` source length, ``T`` target length, ``E``
embedding size, ``H`` hidden size, ``De`` encoder output size (``H``, or
``2H`` for a bidirectional encoder), ``Hd`` the attention decoder's state
size, ``A`` the attention's tanh-layer size, ``V`` target vocabulary size.
Token id 0 is ``<pad>`` (see ``attnbook.data.Vocab``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .attention import (LOCAL_ATTENTIONS, AdditiveAttention, LocalAttention, LuongAttention, ScoredAttention,
                        check_local_window, masked_softmax)
from .checks import check_choice, check_positive_ints, check_probability, check_src, check_tgt, positive_int
from .decoding import DecodeOutput, Step, greedy_decode

__all__ = [
    "Seq2SeqConfig",
    "EncoderOutput",
    "Encoder",
    "BaseDecoder",
    "Decoder",
    "FixedContextDecoder",
    "DecodeOutput",
    "Seq2Seq",
    "ATTENTION_SCORES",
    "DECODER_STYLES",
    "ATTENTION_TYPES",
    "AttentionState",
    "AttentionDecoder",
    "AttentionSeq2SeqConfig",
    "AttentionSeq2Seq",
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
    fixed_context: bool = False  # decoder: FixedContextDecoder (summary read at every step, deep output), not Decoder

    def __post_init__(self) -> None:
        check_positive_ints(**{name: getattr(self, name)
                                for name in ("src_vocab_size", "tgt_vocab_size", "emb_dim", "hidden_size")})
        check_probability(self.dropout, "dropout")

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
        check_src(src, src_lengths)
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
# 5. Decoder with attention (chapter 3)
# ---------------------------------------------------------------------------

#: the score functions an ``AttentionDecoder`` can use
ATTENTION_SCORES = ("additive", "dot", "general", "concat")
#: where the decoder attends from: Bahdanau's previous state or Luong's current one
DECODER_STYLES = ("bahdanau", "luong")
#: which annotations it scores: all of them (global) or Luong's window of 2D + 1 (local-m, local-p)
ATTENTION_TYPES = ("global",) + LOCAL_ATTENTIONS


def check_window(attention_type: str, window: Optional[int]) -> None:
    """``attention_type`` is one of ``ATTENTION_TYPES``; local attention has a window ``D >= 0`` (local-p:
    ``D >= 1``, see ``attention.check_local_window``), global attention none."""
    check_choice(attention_type, "attention_type", ATTENTION_TYPES)
    if attention_type == "global":
        if window is not None:
            raise ValueError(f'window={window!r} sets the width of local attention; attention_type="global" '
                             'scores every source word: leave window=None or pick "local-m" / "local-p"')
        return
    if window is None:
        raise ValueError(f'attention_type="{attention_type}" needs a window D (it scores the 2D + 1 positions '
                         "p_t - D .. p_t + D), e.g. window=2; got window=None")
    check_local_window(attention_type, window)


class AttentionState(NamedTuple):
    """What an ``AttentionDecoder`` carries from one output step to the next."""

    hidden: Tensor  # (B, Hd) the GRU state (s_{t-1} in Bahdanau's notation, h_{t-1} in Luong's)
    feed: Tensor  # (B, Hd) Luong: the attentional state h~_{t-1} fed to the next step; Bahdanau: unused (zeros)
    keys: Tensor  # (B, S, A) the key side of the score, attention.project_keys(annotations): computed once
    lengths: Optional[Tensor] = None  # (B,) local attention: the source lengths S, counted once; global: None
    t: int = 0  # output words written so far: the index t of the next one (local-m's p_t = t)
    position: Optional[Tensor] = None  # (B,) local attention: p_t of the last step's window; global: None


class _ContextDecoder(BaseDecoder):
    """What the attention decoder and its fixed-context twin share: the target embedding ``E``, the
    dropout on it and ``W_init`` of the first state ``s_0 = tanh(W_init · enc.final)``, created in this
    order (a seed gives the same weights), with ``Hd = enc_dim`` unless ``hidden_size`` says otherwise."""

    def __init__(self, vocab_size: int, emb_dim: int, enc_dim: int, hidden_size: Optional[int], dropout: float,
                 pad_id: int) -> None:
        super().__init__()
        hidden_size = enc_dim if hidden_size is None else hidden_size
        check_positive_ints(vocab_size=vocab_size, emb_dim=emb_dim, enc_dim=enc_dim, hidden_size=hidden_size)
        self.hidden_size, self.enc_dim = hidden_size, enc_dim  # Hd, De
        self.embed = nn.Embedding(vocab_size, emb_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.init = nn.Linear(enc_dim, hidden_size)  # s_0 = tanh(W_init · enc.final)


class AttentionDecoder(_ContextDecoder):
    """GRU decoder that reads a weighted mix of all the annotations at every step.

    Two published arrangements (``style``) and four scores (``score``)::

        style="bahdanau" (Bahdanau et al. 2015; attend, then update):
            c_t, α_t = attend(query=s_{t-1}, keys=annotations)
            s_t      = GRU([E y_{t-1}; c_t], s_{t-1})
            logits_t = out(tanh(W_o [s_t; c_t; E y_{t-1}]))

        style="luong" (Luong et al. 2015, global attention; update, then attend):
            h_t      = GRU([E y_{t-1}; h~_{t-1}], h_{t-1})     (input feeding)
            c_t, α_t = attend(query=h_t, keys=annotations)
            h~_t     = tanh(W_c [c_t; h_t])
            logits_t = out(h~_t)

    ``score`` picks ``attend``: ``"additive"`` is ``AdditiveAttention``
    (``w · tanh(W_c q + W_y h_j + b)``); ``"dot"``, ``"general"`` and
    ``"concat"`` are ``LuongAttention(score=...)``. ``attention_type`` says
    which annotations are scored: ``"global"`` (the default) all ``S`` of
    them; Luong et al.'s ``"local-m"`` and ``"local-p"`` only the ``2D + 1``
    around an aligned position ``p_t``, with ``D = window``
    (``attention.LocalAttention``; ``step`` keeps ``p_t`` in
    ``state.position``). Local attention works with either style; Luong et
    al. used it with theirs. The decoder state has
    ``Hd = enc_dim`` units unless ``hidden_size`` says otherwise, so that the
    parameter-free ``dot`` score can compare it with the annotations
    (``dot`` needs ``Hd == enc_dim``). The first state is
    ``tanh(W_init · enc.final)``.

    The key side of the attention's score does not depend on the output step,
    so ``init_state`` computes it once per sentence
    (``attention.project_keys``, kept in ``state.keys``) and ``step`` only
    adds the query side (``attention.score``) -- the same weights as calling
    the module (``tests/test_attention_decoder.py`` checks it), without
    redoing ``S`` projections at every word.

    ``step`` returns the attention weights ``(B, S)``; teacher-forced
    ``forward`` returns them stacked ``(B, T, S)`` and ``Seq2Seq.greedy_decode``
    collects ``(B, L, S)`` -- the alignment of every output word.
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        emb_dim: int,
        enc_dim: int,
        hidden_size: Optional[int] = None,
        score: str = "additive",
        style: str = "bahdanau",
        attention_dim: Optional[int] = None,
        attention_type: str = "global",
        window: Optional[int] = None,
        dropout: float = 0.0,
        pad_id: int = 0,
    ) -> None:
        check_choice(score, "score", ATTENTION_SCORES)
        check_choice(style, "style", DECODER_STYLES)
        check_window(attention_type, window)
        if attention_dim is not None:
            positive_int(attention_dim, "attention_dim")
        super().__init__(vocab_size, emb_dim, enc_dim, hidden_size, dropout, pad_id)  # embed, dropout, init
        hidden_size = self.hidden_size  # Hd
        attention_dim = hidden_size if attention_dim is None else attention_dim
        if score == "dot" and hidden_size != enc_dim:
            raise ValueError(
                f'score="dot" compares the decoder state with the annotations, so it needs '
                f"hidden_size == enc_dim, got hidden_size={hidden_size}, enc_dim={enc_dim}"
            )
        self.score, self.style, self.attention_type, self.window = score, style, attention_type, window
        if score == "additive":
            self.attention: ScoredAttention = AdditiveAttention(
                query_dim=hidden_size, key_dim=enc_dim, hidden_dim=attention_dim
            )
        else:
            self.attention = LuongAttention(
                score=score, query_dim=hidden_size, key_dim=enc_dim,
                hidden_dim=attention_dim if score == "concat" else None,
            )
        if style == "bahdanau":
            self.rnn = nn.GRUCell(emb_dim + enc_dim, hidden_size)  # input [E y_{t-1}; c_t]
            self.combine = nn.Linear(hidden_size + enc_dim + emb_dim, hidden_size)  # W_o [s_t; c_t; E y_{t-1}]
        else:
            self.rnn = nn.GRUCell(emb_dim + hidden_size, hidden_size)  # input [E y_{t-1}; h~_{t-1}]
            self.combine = nn.Linear(enc_dim + hidden_size, hidden_size, bias=False)  # W_c [c_t; h_t]
        self.out = nn.Linear(hidden_size, vocab_size)
        if attention_type != "global":  # the same score over a window (W_p, v_p of local-p created last)
            self.attention = LocalAttention(self.attention, kind=attention_type, window=window, query_dim=hidden_size)

    # -- the attention, with its key side computed once per sentence --------

    def attend(self, query: Tensor, keys: Tensor, enc: EncoderOutput, t: int = 0,
               lengths: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """One query per sentence: ``query (B, Hd)`` -> ``(context (B, De), weights (B, S), p_t (B,) or None)``.

        ``keys`` is ``self.attention.project_keys(enc.annotations)``, computed
        once per sentence by ``init_state``; ``t`` is the index of the output
        word. Global attention scores all ``S`` annotations -- equal to
        ``self.attention(query, enc.annotations, mask=enc.mask)`` -- and has no
        ``p_t``; local attention scores the window around ``p_t``, in sentences
        of ``lengths (B,)`` words (``init_state`` counts them once; default:
        counted from ``enc.mask``).
        """
        if self.attention_type == "global":
            scores = self.attention.score(query, keys)  # (B, S)
            weights = masked_softmax(scores, enc.mask)  # (B, S), each row sums to 1
            context = torch.bmm(weights[:, None, :], enc.annotations).squeeze(1)  # (B, 1, S) @ (B, S, De) -> (B, De)
            return context, weights, None
        lengths = enc.mask.sum(-1) if lengths is None else lengths  # (B,) S of each sentence
        position = self.attention.position(query, lengths, t)  # (B,) p_t
        context, weights = self.attention(query, keys, enc.annotations, lengths, position)  # (B, De), (B, S)
        return context, weights, position

    # -- the BaseDecoder interface -------------------------------------------

    def init_state(self, enc: EncoderOutput) -> AttentionState:
        hidden = torch.tanh(self.init(enc.final))  # (B, Hd)
        lengths = None if self.attention_type == "global" else enc.mask.sum(-1)  # (B,) local: S, counted once
        return AttentionState(hidden, torch.zeros_like(hidden), self.attention.project_keys(enc.annotations), lengths)

    def step(self, y_prev: Tensor, state: AttentionState, enc: EncoderOutput) -> Tuple[Tensor, AttentionState, Tensor]:
        emb = self.dropout(self.embed(y_prev))  # (B, E)
        if self.style == "bahdanau":
            # context (B, De), weights (B, S), position: local attention's p_t (B,), or None
            context, weights, position = self.attend(state.hidden, state.keys, enc, state.t, state.lengths)
            hidden = self.rnn(torch.cat([emb, context], dim=-1), state.hidden)  # (B, Hd)
            feed = state.feed
            out = torch.tanh(self.combine(torch.cat([hidden, context, emb], dim=-1)))  # (B, Hd)
        else:
            hidden = self.rnn(torch.cat([emb, state.feed], dim=-1), state.hidden)  # (B, Hd)
            context, weights, position = self.attend(hidden, state.keys, enc, state.t, state.lengths)  # as above
            out = feed = torch.tanh(self.combine(torch.cat([context, hidden], dim=-1)))  # (B, Hd)
        state = AttentionState(hidden, feed, state.keys, state.lengths, state.t + 1, position)
        return self.out(out), state, weights  # (B, V), _, (B, S)

    def forward(self, tgt_in: Tensor, enc: EncoderOutput) -> Tuple[Tensor, Tensor]:
        """Teacher forcing: ``tgt_in (B, T)`` -> ``(logits (B, T, V), weights (B, T, S))``.

        The same as looping over ``step``, but the embeddings and the output
        layers that do not feed back into the recurrence run once over all
        ``T`` steps (faster to train).
        """
        state = self.init_state(enc)
        hidden, feed, keys = state.hidden, state.feed, state.keys
        embs = self.dropout(self.embed(tgt_in))  # (B, T, E)
        outs, weights = [], []
        for t in range(tgt_in.shape[1]):
            emb = embs[:, t]  # (B, E)
            if self.style == "bahdanau":
                context, w, _ = self.attend(hidden, keys, enc, t, state.lengths)  # (B, De), (B, S)
                hidden = self.rnn(torch.cat([emb, context], dim=-1), hidden)  # (B, Hd)
                outs.append(torch.cat([hidden, context, emb], dim=-1))  # (B, Hd + De + E)
            else:
                hidden = self.rnn(torch.cat([emb, feed], dim=-1), hidden)  # (B, Hd)
                context, w, _ = self.attend(hidden, keys, enc, t, state.lengths)  # (B, De), (B, S)
                feed = torch.tanh(self.combine(torch.cat([context, hidden], dim=-1)))  # (B, Hd)
                outs.append(feed)
            weights.append(w)
        out = torch.stack(outs, dim=1)  # (B, T, Hd + De + E) or (B, T, Hd)
        if self.style == "bahdanau":
            out = torch.tanh(self.combine(out))  # (B, T, Hd)
        return self.out(out), torch.stack(weights, dim=1)  # (B, T, V), (B, T, S)


class FixedContextDecoder(_ContextDecoder):
    """``AttentionDecoder(style="bahdanau")`` with the context fixed: no attention.

    Bahdanau et al. (2015, appendix A.2.2) note that their model "becomes RNN
    Encoder--Decoder (Cho et al., 2014a), if we fix c_i" to the last state of
    a forward encoder. This decoder fixes it to the encoder's summary: one
    vector for the whole sentence, ``c = enc.final`` (for a bi-GRU ``[forward
    state at the last word; backward state at the first]``), read at every
    step::

        s_0      = tanh(W_init c)
        s_t      = GRU([E y_{t-1}; c], s_{t-1})
        logits_t = out(tanh(W_o [s_t; c; E y_{t-1}]))      (the deep output)

    Every layer has the name and shape of its counterpart in the attention
    decoder (``embed``, ``init``, ``rnn``, ``combine``, ``out``; ``Hd =
    enc_dim`` unless ``hidden_size`` says otherwise), so the two decoders
    differ only in where ``c`` comes from: here one summary of the sentence,
    there a weighted mix of the annotations chosen anew for every word. The
    annotations are never read (chapter 3's no-attention baseline). ``step``
    returns ``None`` for the weights.
    """

    def __init__(self, *, vocab_size: int, emb_dim: int, enc_dim: int, hidden_size: Optional[int] = None,
                 dropout: float = 0.0, pad_id: int = 0) -> None:
        super().__init__(vocab_size, emb_dim, enc_dim, hidden_size, dropout, pad_id)  # embed, dropout, init
        hidden_size = self.hidden_size  # Hd
        self.rnn = nn.GRU(emb_dim + enc_dim, hidden_size, batch_first=True)  # input [E y_{t-1}; c]
        self.combine = nn.Linear(hidden_size + enc_dim + emb_dim, hidden_size)  # W_o [s_t; c; E y_{t-1}]
        self.out = nn.Linear(hidden_size, vocab_size)

    def context(self, enc: EncoderOutput) -> Tensor:
        """The fixed context ``c = enc.final`` ``(B, De)``, the same for every output word."""
        if enc.final.dim() != 2 or enc.final.shape[-1] != self.enc_dim:
            raise ValueError(
                f"enc.final must have shape (B, enc_dim) = (B, {self.enc_dim}), got {tuple(enc.final.shape)}"
            )
        return enc.final

    def init_state(self, enc: EncoderOutput) -> Tensor:
        return torch.tanh(self.init(self.context(enc)))  # (B, Hd)

    def step(self, y_prev: Tensor, state: Tensor, enc: EncoderOutput) -> Tuple[Tensor, Tensor, None]:
        emb = self.dropout(self.embed(y_prev))  # (B, E)
        context = self.context(enc)  # (B, De): the same at every step -- no attention
        _, h = self.rnn(torch.cat([emb, context], dim=-1)[:, None], state[None])  # (1, B, Hd)
        hidden = h[0]  # (B, Hd)
        out = torch.tanh(self.combine(torch.cat([hidden, context, emb], dim=-1)))  # (B, Hd)
        return self.out(out), hidden, None  # (B, V), (B, Hd)

    def forward(self, tgt_in: Tensor, enc: EncoderOutput) -> Tuple[Tensor, None]:
        """Teacher forcing: ``tgt_in (B, T)`` -> ``(logits (B, T, V), None)``.

        The same as looping over ``step``, but one GRU call over the whole
        target, since the context does not depend on the step (faster).
        """
        embs = self.dropout(self.embed(tgt_in))  # (B, T, E)
        context = self.context(enc)[:, None, :].expand(-1, tgt_in.shape[1], -1)  # (B, T, De)
        hidden, _ = self.rnn(torch.cat([embs, context], dim=-1), self.init_state(enc)[None])  # (B, T, Hd)
        out = torch.tanh(self.combine(torch.cat([hidden, context, embs], dim=-1)))  # (B, T, Hd)
        return self.out(out), None  # (B, T, V)


# ---------------------------------------------------------------------------
# 6. The whole model
# ---------------------------------------------------------------------------


def _decoder_sizes(config: Seq2SeqConfig, enc_dim: int) -> dict:
    """The constructor arguments every decoder takes from a config."""
    return dict(vocab_size=config.tgt_vocab_size, emb_dim=config.emb_dim, enc_dim=enc_dim, dropout=config.dropout,
                pad_id=config.pad_id)


class Seq2Seq(nn.Module):
    """Encoder + decoder.

    Build from a config (``Seq2Seq.from_config(cfg)``: GRU encoder and the
    decoder without attention, ``Decoder``, or ``FixedContextDecoder`` when
    ``cfg.fixed_context``) or from parts
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
        decoder = cls._make_decoder(config, encoder.out_dim)
        model = cls(encoder=encoder, decoder=decoder, pad_id=config.pad_id, bos_id=config.bos_id, eos_id=config.eos_id)
        model.config = config
        return model

    @staticmethod
    def _make_decoder(config: Seq2SeqConfig, enc_dim: int) -> "BaseDecoder":
        """The decoder ``from_config`` puts after the encoder (here: without attention)."""
        decoder = FixedContextDecoder if config.fixed_context else Decoder
        return decoder(**_decoder_sizes(config, enc_dim), hidden_size=config.hidden_size)

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Teacher forcing.

        ``src (B, S)``, ``src_lengths (B,)``, ``tgt_in (B, T)`` (``<bos> y_1 ... y_n``)
        -> ``(logits (B, T, V), weights (B, T, S) or None)``.
        """
        check_src(src, src_lengths)
        check_tgt(tgt_in, src.shape[0])
        return self.decoder(tgt_in, self.encoder(src, src_lengths))

    @torch.inference_mode()
    def greedy_decode(self, src: Tensor, src_lengths: Tensor, *, max_len: Optional[int] = None) -> DecodeOutput:
        """Translate a batch word by word, always taking the most likely word.

        Stops when every sentence has produced ``<eos>`` or after ``max_len``
        words (default ``S + 10``). Runs in eval mode (restored afterwards).
        """
        check_src(src, src_lengths)
        B, S = src.shape
        max_len = S + 10 if max_len is None else int(max_len)
        if max_len < 1:
            raise ValueError(f"max_len must be positive, got {max_len}")
        was_training = self.training
        self.eval()
        try:
            enc = self.encoder(src, src_lengths)

            def step(y: Tensor, state: Any) -> Step:
                logits, state, w = self.decoder.step(y, state, enc)  # (B, V), _, (B, S) or None
                return Step(logits, w, state)

            return greedy_decode(step, self.decoder.init_state(enc), batch_size=B, max_len=max_len,
                                 bos_id=self.bos_id, eos_id=self.eos_id, pad_id=self.pad_id, device=src.device)
        finally:
            self.train(was_training)


# ---------------------------------------------------------------------------
# 7. Encoder-decoder with attention (chapter 3)
# ---------------------------------------------------------------------------


@dataclass
class AttentionSeq2SeqConfig(Seq2SeqConfig):
    """Hyperparameters of an encoder-decoder with attention (the fields of ``Seq2SeqConfig``, plus these)."""

    bidirectional: bool = True  # bi-GRU encoder: one annotation [forward; backward] per source word
    score: str = "additive"  # "additive" (Bahdanau), or Luong's "dot", "general", "concat"
    style: str = "bahdanau"  # "bahdanau": attend from s_{t-1}; "luong": attend from h_t, input feeding
    decoder_hidden_size: Optional[int] = None  # Hd; None = the annotation size De (needed by "dot")
    attention_dim: Optional[int] = None  # size of the tanh layer of "additive"/"concat"; None = Hd
    attention_type: str = "global"  # "global": score every source word; Luong's "local-m" / "local-p": a window
    window: Optional[int] = None  # D: local attention scores the 2D + 1 positions p_t - D .. p_t + D; None for global

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice(self.score, "score", ATTENTION_SCORES)
        check_choice(self.style, "style", DECODER_STYLES)
        check_window(self.attention_type, self.window)
        for name in ("decoder_hidden_size", "attention_dim"):
            if getattr(self, name) is not None:  # None: the default size
                positive_int(getattr(self, name), name)
        if self.fixed_context:
            raise ValueError(
                "fixed_context=True builds the decoder without attention (FixedContextDecoder); "
                "an AttentionSeq2SeqConfig always builds an AttentionDecoder -- use Seq2SeqConfig"
            )


class AttentionSeq2Seq(Seq2Seq):
    """``Seq2Seq`` built with an ``AttentionDecoder``: ``AttentionSeq2Seq.from_config(cfg)``.

    Everything else (teacher-forced ``forward``, ``greedy_decode``) is
    ``Seq2Seq``'s; both return the attention weights, ``(B, T, S)`` and
    ``(B, L, S)``.
    """

    @classmethod
    def from_config(cls, config: Seq2SeqConfig) -> "AttentionSeq2Seq":
        if not isinstance(config, AttentionSeq2SeqConfig):
            raise ValueError(
                f"AttentionSeq2Seq needs an AttentionSeq2SeqConfig, got {type(config).__name__}; "
                "use Seq2Seq.from_config for the model without attention"
            )
        return super().from_config(config)

    @staticmethod
    def _make_decoder(config: Seq2SeqConfig, enc_dim: int) -> "BaseDecoder":
        return AttentionDecoder(**_decoder_sizes(config, enc_dim), hidden_size=config.decoder_hidden_size,
                                score=config.score, style=config.style, attention_dim=config.attention_dim,
                                attention_type=config.attention_type, window=config.window)
