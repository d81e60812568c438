"""The synthetic reviews of chapter 4: labels, ground truth, splits, batching, bad input."""
import random
from collections import Counter

import pytest
import torch

from attnbook.data.reviews import (LABELS, NEGATIVE, NO_OPINION, POSITIVE, Review, ReviewsConfig, make_review,
                                   make_reviews_data, verdict_of)


@pytest.fixture(scope="module")
def data():
    return make_reviews_data(ReviewsConfig(n_train=600, n_test=200, seed=3))


def _polarity(sentence, key):
    """Read an opinion's polarity off its key words the way the generator writes them."""
    words = [sentence[k] for k in key]
    negated = "not" in words
    word = [w for w in words if w != "not"][0]
    positive_word = word in POSITIVE or word in ("love", "like", "recommend")
    assert positive_word or word in NEGATIVE or word in ("hate", "dislike"), word
    return int(positive_word != negated)


def test_the_last_opinion_of_the_phone_decides_the_label(data):
    for r in data.train + data.test:
        assert len(r.decisive) == 1
        i = r.decisive[0]
        assert r.kinds[i] == "verdict" and r.opinions[i] == r.label
        opinion_at = [j for j, o in enumerate(r.opinions) if o != NO_OPINION]
        assert len(opinion_at) == data.config.n_opinions and opinion_at[-1] == i
        for j, (s, key, kind, o) in enumerate(zip(r.sentences, r.key_words, r.kinds, r.opinions)):
            if o == NO_OPINION:
                assert not key and kind in ("distractor", "filler")
            else:                                   # the key words say what the opinion is
                assert key and "phone" in s and _polarity(s, key) == o
                assert kind == ("verdict" if j == i else "earlier")
        # the reviewer changed their mind: some earlier opinion is the opposite of the verdict
        assert 1 - r.label in [r.opinions[j] for j in opinion_at[:-1]]


def test_no_bag_of_words_or_sentences_tells_the_label(data):
    """The opinions, as a bag, look the same for both labels: only their order decides."""
    reviews = data.train + data.test
    bags = {0: Counter(), 1: Counter()}
    for r in reviews:
        bags[r.label][tuple(sorted(o for o in r.opinions if o != NO_OPINION))] += 1
    for bag in set(bags[0]) | set(bags[1]):      # each bag of polarities is as frequent under both labels
        n0, n1 = bags[0][bag], bags[1][bag]
        assert abs(n0 - n1) <= 0.25 * (n0 + n1) + 10, (bag, n0, n1)
    # and the sentiment words of the whole review are not tilted towards the label either
    score = [sum((w in POSITIVE) - (w in NEGATIVE) for s in r.sentences for w in s) for r in reviews]
    agree = sum((sc > 0) == (r.label == 1) for sc, r in zip(score, reviews) if sc != 0)
    assert 0.4 < agree / sum(sc != 0 for sc in score) < 0.6
    # where the verdict stands is not a cue either: it is the last sentence only sometimes
    last = sum(r.decisive[0] == len(r.sentences) - 1 for r in reviews) / len(reviews)
    assert 0.15 < last < 0.6


def test_verdict_of_applies_the_rule():
    assert verdict_of([NO_OPINION, 1, NO_OPINION, 0, NO_OPINION]) == (0, 3)
    assert verdict_of([0, 1]) == (1, 1)
    with pytest.raises(ValueError, match="no sentence states an opinion"):
        verdict_of([NO_OPINION, NO_OPINION])
    with pytest.raises(ValueError, match="opinions must be"):
        verdict_of([2, 0])


def test_shapes_of_reviews(data):
    cfg = data.config
    kinds = {k for r in data.train for k in r.kinds}
    assert kinds == {"verdict", "earlier", "distractor", "filler"}
    for r in data.test:
        assert cfg.min_sentences <= len(r.sentences) <= cfg.max_sentences
        assert len(r.opinions) == len(r.kinds) == len(r.key_words) == len(r.sentences)
        assert sum(k == "distractor" for k in r.kinds) >= cfg.min_distractors
    assert sum(r.label for r in data.test) == len(data.test) // 2
    contrast = sum("but" in r.sentences[r.decisive[0]] for r in data.train) / len(data.train)
    assert 0.2 < contrast < 0.4       # p_contrast = 0.3


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
    two = ReviewsConfig(n_train=1, n_test=1, n_opinions=2)   # then the earlier opinion is the verdict's opposite
    for _ in range(20):
        r = make_review(rng, two)
        assert sorted(o for o in r.opinions if o != NO_OPINION) == [0, 1]


@pytest.mark.parametrize("kwargs, message", [
    ({"n_train": 0}, "n_train and n_test must be positive"),
    ({"p_negation": 1.5}, "p_negation must be a probability"),
    ({"p_contrast": -0.1}, "p_contrast must be a probability"),
    ({"n_opinions": 1}, "n_opinions must be >= 2"),
    ({"min_sentences": 5}, "must leave room"),
    ({"min_sentences": 8, "max_sentences": 7}, "max_sentences"),
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
