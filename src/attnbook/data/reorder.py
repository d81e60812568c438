"""A translation task whose sentence length you control.

The "language pair" is a toy: a source sentence is a random string of words
from a small English lexicon; its translation replaces every word by a fixed
French word (the *lexicon*) and then applies a fixed *reordering* - by default
it reverses the sentence::

    source:  red cat sees old dog
    target:  chien vieux voit chat rouge

Because the generator builds the target, it knows where every target token
comes from: ``Example.alignment[j]`` is the source position of target token
``j`` (for reversal ``S - 1 - j``). Chapter 1 uses the task to measure how an
encoder-decoder without attention degrades with length; chapter 3 trains the
attention models on the very same data and checks the learnt alignment against
this ground truth.

Everything is generated from a seed; train and test sentences are disjoint,
and the test set has the same number of sentences in every length bucket.
"""
from __future__ import annotations

from .. import resolve_seed
from ..checks import check_choice, check_tokens
import random
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence, Tuple

from .vocab import Example, ParallelData, Vocab

__all__ = [
    "LEXICON",
    "LENGTH_BUCKETS",
    "REORDERINGS",
    "ReorderConfig",
    "reorder_positions",
    "translate",
    "make_example",
    "make_reorder_data",
]

# English -> French, in a fixed order: ``ReorderConfig.n_words`` takes the first n.
LEXICON: Tuple[Tuple[str, str], ...] = (
    ("cat", "chat"), ("dog", "chien"), ("bird", "oiseau"), ("fish", "poisson"),
    ("horse", "cheval"), ("cow", "vache"), ("mouse", "souris"), ("wolf", "loup"),
    ("red", "rouge"), ("blue", "bleu"), ("green", "vert"), ("black", "noir"),
    ("big", "grand"), ("small", "petit"), ("old", "vieux"), ("young", "jeune"),
    ("sees", "voit"), ("eats", "mange"), ("likes", "aime"), ("finds", "trouve"),
    ("house", "maison"), ("tree", "arbre"), ("river", "riviere"), ("bread", "pain"),
    ("apple", "pomme"), ("water", "eau"), ("sun", "soleil"), ("moon", "lune"),
    ("book", "livre"), ("car", "voiture"), ("door", "porte"), ("city", "ville"),
    ("road", "route"), ("sky", "ciel"), ("bed", "lit"), ("king", "roi"),
    ("bear", "ours"), ("fox", "renard"), ("white", "blanc"), ("follows", "suit"),
)

# Source-length buckets used for every accuracy-by-length table (inclusive bounds).
LENGTH_BUCKETS: Tuple[Tuple[int, int], ...] = ((4, 10), (11, 20), (21, 30), (31, 40))

REORDERINGS = ("reverse", "identity", "swap_pairs")


@dataclass
class ReorderConfig:
    """Size and shape of the length-controlled translation task."""

    n_words: int = 24  # lexicon size: the first n_words pairs of LEXICON
    min_len: int = 4  # shortest source sentence (tokens)
    max_len: int = 40  # longest source sentence (tokens)
    reorder: str = "reverse"  # "reverse", "identity" or "swap_pairs" (swap tokens 0<->1, 2<->3, ...)
    n_train: int = 20000  # training sentences, lengths uniform in [min_len, max_len]
    n_test_per_bucket: int = 200  # test sentences per length bucket, lengths uniform in the bucket
    buckets: Tuple[Tuple[int, int], ...] = LENGTH_BUCKETS  # (lo, hi) inclusive; clipped to [min_len, max_len]

    def __post_init__(self) -> None:
        if not 1 <= self.n_words <= len(LEXICON):
            raise ValueError(f"n_words must be in 1..{len(LEXICON)}, got {self.n_words}")
        if not 1 <= self.min_len <= self.max_len:
            raise ValueError(f"need 1 <= min_len <= max_len, got min_len={self.min_len}, max_len={self.max_len}")
        check_choice(self.reorder, "reorder", REORDERINGS)
        if self.n_train < 1 or self.n_test_per_bucket < 1:
            raise ValueError(
                f"n_train and n_test_per_bucket must be positive, got {self.n_train}, {self.n_test_per_bucket}"
            )
        self.buckets = tuple((int(lo), int(hi)) for lo, hi in self.buckets)
        for lo, hi in self.buckets:
            if lo > hi:
                raise ValueError(f"bucket ({lo}, {hi}) has lo > hi")
        if not self.active_buckets():
            raise ValueError(f"no bucket of {self.buckets} overlaps lengths {self.min_len}..{self.max_len}")

    def active_buckets(self) -> Tuple[Tuple[int, int], ...]:
        """The buckets clipped to [min_len, max_len], empty ones dropped."""
        out = []
        for lo, hi in self.buckets:
            lo, hi = max(lo, self.min_len), min(hi, self.max_len)
            if lo <= hi:
                out.append((lo, hi))
        return tuple(out)


