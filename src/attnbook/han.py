"""Hierarchical attention networks for document classification (Yang et al., 2016).

A document is a list of sentences, a sentence a list of words::

    words (B, N, L) --embed--> (B, N, L, E) --word bi-GRU--> (B, N, L, 2H)
        --word pooling--> sentence vectors (B, N, 2H)
        --sentence bi-GRU--> (B, N, 2H) --sentence pooling--> document (B, 2H)
        --linear--> logits (B, C)

The *pooling* is what chapter 4's ablation changes (``HANConfig.pooling``):

* ``"attention"`` (HN-ATT): ``u_i = tanh(W h_i + b)``, weights
  ``softmax(u_i . u_ctx)`` against a learned context vector ``u_ctx``, output
  ``sum_i a_i h_i``;
* ``"mean"`` (HN-AVE): the average of the ``h_i``;
* ``"max"`` (HN-MAX): the element-wise maximum.

Every pooling also returns *weights* over its inputs, so the three variants can
be drawn alike: attention gives its softmax, mean the uniform 1/n, and max the
share of the 2H channels whose maximum comes from each input.

``FlatAttentionClassifier`` is the non-hierarchical baseline: one bi-GRU over
all the words of the document and one word attention.

Padding is handled with masks (padding words and padding sentences get weight
0) and ``pack_padded_sequence`` (the GRUs never read padding).

``erase_sentence``, ``choose_sentences`` and ``flip_rate`` make an *erasure
test* of the sentence weights: delete the sentence a model weighs most (or a
random one) and count how often its prediction changes.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .attention import masked_softmax
from .checks import check_choice, check_positive_ints
from .data.reviews import NO_OPINION, Review, ReviewBatch, ReviewData, verdict_of
from .train import Callback, TrainConfig, TrainResult, encoded_once, run_training

__all__ = [
    "POOLINGS",
    "HANConfig",
    "HANOutput",
    "Pooling",
    "BiGRUEncoder",
    "HAN",
    "FlatAttentionClassifier",
    "train_classifier",
    "evaluate_classifier",
    "predict",
    "top_hits",
    "erase_sentence",
    "choose_sentences",
    "flip_rate",
]

POOLINGS = ("attention", "mean", "max")


@dataclass
class HANConfig:
    """Sizes of a ``HAN`` (or ``FlatAttentionClassifier``) and its pooling."""

    vocab_size: int
    n_classes: int = 2
    emb_dim: int = 32
    word_hidden: int = 32  # per direction: word annotations have 2 x word_hidden numbers
    sentence_hidden: int = 32  # per direction
    attention_dim: int = 32  # size of u_i and of the context vector
    pooling: str = "attention"  # "attention" (HN-ATT), "mean" (HN-AVE) or "max" (HN-MAX)
    pad_id: int = 0

    def __post_init__(self) -> None:
        check_choice(self.pooling, "pooling", POOLINGS)
        check_positive_ints(vocab_size=self.vocab_size, emb_dim=self.emb_dim, word_hidden=self.word_hidden,
                            sentence_hidden=self.sentence_hidden, attention_dim=self.attention_dim)
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {self.n_classes}")

    @classmethod
    def for_data(cls, data: ReviewData, **overrides) -> "HANConfig":
        return cls(vocab_size=len(data.vocab), n_classes=2, **overrides)


class Pooling(nn.Module):
    """Turn n vectors (B, n, D) into one (B, D) plus weights (B, n) over the inputs."""

    def __init__(self, dim: int, attention_dim: int, kind: str = "attention") -> None:
        super().__init__()
        check_choice(kind, "pooling", POOLINGS)
        self.kind = kind
        if kind == "attention":
            self.proj = nn.Linear(dim, attention_dim)  # u_i = tanh(W h_i + b)
            self.context = nn.Parameter(torch.randn(attention_dim) / math.sqrt(attention_dim))  # u_ctx

    def forward(self, h: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
        """``h`` (B, n, D), ``mask`` (B, n) True where real -> (B, D), weights (B, n)."""
        if self.kind == "attention":
            u = torch.tanh(self.proj(h))                     # (B, n, A)
            scores = u @ self.context                        # (B, n)
            weights = masked_softmax(scores, mask)           # (B, n), 0 on padding
            return (weights.unsqueeze(-1) * h).sum(1), weights
        m = mask.unsqueeze(-1).to(h.dtype)                   # (B, n, 1)
        count = m.sum(1).clamp(min=1)                        # (B, 1)
        if self.kind == "mean":
            return (h * m).sum(1) / count, mask.to(h.dtype) / count
        masked = h.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        pooled, winner = masked.max(1)                       # (B, D): which input wins each channel
        weights = F.one_hot(winner, h.shape[1]).to(h.dtype).mean(1)   # (B, n): share of channels won
        return pooled, weights


class BiGRUEncoder(nn.Module):
    """A bidirectional GRU over padded sequences: (K, T, I) + lengths (K,) -> (K, T, 2H)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out


