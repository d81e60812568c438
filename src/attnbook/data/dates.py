"""Dates written the way people write them, translated to ISO 8601.

A small translation task whose every alignment is known::

    source:  tuesday , march 3 rd , 1 9 9 8        (one of 13 formats)
    target:  1 9 9 8 - 03 - 03                      (year digits, -, month, -, day)

Source tokens are lower-case words (``tuesday``, ``march``, ``mar``),
punctuation (``,`` ``/`` ``.`` ``-``), ordinal suffixes (``rd``) and single
digits: a number is spelled digit by digit, so ``12`` is the two tokens
``1 2``. The target is the four year digits, ``-``, the month as one token
(``01`` ... ``12``), ``-``, and the day as one token (``01`` ... ``31``).

Because the generator writes both sides, it knows where each target token
comes from. ``DateExample.spans[j]`` lists the source positions target token
``j`` is read from, and the alignment has every shape a translation has:

* **one-to-one** -- a year digit is copied from one source digit
  (``1 9 9 8`` -> ``1 9 9 8``), a month name becomes one token
  (``march`` -> ``03``);
* **many-to-one** -- several source tokens make one target token: the day
  ``1 2`` -> ``12``, the month ``0 3`` -> ``03``; and many different source
  words (``march``, ``mar``, ``3``, ``0 3``) all become the same ``03``;
* **crossing** -- ``3 march 1998`` (day first) and ``3 / 3 / 98`` (month
  first) put the year last, ISO puts it first: the alignment lines cross;
* **nothing to read** -- the century of a two-digit year (``98`` ->
  ``1998``) is inferred from the decade digit (50-99 -> 19xx, 00-49 ->
  20xx); the weekday is redundant and nothing is translated from it; the
  target's ``-`` are fixed by the format (their span is empty and
  ``alignment`` is ``-1``).

``Example.alignment[j]`` is the first position of ``spans[j]`` (``-1`` for an
empty span). Dates run from 1950 to 2049, so a two-digit year is never
ambiguous; ``/`` always means month/day/year and ``.`` day.month.year. Test
*dates* are held out: no date of the test set occurs in training, in any
format.
"""
from __future__ import annotations

import datetime as _dt
import random
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

from .. import resolve_seed
from .tokenize import tokenize_date  # noqa: F401  (the reader's dates are split there, with a JS twin)
from .vocab import Example, ParallelData, Vocab

__all__ = [
    "DATE_FORMATS",
    "MONTHS",
    "WEEKDAYS",
    "DateExample",
    "DatesConfig",
    "format_date",
    "tokenize_date",
    "make_dates_data",
]

MONTHS: Tuple[str, ...] = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
WEEKDAYS: Tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: name -> pattern; fields in braces, everything else is a literal token.
#: Fields: weekday / wkd (full / 3-letter), month / mon (name / 3-letter),
#: m / mm (month number / zero-padded), d / dd / dth (day / zero-padded / ordinal),
#: yyyy / yy (four / two-digit year).
DATE_FORMATS: Dict[str, str] = {
    "weekday, month dth, yyyy": "{weekday} , {month} {dth} , {yyyy}",
    "month d, yyyy": "{month} {d} , {yyyy}",
    "d month yyyy": "{d} {month} {yyyy}",
    "weekday d month yyyy": "{weekday} {d} {month} {yyyy}",
    "the dth of month yyyy": "the {dth} of {month} {yyyy}",
    "dd mon yyyy": "{dd} {mon} {yyyy}",
    "mon d yyyy": "{mon} {d} {yyyy}",
    "wkd d mon yy": "{wkd} {d} {mon} {yy}",
    "m/d/yy": "{m} / {d} / {yy}",
    "mm/dd/yyyy": "{mm} / {dd} / {yyyy}",
    "d.m.yy": "{d} . {m} . {yy}",
    "dd.mm.yyyy": "{dd} . {mm} . {yyyy}",
    "yyyy-mm-dd": "{yyyy} - {mm} - {dd}",
}

FIRST_DATE = _dt.date(1950, 1, 1)
LAST_DATE = _dt.date(2049, 12, 31)


