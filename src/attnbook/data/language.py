"""A toy language with word classes and facts, for chapter 5's Transformers.

Sentences come from five templates with slots::

    on {weekday} {name} gave {her|his} {animal} some {food}
    in {month} {name} saw the {thing} and it was {colour}
    after {month} comes {next month} and {name} is happy
    after {weekday} comes {next weekday} and the {animal} eats {food}
    {number} plus one is {number + 1} said {name}

Some slots are **determined** by the rest of the sentence (a dog eats bones,
the sky is blue, after may comes june, anna is "her"), others are **free**
(any weekday, any name of the right gender). Because the grammar is finite,
the generator knows, for every position of every sentence, exactly which
words would fit there given all the other words (``Sentence.choices``): the
ground truth for a masked-language model.

Two data sets are built from it:

* :func:`make_language_data` — every sentence of the language, split into
  training and held-out sentences (no held-out sentence occurs in training,
  but every fact it relies on does, in other sentences);
* :func:`make_order_data` — "which comes first?": a shuffled bag of words that
  holds one animal and one food; the label says whether the animal comes
  first. A model that cannot see word order cannot do better than chance.

Chapter 5c adds three things a pretrained model is measured against:

* **stories** — :func:`continuations` says which sentences may follow a
  sentence: the next one picks up its animal, name, day or month (after "on
  monday anna gave her dog some bones" comes "after monday comes tuesday and
  the dog eats bones"). Next-sentence prediction learns this;
* **tags** — :func:`tag_of`, each word's class for a tagging task in the
  spirit of named-entity recognition (``name``, ``animal``, ``time``, ...);
* **what the words before decide** — :func:`left_choices`, the words that may
  come next given only the words before, where ``Sentence.choices`` uses the
  whole sentence: the difference between what a left-to-right model (GPT) and
  a bidirectional one (BERT) can know.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .. import resolve_seed
from ..checks import check_choice, check_positive_ints
from .vocab import Vocab, pad_sequences

__all__ = [
    "WORD_CLASSES",
    "FOOD_OF",
    "COLOUR_OF",
    "MASK",
    "CLS",
    "SEP",
    "TAGS",
    "tag_of",
    "continuations",
    "story_links",
    "left_choices",
    "Sentence",
    "LanguageData",
    "all_sentences",
    "make_language_data",
    "OrderData",
    "make_order_data",
    "word_class",
]

MASK, CLS, SEP = "[mask]", "[cls]", "[sep]"

WORD_CLASSES: Dict[str, Tuple[str, ...]] = {
    "female name": ("anna", "emma", "lena", "mia", "sara", "zoe"),
    "male name": ("ben", "david", "felix", "leo", "max", "tom"),
    "animal": ("dog", "cat", "rabbit", "horse", "bird", "cow"),
    "food": ("bones", "fish", "carrots", "hay", "seeds", "grass"),
    "month": ("january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december"),
    "weekday": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    "number": ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "colour": ("red", "green", "blue", "white", "black", "yellow"),
    "thing": ("tomato", "leaf", "sky", "snow", "coal", "banana"),
}
FOOD_OF = dict(zip(WORD_CLASSES["animal"], WORD_CLASSES["food"]))  # dog -> bones, ...
COLOUR_OF = dict(zip(WORD_CLASSES["thing"], WORD_CLASSES["colour"]))  # tomato -> red, ...
_PRONOUN = {**{n: "her" for n in WORD_CLASSES["female name"]}, **{n: "his" for n in WORD_CLASSES["male name"]}}
_CLASS_OF = {w: c for c, ws in WORD_CLASSES.items() for w in ws}
TEMPLATES = ("gave", "saw", "month after", "weekday after", "plus one")


def word_class(token: str) -> str:
    """The class of a content word ("animal", "month", ...), or "function word"."""
    return _CLASS_OF.get(token, "function word")


#: The tags of chapter 5c's tagging task: "O" for a template word, else the word's class
#: (the two genders of names are one tag, months and weekdays are "time").
TAGS = ("O", "name", "animal", "food", "time", "number", "colour", "thing")
_TAG_OF_CLASS = {"female name": "name", "male name": "name", "animal": "animal", "food": "food", "month": "time",
                 "weekday": "time", "number": "number", "colour": "colour", "thing": "thing"}


def tag_of(token: str) -> str:
    """The tag of a word in the tagging task (one of :data:`TAGS`)."""
    return _TAG_OF_CLASS.get(word_class(token), "O")


def _names() -> List[str]:
    return list(WORD_CLASSES["female name"] + WORD_CLASSES["male name"])


def _generate() -> List[Tuple[str, Tuple[str, ...]]]:
    """Every sentence of the language, as (template, tokens), in a fixed order."""
    W = WORD_CLASSES
    out: List[Tuple[str, Tuple[str, ...]]] = []
    for day, name, animal in itertools.product(W["weekday"], _names(), W["animal"]):
        out.append(("gave", ("on", day, name, "gave", _PRONOUN[name], animal, "some", FOOD_OF[animal])))
    for month, name, thing in itertools.product(W["month"], _names(), W["thing"]):
        out.append(("saw", ("in", month, name, "saw", "the", thing, "and", "it", "was", COLOUR_OF[thing])))
    months = W["month"]
    for k, name in itertools.product(range(12), _names()):
        out.append(("month after", ("after", months[k], "comes", months[(k + 1) % 12], "and", name, "is", "happy")))
    days = W["weekday"]
    for k, animal in itertools.product(range(7), W["animal"]):
        out.append(("weekday after",
                    ("after", days[k], "comes", days[(k + 1) % 7], "and", "the", animal, "eats", FOOD_OF[animal])))
    nums = W["number"]
    for k, name in itertools.product(range(8), _names()):
        out.append(("plus one", (nums[k], "plus", "one", "is", nums[k + 1], "said", name)))
    return out


_ALL = _generate()
_VALID = frozenset(tokens for _, tokens in _ALL)
_NEXT_WORDS: Dict[Tuple[str, ...], set] = {}  # prefix -> the words that follow it in some sentence
for _, _tokens in _ALL:
    for _i in range(len(_tokens)):
        _NEXT_WORDS.setdefault(_tokens[:_i], set()).add(_tokens[_i])
_LANGUAGE_VOCAB_TOKENS = [MASK, CLS] + sorted({t for _, s in _ALL for t in s}, key=lambda t: (word_class(t), t))


@dataclass(frozen=True)
class Sentence:
    """One sentence of the toy language, with what fits at each position."""

    tokens: Tuple[str, ...]
    template: str
    choices: Tuple[FrozenSet[str], ...] = field(repr=False, compare=False)  # per position: the words that fit

    def kind(self, i: int) -> str:
        """``"function"`` (a template word), ``"determined"`` (one content word
        fits, given the rest) or ``"free"`` (several fit)."""
        if word_class(self.tokens[i]) == "function word":
            return "function"
        return "determined" if len(self.choices[i]) == 1 else "free"


def _choices(tokens: Tuple[str, ...], vocabulary: Sequence[str]) -> Tuple[FrozenSet[str], ...]:
    out = []
    for i in range(len(tokens)):
        fits = frozenset(w for w in vocabulary if tokens[:i] + (w,) + tokens[i + 1:] in _VALID)
        out.append(fits)
    return tuple(out)


def left_choices(tokens: Sequence[str], i: int) -> FrozenSet[str]:
    """The words that may stand at position ``i`` given only ``tokens[:i]``, the
    words before it: all a left-to-right model can know there. ``Sentence.choices[i]``
    is the same given every other word of the sentence."""
    tokens = tuple(tokens)
    if not 0 <= i < len(tokens):
        raise ValueError(f"position {i} is outside a sentence of {len(tokens)} tokens")
    return frozenset(_NEXT_WORDS.get(tokens[:i], ()))


def _story_keys(s: "Sentence") -> Tuple[Tuple[str, ...], Tuple[Tuple[str, ...], ...]]:
    """``(key of the sentences that may follow s, the keys s answers to)``."""
    t, W = s.tokens, WORD_CLASSES
    days, months = W["weekday"], W["month"]
    if s.template == "gave":  # on <day> <name> gave <pron> <animal> some <food>
        return ("weekday after", t[1], t[5]), (("gave", t[1], t[5]), ("name", t[2]))
    if s.template == "weekday after":  # after <day> comes <day+1> and the <animal> eats <food>
        return ("gave", t[3], t[6]), (("weekday after", t[1], t[6]),)
    if s.template == "saw":  # in <month> <name> saw the <thing> and it was <colour>
        return ("month after", t[1], t[2]), (("saw", t[1], t[2]),)
    if s.template == "month after":  # after <month> comes <month+1> and <name> is happy
        return ("saw", t[3], t[5]), (("month after", t[1], t[5]),)
    return ("name", t[6]), ()  # <k> plus one is <k+1> said <name>: a story about <name> follows


def continuations(sentence: "Sentence", pool: Sequence["Sentence"]) -> List["Sentence"]:
    """The sentences of ``pool`` that may follow ``sentence`` in a story.

    The next sentence picks up a thread of the one before::

        on <day> <name> gave ... <animal> ...   ->  after <day> comes <day+1> and the <animal> eats ...
        after <day> comes <day+1> ... <animal>  ->  on <day+1> <any name> gave ... <animal> ...
        in <month> <name> saw ...               ->  after <month> comes <month+1> and <name> is happy
        after <month> comes <month+1> ... <name> -> in <month+1> <name> saw the <any thing> ...
        <k> plus one is <k+1> said <name>       ->  on <any day> <name> gave ...
    """
    wanted, _ = _story_keys(sentence)
    return [s for s in pool if wanted in _story_keys(s)[1]]


def story_links(pool: Sequence["Sentence"]) -> List[List[int]]:
    """For every sentence of ``pool``, the indices (into ``pool``) of its :func:`continuations`."""
    answering: Dict[Tuple[str, ...], List[int]] = {}
    for j, s in enumerate(pool):
        for key in _story_keys(s)[1]:
            answering.setdefault(key, []).append(j)
    return [answering.get(_story_keys(s)[0], []) for s in pool]


def all_sentences() -> List[Sentence]:
    """Every sentence of the language (1,650), each with its per-position choices."""
    vocabulary = _LANGUAGE_VOCAB_TOKENS[2:]
    return [Sentence(tokens, template, _choices(tokens, vocabulary)) for template, tokens in _ALL]


@dataclass
class LanguageData:
    """Training and held-out sentences, and the vocabulary (with ``[mask]`` and ``[cls]``)."""

    train: List[Sentence]
    test: List[Sentence]
    vocab: Vocab
    info: Dict[str, object]

    @property
    def mask_id(self) -> int:
        return self.vocab.token_to_id(MASK)

    def encode(self, sentences: Sequence[Sentence]) -> Tuple[Tensor, Tensor]:
        """-> ``(ids (B, L), lengths (B,))``, padded with ``<pad>``."""
        return pad_sequences([self.vocab.encode(s.tokens) for s in sentences], pad_id=self.vocab.pad_id)


def make_language_data(test_fraction: float = 0.2, *, seed: Optional[int] = None) -> LanguageData:
    """All sentences of the language, split at random (seeded) into train and test.

    Every template is split with the same fraction, so each kind of sentence is
    represented in the test set; no test sentence occurs in the training set.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    seed = resolve_seed(seed)
    rng = random.Random(seed)
    sentences = all_sentences()
    train, test = [], []
    for template in TEMPLATES:
        group = [s for s in sentences if s.template == template]
        rng.shuffle(group)
        n_test = max(1, round(test_fraction * len(group)))
        test += group[:n_test]
        train += group[n_test:]
    rng.shuffle(train)
    vocab = Vocab(_LANGUAGE_VOCAB_TOKENS)
    info = {"seed": seed, "n_sentences": len(sentences), "templates": TEMPLATES, "test_fraction": test_fraction}
    return LanguageData(train, test, vocab, info)