class HANOutput(NamedTuple):
    logits: Tensor  # (B, C)
    word_weights: Tensor  # (B, N, L): per sentence, sums to 1 over its words
    sentence_weights: Tensor  # (B, N): sums to 1 over the document's sentences


def _check_batch(words: Tensor, sentence_lengths: Tensor) -> None:
    if words.dim() != 3:
        raise ValueError(f"words must be (B, N, L) token ids, got shape {tuple(words.shape)}")
    if words.dtype != torch.long:
        raise ValueError(f"words must be integer token ids (torch.long), got {words.dtype}")
    if sentence_lengths.shape != words.shape[:2]:
        raise ValueError(
            f"sentence_lengths must be (B, N) = {tuple(words.shape[:2])}, got {tuple(sentence_lengths.shape)}")
    if (sentence_lengths < 0).any() or (sentence_lengths > words.shape[2]).any():
        raise ValueError(f"sentence_lengths must lie in [0, L={words.shape[2]}]")
    if (sentence_lengths[:, 0] == 0).any():
        raise ValueError("every document needs at least one sentence (sentence_lengths[:, 0] > 0)")


class _DocumentClassifier(nn.Module):
    """What ``HAN`` and the flat baseline share: the config and the word embeddings (created first)."""

    def __init__(self, config: HANConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.emb_dim, padding_idx=config.pad_id)


class HAN(_DocumentClassifier):
    """Word encoder + word pooling -> sentence vectors; sentence encoder + pooling -> document."""

    def __init__(self, config: HANConfig) -> None:
        super().__init__(config)  # config, embed
        self.word_encoder = BiGRUEncoder(config.emb_dim, config.word_hidden)
        self.word_pool = Pooling(2 * config.word_hidden, config.attention_dim, config.pooling)
        self.sentence_encoder = BiGRUEncoder(2 * config.word_hidden, config.sentence_hidden)
        self.sentence_pool = Pooling(2 * config.sentence_hidden, config.attention_dim, config.pooling)
        self.classify = nn.Linear(2 * config.sentence_hidden, config.n_classes)

    def forward(self, words: Tensor, sentence_lengths: Tensor) -> HANOutput:
        """``words`` (B, N, L) ids, ``sentence_lengths`` (B, N) with 0 for padding sentences."""
        _check_batch(words, sentence_lengths)
        B, N, L = words.shape
        real = sentence_lengths > 0                          # (B, N)
        flat_words = words[real]                             # (K, L): the K real sentences
        flat_lengths = sentence_lengths[real]                # (K,)
        h = self.word_encoder(self.embed(flat_words), flat_lengths)            # (K, L, 2Hw)
        word_mask = torch.arange(L, device=words.device) < flat_lengths[:, None]  # (K, L)
        sent_vecs, w_weights = self.word_pool(h, word_mask)  # (K, 2Hw), (K, L)
        sentences = sent_vecs.new_zeros(B, N, sent_vecs.shape[-1])
        sentences[real] = sent_vecs                          # (B, N, 2Hw), zeros for padding
        word_weights = w_weights.new_zeros(B, N, L)
        word_weights[real] = w_weights
        s = self.sentence_encoder(sentences, real.sum(1))   # (B, N, 2Hs)
        doc, sentence_weights = self.sentence_pool(s, real)  # (B, 2Hs), (B, N)
        return HANOutput(self.classify(doc), word_weights, sentence_weights)


