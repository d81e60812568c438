"""The exercise checkers of chapters 5a and 5b, and the generic core they share (check_against).

Each checker must pass the package's own function and an independent solution, fail on the usual
mistakes with a message that names the case and the mistake, and leave the global random state alone
(a chapter's later cells must draw the same numbers whether or not an exercise ran before them).
"""
import math

import pytest
import torch

from attnbook import exercises
from attnbook.attention import merge_heads, scaled_dot_product_attention, split_heads
from attnbook.exercises import Case, ExerciseMismatch, check_against
from attnbook.transformer import causal_mask


# --- independent solutions ----------------------------------------------------------------------------
def loop_attention(q, k, v, mask=None):
    """One query at a time, in plain Python over the leading dimensions: no broadcasting tricks."""
    lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    T, S = q.shape[-2], k.shape[-2]
    full = torch.ones(*lead, T, S, dtype=torch.bool) if mask is None else mask.expand(*lead, T, S)
    q, k, v = q.expand(*lead, *q.shape[-2:]), k.expand(*lead, *k.shape[-2:]), v.expand(*lead, *v.shape[-2:])
    out = torch.zeros(*lead, T, v.shape[-1])
    weights = torch.zeros(*lead, T, S)
    for idx in torch.cartesian_prod(*[torch.arange(n) for n in lead]).reshape(-1, len(lead)).tolist():
        idx = tuple(idx)
        for t in range(T):
            allowed = full[idx][t]
            if not allowed.any():
                continue  # no key: zero weights, zero output
            scores = k[idx][allowed] @ q[idx][t] / math.sqrt(q.shape[-1])
            w = scores.softmax(0)
            weights[idx][t, allowed] = w
            out[idx][t] = w @ v[idx][allowed]
    return out, weights


def view_split(x, H):
    B, T, D = x.shape
    return x.view(B, T, H, D // H).transpose(1, 2)  # (B, H, T, Dh)


def view_merge(x):
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)  # (B, T, D)


