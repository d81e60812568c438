"""The toy language of chapter 5 and its "which comes first?" task."""
import pytest
import torch

from attnbook.data.language import (CLS, FOOD_OF, MASK, WORD_CLASSES, all_sentences, make_language_data,
                                    make_order_data, word_class)


def test_language_sentences_and_choices():
    sents = all_sentences()
    assert len(sents) == len({s.tokens for s in sents}) == 504 + 864 + 144 + 42 + 96
    gave = next(s for s in sents if s.template == "gave" and s.tokens[5] == "dog")
    assert gave.tokens[7] == "bones" and gave.choices[7] == {"bones"} and gave.kind(7) == "determined"
    assert gave.kind(1) == "free" and gave.choices[1] == set(WORD_CLASSES["weekday"])
    # the pronoun limits the name to one gender
    assert gave.choices[2] == set(WORD_CLASSES["female name" if gave.tokens[4] == "her" else "male name"])
    assert gave.kind(0) == "function"
    after = next(s for s in sents if s.template == "month after" and s.tokens[1] == "may")
    assert after.tokens[3] == "june" and after.choices[3] == {"june"} and after.choices[1] == {"may"}
    assert word_class("dog") == "animal" and word_class("the") == "function word"


def test_language_split_is_disjoint_and_seeded():
    a, b = make_language_data(seed=0), make_language_data(seed=0)
    assert [s.tokens for s in a.test] == [s.tokens for s in b.test]
    assert not {s.tokens for s in a.train} & {s.tokens for s in a.test}
    assert {s.template for s in a.test} == {s.template for s in a.train}
    assert MASK in a.vocab and CLS in a.vocab
    c = make_language_data(seed=1)
    assert [s.tokens for s in a.test] != [s.tokens for s in c.test]
    ids, lengths = a.encode(a.test[:3])
    assert ids.shape[0] == 3 and lengths.tolist() == [len(s.tokens) for s in a.test[:3]]
    with pytest.raises(ValueError, match="test_fraction"):
        make_language_data(1.5)


def test_order_data_labels_and_twins():
    d = make_order_data(n_train=200, n_test=100, seed=3)
    assert d.train_ids.shape[0] == 200 and d.test_ids.shape[0] == 100
    assert d.test_labels.float().mean() == 0.5
    for i in range(0, 20, 2):
        a, b = d.tokens("test", i), d.tokens("test", i + 1)
        assert a[0] == CLS and sorted(a) == sorted(b)         # the same bag of words
        animal = [k for k, w in enumerate(a) if w in FOOD_OF]
        food = [k for k, w in enumerate(a) if w in FOOD_OF.values()]
        assert len(animal) == len(food) == 1
        assert d.test_labels[i] == int(animal[0] < food[0]) and d.test_labels[i + 1] == 1 - d.test_labels[i]
    for i in range(20):
        t = d.tokens("train", i)
        k_a = next(k for k, w in enumerate(t) if w in FOOD_OF)
        k_f = next(k for k, w in enumerate(t) if w in FOOD_OF.values())
        assert d.train_labels[i] == int(k_a < k_f)
    with pytest.raises(ValueError, match="even"):
        make_order_data(n_test=5)
    with pytest.raises(ValueError, match="min_len"):
        make_order_data(min_len=1)
    with pytest.raises(ValueError, match="split"):
        d.tokens("valid", 0)
