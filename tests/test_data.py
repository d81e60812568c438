"""attnbook.data: the shared Vocab and batching, and the length-controlled reorder task."""
from __future__ import annotations

import pytest
import torch

from attnbook.data import (
    LENGTH_BUCKETS,
    LEXICON,
    Example,
    ReorderConfig,
    Vocab,
    make_batch,
    make_reorder_data,
    pad_sequences,
    translate,
)
from attnbook.data.reorder import reorder_positions

EN2FR = dict(LEXICON)
SMALL = ReorderConfig(n_train=2000, n_test_per_bucket=50)


# --- Vocab and batching ------------------------------------------------------


def test_vocab_specials_and_round_trip():
    v = Vocab(["cat", "dog", "cat"])
    assert v.itos[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    assert len(v) == 6 and v.tokens == ["cat", "dog"]
    ids = v.encode(["dog", "cat"], add_bos=True, add_eos=True)
    assert ids == [1, 5, 4, 2]
    assert v.decode(ids) == ["dog", "cat"]
    assert v.decode(torch.tensor(ids + [0, 0])) == ["dog", "cat"]
    assert v.decode([4, 2, 5], stop_at_eos=False) == ["cat", "dog"]
    assert v.decode([1, 4], keep_specials=True) == ["<bos>", "cat"]
    assert v.encode(["cow"]) == [v.unk_id]
    assert "cat" in v and "cow" not in v


def test_vocab_rejects_strings():
    v = Vocab(["a", "b"])
    with pytest.raises(ValueError, match="split"):
        v.encode("a b")
    with pytest.raises(ValueError, match="split"):
        Vocab("abc")
    with pytest.raises(ValueError, match="1-D"):
        v.decode(torch.zeros(2, 2, dtype=torch.long))


def test_from_sentences_keeps_first_appearance_order():
    v = Vocab.from_sentences([["b", "a"], ["c", "a"]])
    assert v.tokens == ["b", "a", "c"]


def test_pad_sequences_and_encode_batch():
    ids, lengths = pad_sequences([[5, 6, 7], [8], []], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert lengths.tolist() == [3, 1, 0]
    assert ids.dtype == lengths.dtype == torch.long
    v = Vocab(["x", "y"])
    ids, lengths = v.encode_batch([["x"], ["y", "x"]], add_eos=True)
    assert ids.tolist() == [[4, 2, 0], [5, 4, 2]] and lengths.tolist() == [2, 3]
    with pytest.raises(ValueError, match="empty"):
        pad_sequences([])


def test_make_batch_shifts_the_target():
    data = make_reorder_data(SMALL, seed=0)
    examples = data.test[:5]
    b = make_batch(examples, data.src_vocab, data.tgt_vocab)
    B = len(examples)
    S = max(len(e.source) for e in examples)
    T = max(len(e.target) for e in examples) + 1
    assert b.src.shape == (B, S) and b.tgt_in.shape == b.tgt_out.shape == (B, T)
    assert b.src_lengths.tolist() == [len(e.source) for e in examples]
    assert b.tgt_lengths.tolist() == [len(e.target) + 1 for e in examples]
    assert torch.all(b.tgt_in[:, 0] == data.tgt_vocab.bos_id)
    for i, e in enumerate(examples):
        n = len(e.target)
        assert b.tgt_out[i, n].item() == data.tgt_vocab.eos_id
        assert torch.equal(b.tgt_in[i, 1:n + 1], b.tgt_out[i, :n])  # teacher forcing: shifted by one
        assert data.tgt_vocab.decode(b.tgt_out[i]) == list(e.target)
        assert data.src_vocab.decode(b.src[i]) == list(e.source)
    with pytest.raises(ValueError, match="at least one"):
        make_batch([], data.src_vocab, data.tgt_vocab)


def test_example_checks_alignment_length():
    with pytest.raises(ValueError, match="alignment"):
        Example(("a", "b"), ("x", "y"), (0,))


# --- the reorder task --------------------------------------------------------


def test_translation_reverses_and_translates():
    target, alignment = translate(["red", "cat", "sees", "old", "dog"])
    assert target == ["chien", "vieux", "voit", "chat", "rouge"]
    assert alignment == [4, 3, 2, 1, 0]
    assert translate(["cat", "dog", "cow"][:2], "identity") == (["chat", "chien"], [0, 1])
    assert reorder_positions(5, "swap_pairs") == [1, 0, 3, 2, 4]
    with pytest.raises(ValueError, match="lexicon"):
        translate(["cat", "unicorn"])
    with pytest.raises(ValueError, match="reorder"):
        reorder_positions(3, "shuffle")


def test_same_seed_same_data_other_seed_other_data():
    a = make_reorder_data(SMALL, seed=1)
    b = make_reorder_data(SMALL, seed=1)
    c = make_reorder_data(SMALL, seed=2)
    assert a.train == b.train and a.test == b.test
    assert a.train != c.train and a.test != c.test
    assert a.src_vocab.itos == c.src_vocab.itos  # vocabularies do not depend on the seed
    assert a.info["seed"] == 1


def test_seed_none_reads_the_environment(monkeypatch):
    monkeypatch.setenv("ATTNBOOK_SEED", "3")
    assert make_reorder_data(SMALL).test == make_reorder_data(SMALL, seed=3).test
    monkeypatch.setenv("ATTNBOOK_SEED", "-1")
    with pytest.raises(ValueError, match="non-negative"):
        make_reorder_data(SMALL)


@pytest.mark.parametrize("reorder", ["reverse", "identity", "swap_pairs"])
def test_alignment_is_the_ground_truth(reorder):
    data = make_reorder_data(ReorderConfig(reorder=reorder, n_train=500, n_test_per_bucket=30), seed=0)
    for e in data.train + data.test:
        assert len(e.target) == len(e.source) == len(e.alignment)
        assert sorted(e.alignment) == list(range(len(e.source)))  # a permutation: one-to-one
        for j, i in enumerate(e.alignment):
            assert e.target[j] == EN2FR[e.source[i]]
        if reorder == "reverse":
            assert list(e.alignment) == list(range(len(e.source) - 1, -1, -1))


def test_buckets_are_covered_and_splits_disjoint():
    cfg = ReorderConfig(n_train=3000, n_test_per_bucket=40)
    data = make_reorder_data(cfg, seed=0)
    assert data.info["buckets"] == LENGTH_BUCKETS == ((4, 10), (11, 20), (21, 30), (31, 40))
    assert len(data.test) == 4 * 40
    for lo, hi in LENGTH_BUCKETS:
        lengths = [len(e.source) for e in data.test if lo <= len(e.source) <= hi]
        assert len(lengths) == 40
        assert min(lengths) <= lo + 2 and max(lengths) >= hi - 2  # spread over the bucket
    train_lengths = {len(e.source) for e in data.train}
    assert train_lengths == set(range(4, 41))
    assert not {e.source for e in data.test} & {e.source for e in data.train}
    assert len({e.source for e in data.test}) == len(data.test)
    words = {en for en, _ in LEXICON[:24]}
    assert {w for e in data.train for w in e.source} == words
    assert len(data.src_vocab) == len(data.tgt_vocab) == 24 + 4


def test_buckets_are_clipped_to_the_length_range():
    cfg = ReorderConfig(min_len=6, max_len=15, n_train=100, n_test_per_bucket=10)
    assert cfg.active_buckets() == ((6, 10), (11, 15))
    data = make_reorder_data(cfg, seed=0)
    assert len(data.test) == 20
    assert all(6 <= len(e.source) <= 15 for e in data.train + data.test)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_words=0), "n_words"),
        (dict(n_words=len(LEXICON) + 1), "n_words"),
        (dict(min_len=5, max_len=4), "min_len"),
        (dict(reorder="shuffle"), "reorder"),
        (dict(n_train=0), "positive"),
        (dict(buckets=((50, 60),)), "overlaps"),
        (dict(buckets=((9, 5),)), "lo > hi"),
    ],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReorderConfig(**kwargs)