# --- wrong solutions ----------------------------------------------------------------------------------
def minus_inf_attention(q, k, v, mask=None):
    """The textbook version: right everywhere except a query that may attend to no key (NaN there)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    w = scores.softmax(-1)
    return w @ v, w


def unscaled_attention(q, k, v, mask=None):
    return scaled_dot_product_attention(q * math.sqrt(q.shape[-1]), k, v, mask)


def over_d_attention(q, k, v, mask=None):
    return scaled_dot_product_attention(q / math.sqrt(q.shape[-1]), k, v, mask)


def maskless_attention(q, k, v, mask=None):
    return scaled_dot_product_attention(q, k, v)


def output_only_attention(q, k, v, mask=None):
    return scaled_dot_product_attention(q, k, v, mask)[0]


@pytest.mark.parametrize("fn", [lambda q, k, v, m: scaled_dot_product_attention(q, k, v, m), loop_attention])
def test_check_sdpa_passes_correct_functions(fn):
    assert exercises.check_scaled_dot_product_attention(fn) == (
        "✓ scaled_dot_product_attention agrees with the package's on all 7 cases")


@pytest.mark.parametrize("fn, match", [
    (minus_inf_attention, r"case 7 of 7 \(.*no key at all\): the output\[0\] contains NaN.*\n"
                          r"Your output is what you get if you fill the masked scores with -inf.*0/0 = NaN"),
    (unscaled_attention, r"case 1 of 7 .*\nYour output is what you get if you leave out the scale 1/√Dh"),
    (over_d_attention, r"case 1 of 7 .*\nYour output is what you get if you divide the scores by Dh"),
    (maskless_attention, r"case 4 of 7 \(.*padding mask.*\nYour output is what you get if you ignore the mask"),
    (output_only_attention, r"case 1 of 7 .*should be a tuple of 2, got a tensor"),
])
def test_check_sdpa_names_the_mistake(fn, match):
    with pytest.raises(ExerciseMismatch, match=match) as err:
        exercises.check_scaled_dot_product_attention(fn)
    assert "never NaN" in str(err.value)   # the rule the package follows is stated too


@pytest.mark.parametrize("check, fn", [
    (exercises.check_split_heads, split_heads), (exercises.check_split_heads, view_split),
    (exercises.check_merge_heads, merge_heads), (exercises.check_merge_heads, view_merge),
    (exercises.check_causal_mask, causal_mask),
    (exercises.check_causal_mask, lambda T: torch.tril(torch.ones(T, T)).bool()),
])
def test_head_and_mask_checkers_pass_correct_functions(check, fn):
    assert check(fn).endswith("agrees with the package's on all 5 cases")


@pytest.mark.parametrize("check, fn, match", [
    (exercises.check_split_heads, lambda x, H: x.reshape(x.shape[0], H, x.shape[1], -1),
     r"case 2 of 5 .*\n.*without moving the heads' axis in front of T"),
    (exercises.check_split_heads, lambda x, H: x.view(*x.shape[:2], -1, H).permute(0, 3, 1, 2),
     r"case 2 of 5 .*\n.*you cut D as \(Dh, H\)"),
    (exercises.check_split_heads, lambda x, H: x.view(*x.shape[:2], H, -1),
     r"case 1 of 5 .*has shape \(1, 3, 1, 4\), expected \(1, 1, 3, 4\)\n.*heads after T"),
    (exercises.check_merge_heads, lambda x: x.reshape(x.shape[0], x.shape[2], -1),
     r"case 2 of 5 .*\n.*without moving the heads' axis back behind T"),
    (exercises.check_merge_heads, lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], -1),
     r"case 2 of 5 .*\n.*you interleave the heads"),
    (exercises.check_causal_mask, lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1),
     r"case 1 of 5 \(T=3\).*first at index \(0, 0\): got False, expected True\n.*leave out the diagonal"),
    (exercises.check_causal_mask, lambda T: torch.ones(T, T, dtype=torch.bool).tril(1),
     r"case 1 of 5 \(T=3\).*first at index \(0, 1\): got True, expected False\n.*one step into the future"),
    (exercises.check_causal_mask, lambda T: torch.ones(T, T, dtype=torch.bool).triu(1),
     r"case 1 of 5 .*\n.*mark the masked cells True"),
    (exercises.check_causal_mask, lambda T: torch.ones(T, T).tril(),
     r"has dtype torch.float32, expected torch.bool\n.*use dtype=torch.bool"),
])
def test_head_and_mask_checkers_name_the_mistake(check, fn, match):
    with pytest.raises(ExerciseMismatch, match=match):
        check(fn)


def test_a_mistake_no_hint_knows_still_gets_the_case_and_the_rule():
    with pytest.raises(ExerciseMismatch, match=r"case 1 of 5 .*\nThe package's causal_mask") as err:
        exercises.check_causal_mask(lambda T: torch.eye(T, dtype=torch.bool))
    assert "Your output is what you get" not in str(err.value)


@pytest.mark.parametrize("check, fn", [
    (exercises.check_scaled_dot_product_attention, lambda q, k, v, m: scaled_dot_product_attention(q, k, v, m)),
    (exercises.check_scaled_dot_product_attention, minus_inf_attention),
    (exercises.check_split_heads, split_heads), (exercises.check_merge_heads, merge_heads),
    (exercises.check_causal_mask, causal_mask),
])
def test_checkers_leave_the_global_random_state_alone(check, fn):
    before = torch.get_rng_state()
    try:
        check(fn)
    except ExerciseMismatch:
        pass
    assert torch.equal(torch.get_rng_state(), before)


def test_checkers_see_no_edit_the_readers_function_makes_to_its_inputs():
    def in_place(q, k, v, m):   # right answer, but it scales q in place
        q *= 1 / math.sqrt(q.shape[-1])
        return scaled_dot_product_attention(q * math.sqrt(q.shape[-1]), k, v, m)

    assert exercises.check_scaled_dot_product_attention(in_place).startswith("✓")


# --- the generic core ---------------------------------------------------------------------------------
CASES = [Case("a (2, 3) input", (torch.arange(6.0).reshape(2, 3),)),
         Case("a (1, 4) input", (torch.ones(1, 4),))]


def test_core_reports_all_cases_when_they_agree():
    assert check_against(lambda x: x * 2, lambda x: x + x, CASES, name="double") == (
        "✓ double agrees with the package's on all 2 cases")


def test_core_reports_a_shape_mismatch():
    with pytest.raises(ExerciseMismatch, match=r"case 1 of 2 \(a \(2, 3\) input\): the output has shape \(3, 2\), "
                                               r"expected \(2, 3\)"):
        check_against(lambda x: x.T * 2, lambda x: x * 2, CASES, name="double")


def test_core_reports_nan_where_the_reference_has_a_number():
    def nan_at_one(x):
        y = x * 2
        y[0, 1] = float("nan")
        return y

    with pytest.raises(ExerciseMismatch, match=r"case 1 of 2 .*contains NaN \(first at index \(0, 1\)\) "
                                               r"where the package's has 2"):
        check_against(nan_at_one, lambda x: x * 2, CASES, name="double")


def test_core_reports_the_largest_difference():
    with pytest.raises(ExerciseMismatch, match=r"case 2 of 2 \(a \(1, 4\) input\): the output differs by up to 1 "
                                               r"\(at index \(0, 0\): got 3, expected 2\); 4 of 4 values are off"):
        check_against(lambda x: x * 2 + (x.shape[0] == 1), lambda x: x * 2, CASES, name="double")


def test_core_reports_an_exception_with_its_case():
    def fails_on_one_row(x):
        if x.shape[0] == 1:
            raise IndexError("row 1 is out of range")
        return x * 2

    with pytest.raises(ExerciseMismatch, match=r"case 2 of 2 \(a \(1, 4\) input\): your double raised "
                                               r"IndexError: row 1 is out of range"):
        check_against(fails_on_one_row, lambda x: x * 2, CASES, name="double")


def test_core_reports_wrong_kinds_of_output():
    with pytest.raises(ExerciseMismatch, match=r"the output should be a tensor of shape \(2, 3\).*got a list"):
        check_against(lambda x: (x * 2).tolist(), lambda x: x * 2, CASES, name="double")
    with pytest.raises(ExerciseMismatch, match=r"the output should be a tuple of 2, got a tuple of 1"):
        check_against(lambda x: (x,), lambda x: (x, x), CASES, name="pair")
    with pytest.raises(ExerciseMismatch, match=r"the output\[1\] has shape"):
        check_against(lambda x: (x, x.T), lambda x: (x, x), CASES, name="pair")
    with pytest.raises(ExerciseMismatch, match=r"the output is 3, expected 2"):
        check_against(lambda x: x.dim() + 1, lambda x: x.dim(), CASES, name="rank")


def test_core_wants_the_function_itself():
    with pytest.raises(TypeError, match="pass your function itself"):
        check_against(torch.ones(2), lambda x: x, CASES, name="double")