class FlatAttentionClassifier(_DocumentClassifier):
    """The non-hierarchical baseline: one bi-GRU over the whole document, one word attention.

    Takes the same (B, N, L) batches as ``HAN``; its word weights sum to 1 over
    the whole document, and the "sentence weights" it reports are the sums of
    its word weights per sentence.
    """

    def __init__(self, config: HANConfig) -> None:
        super().__init__(config)  # config, embed
        self.encoder = BiGRUEncoder(config.emb_dim, config.word_hidden)
        self.pool = Pooling(2 * config.word_hidden, config.attention_dim, config.pooling)
        self.classify = nn.Linear(2 * config.word_hidden, config.n_classes)

    def forward(self, words: Tensor, sentence_lengths: Tensor) -> HANOutput:
        _check_batch(words, sentence_lengths)
        B, N, L = words.shape
        word_mask = torch.arange(L, device=words.device) < sentence_lengths[..., None]   # (B, N, L)
        doc_lengths = sentence_lengths.sum(1)                                            # (B,)
        T = int(doc_lengths.max())
        # the document's words, in order, without the padding inside sentences: (B, T)
        flat = words.new_zeros(B, T)
        flat_mask = torch.arange(T, device=words.device) < doc_lengths[:, None]          # (B, T)
        flat[flat_mask] = words[word_mask]
        h = self.encoder(self.embed(flat), doc_lengths)     # (B, T, 2H)
        doc, weights = self.pool(h, flat_mask)               # (B, 2H), (B, T)
        word_weights = weights.new_zeros(B, N, L)
        word_weights[word_mask] = weights[flat_mask]
        return HANOutput(self.classify(doc), word_weights, word_weights.sum(-1))


# ---------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------


def _encode(data: ReviewData, reviews: Sequence[Review]) -> ReviewBatch:
    return data.batch(list(reviews))


