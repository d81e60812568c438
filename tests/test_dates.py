"""attnbook.data.dates: every format, the ground-truth alignment, held-out dates, seeding."""
from __future__ import annotations

import datetime as dt

import pytest

from attnbook.data import DATE_FORMATS, DatesConfig, make_batch, make_dates_data
from attnbook.data.dates import DateExample, format_date, tokenize_date


@pytest.fixture(scope="module")
def data():
    return make_dates_data(DatesConfig(n_train=3000, n_test=300), seed=0)


def _iso_from_target(target):
    return "".join(target[:4]) + "-" + target[5] + "-" + target[7]


@pytest.mark.parametrize("fmt", list(DATE_FORMATS))
def test_every_format_translates_to_iso(fmt):
    for day in (dt.date(1998, 3, 3), dt.date(2011, 12, 22), dt.date(1950, 1, 1), dt.date(2049, 12, 31)):
        ex = format_date(day, fmt)
        assert isinstance(ex, DateExample) and ex.format == fmt and ex.date == day.isoformat()
        assert _iso_from_target(ex.target) == day.isoformat()
        assert len(ex.target) == 8 and ex.target[4] == ex.target[6] == "-"
        assert len(ex.spans) == len(ex.alignment) == len(ex.target)
        assert all(0 <= p < len(ex.source) for span in ex.spans for p in span)
        assert ex.alignment == tuple(s[0] if s else -1 for s in ex.spans)


@pytest.mark.parametrize("fmt", list(DATE_FORMATS))
def test_spans_point_at_the_tokens_that_say_it(fmt):
    day = dt.date(1987, 11, 24)
    ex = format_date(day, fmt)
    year = [ex.source[p] for s in ex.spans[:4] for p in s]
    if "{yy}" in DATE_FORMATS[fmt]:
        assert year == ["8", "8", "8", "7"] and ex.kinds[:2] == ("inferred", "inferred")
    else:
        assert year == list("1987") and set(ex.kinds[:4]) == {"one-to-one"}
    month = [ex.source[p] for p in ex.spans[5]]
    assert month in (["november"], ["nov"], ["1", "1"])
    assert [ex.source[p] for p in ex.spans[7]] == ["2", "4"]
    assert ex.kinds[7] == "many-to-one" and ex.kinds[4] == ex.kinds[6] == "fixed"


def test_worked_example_and_the_three_alignment_shapes():
    ex = format_date("1998-03-03", "weekday, month dth, yyyy")
    assert " ".join(ex.source) == "tuesday , march 3 rd , 1 9 9 8"  # 3 March 1998 was a Tuesday
    assert ex.target == ("1", "9", "9", "8", "-", "03", "-", "03")
    assert ex.spans == ((6,), (7,), (8,), (9,), (), (2,), (), (3,))
    assert ex.kinds == ("one-to-one",) * 4 + ("fixed", "one-to-one", "fixed", "one-to-one")
    assert ex.crossing  # the year comes last in the source, first in ISO
    assert not format_date("1998-03-03", "yyyy-mm-dd").crossing
    assert format_date("1998-03-12", "dd.mm.yyyy").kinds[5] == "many-to-one"  # "0 3" -> "03"


def test_weekdays_and_ordinals_are_right():
    assert format_date("2024-02-29", "weekday d month yyyy").source[0] == "thursday"
    for d, suffix in ((1, "st"), (2, "nd"), (3, "rd"), (4, "th"), (11, "th"), (12, "th"), (13, "th"),
                      (21, "st"), (22, "nd"), (23, "rd"), (31, "st")):
        ex = format_date(dt.date(2001, 1, d), "the dth of month yyyy")
        assert ex.source[1 + len(str(d))] == suffix


def test_tokenize_date_matches_the_generator():
    for fmt in DATE_FORMATS:
        ex = format_date("2007-09-05", fmt)
        typed = " ".join(ex.source).replace(" , ", ", ")
        assert tokenize_date(typed) == list(ex.source)
    assert tokenize_date("Tuesday, March 3rd 1998") == ["tuesday", ",", "march", "3", "rd", "1", "9", "9", "8"]
    assert tokenize_date("3/3/98") == ["3", "/", "3", "/", "9", "8"]
    with pytest.raises(ValueError, match="string"):
        tokenize_date(["3", "3"])


def test_split_is_seeded_and_holds_out_dates(data):
    again = make_dates_data(DatesConfig(n_train=3000, n_test=300), seed=0)
    other = make_dates_data(DatesConfig(n_train=3000, n_test=300), seed=1)
    assert data.train == again.train and data.test == again.test
    assert data.test != other.test
    assert len(data.train) == 3000 and len(data.test) == 300
    test_dates = {e.date for e in data.test}
    assert len(test_dates) == 300  # distinct dates
    assert not test_dates & {e.date for e in data.train}  # never seen in training, in any format
    assert {e.format for e in data.test} == set(DATE_FORMATS)


def test_vocabularies_cover_the_data(data):
    for e in data.train + data.test:
        assert all(t in data.src_vocab for t in e.source)
        assert all(t in data.tgt_vocab for t in e.target)
    b = make_batch(data.test[:5], data.src_vocab, data.tgt_vocab)
    assert b.tgt_in.shape == (5, 9)  # <bos> + 8 tokens


def test_bad_input():
    with pytest.raises(ValueError, match="unknown format"):
        format_date("1998-03-03", "dd/mm/yyyy")
    with pytest.raises(ValueError, match="between"):
        format_date("1900-01-01", "d month yyyy")
    with pytest.raises(ValueError, match="ISO date"):
        format_date("3 March 1998", "d month yyyy")
    with pytest.raises(ValueError, match="n_train"):
        DatesConfig(n_train=0)
    with pytest.raises(ValueError, match="formats"):
        DatesConfig(formats=("nope",))
    with pytest.raises(ValueError, match="n_test"):
        DatesConfig(n_test=30000)
    with pytest.raises(ValueError, match="spans"):
        DateExample(("a",), ("x", "y"), (0, 0), ((0,),), "d month yyyy", "1998-03-03")
