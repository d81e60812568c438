"""Tests of attnbook.attention, micrograd-style: every mechanism is compared
with an independent reference (torch's own kernels, or a loop that spells out
the formula one position at a time) using allclose, then checked for the
properties the book relies on (rows sum to 1, masks give exact zeros,
permutation equivariance, correct gradients, clear errors on bad input).

Run with ``pytest tests/test_attention.py -q -s`` to see the max abs
differences printed.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import gradcheck
from torch.func import functional_call

from attnbook.attention import (
    AdditiveAttention,
    AdditiveAttentionConfig,
    LuongAttention,
    LuongAttentionConfig,
    MultiHeadAttention,
    masked_softmax,
    scaled_dot_product_attention,
)

F32_TOL = 1e-5
F64_TOL = 1e-10


def tol(dtype: torch.dtype) -> float:
    return F32_TOL if dtype == torch.float32 else F64_TOL


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def report(label: str, **diffs: float) -> None:
    """Print the max abs differences (visible with pytest -s)."""
    print(f"\n{label}: " + ", ".join(f"{k}={v:.2e}" for k, v in diffs.items()))


def assert_close(label: str, dtype: torch.dtype, **pairs) -> None:
    diffs = {name: max_diff(a, b) for name, (a, b) in pairs.items()}
    report(label, **diffs)
    for name, d in diffs.items():
        assert d <= tol(dtype), f"{label}: {name} differs by {d:.2e} > {tol(dtype):.0e}"


def rand(*shape, dtype=torch.float64, grad=False):
    return torch.randn(*shape, dtype=dtype, requires_grad=grad)


def random_mask(*shape, p=0.6, keep_first=True):
    """A boolean mask (True = may attend) with at least one True in every row."""
    mask = torch.rand(*shape) < p
    if keep_first:
        mask[..., 0] = True
    return mask


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    """Seed every test. The tensors here are tiny, so one thread is enough, and
    on a busy machine it spares each op a wait for OpenMP workers (which made
    gradcheck's thousands of small calls ~50x slower)."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------
# masked_softmax
# ---------------------------------------------------------------------------


def test_masked_softmax_without_mask_is_softmax():
    x = rand(2, 3, 5)
    assert torch.allclose(masked_softmax(x), torch.softmax(x, -1), atol=0, rtol=0)
    assert torch.allclose(masked_softmax(x, dim=1), torch.softmax(x, 1), atol=0, rtol=0)


def test_masked_softmax_matches_softmax_over_the_allowed_entries():
    x = rand(4, 6)
    mask = random_mask(4, 6)
    w = masked_softmax(x, mask)
    ref = torch.softmax(x.masked_fill(~mask, float("-inf")), -1)
    report("masked_softmax vs softmax(-inf fill)", weights=max_diff(w, ref))
    assert torch.allclose(w, ref, atol=F64_TOL, rtol=0)
    assert (w[~mask] == 0).all()
    assert torch.allclose(w.sum(-1), torch.ones(4, dtype=w.dtype))


def test_masked_softmax_broadcasts_mask_and_other_dim():
    x = rand(2, 3, 4)
    mask = torch.tensor([True, False, True]).reshape(1, 3, 1)  # normalise over dim 1
    w = masked_softmax(x, mask, dim=1)
    assert (w[:, 1] == 0).all()
    assert torch.allclose(w.sum(1), torch.ones(2, 4, dtype=w.dtype))


def test_masked_softmax_fully_masked_row_is_zero_without_nan_gradient():
    x = rand(3, 5, grad=True)
    mask = random_mask(3, 5)
    mask[1] = False
    w = masked_softmax(x, mask)
    assert (w[1] == 0).all()
    assert torch.allclose(w[[0, 2]].sum(-1), torch.ones(2, dtype=w.dtype))
    (w * rand(3, 5)).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert (x.grad[1] == 0).all()
    assert (x.grad[~mask] == 0).all()


def test_masked_softmax_traces_under_torch_export_and_gives_the_eager_weights():
    """The ONNX export (attnbook.export) traces masked_softmax with torch.export: no branch on a
    tensor's value is baked in, so the traced graph gives eager's weights for masks with and
    without a fully masked row (that row all zeros), and eager is left as it was."""

    class Softmax(nn.Module):
        def forward(self, scores, mask):
            return masked_softmax(scores, mask)

    torch.manual_seed(0)
    scores = torch.randn(3, 2, 4, 5)  # (B, H, T, S)
    mask = torch.rand(3, 1, 1, 5) > 0.4  # (B, 1, 1, S)
    mask[:, :, :, 0] = True
    mask[1] = False  # a fully masked row: nothing allowed
    exported = torch.export.export(Softmax(), (scores, mask), strict=False)
    assert not torch.compiler.is_exporting()
    assert not any(node.op == "call_function" and "item" in str(node.target) for node in exported.graph.nodes)
    traced = exported.module()
    full = mask.clone()
    full[1, ..., :2] = True  # the same shapes, now every row allows something
    for m in (mask, full):
        eager = masked_softmax(scores, m)
        got = traced(scores, m)
        assert torch.equal(got, eager)
        assert (got[~m.expand_as(got)] == 0).all()
    assert (traced(scores, mask)[1] == 0).all()  # the fully masked row
    assert torch.allclose(traced(scores, full).sum(-1), torch.ones(3, 2, 4))


def test_masked_softmax_float32_large_scores_stay_finite():
    x = torch.tensor([[1e30, -1e30, 0.0], [3.0e38, 1.0, 2.0]])
    mask = torch.tensor([[True, True, False], [False, True, True]])
    w = masked_softmax(x, mask)
    assert torch.isfinite(w).all()
    assert torch.equal(w, torch.tensor([[1.0, 0.0, 0.0], w[1].tolist()]))
    assert torch.allclose(w.sum(-1), torch.ones(2))


# ---------------------------------------------------------------------------
# scaled_dot_product_attention vs torch.nn.functional.scaled_dot_product_attention
# ---------------------------------------------------------------------------

B, H, T, S, Dh, Dv = 2, 3, 4, 6, 5, 7


def _sdpa_case(name: str, dtype: torch.dtype):
    """(q, k, v, mask, kwargs for ours, kwargs for torch) of one named case."""
    q, k, v = rand(B, H, T, Dh, dtype=dtype), rand(B, H, S, Dh, dtype=dtype), rand(B, H, S, Dv, dtype=dtype)
    mask, ours, theirs = None, {}, {}
    if name == "no mask":
        pass
    elif name == "key padding (B,1,1,S)":
        mask = random_mask(B, 1, 1, S)
    elif name == "mask (T,S)":
        mask = random_mask(T, S)
    elif name == "mask (B,H,T,S)":
        mask = random_mask(B, H, T, S)
    elif name == "mask (B,1,T,S)":
        mask = random_mask(B, 1, T, S)
    elif name == "is_causal":
        k, v = k[..., :T, :], v[..., :T, :]
        ours = theirs = {"is_causal": True}
    elif name == "is_causal T<S":
        ours = theirs = {"is_causal": True}
    elif name == "explicit tril mask":
        k, v = k[..., :T, :], v[..., :T, :]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
    elif name == "scale=0.3":
        ours = theirs = {"scale": 0.3}
    elif name == "3-D (B,T,Dh)":
        q, k, v = q[:, 0], k[:, 0], v[:, 0]
        mask = random_mask(B, T, S)
    elif name == "broadcast k,v (1,H,S,Dh)":
        k, v = k[:1], v[:1]
        mask = random_mask(B, 1, 1, S)
    elif name == "shared k,v (S,Dh)":
        k, v = k[0, 0], v[0, 0]
    elif name == "fully masked row":
        mask = random_mask(B, H, T, S)
        mask[0, 1, 2] = False
    else:
        raise KeyError(name)
    if mask is not None:
        theirs = {**theirs, "attn_mask": mask}
    for t in (q, k, v):
        t.requires_grad_(True)
    return q, k, v, mask, ours, theirs


SDPA_CASES = [
    "no mask",
    "key padding (B,1,1,S)",
    "mask (T,S)",
    "mask (B,H,T,S)",
    "mask (B,1,T,S)",
    "is_causal",
    "is_causal T<S",
    "explicit tril mask",
    "scale=0.3",
    "3-D (B,T,Dh)",
    "broadcast k,v (1,H,S,Dh)",
    "shared k,v (S,Dh)",
    "fully masked row",
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", SDPA_CASES)
def test_sdpa_matches_torch_values_and_gradients(case, dtype):
    q, k, v, mask, ours_kw, theirs_kw = _sdpa_case(case, dtype)
    out, weights = scaled_dot_product_attention(q, k, v, mask, **ours_kw)
    ref = F.scaled_dot_product_attention(q, k, v, **theirs_kw)
    grad_out = torch.randn_like(ref)
    ours_grads = torch.autograd.grad(out, (q, k, v), grad_out)
    ref_grads = torch.autograd.grad(ref, (q, k, v), grad_out)
    # torch returns no weights; attending to the identity matrix reads them out.
    eye = torch.eye(k.shape[-2], dtype=dtype).expand(*k.shape[:-1], k.shape[-2])
    ref_weights = F.scaled_dot_product_attention(q.detach(), k.detach(), eye, **theirs_kw)
    assert out.shape == ref.shape and weights.shape == ref_weights.shape
    assert_close(
        f"sdpa vs torch [{case}, {dtype}]",
        dtype,
        output=(out, ref),
        weights=(weights, ref_weights),
        grad_q=(ours_grads[0], ref_grads[0]),
        grad_k=(ours_grads[1], ref_grads[1]),
        grad_v=(ours_grads[2], ref_grads[2]),
    )


def test_sdpa_weights_rows_sum_to_one_and_masked_entries_are_zero():
    q, k, v = rand(B, H, T, Dh), rand(B, H, S, Dh), rand(B, H, S, Dv)
    mask = random_mask(B, 1, T, S)
    _, w = scaled_dot_product_attention(q, k, v, mask)
    assert w.shape == (B, H, T, S)
    assert torch.allclose(w.sum(-1), torch.ones(B, H, T, dtype=w.dtype), atol=1e-12)
    assert (w.masked_select(~mask.expand_as(w)) == 0).all()
    assert (w >= 0).all()


def test_sdpa_causal_weights_are_lower_triangular():
    q, k, v = rand(B, T, Dh), rand(B, T, Dh), rand(B, T, Dv)
    _, w = scaled_dot_product_attention(q, k, v, is_causal=True)
    assert (w.triu(1) == 0).all()
    assert torch.allclose(w[:, 0, 0], torch.ones(B, dtype=w.dtype))


def test_sdpa_is_causal_and_mask_combine():
    q, k, v = rand(B, T, Dh), rand(B, T, Dh), rand(B, T, Dv)
    pad = random_mask(B, 1, T)
    tril = torch.ones(T, T, dtype=torch.bool).tril()
    both = scaled_dot_product_attention(q, k, v, pad, is_causal=True)
    ref = scaled_dot_product_attention(q, k, v, pad & tril)
    assert torch.equal(both[0], ref[0]) and torch.equal(both[1], ref[1])


def test_sdpa_fully_masked_row_gives_zeros_and_finite_gradients():
    q, k, v = rand(B, T, Dh, grad=True), rand(B, S, Dh, grad=True), rand(B, S, Dv, grad=True)
    mask = random_mask(B, T, S)
    mask[1, 2] = False  # query 2 of example 1 may look nowhere
    out, w = scaled_dot_product_attention(q, k, v, mask)
    assert (out[1, 2] == 0).all() and (w[1, 2] == 0).all()
    assert torch.isfinite(out).all()
    (out * torch.randn_like(out)).sum().backward()
    for g in (q.grad, k.grad, v.grad):
        assert torch.isfinite(g).all()
    assert (q.grad[1, 2] == 0).all()


def test_sdpa_dropout():
    q, k, v = rand(B, T, Dh), rand(B, S, Dh), rand(B, S, Dv)
    plain = scaled_dot_product_attention(q, k, v)
    evaluated = scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=False)
    assert torch.equal(plain[0], evaluated[0])
    out, w = scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=True)
    assert not torch.allclose(out, plain[0])
    assert torch.equal(w, plain[1])  # the weights returned are those before dropout