def _ordinal_suffix(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _field_tokens(name: str, date: _dt.date) -> List[str]:
    """Source tokens of one field of a pattern (numbers spelled digit by digit)."""
    if name == "weekday":
        return [WEEKDAYS[date.weekday()]]
    if name == "wkd":
        return [WEEKDAYS[date.weekday()][:3]]
    if name == "month":
        return [MONTHS[date.month - 1]]
    if name == "mon":
        return [MONTHS[date.month - 1][:3]]
    if name == "m":
        return list(str(date.month))
    if name == "mm":
        return list(f"{date.month:02d}")
    if name == "d":
        return list(str(date.day))
    if name == "dd":
        return list(f"{date.day:02d}")
    if name == "dth":
        return list(str(date.day)) + [_ordinal_suffix(date.day)]
    if name == "yyyy":
        return list(f"{date.year:04d}")
    if name == "yy":
        return list(f"{date.year % 100:02d}")
    raise ValueError(f"unknown date field {{{name}}}")


def _parse_pattern(pattern: str) -> List[Tuple[str, str]]:
    """``"{d} . {m}"`` -> ``[("field", "d"), ("lit", "."), ("field", "m")]``."""
    parts = []
    for piece in pattern.split():
        if piece.startswith("{") and piece.endswith("}"):
            parts.append(("field", piece[1:-1]))
        else:
            parts.append(("lit", piece))
    return parts


def _render(pattern: str, date: _dt.date) -> Tuple[List[str], Dict[str, List[int]]]:
    """Source tokens of ``date`` in ``pattern`` and, per field, its token positions."""
    tokens: List[str] = []
    where: Dict[str, List[int]] = {}
    for kind, value in _parse_pattern(pattern):
        if kind == "lit":
            tokens.append(value)
            continue
        toks = _field_tokens(value, date)
        digits = toks[:-1] if value == "dth" else toks  # the suffix carries no information
        start = len(tokens)
        where[value] = list(range(start, start + len(digits)))
        tokens.extend(toks)
    return tokens, where


def _target(date: _dt.date) -> List[str]:
    return list(f"{date.year:04d}") + ["-", f"{date.month:02d}", "-", f"{date.day:02d}"]


def _spans(where: Dict[str, List[int]]) -> List[Tuple[int, ...]]:
    """Source positions each of the 7 target tokens is read from."""
    year = where.get("yyyy") or where.get("yy")
    month = where.get("month") or where.get("mon") or where.get("m") or where.get("mm")
    day = where.get("d") or where.get("dd") or where.get("dth")
    if year is None or month is None or day is None:
        raise ValueError(f"a date format needs a year, a month and a day field, got {sorted(where)}")
    if len(year) == 4:
        year_spans = [(p,) for p in year]  # copied digit by digit
    else:  # "98": the century is inferred from the decade digit, the last two digits are copied
        year_spans = [(year[0],), (year[0],), (year[0],), (year[1],)]
    return year_spans + [(), tuple(month), (), tuple(day)]


@dataclass(frozen=True)
class DateExample(Example):
    """A date pair: ``Example``'s fields plus where each target token comes from."""

    spans: Tuple[Tuple[int, ...], ...]  # spans[j] = source positions target token j is read from (() for "-")
    format: str  # the name of the format in DATE_FORMATS
    date: str  # the date in ISO form, e.g. "1998-03-03"

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.spans) != len(self.target):
            raise ValueError(f"spans has {len(self.spans)} entries but target has {len(self.target)} tokens")

    @property
    def kinds(self) -> Tuple[str, ...]:
        """How each target token relates to the source.

        ``"one-to-one"`` (read from one source token), ``"many-to-one"`` (from
        several: ``1 2`` -> ``12``), ``"inferred"`` (the century of a two-digit
        year: no source token says it) or ``"fixed"`` (the ``-``, set by the format).
        """
        two_digit_year = "{yy}" in DATE_FORMATS[self.format]
        out = []
        for j, span in enumerate(self.spans):
            if not span:
                out.append("fixed")
            elif two_digit_year and j < 2:
                out.append("inferred")
            else:
                out.append("many-to-one" if len(span) > 1 else "one-to-one")
        return tuple(out)

    @property
    def crossing(self) -> bool:
        """Whether the alignment crosses: some later target token reads an earlier source token."""
        firsts = [a for a in self.alignment if a >= 0]
        return any(b < a for a, b in zip(firsts, firsts[1:]))