def _trim(words: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
    n = int((lengths > 0).sum(1).max())
    l = int(lengths.max())
    return words[:, :n, :l], lengths[:, :n]


def train_classifier(model: nn.Module, data: ReviewData, config: Optional[TrainConfig] = None, *,
                     callback: Optional[Callback] = None) -> TrainResult:
    """Train a document classifier on ``data.train`` with Adam and cross-entropy.

    The budget is ``config.steps`` batches of ``config.batch_size`` reviews drawn
    at random (the order seeded by ``config.seed``, None = ``ATTNBOOK_SEED``);
    a tqdm bar shows progress. ``callback(step, model)`` runs every
    ``config.callback_every`` steps, as in ``train_seq2seq``.
    """
    config = config or TrainConfig()
    device = next(model.parameters()).device
    encoded = encoded_once(_encode, data, data.train)  # (N, n, L) ids etc.: once for every model of a chapter
    n = len(data.train)

    def batch_loss(generator: torch.Generator) -> Tensor:
        idx = torch.randint(n, (config.batch_size,), generator=generator)
        words, lengths = _trim(encoded.words[idx], encoded.sentence_lengths[idx])
        out = model(words.to(device), lengths.to(device))
        return F.cross_entropy(out.logits, encoded.labels[idx].to(device))

    return run_training(model, config, batch_loss, callback=callback)


@torch.inference_mode()
def predict(model: nn.Module, data: ReviewData, reviews: Optional[Sequence[Review]] = None,
            batch_size: int = 500) -> Dict[str, list]:
    """Labels, probabilities and attention of ``model`` on ``reviews`` (default ``data.test``).

    Returns plain lists, one item per review: ``predictions`` (int),
    ``probabilities`` (of "positive"), ``word_weights`` (a list of arrays, one per
    sentence, trimmed to its words) and ``sentence_weights`` (an array).
    """
    reviews = list(data.test if reviews is None else reviews)
    if not reviews:
        raise ValueError("no reviews to predict")
    device = next(model.parameters()).device
    model.eval()
    out = {"predictions": [], "probabilities": [], "word_weights": [], "sentence_weights": []}
    for i in range(0, len(reviews), batch_size):
        chunk = reviews[i:i + batch_size]
        b = data.batch(chunk)
        res = model(b.words.to(device), b.sentence_lengths.to(device))
        probs = res.logits.softmax(-1).cpu()
        ww, sw = res.word_weights.cpu().numpy(), res.sentence_weights.cpu().numpy()
        for k, r in enumerate(chunk):
            out["predictions"].append(int(probs[k].argmax()))
            out["probabilities"].append(float(probs[k, 1]))
            out["word_weights"].append([ww[k, j, : len(s)] for j, s in enumerate(r.sentences)])
            out["sentence_weights"].append(sw[k, : len(r.sentences)])
    return out


def top_hits(reviews: Sequence[Review], word_weights: Sequence, sentence_weights: Sequence) -> Dict[str, float]:
    """Score attention against the generator's truth.

    * ``sentence``: share of reviews whose largest sentence weight is on a decisive
      sentence; ``sentence_chance``: the same for a uniformly random sentence.
    * ``word``: share of decisive sentences whose largest word weight is on one of
      their key words (the sentiment word or its ``not``); ``word_chance`` likewise.
    * ``sentence_mass``: mean total sentence weight on the decisive sentences.
    """
    if not (len(reviews) == len(word_weights) == len(sentence_weights)) or not reviews:
        raise ValueError("need one word_weights and one sentence_weights per review, and at least one review")
    s_hit = s_chance = mass = 0.0
    w_hit = w_chance = 0.0
    n_dec = 0
    for r, ww, sw in zip(reviews, word_weights, sentence_weights):
        if len(sw) != len(r.sentences):
            raise ValueError(f"a review has {len(r.sentences)} sentences but {len(sw)} sentence weights")
        top = int(max(range(len(sw)), key=lambda i: sw[i]))
        s_hit += top in r.decisive
        s_chance += len(r.decisive) / len(r.sentences)
        mass += float(sum(sw[i] for i in r.decisive))
        for i in r.decisive:
            w = ww[i]
            w_hit += int(max(range(len(w)), key=lambda j: w[j])) in r.key_words[i]
            w_chance += len(r.key_words[i]) / len(r.sentences[i])
            n_dec += 1
    n = len(reviews)
    return {"sentence": s_hit / n, "sentence_chance": s_chance / n, "sentence_mass": mass / n,
            "word": w_hit / n_dec, "word_chance": w_chance / n_dec}


def evaluate_classifier(model: nn.Module, data: ReviewData,
                        reviews: Optional[Sequence[Review]] = None) -> Dict:
    """Accuracy on ``reviews`` (default ``data.test``), attention scored by ``top_hits``, and the predictions."""
    reviews = list(data.test if reviews is None else reviews)
    p = predict(model, data, reviews)
    correct = [int(pred == r.label) for pred, r in zip(p["predictions"], reviews)]
    return {"accuracy": sum(correct) / len(reviews),
            "attention": top_hits(reviews, p["word_weights"], p["sentence_weights"]),
            **p}


# ---------------------------------------------------------------------------
# Erasure: does the sentence with the largest weight matter to the prediction?
# ---------------------------------------------------------------------------


def erase_sentence(review: Review, index: int) -> Review:
    """``review`` without its sentence ``index``, with its truth recomputed.

    The generator's rule (:func:`attnbook.data.reviews.verdict_of`: the last
    opinion of the phone decides) is applied to the sentences that remain, so
    the returned ``label`` and ``decisive`` say what the verdict is *after* the
    erasure: erasing the verdict hands the decision to the latest earlier
    opinion. Raises ValueError for an index outside the review, a one-sentence
    review, or an erasure that leaves no opinion of the phone.
    """
    if not isinstance(review, Review):
        raise ValueError(f"review must be a Review, got a {type(review).__name__}")
    n = len(review.sentences)
    if len(review.opinions) != n:
        raise ValueError(f"the review has {n} sentences but {len(review.opinions)} opinions: "
                         "it was not made by attnbook.data.reviews")
    if not -n <= index < n:
        raise ValueError(f"index {index} is outside a review of {n} sentences")
    if n == 1:
        raise ValueError("cannot erase the only sentence of a review")
    index %= n
    keep = [i for i in range(n) if i != index]
    opinions = tuple(review.opinions[i] for i in keep)
    label, at = verdict_of(opinions)   # ValueError when no opinion of the phone is left
    kinds = tuple("verdict" if j == at else ("earlier" if o != NO_OPINION else review.kinds[i])
                  for j, (i, o) in enumerate(zip(keep, opinions)))
    return replace(review, sentences=tuple(review.sentences[i] for i in keep), label=label, decisive=(at,),
                   key_words=tuple(review.key_words[i] for i in keep), kinds=kinds, opinions=opinions)


def choose_sentences(sentence_weights: Sequence, how: str = "top", *, seed: int = 0) -> List[int]:
    """One sentence index per review, picked from its sentence weights (each an array of length n_i).

    ``how``: ``"top"`` the largest weight; ``"least"`` the smallest; ``"random"``
    a sentence drawn uniformly from the *other* sentences than the largest (with
    ``random.Random(seed)``), the control of an erasure test.
    """
    if how not in ("top", "least", "random"):
        raise ValueError(f"how must be 'top', 'least' or 'random', got {how!r}")
    rng = random.Random(seed)
    picks = []
    for k, w in enumerate(sentence_weights):
        w = [float(x) for x in w]
        if len(w) < 2:
            raise ValueError(f"review {k} has {len(w)} sentence weight(s); erasure needs at least 2 sentences")
        top = max(range(len(w)), key=lambda i: w[i])
        if how == "top":
            picks.append(top)
        elif how == "least":
            picks.append(min(range(len(w)), key=lambda i: w[i]))
        else:
            picks.append(rng.choice([i for i in range(len(w)) if i != top]))
    return picks


def flip_rate(model: nn.Module, data: ReviewData, reviews: Sequence[Review], erase: Sequence[int]) -> Dict:
    """Erase sentence ``erase[k]`` from ``reviews[k]`` and compare ``model``'s predictions before and after.

    Returns ``flip_rate`` (share of reviews whose predicted label changes),
    ``truth_flip_rate`` (share whose true label changes under the generator's
    rule), ``accuracy_after`` (predictions after erasure against the new truth)
    and the per-review lists ``flipped`` and ``truth_flipped``.
    """
    reviews = list(reviews)
    if not reviews or len(erase) != len(reviews):
        raise ValueError(f"need one sentence index per review and at least one review, "
                         f"got {len(erase)} indices for {len(reviews)} reviews")
    erased = [erase_sentence(r, int(i)) for r, i in zip(reviews, erase)]
    before = predict(model, data, reviews)["predictions"]
    after = predict(model, data, erased)["predictions"]
    flipped = [a != b for a, b in zip(before, after)]
    truth_flipped = [r.label != e.label for r, e in zip(reviews, erased)]
    n = len(reviews)
    return {"flip_rate": sum(flipped) / n, "truth_flip_rate": sum(truth_flipped) / n,
            "accuracy_after": sum(p == e.label for p, e in zip(after, erased)) / n,
            "flipped": flipped, "truth_flipped": truth_flipped}
