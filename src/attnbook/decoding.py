"""Greedy decoding: the one loop every sequence model of the book writes with.

A decoder is described by one function, ``step(y, state) -> Step``: given the
word it wrote last (``y (B,)``, ``<bos>`` at first) and whatever it carries
(an RNN's hidden state, a Transformer's prefix), it returns the scores of the
next word, its attention weights for that word and the new state.
:func:`greedy_decode` then takes the most likely word at every step, pads the
sentences that already produced ``<eos>`` and stops when all have, so the RNN
translators (chapter 3), the captioners (chapter 2) and the Transformer
(chapter 5b) all stop, pad and count lengths the same way.
"""
from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Optional

import torch
from torch import Tensor

from .checks import positive_int

__all__ = ["Step", "DecodeOutput", "greedy_decode"]


class Step(NamedTuple):
    """What a decoder's ``step`` function returns for one word."""

    logits: Tensor  # (B, V) scores of the next word
    weights: Optional[Tensor]  # (B, S) attention over the source for this word; None without attention
    state: Any  # whatever the next step needs (hidden state, prefix, ...)
    picked: Optional[Tensor] = None  # (B,) the region hard attention used; None otherwise


class DecodeOutput(NamedTuple):
    """Result of every model's ``greedy_decode``."""

    tokens: Tensor  # (B, L) predicted ids, <eos> included, <pad> after it
    lengths: Tensor  # (B,) number of tokens before <eos> (L if none was produced)
    weights: Optional[Tensor]  # (B, L, S) attention weights, None without attention
    picked: Optional[Tensor] = None  # (B, L) regions hard attention used; None otherwise


def _stack(xs: List[Optional[Tensor]]) -> Optional[Tensor]:
    return None if xs[0] is None else torch.stack(xs, dim=1)


def greedy_decode(step: Callable[[Tensor, Any], Step], state: Any, *, batch_size: int, max_len: int,
                  bos_id: int, eos_id: int, pad_id: int, device: Any = None) -> DecodeOutput:
    """Write ``batch_size`` sequences word by word, always taking the most likely word.

    ``step(y (B,), state) -> Step`` runs the decoder for one word. Stops when every
    sequence has produced ``<eos>`` or after ``max_len`` words; a sequence that has
    finished gets ``<pad>`` from then on. The caller puts the model in eval mode and
    under ``torch.inference_mode()``.
    """
    B = positive_int(batch_size, "batch_size")
    max_len = positive_int(max_len, "max_len")
    y = torch.full((B,), bos_id, dtype=torch.long, device=device)  # (B,)
    finished = torch.zeros(B, dtype=torch.bool, device=device)  # (B,)
    lengths = torch.full((B,), max_len, dtype=torch.long, device=device)  # (B,)
    tokens: List[Tensor] = []
    weights: List[Optional[Tensor]] = []
    picked: List[Optional[Tensor]] = []
    for t in range(max_len):
        out = step(y, state)
        state = out.state
        y = out.logits.argmax(dim=-1).masked_fill(finished, pad_id)  # (B,)
        tokens.append(y)
        weights.append(out.weights)
        picked.append(out.picked)
        newly = (y == eos_id) & ~finished
        lengths = torch.where(newly, torch.full_like(lengths, t), lengths)
        finished = finished | newly
        if bool(finished.all()):
            break
    return DecodeOutput(torch.stack(tokens, dim=1), lengths, _stack(weights), _stack(picked))  # (B, L), ...