def _as_date(date) -> _dt.date:
    if isinstance(date, str):
        try:
            date = _dt.date.fromisoformat(date)
        except ValueError:
            raise ValueError(f"date must be an ISO date such as '1998-03-03', got {date!r}") from None
    if isinstance(date, _dt.datetime):
        date = date.date()
    if not isinstance(date, _dt.date):
        raise ValueError(f"date must be a datetime.date or an ISO string, got {type(date).__name__}")
    if not FIRST_DATE <= date <= LAST_DATE:
        raise ValueError(f"dates must lie between {FIRST_DATE} and {LAST_DATE}, got {date}")
    return date


def format_date(date, fmt: str) -> DateExample:
    """One ``DateExample``: ``date`` (a ``datetime.date`` or ISO string) written in format ``fmt``.

    >>> ex = format_date("1998-03-03", "weekday, month dth, yyyy")
    >>> " ".join(ex.source), " ".join(ex.target)
    ('tuesday , march 3 rd , 1 9 9 8', '1 9 9 8 - 03 - 03')
    >>> ex.spans[5], ex.spans[7]   # month <- "march", day <- "3"
    ((2,), (3,))
    """
    if fmt not in DATE_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {list(DATE_FORMATS)}")
    date = _as_date(date)
    source, where = _render(DATE_FORMATS[fmt], date)
    spans = _spans(where)
    alignment = tuple(s[0] if s else -1 for s in spans)
    return DateExample(tuple(source), tuple(_target(date)), alignment, tuple(spans), fmt, date.isoformat())


@dataclass
class DatesConfig:
    """Size of the dates task."""

    n_train: int = 20000  # training pairs (random date, random format)
    n_test: int = 1000  # held-out pairs; their dates never occur in training
    formats: Tuple[str, ...] = tuple(DATE_FORMATS)  # the formats to draw from, uniformly

    def __post_init__(self) -> None:
        if self.n_train < 1 or self.n_test < 1:
            raise ValueError(f"n_train and n_test must be positive, got {self.n_train}, {self.n_test}")
        self.formats = tuple(self.formats)
        unknown = [f for f in self.formats if f not in DATE_FORMATS]
        if unknown or not self.formats:
            raise ValueError(f"formats must be a non-empty subset of {list(DATE_FORMATS)}, got {unknown or 'none'}")
        n_days = (LAST_DATE - FIRST_DATE).days + 1
        if self.n_test > n_days // 2:
            raise ValueError(f"n_test must be at most {n_days // 2} (half of the {n_days} dates), got {self.n_test}")


def _source_vocab() -> Vocab:
    words = list(MONTHS) + [m[:3] for m in MONTHS] + list(WEEKDAYS) + [w[:3] for w in WEEKDAYS]
    return Vocab(words + list("0123456789") + ["st", "nd", "rd", "th", ",", "/", ".", "-", "the", "of"])


def _target_vocab() -> Vocab:
    return Vocab(list("0123456789") + ["-"] + [f"{n:02d}" for n in range(1, 32)])


def make_dates_data(config: Optional[DatesConfig] = None, *, seed: Optional[int] = None) -> ParallelData:
    """Generate the train/test split of the dates task.

    Deterministic for a given ``(config, seed)``; ``seed=None`` reads
    ``ATTNBOOK_SEED`` (default 0). The test set has ``n_test`` distinct dates,
    the formats drawn uniformly; training pairs are drawn from the other dates.
    The examples are ``DateExample`` objects (``spans``, ``format``, ``date``).
    """
    config = config or DatesConfig()
    seed = resolve_seed(seed)
    rng = random.Random(f"dates-{seed}")
    n_days = (LAST_DATE - FIRST_DATE).days + 1
    test_days = rng.sample(range(n_days), config.n_test)
    held_out = set(test_days)
    test = [format_date(FIRST_DATE + _dt.timedelta(days=d), rng.choice(config.formats)) for d in test_days]
    train: List[Example] = []
    while len(train) < config.n_train:
        d = rng.randrange(n_days)
        if d in held_out:
            continue
        train.append(format_date(FIRST_DATE + _dt.timedelta(days=d), rng.choice(config.formats)))
    info = {
        "task": "dates",
        "seed": seed,
        "config": asdict(config),
        "buckets": (),
        "first_date": FIRST_DATE.isoformat(),
        "last_date": LAST_DATE.isoformat(),
    }
    return ParallelData(train=train, test=test, src_vocab=_source_vocab(), tgt_vocab=_target_vocab(), info=info)
