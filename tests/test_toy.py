"""Chapter 0's memories: one bound summary vector vs attention over kept vectors."""
import pytest
import torch

from attnbook.data.toy import bag_recall, position_codes, position_recall, random_vocabulary


def vocab(seed=0, size=500, dim=64):
    return random_vocabulary(size, dim, generator=torch.Generator().manual_seed(seed))


def test_position_codes_are_plus_minus_one():
    codes = position_codes(7, 16, generator=torch.Generator().manual_seed(0))
    assert codes.shape == (7, 16)
    assert set(codes.unique().tolist()) == {-1.0, 1.0}


def test_one_word_is_always_answered_by_both_memories():
    # a one-word summary unbinds exactly: code * code = 1 in every entry
    r = position_recall(vocab(), 1, noise=0.0, trials=50, generator=torch.Generator().manual_seed(1))
    assert r.squeezed == 1.0 and r.looked_up == 1.0


def test_the_summary_fails_where_attention_does_not():
    g = torch.Generator().manual_seed(2)
    r = position_recall(vocab(), 40, noise=0.0, trials=100, generator=g)
    assert r.squeezed < 0.3 < 0.95 < r.looked_up


def test_noise_hurts_attention_too():
    # the query does not hold the answer: a cue drowned in noise is answered near chance
    g = torch.Generator().manual_seed(3)
    r = position_recall(vocab(), 40, noise=50.0, trials=200, generator=g)
    assert r.looked_up < 0.3


def test_matches_a_direct_computation_for_one_sentence():
    v = vocab(4, size=50, dim=32)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    r = position_recall(v, 3, noise=0.5, trials=1, generator=g1)
    # the same draws, in the same order, by hand
    ids = torch.randperm(50, generator=g2)[:3]
    codes = position_codes(3, 32, generator=g2)
    asked = torch.randint(3, (1,), generator=g2)
    cue = codes[asked[0]] + 0.5 * torch.randn(1, 32, generator=g2)[0]
    summary = (codes * v[ids]).sum(0)
    squeezed = int((v @ (summary * cue)).argmax()) == int(ids[asked[0]])
    weights = torch.softmax(codes @ cue / 32 ** 0.5, dim=0)
    looked = int((v @ (weights @ v[ids])).argmax()) == int(ids[asked[0]])
    assert r.squeezed == float(squeezed) and r.looked_up == float(looked)


def test_bag_recall_of_two_words():
    assert bag_recall(vocab(), 2, trials=50, generator=torch.Generator().manual_seed(6)) == 1.0


@pytest.mark.parametrize("kwargs, match", [
    ({"length": 0}, "length"),
    ({"length": 3, "noise": -1.0}, "noise"),
    ({"length": 3, "noise": float("nan")}, "noise"),
    ({"length": 3, "trials": 0}, "trials"),
])
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        position_recall(vocab(), **kwargs)


def test_vocab_must_be_a_matrix():
    with pytest.raises(ValueError, match="vocab"):
        position_recall(torch.ones(5), 2)
    with pytest.raises(ValueError, match="length and dim"):
        position_codes(0, 4)
