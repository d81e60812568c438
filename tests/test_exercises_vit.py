"""The checkers of chapter 6's exercises pass the package's own functions and name the usual mistakes."""
import pytest
import torch
from einops import rearrange

from attnbook.exercises import ExerciseMismatch, check_attention_rollout, check_patchify
from attnbook.vit import attention_rollout, patchify


def unfold_patchify(images, p):
    """An independent solution: torch's unfold instead of the package's einops pattern."""
    B, C, H, W = images.shape
    if H % p or W % p:
        raise ValueError(f"{H}×{W} images do not split into {p}×{p} patches")
    x = images.unfold(2, p, p).unfold(3, p, p)  # (B, C, H/p, W/p, p, p)
    return x.permute(0, 2, 3, 1, 4, 5).reshape(B, -1, C * p * p)  # (B, N, C·p·p)


def loop_rollout(weights):
    """An independent solution: the layers one at a time, in plain tensor algebra."""
    L, B, H, T, _ = weights.shape
    rollout = torch.eye(T).expand(B, T, T)
    for a in weights.mean(dim=2):  # (B, T, T), first layer first
        a = (a + torch.eye(T)) / 2
        rollout = (a / a.sum(-1, keepdim=True)) @ rollout
    return rollout


@pytest.mark.parametrize("fn", [patchify, unfold_patchify])
def test_check_patchify_passes_correct_functions(fn):
    report = check_patchify(fn)
    assert report.startswith("✓ patchify agrees") and "6 cases" in report and "refuses the 2" in report


def patches_column_first(images, p):
    return rearrange(images, "b c (r p1) (k p2) -> b (k r) (c p1 p2)", p1=p, p2=p)


def channels_last(images, p):
    return rearrange(images, "b c (r p1) (k p2) -> b (r k) (p1 p2 c)", p1=p, p2=p)


def crops(images, p):
    """Right on every size p divides, but silently drops the pixels that do not fill a patch."""
    B, C = images.shape[:2]
    return images.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5).reshape(B, -1, C * p * p)


def test_check_patchify_accepts_any_error_on_sizes_it_cannot_cut_but_says_what_the_package_raises():
    def reshape_only(images, p):   # a reshape that does not fit raises RuntimeError
        B, C, H, W = images.shape
        x = images.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(B, -1, C * p * p)

    assert "(RuntimeError; the package raises ValueError" in check_patchify(reshape_only)
    with pytest.raises(TypeError, match="my_patchify"):
        check_patchify(patchify(torch.zeros(1, 1, 2, 2), 1))


@pytest.mark.parametrize("fn", [attention_rollout, loop_rollout])
def test_check_attention_rollout_passes_correct_functions(fn):
    assert check_attention_rollout(fn) == "✓ attention_rollout agrees with the package's on all 6 cases"


def without_identity(weights):
    return attention_rollout(weights, residual=False)


def layers_reversed(weights):
    L, B, H, T, _ = weights.shape
    rollout = torch.eye(T).expand(B, T, T)
    for a in weights.mean(dim=2):
        a = (a + torch.eye(T)) / 2
        rollout = rollout @ (a / a.sum(-1, keepdim=True))   # first layer on the left: A_1 ⋯ A_L
    return rollout


def first_head(weights):
    return loop_rollout(weights[:, :, :1])


PATCHIFY_RULE = ("reading order", "channel by channel")
ROLLOUT_RULE = ("(A + I) / 2", "renormalise", "A_L ⋯ A_1")


@pytest.mark.parametrize("check, fn, match, rule", [
    (check_patchify, patches_column_first, r"case 1 of 6 .*\n.*number the patches down the columns first",
     PATCHIFY_RULE),
    (check_patchify, channels_last, r"case 2 of 6 \(two 6×6 RGB images.*\n.*channels last", PATCHIFY_RULE),
    (check_patchify, crops, r"10×10 image with patch_size=3.*returned a tensor of shape \(2, 9, 9\).*must be refused",
     ()),
    (check_attention_rollout, without_identity, r"case 1 of 6 .*\n.*leave out the identity", ROLLOUT_RULE),
    (check_attention_rollout, layers_reversed, r"case 2 of 6 \(L=2 layers.*\n.*wrong order, A_1 ⋯ A_L", ROLLOUT_RULE),
    (check_attention_rollout, first_head, r"case 3 of 6 \(L=1 layer, B=2, H=4 heads.*\n.*first head instead of averaging",
     ROLLOUT_RULE),
], ids=lambda x: getattr(x, "__name__", None))
def test_a_checker_names_the_mistake_and_the_convention(check, fn, match, rule):
    with pytest.raises(ExerciseMismatch, match=match) as err:
        check(fn)
    for text in rule:
        assert text in str(err.value)


def test_check_attention_rollout_reports_a_wrong_shape_and_an_exception():
    with pytest.raises(ExerciseMismatch, match=r"shape \(1, 3\), expected \(1, 3, 3\)"):
        check_attention_rollout(lambda w: attention_rollout(w)[:, 0])
    with pytest.raises(ExerciseMismatch, match="raised ValueError: not yet"):
        check_attention_rollout(lambda w: (_ for _ in ()).throw(ValueError("not yet")))


def test_the_checkers_use_their_own_generator_not_the_global_one():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    check_patchify(patchify)
    check_attention_rollout(attention_rollout)
    assert torch.equal(torch.random.get_rng_state(), before)
