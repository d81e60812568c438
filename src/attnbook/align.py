"""Does attention look where it should? Learnt alignments against the truth.

A translation model with attention gives, for every output word, a weight
per source word (``AttentionDecoder``). The synthetic tasks of the book know
the true alignment (``Example.alignment``, and ``DateExample.spans`` where a
target word is read from several source words), so the learnt one can be
scored:

* ``attention_on_references`` -- the model's weights while it reads each
  *reference* translation (teacher forcing): one ``(T, S)`` array per example,
  row ``j`` the attention when the model writes target word ``j``;
* ``alignment_hits`` -- per target word, whether the arg-max of its row lands
  on a true source position (or within ``tolerance`` positions of one);
* ``alignment_accuracy`` -- the fraction of hits, and what a uniformly random
  pick would score (the chance level);
* ``decode_with_attention`` -- the model's own translations (greedy) with the
  attention behind every output word, for drawing;
* ``local_positions`` -- for a model with Luong's local attention, the
  aligned position ``p_t`` its window was centred on for every reference word.

Target words with no source word (``alignment == -1``, an empty span) are
not counted.
"""
from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .checks import check_tokens
from .data.vocab import Example, Vocab, pad_sequences

__all__ = [
    "true_positions",
    "attention_on_references",
    "alignment_hits",
    "alignment_accuracy",
    "decode_with_attention",
    "local_positions",
]


def true_positions(example: Example) -> List[Tuple[int, ...]]:
    """The source positions each target token comes from: ``example.spans`` if it
    has them, else ``(alignment[j],)``; ``()`` where there is none (``-1``)."""
    spans = getattr(example, "spans", None)
    if spans is not None:
        return [tuple(int(p) for p in s) for s in spans]
    return [(int(a),) if a >= 0 else () for a in example.alignment]


@torch.inference_mode()
def attention_on_references(
    model: nn.Module,
    examples: Sequence[Example],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    batch_size: int = 512,
) -> List[np.ndarray]:
    """The attention of ``model`` while it reads each example's reference translation.

    Teacher forcing: the decoder is fed ``<bos> y_1 ... y_{n-1}`` and the
    weights it uses to predict ``y_1 ... y_n`` are returned, one ``(n, S)``
    float array per example (``n`` target tokens, ``S`` source tokens; each row
    sums to 1). Runs in eval mode (restored afterwards).

    Raises ``ValueError`` if the model returns no attention weights.
    """
    out: List[Optional[np.ndarray]] = [None] * len(examples)
    for chunk, src, src_lengths, tgt_in in _reference_batches(model, examples, src_vocab, tgt_vocab, batch_size):
        _, weights = model(src, src_lengths, tgt_in)  # (B, T, S)
        if weights is None:
            raise ValueError("the model returned no attention weights: it has no attention to score")
        weights = weights.float().cpu().numpy()
        for row, i in enumerate(chunk):
            n, s = len(examples[i].target), len(examples[i].source)
            out[i] = weights[row, :n, :s]  # (n, S)
    return out  # type: ignore[return-value]


def _reference_batches(model: nn.Module, examples: Sequence[Example], src_vocab: Vocab, tgt_vocab: Vocab,
                       batch_size: int) -> Iterator[Tuple[List[int], Tensor, Tensor, Tensor]]:
    """``(indices, src (B, S), src_lengths (B,), tgt_in (B, T))`` for ``examples`` in batches, on the
    model's device, with the model in eval mode meanwhile (its mode restored afterwards)."""
    if len(examples) == 0:
        raise ValueError("examples is empty")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(examples), batch_size):
            chunk = list(range(start, min(start + batch_size, len(examples))))
            src, src_lengths = pad_sequences([src_vocab.encode(examples[i].source) for i in chunk],
                                             pad_id=src_vocab.pad_id)  # (B, S), (B,)
            tgt_in, _ = pad_sequences([tgt_vocab.encode(examples[i].target, add_bos=True) for i in chunk],
                                      pad_id=tgt_vocab.pad_id)  # (B, T)
            yield chunk, src.to(device), src_lengths.to(device), tgt_in.to(device)
    finally:
        model.train(was_training)


@torch.inference_mode()
def local_positions(
    model: nn.Module,
    examples: Sequence[Example],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    batch_size: int = 512,
) -> List[np.ndarray]:
    """Where a model with local attention centred its window for each reference word.

    Teacher forcing, as :func:`attention_on_references`: one ``(n,)`` float
    array per example, entry ``j`` the aligned position ``p_t`` (a real number,
    in source positions) the decoder used for target word ``j``. Runs in eval
    mode (restored afterwards). Raises ``ValueError`` for a model whose decoder
    has global attention (it has no ``p_t``).
    """
    decoder = getattr(model, "decoder", None)
    if getattr(decoder, "attention_type", "global") == "global":
        raise ValueError("local_positions needs a model with local attention (attention_type 'local-m' or "
                         "'local-p'); global attention scores every source word and has no aligned position p_t")
    out: List[Optional[np.ndarray]] = [None] * len(examples)
    for chunk, src, src_lengths, tgt_in in _reference_batches(model, examples, src_vocab, tgt_vocab, batch_size):
        enc = model.encoder(src, src_lengths)
        state = decoder.init_state(enc)
        positions = []
        for t in range(tgt_in.shape[1]):
            _, state, _ = decoder.step(tgt_in[:, t], state, enc)
            positions.append(state.position)  # (B,) p_t of word t
        positions = torch.stack(positions, dim=1).float().cpu().numpy()  # (B, T)
        for row, i in enumerate(chunk):
            out[i] = positions[row, : len(examples[i].target)]  # (n,)
    return out  # type: ignore[return-value]


