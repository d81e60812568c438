"""Interactive attention views that keep working in the static HTML book.

Each view is an `anywidget <https://anywidget.dev>`_ component: Python checks
and computes everything once (weights rounded to a few decimals, figures
rendered to PNG), the JavaScript in ``attnbook/js/`` draws it and does all the
interaction in the browser. So the same view works in Jupyter, in Colab and in
the built HTML book, where no kernel runs.

=============================  =====================================================
view (module)                  shows
=============================  =====================================================
:class:`AttentionMatrixView`   a (T, S) weight matrix, queries as rows and keys as
(``matrix``)                   columns, with a line view beside it; hover a cell,
                               a row or a token; pick example / layer / head / step
:class:`ImageAttentionView`    an image with an attention map per output step
(``image``)                    (caption word, head, layer); several images and
                               several named maps (e.g. soft vs hard) side by side
:class:`TextAttentionView`     documents with words and sentences shaded by their
(``text``)                     weights (hierarchical attention)
:class:`PrecomputedView`       a slider / dropdown / buttons over a few values,
(``precomputed``)              each with a figure and/or data computed in Python
:class:`TranslationView`       source, reference and model output(s) token by
(``translation``)              token, wrong tokens highlighted; pick a group (a
                               length bucket) and an example, hover a position
:class:`LiveModelView`         a trained model the reader runs on their own input:
(``live``)                     types a date, a review, a sentence with [MASK], or
                               draws a digit; the exported model (ONNX) answers in
                               the page (onnxruntime-web), with its attention
=============================  =====================================================

Every constructor checks its input and raises :class:`ValueError` naming what
is wrong (shapes that do not match the tokens, rows that do not sum to 1,
NaNs, a map grid that does not divide the image); ``from_examples``,
``from_function`` and ``from_grid`` go through the same checks. ``base`` holds
what the views share: the base classes, the checks and encoders, and the
joining of each view's JavaScript with the shared ``js/common.js``.

The live views are built with :func:`live_translation`, :func:`live_document`,
:func:`live_fill_mask` and :func:`live_image`.
"""
from .base import figure_to_data_url, image_to_data_url
from .image import ImageAttentionView
from .live import LiveModelView, live_document, live_fill_mask, live_image, live_translation
from .matrix import AttentionMatrixView
from .precomputed import PrecomputedView
from .text import TextAttentionView
from .translation import TranslationView

__all__ = [
    "AttentionMatrixView",
    "ImageAttentionView",
    "TextAttentionView",
    "PrecomputedView",
    "TranslationView",
    "figure_to_data_url",
    "image_to_data_url",
    "LiveModelView",
    "live_translation",
    "live_document",
    "live_fill_mask",
    "live_image",
]
