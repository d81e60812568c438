"""attnbook: the models, data sets and interactive views of the attention course.

Every chapter of the book imports from here; nothing is downloaded at run time.
The conventions the modules follow (shapes, masks, errors, seeds, claims,
views) are written down in the repository's ``CONTRIBUTING.md``.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["seed_everything", "resolve_seed", "resolve_threads", "get_device", "DEFAULT_SEED"]
__version__ = "0.1.0"

DEFAULT_SEED = 0


def resolve_seed(seed: int | None = None) -> int:
    """``seed`` itself, or ``ATTNBOOK_SEED`` (default 0) when it is None — validated.

    The rule of :func:`seed_everything`, without touching any random generator;
    data generators and training loops use it to pick their own seeded streams.
    """
    if seed is None:
        raw = os.environ.get("ATTNBOOK_SEED", str(DEFAULT_SEED)).strip()
        try:
            seed = int(raw)
        except ValueError:
            raise ValueError(
                f"ATTNBOOK_SEED must be a non-negative integer, got {raw!r}"
            ) from None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return int(seed)


def resolve_threads() -> int | None:
    """``ATTNBOOK_THREADS`` as a positive integer, or None when unset (torch's default)."""
    raw = os.environ.get("ATTNBOOK_THREADS", "").strip()
    if not raw:
        return None
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"ATTNBOOK_THREADS must be a positive integer, got {raw!r}")
    return threads


def seed_everything(seed: int | None = None) -> int:
    """Seed Python, NumPy and torch in one call and return the seed used.

    With ``seed=None`` the seed comes from the ``ATTNBOOK_SEED`` environment
    variable (default 0), so anyone can re-run a chapter under another seed::

        ATTNBOOK_SEED=3 jupyter nbconvert --execute chapters/01_rnn_bottleneck.ipynb

    ``ATTNBOOK_THREADS=1`` (or any positive count) also limits torch to that
    many CPU threads, so a chapter can be checked as a one-core machine runs it.
    """
    seed = resolve_seed(seed)
    threads = resolve_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed


def get_device(prefer_cuda: bool = True) -> torch.device:
    """The device chapters train on: CUDA when present (Colab GPUs), else the CPU."""
    if prefer_cuda and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
