"""ImageAttentionView: an image with an attention map over it for each output step."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import traitlets

from .base import (
    ExampleView,
    as_array,
    as_tokens,
    check_decimals,
    check_int,
    check_rows,
    image_to_data_url,
    rounded,
    view_css,
    view_esm,
)

__all__ = ["ImageAttentionView"]


class ImageAttentionView(ExampleView):
    """An image with an attention map over it for each output step.

    Click a step (a word of a generated caption, a head, a layer) to see where the
    model looked; hover a step to preview it; hover the image to read a region's
    weight. Several named maps (e.g. ``{"soft": ..., "hard": ...}`` or one per
    layer) are drawn side by side for the same step.

    Parameters
    ----------
    image : array (H, W) grayscale or (H, W, 3) RGB
        Values in 0..1 (floats) or 0..255.
    maps : array (K, gh, gw) or (gh, gw), or dict name -> such arrays
        ``maps[name][k]`` is the attention over a gh × gw grid of regions at step
        ``k``; the grid must divide the image (H % gh == 0 and W % gw == 0), e.g. a
        4 × 4 grid of 16 × 16 regions over a 64 × 64 image, or ViT's patch grid.
        Each map sums to 1 unless ``normalized=False``.
    steps : list of K str, optional
        Labels of the steps (the caption's words, "layer 1", ...).
    step_label : str
        What a step is called ("word", "layer", ...).
    caption : str
        A line under the image (e.g. "reference: a red circle above a blue square").
    size : int
        Displayed size of the image's longer side in pixels (default 192).
    style : "heat" or "spotlight"
        Colour where the model looked (default), or darken where it did not.
    smooth : bool
        Interpolate the map between regions instead of drawing blocks.

    Use :meth:`from_examples` for several images and a picker: dicts with
    ``image``, ``maps`` and optionally ``steps``, ``caption`` and ``name``.
    """

    _esm = view_esm("image")
    _css = view_css("image")
    #: the step shown (a word, a head, a layer)
    step = traitlets.Int(0).tag(sync=True)

    required_fields = ("image", "maps")
    optional_fields = ("steps", "caption", "name")
    default_example_label = "image"

    def __init__(self, image: Any, maps: Any, *, steps: Sequence[str] | None = None, caption: str = "",
                 name: str = "image", title: str = "", **options: Any) -> None:
        # options: build_data's (step_label, normalized, decimals, size, style, smooth)
        example = {"image": image, "maps": maps, "steps": steps, "caption": caption, "name": name}
        super().__init__([example], title=title, **options)

    @staticmethod
    def build_data(
        examples: list[dict],
        *,
        step_label: str = "step",
        normalized: bool = True,
        decimals: int = 3,
        size: int = 192,
        style: str = "heat",
        smooth: bool = False,
        example_label: str = "image",
    ) -> dict:
        decimals = check_decimals(decimals)
        if style not in ("spotlight", "heat"):
            raise ValueError(f"style must be 'spotlight' or 'heat', got {style!r}")
        size = check_int(size, "size (pixels)", 16, 2000)
        out = []
        for e in examples:
            tag = f"image {e['name']!r}" if len(examples) > 1 else "image"
            url, H, W = image_to_data_url(e["image"])
            maps = e["maps"]
            if not isinstance(maps, Mapping):
                maps = {"": maps}
            if not maps:
                raise ValueError(f"maps of {tag} is empty")
            K = None
            maps_out = []
            for mname, m in maps.items():
                what = f"map {mname!r} of {tag}" if mname else f"map of {tag}"
                a = as_array(m, what)
                if a.ndim == 2:
                    a = a[None]
                if a.ndim != 3:
                    raise ValueError(f"{what} must be (K, gh, gw) or (gh, gw), got shape {a.shape}")
                k, gh, gw = a.shape
                if K is None:
                    K = k
                elif k != K:
                    raise ValueError(f"{what} has {k} steps but the other maps have {K}")
                if gh < 1 or gw < 1 or H % gh or W % gw:
                    raise ValueError(
                        f"{what} is a {gh}x{gw} grid, which does not divide the {H}x{W} image: "
                        "the image height and width must be multiples of the grid's"
                    )
                if normalized:
                    check_rows(a.reshape(k, gh * gw), what, ["step"])
                vmax = float(a.max()) if a.size else 0.0
                maps_out.append({
                    "name": str(mname), "grid": [gh, gw],
                    "weights": rounded(a.reshape(k, gh * gw), decimals),
                    "vmax": round(vmax, decimals) or 1.0,
                })
            if e.get("steps") is None:
                steps = [f"{step_label} {i + 1}" for i in range(K)]
            else:
                steps = as_tokens(e["steps"], f"steps of {tag}")
                if len(steps) != K:
                    raise ValueError(f"{tag} has {len(steps)} steps but its maps have {K}")
            out.append({"name": str(e["name"]), "image": url, "height": H, "width": W,
                        "steps": steps, "caption": str(e.get("caption") or ""), "maps": maps_out})
        return {
            "examples": out, "normalized": bool(normalized), "decimals": decimals, "size": size,
            "style": style, "smooth": bool(smooth), "step_label": str(step_label),
            "example_label": str(example_label),
        }