def test_sdpa_is_permutation_equivariant_without_positions():
    x = rand(B, S, Dh)
    perm = torch.randperm(S)
    out, w = scaled_dot_product_attention(x, x, x)
    out_p, w_p = scaled_dot_product_attention(x[:, perm], x[:, perm], x[:, perm])
    assert torch.allclose(out_p, out[:, perm], atol=1e-12)
    assert torch.allclose(w_p, w[:, perm][:, :, perm], atol=1e-12)


def test_sdpa_gradcheck():
    q, k, v = rand(2, 2, 3, 4, grad=True), rand(2, 2, 5, 4, grad=True), rand(2, 2, 5, 3, grad=True)
    mask = random_mask(2, 1, 3, 5)
    mask[1, 0, 2] = False  # a fully masked row must have a correct (zero) gradient too
    assert gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, mask), (q, k, v))
    assert gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


# ---------------------------------------------------------------------------
# AdditiveAttention and LuongAttention vs loops over the formula
# ---------------------------------------------------------------------------

Dq, Dk, Dhid = 3, 4, 5


def loop_attention(score_fn, query, keys, values, mask):
    """Per example b and query t: score every key i, softmax over the allowed
    ones, take the weighted mean of the values -- written one number at a time."""
    Bq, Tq, _ = query.shape
    Sk = keys.shape[1]
    out = torch.zeros(Bq, Tq, values.shape[-1], dtype=query.dtype)
    weights = torch.zeros(Bq, Tq, Sk, dtype=query.dtype)
    for b in range(Bq):
        for t in range(Tq):
            allowed = [i for i in range(Sk) if mask is None or mask[b, t, i]]
            scores = {i: score_fn(query[b, t], keys[b, i]) for i in allowed}
            top = max(scores.values()) if scores else 0.0
            total = sum(math.exp(s - top) for s in scores.values())
            for i in allowed:
                weights[b, t, i] = math.exp(scores[i] - top) / total
                out[b, t] += weights[b, t, i] * values[b, i]
    return out, weights


