"""scikit-learn's bundled handwritten digits (1,797 images of 8×8 pixels), as tensors.

Nothing is downloaded: the data ship inside scikit-learn. The train/test split
is fixed (30 % test, stratified by class, split seed 0) so that every chapter
and every ``ATTNBOOK_SEED`` evaluates on the same images; :func:`subset` draws
a seeded, class-balanced fraction of the training set.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .. import resolve_seed

__all__ = ["DigitsData", "load_digits_data", "subset"]


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
