"""Input checks shared by every module of the package.

Each check raises :class:`ValueError` (or :class:`TypeError` for an argument of
the wrong kind) with a message that names the argument and its shape, so a
reader who passes bad input never gets a traceback from deep inside torch or a
silent NaN. The conventions behind them are in CONTRIBUTING.md ("Errors on bad
input").
"""
from __future__ import annotations

from numbers import Integral
from typing import Any, List, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "checking_values",
    "shape_of",
    "check_tensor",
    "check_bool",
    "check_mask",
    "check_dtype",
    "positive_int",
    "check_positive_ints",
    "positive_int_list",
    "check_probability",
    "check_ids",
    "check_src",
    "check_tgt",
    "check_images",
    "check_patch_size",
    "check_layer_weights",
    "check_choice",
    "check_tokens",
]

INTEGER_DTYPES = (torch.long, torch.int32, torch.int64)



def checking_values() -> bool:
    """Whether the checks may read tensors' values: not while ``torch.export`` traces a
    model (:mod:`attnbook.export`), where ``int(x.min())`` cannot be traced. The exported
    graph's inputs are checked on the way in instead (``attnbook.export.OnnxModel``)."""
    return not torch.compiler.is_exporting()

def shape_of(x: Any) -> tuple:
    """``x``'s shape as a tuple (``()`` for something without one)."""
    return tuple(getattr(x, "shape", ()))


def check_tensor(x: Any, name: str, ranks: Sequence[int] | None = None, *, floating: bool = True) -> None:
    """``x`` is a tensor of one of the allowed ranks (and floating point)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ranks is not None and x.dim() not in ranks:
        allowed = " or ".join(str(r) for r in ranks)
        raise ValueError(f"{name} must have {allowed} dimensions, got shape {shape_of(x)}")
    if floating and not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def check_bool(mask: Any, name: str) -> None:
    """``mask`` is a boolean tensor."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a boolean torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise ValueError(
            f"{name} must have dtype torch.bool (True = may attend), got {mask.dtype} "
            f"of shape {shape_of(mask)}"
        )


def check_mask(mask: Any, target: Sequence[int], name: str = "mask", expected: str = "") -> None:
    """``mask`` is a boolean tensor that broadcasts to the shape ``target``."""
    check_bool(mask, name)
    target = tuple(target)
    try:
        fits = torch.broadcast_shapes(mask.shape, target) == target
    except RuntimeError:
        fits = False
    if not fits:
        hint = f"; expected {expected}" if expected else ""
        raise ValueError(
            f"{name} of shape {shape_of(mask)} does not broadcast to scores of shape {target}{hint}"
        )


def check_dtype(x: Tensor, name: str, module: nn.Module) -> None:
    """``x`` has the dtype of the module's parameters (else nn.Linear fails deep in torch)."""
    param = next(module.parameters(), None)
    if param is not None and x.dtype != param.dtype:
        raise ValueError(
            f"{name} has dtype {x.dtype} but the module's parameters are {param.dtype}; "
            f"convert one of them, e.g. module.to({x.dtype})"
        )


def positive_int(value: Any, name: str) -> int:
    """``value`` as an ``int``, once checked to be a positive integer (a NumPy integer is one,
    ``True`` is not)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_positive_ints(**values: Any) -> None:
    """Raise ``ValueError`` naming the first value that is not a positive integer."""
    for name, value in values.items():
        positive_int(value, name)


def positive_int_list(values: Any, name: str) -> List[int]:
    """``values`` as a non-empty list of ints, once checked to be positive integers."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a list of positive integers, got {values!r}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty")
    return [positive_int(v, f"every entry of {name}") for v in values]


