"""scikit-learn's bundled handwritten digits (1,797 images of 8×8 pixels), as tensors.

Nothing is downloaded: the data ship inside scikit-learn. The train/test split
is fixed (30 % test, stratified by class, split seed 0) so that every chapter
and every ``ATTNBOOK_SEED`` evaluates on the same images; :func:`subset` draws
a seeded, class-balanced fraction of the training set.

Three transformations test what a model assumes about images:
:func:`permute_pixels` rearranges every image's pixels by one fixed
permutation (:func:`patch_permutation` builds one that moves whole patches and
keeps each patch intact), and :func:`shift_images` moves the digits by a few
pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .. import resolve_seed
from ..checks import check_patch_size

__all__ = ["DigitsData", "load_digits_data", "subset", "permute_pixels", "patch_permutation", "shift_images"]


@dataclass
class DigitsData:
    train_images: Tensor  # (N, 1, 8, 8) float, pixel values scaled to 0..1
    train_labels: Tensor  # (N,) int 0..9
    test_images: Tensor
    test_labels: Tensor


def load_digits_data(test_fraction: float = 0.3) -> DigitsData:
    """The digits, split once and for all (stratified, split seed 0)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    images = d.images.astype(np.float32) / 16.0  # (1797, 8, 8), values 0..16 -> 0..1
    tr_x, te_x, tr_y, te_y = train_test_split(images, d.target, test_size=test_fraction, random_state=0,
                                              stratify=d.target)
    as_t = lambda x: torch.from_numpy(np.ascontiguousarray(x))[:, None]  # (N, 1, 8, 8)
    return DigitsData(as_t(tr_x), torch.from_numpy(tr_y).long(), as_t(te_x), torch.from_numpy(te_y).long())


def subset(data: DigitsData, fraction: float, *, seed: Optional[int] = None) -> DigitsData:
    """A class-balanced ``fraction`` of the training images (the test set unchanged).

    Seeded (``seed=None`` reads ``ATTNBOOK_SEED``); smaller fractions of one seed
    are contained in larger ones, so a learning curve adds data instead of
    redrawing it.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    g = torch.Generator().manual_seed(resolve_seed(seed))
    keep = []
    for c in range(10):
        idx = torch.nonzero(data.train_labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        keep.append(idx[: max(1, round(fraction * len(idx)))])
    keep = torch.cat(keep).sort().values
    return DigitsData(data.train_images[keep], data.train_labels[keep], data.test_images, data.test_labels)


def _check_image_batch(images: Any) -> None:
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a (N, C, H, W) tensor, got shape {tuple(getattr(images, 'shape', ()))}")


def permute_pixels(images: Tensor, permutation: Tensor) -> Tensor:
    """Rearrange the pixels of every image by one fixed permutation.

    ``images (N, C, H, W)``; ``permutation (H·W,)`` holds every pixel index
    ``0 .. H·W - 1`` (reading order) once. Output pixel ``k`` is input pixel
    ``permutation[k]``, in every channel: ``(N, C, H, W)``. The same permutation
    applied to training and test images keeps all the information in them and
    destroys only which pixels are neighbours.
    """
    _check_image_batch(images)
    N, C, H, W = images.shape
    if not isinstance(permutation, Tensor) or permutation.shape != (H * W,):
        raise ValueError(f"permutation must have shape (H·W,) = ({H * W},) for {H}×{W} images, "
                         f"got {tuple(getattr(permutation, 'shape', ()))}")
    if permutation.dtype not in (torch.int64, torch.int32) or not torch.equal(
            permutation.sort().values.long(), torch.arange(H * W)):
        raise ValueError(f"permutation must hold each pixel index 0..{H * W - 1} exactly once")
    flat = images.reshape(N, C, H * W)  # (N, C, H·W)
    return flat[:, :, permutation.long()].reshape(N, C, H, W)


def patch_permutation(image_size: Tuple[int, int], patch_size: int, order: Sequence[int]) -> Tensor:
    """The pixel permutation (for :func:`permute_pixels`) that moves whole patches.

    The ``H × W`` image is cut into ``p × p`` patches, numbered in reading order;
    patch ``k`` of the output is patch ``order[k]`` of the input, its pixels kept
    in place. Returns ``(H·W,)`` pixel indices.
    """
    H, W = image_size
    p = check_patch_size(patch_size, H, W)
    rows, cols = H // p, W // p
    order = torch.as_tensor(order).long()
    if order.shape != (rows * cols,) or not torch.equal(order.sort().values, torch.arange(rows * cols)):
        raise ValueError(f"order must hold each patch index 0..{rows * cols - 1} exactly once, "
                         f"got {order.tolist()}")
    index = torch.arange(H * W).reshape(rows, p, cols, p).permute(0, 2, 1, 3)  # (rows, cols, p, p) pixel ids
    index = index.reshape(rows * cols, p, p)[order]  # (N, p, p): output patch k <- input patch order[k]
    return index.reshape(rows, cols, p, p).permute(0, 2, 1, 3).reshape(H * W)  # back to reading order


def shift_images(images: Tensor, dy: int, dx: int) -> Tensor:
    """Move every image ``dy`` pixels down and ``dx`` pixels right (negative: up,
    left); what moves out is lost and what comes in is 0, the digits' background.

    ``images (N, C, H, W)`` -> ``(N, C, H, W)``.
    """
    _check_image_batch(images)
    N, C, H, W = images.shape
    for name, v, size in (("dy", dy, H), ("dx", dx, W)):
        if isinstance(v, bool) or not isinstance(v, int) or abs(v) >= size:
            raise ValueError(f"{name} must be an integer with |{name}| < {size} (the image size), got {v!r}")
    out = torch.zeros_like(images)
    out[:, :, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        images[:, :, max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out
