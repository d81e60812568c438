"""attnbook.data.scenes: seeded scenes of coloured shapes with per-object ground truth."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from attnbook.data import COLOURS, SHAPES, SceneConfig, make_scene_data, make_scenes, shape_stamp

SMALL = SceneConfig(n_train=300, n_test_per_count=20)


@pytest.fixture(scope="module")
def data():
    return make_scene_data(SMALL, seed=0)


def test_shapes_of_the_arrays(data):
    s = data.train
    N, K, H = len(s), SMALL.max_objects, SMALL.image_size
    assert s.images.shape == (N, H, H, 3) and s.images.dtype == np.uint8
    assert s.masks.shape == (N, K, H, H) and s.masks.dtype == bool
    assert s.colours.shape == s.shapes.shape == (N, K)
    assert s.cells.shape == (N, K, 2)
    assert s.n_objects.shape == (N,)
    assert len(s.captions) == len(s.word_objects) == N
    assert s.pixels().shape == (N, 3, H, H) and s.pixels().dtype == torch.float32
    assert float(s.pixels().max()) <= 1.0


def test_test_split_has_every_count_and_no_training_scene(data):
    by_count = data.test_by_count()
    assert sorted(by_count) == [2, 3, 4]
    assert all(len(ix) == SMALL.n_test_per_count for ix in by_count.values())
    train = {data.train.images[i].tobytes() for i in range(len(data.train))}
    assert not any(data.test.images[i].tobytes() in train for i in range(len(data.test)))


def test_captions_name_the_objects_in_reading_order(data):
    s = data.train
    cfg = SMALL
    for i in range(len(s)):
        n = int(s.n_objects[i])
        assert cfg.min_objects <= n <= cfg.max_objects
        cap, owners = s.captions[i], s.word_objects[i]
        assert len(cap) == len(owners) == 2 * n
        cells = [tuple(s.cells[i, k]) for k in range(n)]
        assert cells == sorted(cells)  # reading order: row, then column
        assert len(set(cells)) == n  # one object per cell
        for j, (word, k) in enumerate(zip(cap, owners)):
            expected = cfg.colours[s.colours[i, k]] if j % 2 == 0 else cfg.shapes[s.shapes[i, k]]
            assert word == expected
        assert (s.colours[i, n:] == -1).all() and not s.masks[i, n:].any()


def test_masks_lie_in_their_cell_and_have_the_object_colour(data):
    s = data.train
    cell = SMALL.cell_size
    for i in range(20):
        for k in range(int(s.n_objects[i])):
            ys, xs = np.nonzero(s.masks[i, k])
            r, c = s.cells[i, k]
            assert ys.min() >= r * cell and ys.max() < (r + 1) * cell
            assert xs.min() >= c * cell and xs.max() < (c + 1) * cell
            rgb = COLOURS[SMALL.colours[s.colours[i, k]]]
            assert (s.images[i][s.masks[i, k]] == rgb).all()


def test_region_masks_and_word_regions(data):
    s = data.train
    regions = s.region_masks()  # (N, K, 4, 4)
    assert regions.shape == (len(s), SMALL.max_objects, 4, 4)
    real = s.colours >= 0
    assert (regions.sum(axis=(2, 3))[real] == 1).all()  # each object touches exactly its cell
    r, c = s.cells[0, 0]
    assert regions[0, 0, r, c]
    fine = s.region_masks(8)  # a finer grid (e.g. ViT patches): more regions per object
    assert (fine.sum(axis=(2, 3))[real] >= 1).all()
    words = s.word_regions()  # (N, L, 16)
    assert words.shape == (len(s), 2 * SMALL.max_objects, 16)
    for i in range(10):
        n = len(s.captions[i])
        assert (words[i, :n].sum(-1) == 1).all() and not words[i, n:].any()
    with pytest.raises(ValueError, match="divisor"):
        s.region_masks(5)


def test_deterministic_for_a_seed_and_different_across_seeds():
    a = make_scene_data(SMALL, seed=3)
    b = make_scene_data(SMALL, seed=3)
    c = make_scene_data(SMALL, seed=4)
    assert np.array_equal(a.train.images, b.train.images) and a.test.captions == b.test.captions
    assert not np.array_equal(a.train.images, c.train.images)


def test_seed_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("ATTNBOOK_SEED", "2")
    assert make_scenes(SMALL, 5).captions == make_scenes(SMALL, 5, seed=2).captions


def test_make_scenes_with_a_fixed_count_and_indexing():
    s = make_scenes(SMALL, 6, n_objects=3, seed=0)
    assert len(s) == 6 and (s.n_objects == 3).all()
    sub = s[[1, 3]]
    assert len(sub) == 2 and sub.captions == [s.captions[1], s.captions[3]]
    assert s[2].captions == [s.captions[2]]
    assert "row" in s.describe(0)


def test_vocab_holds_colours_then_shapes(data):
    assert data.vocab.tokens == list(SMALL.colours + SMALL.shapes)


def test_shape_stamps():
    for shape in SHAPES:
        st = shape_stamp(shape, 7)
        assert st.shape == (7, 7) and st.dtype == bool and 10 <= st.sum() <= 49
    assert shape_stamp("square", 7).all()
    assert not np.array_equal(shape_stamp("circle", 7), shape_stamp("square", 7))
    with pytest.raises(ValueError, match="unknown shape"):
        shape_stamp("star", 7)
    with pytest.raises(ValueError, match="size"):
        shape_stamp("circle", 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(image_size=30), "multiple of grid"),
        (dict(object_size=9), "larger than a cell"),
        (dict(max_objects=17), "max_objects"),
        (dict(min_objects=3, max_objects=2), "min_objects"),
        (dict(colours=("red", "pink")), "unknown colours"),
        (dict(shapes=("square", "square")), "duplicates"),
        (dict(order="random"), "order"),
        (dict(n_train=0), "n_train"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SceneConfig(**kwargs)


def test_make_scenes_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be"):
        make_scenes(SMALL, 0)
    with pytest.raises(ValueError, match="n_objects"):
        make_scenes(SMALL, 2, n_objects=20)