def additive_score(module: AdditiveAttention):
    W_c, W_y, b_y, w = (p.detach() for p in (module.W_c.weight, module.W_y.weight, module.W_y.bias, module.w.weight[0]))

    def score(c, y):  # m = tanh(W_c c + W_y y), score = w · m
        m = torch.tanh(W_c @ c + W_y @ y + b_y)
        return float(w @ m)

    return score


def luong_score(module: LuongAttention):
    kind = module.config.score
    if kind == "dot":
        return lambda h, hb: float(h @ hb)
    if kind == "general":
        W_a = module.W_a.weight.detach()
        return lambda h, hb: float(h @ (W_a @ hb))
    W_a, v_a = module.W_a.weight.detach(), module.v_a.weight[0].detach()
    return lambda h, hb: float(v_a @ torch.tanh(W_a @ torch.cat([h, hb])))


def _make(kind: str) -> nn.Module:
    if kind == "additive":
        return AdditiveAttention(query_dim=Dq, key_dim=Dk, hidden_dim=Dhid).double()
    dq = Dk if kind == "dot" else Dq
    return LuongAttention(score=kind, query_dim=dq, key_dim=Dk, hidden_dim=Dhid).double()


def _score_fn(kind, module):
    return additive_score(module) if kind == "additive" else luong_score(module)


