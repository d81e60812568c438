"""Checkers for the write-it-yourself exercises.

An exercise asks the reader to write a piece of the package (scaled dot-product
attention, a causal mask, patchify, ...) in a cell. The chapter then calls a
checker from this module: it runs the reader's function and the package's own on
the same random inputs (shapes, masks, edge cases) and raises
:class:`ExerciseMismatch` naming the first case where they disagree: which
input, which output, the shapes or the largest difference. When every case
agrees it returns a one-line report, so the cell shows what was checked.

The generic :func:`check_against` does the comparison; each ``check_*`` function
below it builds the cases for one exercise.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import torch
from torch import Tensor

__all__ = [
    "ExerciseMismatch",
    "Case",
    "check_against",
    "check_scaled_dot_product_attention",
    "check_split_heads",
    "check_merge_heads",
    "check_causal_mask",
    "check_patchify",
    "check_attention_rollout",
]


class ExerciseMismatch(AssertionError):
    """The reader's function disagrees with the package's on one case (the message says which)."""


class Case(NamedTuple):
    """One input on which the reader's function is compared with the package's."""

    what: str  # said in the message, e.g. "B=2, T=3, S=5, with a padding mask"
    args: Sequence[Any]
    kwargs: Mapping[str, Any] = {}


def _clone(x: Any) -> Any:
    """A deep copy of tensors (so an in-place edit by one function cannot change the other's input)."""
    if isinstance(x, Tensor):
        return x.clone()
    if isinstance(x, (list, tuple)):
        return type(x)(_clone(v) for v in x)
    if isinstance(x, dict):
        return {k: _clone(v) for k, v in x.items()}
    return x


def _describe(x: Any) -> str:
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)}"
    return f"a {type(x).__name__}"


def _compare(got: Any, want: Any, where: str, atol: float, rtol: float) -> str | None:
    """None when ``got`` matches ``want``, else what differs."""
    if isinstance(want, Tensor):
        if not isinstance(got, Tensor):
            return f"{where} should be {_describe(want)}, got {_describe(got)}"
        if tuple(got.shape) != tuple(want.shape):
            return f"{where} has shape {tuple(got.shape)}, expected {tuple(want.shape)}"
        if got.dtype == torch.bool or want.dtype == torch.bool:
            if got.dtype != want.dtype:
                return f"{where} has dtype {got.dtype}, expected {want.dtype}"
            wrong = (got != want).nonzero()
            if len(wrong):
                idx = tuple(int(i) for i in wrong[0])
                return (f"{where} differs at {len(wrong)} position(s), first at index {idx}: "
                        f"got {bool(got[idx])}, expected {bool(want[idx])}")
            return None
        g, w = got.detach().double(), want.detach().double()
        if torch.isnan(g).any() and not torch.isnan(w).any():
            idx = tuple(int(i) for i in torch.isnan(g).nonzero()[0])
            return f"{where} contains NaN (first at index {idx}) where the package's has {float(w[idx]):.4g}"
        close = torch.isclose(g, w, atol=atol, rtol=rtol, equal_nan=True)
        if not bool(close.all()):
            diff = (g - w).abs().nan_to_num(nan=float("inf"))
            idx = tuple(int(i) for i in (diff == diff.max()).nonzero()[0])
            return (f"{where} differs by up to {float(diff.max()):.3g} (at index {idx}: got {float(g[idx]):.6g}, "
                    f"expected {float(w[idx]):.6g}); {int((~close).sum())} of {close.numel()} values are off")
        return None
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"{where} should be {_describe(want)}, got {_describe(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            problem = _compare(g, w, f"{where}[{i}]", atol, rtol)
            if problem:
                return problem
        return None
    if got != want:
        return f"{where} is {got!r}, expected {want!r}"
    return None


def check_against(candidate: Callable, reference: Callable, cases: Iterable[Case], *, name: str,
                  atol: float = 1e-5, rtol: float = 1e-4) -> str:
    """Run ``candidate`` and ``reference`` on every case; raise :class:`ExerciseMismatch` at the first
    disagreement, naming the case and what differs. Returns a one-line report when all agree."""
    if not callable(candidate):
        raise TypeError(f"pass your function itself (e.g. my_{name}), got {type(candidate).__name__}")
    cases = list(cases)
    for k, case in enumerate(cases, 1):
        want = reference(*_clone(case.args), **_clone(dict(case.kwargs)))
        try:
            got = candidate(*_clone(case.args), **_clone(dict(case.kwargs)))
        except Exception as err:  # the reader's code: report it with the case that triggered it
            raise ExerciseMismatch(f"case {k} of {len(cases)} ({case.what}): your {name} raised "
                                   f"{type(err).__name__}: {err}") from err
        problem = _compare(got, want, "the output", atol, rtol)
        if problem:
            raise ExerciseMismatch(f"case {k} of {len(cases)} ({case.what}): {problem}")
    return f"✓ {name} agrees with the package's on all {len(cases)} cases"