# ---------------------------------------------------------------------------
# "Which comes first?"
# ---------------------------------------------------------------------------


@dataclass
class OrderData:
    """Bags of words with one animal and one food; label 1 = the animal comes first."""

    train_ids: Tensor  # (N, L) token ids, [cls] first, padded
    train_lengths: Tensor  # (N,)
    train_labels: Tensor  # (N,)
    test_ids: Tensor
    test_lengths: Tensor
    test_labels: Tensor
    vocab: Vocab
    info: Dict[str, object]

    def tokens(self, split: str, i: int) -> List[str]:
        """The words of example ``i`` of ``"train"`` or ``"test"`` ([cls] included)."""
        check_choice(split, "split", ("train", "test"))
        ids, lengths = getattr(self, f"{split}_ids"), getattr(self, f"{split}_lengths")
        return [self.vocab.id_to_token(t) for t in ids[i, : int(lengths[i])]]


def make_order_data(
    n_train: int = 4000, n_test: int = 1000, *, min_len: int = 5, max_len: int = 12, seed: Optional[int] = None
) -> OrderData:
    """Sequences of ``min_len..max_len`` words: one animal, one food and other
    words (names, months, weekdays, numbers, colours, things) in random order,
    after a ``[cls]`` token. Label 1 if the animal comes before the food.

    The test set holds every sequence **twice**, once as drawn and once with the
    animal and the food swapped (so the labels are exactly balanced, and a
    model that ignores order must give both the same answer: 50 %).
    """
    check_positive_ints(n_train=n_train, n_test=n_test, min_len=min_len, max_len=max_len)
    if n_test % 2:
        raise ValueError(f"n_test must be even (each test sequence comes with its swapped twin), got {n_test}")
    if min_len < 2 or max_len < min_len:
        raise ValueError(f"need 2 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    seed = resolve_seed(seed)
    rng = random.Random(seed + 7919)
    W = WORD_CLASSES
    others = [w for c in ("female name", "male name", "month", "weekday", "number", "colour", "thing") for w in W[c]]

    def draw() -> Tuple[List[str], int]:
        n = rng.randint(min_len, max_len)
        words = [rng.choice(others) for _ in range(n - 2)]
        i, j = sorted(rng.sample(range(n), 2))
        a, f = rng.choice(W["animal"]), rng.choice(W["food"])
        first, second = (a, f) if rng.random() < 0.5 else (f, a)
        words.insert(i, first)
        words.insert(j, second)
        return words, int(first == a)

    vocab = Vocab(_LANGUAGE_VOCAB_TOKENS)
    train = [draw() for _ in range(n_train)]
    test = []
    for _ in range(n_test // 2):
        words, label = draw()
        a = next(w for w in words if w in FOOD_OF)  # the one animal
        f = next(w for w in words if w in FOOD_OF.values())  # the one food
        swapped = [f if w == a else a if w == f else w for w in words]
        test += [(words, label), (swapped, 1 - label)]

    def encode(rows):
        ids, lengths = pad_sequences([vocab.encode([CLS] + w) for w, _ in rows], pad_id=vocab.pad_id)
        return ids, lengths, torch.tensor([y for _, y in rows])

    tr, te = encode(train), encode(test)
    info = {"seed": seed, "min_len": min_len, "max_len": max_len}
    return OrderData(*tr, *te, vocab=vocab, info=info)