def reorder_positions(length: int, reorder: str = "reverse") -> List[int]:
    """Source position of each target position: ``target[j] = lexicon(source[pos[j]])``."""
    check_choice(reorder, "reorder", REORDERINGS)
    if reorder == "reverse":
        return list(range(length - 1, -1, -1))
    if reorder == "identity":
        return list(range(length))
    return [j ^ 1 if (j ^ 1) < length else j for j in range(length)]  # swap_pairs


_EN2FR = dict(LEXICON)


def translate(source: Sequence[str], reorder: str = "reverse") -> Tuple[List[str], List[int]]:
    """The ground-truth translation of ``source`` and its alignment.

    Returns ``(target, alignment)`` with ``alignment[j]`` the source position of
    ``target[j]``.
    """
    check_tokens(source, "source")
    unknown = [w for w in source if w not in _EN2FR]
    if unknown:
        raise ValueError(f"words not in the lexicon: {unknown[:5]}")
    pos = reorder_positions(len(source), reorder)
    return [_EN2FR[source[p]] for p in pos], pos


def make_example(source: Sequence[str], reorder: str = "reverse") -> Example:
    """Wrap ``translate`` into an ``Example``."""
    target, alignment = translate(source, reorder)
    return Example(tuple(source), tuple(target), tuple(alignment))


def make_reorder_data(config: Optional[ReorderConfig] = None, *, seed: Optional[int] = None) -> ParallelData:
    """Generate the train/test split of the task.

    Deterministic for a given ``(config, seed)``; ``seed=None`` reads
    ``ATTNBOOK_SEED`` (default 0). The test set holds
    ``config.n_test_per_bucket`` sentences per bucket; no test sentence occurs
    in the training set. ``info`` records the config, seed and buckets.
    """
    config = config or ReorderConfig()
    seed = resolve_seed(seed)
    rng = random.Random(f"reorder-{seed}")  # string seeds are hashed deterministically (sha512)
    words = [en for en, _ in LEXICON[: config.n_words]]

    def sentence(length: int) -> Tuple[str, ...]:
        return tuple(rng.choice(words) for _ in range(length))

    test: List[Example] = []
    seen = set()
    for lo, hi in config.active_buckets():
        n_possible = sum(config.n_words ** n for n in range(lo, hi + 1))
        if n_possible < 2 * config.n_test_per_bucket:
            raise ValueError(
                f"bucket {lo}-{hi} has only {n_possible} distinct sentences; "
                f"cannot draw {config.n_test_per_bucket} distinct test sentences"
            )
        got = 0
        while got < config.n_test_per_bucket:
            s = sentence(rng.randint(lo, hi))
            if s in seen:
                continue
            seen.add(s)
            test.append(make_example(s, config.reorder))
            got += 1

    train: List[Example] = []
    while len(train) < config.n_train:
        s = sentence(rng.randint(config.min_len, config.max_len))
        if s in seen:  # held-out sentences never appear in training (duplicates within train are fine)
            continue
        train.append(make_example(s, config.reorder))

    src_vocab = Vocab(words)
    tgt_vocab = Vocab(_EN2FR[w] for w in words)
    info = {
        "task": "reorder",
        "seed": seed,
        "config": asdict(config),
        "buckets": config.active_buckets(),
    }
    return ParallelData(train=train, test=test, src_vocab=src_vocab, tgt_vocab=tgt_vocab, info=info)