def _check_pair(w: np.ndarray, ex: Example, k: int) -> np.ndarray:
    w = np.asarray(w)
    if w.ndim != 2 or w.shape[0] < len(ex.target) or w.shape[1] != len(ex.source):
        raise ValueError(
            f"weights of example {k} have shape {w.shape}, but the example has {len(ex.target)} "
            f"target and {len(ex.source)} source tokens: need ({len(ex.target)}, {len(ex.source)})"
        )
    return w


def alignment_hits(
    weights: Sequence[np.ndarray], examples: Sequence[Example], *, tolerance: int = 0
) -> List[List[Optional[bool]]]:
    """Per example and target token: does the arg-max of the attention hit the truth?

    ``weights[k]`` is a ``(T_k, S_k)`` array (``attention_on_references``);
    a token is a hit when its arg-max source position is within ``tolerance``
    positions of one of its true positions. ``None`` marks tokens with no
    true position (not counted).
    """
    if len(weights) != len(examples):
        raise ValueError(f"{len(weights)} weight arrays for {len(examples)} examples")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        raise ValueError(f"tolerance must be a non-negative integer, got {tolerance!r}")
    out = []
    for k, (w, ex) in enumerate(zip(weights, examples)):
        w = _check_pair(w, ex, k)
        arg = w[: len(ex.target)].argmax(axis=1)  # (T,)
        row = []
        for j, span in enumerate(true_positions(ex)):
            row.append(None if not span else any(abs(int(arg[j]) - p) <= tolerance for p in span))
        out.append(row)
    return out


def alignment_accuracy(
    weights: Sequence[np.ndarray],
    examples: Sequence[Example],
    *,
    tolerance: int = 0,
    kinds: Optional[Sequence[str]] = None,
) -> Dict[str, float]:
    """How often the arg-max of the attention lands on a true source position.

    Returns ``{"accuracy", "chance", "n_tokens"}``: ``accuracy`` over all
    target tokens that have a true position (restricted to those whose
    ``example.kinds[j]`` is in ``kinds``, if given), and ``chance``, the
    expected accuracy of picking a source position uniformly at random with
    the same ``tolerance``.
    """
    hits = alignment_hits(weights, examples, tolerance=tolerance)
    n = correct = 0
    chance = 0.0
    for ex, row in zip(examples, hits):
        ex_kinds = getattr(ex, "kinds", None) if kinds is not None else None
        if kinds is not None and ex_kinds is None:
            raise ValueError("kinds=... needs examples with a .kinds attribute (e.g. DateExample)")
        S = len(ex.source)
        for j, (span, hit) in enumerate(zip(true_positions(ex), row)):
            if hit is None or (kinds is not None and ex_kinds[j] not in kinds):
                continue
            n += 1
            correct += bool(hit)
            near = {q for p in span for q in range(p - tolerance, p + tolerance + 1) if 0 <= q < S}
            chance += len(near) / S
    if n == 0:
        raise ValueError("no target token with a true source position to score")
    return {"accuracy": correct / n, "chance": chance / n, "n_tokens": n}


@torch.inference_mode()
def decode_with_attention(
    model: nn.Module,
    sources: Sequence[Sequence[str]],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    max_len: Optional[int] = None,
) -> List[Tuple[List[str], np.ndarray]]:
    """Translate ``sources`` (token lists) greedily and keep the attention.

    Returns one ``(tokens, weights)`` pair per source: the output tokens
    (``<eos>`` excluded) and a ``(len(tokens), S)`` array whose row ``j`` is
    the attention the model paid to the source while writing ``tokens[j]``.
    """
    if len(sources) == 0:
        raise ValueError("sources is empty")
    for k, s in enumerate(sources):
        check_tokens(s, f"source {k}")
        if len(s) == 0:
            raise ValueError(f"source {k} is empty")
    device = next(model.parameters()).device
    src, src_lengths = pad_sequences([src_vocab.encode(s) for s in sources], pad_id=src_vocab.pad_id)  # (B, S)
    out = model.greedy_decode(src.to(device), src_lengths.to(device), max_len=max_len)
    if out.weights is None:
        raise ValueError("the model returned no attention weights: it has no attention to show")
    weights = out.weights.float().cpu().numpy()  # (B, L, S)
    result = []
    for i, s in enumerate(sources):
        n = int(out.lengths[i])
        tokens = tgt_vocab.decode(out.tokens[i, :n].tolist(), stop_at_eos=True, keep_specials=True)
        result.append((tokens, weights[i, : len(tokens), : len(s)]))  # (n, S)
    return result
