"""Chapter 5c: BERT's inputs, pretraining and fine-tuning; GPT's causal model; the story and tag data."""
import pytest
import torch

from attnbook.data.language import (CLS, SEP, TAGS, all_sentences, continuations, left_choices, make_language_data,
                                    story_links, tag_of)
from attnbook.pretraining import (GPT, Bert, BertForPretraining, BertTagger, PairSampler, bert_vocab, encode_pairs,
                                  encode_single, fill_in_scores, held_out_pairs, judge_samples, next_word_scores,
                                  nsp_accuracy, position_kind, sample_sentences, tagging_scores, train_bert, train_gpt,
                                  train_tagger)
from attnbook.train import TrainConfig
from attnbook.transformer import TransformerConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def lang():
    return make_language_data(seed=0)


@pytest.fixture(scope="module")
def vocab(lang):
    return bert_vocab(lang.vocab)


def _config(vocab, **kw):
    return TransformerConfig(vocab_size=len(vocab), d_model=32, nhead=4, num_layers=2, dim_feedforward=64,
                             max_len=24, activation="gelu", **kw)


# --- the data ---------------------------------------------------------------------------------------


def test_story_continuations_follow_the_thread():
    sentences = all_sentences()
    gave = next(s for s in sentences if s.tokens == ("on", "monday", "anna", "gave", "her", "dog", "some", "bones"))
    assert [s.tokens for s in continuations(gave, sentences)] == [
        ("after", "monday", "comes", "tuesday", "and", "the", "dog", "eats", "bones")]
    after = continuations(gave, sentences)[0]
    nxt = continuations(after, sentences)
    assert len(nxt) == 12 and all(s.template == "gave" and s.tokens[1] == "tuesday" and s.tokens[5] == "dog"
                                  for s in nxt)
    saw = next(s for s in sentences if s.template == "saw" and s.tokens[1] == "december")
    month = continuations(saw, sentences)[0]
    assert month.tokens[:4] == ("after", "december", "comes", "january") and month.tokens[5] == saw.tokens[2]
    # story_links is the same relation, as indices
    links = story_links(sentences)
    for i in range(0, len(sentences), 37):
        assert [sentences[j] for j in links[i]] == continuations(sentences[i], sentences)


def test_tags_and_left_choices():
    assert tag_of("anna") == tag_of("tom") == "name"
    assert tag_of("may") == tag_of("monday") == "time"
    assert tag_of("gave") == "O" and set(map(tag_of, ("dog", "bones", "red", "sky", "nine"))) <= set(TAGS)
    s = ("on", "monday", "anna", "gave", "her", "dog", "some", "bones")
    assert left_choices(s, 4) == {"her"}  # the name before decides the pronoun
    assert len(left_choices(s, 5)) == 6  # any animal, until the food is read
    assert left_choices(s, 7) == {"bones"}
    with pytest.raises(ValueError, match="outside"):
        left_choices(s, 8)
    sentence = next(x for x in all_sentences() if x.tokens == s)
    assert [position_kind(sentence, i) for i in range(8)] == [
        "right", "free", "free", "left", "left", "right", "left", "left"]


def test_encoding_of_pairs_and_single_sentences(vocab):
    ids, segments, lengths = encode_pairs(vocab, [(("a", "b"), ("c",)), (("a",), ("b", "c", "d"))])
    assert lengths.tolist() == [6, 7]
    assert vocab.decode(ids[0].tolist(), keep_specials=True)[:6] == [CLS, "<unk>", "<unk>", SEP, "<unk>", SEP]
    assert segments.tolist() == [[0, 0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1]]
    ids, segments, lengths = encode_single(vocab, [("on", "monday")])
    assert vocab.decode(ids[0].tolist(), keep_specials=True) == [CLS, "on", "monday", SEP]
    assert segments.sum() == 0 and lengths.tolist() == [4]


def test_pair_sampler_labels_are_right_and_balanced(lang):
    sampler = PairSampler(lang.train)
    pairs, labels = sampler.draw(400, torch.Generator().manual_seed(1))
    assert 0.4 < labels.float().mean() < 0.6
    by_tokens = {s.tokens: s for s in lang.train}
    for (a, b), y in zip(pairs, labels.tolist()):
        follows = b in {s.tokens for s in continuations(by_tokens[a], lang.train)}
        assert follows == bool(y)
    with pytest.raises(ValueError, match="positive"):
        sampler.draw(0, torch.Generator())


def test_held_out_pairs(lang):
    pairs, labels = held_out_pairs(lang)
    test = {s.tokens for s in lang.test}
    assert all(a in test for a, _ in pairs) and labels.tolist()[:4] == [1, 0, 1, 0]
    hard, hard_labels = held_out_pairs(lang, hard=True)
    everything = {s.tokens: s for s in all_sentences()}
    for (a, b), y in zip(hard[:200:2], hard_labels[:200:2]):  # the continuations
        assert y == 1 and b in {s.tokens for s in continuations(everything[a], list(everything.values()))}
    for (a, b), (_, b_true) in zip(hard[1:200:2], hard[:200:2]):  # same template, but not a continuation
        assert everything[b].template == everything[b_true].template
        assert b not in {s.tokens for s in continuations(everything[a], list(everything.values()))}


