"""Tiny hand-made data for chapter 0: a four-word sentence and a bag-of-words probe.

Nothing here is trained: these are the smallest examples that show what
attention computes and why squeezing a sentence into one vector loses things.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["HELLO_TOKENS", "hello_vectors", "random_vocabulary", "bag_recall", "position_codes",
           "position_recall", "PositionRecall"]

#: The note's example sentence.
HELLO_TOKENS: list[str] = ["Hello", "I", "love", "you"]


def hello_vectors() -> torch.Tensor:
    """Toy 4-dimensional word vectors for ``HELLO_TOKENS``: (4, 4).

    The dimensions mean, loosely: greeting, person, addressee, feeling.
    "I" and "you" share the *person* direction, "love" links to both.
    """
    return torch.tensor(
        [
            # greet person addr  feel
            [1.0, 0.0, 0.0, 0.1],  # Hello
            [0.0, 1.0, 0.2, 0.3],  # I
            [0.1, 0.4, 0.4, 1.0],  # love
            [0.3, 0.7, 1.0, 0.2],  # you
        ]
    )


def random_vocabulary(size: int, dim: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``size`` random unit vectors in ``dim`` dimensions: (size, dim)."""
    if size < 1 or dim < 1:
        raise ValueError(f"size and dim must be positive, got size={size}, dim={dim}")
    vecs = torch.randn(size, dim, generator=generator)
    return vecs / vecs.norm(dim=-1, keepdim=True)


def _sample_sentences(vocab_size: int, length: int, trials: int, generator) -> torch.Tensor:
    if not 1 <= length <= vocab_size:
        raise ValueError(f"length must be between 1 and the vocabulary size {vocab_size}, got {length}")
    # (trials, length): distinct word ids per sentence
    return torch.stack([torch.randperm(vocab_size, generator=generator)[:length] for _ in range(trials)])


def bag_recall(vocab: torch.Tensor, length: int, *, trials: int = 200,
               generator: torch.Generator | None = None) -> float:
    """Share of a sentence's words recovered from ONE summary vector (the sum of its word vectors).

    Decode the summary by taking the ``length`` vocabulary words with the largest
    dot product with it. Averaged over ``trials`` random sentences of distinct words.
    """
    ids = _sample_sentences(vocab.shape[0], length, trials, generator)  # (trials, n)
    summary = vocab[ids].sum(dim=1)  # (trials, dim)
    scores = summary @ vocab.T  # (trials, V)
    top = scores.topk(length, dim=-1).indices  # (trials, n)
    hits = (top.unsqueeze(-1) == ids.unsqueeze(-2)).any(dim=-1)  # (trials, n)
    return hits.float().mean().item()


class PositionRecall(NamedTuple):
    """Share of questions "which word is at position p?" answered right, by each memory."""

    squeezed: float   #: from ONE bound summary vector: ``dim`` numbers for the whole sentence
    looked_up: float  #: by attention over kept keys and values: ``2 * length * dim`` numbers


def position_codes(length: int, dim: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random ±1 codes, one per position: (length, dim); each has norm sqrt(dim)."""
    if length < 1 or dim < 1:
        raise ValueError(f"length and dim must be positive, got length={length}, dim={dim}")
    return torch.randint(0, 2, (length, dim), generator=generator).float() * 2 - 1


def position_recall(vocab: torch.Tensor, length: int, *, noise: float = 1.0, trials: int = 200,
                    generator: torch.Generator | None = None) -> PositionRecall:
    """Ask "which word is at position p?" with a noisy cue, of a summary and of attention.

    Both memories answer the same questions, about the same random sentences of
    distinct words, from the same cue: position p's ±1 code (see
    ``position_codes``) plus Gaussian noise of standard deviation ``noise`` per
    entry, so neither query contains the word it asks for.

    * **Squeezed**: the sentence is ONE vector of ``dim`` numbers, each word bound
      to its position by an element-wise product and summed,
      ``s = sum_p code_p * word_p``; the cue unbinds it, ``s * cue``.
    * **Looked up**: every position's code is kept as a key and every word as a
      value; the cue is the query of scaled dot-product attention, and the
      answer is the weighted mean of the values.

    Either read-out is decoded as the vocabulary word with the largest dot
    product. ``vocab`` is (V, dim) unit vectors (``random_vocabulary``).
    """
    if vocab.dim() != 2:
        raise ValueError(f"vocab must be (V, dim), got shape {tuple(vocab.shape)}")
    if not noise >= 0:
        raise ValueError(f"noise must be a non-negative standard deviation, got {noise}")
    if trials < 1:
        raise ValueError(f"trials must be positive, got {trials}")
    dim = vocab.shape[1]
    ids = _sample_sentences(vocab.shape[0], length, trials, generator)      # (trials, n)
    words = vocab[ids]                                                       # (trials, n, dim)
    codes = torch.stack([position_codes(length, dim, generator=generator)
                         for _ in range(trials)])                            # (trials, n, dim)
    asked = torch.randint(length, (trials,), generator=generator)            # (trials,)
    rows = torch.arange(trials)
    cue = codes[rows, asked] + noise * torch.randn(trials, dim, generator=generator)  # (trials, dim)
    answer = ids[rows, asked]                                                # (trials,)

    summary = (codes * words).sum(dim=1)                                     # (trials, dim)
    squeezed_read = summary * cue                                            # (trials, dim)
    scores = torch.einsum("bd,bnd->bn", cue, codes) / dim ** 0.5             # (trials, n)
    looked_read = torch.einsum("bn,bnd->bd", torch.softmax(scores, dim=-1), words)  # (trials, dim)

    def accuracy(read: torch.Tensor) -> float:
        return ((read @ vocab.T).argmax(dim=-1) == answer).float().mean().item()

    return PositionRecall(squeezed=accuracy(squeezed_read), looked_up=accuracy(looked_read))
