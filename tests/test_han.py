"""Chapter 4's hierarchical attention network, its poolings, training, scoring and erasure test."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from attnbook.data.reviews import NO_OPINION, Review, ReviewsConfig, make_reviews_data
from attnbook.han import (HAN, FlatAttentionClassifier, HANConfig, Pooling, choose_sentences, erase_sentence,
                          evaluate_classifier, flip_rate, predict, top_hits, train_classifier)
from attnbook.train import TrainConfig


@pytest.fixture(scope="module")
def data():
    return make_reviews_data(ReviewsConfig(n_train=800, n_test=120, seed=0))


@pytest.mark.parametrize("kind", ["attention", "mean", "max"])
def test_pooling_weights_are_distributions_that_ignore_padding(kind):
    torch.manual_seed(0)
    pool = Pooling(6, 5, kind)
    h = torch.randn(3, 4, 6)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    out, w = pool(h, mask)
    assert out.shape == (3, 6) and w.shape == (3, 4)
    assert torch.allclose(w.sum(-1), torch.ones(3), atol=1e-6)
    assert (w[~mask] == 0).all()
    h2 = h.clone()
    h2[~mask] = 1e3                      # what is masked never changes the output
    assert torch.allclose(pool(h2, mask)[0], out, atol=1e-5)
    if kind == "mean":
        assert torch.allclose(out[1], h[1, :2].mean(0), atol=1e-6)
    if kind == "max":
        assert torch.allclose(out[1], h[1, :2].max(0).values)
    if kind == "attention":
        assert torch.allclose(out, (w.unsqueeze(-1) * h).sum(1), atol=1e-6)


def test_pooling_rejects_unknown_kind():
    with pytest.raises(ValueError, match="pooling must be one of"):
        Pooling(4, 4, "median")
    with pytest.raises(ValueError, match="pooling must be one of"):
        HANConfig(vocab_size=10, pooling="sum")


@pytest.mark.parametrize("model_cls", [HAN, FlatAttentionClassifier])
def test_shapes_and_padding(data, model_cls):
    torch.manual_seed(0)
    model = model_cls(HANConfig.for_data(data, emb_dim=8, word_hidden=8, sentence_hidden=8, attention_dim=8))
    batch = data.batch(data.test[:6])
    out = model(batch.words, batch.sentence_lengths)
    B, N, L = batch.words.shape
    assert out.logits.shape == (B, 2)
    real = batch.sentence_lengths > 0
    word_real = torch.arange(L) < batch.sentence_lengths[..., None]
    assert (out.word_weights[~word_real] == 0).all()
    assert torch.allclose(out.sentence_weights.sum(-1), torch.ones(B), atol=1e-5)
    assert (out.sentence_weights[~real] == 0).all()
    if model_cls is HAN:
        assert torch.allclose(out.word_weights.sum(-1)[real], torch.ones(int(real.sum())), atol=1e-5)
    else:   # one attention over the whole review
        assert torch.allclose(out.word_weights.sum((-1, -2)), torch.ones(B), atol=1e-5)


def test_a_review_is_classified_the_same_alone_or_in_a_padded_batch(data):
    torch.manual_seed(0)
    model = HAN(HANConfig.for_data(data, emb_dim=8, word_hidden=8, sentence_hidden=8, attention_dim=8)).eval()
    short = min(data.test[:20], key=lambda r: len(r.sentences))
    long = max(data.test[:20], key=lambda r: r.n_words)
    alone = model(*[data.batch([short])[k] for k in ("words", "sentence_lengths")])
    padded = model(*[data.batch([long, short])[k] for k in ("words", "sentence_lengths")])
    assert torch.allclose(alone.logits[0], padded.logits[1], atol=1e-5)


def test_bad_input_gets_a_clear_error(data):
    model = HAN(HANConfig.for_data(data, emb_dim=8, word_hidden=8, sentence_hidden=8, attention_dim=8))
    b = data.batch(data.test[:2])
    with pytest.raises(ValueError, match=r"words must be \(B, N, L\)"):
        model(b.words[0], b.sentence_lengths)
    with pytest.raises(ValueError, match="integer token ids"):
        model(b.words.float(), b.sentence_lengths)
    with pytest.raises(ValueError, match="sentence_lengths must be"):
        model(b.words, b.sentence_lengths[:, :1])
    empty = b.sentence_lengths.clone()
    empty[0] = 0
    with pytest.raises(ValueError, match="at least one sentence"):
        model(b.words, empty)


def test_training_learns_and_attention_is_scored(data):
    torch.manual_seed(0)
    tiny = make_reviews_data(ReviewsConfig(n_train=16, n_test=8, seed=0))
    model = HAN(HANConfig.for_data(tiny, emb_dim=16, word_hidden=16, sentence_hidden=16, attention_dim=16))
    seen = []
    run = train_classifier(model, tiny, TrainConfig(steps=60, batch_size=16, lr=1e-2, progress=False,
                                                    callback_every=30),
                           callback=lambda step, m: seen.append(step))
    assert run.steps == 60 and seen == [30, 60]
    assert np.mean(run.losses[-5:]) < 0.5 * np.mean(run.losses[:5])   # it fits 16 reviews
    assert evaluate_classifier(model, tiny, tiny.train)["accuracy"] == 1.0
    model = HAN(HANConfig.for_data(data, emb_dim=8, word_hidden=8, sentence_hidden=8, attention_dim=8))
    ev = evaluate_classifier(model, data)
    assert 0 <= ev["accuracy"] <= 1 and len(ev["predictions"]) == len(data.test)
    for k in ("sentence", "sentence_chance", "sentence_mass", "word", "word_chance"):
        assert 0 <= ev["attention"][k] <= 1
    p = predict(model, data, data.test[:3])
    assert [len(w) for w in p["sentence_weights"]] == [len(r.sentences) for r in data.test[:3]]


def test_top_hits_against_a_hand_made_truth(data):
    r = data.test[0]
    i = r.decisive[0]
    sw = np.full(len(r.sentences), 0.0)
    sw[i] = 1.0
    ww = [np.full(len(s), 1 / len(s)) for s in r.sentences]
    ww[i] = np.zeros(len(r.sentences[i]))
    ww[i][r.key_words[i][-1]] = 1.0
    hits = top_hits([r], [ww], [sw])
    assert hits["sentence"] == 1 and hits["word"] == 1 and hits["sentence_mass"] == 1
    sw = np.roll(sw, 1)
    assert top_hits([r], [ww], [sw])["sentence"] == 0
    with pytest.raises(ValueError, match="sentence weights"):
        top_hits([r], [ww], [sw[:-1]])
    with pytest.raises(ValueError, match="one word_weights"):
        top_hits([r], [], [sw])


def test_erase_sentence_recomputes_the_truth(data):
    for r in data.test[:50]:
        v = r.decisive[0]
        opinion_at = [j for j, o in enumerate(r.opinions) if o != NO_OPINION]
        filler = next(j for j, k in enumerate(r.kinds) if k in ("filler", "distractor"))
        e = erase_sentence(r, filler)                  # a sentence without an opinion: same verdict
        assert len(e.sentences) == len(r.sentences) - 1 and e.label == r.label
        assert e.sentences[e.decisive[0]] == r.sentences[v] and e.kinds[e.decisive[0]] == "verdict"
        e = erase_sentence(r, opinion_at[0])           # an earlier opinion: same verdict
        assert e.label == r.label and e.sentences[e.decisive[0]] == r.sentences[v]
        e = erase_sentence(r, v)                       # the verdict: the latest earlier opinion decides
        assert e.sentences[e.decisive[0]] == r.sentences[opinion_at[-2]]
        assert e.label == r.opinions[opinion_at[-2]]
        assert e.kinds.count("verdict") == 1 and len(e.opinions) == len(e.sentences) == len(e.key_words)
        assert erase_sentence(r, -1).sentences == r.sentences[:-1]
    # across reviews the truth flips exactly when the new last opinion disagrees
    flips = [erase_sentence(r, r.decisive[0]).label != r.label for r in data.test]
    assert 0.6 < np.mean(flips) < 0.9          # 3/4 with three opinions (one earlier is the opposite)


def test_erase_sentence_refuses_bad_input(data):
    r = data.test[0]
    with pytest.raises(ValueError, match="outside a review"):
        erase_sentence(r, len(r.sentences))
    with pytest.raises(ValueError, match="must be a Review"):
        erase_sentence("the phone is good .", 0)
    one = Review(sentences=(("the", "phone", "is", "good", "."),), label=1, decisive=(0,), key_words=((3,),),
                 kinds=("verdict",), opinions=(1,))
    with pytest.raises(ValueError, match="only sentence"):
        erase_sentence(one, 0)
    with pytest.raises(ValueError, match="not made by attnbook.data.reviews"):
        erase_sentence(replace(r, opinions=()), 0)
    only = r
    for i in reversed([j for j, o in enumerate(r.opinions) if o != NO_OPINION][1:]):
        only = erase_sentence(only, i)             # leave one opinion, then erase it
    with pytest.raises(ValueError, match="no sentence states an opinion"):
        erase_sentence(only, only.decisive[0])


def test_choose_sentences():
    w = [np.array([0.1, 0.7, 0.2]), np.array([0.5, 0.2, 0.1, 0.2])]
    assert choose_sentences(w, "top") == [1, 0]
    assert choose_sentences(w, "least") == [0, 2]
    picks = [choose_sentences(w, "random", seed=s) for s in range(30)]
    assert all(p[0] != 1 and p[1] != 0 for p in picks)           # never the top sentence
    assert {p[1] for p in picks} == {1, 2, 3}                     # but any other one
    assert choose_sentences(w, "random", seed=4) == choose_sentences(w, "random", seed=4)
    with pytest.raises(ValueError, match="how must be"):
        choose_sentences(w, "median")
    with pytest.raises(ValueError, match="at least 2 sentences"):
        choose_sentences([np.array([1.0])], "top")


def test_flip_rate_counts_changed_predictions(data):
    torch.manual_seed(0)
    model = HAN(HANConfig.for_data(data, emb_dim=8, word_hidden=8, sentence_hidden=8, attention_dim=8))
    reviews = data.test[:40]
    verdicts = [r.decisive[0] for r in reviews]
    res = flip_rate(model, data, reviews, verdicts)
    before = predict(model, data, reviews)["predictions"]
    after = predict(model, data, [erase_sentence(r, i) for r, i in zip(reviews, verdicts)])["predictions"]
    assert res["flipped"] == [a != b for a, b in zip(before, after)]
    assert res["flip_rate"] == pytest.approx(np.mean(res["flipped"]))
    assert res["truth_flipped"] == [erase_sentence(r, i).label != r.label for r, i in zip(reviews, verdicts)]
    assert 0 <= res["accuracy_after"] <= 1
    with pytest.raises(ValueError, match="one sentence index per review"):
        flip_rate(model, data, reviews, verdicts[:-1])
