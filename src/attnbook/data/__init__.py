"""Synthetic data sets of the course, generated from a seed (nothing is downloaded).

``vocab`` holds what every task shares (``Vocab``, ``Example``,
``ParallelData``, ``make_batch``); each task has its own module, e.g.
``reorder`` (chapters 1 and 3: a translation task whose length you control),
``dates`` (chapter 3: dates in many formats -> ISO, with a known alignment),
``scenes`` (chapters 2 and 6: coloured shapes on a canvas, with per-object masks),
``reviews`` (chapter 4: phone reviews whose deciding sentence and words are known),
``language`` (chapter 5: a toy language with known fillers, and an order task),
``digits`` (chapter 6: scikit-learn's bundled 8×8 handwritten digits, a fixed split).
"""
from .dates import DATE_FORMATS, DateExample, DatesConfig, make_dates_data
from .scenes import COLOURS, SHAPES, SceneConfig, SceneData, Scenes, make_scene_data, make_scenes, shape_stamp
from .reviews import LABELS, Review, ReviewData, ReviewsConfig, make_reviews_data
from .reorder import LENGTH_BUCKETS, LEXICON, ReorderConfig, make_reorder_data, translate
from .vocab import (
    BOS,
    EOS,
    PAD,
    UNK,
    Example,
    ParallelData,
    Seq2SeqBatch,
    Vocab,
    make_batch,
    pad_sequences,
)

__all__ = [
    "PAD", "BOS", "EOS", "UNK",
    "Vocab", "Example", "ParallelData", "Seq2SeqBatch", "make_batch", "pad_sequences",
    "LEXICON", "LENGTH_BUCKETS", "ReorderConfig", "make_reorder_data", "translate",
    "DATE_FORMATS", "DateExample", "DatesConfig", "make_dates_data",
    "LABELS", "Review", "ReviewData", "ReviewsConfig", "make_reviews_data",
    "COLOURS", "SHAPES", "SceneConfig", "Scenes", "SceneData", "make_scenes", "make_scene_data", "shape_stamp",
]