def check_probability(p: Any, name: str = "dropout") -> None:
    """``p`` is a probability in ``[0, 1)`` (a dropout rate, a masking rate)."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {p!r}")


def check_ids(ids: Any, name: str, vocab_size: int | None = None) -> None:
    """``ids`` is a ``(B, T)`` tensor of integer token ids (inside ``0..vocab_size-1`` if given)."""
    if not isinstance(ids, Tensor) or ids.dim() != 2:
        raise ValueError(f"{name} must be a (B, T) tensor of token ids, got shape {shape_of(ids)}")
    if ids.dtype not in INTEGER_DTYPES:
        raise ValueError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
    if (vocab_size is not None and ids.numel() and checking_values()
            and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size)):
        raise ValueError(
            f"{name} holds ids from {int(ids.min())} to {int(ids.max())}, outside the vocabulary 0..{vocab_size - 1}"
        )


def check_src(src: Any, src_lengths: Any) -> None:
    """A padded batch of source sentences ``src (B, S)`` and their lengths ``(B,)`` in ``1..S``."""
    if not isinstance(src, Tensor) or src.dim() != 2:
        raise ValueError(f"src must be a (B, S) tensor of token ids, got shape {shape_of(src)}")
    if src.dtype not in INTEGER_DTYPES:
        raise ValueError(f"src must hold integer token ids, got dtype {src.dtype}")
    B, S = src.shape
    if not isinstance(src_lengths, Tensor) or src_lengths.shape != (B,):
        raise ValueError(
            f"src_lengths must have shape (B,) = ({B},) to match src {tuple(src.shape)}, "
            f"got {shape_of(src_lengths)}"
        )
    if B == 0 or S == 0:
        raise ValueError(f"src must have at least one sentence and one token, got shape {tuple(src.shape)}")
    if not checking_values():
        return
    lo, hi = int(src_lengths.min()), int(src_lengths.max())
    if lo < 1 or hi > S:
        raise ValueError(f"src_lengths must lie in 1..S = 1..{S} for src {tuple(src.shape)}, got min {lo}, max {hi}")


def check_tgt(tgt_in: Any, batch_size: int, name: str = "tgt_in", other: str = "src") -> None:
    """Teacher-forcing input ``(B, T)`` of token ids with the batch size of ``other``."""
    if not isinstance(tgt_in, Tensor) or tgt_in.dim() != 2:
        raise ValueError(f"{name} must be a (B, T) tensor of token ids, got shape {shape_of(tgt_in)}")
    if tgt_in.shape[0] != batch_size:
        raise ValueError(
            f"{name} {tuple(tgt_in.shape)} and {other} have different batch sizes ({tgt_in.shape[0]} vs {batch_size})"
        )
    if tgt_in.dtype not in INTEGER_DTYPES:
        raise ValueError(f"{name} must hold integer token ids, got dtype {tgt_in.dtype}")


def check_images(images: Any, name: str = "images", *, channels: int | None = None,
                 size: Sequence[int] | None = None) -> None:
    """``images`` is a floating-point ``(B, C, H, W)`` batch, with ``channels`` channels and
    ``size = (H, W)`` pixels when they are given."""
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise ValueError(f"{name} must be a (B, C, H, W) tensor, got shape {shape_of(images)}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be floating point, got dtype {images.dtype}")
    if channels is not None and images.shape[1] != channels:
        raise ValueError(f"{name} of shape {shape_of(images)} must have {channels} channel(s) (dimension 1)")
    if size is not None and tuple(images.shape[2:]) != tuple(size):
        raise ValueError(f"{name} of shape {shape_of(images)} must be {size[0]}×{size[1]} pixels")


def check_patch_size(patch_size: Any, height: int, width: int) -> int:
    """``patch_size`` itself, once checked to be a positive integer that divides a ``height × width`` image."""
    p = positive_int(patch_size, "patch_size")
    if height % p or width % p:
        raise ValueError(f"image size {height}×{width} is not divisible by patch_size={p}")
    return p


def check_layer_weights(weights: Any, name: str = "weights") -> None:
    """``weights`` stacks every layer's self-attention weights: ``(L, B, H, T, T)``."""
    if not isinstance(weights, Tensor) or weights.dim() != 5 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"{name} must be (L, B, H, T, T) self-attention weights, got shape {shape_of(weights)}")


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> None:
    """``value`` is one of ``choices`` (a setting that names a variant: a score, a style, a pooling)."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def check_tokens(tokens: Any, name: str = "tokens") -> None:
    """``tokens`` is a sequence of tokens, not a string (whose characters would pass for tokens)."""
    if isinstance(tokens, str):
        raise ValueError(
            f"{name} must be a sequence of tokens, not a string ({tokens[:30]!r}); "
            "split it first, e.g. s.split() or list(s)"
        )
