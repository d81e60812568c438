"""Synthetic phone reviews whose label needs the order of the sentences.

Chapter 4 classifies documents with hierarchical attention. A review here is a
handful of sentences about buying a phone; the label is the reviewer's verdict
on **the phone**, and the reviewer changes their mind: every review states
``n_opinions`` (default 3) opinions of the phone, and the verdict is the
**last** of them — the reviewer's last word on the phone (:func:`verdict_of`).
One earlier opinion is the verdict's opposite (the mind that changed), the
others are coin flips. Around them:

* **distractors** carry sentiment about other things ("the courier was rude .",
  "my old phone was great ."), anywhere in the review, before or after the
  verdict;
* **negation** flips a word ("the phone is not good .", "i do not love this phone .");
* **contrast** puts a distractor and an opinion in one sentence, in either order
  ("the box was damaged , but the phone is excellent .");
* the rest is neutral filler ("i bought it on monday .").

All opinions are written from the same templates, wherever they stand, so
nothing inside a sentence tells an earlier opinion from the verdict. And the
opinions, as a bag, are the same for both labels (one positive, one negative,
the rest coin flips), as are the distractors (random polarity): the review's
words — as a bag, or as sentences without their order — say nothing about the
label. Only the order of the sentences decides.

The generator records which sentence decides the label (``Review.decisive``),
the polarity of every opinion of the phone (``Review.opinions``, so the truth
can be recomputed when a sentence is erased: :func:`verdict_of`) and, within
each opinion, the words that carry it (``Review.key_words``: the sentiment word
and a ``not``), so the attention a model learns can be scored against the
truth. Everything is generated from a seed; no test review appears in training.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .. import resolve_seed
from .vocab import Vocab

__all__ = [
    "LABELS",
    "POSITIVE",
    "NEGATIVE",
    "NO_OPINION",
    "Review",
    "ReviewsConfig",
    "ReviewData",
    "ReviewBatch",
    "verdict_of",
    "make_review",
    "make_reviews_data",
]

LABELS: Tuple[str, str] = ("negative", "positive")  # label 0, label 1
NO_OPINION = -1  # Review.opinions of a sentence that states no opinion of the phone

POSITIVE: Tuple[str, ...] = ("good", "great", "excellent", "perfect", "nice", "superb")
NEGATIVE: Tuple[str, ...] = ("bad", "awful", "terrible", "poor", "useless", "horrible")
_POS_VERBS = ("love", "like")   # "i love this phone"
_NEG_VERBS = ("hate", "dislike")
_ADVERBS = ("really", "very", "quite", "so")
# What a distractor talks about: never the phone being reviewed.
_OTHERS = ("the delivery", "the courier", "the shop", "the box", "the seller", "the price of the case",
           "my old phone", "the weather", "the queue", "the manual", "my last laptop", "the charger i bought too")
# Neutral sentences: (subject phrase, verb phrase, time/place phrase) are combined at random.
_FILLER_SUBJECTS = ("i", "my sister", "my friend", "my brother", "we")
_FILLER_VERBS = ("bought it", "ordered it", "picked it up", "got it", "looked at it", "paid for it",
                 "read about it", "opened it")
_FILLER_WHEN = ("on monday", "last week", "in march", "at the station", "after work", "in the city",
                "two days ago", "online", "at the mall", "on a sunday")
_FILLER_FACTS = ("it has two cameras .", "it came in a blue box .", "the screen is six inches .",
                 "i use it every day .", "it runs the usual apps .", "i mostly use it for music .",
                 "it weighs about the same as my wallet .", "the model came out this year .",
                 "i had it for a month .", "it is the black version .")


@dataclass(frozen=True)
class Review:
    """One document: sentences of tokens, its label and where the label comes from."""

    sentences: Tuple[Tuple[str, ...], ...]
    label: int  # 0 = negative, 1 = positive (``LABELS[label]``)
    decisive: Tuple[int, ...]  # the sentence that decides the label: the last opinion of the phone
    key_words: Tuple[Tuple[int, ...], ...]  # per sentence: positions of its opinion's words (empty elsewhere)
    kinds: Tuple[str, ...]  # per sentence: "verdict", "earlier" (an overridden opinion), "distractor" or "filler"
    opinions: Tuple[int, ...] = ()  # per sentence: 1/0 = a positive/negative opinion of the phone, else -1

    @property
    def n_words(self) -> int:
        return sum(len(s) for s in self.sentences)

    def text(self) -> str:
        return " ".join(" ".join(s) for s in self.sentences)


def verdict_of(opinions: Sequence[int]) -> Tuple[int, int]:
    """The rule that labels a review: ``(label, index)`` of its **last** opinion of the phone.

    ``opinions`` has one entry per sentence: 1 (positive), 0 (negative) or
    ``NO_OPINION`` (-1). Raises ValueError when no sentence states an opinion.
    """
    bad = [o for o in opinions if o not in (0, 1, NO_OPINION)]
    if bad:
        raise ValueError(f"opinions must be 1, 0 or {NO_OPINION} per sentence, got {bad[0]!r}")
    for i in range(len(opinions) - 1, -1, -1):
        if opinions[i] != NO_OPINION:
            return int(opinions[i]), i
    raise ValueError("no sentence states an opinion of the phone, so the review has no verdict")


@dataclass
class ReviewsConfig:
    """What the generated reviews look like."""

    n_train: int = 10000
    n_test: int = 1000
    min_sentences: int = 6
    max_sentences: int = 10
    n_opinions: int = 3  # opinions of the phone per review; the last decides, one earlier one is its opposite
    min_distractors: int = 1
    max_distractors: int = 3  # sentiment sentences about other things
    p_negation: float = 0.4  # an opinion or distractor is negated ("not good")
    p_contrast: float = 0.3  # an opinion shares its sentence with a distractor ("..., but ...")
    seed: Optional[int] = None  # None = ATTNBOOK_SEED (default 0)

    def __post_init__(self) -> None:
        if self.n_train < 1 or self.n_test < 1:
            raise ValueError(f"n_train and n_test must be positive, got {self.n_train} and {self.n_test}")
        if self.n_opinions < 2:
            raise ValueError(f"n_opinions must be >= 2 (an earlier opinion and the verdict), got {self.n_opinions}")
        if not 0 <= self.min_distractors <= self.max_distractors:
            raise ValueError(
                f"need 0 <= min_distractors <= max_distractors, got {self.min_distractors} and {self.max_distractors}")
        if self.min_sentences < self.n_opinions + self.max_distractors:
            raise ValueError(
                f"min_sentences ({self.min_sentences}) must leave room for n_opinions + max_distractors "
                f"({self.n_opinions + self.max_distractors}) sentences")
        if self.max_sentences < self.min_sentences:
            raise ValueError(
                f"max_sentences ({self.max_sentences}) must be >= min_sentences ({self.min_sentences})")
        for name in ("p_negation", "p_contrast"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")


def _opinion_clause(rng: random.Random, positive: bool, negate: bool) -> Tuple[List[str], List[int]]:
    """A clause about the phone whose meaning is ``positive``; returns tokens and the key positions."""
    # with negation the word itself has the opposite polarity: "not bad" is positive
    word_positive = positive != negate
    form = rng.randrange(3)
    if form == 0:  # the phone is (really) (not) great
        subject = rng.choice((["the", "phone"], ["this", "phone"]))
        toks = subject + ["is"]
        key = []
        if negate:
            key.append(len(toks))
            toks.append("not")
        if rng.random() < 0.3:
            toks.append(rng.choice(_ADVERBS))
        key.append(len(toks))
        toks.append(rng.choice(POSITIVE if word_positive else NEGATIVE))
        return toks, key
    if form == 1:  # i (do not) love this phone
        toks = ["i"]
        key = []
        if negate:
            toks.append("do")
            key.append(len(toks))
            toks.append("not")
        key.append(len(toks))
        toks.append(rng.choice(_POS_VERBS if word_positive else _NEG_VERBS))
        toks += ["this", "phone"]
        return toks, key
    # i would (not) recommend this phone: "recommend" is the positive word
    toks = ["i", "would"]
    key = []
    if not positive:  # only a negation makes "recommend" negative
        key.append(len(toks))
        toks.append("not")
    key.append(len(toks))
    toks += ["recommend", "this", "phone"]
    return toks, key


def _distractor_clause(rng: random.Random, negate: bool) -> List[str]:
    toks = rng.choice(_OTHERS).split() + [rng.choice(("was", "is"))]
    if negate:
        toks.append("not")
    if rng.random() < 0.3:
        toks.append(rng.choice(_ADVERBS))
    toks.append(rng.choice(POSITIVE + NEGATIVE))
    return toks


def _filler(rng: random.Random) -> List[str]:
    if rng.random() < 0.5:
        return rng.choice(_FILLER_FACTS).split()
    return [*rng.choice(_FILLER_SUBJECTS).split(), *rng.choice(_FILLER_VERBS).split(),
            *rng.choice(_FILLER_WHEN).split(), "."]


def make_review(rng: random.Random, config: Optional[ReviewsConfig] = None, *,
                label: Optional[int] = None) -> Review:
    """One review drawn with ``rng`` (a ``random.Random``); ``label`` forces the verdict."""
    config = config or ReviewsConfig(n_train=1, n_test=1)
    if label is None:
        label = rng.randrange(2)
    if label not in (0, 1):
        raise ValueError(f"label must be 0 (negative) or 1 (positive), got {label!r}")
    n = rng.randint(config.min_sentences, config.max_sentences)
    n_distractors = rng.randint(config.min_distractors, config.max_distractors)
    slots = list(range(n))
    rng.shuffle(slots)
    opinion_at = sorted(slots[:config.n_opinions])
    distractor_at = set(slots[config.n_opinions:config.n_opinions + n_distractors])
    # the last opinion is the label; one earlier opinion (the mind the reviewer changed) is its opposite,
    # the others are coin flips -- so the opinions, as a bag, are the same for both labels
    polarity = {i: rng.randrange(2) for i in opinion_at[:-1]}
    polarity[rng.choice(opinion_at[:-1])] = 1 - label
    polarity[opinion_at[-1]] = label
    sentences, key_words, kinds, opinions = [], [], [], []
    for i in range(n):
        if i in polarity:
            clause, key = _opinion_clause(rng, positive=polarity[i] == 1, negate=rng.random() < config.p_negation)
            if rng.random() < config.p_contrast:
                other = _distractor_clause(rng, negate=rng.random() < config.p_negation)
                if rng.random() < 0.5:  # the opinion comes second: shift its key positions
                    key = [k + len(other) + 2 for k in key]
                    toks = other + [",", "but"] + clause
                else:
                    toks = clause + [",", "but"] + other
            else:
                toks = clause
            sentences.append(tuple(toks + ["."]))
            key_words.append(tuple(key))
            kinds.append("verdict" if i == opinion_at[-1] else "earlier")
            opinions.append(polarity[i])
        elif i in distractor_at:
            sentences.append(tuple(_distractor_clause(rng, negate=rng.random() < config.p_negation) + ["."]))
            key_words.append(())
            kinds.append("distractor")
            opinions.append(NO_OPINION)
        else:
            sentences.append(tuple(_filler(rng)))
            key_words.append(())
            kinds.append("filler")
            opinions.append(NO_OPINION)
    _, at = verdict_of(opinions)
    return Review(sentences=tuple(sentences), label=label, decisive=(at,),
                  key_words=tuple(key_words), kinds=tuple(kinds), opinions=tuple(opinions))


class ReviewBatch(dict):
    """Padded tensors of a batch of reviews (a dict, so it prints readably).

    ``words`` (B, N, L) token ids, ``sentence_lengths`` (B, N) (0 for padding
    sentences), ``n_sentences`` (B,), ``labels`` (B,).
    """

    def __getattr__(self, name: str) -> Tensor:  # batch.words is batch["words"]
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"a ReviewBatch has {', '.join(self)}, not {name!r}") from None


@dataclass
class ReviewData:
    """Train and test reviews of one seed, with their vocabulary."""

    train: List[Review]
    test: List[Review]
    vocab: Vocab
    config: ReviewsConfig
    info: Dict = field(default_factory=dict)

    def batch(self, reviews: Sequence[Review]) -> ReviewBatch:
        """Pad ``reviews`` into tensors; unknown words become ``<unk>``."""
        if not reviews:
            raise ValueError("cannot batch an empty list of reviews")
        for i, r in enumerate(reviews):
            if not isinstance(r, Review):
                raise ValueError(f"item {i} is a {type(r).__name__}, not a Review")
        n_max = max(len(r.sentences) for r in reviews)
        l_max = max(len(s) for r in reviews for s in r.sentences)
        words = torch.zeros(len(reviews), n_max, l_max, dtype=torch.long)
        lengths = torch.zeros(len(reviews), n_max, dtype=torch.long)
        for b, r in enumerate(reviews):
            for i, s in enumerate(r.sentences):
                words[b, i, : len(s)] = torch.tensor(self.vocab.encode(list(s)))
                lengths[b, i] = len(s)
        return ReviewBatch(words=words, sentence_lengths=lengths,
                           n_sentences=(lengths > 0).sum(1),
                           labels=torch.tensor([r.label for r in reviews]))


def make_reviews_data(config: Optional[ReviewsConfig] = None) -> ReviewData:
    """Generate train and test reviews (disjoint, labels balanced) from ``config.seed``."""
    config = config or ReviewsConfig()
    seed = resolve_seed(config.seed)
    rng = random.Random(f"reviews-{seed}")
    seen = set()
    sets: List[List[Review]] = []
    for n in (config.n_test, config.n_train):
        out: List[Review] = []
        attempts = 0
        while len(out) < n:
            attempts += 1
            if attempts > 50 * n + 1000:
                raise RuntimeError("could not generate enough distinct reviews; lower n_train or n_test")
            r = make_review(rng, config, label=len(out) % 2)
            key = r.sentences
            if key in seen:
                continue
            seen.add(key)
            out.append(r)
        rng.shuffle(out)
        sets.append(out)
    test, train = sets
    vocab = Vocab.from_sentences(s for r in train for s in r.sentences)
    chance = sum(len(r.decisive) / len(r.sentences) for r in test) / len(test)
    info = {"seed": seed, "config": asdict(config), "chance_top_sentence": chance}
    return ReviewData(train=train, test=test, vocab=vocab, config=config, info=info)
