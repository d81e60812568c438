"""TranslationView: translations checked against their reference, token by token."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import ExampleView, as_tokens, view_css, view_esm

__all__ = ["TranslationView"]


def _token_status(tokens: Sequence[str], reference: Sequence[str]) -> list[str]:
    """Per output token: "right" (equals the reference token at its position),
    "wrong", or "extra" (past the end of the reference) — the rule of
    ``attnbook.train.score_translations``' token accuracy."""
    return ["extra" if j >= len(reference) else "right" if t == reference[j] else "wrong"
            for j, t in enumerate(tokens)]


class TranslationView(ExampleView):
    """Translations checked against their reference, token by token.

    One line shows the source, one the reference and one each model output.
    An output token that differs from the reference token at the same position
    is highlighted as wrong; positions the output never reached are empty
    slots, tokens past the end of the reference are extra. Hover (or Tab to) a
    token to mark that position on every line — and, with an ``alignment``, the
    source word it translates — and read them side by side; click to pin.
    Examples can be grouped (e.g. by source-length bucket): pick a group, then
    an example.

    Parameters
    ----------
    source, reference : list of str
        The sentence to translate and its correct translation.
    outputs : list of str, or dict name -> list of str
        One model's output, or several (``{"no attention": ..., "attention": ...}``),
        without ``<eos>``. May be empty.
    alignment : list of int, optional
        ``alignment[j]`` is the source position that reference token ``j``
        translates (``attnbook.data.Example.alignment``).

    Use :meth:`from_examples` for several examples and the pickers: dicts with
    ``source``, ``reference`` and ``outputs`` and optionally ``alignment``,
    ``name`` and ``group`` (examples with the same group are picked together;
    groups keep the order in which they first appear; ``group_label`` names
    them).
    """

    _esm = view_esm("translation")
    _css = view_css("translation")

    required_fields = ("source", "reference", "outputs")
    optional_fields = ("alignment", "name", "group")
    default_example_label = "example"

    def __init__(
        self,
        source: Sequence[str],
        reference: Sequence[str],
        outputs: Any,
        *,
        alignment: Sequence[int] | None = None,
        name: str = "example",
        output_label: str = "model",
        title: str = "",
    ) -> None:
        example = {"source": source, "reference": reference, "outputs": outputs,
                   "alignment": alignment, "name": name}
        super().__init__([example], title=title, output_label=output_label)

    @staticmethod
    def build_data(
        examples: list[dict],
        *,
        example_label: str = "example",
        group_label: str = "group",
        output_label: str = "model",
    ) -> dict:
        out, groups = [], []
        for k, e in enumerate(examples):
            tag = f"example {k} ({e['name']})" if len(examples) > 1 else "the example"
            src = as_tokens(e["source"], f"source of {tag}")
            ref = as_tokens(e["reference"], f"reference of {tag}")
            outs = e["outputs"]
            if isinstance(outs, Mapping):
                if not outs:
                    raise ValueError(f"outputs of {tag} is an empty dict")
                items = [(str(n), o) for n, o in outs.items()]
            else:
                items = [(str(output_label), outs)]
            outputs = []
            for oname, o in items:
                # an empty output is allowed: the model stopped at once
                toks = as_tokens(o, f"output {oname!r} of {tag}", allow_empty=True)
                status = _token_status(toks, ref)
                outputs.append({"name": oname, "tokens": toks, "status": status,
                                "right": status.count("right"), "missing": max(0, len(ref) - len(toks))})
            align = e.get("alignment")
            if align is not None:
                if isinstance(align, str) or not hasattr(align, "__len__"):
                    raise ValueError(f"alignment of {tag} must be a list of source positions")
                align = list(align)
                if len(align) != len(ref):
                    raise ValueError(
                        f"alignment of {tag} has {len(align)} entries but the reference has {len(ref)} tokens"
                    )
                for j, a in enumerate(align):
                    if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= a < len(src):
                        raise ValueError(
                            f"alignment of {tag}: entry {j} is {a!r}, not a source position 0..{len(src) - 1}"
                        )
                align = [int(a) for a in align]
            group = "" if e.get("group") is None else str(e["group"])
            if group not in groups:
                groups.append(group)
            out.append({"name": str(e["name"]), "group": group, "source": src, "reference": ref,
                        "alignment": align, "outputs": outputs})
        if "" in groups and len(groups) > 1:
            raise ValueError("give every example a group, or none: some examples have a group and others not")
        return {"examples": out, "groups": groups, "example_label": str(example_label),
                "group_label": str(group_label)}