def _check_with_hints(candidate: Callable, reference: Callable, cases: Sequence[Case], *, name: str,
                      mistakes: Sequence[tuple[str, Callable]], rule: str) -> str:
    """:func:`check_against`, and on a mismatch two more lines: which common mistake the reader's
    output matches, if any (``mistakes``: what it is, and a function that makes it), and ``rule``,
    what the package's function does."""
    try:
        return check_against(candidate, reference, cases, name=name)
    except ExerciseMismatch as err:
        message = str(err)
        for case in cases:  # find the first case that fails and compare the output with each mistake
            args, kwargs = case.args, dict(case.kwargs)
            try:
                got = candidate(*_clone(args), **_clone(kwargs))
            except Exception:
                break
            if _compare(got, reference(*_clone(args), **_clone(kwargs)), "", 1e-5, 1e-4) is None:
                continue
            for mistake, make_it in mistakes:
                if _compare(got, make_it(*_clone(args), **_clone(kwargs)), "", 1e-5, 1e-4) is None:
                    message += f"\nYour output is what you get if {mistake}."
                    break
            break
        raise ExerciseMismatch(f"{message}\n{rule}") from err.__cause__



# --- Chapters 5a and 5b: scaled dot-product attention, heads, the causal mask ---------------------


def _attention_by_hand(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, *, scale: float | None = None,
                       fill: float = float("-inf"), dim: int = -1) -> tuple[Tensor, Tensor]:
    """softmax(q kᵀ · scale) v with the masked scores set to ``fill``: the makings of the usual mistakes."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., T, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, fill)
    weights = scores.softmax(dim)
    return weights @ v, weights  # (..., T, Dv), (..., T, S)


def check_scaled_dot_product_attention(fn: Callable) -> str:
    """Compare the reader's ``fn(q, k, v, mask)`` -> ``(output, weights)`` with
    :func:`attnbook.attention.scaled_dot_product_attention` on random ``(B, T, Dh)`` and
    ``(B, H, T, Dh)`` inputs: without a mask (``mask=None``), with a boolean padding mask, a causal
    mask and both (True = may attend), and last a mask that leaves one query no key at all. There
    the package returns zero weights and a zero output; the textbook ``masked_fill(-inf)`` gives
    softmax(-inf, ..., -inf) = 0/0 = NaN, and the message says so."""
    from .attention import scaled_dot_product_attention
    from .transformer import lengths_to_mask

    g = torch.Generator().manual_seed(0)

    def qkv(*lead: int, T: int, S: int, Dh: int, Dv: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
        return (torch.randn(*lead, T, Dh, generator=g), torch.randn(*lead, S, Dh, generator=g),
                torch.randn(*lead, S, Dv or Dh, generator=g))

    def padding(lengths: list[int], S: int) -> Tensor:
        return lengths_to_mask(torch.tensor(lengths), S)  # (B, S): True at real tokens

    causal = torch.ones(5, 5, dtype=torch.bool).tril()  # (T, T)
    pad4 = padding([5, 3, 1], 5)[:, None, None, :]  # (B, 1, 1, S): broadcasts over heads and queries
    no_key = torch.ones(2, 4, 6, dtype=torch.bool)
    no_key[1, 2] = False  # sentence 2, query 3 may attend to nothing
    cases = [
        Case("B=2, T=3, S=3, Dh=4, no mask", (*qkv(2, T=3, S=3, Dh=4), None)),
        Case("B=2, T=4, S=6, Dh=8 and Dv=5 (values of another width), no mask",
             (*qkv(2, T=4, S=6, Dh=8, Dv=5), None)),
        Case("B=2, H=3 heads, T=4, S=7, Dh=16, no mask", (*qkv(2, 3, T=4, S=7, Dh=16), None)),
        Case("B=3, T=2, S=5, Dh=4, a padding mask (B, 1, S)",
             (*qkv(3, T=2, S=5, Dh=4), padding([5, 3, 1], 5)[:, None])),
        Case("B=2, T=5, S=5, Dh=8, a causal mask (T, T)", (*qkv(2, T=5, S=5, Dh=8), causal)),
        Case("B=3, H=2 heads, T=5, S=5, Dh=8, padding (B, 1, 1, S) and causal (T, T) masks combined",
             (*qkv(3, 2, T=5, S=5, Dh=8), pad4 & causal)),
        Case("B=2, T=4, S=6, Dh=4, a mask (B, T, S) that leaves sentence 2's query 3 no key at all",
             (*qkv(2, T=4, S=6, Dh=4), no_key)),
    ]

    def package(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        return scaled_dot_product_attention(q, k, v, mask)

    mistakes = [
        ("you fill the masked scores with -inf: a query that may attend to no key then gets "
         "softmax(-inf, ..., -inf) = 0/0 = NaN, where the package gives zero weights and a zero output "
         "(fill with a large negative number instead, or set the weights of such rows to 0)",
         lambda q, k, v, m: _attention_by_hand(q, k, v, m)),
        ("you ignore the mask", lambda q, k, v, m: _attention_by_hand(q, k, v, None)),
        ("you read the mask the other way round (True = masked; the package's True = may attend)",
         lambda q, k, v, m: package(q, k, v, None if m is None else ~m)),
        ("you leave out the scale 1/√Dh", lambda q, k, v, m: package(q * q.shape[-1] ** 0.5, k, v, m)),
        ("you divide the scores by Dh instead of √Dh", lambda q, k, v, m: package(q / q.shape[-1] ** 0.5, k, v, m)),
        ("you take the softmax over the queries (dim=-2) instead of the keys (dim=-1)",
         lambda q, k, v, m: _attention_by_hand(q, k, v, m, fill=torch.finfo(q.dtype).min, dim=-2)),
    ]
    rule = ("The package's scaled_dot_product_attention: scores = q kᵀ / √Dh, (..., T, S); where the mask is "
            "False the score gets weight 0 in a softmax over the keys (the last dimension), and a query whose "
            "mask allows no key gets all-zero weights, never NaN. It returns (weights @ v, weights).")
    return _check_with_hints(fn, package, cases, name="scaled_dot_product_attention", mistakes=mistakes, rule=rule)


def _head_sizes() -> list[tuple[int, int, int, int]]:
    """(B, T, D, H) for the head checkers: one head, several, as many heads as numbers (Dh = 1)."""
    return [(1, 3, 4, 1), (2, 5, 8, 2), (2, 3, 12, 3), (3, 4, 16, 4), (2, 6, 6, 6)]


def check_split_heads(fn: Callable) -> str:
    """Compare the reader's ``fn(x, num_heads)`` with :func:`attnbook.attention.split_heads`:
    ``(B, T, D)`` -> ``(B, H, T, Dh)``, head h holding the numbers ``h·Dh .. (h+1)·Dh - 1`` of
    every position (from one head to as many heads as numbers)."""
    from einops import rearrange

    from .attention import split_heads

    g = torch.Generator().manual_seed(0)
    cases = [Case(f"x (B, T, D) = {(B, T, D)}, H={H} heads of Dh={D // H}", (torch.randn(B, T, D, generator=g), H))
             for B, T, D, H in _head_sizes()]
    mistakes = [
        ("you reshape (B, T, D) straight to (B, H, T, Dh) without moving the heads' axis in front of T: "
         "the numbers of different positions end up in one head (reshape to (B, T, H, Dh), then transpose(1, 2))",
         lambda x, H: x.reshape(x.shape[0], H, x.shape[1], -1)),
        ("you cut D as (Dh, H): head h then takes every H-th number instead of a block of Dh neighbours",
         lambda x, H: rearrange(x, "b t (d h) -> b h t d", h=H)),
        ("you keep the heads after T, (B, T, H, Dh)", lambda x, H: rearrange(x, "b t (h d) -> b t h d", h=H)),
    ]
    rule = ("The package's split_heads: (B, T, D) -> (B, H, T, Dh) with Dh = D / H; head h gets the numbers "
            "h·Dh .. (h+1)·Dh - 1 of each position: rearrange(x, 'b t (h d) -> b h t d', h=H), or "
            "x.view(B, T, H, Dh).transpose(1, 2).")
    return _check_with_hints(fn, split_heads, cases, name="split_heads", mistakes=mistakes, rule=rule)


def check_merge_heads(fn: Callable) -> str:
    """Compare the reader's ``fn(x)`` with :func:`attnbook.attention.merge_heads`:
    ``(B, H, T, Dh)`` -> ``(B, T, D)``, the heads side by side (it undoes ``split_heads``)."""
    from einops import rearrange

    from .attention import merge_heads

    g = torch.Generator().manual_seed(1)
    cases = [Case(f"x (B, H, T, Dh) = {(B, H, T, D // H)}", (torch.randn(B, H, T, D // H, generator=g),))
             for B, T, D, H in _head_sizes()]
    mistakes = [
        ("you reshape (B, H, T, Dh) straight to (B, T, D) without moving the heads' axis back behind T: "
         "positions and heads get mixed up (transpose(1, 2) first, then reshape)",
         lambda x: x.reshape(x.shape[0], x.shape[2], -1)),
        ("you interleave the heads, (Dh, H), instead of putting them side by side",
         lambda x: rearrange(x, "b h t d -> b t (d h)")),
        ("you average the heads instead of concatenating them", lambda x: x.mean(1)),
    ]
    rule = ("The package's merge_heads: (B, H, T, Dh) -> (B, T, H·Dh), head 1's Dh numbers first, then head 2's, "
            "...: rearrange(x, 'b h t d -> b t (h d)'), or x.transpose(1, 2).reshape(B, T, H * Dh).")
    return _check_with_hints(fn, merge_heads, cases, name="merge_heads", mistakes=mistakes, rule=rule)


def check_causal_mask(fn: Callable) -> str:
    """Compare the reader's ``fn(T)`` with :func:`attnbook.transformer.causal_mask`: a boolean
    ``(T, T)`` mask, True where query t may attend to key s, that is for s <= t (the diagonal too)."""
    from .transformer import causal_mask

    cases = [Case(f"T={T}", (T,)) for T in (3, 1, 2, 5, 8)]  # T=3 first: there every mistake below looks different
    mistakes = [
        ("you leave out the diagonal (tril(-1)): a position must be allowed to see itself",
         lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)),
        ("you let each position see one step into the future (tril(1))",
         lambda T: torch.ones(T, T, dtype=torch.bool).tril(1)),
        ("you allow the future and hide the past (triu)", lambda T: torch.ones(T, T, dtype=torch.bool).triu()),
        ("you mark the masked cells True (torch.nn.Transformer's convention; the package's True = may attend)",
         lambda T: torch.ones(T, T, dtype=torch.bool).triu(1)),
        ("you return numbers, not booleans (use dtype=torch.bool)", lambda T: torch.ones(T, T).tril()),
    ]
    rule = ("The package's causal_mask(T): a torch.bool (T, T) tensor, True on and below the diagonal "
            "(row t: keys 0..t), e.g. torch.ones(T, T, dtype=torch.bool).tril().")
    return _check_with_hints(fn, causal_mask, cases, name="causal_mask", mistakes=mistakes, rule=rule)


# --- Chapter 6: patchify and attention rollout --------------------------------------------------


def check_patchify(fn: Callable) -> str:
    """Compare the reader's ``fn(images, patch_size)`` with :func:`attnbook.vit.patchify` on random
    ``(B, C, H, W)`` batches (one and several channels, square and oblong images, patches from one
    pixel to the whole image). ``fn`` must also refuse an image that ``patch_size`` does not divide:
    any exception counts (the package raises ``ValueError``); returning patches that silently drop
    the leftover pixels fails."""
    from einops import rearrange

    from .vit import patchify

    g = torch.Generator().manual_seed(0)
    shapes = [((1, 1, 4, 4), 2, "one 4×4 greyscale image, 2×2 patches"),
              ((2, 3, 6, 6), 3, "two 6×6 RGB images, 3×3 patches"),
              ((3, 2, 8, 12), 4, "three 8×12 images with 2 channels, 4×4 patches (a 2×3 grid)"),
              ((2, 1, 6, 4), 2, "two 6×4 images, 2×2 patches (a 3×2 grid)"),
              ((2, 3, 4, 4), 1, "two 4×4 RGB images, 1×1 patches"),
              ((1, 3, 8, 8), 8, "one 8×8 RGB image, a single 8×8 patch")]
    cases = [Case(what, (torch.rand(shape, generator=g), p)) for shape, p, what in shapes]

    def patched(pattern: str) -> Callable:
        return lambda images, p: rearrange(images, f"b c (rows p1) (cols p2) -> {pattern}", p1=p, p2=p)

    mistakes = [("you number the patches down the columns first", patched("b (cols rows) (c p1 p2)")),
                ("you flatten each patch channels last, (p, p, C)", patched("b (rows cols) (p1 p2 c)")),
                ("you flatten each patch's pixels column by column", patched("b (rows cols) (c p2 p1)")),
                ("you keep the patches' rows and columns as two axes", patched("b rows cols (c p1 p2)"))]
    rule = ("The package's patchify: (B, C, H, W) -> (B, N, C·p·p); patch 1 is the top-left p × p block, "
            "patch 2 its right neighbour (reading order, along the top row first); each patch is flattened "
            "channel by channel, and within a channel row by row, as the image is stored.")
    report = _check_with_hints(fn, patchify, cases, name="patchify", mistakes=mistakes, rule=rule)

    refused = []
    for shape, p in (((2, 1, 10, 10), 3), ((1, 3, 8, 6), 4)):
        images = torch.rand(shape, generator=g)
        what = f"a {shape[2]}×{shape[3]} image with patch_size={p}, which does not divide it"
        try:
            got = fn(images.clone(), p)
        except Exception as err:
            refused.append(type(err).__name__)
            continue
        raise ExerciseMismatch(
            f"{what}: the package raises ValueError, but your patchify returned {_describe(got)}. "
            "An image that is not a whole number of patches must be refused, not cropped: raise an error "
            "(best a ValueError naming the sizes, as the package does; any exception passes this check).")
    kinds = ", ".join(sorted(set(refused)))
    note = "" if set(refused) == {"ValueError"} else "; the package raises ValueError, naming the sizes"
    return f"{report},\n  and refuses the {len(refused)} image sizes that patch_size does not divide ({kinds}{note})"


def check_attention_rollout(fn: Callable) -> str:
    """Compare the reader's ``fn(weights)`` with :func:`attnbook.vit.attention_rollout` (its default,
    with the residual) on random stacks of row-stochastic attention ``(L, B, H, T, T)``: one head
    (nothing to average) and several, one layer and several, soft and one-hot (hard) rows. The
    package's convention, stated when the check fails: per layer, average the heads, take
    ``(A + I) / 2`` with the rows renormalised, and multiply the layers as ``A_L ⋯ A_1``."""
    from .vit import attention_rollout

    g = torch.Generator().manual_seed(0)

    def soft(L: int, B: int, H: int, T: int) -> Tensor:
        return (2 * torch.randn(L, B, H, T, T, generator=g)).softmax(-1)  # (L, B, H, T, T), rows sum to 1

    def hard(L: int, B: int, H: int, T: int) -> Tensor:
        picks = torch.randint(T, (L, B, H, T), generator=g)
        return torch.nn.functional.one_hot(picks, T).float()  # (L, B, H, T, T), one 1 per row

    cases = [Case("L=1 layer, B=1, H=1 head (nothing to average), T=3 tokens", (soft(1, 1, 1, 3),)),
             Case("L=2 layers, B=2, H=1 head, T=5", (soft(2, 2, 1, 5),)),
             Case("L=1 layer, B=2, H=4 heads to average, T=5", (soft(1, 2, 4, 5),)),
             Case("L=2 layers, B=3, H=4 heads, T=17 (a [CLS] and 16 patches)", (soft(2, 3, 4, 17),)),
             Case("L=3 layers, B=2, H=2 heads, T=6", (soft(3, 2, 2, 6),)),
             Case("L=4 layers, B=2, H=3 heads, T=4, one-hot (hard) attention rows", (hard(4, 2, 3, 4),))]

    def residual_unnormalised(w: Tensor) -> Tensor:
        eye = torch.eye(w.shape[-1])
        rollout = eye.expand(w.shape[1], -1, -1)
        for a in w.mean(2):  # (B, T, T) per layer
            rollout = (a + eye) @ rollout
        return rollout

    mistakes = [("you leave out the identity (the residual connection)",
                 lambda w: attention_rollout(w, residual=False)),
                ("you multiply the layers in the wrong order, A_1 ⋯ A_L", lambda w: attention_rollout(w.flip(0))),
                ("you add the identity but do not renormalise the rows", residual_unnormalised),
                ("you use the first head instead of averaging the heads", lambda w: attention_rollout(w[:, :, :1]))]
    rule = ("The package's rollout: for each layer, average the heads (dimension 2) to get A (B, T, T), take "
            "(A + I) / 2 for the residual connection and renormalise its rows to sum to 1; then multiply the "
            "layers with the first on the right, R = A_L ⋯ A_1, starting from the identity. R is (B, T, T).")
    return _check_with_hints(fn, attention_rollout, cases, name="attention_rollout", mistakes=mistakes, rule=rule)