# --- the models -------------------------------------------------------------------------------------


def test_bert_sees_both_sides_and_gpt_only_the_past(vocab, lang):
    torch.manual_seed(0)
    bert = BertForPretraining(_config(vocab)).eval()
    gpt = GPT(_config(lang.vocab)).eval()
    ids, segments, lengths = encode_single(vocab, [lang.test[0].tokens])
    out = bert(ids, segments, lengths)
    assert out.mlm_logits.shape == (1, ids.shape[1], len(vocab)) and out.nsp_logits.shape == (1, 2)
    assert torch.allclose(out.weights.sum(-1), torch.ones(out.weights.shape[:-1]), atol=1e-5)
    assert out.weights.triu(1).sum() > 0  # attention reaches later positions
    gids = torch.tensor([lang.vocab.encode(lang.test[0].tokens, add_bos=True)])
    logits, w = gpt(gids)
    assert logits.shape == (1, gids.shape[1], len(lang.vocab))
    assert (w.triu(1) == 0).all()
    changed = gids.clone()
    changed[0, -1] = (changed[0, -1] + 1) % len(lang.vocab)
    # changing the last token changes no earlier position's prediction
    assert torch.allclose(gpt(changed)[0][:, :-1], logits[:, :-1], atol=1e-6)
    # segments change BERT's output
    assert not torch.allclose(bert(ids, torch.ones_like(segments), lengths).hidden, out.hidden)


def test_model_input_errors(vocab):
    bert = Bert(_config(vocab))
    ids, segments, lengths = encode_single(vocab, [("on", "monday")])
    with pytest.raises(ValueError, match="segments"):
        bert(ids, segments + 2, lengths)
    with pytest.raises(ValueError, match="segments of shape"):
        bert(ids, segments[:, :2], lengths)
    with pytest.raises(ValueError, match="longer than max_len"):
        long = torch.zeros(1, 30, dtype=torch.long)
        bert(long, long, torch.tensor([30]))
    with pytest.raises(ValueError, match="BertForPretraining"):
        BertTagger.from_pretrained(bert)
    with pytest.raises(ValueError, match="temperature"):
        sample_sentences(GPT(_config(vocab)), vocab, 3, temperature=0)


def test_tagger_from_pretrained_copies_the_encoder(vocab):
    pre = BertForPretraining(_config(vocab))
    tagger = BertTagger.from_pretrained(pre)
    for (name, p), (_, q) in zip(pre.bert.named_parameters(), tagger.bert.named_parameters()):
        assert torch.equal(p, q) and p is not q, name


# --- training: everything learns a little in a few steps ---------------------------------------------


def test_pretraining_fine_tuning_and_gpt_learn(lang, vocab):
    torch.manual_seed(0)
    bert = BertForPretraining(_config(vocab))
    budget = TrainConfig(steps=150, batch_size=64, lr=3e-3, progress=False, seed=0)
    run = train_bert(bert, lang, vocab, budget)
    assert run.losses[-1] < run.losses[0]
    pairs, labels = held_out_pairs(lang)
    assert nsp_accuracy(bert, vocab, pairs, labels) > 0.7
    fill = fill_in_scores(bert, vocab, lang.test[:40])
    assert {"left", "right", "free", "all"} <= set(fill) and fill["left"]["accuracy"] > 0.5

    labelled = lang.train[:30]
    seen = {w for s in labelled for w in s.tokens}
    tagger = BertTagger.from_pretrained(bert)
    train_tagger(tagger, vocab, labelled, TrainConfig(steps=60, batch_size=16, lr=1e-3, progress=False, seed=0))
    scores = tagging_scores(tagger, vocab, lang.test, seen)
    assert scores["accuracy"] > 0.6 and scores["n_unseen"] > 0
    assert len(scores["predicted"]) == len(lang.test)
    with pytest.raises(ValueError, match="at least one"):
        train_tagger(tagger, vocab, [])

    torch.manual_seed(0)
    gpt = GPT(_config(lang.vocab))
    run = train_gpt(gpt, lang, TrainConfig(steps=150, batch_size=64, lr=3e-3, progress=False, seed=0))
    assert run.losses[-1] < 0.5 * run.losses[0]
    nxt = next_word_scores(gpt, lang.vocab, lang.test[:60])
    assert nxt["left"]["accuracy"] > 0.5
    samples = sample_sentences(gpt, lang.vocab, 20, temperature=0.5, generator=torch.Generator().manual_seed(0))
    judged = judge_samples(samples, lang)
    assert len(judged["marks"]) == 20 and judged["valid"] > 0.1
    assert judged["valid"] == pytest.approx(judged["copied"] + judged["new"])
