"""Chapter 6's Vision Transformer, CNN baseline, rollout and the digits data."""
import numpy as np
import pytest
import torch

from attnbook.data.digits import load_digits_data, subset
from attnbook.train import TrainConfig
from attnbook.vit import (SmallCNN, SmallMLP, ViTConfig, ViTOutput, VisionTransformer, attention_rollout,
                          cls_attention, occlusion_map, patchify, position_similarity, predict_images, random_shift,
                          train_image_classifier)


def test_patchify_reading_order():
    img = torch.arange(16.0).reshape(1, 1, 4, 4)
    p = patchify(img, 2)
    assert p.shape == (1, 4, 4)
    assert p[0, 0].tolist() == [0, 1, 4, 5] and p[0, 1].tolist() == [2, 3, 6, 7]
    assert p[0, 3].tolist() == [10, 11, 14, 15]
    rgb = torch.randn(2, 3, 6, 6)
    assert patchify(rgb, 3).shape == (2, 4, 27)
    with pytest.raises(ValueError, match="divisible"):
        patchify(img, 3)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        patchify(torch.zeros(4, 4), 2)


def test_vit_shapes_and_errors():
    torch.manual_seed(0)
    model = VisionTransformer(ViTConfig(patch_size=2, d_model=32, depth=3, nhead=4))
    out = model(torch.rand(5, 1, 8, 8))
    assert out.logits.shape == (5, 10) and out.weights.shape == (3, 5, 4, 17, 17)
    assert torch.allclose(out.weights.sum(-1), torch.ones(3, 5, 4, 17), atol=1e-5)
    assert cls_attention(out.weights).shape == (3, 5, 4, 16)
    sim = position_similarity(model)
    assert sim.shape == (16, 16) and torch.allclose(torch.diagonal(sim), torch.ones(16), atol=1e-5)
    with pytest.raises(ValueError, match="8×8"):
        model(torch.rand(2, 1, 16, 16))
    with pytest.raises(ValueError, match="channel"):
        model(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="divisible"):
        ViTConfig(image_size=(8, 8), patch_size=3)
    with pytest.raises(TypeError):
        position_similarity(SmallCNN())


def test_rollout_rows_are_distributions_and_identity_without_attention():
    torch.manual_seed(0)
    w = torch.rand(2, 3, 4, 5, 5).softmax(-1)
    r = attention_rollout(w)
    assert r.shape == (3, 5, 5) and torch.allclose(r.sum(-1), torch.ones(3, 5), atol=1e-5)
    eye = torch.eye(5).expand(2, 3, 4, 5, 5)
    assert torch.allclose(attention_rollout(eye), torch.eye(5).expand(3, 5, 5))
    # one layer without the residual: rollout = the head-averaged attention
    assert torch.allclose(attention_rollout(w[:1], residual=False), w[0].mean(1), atol=1e-6)
    with pytest.raises(ValueError, match="L, B, H, T, T"):
        attention_rollout(torch.rand(3, 5, 5))


def test_random_shift_moves_content():
    g = torch.Generator().manual_seed(0)
    img = torch.zeros(50, 1, 8, 8)
    img[:, 0, 4, 4] = 1
    out = random_shift(img, 1, g)
    assert out.shape == img.shape and torch.allclose(out.sum((1, 2, 3)), torch.ones(50))
    where = out[:, 0].flatten(1).argmax(1)
    rows, cols = where // 8, where % 8
    assert ((rows - 4).abs() <= 1).all() and ((cols - 4).abs() <= 1).all()
    assert len(set(where.tolist())) > 1


def test_digits_split_and_subset():
    d = load_digits_data()
    assert d.train_images.shape[1:] == (1, 8, 8) and len(d.train_images) + len(d.test_images) == 1797
    assert abs(len(d.test_images) / 1797 - 0.3) < 0.01
    assert 0 <= d.train_images.min() and d.train_images.max() <= 1
    small = subset(d, 0.1, seed=1)
    assert abs(len(small.train_images) - 0.1 * len(d.train_images)) < 10
    assert set(small.train_labels.tolist()) == set(range(10))
    big = subset(d, 0.5, seed=1)
    as_set = lambda x: {tuple(v.flatten().tolist()) for v in x}
    assert as_set(small.train_images) <= as_set(big.train_images)
    with pytest.raises(ValueError, match="fraction"):
        subset(d, 0)


@pytest.mark.parametrize("kind", ["vit", "cnn", "mlp"])
def test_models_learn_digits(kind):
    d = load_digits_data()
    torch.manual_seed(0)
    model = {"vit": lambda: VisionTransformer(ViTConfig(patch_size=4, d_model=32, depth=1)),
             "cnn": lambda: SmallCNN(width=16), "mlp": lambda: SmallMLP(hidden=32)}[kind]()
    train_image_classifier(model, d.train_images, d.train_labels,
                           TrainConfig(steps=150, batch_size=64, lr=3e-3, progress=False),
                           augment=lambda x, g: random_shift(x, 1, g))
    acc = (predict_images(model, d.test_images)["pred"] == d.test_labels).float().mean().item()
    assert acc > 0.6


