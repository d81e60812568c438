"""TextAttentionView: documents with words and sentences shaded by their weights."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import ExampleView, as_array, as_tokens, check_decimals, check_rows, rounded, view_css, view_esm

__all__ = ["TextAttentionView"]


class TextAttentionView(ExampleView):
    """A document with each word and sentence shaded by its attention weight.

    Made for hierarchical attention: a weight per sentence (red bar at the left)
    and per word within its sentence (blue). Words are shaded by
    ``word weight × √sentence weight`` (a checkbox switches to the word weight
    alone), so only important words in important sentences stand out. Hover or
    click a word or a sentence bar to read its weights.

    Parameters
    ----------
    sentences : list of sentences, each a list of tokens (or a string, split on spaces)
    word_weights : list of lists of float
        One weight per token; each sentence's weights sum to 1 unless ``normalized=False``.
    sentence_weights : list of float, optional
        One per sentence, summing to 1. Omit for a flat (one-level) attention.
    label, prediction : str, optional
        Shown above the document ("label: positive · prediction: negative").

    Use :meth:`from_examples` for several documents and a picker: dicts with
    ``sentences``, ``word_weights`` and optionally ``sentence_weights``,
    ``label``, ``prediction`` and ``name``.
    """

    _esm = view_esm("text")
    _css = view_css("text")

    required_fields = ("sentences", "word_weights")
    optional_fields = ("sentence_weights", "label", "prediction", "name")
    default_example_label = "document"

    def __init__(self, sentences: Sequence[Any], word_weights: Sequence[Any],
                 sentence_weights: Sequence[float] | None = None, *, label: str | None = None,
                 prediction: str | None = None, name: str = "document", title: str = "", **options: Any) -> None:
        # options: build_data's (normalized, decimals, scale_by_sentence)
        example = {"sentences": sentences, "word_weights": word_weights, "sentence_weights": sentence_weights,
                   "label": label, "prediction": prediction, "name": name}
        super().__init__([example], title=title, **options)

    @staticmethod
    def build_data(
        examples: list[dict],
        *,
        normalized: bool = True,
        decimals: int = 3,
        scale_by_sentence: bool = True,
        example_label: str = "document",
    ) -> dict:
        decimals = check_decimals(decimals)
        out = []
        for e in examples:
            tag = f"document {e['name']!r}" if len(examples) > 1 else "document"
            raw = e["sentences"]
            if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
                raise ValueError(f"sentences of {tag} must be a non-empty list of sentences")
            sents = [
                as_tokens(s.split() if isinstance(s, str) else s, f"sentence {i} of {tag}")
                for i, s in enumerate(raw)
            ]
            ww = e["word_weights"]
            if isinstance(ww, np.ndarray) and ww.ndim == 1:
                ww = [ww]
            if len(ww) != len(sents):
                raise ValueError(f"{tag} has {len(sents)} sentences but {len(ww)} lists of word weights")
            words = []
            for i, (s, w) in enumerate(zip(sents, ww)):
                a = as_array(w, f"word weights of sentence {i} of {tag}")
                if a.shape != (len(s),):
                    raise ValueError(
                        f"sentence {i} of {tag} has {len(s)} tokens but {a.shape} word weights"
                    )
                if normalized:
                    check_rows(a, f"word weights of sentence {i} of {tag}")
                words.append(rounded(a, decimals))
            sw = e.get("sentence_weights")
            if sw is not None:
                a = as_array(sw, f"sentence weights of {tag}")
                if a.shape != (len(sents),):
                    raise ValueError(f"{tag} has {len(sents)} sentences but sentence weights of shape {a.shape}")
                if normalized:
                    check_rows(a, f"sentence weights of {tag}")
                sw = rounded(a, decimals)
            out.append({
                "name": str(e["name"]), "sentences": sents, "word_weights": words, "sentence_weights": sw,
                "label": None if e.get("label") is None else str(e["label"]),
                "prediction": None if e.get("prediction") is None else str(e["prediction"]),
            })
        return {"examples": out, "normalized": bool(normalized), "decimals": decimals,
                "scale_by_sentence": bool(scale_by_sentence), "example_label": str(example_label)}
