"""The Vision Transformer (Dosovitskiy et al. 2021), a small CNN to compare it
with, and attention rollout (Abnar & Zuidema 2020).

::

    patchify(images, p)          (B, C, H, W) -> (B, N, C·p·p): the image as a sequence of patches
    PatchEmbedding               flattened patches -> (B, N, D) by one shared linear map
    VisionTransformer            [CLS] + patches + learned positions -> encoder -> classify from [CLS]
    SmallCNN                     two convolutions and a linear layer: the baseline with a built-in bias
    SmallMLP                     the pixels as one flat vector, two hidden layers: no notion of an image
    cls_attention(weights)       where [CLS] looks, per layer and head, over the patches
    attention_rollout(weights)   attention chained through the layers, residuals included
    position_similarity(model)   cosine similarity of the learned position embeddings (the paper's Fig. 7)
    occlusion_map(model, ...)    grey out each patch in turn: how much the true class's probability drops

The encoder is ``attnbook.transformer.TransformerEncoder`` with pre-norm
layers and GELU, as in ViT.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import Tensor, nn

from .checks import check_images, check_layer_weights, check_patch_size, check_positive_ints
from .train import TrainConfig, run_training
from .transformer import TransformerEncoder

__all__ = [
    "patchify",
    "PatchEmbedding",
    "ViTConfig",
    "VisionTransformer",
    "ViTOutput",
    "SmallCNN",
    "SmallMLP",
    "cls_attention",
    "attention_rollout",
    "position_similarity",
    "occlusion_map",
    "random_shift",
    "train_image_classifier",
    "predict_images",
]


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """Cut ``(B, C, H, W)`` images into non-overlapping ``p × p`` patches and flatten
    each one: ``(B, N, C·p·p)`` with ``N = (H/p)·(W/p)``. Patches are numbered in
    reading order (along the top row first); each is flattened channel by channel,
    and within a channel row by row."""
    check_images(images)
    check_patch_size(patch_size, *images.shape[2:])
    return rearrange(images, "b c (rows p1) (cols p2) -> b (rows cols) (c p1 p2)",
                     p1=patch_size, p2=patch_size)  # (B, N, C·p·p)


class PatchEmbedding(nn.Module):
    """Flattened patches -> D-dimensional tokens: one linear map shared by every patch
    (the same as a convolution with kernel and stride ``p``)."""

    def __init__(self, in_channels: int, patch_size: int, d_model: int):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Linear(in_channels * patch_size * patch_size, d_model)

    def forward(self, images: Tensor) -> Tensor:
        """``images (B, C, H, W)`` -> patch tokens ``(B, N, D)``."""
        return self.proj(patchify(images, self.patch_size))  # (B, N, D)


@dataclass
class ViTConfig:
    """Hyperparameters of a small Vision Transformer."""

    image_size: Tuple[int, int] = (8, 8)
    patch_size: int = 2
    in_channels: int = 1
    num_classes: int = 10
    d_model: int = 64
    depth: int = 2
    nhead: int = 4
    dim_feedforward: int = 128
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.image_size, int):
            self.image_size = (self.image_size, self.image_size)
        self.image_size = tuple(self.image_size)
        check_positive_ints(patch_size=self.patch_size, in_channels=self.in_channels, num_classes=self.num_classes,
                            d_model=self.d_model, depth=self.depth, nhead=self.nhead,
                            dim_feedforward=self.dim_feedforward)
        H, W = self.image_size
        if H % self.patch_size or W % self.patch_size:
            raise ValueError(f"image_size {H}×{W} is not divisible by patch_size={self.patch_size}")
        if self.d_model % self.nhead:
            raise ValueError(f"d_model={self.d_model} is not divisible by nhead={self.nhead}")

    @property
    def grid(self) -> Tuple[int, int]:
        """Patches per column and per row."""
        return self.image_size[0] // self.patch_size, self.image_size[1] // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]


class ViTOutput(NamedTuple):
    logits: Tensor  # (B, num_classes)
    weights: Tensor  # (L, B, H, 1 + N, 1 + N): every layer's attention, [CLS] at index 0


class VisionTransformer(nn.Module):
    """ViT: patches as words.

    ``images (B, C, H, W)`` -> patches ``(B, N, C·p·p)`` -> linear ``(B, N, D)`` ->
    prepend a learned ``[CLS]`` ``(B, 1 + N, D)`` -> add learned position
    embeddings -> pre-norm Transformer encoder -> LayerNorm -> linear head on
    ``[CLS]``. No convolution anywhere: the only thing the model knows about 2-D
    images is that patches exist.
    """

    def __init__(self, config: ViTConfig):
        super().__init__()
        self.config = config
        D = config.d_model
        self.patch_embed = PatchEmbedding(config.in_channels, config.patch_size, D)  # patches -> tokens
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))  # learnt, put in front of the patches
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + config.num_patches, D) * 0.02)  # learnt, one per token
        self.encoder = TransformerEncoder(config.depth, D, config.nhead, config.dim_feedforward, config.dropout,
                                          activation="gelu", norm_first=True)  # pre-norm layers, final LayerNorm
        self.head = nn.Linear(D, config.num_classes)  # reads the [CLS] token only

    def forward(self, images: Tensor) -> ViTOutput:
        """``images (B, C, H, W)`` -> ``ViTOutput(logits (B, num_classes), weights (L, B, H, 1 + N, 1 + N))``."""
        check_images(images, channels=self.config.in_channels, size=self.config.image_size)
        x = self.patch_embed(images)  # (B, N, D)
        cls = repeat(self.cls_token, "1 1 d -> b 1 d", b=x.shape[0])  # (B, 1, D)
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # (B, 1 + N, D): [CLS] first, then the patches
        x, weights = self.encoder(x)  # (B, 1 + N, D), (L, B, H, 1 + N, 1 + N)
        return ViTOutput(self.head(x[:, 0]), weights)  # classify from [CLS]: (B, num_classes)


class SmallCNN(nn.Module):
    """Two 3×3 convolutions (with ReLU, the second followed by 2×2 max pooling) and
    a linear classifier: locality and translation equivariance built in."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 32,
                 image_size: Tuple[int, int] = (8, 8)):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        H, W = image_size
        self.head = nn.Linear(width * (H // 2) * (W // 2), num_classes)
        self.in_channels, self.image_size = in_channels, (H, W)

    def forward(self, images: Tensor) -> ViTOutput:
        check_images(images, channels=self.in_channels, size=self.image_size)
        x = F.relu(self.conv1(images))  # (B, width, H, W)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, width, H/2, W/2)
        return ViTOutput(self.head(x.flatten(1)), torch.empty(0))  # flattened: (B, width·H/2·W/2)


class SmallMLP(nn.Module):
    """The image as one flat vector of ``C·H·W`` pixels, two hidden ReLU layers and a
    linear classifier. Nothing in it knows which pixels are neighbours: rearranging
    the pixels of every image the same way is, for this model, only a relabelling
    of its first layer's inputs. With the defaults it has about as many parameters
    as ``SmallCNN()`` on 8×8 digits (14,950 against 14,698)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, hidden: int = 90,
                 image_size: Tuple[int, int] = (8, 8)):
        super().__init__()
        H, W = image_size
        check_positive_ints(in_channels=in_channels, num_classes=num_classes, hidden=hidden, image_height=H,
                            image_width=W)
        self.fc1 = nn.Linear(in_channels * H * W, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, num_classes)
        self.in_channels, self.image_size = in_channels, (H, W)

    def forward(self, images: Tensor) -> ViTOutput:
        """``images (B, C, H, W)`` -> ``ViTOutput(logits (B, num_classes), empty weights)``."""
        check_images(images, channels=self.in_channels, size=self.image_size)
        x = F.relu(self.fc1(images.flatten(1)))  # (B, hidden)
        x = F.relu(self.fc2(x))  # (B, hidden)
        return ViTOutput(self.head(x), torch.empty(0))


def cls_attention(weights: Tensor) -> Tensor:
    """Where ``[CLS]`` (token 0) looks, over the patches: ``(L, B, H, N)``."""
    check_layer_weights(weights)
    return weights[..., 0, 1:]  # (L, B, H, N): row 0 ([CLS]), columns 1.. (the patches)


def attention_rollout(weights: Tensor, *, residual: bool = True) -> Tensor:
    """Abnar & Zuidema's attention rollout: how much each input token flows into
    each output token through all layers.

    ``weights (L, B, H, T, T)``, every layer's attention (first layer first).
    Per layer, average the heads, add the identity for the residual connection
    (``0.5 A + 0.5 I``) and renormalise the rows; then multiply the layers,
    ``R = A_L ⋯ A_1``. Returns ``R`` as ``(B, T, T)``; ``R[:, 0, 1:]`` is the
    rollout of ``[CLS]`` over the patches.
    """
    check_layer_weights(weights)
    L, B, H, T, _ = weights.shape
    eye = torch.eye(T, dtype=weights.dtype, device=weights.device)
    rollout = eye.expand(B, T, T)  # (B, T, T): before any layer, each token is itself
    for layer in range(L):
        a = weights[layer].mean(dim=1)  # (B, T, T): the heads averaged
        if residual:
            a = 0.5 * a + 0.5 * eye  # the skip path keeps half of each token
        a = a / a.sum(dim=-1, keepdim=True).clamp_min(1e-12)  # rows sum to 1 again
        rollout = a @ rollout  # (B, T, T): this layer acts after the ones before it
    return rollout


def position_similarity(model: VisionTransformer) -> Tensor:
    """Cosine similarity between the learned position embeddings of the patches
    (``[CLS]`` excluded): ``(N, N)``."""
    if not isinstance(model, VisionTransformer):
        raise TypeError(f"expected a VisionTransformer, got {type(model).__name__}")
    pos = F.normalize(model.pos_embed[0, 1:].detach(), dim=-1)  # (N, D)
    return pos @ pos.T


@torch.inference_mode()
def occlusion_map(model: nn.Module, images: Tensor, labels: Tensor, patch_size: int, *,
                  fill: Any = 0.0, batch_size: int = 1024) -> Tensor:
    """Occlusion sensitivity (Zeiler & Fergus 2014), one patch at a time.

    For each image ``(B, C, H, W)`` and each of its ``N`` non-overlapping ``p × p``
    patches (reading order, as :func:`patchify` numbers them), paint the patch
    with ``fill`` (a number, or one value per channel ``(C,)``, e.g. the
    background colour) and measure how much the model's probability of
    ``labels (B,)`` falls. Returns the drops ``(B, N)``: large where hiding the
    patch hurts the answer, near 0 (or negative) where it does not matter. It
    asks the model, not its attention, what the answer depends on. Runs in eval mode,
    on all ``(1 + N)·B`` images at once (in batches of ``batch_size``).
    """
    check_images(images)
    B, C, H, W = images.shape
    p = check_patch_size(patch_size, H, W)
    if not isinstance(labels, Tensor) or labels.shape != (B,):
        raise ValueError(f"labels must have shape (B,) = ({B},), got {tuple(getattr(labels, 'shape', ()))}")
    fill = torch.as_tensor(fill, dtype=images.dtype, device=images.device)
    if fill.dim() > 1 or (fill.dim() == 1 and fill.shape[0] != C):
        raise ValueError(f"fill must be a number or one value per channel ({C},), got shape {tuple(fill.shape)}")
    fill = fill.reshape(-1, 1, 1)  # (C or 1, 1, 1)
    rows, cols = H // p, W // p
    variants = [images]  # the original first, then one copy per hidden patch
    for n in range(rows * cols):
        r, c = divmod(n, cols)
        x = images.clone()
        x[:, :, r * p:(r + 1) * p, c * p:(c + 1) * p] = fill
        variants.append(x)
    stacked = torch.cat(variants)  # ((1 + N)·B, C, H, W)
    probs = predict_images(model, stacked, batch_size=batch_size)["probs"]  # ((1 + N)·B, classes)
    true = probs.reshape(1 + rows * cols, B, -1)[:, torch.arange(B), labels]  # (1 + N, B)
    return (true[0] - true[1:]).T  # (B, N)


def random_shift(images: Tensor, max_shift: int = 1, generator: Optional[torch.Generator] = None) -> Tensor:
    """Light augmentation: move each image by up to ``max_shift`` pixels in each
    direction, filling with zeros (the background of the digits)."""
    check_images(images)
    if max_shift == 0:
        return images
    B, C, H, W = images.shape
    m = max_shift
    padded = F.pad(images, (m, m, m, m))  # (B, C, H + 2m, W + 2m)
    dy = torch.randint(0, 2 * m + 1, (B,), generator=generator)
    dx = torch.randint(0, 2 * m + 1, (B,), generator=generator)
    rows = (dy[:, None] + torch.arange(H)[None, :]).to(images.device)  # (B, H)
    cols = (dx[:, None] + torch.arange(W)[None, :]).to(images.device)  # (B, W)
    b = torch.arange(B, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def train_image_classifier(model: nn.Module, images: Tensor, labels: Tensor, config: Optional[Any] = None, *,
                           augment: Optional[Callable[[Tensor, torch.Generator], Tensor]] = None, callback=None):
    """Train ``model`` (a ViT or the CNN) on ``images (N, C, H, W)``, ``labels (N,)``
    with the package's training loop (Adam, seeded batches, tqdm)."""
    config = config or TrainConfig()
    check_images(images)
    if not isinstance(labels, Tensor) or labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape (N,) = ({images.shape[0]},), got {tuple(getattr(labels, 'shape', ()))}")
    device = next(model.parameters()).device
    n = images.shape[0]

    def batch_loss(generator: torch.Generator) -> Tensor:
        idx = torch.randint(n, (config.batch_size,), generator=generator)
        x = images[idx]
        if augment is not None:
            x = augment(x, generator)
        return F.cross_entropy(model(x.to(device)).logits, labels[idx].to(device))

    return run_training(model, config, batch_loss, callback=callback)


@torch.inference_mode()
def predict_images(model: nn.Module, images: Tensor, batch_size: int = 512) -> Dict[str, Tensor]:
    """``{"pred": (N,), "probs": (N, C)}`` in eval mode."""
    check_images(images)
    model.eval()
    device = next(model.parameters()).device
    probs = torch.cat([model(images[a:a + batch_size].to(device)).logits.softmax(-1).cpu()
                       for a in range(0, images.shape[0], batch_size)])
    return {"pred": probs.argmax(-1), "probs": probs}
