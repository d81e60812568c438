"""attnbook.captioning: captioners with no, soft and hard attention; their training and evaluation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnbook.attention import AdditiveAttention
from attnbook.captioning import (
    CaptionerConfig,
    Captioner,
    CaptionTrainConfig,
    CNNEncoder,
    HardAttentionDecoder,
    MeanPoolDecoder,
    SoftAttentionDecoder,
    attention_correctness,
    caption_attention,
    caption_batch,
    caption_breakdown,
    caption_view_examples,
    evaluate_captioner,
    scene_attention_maps,
    format_caption_table,
    train_captioner,
)
from attnbook.data import SceneConfig, make_scene_data
from attnbook.playground import PLAYGROUND_POINTS, attention_playground
from attnbook.train import TrainConfig

SMALL = SceneConfig(n_train=256, n_test_per_count=8)
TINY = dict(channels=(4, 8, 16), emb_dim=8, hidden_size=16, attn_dim=8)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data():
    return make_scene_data(SMALL, seed=0)


def model(data, attention="soft", seed=0, **kw):
    torch.manual_seed(seed)
    return Captioner(CaptionerConfig.for_data(data, attention=attention, **{**TINY, **kw}))


# --- models ---------------------------------------------------------------------


def test_config_checks():
    with pytest.raises(ValueError, match="attention"):
        CaptionerConfig(vocab_size=10, attention="medium")
    with pytest.raises(ValueError, match="divisible"):
        CaptionerConfig(vocab_size=10, image_size=36)
    with pytest.raises(ValueError, match="hard_eval"):
        CaptionerConfig(vocab_size=10, hard_eval="mode")
    with pytest.raises(ValueError, match="channels"):
        CaptionerConfig(vocab_size=10, channels=())
    cfg = CaptionerConfig(vocab_size=10)
    assert cfg.grid == 4 and cfg.n_regions == 16
    with pytest.raises(ValueError, match="reward"):
        CaptionTrainConfig(reward="bleu")
    with pytest.raises(ValueError, match="steps"):
        CaptionTrainConfig(steps=0)


def test_encoder_gives_a_grid_of_regions_and_checks_its_input():
    enc = CNNEncoder(channels=(4, 8, 16), image_size=32)
    regions = enc(torch.rand(2, 3, 32, 32))
    assert regions.shape == (2, 16, 16)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        enc(torch.rand(2, 32, 32))
    with pytest.raises(ValueError, match="32 × 32"):
        enc(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match="floats"):
        enc(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


@pytest.mark.parametrize("kind, decoder", [("none", MeanPoolDecoder), ("soft", SoftAttentionDecoder),
                                           ("hard", HardAttentionDecoder)])
def test_forward_and_greedy_decode_shapes(data, kind, decoder):
    m = model(data, kind)
    assert isinstance(m.decoder, decoder)
    batch = caption_batch(data.test, data.vocab, [0, 1, 2])
    B, T = batch.tokens_in.shape
    out = m(batch.images, batch.tokens_in)
    assert out.logits.shape == (B, T, len(data.vocab))
    assert out.weights.shape == (B, T, 16)
    assert torch.allclose(out.weights.sum(-1), torch.ones(B, T), atol=1e-5)  # every row sums to 1
    assert (out.picked is None) == (kind != "hard")
    if kind == "none":
        assert torch.allclose(out.weights, torch.full_like(out.weights, 1 / 16))
    dec = m.greedy_decode(batch.images, max_len=5)
    assert dec.tokens.shape[0] == B and dec.tokens.shape[1] <= 5
    assert dec.weights.shape == (*dec.tokens.shape, 16)
    assert torch.allclose(dec.weights.sum(-1), torch.ones(dec.tokens.shape), atol=1e-5)


def test_hard_attention_samples_while_training_and_takes_the_argmax_in_eval(data):
    m = model(data, "hard")
    batch = caption_batch(data.test, data.vocab, list(range(8)))
    m.eval()
    out = m(batch.images, batch.tokens_in)
    assert torch.equal(out.picked, out.weights.argmax(-1))
    m.train()
    torch.manual_seed(0)
    picks = torch.stack([m(batch.images, batch.tokens_in).picked for _ in range(5)])
    assert not all(torch.equal(picks[0], p) for p in picks[1:])  # random choices
    # hard attention's z is exactly one region vector
    regions = m.encoder(batch.images)
    h, _ = m.decoder.init_state(regions)
    z, w, a = m.decoder.attend(h, regions)
    assert torch.equal(z, regions[torch.arange(8), a])


def test_forward_rejects_bad_tokens(data):
    m = model(data)
    images = data.test.pixels([0, 1])
    with pytest.raises(ValueError, match="tokens_in"):
        m(images, torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="batch sizes"):
        m(images, torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        m(images, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="max_len"):
        m.greedy_decode(images, max_len=0)


def test_caption_batch(data):
    b = caption_batch(data.test, data.vocab, [0, 20])
    v = data.vocab
    for row, i in enumerate([0, 20]):
        cap = data.test.captions[i]
        n = len(cap)
        assert v.decode(b.tokens_out[row].tolist()) == list(cap)
        assert b.tokens_in[row, 0] == v.bos_id and b.tokens_out[row, n] == v.eos_id
        assert (b.regions[row, :n].sum(-1) == 1).all() and not b.regions[row, n:].any()
        k = data.test.word_objects[i][0]
        r, c = data.test.cells[i, k]
        assert b.regions[row, 0, r * 4 + c]
    with pytest.raises(ValueError, match="at least one"):
        caption_batch(data.test, data.vocab, [])


# --- metrics ---------------------------------------------------------------------


def test_attention_correctness_by_hand():
    w = torch.tensor([[[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]]])  # (1, 3, 4)
    regions = torch.tensor([[[True, False, False, False], [False, True, False, False],
                             [False, False, False, False]]])  # the third word names nothing (<eos>)
    r = attention_correctness(w, regions)
    assert r["words"] == 2
    assert math.isclose(r["mass"], (0.7 + 0.25) / 2, abs_tol=1e-6)
    assert math.isclose(r["uniform"], 0.25)
    assert math.isclose(r["top1"], 0.5)  # word 1: arg-max on the object; word 2: a tie resolved to region 0
    with pytest.raises(ValueError, match="shape"):
        attention_correctness(w, regions[:, :2])
    with pytest.raises(ValueError, match="no word"):
        attention_correctness(w, torch.zeros_like(regions))


# --- training and evaluation (tiny smoke tests) ----------------------------------------


@pytest.mark.parametrize("kind", ["none", "soft", "hard"])
def test_training_reduces_the_loss_and_is_deterministic(data, kind):
    cfg = CaptionTrainConfig(steps=20, batch_size=16, progress=False, seed=0)
    m1 = model(data, kind)
    r1 = train_captioner(m1, data, cfg)
    assert r1.steps == 20 and len(r1.losses) == 20 and r1.steps_per_second > 0
    assert sum(r1.losses[-5:]) < sum(r1.losses[:5])
    m2 = model(data, kind)
    r2 = train_captioner(m2, data, cfg)
    assert r1.losses == r2.losses  # same seed, same batches, same samples: the same model
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))


def test_callback_and_evaluation(data):
    seen = []
    m = model(data, "soft")
    cfg = CaptionTrainConfig(steps=10, batch_size=16, progress=False, callback_every=4)
    train_captioner(m, data, cfg, callback=lambda step, mod: seen.append(step))
    assert seen == [4, 8, 10]
    res = evaluate_captioner(m, data)
    assert [r["objects"] for r in res["by_count"]] == [2, 3, 4]
    assert all(r["n"] == 8 for r in res["by_count"]) and res["overall"]["n"] == 24
    assert len(res["predictions"]) == len(data.test)
    att = res["attention"]
    assert math.isclose(att["uniform"], 1 / 16) and 0 <= att["mass"] <= 1 and 0 <= att["top1"] <= 1
    assert "exact" in format_caption_table({"soft": res})
    b = caption_batch(data.test, data.vocab, [0])
    assert caption_attention(m, b).shape == (1, b.tokens_in.shape[1], 16)


def test_a_callback_does_not_change_hard_attentions_samples(data):
    """The callback draws random numbers of its own; the trained model is the same with or without it."""
    cfg = CaptionTrainConfig(steps=6, batch_size=8, progress=False, seed=0, callback_every=2)
    quiet = model(data, "hard")
    train_captioner(quiet, data, cfg)
    busy = model(data, "hard")
    train_captioner(busy, data, cfg, callback=lambda step, m: torch.rand(100))
    assert all(torch.equal(p, q) for p, q in zip(quiet.parameters(), busy.parameters()))


def test_caption_train_config_is_a_train_config_with_the_captioners_schedule():
    cfg = CaptionTrainConfig(steps=400)
    assert isinstance(cfg, TrainConfig)
    assert (cfg.lr, cfg.lr_schedule, cfg.lr_final) == (6e-3, "cosine", 0.1)
    assert cfg.lr_at(1) == pytest.approx(6e-3) and cfg.lr_at(400) == pytest.approx(6e-4, rel=1e-3)


def test_train_rejects_a_mismatched_model(data):
    other = make_scene_data(SceneConfig(image_size=16, grid=2, object_size=7, n_train=10, n_test_per_count=2))
    m = model(data)
    with pytest.raises(ValueError, match="px"):
        train_captioner(m, other, CaptionTrainConfig(steps=1, progress=False))


def test_caption_breakdown():
    ref = [("red", "circle", "blue", "square")]
    b = caption_breakdown([("blue", "square", "red", "circle")], ref)  # right objects, wrong order
    assert b == {"length": 1.0, "colours": 1.0, "shapes": 1.0, "objects": 1.0, "exact": 0.0}
    b = caption_breakdown([("red", "square", "blue", "circle")], ref)  # shapes swapped between colours
    assert b["colours"] == b["shapes"] == 1.0 and b["objects"] == 0.0
    b = caption_breakdown([("red", "circle")], ref)
    assert b["length"] == 0.0
    with pytest.raises(ValueError, match="as many"):
        caption_breakdown([], ref)


def test_maps_and_view_examples_feed_the_image_view(data):
    from attnbook.widgets import ImageAttentionView

    soft, hard = model(data, "soft"), model(data, "hard", seed=1)
    maps = scene_attention_maps(soft, data, [0, 20])
    assert [m.shape for m in maps] == [(len(data.test.captions[i]), 4, 4) for i in (0, 20)]
    assert all(abs(m.sum(axis=(1, 2)) - 1).max() < 1e-5 for m in maps)
    hard_maps = scene_attention_maps(hard, data, [0])[0]
    assert set(np.unique(hard_maps)) <= {0.0, 1.0} and (hard_maps.sum(axis=(1, 2)) == 1).all()  # one region
    examples = caption_view_examples({"soft": soft, "hard": hard}, data, [0, 20])
    assert examples[0]["steps"] == list(data.test.captions[0]) and set(examples[0]["maps"]) == {"soft", "hard"}
    assert "soft says" in examples[0]["caption"] and "hard says" in examples[0]["caption"]
    view = ImageAttentionView.from_examples(examples, step_label="word")
    assert len(view.data["examples"]) == 2
    with pytest.raises(ValueError, match="indices"):
        scene_attention_maps(soft, data, [])


def test_chapter_two_figures(data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from attnbook.viz import attention_model_diagram, caption_attention_grid, playground_figure, scene_gallery

    figs = [attention_model_diagram(), scene_gallery(data.test, [0, 1, 2])]
    c = torch.tensor([1.0, 1.0])
    attn = AdditiveAttention(query_dim=2, key_dim=2, hidden_dim=4)
    figs.append(playground_figure(PLAYGROUND_POINTS, c, attention_playground(PLAYGROUND_POINTS, c, attention=attn),
                                  dot=attention_playground(PLAYGROUND_POINTS, c)))
    words = data.test.captions[0]
    maps = np.full((len(words), 4, 4), 1 / 16)
    figs.append(caption_attention_grid(data.test.images[0], words, {"uniform": maps}, boxes=[(0, 0)] * len(words),
                                       grid=4))
    assert all(hasattr(f, "savefig") for f in figs)
    with pytest.raises(ValueError, match="one per word"):
        caption_attention_grid(data.test.images[0], words, {"bad": maps[:1]})
    with pytest.raises(ValueError, match="n_inputs"):
        attention_model_diagram(n_inputs=1)
    with pytest.raises(ValueError, match="points"):
        playground_figure(torch.zeros(3, 3), c, {})
    plt.close("all")
