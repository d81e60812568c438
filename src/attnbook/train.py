"""The one training loop every trainer shares, the translation models' trainer, and their evaluation.

``run_training`` is the loop: Adam, a learning-rate schedule (with an optional
linear warm-up), gradient clipping, a tqdm progress bar, a budget of optimizer
steps (deterministic: the same seed gives the same model; ``max_seconds`` can
cap the wall-clock time as well) and callbacks. Each trainer only says how to draw a batch and compute its
loss: ``train_seq2seq`` here (random mini-batches of ``data.train``, the
cross-entropy of the next target word with teacher forcing, optionally with
label smoothing), and the
captioner's, the classifiers' and the Transformers' in their own modules.
``encoded_once`` keeps a training set encoded into tensors across trainings.

``evaluate`` translates held-out examples greedily and reports exact match and
token accuracy, overall and by source-length bucket, as plain dicts and lists;
``heldout_cross_entropy`` their teacher-forced loss; ``corpus_bleu`` and
``bleu_by_bucket`` add BLEU (computed by sacrebleu).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import resolve_seed
from .checks import check_choice, positive_int
from .data.reorder import LENGTH_BUCKETS
from .data.vocab import Example, ParallelData, Vocab, pad_sequences

__all__ = [
    "Callback",
    "TrainConfig",
    "TrainResult",
    "progress_bar",
    "encoded_once",
    "run_training",
    "train_seq2seq",
    "seq2seq_loss",
    "heldout_cross_entropy",
    "translate_examples",
    "score_translations",
    "evaluate",
    "bucket_label",
    "format_table",
    "corpus_bleu",
    "bleu_by_bucket",
]


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


LR_SCHEDULES = ("constant", "cosine", "inverse_sqrt")


@dataclass
class TrainConfig:
    """Budget and optimiser settings of ``run_training`` (and so of every trainer)."""

    steps: int = 1000  # optimizer steps: the (deterministic) budget
    max_seconds: Optional[float] = None  # optional wall-clock cap; training stops at whichever comes first
    batch_size: int = 64  # examples per step, drawn at random from data.train
    length_grouping: int = 8  # translation: draw this many batches at once, group them by source length (1 = off)
    lr: float = 3e-3  # Adam learning rate
    lr_schedule: str = "constant"  # "constant", "cosine" (lr -> lr × lr_final) or "inverse_sqrt" (see lr_at)
    lr_final: float = 0.0  # cosine: where the rate ends, as a fraction of lr (0 = decays to 0, 1 = constant)
    warmup: int = 0  # steps of linear warm-up: the rate climbs from lr / warmup to its schedule's value (0 = none)
    lr_decay_start: int = 0  # inverse_sqrt: the step where the 1/√step decay starts (0 = at the end of the warm-up)
    betas: Tuple[float, float] = (0.9, 0.999)  # Adam's β1, β2 (torch's defaults; Vaswani et al. used 0.9, 0.98)
    eps: float = 1e-8  # Adam's ε (torch's default; the paper used 1e-9)
    label_smoothing: float = 0.0  # train_seq2seq: ε of label smoothing in the training loss (0 = none)
    grad_clip: float = 1.0  # clip the global gradient norm to this (0 = no clipping)
    seed: Optional[int] = None  # seed of the batch order; None = ATTNBOOK_SEED (default 0)
    progress: bool = True  # show a tqdm progress bar
    desc: str = "training"  # label of the progress bar
    log_every: int = 20  # refresh the loss shown on the bar every n steps
    callback_every: int = 0  # call callback(step, model) every n steps (0 = never), e.g. to save snapshots

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "length_grouping", "log_every"):
            positive_int(getattr(self, name), name)
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive or None, got {self.max_seconds}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        if not 0.0 <= self.lr_final <= 1.0:
            raise ValueError(f"lr_final must be in [0, 1], got {self.lr_final}")
        if self.callback_every < 0:
            raise ValueError(f"callback_every must be >= 0, got {self.callback_every}")
        for name in ("warmup", "lr_decay_start"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if self.lr_decay_start and self.lr_schedule != "inverse_sqrt":
            raise ValueError(f"lr_decay_start applies to lr_schedule='inverse_sqrt' only, got {self.lr_schedule!r}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if not self.eps > 0:
            raise ValueError(f"eps must be positive, got {self.eps}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")

    def lr_at(self, step: int) -> float:
        """The learning rate of optimizer step ``step`` (1-based).

        * "constant": ``lr``;
        * "cosine": ``lr`` at step 1, falling along half a cosine towards ``lr × lr_final``;
        * "inverse_sqrt": ``lr`` up to step K, then ``lr × sqrt(K / step)``, where
          K = ``lr_decay_start``, or the end of the warm-up when that is 0.

        A warm-up of W steps multiplies any of them by ``min(1, step / W)``. So
        "inverse_sqrt" with ``warmup=W`` is Vaswani et al.'s shape,
        ``lr × min(step / W, sqrt(W / step))``, with its peak ``lr`` at step W; and
        ``warmup=0, lr_decay_start=W`` is the same schedule with the warm-up
        switched off: the peak rate from step 1, the same decay after step W.
        """
        rate = self.lr
        if self.lr_schedule == "cosine":
            cosine = 0.5 * (1.0 + math.cos(math.pi * (step - 1) / self.steps))  # 1 at step 1, -> 0
            rate = self.lr * (self.lr_final + (1 - self.lr_final) * cosine)
        elif self.lr_schedule == "inverse_sqrt":
            knee = self.lr_decay_start or self.warmup or 1  # the step where the decay starts
            rate = self.lr * min(1.0, math.sqrt(knee / step))
        if self.warmup:
            rate *= min(1.0, step / self.warmup)  # linear warm-up: lr / W at step 1, the full rate from step W
        return rate


@dataclass
class TrainResult:
    """What happened during ``run_training``."""

    steps: int  # optimizer steps taken
    seconds: float  # wall-clock time of the loop, callbacks excluded
    steps_per_second: float  # steps / seconds
    stopped_by: str  # "steps" or "time"
    losses: List[float] = field(default_factory=list)  # training loss at every step (what batch_loss logged)


class _EncodedSet:
    """A list of examples encoded once into padded tensors; ``batch(idx)`` slices and trims."""

    def __init__(self, examples: Sequence[Example], src_vocab: Vocab, tgt_vocab: Vocab) -> None:
        if len(examples) == 0:
            raise ValueError("no training examples")
        sp, tp = src_vocab.pad_id, tgt_vocab.pad_id
        self.src, self.src_lengths = pad_sequences([src_vocab.encode(e.source) for e in examples], pad_id=sp)
        self.tgt_in, self.tgt_lengths = pad_sequences(
            [tgt_vocab.encode(e.target, add_bos=True) for e in examples], pad_id=tp
        )
        self.tgt_out, _ = pad_sequences([tgt_vocab.encode(e.target, add_eos=True) for e in examples], pad_id=tp)
        # src (N, S_max), tgt_in / tgt_out (N, T_max), lengths (N,)

    def __len__(self) -> int:
        return self.src.shape[0]

    def batches(self, batch_size: int, grouping: int, generator: torch.Generator) -> Iterator[Tensor]:
        """Endless stream of index batches ``(B,)``.

        Draws ``grouping`` batches' worth of random examples, sorts them by
        source length, cuts them into batches and yields those in random order.
        """
        while True:
            pool = torch.randint(len(self), (batch_size * grouping,), generator=generator)  # (B * k,)
            if grouping > 1:
                pool = pool[torch.sort(self.src_lengths[pool], stable=True).indices]  # shortest first
            groups = pool.view(grouping, batch_size)  # (k, B)
            for g in torch.randperm(grouping, generator=generator).tolist():
                yield groups[g]

    def batch(self, idx: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        src_lengths, tgt_lengths = self.src_lengths[idx], self.tgt_lengths[idx]  # (B,), (B,)
        S, T = int(src_lengths.max()), int(tgt_lengths.max())
        # (B, S), (B,), (B, T), (B, T)
        return self.src[idx, :S], src_lengths, self.tgt_in[idx, :T], self.tgt_out[idx, :T]


Encoded = TypeVar("Encoded")
#: ``callback(step, model)``, run every ``TrainConfig.callback_every`` steps
Callback = Callable[[int, nn.Module], None]
#: encode -> its last two results: [(sources, their fingerprint, result)]
_ENCODED: Dict[Callable[..., Any], List[Tuple[Tuple[Any, ...], Tuple[Any, ...], Any]]] = {}


def _fingerprint(x: Any) -> Tuple[Any, ...]:
    """What ``encoded_once`` compares: numbers and strings by value, anything else by identity and length."""
    if isinstance(x, (int, float, str)):
        return type(x), x
    return id(x), len(x) if hasattr(x, "__len__") else None


def encoded_once(encode: Callable[..., Encoded], *sources: Any) -> Encoded:
    """``encode(*sources)``, computed once and reused while the same sources come back.

    A trainer encodes its training set into tensors before the first step; a
    chapter that trains several models on one data set pays for that once. The
    sources are compared by identity (numbers and strings by value); one whose
    length has changed since is encoded again. The last two results of each
    ``encode`` are kept.
    """
    key = tuple(_fingerprint(x) for x in sources)
    cache = _ENCODED.setdefault(encode, [])
    for _, k, result in cache:
        if k == key:
            return result
    result = encode(*sources)
    cache.insert(0, (sources, key, result))  # holding the sources keeps their ids from being reused
    del cache[2:]
    return result


def seq2seq_loss(model: nn.Module, src: Tensor, src_lengths: Tensor, tgt_in: Tensor, tgt_out: Tensor, *,
                 label_smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy of the next target word over the real (non-pad) target tokens.

    With ``label_smoothing = ε > 0`` the target is not the one right word but
    1 - ε on it plus ε spread evenly over the whole vocabulary (Szegedy et al.
    2016; PyTorch's ``F.cross_entropy(label_smoothing=ε)``)."""
    logits, _ = model(src, src_lengths, tgt_in)  # (B, T, V)
    return _next_word_loss(logits, tgt_out, getattr(model, "pad_id", 0), label_smoothing)


