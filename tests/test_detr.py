"""DETR on the scenes: boxes, matching, the model's shapes, the set loss, and what the evaluators count."""
from itertools import permutations

import numpy as np
import pytest
import torch

from attnbook.data.scenes import SceneConfig, make_scene_data, make_scenes
from attnbook.detr import (
    Detr,
    DetrConfig,
    box_cxcywh_to_xyxy,
    box_iou,
    detect,
    evaluate_detection,
    generalized_box_iou,
    hungarian_match,
    match_batch,
    matching_cost,
    pretrain_backbone,
    query_attention_on_objects,
    query_specialisation,
    region_labels,
    scene_targets,
    set_loss,
    spatial_positions,
    train_detr,
)
from attnbook.train import TrainConfig


@pytest.fixture(scope="module")
def data():
    return make_scene_data(SceneConfig(n_train=256, n_test_per_count=8), seed=3)


def test_scene_targets_boxes_hold_exactly_the_object_pixels(data):
    scenes = data.test
    t = scene_targets(scenes)
    H = scenes.images.shape[1]
    for i in range(len(scenes)):
        for k in range(scenes.masks.shape[1]):
            if scenes.colours[i, k] < 0:
                assert t.classes[i, k] == -1
                continue
            ys, xs = np.nonzero(scenes.masks[i, k])
            x0, y0, x1, y1 = (box_cxcywh_to_xyxy(t.boxes[i, k]) * H).round().long().tolist()
            assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            name = t.names[t.classes[i, k]]
            assert name == f"{scenes.config.colours[scenes.colours[i, k]]} {scenes.config.shapes[scenes.shapes[i, k]]}"
    assert t.n_objects.tolist() == scenes.n_objects.tolist()


def test_iou_and_giou_against_hand_computed_values():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [4.0, 0.0, 5.0, 1.0]])
    iou, _ = box_iou(a, b)
    assert torch.allclose(iou, torch.tensor([[1 / 7, 1.0, 0.0]]))
    giou = generalized_box_iou(a, b)
    # enclosing boxes: 3x3 = 9 (union 7), 2x2 (union 4), 5x2 = 10 (union 4 + 1 = 5)
    assert torch.allclose(giou, torch.tensor([[1 / 7 - 2 / 9, 1.0, 0.0 - 5 / 10]]))


def test_hungarian_match_is_the_cheapest_assignment():
    g = torch.Generator().manual_seed(0)
    for Q, K in [(1, 1), (3, 2), (4, 4), (6, 3), (6, 4)]:
        for _ in range(5):
            cost = torch.randn(Q, K, generator=g)
            rows, cols = hungarian_match(cost)
            best = min(float(cost[list(qs), list(range(K))].sum()) for qs in permutations(range(Q), K))
            assert float(cost[rows, cols].sum()) == pytest.approx(best)
    with pytest.raises(ValueError, match="at least as many queries"):
        hungarian_match(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="NaN"):
        hungarian_match(torch.tensor([[float("nan")]]))


def test_matching_cost_of_a_batch_equals_one_image_at_a_time():
    g = torch.Generator().manual_seed(1)
    logits, boxes = torch.randn(3, 5, 7, generator=g), torch.rand(3, 5, 4, generator=g) * 0.5 + 0.2
    classes = torch.tensor([[0, 3, -1], [2, -1, -1], [1, 1, 6]])
    true = torch.rand(3, 3, 4, generator=g) * 0.5 + 0.2
    batch = matching_cost(logits, boxes, classes, true)
    for b in range(3):
        k = int((classes[b] >= 0).sum())
        assert torch.allclose(batch[b, :, :k], matching_cost(logits[b], boxes[b], classes[b, :k], true[b, :k]))


def test_set_loss_ignores_the_order_of_the_objects_and_rewards_a_perfect_answer(data):
    t = scene_targets(data.train[:8])
    Q, C = 6, len(t.names)
    g = torch.Generator().manual_seed(2)
    logits, boxes = torch.randn(8, Q, C + 1, generator=g), torch.rand(8, Q, 4, generator=g) * 0.6 + 0.2
    loss = set_loss(logits, boxes, t.classes, t.boxes, t.n_objects)
    perm = torch.tensor([2, 0, 3, 1])
    shuffled = []
    for b in range(8):  # the same objects listed in another order (padding stays at the end)
        n = int(t.n_objects[b])
        p = perm[perm < n]
        shuffled.append(torch.cat([p, torch.arange(n, 4)]))
    order = torch.stack(shuffled)
    loss2 = set_loss(logits, boxes, t.classes.gather(1, order), t.boxes.gather(1, order[..., None].expand(-1, -1, 4)),
                     t.n_objects)
    assert torch.allclose(loss, loss2)
    # a perfect answer: the objects in the first slots, confidently; "no object" elsewhere
    perfect_logits = torch.full((8, Q, C + 1), -20.0)
    perfect_boxes = torch.full((8, Q, 4), 0.5)
    for b in range(8):
        n = int(t.n_objects[b])
        perfect_logits[b, torch.arange(n), t.classes[b, :n]] = 20.0
        perfect_logits[b, n:, C] = 20.0
        perfect_boxes[b, :n] = t.boxes[b, :n]
    assert set_loss(perfect_logits, perfect_boxes, t.classes, t.boxes, t.n_objects) < 1e-4 < float(loss)
    matches = match_batch(perfect_logits, perfect_boxes, t.classes, t.boxes, t.n_objects)
    assert all(sorted(q.tolist()) == list(range(int(n))) for (q, _), n in zip(matches, t.n_objects))