def test_shape_colour_task_ground_truth():
    from attnbook.data.scenes import SceneConfig, make_scenes, shape_colour_task
    scenes = make_scenes(SceneConfig(), 200, seed=0)
    task = shape_colour_task(scenes, "circle")
    n = len(task.labels)
    assert 0 < n < 200 and task.images.shape == (n, 3, 32, 32)
    c = SceneConfig().shapes.index("circle")
    assert ((task.scenes.shapes == c).sum(1) == 1).all()
    for i in range(min(n, 20)):
        r, col = divmod(int(task.cells[i]), 4)
        ys, xs = np.nonzero(task.masks[i].numpy())
        assert (ys // 8 == r).all() and (xs // 8 == col).all()     # the object lies in its cell (= one patch)
        k = int(np.flatnonzero(task.scenes.shapes[i] == c)[0])
        assert task.labels[i] == task.scenes.colours[i, k]
    sided = shape_colour_task(scenes, "circle", side=True)
    assert len(sided.label_names) == 8 and torch.equal(sided.labels // 2, task.labels)
    assert torch.equal(sided.labels % 2, (task.cells % 4 >= 2).long())
    with pytest.raises(ValueError, match="not drawn"):
        shape_colour_task(scenes, "diamond")


def test_small_mlp_shapes_and_errors():
    model = SmallMLP(in_channels=3, num_classes=7, hidden=16, image_size=(4, 6))
    out = model(torch.rand(5, 3, 4, 6))
    assert out.logits.shape == (5, 7) and out.weights.numel() == 0
    assert sum(p.numel() for p in model.parameters()) == (72 * 16 + 16) + (16 * 16 + 16) + (16 * 7 + 7)
    with pytest.raises(ValueError, match="channel"):
        model(torch.rand(5, 1, 4, 6))
    with pytest.raises(ValueError, match="hidden"):
        SmallMLP(hidden=0)
    n = lambda m: sum(p.numel() for p in m.parameters())
    assert (n(SmallMLP()), n(SmallCNN())) == (14950, 14698)      # the sizes the docstring states


def test_permuting_the_inputs_is_a_relabelling_for_the_mlp_and_for_vit_patches():
    """The reason a fixed permutation cannot hurt these models: it is undone by
    permuting their first layer's inputs (MLP) or their position embeddings (ViT)."""
    from attnbook.data.digits import patch_permutation, permute_pixels

    torch.manual_seed(0)
    x = torch.rand(6, 1, 8, 8)
    pix = torch.randperm(64)
    mlp = SmallMLP(hidden=16)
    twin = SmallMLP(hidden=16)
    twin.load_state_dict(mlp.state_dict())
    with torch.no_grad():
        twin.fc1.weight[:] = mlp.fc1.weight[:, pix]          # input k of the twin is pixel pix[k]
    assert torch.allclose(twin(permute_pixels(x, pix)).logits, mlp(x).logits, atol=1e-5)

    order = torch.randperm(16)
    vit = VisionTransformer(ViTConfig(patch_size=2, d_model=32, depth=2, nhead=4, dim_feedforward=32)).eval()
    twin = VisionTransformer(vit.config).eval()
    twin.load_state_dict(vit.state_dict())
    with torch.no_grad():
        twin.pos_embed[0, 1:] = vit.pos_embed[0, 1:][order]   # patch k of the twin is patch order[k]
    moved = permute_pixels(x, patch_permutation((8, 8), 2, order))
    assert torch.allclose(twin(moved).logits, vit(x).logits, atol=1e-5)
    # ... but a permutation of single pixels splits the ViT's patches: no such relabelling exists
    assert not torch.allclose(vit(permute_pixels(x, pix)).logits, vit(x).logits, atol=1e-3)


def test_occlusion_map_matches_a_loop_and_finds_the_deciding_patch():
    torch.manual_seed(0)
    model = SmallCNN(in_channels=3, num_classes=4, width=8, image_size=(8, 8))
    images, labels = torch.rand(5, 3, 8, 8), torch.randint(4, (5,))
    fill = torch.tensor([0.2, 0.5, 0.9])
    drops = occlusion_map(model, images, labels, 4, fill=fill)
    assert drops.shape == (5, 4)
    with torch.no_grad():
        base = model(images).logits.softmax(-1)[torch.arange(5), labels]
        for n in range(4):
            r, c = divmod(n, 2)
            x = images.clone()
            x[:, :, 4 * r:4 * r + 4, 4 * c:4 * c + 4] = fill[:, None, None]
            ref = base - model(x).logits.softmax(-1)[torch.arange(5), labels]
            assert torch.allclose(drops[:, n], ref, atol=1e-5)

    class LooksAtPatch2(torch.nn.Module):      # says class 1 when the top-left pixel of patch 2 (bottom left) is bright
        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            v = x[:, 0, 4, 0]
            return ViTOutput(torch.stack([-10 * v, 10 * v], 1), torch.empty(0))

    toy = LooksAtPatch2()
    img = torch.zeros(3, 1, 8, 8)
    img[:, 0, 4, 0] = 1
    d = occlusion_map(toy, img, torch.ones(3, dtype=torch.long), 4)
    assert d.argmax(1).tolist() == [2, 2, 2] and torch.allclose(d[:, [0, 1, 3]], torch.zeros(3, 3))
    with pytest.raises(ValueError, match="patch_size"):
        occlusion_map(model, images, labels, 3)
    with pytest.raises(ValueError, match="labels"):
        occlusion_map(model, images, labels[:3], 4)
    with pytest.raises(ValueError, match="fill"):
        occlusion_map(model, images, labels, 4, fill=torch.zeros(2))
