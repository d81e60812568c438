"""A text box that runs a trained translation model on what the reader types.

Unlike the other views, this one calls Python on every change, so it needs a
running kernel (Colab, Jupyter); it says so above the box. On the static page
the box does not react, and the answer under it is the one computed, for the
initial text, when the page was built.
"""
from __future__ import annotations

import html
from typing import Any, Callable, Sequence

import ipywidgets

from ..align import decode_with_attention
from ..data.vocab import Vocab
from ..viz import alignment_heatmap
from .base import figure_to_data_url

__all__ = ["live_translation_box"]

#: shown above the box until the first change, which only a kernel can answer
NEEDS_KERNEL = (
    '<div style="border-left:4px solid #e8590c;background:#fff4e6;padding:6px 10px;margin:4px 0">'
    "<b>Needs a running kernel (Colab/Jupyter).</b> On the static web page typing here does nothing; "
    "the result below was computed when the page was built.</div>"
)
#: shown instead, once the kernel has answered a change
LIVE = '<div style="padding:4px 0;color:#2b8a3e">Live: translated by the model in your kernel.</div>'


def live_translation_box(
    model: Any,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    tokenize: Callable[[str], Sequence[str]],
    value: str,
    what: str = "sentence",
    join: str = " ",
    title: str = "where each output token looked",
    width: str = "420px",
) -> ipywidgets.VBox:
    """A text box whose text ``model`` translates (greedily) on Enter, with its attention.

    The answer shows the tokens read, the translation (its tokens joined by
    ``join``: ``""`` for a date in ISO form), the words ``src_vocab`` does not
    know, and an alignment heatmap of where each output token looked.

    Parameters
    ----------
    model : a trained sequence-to-sequence model with attention
        Anything :func:`attnbook.align.decode_with_attention` runs (it has a
        ``greedy_decode`` that returns attention weights).
    src_vocab, tgt_vocab : attnbook.data.Vocab
        The vocabularies the model was trained with.
    tokenize : callable str -> list of str
        Splits the typed text into source tokens (e.g. ``attnbook.data.dates.tokenize_date``).
    value : str
        The text in the box at first (not empty); its answer is what the static page shows.
    what : str
        What the reader types ("date"): the box's label and the hint for an empty box.

    Returns an ``ipywidgets.VBox`` whose children are the note (needs a
    kernel / live), the text box and the answer (``ipywidgets.HTML``).
    Raises ValueError for arguments that cannot work; text the model cannot
    read is answered in the page instead.
    """
    if not callable(getattr(model, "greedy_decode", None)):
        raise ValueError(f"model must be a translation model with a greedy_decode method, got {type(model).__name__}")
    for name, vocab in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab)):
        if not isinstance(vocab, Vocab):
            raise ValueError(f"{name} must be an attnbook.data.Vocab, got {type(vocab).__name__}")
    if not callable(tokenize):
        raise ValueError(f"tokenize must be a function from text to a list of tokens, got {type(tokenize).__name__}")
    for name, text in (("value", value), ("what", what), ("join", join), ("title", title), ("width", width)):
        if not isinstance(text, str):
            raise ValueError(f"{name} must be a string, got {type(text).__name__}")
    if not what.strip():
        raise ValueError("what must name what the reader types, e.g. 'date'")

    def answer(text: str) -> str:
        """The HTML answer to ``text``."""
        tokens = tokenize(text)
        if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"tokenize must return a list of str tokens, got {tokens!r}")
        tokens = list(tokens)
        if not tokens:
            return f"<p>Type a {html.escape(what)} first.</p>"
        unknown = [t for t in tokens if t not in src_vocab]
        (out, w), = decode_with_attention(model, [tokens], src_vocab, tgt_vocab)
        translation = html.escape(join.join(out)) or "(nothing)"
        parts = [f"<p><b>{html.escape(' '.join(tokens))}</b> &rarr; <b>{translation}</b></p>"]
        if unknown:
            parts.append(f"<p>Words the model has never seen: {html.escape(', '.join(unknown))}</p>")
        if out:
            fig = alignment_heatmap(w, out, tokens, title=title)
            fig.set_size_inches(1.2 + 0.55 * len(tokens), 3.6)
            parts.append(f'<img alt="attention heatmap" src="{figure_to_data_url(fig)}">')
        return "".join(parts)

    if not tokenize(value):
        raise ValueError(f"value must be a {what} to show before anyone types (the static page shows its answer), "
                         f"got {value!r}")
    first = answer(value)  # runs the model once: a model without attention fails here
    note = ipywidgets.HTML(NEEDS_KERNEL)
    box = ipywidgets.Text(value=value, description=f"{what}:", continuous_update=False,
                          layout=ipywidgets.Layout(width=width))
    result = ipywidgets.HTML(first)

    def on_change(change: dict) -> None:
        note.value = LIVE
        result.value = answer(change["new"])

    box.observe(on_change, names="value")
    return ipywidgets.VBox([note, box, result])
