"""The synthetic reviews of chapter 4: labels, ground truth, splits, batching, bad input."""
import random

import pytest
import torch

from attnbook.data.reviews import (LABELS, NEGATIVE, POSITIVE, Review, ReviewsConfig, make_review,
                                   make_reviews_data)


@pytest.fixture(scope="module")
def data():
    return make_reviews_data(ReviewsConfig(n_train=600, n_test=200, seed=3))


def _verdict_polarity(sentence, key):
    """Read the label off the verdict's key words the way the generator writes them."""
    words = [sentence[k] for k in key]
    negated = "not" in words
    word = [w for w in words if w != "not"][0]
    positive_word = word in POSITIVE or word in ("love", "like", "recommend")
    assert positive_word or word in NEGATIVE or word in ("hate", "dislike"), word
    return int(positive_word != negated)


def test_the_verdict_decides_the_label(data):
    for r in data.train + data.test:
        assert len(r.decisive) == 1
        i = r.decisive[0]
        assert r.kinds[i] in ("verdict", "contrast")
        assert r.key_words[i], "the verdict has key words"
        assert _verdict_polarity(r.sentences[i], r.key_words[i]) == r.label
        assert all(not k for j, k in enumerate(r.key_words) if j != i)


def test_earlier_opinions_come_before_the_verdict_and_are_uninformative(data):
    stale = [r for r in data.train if "stale" in r.kinds]
    assert 0.35 < len(stale) / len(data.train) < 0.65
    for r in stale:
        assert r.kinds.index("stale") < r.decisive[0]
    # what the earlier opinion said agrees with the label about half of the time
    agree = 0
    for r in stale:
        s = r.sentences[r.kinds.index("stale")]
        positive = any(w in POSITIVE or w in ("love", "like") for w in s)
        agree += int(positive) == r.label
    assert 0.4 < agree / len(stale) < 0.6


def test_shapes_of_reviews(data):
    cfg = data.config
    kinds = {k for r in data.train for k in r.kinds}
    assert kinds == {"verdict", "contrast", "stale", "distractor", "filler"}
    for r in data.test:
        assert cfg.min_sentences <= len(r.sentences) <= cfg.max_sentences
        n_dis = sum(k == "distractor" for k in r.kinds) + sum(k == "contrast" for k in r.kinds)
        assert n_dis >= cfg.min_distractors
    assert sum(r.label for r in data.test) == len(data.test) // 2


def test_splits_are_disjoint_and_seeded():
    a = make_reviews_data(ReviewsConfig(n_train=100, n_test=50, seed=1))
    b = make_reviews_data(ReviewsConfig(n_train=100, n_test=50, seed=1))
    c = make_reviews_data(ReviewsConfig(n_train=100, n_test=50, seed=2))
    assert [r.sentences for r in a.test] == [r.sentences for r in b.test]
    assert [r.sentences for r in a.test] != [r.sentences for r in c.test]
    assert not {r.sentences for r in a.test} & {r.sentences for r in a.train}
    assert 0 < a.info["chance_top_sentence"] < 0.25


def test_batch_pads_and_masks(data):
    reviews = data.test[:5]
    b = data.batch(reviews)
    n_max = max(len(r.sentences) for r in reviews)
    assert b.words.shape[:2] == (5, n_max) and b.words.dtype == torch.long
    for k, r in enumerate(reviews):
        assert b.n_sentences[k] == len(r.sentences)
        for i, s in enumerate(r.sentences):
            assert b.sentence_lengths[k, i] == len(s)
            assert data.vocab.decode(b.words[k, i, : len(s)].tolist()) == list(s)
        assert (b.sentence_lengths[k, len(r.sentences):] == 0).all()
    assert b.labels.tolist() == [r.label for r in reviews]


def test_make_review_forces_the_label():
    rng = random.Random(0)
    for label in (0, 1):
        assert all(make_review(rng, label=label).label == label for _ in range(20))
    with pytest.raises(ValueError, match="label must be 0"):
        make_review(rng, label=2)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_train": 0}, "n_train and n_test must be positive"),
    ({"p_negation": 1.5}, "p_negation must be a probability"),
    ({"p_stale": -0.1}, "p_stale must be a probability"),
    ({"min_sentences": 3}, "must leave room"),
    ({"min_sentences": 8, "max_sentences": 6}, "max_sentences"),
    ({"min_distractors": 3, "max_distractors": 1}, "min_distractors"),
])
def test_bad_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReviewsConfig(**kwargs)


def test_bad_batch_input(data):
    with pytest.raises(ValueError, match="empty"):
        data.batch([])
    with pytest.raises(ValueError, match="not a Review"):
        data.batch(["the phone is good ."])
    assert LABELS == ("negative", "positive")
    assert isinstance(data.test[0], Review)
