"""Tiny hand-made data for chapter 0: a four-word sentence and a bag-of-words probe.

Nothing here is trained: these are the smallest examples that show what
attention computes and why squeezing a sentence into one vector loses things.
"""
from __future__ import annotations

import torch

__all__ = ["HELLO_TOKENS", "hello_vectors", "random_vocabulary", "bag_recall", "attention_recall"]

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


def attention_recall(vocab: torch.Tensor, length: int, *, trials: int = 200,
                     generator: torch.Generator | None = None) -> float:
    """Share of words found again when ALL word vectors are kept and one is looked up by attention.

    For each sentence pick one of its words, use its vector as the query, and
    check that the arg-max of the dot-product attention weights over the
    sentence lands on that word's position.
    """
    ids = _sample_sentences(vocab.shape[0], length, trials, generator)  # (trials, n)
    keys = vocab[ids]  # (trials, n, dim)
    target = torch.randint(length, (trials,), generator=generator)  # (trials,)
    query = keys[torch.arange(trials), target]  # (trials, dim)
    weights = torch.softmax(torch.einsum("bd,bnd->bn", query, keys), dim=-1)  # (trials, n)
    return (weights.argmax(dim=-1) == target).float().mean().item()