def test_too_few_distinct_test_sentences_is_an_error():
    with pytest.raises(ValueError, match="distinct"):
        make_reorder_data(ReorderConfig(n_words=2, min_len=1, max_len=2, buckets=((1, 2),), n_test_per_bucket=10))


# --- digits: pixel permutations and shifts -------------------------------------


def test_permute_pixels_moves_pixels_and_rejects_non_permutations():
    from attnbook.data.digits import permute_pixels

    img = torch.arange(2 * 16.0).reshape(1, 2, 4, 4)                # 2 channels
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    out = permute_pixels(img, perm)
    assert out.shape == img.shape
    for k in range(16):                                              # output pixel k = input pixel perm[k], each channel
        assert out[0, :, k // 4, k % 4].tolist() == img[0, :, perm[k] // 4, perm[k] % 4].tolist()
    inverse = torch.argsort(perm)
    assert torch.equal(permute_pixels(out, inverse), img)
    with pytest.raises(ValueError, match="permutation must have shape"):
        permute_pixels(img, torch.arange(15))
    with pytest.raises(ValueError, match="exactly once"):
        permute_pixels(img, torch.zeros(16, dtype=torch.long))
    with pytest.raises(ValueError, match="exactly once"):
        permute_pixels(img, torch.arange(16.0))                     # float indices
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        permute_pixels(torch.zeros(4, 4), torch.arange(16))


def test_patch_permutation_keeps_patches_whole():
    from attnbook.data.digits import patch_permutation, permute_pixels

    img = torch.arange(16.0).reshape(1, 1, 4, 4)
    out = permute_pixels(img, patch_permutation((4, 4), 2, [3, 0, 2, 1]))[0, 0]
    assert out[:2, :2].tolist() == [[10, 11], [14, 15]]              # output patch 0 = input patch 3
    assert out[:2, 2:].tolist() == [[0, 1], [4, 5]]                  # output patch 1 = input patch 0
    assert out[2:, :2].tolist() == [[8, 9], [12, 13]]                # patch 2 stays
    assert out[2:, 2:].tolist() == [[2, 3], [6, 7]]
    assert torch.equal(patch_permutation((4, 4), 2, [0, 1, 2, 3]), torch.arange(16))
    assert torch.equal(patch_permutation((4, 6), 1, list(range(24))), torch.arange(24))
    with pytest.raises(ValueError, match="order"):
        patch_permutation((4, 4), 2, [0, 1, 2, 2])
    with pytest.raises(ValueError, match="patch_size"):
        patch_permutation((4, 4), 3, [0])


def test_shift_images_moves_content_and_fills_with_zero():
    from attnbook.data.digits import shift_images

    img = torch.arange(1, 17.0).reshape(1, 1, 4, 4)
    down_left = shift_images(img, 1, -1)[0, 0]
    assert down_left[0].tolist() == [0, 0, 0, 0] and down_left[:, 3].tolist() == [0, 0, 0, 0]
    assert down_left[1:, :3].tolist() == img[0, 0, :3, 1:].tolist()
    assert torch.equal(shift_images(img, 0, 0), img)
    assert torch.equal(shift_images(shift_images(img, 0, 2), 0, -2)[..., :2], img[..., :2])
    dot = torch.zeros(3, 2, 8, 8)
    dot[:, :, 4, 4] = 1
    moved = shift_images(dot, -2, 3)
    assert (moved[:, :, 2, 7] == 1).all() and moved.sum() == dot.sum()
    with pytest.raises(ValueError, match="dy"):
        shift_images(img, 4, 0)
    with pytest.raises(ValueError, match="dx"):
        shift_images(img, 0, 1.5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        shift_images(torch.zeros(4, 4), 1, 1)