KINDS = ["additive", "dot", "general", "concat"]


@pytest.mark.parametrize("mask_kind", ["none", "(B,S)", "(B,T,S)", "fully masked row"])
@pytest.mark.parametrize("kind", KINDS)
def test_additive_and_luong_match_loop_reference(kind, mask_kind):
    module = _make(kind)
    dq = module.config.query_dim or Dk
    query, keys, values = rand(B, T, dq), rand(B, S, Dk), rand(B, S, Dv)
    mask = None
    if mask_kind == "(B,S)":
        mask = random_mask(B, S)
    elif mask_kind in ("(B,T,S)", "fully masked row"):
        mask = random_mask(B, T, S)
        if mask_kind == "fully masked row":
            mask[0, 1] = False
    out, w = module(query, keys, values, mask)
    full_mask = None if mask is None else mask.unsqueeze(1).expand(B, T, S) if mask.dim() == 2 else mask
    ref_out, ref_w = loop_attention(_score_fn(kind, module), query.detach(), keys, values, full_mask)
    assert out.shape == (B, T, Dv) and w.shape == (B, T, S)
    assert_close(f"{kind} vs loop [{mask_kind}]", torch.float64, output=(out, ref_out), weights=(w, ref_w))


@pytest.mark.parametrize("kind", KINDS)
def test_additive_and_luong_single_query_and_default_values(kind):
    module = _make(kind)
    dq = module.config.query_dim or Dk
    query, keys = rand(B, dq), rand(B, S, Dk)
    mask = random_mask(B, S)
    out, w = module(query, keys, mask=mask)  # values default to keys
    out3, w3 = module(query.unsqueeze(1), keys, keys, mask)
    assert out.shape == (B, Dk) and w.shape == (B, S)
    assert torch.equal(out, out3[:, 0]) and torch.equal(w, w3[:, 0])
    assert torch.allclose(w.sum(-1), torch.ones(B, dtype=w.dtype))
    assert (w[~mask] == 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_score_of_projected_keys_matches_the_formula(kind):
    """score(query, project_keys(keys)) -- what a decoder calls with keys projected once --
    against the formula written one number at a time, for T queries and for one (B, Dq)."""
    module = _make(kind)
    dq = module.config.query_dim or Dk
    query, keys = rand(B, T, dq), rand(B, S, Dk)
    fn = _score_fn(kind, module)
    ref = torch.tensor([[[fn(query[b, t], keys[b, i]) for i in range(S)] for t in range(T)] for b in range(B)],
                       dtype=torch.float64)  # (B, T, S)
    with torch.no_grad():
        projected = module.project_keys(keys)
        scores = module.score(query, projected)  # (B, T, S)
        single = module.score(query[:, 0], projected)  # (B, S)
    assert scores.shape == (B, T, S) and single.shape == (B, S)
    assert_close(f"{kind} score", torch.float64, scores=(scores, ref), single=(single, ref[:, 0]))
    with pytest.raises(ValueError, match="query"):
        module.score(rand(B, dq + 1), projected)
    with pytest.raises(ValueError, match="keys must have 3 dimensions"):
        module.score(query, projected[0])
    with pytest.raises(ValueError, match="batch sizes"):
        module.score(query[:1], projected)
    if kind != "dot":  # the keys of dot are not projected; the others' have another size
        with pytest.raises(ValueError, match="project_keys"):
            module.score(query, keys)


@pytest.mark.parametrize("kind", KINDS)
def test_additive_and_luong_gradcheck(kind):
    module = _make(kind)
    dq = module.config.query_dim or Dk
    query, keys, values = rand(2, 2, dq, grad=True), rand(2, 3, Dk, grad=True), rand(2, 3, 2, grad=True)
    mask = random_mask(2, 2, 3)
    mask[1, 1] = False
    _gradcheck_module(module, (query, keys, values), mask=mask)


def test_additive_config_equals_keywords():
    torch.manual_seed(1)
    a = AdditiveAttention(config=AdditiveAttentionConfig(query_dim=Dq, key_dim=Dk, hidden_dim=Dhid))
    torch.manual_seed(1)
    b = AdditiveAttention(query_dim=Dq, key_dim=Dk, hidden_dim=Dhid)
    assert a.config == b.config
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = LuongAttention(config=LuongAttentionConfig("general", Dq, Dk))
    assert c.config.score == "general" and c.W_a.weight.shape == (Dq, Dk)
    assert list(LuongAttention().parameters()) == []  # dot: no parameters


# ---------------------------------------------------------------------------
# MultiHeadAttention vs torch.nn.MultiheadAttention (same weights)
# ---------------------------------------------------------------------------

D, NH = 8, 2


def copy_torch_weights(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    """Written out by hand here (independent of MultiHeadAttention.from_torch)."""
    with torch.no_grad():
        if theirs._qkv_same_embed_dim:
            ws = theirs.in_proj_weight.split(theirs.embed_dim, dim=0)
        else:
            ws = (theirs.q_proj_weight, theirs.k_proj_weight, theirs.v_proj_weight)
        bs = theirs.in_proj_bias.split(theirs.embed_dim) if theirs.in_proj_bias is not None else (None,) * 3
        for proj, w, b in zip((ours.q_proj, ours.k_proj, ours.v_proj), ws, bs):
            proj.weight.copy_(w)
            if b is not None:
                proj.bias.copy_(b)
        ours.out_proj.weight.copy_(theirs.out_proj.weight)
        if theirs.out_proj.bias is not None:
            ours.out_proj.bias.copy_(theirs.out_proj.bias)


def _mha_pair(dtype, *, kdim=None, vdim=None, bias=True):
    theirs = nn.MultiheadAttention(D, NH, batch_first=True, kdim=kdim, vdim=vdim, bias=bias).to(dtype).eval()
    ours = MultiHeadAttention(D, NH, kdim=kdim, vdim=vdim, bias=bias).to(dtype).eval()
    copy_torch_weights(ours, theirs)
    return ours, theirs


MHA_CASES = [
    "self, no mask",
    "key_padding_mask",
    "attn_mask (T,S)",
    "attn_mask (B,T,S)",
    "attn_mask (B,H,T,S)",
    "padding + attn_mask",
    "is_causal",
    "per-head weights",
    "cross, kdim/vdim",
    "no bias",
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", MHA_CASES)
def test_mha_matches_torch(case, dtype):
    kdim = vdim = None
    if case == "cross, kdim/vdim":
        kdim, vdim = 5, 6
    ours, theirs = _mha_pair(dtype, kdim=kdim, vdim=vdim, bias=case != "no bias")
    query = rand(B, T, D, dtype=dtype, grad=True)
    Tk = T if case in ("self, no mask", "is_causal") else S
    key = rand(B, Tk, kdim or D, dtype=dtype, grad=True)
    value = rand(B, Tk, vdim or D, dtype=dtype, grad=True)
    if case == "self, no mask":
        key = value = query
    ours_kw, theirs_kw = {}, {}
    # Our masks: True = may attend. torch's boolean masks: True = IGNORE. Hence the ~.
    if case in ("key_padding_mask", "padding + attn_mask"):
        pad = random_mask(B, S)
        ours_kw["key_padding_mask"], theirs_kw["key_padding_mask"] = pad, ~pad
    if case in ("attn_mask (T,S)", "padding + attn_mask"):
        am = random_mask(T, S)
        ours_kw["attn_mask"], theirs_kw["attn_mask"] = am, ~am
    if case == "attn_mask (B,T,S)":
        am = random_mask(B, T, S)
        ours_kw["attn_mask"], theirs_kw["attn_mask"] = am, ~am.repeat_interleave(NH, dim=0)  # (B*H, T, S)
    if case == "attn_mask (B,H,T,S)":
        am = random_mask(B, NH, T, S)
        ours_kw["attn_mask"], theirs_kw["attn_mask"] = am, ~am.reshape(B * NH, T, S)
    if case == "is_causal":
        ours_kw["is_causal"] = True
        theirs_kw["attn_mask"] = torch.ones(T, T, dtype=torch.bool).triu(1)  # True = ignore the future
    per_head = case == "per-head weights"
    out, w = ours(query, key, value, average_weights=not per_head, **ours_kw)
    ref, ref_w = theirs(query, key, value, need_weights=True, average_attn_weights=not per_head, **theirs_kw)
    assert out.shape == ref.shape == (B, T, D)
    assert w.shape == ref_w.shape == ((B, NH, T, Tk) if per_head else (B, T, Tk))
    grad_out = torch.randn_like(ref)
    inputs = (query,) if case == "self, no mask" else (query, key, value)
    ours_g = torch.autograd.grad(out, (*inputs, *ours.parameters()), grad_out)
    ref_g = torch.autograd.grad(ref, (*inputs, *theirs.parameters()), grad_out)
    pairs = {"output": (out, ref), "weights": (w, ref_w)}
    pairs.update({f"grad_input{i}": (a, b) for i, (a, b) in enumerate(zip(ours_g, ref_g[: len(inputs)]))})
    # parameter grads: torch's packed in_proj vs our three projections
    ours_pg = dict(zip((n for n, _ in ours.named_parameters()), ours_g[len(inputs):]))
    ref_pg = dict(zip((n for n, _ in theirs.named_parameters()), ref_g[len(inputs):]))
    if "in_proj_weight" in ref_pg:
        ref_w_grads = ref_pg["in_proj_weight"].split(D)
    else:
        ref_w_grads = [ref_pg[f"{n}_proj_weight"] for n in "qkv"]
    for name, g in zip("qkv", ref_w_grads):
        pairs[f"grad_{name}_proj"] = (ours_pg[f"{name}_proj.weight"], g)
    pairs["grad_out_proj"] = (ours_pg["out_proj.weight"], ref_pg["out_proj.weight"])
    assert_close(f"MHA vs torch [{case}, {dtype}]", dtype, **pairs)


def test_mha_without_weights_path_of_torch():
    ours, theirs = _mha_pair(torch.float32)
    x = rand(B, T, D, dtype=torch.float32)
    pad = random_mask(B, T)
    out, _ = ours(x, key_padding_mask=pad)  # key, value default to query
    ref, none = theirs(x, x, x, key_padding_mask=~pad, need_weights=False)
    assert none is None
    assert_close("MHA vs torch fast path (need_weights=False)", torch.float32, output=(out, ref))


def test_mha_from_torch_copies_every_number():
    theirs = nn.MultiheadAttention(D, NH, batch_first=True, kdim=5, vdim=6).double().eval()
    ours = MultiHeadAttention.from_torch(theirs).eval()
    q, k, v = rand(B, T, D), rand(B, S, 5), rand(B, S, 6)
    out, w = ours(q, k, v)
    ref, ref_w = theirs(q, k, v)
    assert ours.q_proj.weight.dtype == torch.float64
    assert_close("MHA.from_torch", torch.float64, output=(out, ref), weights=(w, ref_w))


def test_mha_weights_rows_sum_to_one_and_padding_is_zero():
    mha = MultiHeadAttention(D, NH).double()
    x = rand(B, S, D)
    pad = random_mask(B, S)
    _, w = mha(x, x, x, key_padding_mask=pad, average_weights=False)
    assert w.shape == (B, NH, S, S)
    assert torch.allclose(w.sum(-1), torch.ones(B, NH, S, dtype=w.dtype))
    assert (w.masked_select(~pad[:, None, None, :].expand_as(w)) == 0).all()


def test_mha_is_permutation_equivariant_without_positions():
    mha = MultiHeadAttention(D, NH).double()
    x = rand(B, S, D)
    perm = torch.randperm(S)
    out, w = mha(x)
    out_p, w_p = mha(x[:, perm])
    assert torch.allclose(out_p, out[:, perm], atol=1e-12)
    assert torch.allclose(w_p, w[:, perm][:, :, perm], atol=1e-12)


def test_mha_fully_masked_query_gives_zeros_and_finite_gradients():
    mha = MultiHeadAttention(D, NH).double()
    x = rand(B, T, D, grad=True)
    am = random_mask(B, T, T)
    am[0, 1] = False
    out, w = mha(x, attn_mask=am)
    assert (w[0, 1] == 0).all()
    # with no key to read, the row's attention output is 0, so only out_proj's bias remains
    assert torch.allclose(out[0, 1], mha.out_proj.bias)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in mha.parameters())


def test_mha_dropout_only_in_training():
    mha = MultiHeadAttention(D, NH, dropout=0.5).double()
    x = rand(B, T, D)
    mha.eval()
    a, b = mha(x), mha(x)
    assert torch.equal(a[0], b[0])
    mha.train()
    out, w = mha(x)
    assert not torch.allclose(out, a[0])
    assert torch.allclose(w.sum(-1), torch.ones(B, T, dtype=w.dtype))


def _gradcheck_module(module, inputs, **kwargs):
    """gradcheck with respect to the inputs AND every parameter of the module."""
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in module.named_parameters()]
    n_in = len(inputs)

    def fn(*tensors):
        return functional_call(module, dict(zip(names, tensors[n_in:])), tensors[:n_in], kwargs)

    assert gradcheck(fn, (*inputs, *params))


def test_mha_gradcheck():
    mha = MultiHeadAttention(4, 2, kdim=3).double()
    q, k, v = rand(2, 2, 4, grad=True), rand(2, 3, 3, grad=True), rand(2, 3, 4, grad=True)
    pad = torch.tensor([[True, True, False], [True, False, False]])
    _gradcheck_module(mha, (q, k, v), key_padding_mask=pad, average_weights=False)


# ---------------------------------------------------------------------------
# bad input: ValueError naming the shapes
# ---------------------------------------------------------------------------

f = torch.float32


def test_masked_softmax_bad_mask():
    scores = torch.randn(2, 4, 6)
    with pytest.raises(ValueError, match=r"mask of shape \(2, 5\) does not broadcast to scores of shape \(2, 4, 6\)"):
        masked_softmax(scores, torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"torch\.bool.*float32"):
        masked_softmax(scores, torch.ones(2, 4, 6))
    with pytest.raises(ValueError, match=r"mask of shape \(3, 2, 4, 6\) does not broadcast"):
        masked_softmax(scores, torch.ones(3, 2, 4, 6, dtype=torch.bool))  # would grow the scores
    with pytest.raises(ValueError, match="floating-point"):
        masked_softmax(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        masked_softmax([[1.0, 2.0]])


@pytest.mark.parametrize(
    "q_shape, k_shape, v_shape, mask_shape, match",
    [
        ((5,), (6, 5), (6, 5), None, r"q must have at least 2 dimensions.*\(5,\)"),
        ((4, 5), (6, 3), (6, 5), None, r"same last dimension Dh: q \(4, 5\), k \(6, 3\)"),
        ((4, 5), (6, 5), (7, 5), None, r"same length S.*k \(6, 5\), v \(7, 5\)"),
        ((2, 4, 5), (3, 6, 5), (3, 6, 5), None, r"q \(2, 4, 5\), k \(3, 6, 5\) and v \(3, 6, 5\) do not broadcast"),
        ((2, 4, 5), (2, 6, 5), (2, 6, 5), (4, 5), r"mask of shape \(4, 5\) does not broadcast to scores of shape \(2, 4, 6\)"),
        ((2, 4, 5), (2, 6, 5), (2, 6, 5), (3, 4, 6), r"mask of shape \(3, 4, 6\)"),
    ],
)
def test_sdpa_bad_shapes(q_shape, k_shape, v_shape, mask_shape, match):
    mask = None if mask_shape is None else torch.ones(mask_shape, dtype=torch.bool)
    with pytest.raises(ValueError, match=match):
        scaled_dot_product_attention(torch.randn(q_shape), torch.randn(k_shape), torch.randn(v_shape), mask)


def test_sdpa_bad_dtypes_and_arguments():
    q, k, v = torch.randn(4, 5), torch.randn(6, 5), torch.randn(6, 5)
    with pytest.raises(ValueError, match=r"torch\.bool.*float32"):
        scaled_dot_product_attention(q, k, v, torch.ones(4, 6))
    with pytest.raises(ValueError, match="share a dtype"):
        scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(ValueError, match="floating-point"):
        scaled_dot_product_attention(q.long(), k.long(), v.long())
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\)"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_additive_and_luong_bad_inputs(kind):
    module = _make(kind).float()
    dq = module.config.query_dim or Dk
    q, k, v = torch.randn(B, T, dq), torch.randn(B, S, Dk), torch.randn(B, S, Dv)
    cases = [
        ((torch.randn(B, T, 1, dq), k, v, None), r"query must have 2 or 3 dimensions, got shape \(2, 4, 1, \d\)"),
        ((q, torch.randn(S, Dk), v, None), r"keys must have 3 dimensions, got shape \(6, 4\)"),
        ((q, torch.randn(3, S, Dk), v, None), r"batch sizes differ.*keys \(3, 6, 4\)"),
        ((q, k, torch.randn(B, S + 1, Dv), None), r"same length S: keys \(2, 6, 4\), values \(2, 7, 7\)"),
        ((torch.randn(B, T, dq + 1), k, v, None), r"query of shape \(2, 4, \d\) must have last dimension"),
        ((q, torch.randn(B, S, Dk + 1), v, None), r"keys of shape \(2, 6, 5\) must have last dimension key_dim=4"),
        ((q, k, v, torch.ones(B, T, dtype=torch.bool)), r"mask of shape \(2, 4\) does not broadcast to scores of shape \(2, 6\)"),
        ((q, k, v, torch.ones(B, S, T, dtype=torch.bool)), r"mask of shape \(2, 6, 4\) does not broadcast.*\(2, 4, 6\)"),
        ((q, k, v, torch.ones(B, S)), r"torch\.bool"),
        ((q.double(), k.double(), v.double(), None), r"query has dtype torch\.float64 but the module's parameters are torch\.float32"),
    ]
    if kind == "dot":  # no parameters, so dtypes are free, and no query_dim to compare with
        cases = [c for c in cases if "float64" not in c[1] and "query of shape" not in c[1]]
    for args, match in cases:
        with pytest.raises(ValueError, match=match):
            module(*args)


def test_luong_dot_mismatched_dims():
    with pytest.raises(ValueError, match=r"query_dim == key_dim.*query_dim=3, key_dim=4"):
        LuongAttention(score="dot", query_dim=3, key_dim=4)
    with pytest.raises(ValueError, match=r'score="dot" needs query and keys of the same size.*\(2, 4, 3\).*\(2, 6, 4\)'):
        LuongAttention(score="dot")(torch.randn(B, T, 3), torch.randn(B, S, 4))
    with pytest.raises(ValueError, match=r"must share a dtype, got torch\.float32, torch\.float64"):
        LuongAttention(score="dot")(torch.randn(B, T, 4), torch.randn(B, S, 4).double())
    with pytest.raises(ValueError, match=r"batch sizes differ: query \(3, 4\), keys \(2, 6, 4\)"):
        LuongAttention(score="dot")(torch.randn(3, 4), torch.randn(B, S, 4))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"score must be one of \('dot', 'general', 'concat'\), got 'cosine'"):
        LuongAttention(score="cosine", query_dim=3, key_dim=3)
    with pytest.raises(ValueError, match="needs hidden_dim"):
        LuongAttention(score="concat", query_dim=3, key_dim=4)
    with pytest.raises(ValueError, match="needs query_dim and key_dim"):
        LuongAttention(score="general", query_dim=3)
    with pytest.raises(ValueError, match="query_dim, key_dim and hidden_dim"):
        AdditiveAttention(query_dim=3, key_dim=4)
    with pytest.raises(ValueError, match="not both"):
        AdditiveAttention(config=AdditiveAttentionConfig(3, 4, 5), query_dim=3)
    with pytest.raises(ValueError, match="hidden_dim must be a positive integer, got 0"):
        AdditiveAttention(query_dim=3, key_dim=4, hidden_dim=0)
    with pytest.raises(TypeError):
        AdditiveAttention(3, 4, 5)  # keyword-only
    with pytest.raises(ValueError, match="embed_dim=10 is not divisible by num_heads=4"):
        MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match="num_heads must be a positive integer, got 0"):
        MultiHeadAttention(8, 0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        MultiHeadAttention(8, 2, dropout=1.5)


def test_mha_bad_inputs():
    mha = MultiHeadAttention(D, NH, kdim=5)
    q, k, v = torch.randn(B, T, D), torch.randn(B, S, 5), torch.randn(B, S, D)
    cases = [
        ((torch.randn(T, D), k, v), {}, r"query must have 3 dimensions, got shape \(4, 8\)"),
        ((q, torch.randn(B, S, D), v), {}, r"key of shape \(2, 6, 8\) must have last dimension 5"),
        ((torch.randn(B, T, 6), k, v), {}, r"query of shape \(2, 4, 6\) must have last dimension 8"),
        ((q, k, torch.randn(B, S + 1, D)), {}, r"same length S: key \(2, 6, 5\), value \(2, 7, 8\)"),
        ((q, torch.randn(3, S, 5), torch.randn(3, S, D)), {}, r"batch sizes differ: query \(2, 4, 8\), key \(3, 6, 5\)"),
        ((q, k, v), {"key_padding_mask": torch.ones(B, T, dtype=torch.bool)}, r"key_padding_mask of shape \(2, 4\) must have shape \(B, S\) = \(2, 6\)"),
        ((q, k, v), {"key_padding_mask": torch.ones(B, S)}, r"key_padding_mask must have dtype torch\.bool"),
        ((q, k, v), {"attn_mask": torch.ones(S, T, dtype=torch.bool)}, r"attn_mask of shape \(6, 4\) does not broadcast to scores of shape \(4, 6\)"),
        ((q, k, v), {"attn_mask": torch.ones(B, NH + 1, T, S, dtype=torch.bool)}, r"attn_mask of shape \(2, 3, 4, 6\) does not broadcast.*\(2, 2, 4, 6\)"),
        ((q, k, v), {"attn_mask": torch.ones(1, B, NH, T, S, dtype=torch.bool)}, r"attn_mask of shape \(1, 2, 2, 4, 6\) must be \(T, S\)"),
        ((q, k, v), {"attn_mask": torch.zeros(T, S)}, r"attn_mask must have dtype torch\.bool"),
        ((q.double(), k.double(), v.double()), {}, r"query has dtype torch\.float64 but the module's parameters are torch\.float32"),
    ]
    for args, kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            mha(*args, **kwargs)
