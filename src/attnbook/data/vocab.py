"""A shared vocabulary and the batching every sequence-to-sequence task uses.

A ``Vocab`` maps tokens to integer ids and back, with four special tokens at
fixed ids (``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2, ``<unk>`` = 3).
``Example`` is one source/target pair with its ground-truth alignment,
``ParallelData`` a task's train/test split with its two vocabularies, and
``make_batch`` turns a list of examples into padded tensors plus lengths.

Sentences are always *lists of tokens*: split a string yourself
(``s.split()`` for words, ``list(s)`` for characters).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, NamedTuple, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from ..checks import check_tokens

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "UNK",
    "SPECIALS",
    "Vocab",
    "Example",
    "ParallelData",
    "Seq2SeqBatch",
    "pad_sequences",
    "make_batch",
]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS: Tuple[str, ...] = (PAD, BOS, EOS, UNK)


class Vocab:
    """Token <-> id mapping with ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>`` at ids 0-3.

    >>> v = Vocab(["cat", "dog"])
    >>> v.encode(["dog", "cat", "cow"], add_eos=True)
    [5, 4, 3, 2]
    >>> v.decode([5, 4, 2, 0])
    ['dog', 'cat']
    """

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, tokens: Iterable[str]) -> None:
        check_tokens(tokens, "tokens")
        self.itos: List[str] = list(SPECIALS)
        self.stoi: Dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        for tok in tokens:
            if not isinstance(tok, str):
                raise ValueError(f"tokens must be strings, got {type(tok).__name__}")
            if tok not in self.stoi:  # keep first occurrence order: ids are reproducible
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sequence[str]]) -> "Vocab":
        """Build a vocabulary from tokenised sentences, in order of first appearance."""
        def tokens():
            for s in sentences:
                check_tokens(s, "each sentence")
                yield from s
        return cls(tokens())

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, tokens={self.itos[len(SPECIALS):len(SPECIALS) + 6]}...)"

    @property
    def tokens(self) -> List[str]:
        """The ordinary tokens, specials excluded."""
        return self.itos[len(SPECIALS):]

    def token_to_id(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def id_to_token(self, idx: int) -> str:
        return self.itos[int(idx)]

    def encode(self, tokens: Sequence[str], *, add_bos: bool = False, add_eos: bool = False) -> List[int]:
        """Token list -> id list (unknown tokens become ``<unk>``)."""
        check_tokens(tokens, "tokens")
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids: Iterable[int], *, stop_at_eos: bool = True, keep_specials: bool = False) -> List[str]:
        """Id list (or 1-D tensor) -> token list.

        Stops at the first ``<eos>`` unless ``stop_at_eos=False``; drops
        ``<pad>``/``<bos>``/``<eos>`` unless ``keep_specials=True``.
        """
        if isinstance(ids, Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode expects a 1-D sequence of ids, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        out: List[str] = []
        for i in ids:
            i = int(i)
            if i == self.eos_id and stop_at_eos:
                break
            if not keep_specials and i in (self.pad_id, self.bos_id, self.eos_id):
                continue
            out.append(self.itos[i])
        return out

    def encode_batch(
        self, sentences: Sequence[Sequence[str]], *, add_bos: bool = False, add_eos: bool = False
    ) -> Tuple[Tensor, Tensor]:
        """Encode and pad a list of sentences -> ``(ids (B, L), lengths (B,))``."""
        return pad_sequences([self.encode(s, add_bos=add_bos, add_eos=add_eos) for s in sentences],
                             pad_id=self.pad_id)


def pad_sequences(seqs: Sequence[Sequence[int]], *, pad_id: int = 0) -> Tuple[Tensor, Tensor]:
    """Right-pad id lists into one tensor.

    Returns ``(ids, lengths)``: ``ids`` is a ``(B, L)`` long tensor with
    ``L = max length``, ``lengths`` a ``(B,)`` long tensor.
    """
    if len(seqs) == 0:
        raise ValueError("pad_sequences needs at least one sequence, got an empty batch")
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))  # (B,)
    flat = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int64, count=int(lengths.sum()))
    out = np.full((len(seqs), int(lengths.max())), pad_id, dtype=np.int64)  # (B, L)
    out[np.arange(out.shape[1])[None, :] < lengths[:, None]] = flat  # row-major fill = concatenation order
    return torch.from_numpy(out), torch.from_numpy(lengths)


@dataclass(frozen=True)
class Example:
    """One source/target pair of a translation task."""

    source: Tuple[str, ...]  # source tokens, e.g. ("red", "cat", "sees")
    target: Tuple[str, ...]  # reference translation tokens
    alignment: Tuple[int, ...]  # alignment[j] = source position that target token j comes from

    def __post_init__(self) -> None:
        if len(self.alignment) != len(self.target):
            raise ValueError(
                f"alignment has {len(self.alignment)} entries but target has {len(self.target)} tokens"
            )


@dataclass
class ParallelData:
    """A task's train and test examples with their vocabularies."""

    train: List[Example]  # training pairs
    test: List[Example]  # held-out pairs (disjoint from train)
    src_vocab: Vocab  # vocabulary of the source side
    tgt_vocab: Vocab  # vocabulary of the target side
    info: Dict[str, Any] = field(default_factory=dict)  # task description: generator config, buckets, ...

    def batch(self, examples: Sequence[Example]) -> "Seq2SeqBatch":
        """Tensors for a list of this task's examples (see ``make_batch``)."""
        return make_batch(examples, self.src_vocab, self.tgt_vocab)


class Seq2SeqBatch(NamedTuple):
    """Padded tensors for teacher-forced training (``<pad>`` = 0 everywhere)."""

    src: Tensor  # (B, S) source ids, no <bos>/<eos>
    src_lengths: Tensor  # (B,) true source lengths
    tgt_in: Tensor  # (B, T) decoder input: <bos> y_1 ... y_n
    tgt_out: Tensor  # (B, T) decoder target: y_1 ... y_n <eos>
    tgt_lengths: Tensor  # (B,) n + 1 (tokens plus <eos>)


def make_batch(examples: Sequence[Example], src_vocab: Vocab, tgt_vocab: Vocab) -> Seq2SeqBatch:
    """Pad a list of examples into a ``Seq2SeqBatch``."""
    if len(examples) == 0:
        raise ValueError("make_batch needs at least one example, got an empty list")
    src, src_lengths = pad_sequences([src_vocab.encode(e.source) for e in examples], pad_id=src_vocab.pad_id)
    tgt_in, tgt_lengths = pad_sequences(
        [tgt_vocab.encode(e.target, add_bos=True) for e in examples], pad_id=tgt_vocab.pad_id
    )
    tgt_out, _ = pad_sequences([tgt_vocab.encode(e.target, add_eos=True) for e in examples], pad_id=tgt_vocab.pad_id)
    return Seq2SeqBatch(src, src_lengths, tgt_in, tgt_out, tgt_lengths)