def _next_word_loss(logits: Tensor, tgt_out: Tensor, pad_id: int, label_smoothing: float = 0.0) -> Tensor:
    """``logits (B, T, V)`` against ``tgt_out (B, T)``: the mean cross-entropy over the non-pad tokens."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=pad_id,
                           label_smoothing=label_smoothing)


def progress_bar(total: int, desc: str, enabled: bool = True) -> tqdm:
    """The training loops' progress bar. It redraws at most once a second: in a
    notebook every redraw is a few widget messages, and a minute of training
    should not send thousands of them."""
    return tqdm(total=total, desc=desc, disable=not enabled, leave=True, mininterval=1.0)


def run_training(
    model: nn.Module,
    config: TrainConfig,
    batch_loss: Callable[[torch.Generator], Union[Tensor, Tuple[Tensor, Tensor]]],
    *,
    callback: Optional[Callback] = None,
) -> TrainResult:
    """The loop every trainer of the package shares: Adam, learning-rate schedule,
    gradient clipping, a tqdm bar, the step and time budget, and callbacks.

    ``batch_loss(generator)`` draws one batch with the seeded ``generator``
    (``config.seed``, None = ``ATTNBOOK_SEED``) and returns its loss -- or a pair
    ``(loss, logged)`` when the number to record in ``TrainResult.losses`` is
    not the loss minimised (e.g. only the cross-entropy part of a loss with
    extra terms). With ``config.callback_every = n`` the ``callback(step, model)``
    runs after every n-th step (and after the last one); its time is not
    counted as training time.
    """
    generator = torch.Generator().manual_seed(resolve_seed(config.seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas, eps=config.eps)
    model.train()
    losses: List[float] = []
    stopped_by = "steps"
    callback_seconds = 0.0  # time spent in callbacks, not counted as training time
    start = time.perf_counter()
    bar = progress_bar(config.steps, config.desc, config.progress)
    try:
        for step in range(1, config.steps + 1):
            if config.lr_schedule != "constant" or config.warmup:
                for group in optimizer.param_groups:
                    group["lr"] = config.lr_at(step)
            loss = batch_loss(generator)
            loss, logged = loss if isinstance(loss, tuple) else (loss, loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            losses.append(logged.item())
            bar.update(1)
            if step % config.log_every == 0:
                bar.set_postfix(loss=f"{sum(losses[-config.log_every:]) / config.log_every:.3f}", refresh=False)
            last = step == config.steps
            elapsed = time.perf_counter() - start - callback_seconds
            out_of_time = config.max_seconds is not None and elapsed >= config.max_seconds
            due = config.callback_every and (step % config.callback_every == 0 or last or out_of_time)
            if callback is not None and due:
                t0 = time.perf_counter()
                callback(step, model)
                model.train()  # the callback may have switched to eval mode (e.g. by decoding)
                callback_seconds += time.perf_counter() - t0
            if out_of_time and not last:
                stopped_by = "time"
                break
    finally:
        bar.close()
    seconds = time.perf_counter() - start - callback_seconds
    model.eval()
    return TrainResult(
        steps=len(losses),
        seconds=seconds,
        steps_per_second=len(losses) / seconds if seconds > 0 else math.inf,
        stopped_by=stopped_by,
        losses=losses,
    )


def train_seq2seq(model: nn.Module, data: ParallelData, config: Optional[TrainConfig] = None, *,
                  callback: Optional[Callback] = None) -> TrainResult:
    """Train ``model`` (a ``Seq2Seq``) on ``data.train`` with Adam and teacher forcing.

    The batch order comes from ``config.seed`` (``None`` = ``ATTNBOOK_SEED``);
    the model's initial weights come from whatever seeded it (call
    ``attnbook.seed_everything()`` before building it). With
    ``config.callback_every = n`` the ``callback(step, model)`` runs after every
    n-th step (and after the last one), e.g. to keep attention snapshots.
    With ``config.label_smoothing > 0`` the smoothed loss is minimised, but
    ``TrainResult.losses`` records the plain cross-entropy, so that the curves of
    runs with and without smoothing can be compared.
    """
    config = config or TrainConfig()
    device = next(model.parameters()).device
    encoded = encoded_once(_EncodedSet, data.train, data.src_vocab, data.tgt_vocab)
    batches = None

    def batch_loss(generator: torch.Generator) -> Tensor:
        nonlocal batches
        if batches is None:
            batches = encoded.batches(config.batch_size, config.length_grouping, generator)
        src, src_lengths, tgt_in, tgt_out = (t.to(device) for t in encoded.batch(next(batches)))
        if not config.label_smoothing:
            return seq2seq_loss(model, src, src_lengths, tgt_in, tgt_out)
        logits, _ = model(src, src_lengths, tgt_in)  # (B, T, V)
        pad_id = getattr(model, "pad_id", 0)
        return (_next_word_loss(logits, tgt_out, pad_id, config.label_smoothing),  # minimised
                _next_word_loss(logits.detach(), tgt_out, pad_id))  # logged: the plain cross-entropy

    return run_training(model, config, batch_loss, callback=callback)


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def bucket_label(lo: int, hi: int) -> str:
    """``(4, 10) -> "4-10"``."""
    return f"{lo}-{hi}"


def translate_examples(
    model: nn.Module,
    examples: Sequence[Example],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    batch_size: int = 512,
    max_len: Optional[int] = None,
) -> List[List[str]]:
    """Greedy translations of ``examples`` (token lists, in the examples' order).

    Sentences are decoded in batches of similar length (less padding);
    ``max_len`` defaults to the batch's longest source + 10.
    """
    device = next(model.parameters()).device
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].source))
    out: List[List[str]] = [[] for _ in examples]
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        src, src_lengths = pad_sequences([src_vocab.encode(examples[i].source) for i in chunk], pad_id=src_vocab.pad_id)
        dec = model.greedy_decode(src.to(device), src_lengths.to(device), max_len=max_len)
        for row, i in enumerate(chunk):
            out[i] = tgt_vocab.decode(dec.tokens[row, : int(dec.lengths[row])].tolist(), stop_at_eos=True)
    return out


def _metrics(preds: Sequence[Sequence[str]], refs: Sequence[Sequence[str]]) -> Dict[str, float]:
    n = len(refs)
    exact = sum(list(p) == list(r) for p, r in zip(preds, refs))
    correct = sum(sum(a == b for a, b in zip(p, r)) for p, r in zip(preds, refs))
    total = sum(len(r) for r in refs)
    return {
        "n": n,
        "exact_match": exact / n if n else float("nan"),
        "token_accuracy": correct / total if total else float("nan"),
    }


def _buckets(
    predictions: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    source_lengths: Sequence[int],
    buckets: Sequence[Tuple[int, int]],
) -> List[Tuple[int, int, List[int]]]:
    """``(lo, hi, indices of the sentences whose source length is in lo..hi)`` per bucket,
    once the three lists are checked to line up."""
    if not (len(predictions) == len(references) == len(source_lengths)):
        raise ValueError(
            f"predictions, references and source_lengths must have the same length, got "
            f"{len(predictions)}, {len(references)}, {len(source_lengths)}"
        )
    return [(lo, hi, [i for i, n in enumerate(source_lengths) if lo <= n <= hi]) for lo, hi in buckets]


def score_translations(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                       source_lengths: Sequence[int], *, buckets: Sequence[Tuple[int, int]] = LENGTH_BUCKETS
                       ) -> Dict[str, object]:
    """Exact match and token accuracy, overall and by source-length bucket.

    * exact match: the whole predicted sentence equals the reference;
    * token accuracy: the fraction of reference tokens predicted at the right
      position (a missing token counts as wrong, extra tokens after the
      reference are not counted), pooled over the sentences of a group.

    Returns ``{"overall": {...}, "by_bucket": [{"bucket": "4-10", "lo": 4,
    "hi": 10, "n": ..., "exact_match": ..., "token_accuracy": ...}, ...]}``.
    """
    by_bucket = []
    for lo, hi, idx in _buckets(predictions, references, source_lengths, buckets):
        row = {"bucket": bucket_label(lo, hi), "lo": lo, "hi": hi}
        row.update(_metrics([predictions[i] for i in idx], [references[i] for i in idx]))
        by_bucket.append(row)
    return {"overall": _metrics(predictions, references), "by_bucket": by_bucket}


def evaluate(
    model: nn.Module,
    data: ParallelData,
    *,
    examples: Optional[Sequence[Example]] = None,
    buckets: Optional[Sequence[Tuple[int, int]]] = None,
    batch_size: int = 512,
) -> Dict[str, object]:
    """Translate ``examples`` (default ``data.test``) and score them by length bucket.

    ``buckets`` defaults to ``data.info["buckets"]`` (else ``LENGTH_BUCKETS``).
    Returns ``score_translations``' dict plus ``"predictions"`` (token lists in
    the examples' order) for browsing the model's output.
    """
    examples = data.test if examples is None else examples
    if buckets is None:
        buckets = data.info.get("buckets", LENGTH_BUCKETS)
    preds = translate_examples(model, examples, data.src_vocab, data.tgt_vocab, batch_size=batch_size)
    result = score_translations(
        preds, [e.target for e in examples], [len(e.source) for e in examples], buckets=buckets
    )
    result["predictions"] = preds
    return result


@torch.no_grad()
def heldout_cross_entropy(model: nn.Module, data: ParallelData, *, examples: Optional[Sequence[Example]] = None,
                          batch_size: int = 512) -> float:
    """Mean cross-entropy (nats per target token, ``<eos>`` included) of ``examples``
    (default ``data.test``) with teacher forcing: how much probability the model
    gives the right next word. Never smoothed, whatever the model was trained with."""
    examples = data.test if examples is None else examples
    if len(examples) == 0:
        raise ValueError("heldout_cross_entropy needs at least one example")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    try:
        for start in range(0, len(examples), batch_size):
            chunk = _EncodedSet(examples[start:start + batch_size], data.src_vocab, data.tgt_vocab)
            src, src_lengths, tgt_in, tgt_out = (t.to(device) for t in chunk.batch(torch.arange(len(chunk))))
            n = int((tgt_out != getattr(model, "pad_id", 0)).sum())  # real target tokens in this chunk
            total += seq2seq_loss(model, src, src_lengths, tgt_in, tgt_out).item() * n
            tokens += n
    finally:
        model.train(was_training)
    return total / tokens


def format_table(result: Dict[str, object], *, digits: int = 2) -> str:
    """A plain-text table of ``evaluate``'s ``by_bucket`` rows and the overall row."""
    rows = list(result["by_bucket"]) + [dict(result["overall"], bucket="all")]
    lines = [f"{'source length':>13}  {'n':>5}  {'exact match':>11}  {'token acc.':>10}"]
    for r in rows:
        lines.append(
            f"{r['bucket']:>13}  {r['n']:>5}  {r['exact_match']:>11.{digits}f}  {r['token_accuracy']:>10.{digits}f}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# BLEU (sacrebleu)
# ---------------------------------------------------------------------------


def _sacrebleu():
    try:
        import sacrebleu
    except ImportError:  # pragma: no cover - sacrebleu is a dependency; this is for trimmed installs
        raise ImportError(
            "BLEU needs the sacrebleu package: pip install sacrebleu "
            "(or pip install 'attnbook[translate]')"
        ) from None
    return sacrebleu


def corpus_bleu(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """Corpus-level BLEU (0-100) of token lists, computed by sacrebleu.

    The tokens are joined with spaces and scored with ``tokenize="none"`` (they
    are already split), one reference per sentence. BLEU is the geometric mean
    of the 1- to 4-gram precisions times a brevity penalty (Papineni et al.
    2002), pooled over the corpus -- the measure of Bahdanau et al.'s Table 1.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if len(references) == 0:
        raise ValueError("corpus_bleu needs at least one sentence")
    sacrebleu = _sacrebleu()
    hyps = [" ".join(p) for p in predictions]
    refs = [" ".join(r) for r in references]
    return float(sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score)


def bleu_by_bucket(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                   source_lengths: Sequence[int], *, buckets: Sequence[Tuple[int, int]] = LENGTH_BUCKETS
                   ) -> Dict[str, object]:
    """Corpus BLEU overall and by source-length bucket (like ``score_translations``).

    Returns ``{"overall": bleu, "by_bucket": [{"bucket": "4-10", "lo": 4,
    "hi": 10, "n": ..., "bleu": ...}, ...]}``.
    """
    rows = []
    for lo, hi, idx in _buckets(predictions, references, source_lengths, buckets):
        bleu = corpus_bleu([predictions[i] for i in idx], [references[i] for i in idx]) if idx else float("nan")
        rows.append({"bucket": bucket_label(lo, hi), "lo": lo, "hi": hi, "n": len(idx), "bleu": bleu})
    return {"overall": corpus_bleu(predictions, references), "by_bucket": rows}