def test_detr_shapes_attention_rows_and_bad_input():
    torch.manual_seed(0)
    model = Detr(DetrConfig(num_queries=5))
    out = model(torch.rand(3, 3, 32, 32))
    L, N = model.config.num_decoder_layers, model.config.grid ** 2
    assert out.logits.shape == (L, 3, 5, 17) and out.boxes.shape == (L, 3, 5, 4)
    assert out.cross_weights.shape == (L, 3, model.config.nhead, 5, N)
    assert torch.allclose(out.cross_weights.sum(-1), torch.ones(()))
    assert ((out.boxes > 0) & (out.boxes < 1)).all()
    assert spatial_positions(4, 64).shape == (16, 64)
    assert len({tuple(r) for r in spatial_positions(4, 64).round(decimals=4).tolist()}) == 16  # all positions differ
    with pytest.raises(ValueError, match="32×32"):
        model(torch.rand(2, 3, 28, 28))
    with pytest.raises(ValueError, match="channel"):
        model(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="stride"):
        DetrConfig(stride=5)
    with pytest.raises(ValueError, match="num_queries"):
        DetrConfig(num_queries=0)
    with pytest.raises(ValueError, match="num_encoder_layers"):
        DetrConfig(num_encoder_layers=-1)
    with pytest.raises(ValueError, match="layer"):
        detect(model, torch.rand(1, 3, 32, 32), layer=2)
    with pytest.raises(ValueError, match="DetrConfig or fields"):
        Detr(DetrConfig(), d_model=32)
    assert Detr(DetrConfig(num_encoder_layers=0))(torch.rand(1, 3, 32, 32)).encoder_weights.shape[0] == 0


def test_region_labels_name_each_objects_regions(data):
    scenes = data.test
    labels = region_labels(scenes, 4)
    t = scene_targets(scenes)
    for i in range(len(scenes)):
        for k in range(int(t.n_objects[i])):
            r, c = scenes.cells[i, k]
            assert labels[i, r * 4 + c] == t.classes[i, k]
        assert (labels[i] != len(t.names)).sum() == t.n_objects[i]
    with pytest.raises(ValueError, match="multiple of the scene grid"):
        region_labels(scenes, 2)


def test_training_lowers_the_set_loss_and_the_evaluators_count(data):
    torch.manual_seed(0)
    model = Detr(DetrConfig(d_model=32, nhead=2, dim_feedforward=64))
    pre = pretrain_backbone(model, data, TrainConfig(steps=30, batch_size=32, lr=3e-3, progress=False, seed=0))
    assert pre.losses[-1] < pre.losses[0]
    run = train_detr(model, data, TrainConfig(steps=40, batch_size=16, lr=2e-3, progress=False, seed=0))
    assert np.mean(run.losses[-10:]) < np.mean(run.losses[:5])
    result = evaluate_detection(model, data.test)
    assert result["n_objects"] == int(data.test.n_objects.sum())
    for key in ("matched_accuracy", "box_iou", "found", "no_object_accuracy", "scenes_right"):
        assert 0.0 <= result[key] <= 1.0
    for q_of_object, object_of_query in result["per_scene"]:
        assert [object_of_query[q] for q in q_of_object] == list(range(len(q_of_object)))
    looks = query_attention_on_objects(data.test, result["detections"], result["per_scene"])
    assert looks["chance"] == pytest.approx(1 / 16) and looks["n"] == result["n_objects"]
    with pytest.raises(ValueError, match="Detr"):
        train_detr(torch.nn.Linear(2, 2), data, TrainConfig(steps=1))
    with pytest.raises(ValueError, match="queries"):
        train_detr(Detr(DetrConfig(num_queries=2)), data, TrainConfig(steps=1))


def test_query_specialisation_sees_a_slot_that_keeps_to_one_quadrant():
    scenes = make_scenes(SceneConfig(), 40, n_objects=2, seed=0)
    grid = scenes.config.grid
    # slot q always finds the first object, when it lies in quadrant q: a perfect specialist by place
    per_scene = [([int(2 * (r >= grid // 2) + (c >= grid // 2))], []) for r, c in scenes.cells[:, 0]]
    spec = query_specialisation(scenes, per_scene, 4)
    assert spec["quadrant"] == 1.0 > spec["quadrant_pooled"]
    assert spec["colour"] < 0.8
