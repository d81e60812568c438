"""The book's trained models as ONNX files, to run in the browser (onnxruntime-web).

Four kinds of model are exported, each with its attention weights as outputs::

    kind        model                inputs                        outputs
    translate   AttentionSeq2Seq     src (1, S)                    tokens (1, T), attention (1, T, S)
                                     src_length (1,)
    document    HAN                  words (1, N, L)               probs (1, C), word_attention (1, N, L),
                                     sentence_lengths (1, N)       sentence_attention (1, N)
    fill_mask   MaskedLanguageModel  ids (1, T), length (1,)       probs (1, T, V), attention (Lyr, 1, H, T, T)
    image       VisionTransformer    images (1, C, H, W)           probs (1, K), attention (Lyr, 1, H, 1+N, 1+N),
                                                                   rollout (1, 1+N, 1+N)

Ids and lengths are ``int32`` (JavaScript has no 64-bit integers without
``BigInt``), everything else ``float32``; ``tokens`` is ``int32``.

The exporter (``torch.onnx.export(..., dynamo=True)``, built on
``torch.export``) fixes every shape when it traces, so each model is exported
once at a maximum size, batch 1, and takes the real lengths as inputs: the
graph masks the padding itself. The *wrappers* below call the trained model's
own modules (``TransformerEncoder``, ``Pooling``, ``AttentionDecoder.init_state``
and ``step``, the heads), never changing the models' code, except where the
models' ``forward`` does something that cannot be traced:

* ``pack_padded_sequence``: a bidirectional GRU over a sequence padded after
  its ``n`` real steps is a forward GRU over the padded input (the steps from
  ``n`` on are dropped) plus a backward GRU run over the input reversed
  *within its first n steps* (:class:`PaddedGRU`);
* the input checks (``int(ids.max())`` and the like, in ``TokenEmbedding``,
  ``check_src``, ``lengths_to_mask``) and ``HAN``'s selection of the real
  sentences (``words[real]``, a shape that depends on values): the wrappers
  call the sub-modules after those checks, build the masks from the lengths
  themselves, and :class:`OnnxModel` checks the inputs on the Python side.

``attention.masked_softmax``, which every attention here goes through, traces
as it is: under ``torch.export`` it writes its zeros without branching on a
tensor's value.

``parity`` runs the PyTorch model (its own public API) and the ONNX graph on
the same inputs and reports how far apart they are; the tests in
``tests/test_export.py`` hold every kind to 1e-5.

Shape letters: ``S`` source length, ``T`` target length (translate) or
sequence length (fill_mask), ``N`` sentences (document) or patches (image),
``L`` words per sentence, ``Lyr`` layers, ``H`` heads, ``V`` vocabulary,
``C`` classes (document), ``K`` classes (image), ``E`` embedding size,
``Hr`` a GRU's hidden size, ``De`` the encoder's output size.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import warnings
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

from .han import HAN
from .seq2seq import AttentionDecoder, AttentionSeq2Seq, EncoderOutput
from .transformer import MaskedLanguageModel
from .vit import VisionTransformer, attention_rollout

__all__ = [
    "EXPORT_KINDS",
    "MAX_ONNX_BYTES",
    "ONNX_INPUTS",
    "ONNX_OUTPUTS",
    "kind_of",
    "PaddedGRU",
    "TranslateGraph",
    "DocumentGraph",
    "FillMaskGraph",
    "ImageGraph",
    "export_onnx",
    "onnx_inputs",
    "OnnxModel",
    "reference_outputs",
    "parity",
]

#: the kinds of model ``export_onnx`` knows, in the book's order
EXPORT_KINDS = ("translate", "document", "fill_mask", "image")
#: the largest ONNX file ``export_onnx`` returns (the page downloads it)
MAX_ONNX_BYTES = 1_000_000
#: per kind: the graph's inputs, ``(name, dtype)``, in order
ONNX_INPUTS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "translate": (("src", "int32"), ("src_length", "int32")),
    "document": (("words", "int32"), ("sentence_lengths", "int32")),
    "fill_mask": (("ids", "int32"), ("length", "int32")),
    "image": (("images", "float32"),),
}
#: per kind: the graph's outputs, ``(name, dtype)``, in order
ONNX_OUTPUTS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "translate": (("tokens", "int32"), ("attention", "float32")),
    "document": (("probs", "float32"), ("word_attention", "float32"), ("sentence_attention", "float32")),
    "fill_mask": (("probs", "float32"), ("attention", "float32")),
    "image": (("probs", "float32"), ("attention", "float32"), ("rollout", "float32")),
}
#: the size parameters of ``export_onnx`` each kind takes (fill_mask's has a default: ``config.max_len``)
_SIZES = {
    "translate": ("max_source", "max_target"),
    "document": ("max_sentences", "max_words"),
    "fill_mask": ("max_length",),
    "image": (),
}
_MODEL_CLASSES = (
    (AttentionSeq2Seq, "translate"),
    (HAN, "document"),
    (MaskedLanguageModel, "fill_mask"),
    (VisionTransformer, "image"),
)
_METADATA_KIND = "attnbook.kind"  # keys of the ONNX file's metadata_props
_METADATA_INFO = "attnbook.info"


def kind_of(model: Any) -> str:
    """The export kind of ``model``: ``"translate"``, ``"document"``, ``"fill_mask"`` or ``"image"``.

    Raises
    ------
    ValueError
        For any other model (a translator without attention, the flat classifier, ...).
    """
    for cls, kind in _MODEL_CLASSES:
        if isinstance(model, cls):
            return kind
    known = ", ".join(f"{cls.__name__} ({kind})" for cls, kind in _MODEL_CLASSES)
    raise ValueError(f"model is a {type(model).__name__}; only these models can be exported to ONNX: {known}")


# ---------------------------------------------------------------------------
# 1. The bidirectional GRU without packing
# ---------------------------------------------------------------------------


def _gru_copy(rnn: nn.GRU, suffix: str) -> nn.GRU:
    """A one-layer, one-direction ``nn.GRU`` holding the numbers of ``rnn``'s layer 0 in the
    direction ``suffix`` (``""`` forward, ``"_reverse"`` backward)."""
    with torch.random.fork_rng(devices=[]):  # building a GRU draws initial weights: leave the seed alone
        gru = nn.GRU(rnn.input_size, rnn.hidden_size, batch_first=True, bias=rnn.bias)
    gru = gru.to(device=rnn.weight_ih_l0.device, dtype=rnn.weight_ih_l0.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if rnn.bias else ()):
            getattr(gru, f"{name}_l0").copy_(getattr(rnn, f"{name}_l0{suffix}"))
    return gru.requires_grad_(False)


class PaddedGRU(nn.Module):
    """A trained one-layer (bi)GRU over padded sequences, without ``pack_padded_sequence``.

    For a sequence of ``n`` real steps followed by padding: the forward
    direction is an ordinary GRU over the padded input (step ``t < n`` never
    sees the padding after it); the backward direction reads the input
    reversed within its first ``n`` steps -- position ``t`` takes step
    ``n - 1 - t`` for ``t < n`` and stays put otherwise -- and its outputs are
    put back in order the same way. Outputs at padding are 0, as
    ``pad_packed_sequence`` gives. The two directions are new ``nn.GRU``
    modules holding the trained GRU's weights (``weight_ih_l0``, ... and
    ``weight_ih_l0_reverse``, ...); the trained GRU is not touched.
    """

    def __init__(self, rnn: nn.GRU):
        super().__init__()
        if not isinstance(rnn, nn.GRU) or rnn.num_layers != 1 or not rnn.batch_first:
            raise ValueError(f"rnn must be a one-layer batch-first nn.GRU, got {rnn!r}")
        self.bidirectional = rnn.bidirectional
        self.forward_rnn = _gru_copy(rnn, "")
        self.backward_rnn = _gru_copy(rnn, "_reverse") if rnn.bidirectional else None

    def forward(self, x: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        """``x (K, T, E)``, ``lengths (K,)`` in ``0..T`` -> ``(outputs (K, T, De), final (K, De))``.

        ``final`` is what ``torch.cat(list(h_n), -1)`` of the packed GRU gives:
        the forward state at step ``n - 1`` and the backward state at step 0
        (meaningless for ``n = 0``).
        """
        K, T, _ = x.shape
        steps = torch.arange(T, device=x.device)  # (T,)
        real = steps[None, :] < lengths[:, None]  # (K, T)
        out_f, _ = self.forward_rnn(x)  # (K, T, Hr)
        out_f = out_f.masked_fill(~real[..., None], 0.0)
        last = (lengths - 1).clamp(min=0)  # (K,): the last real step
        final_f = out_f.gather(1, last[:, None, None].expand(K, 1, out_f.shape[-1])).squeeze(1)  # (K, Hr)
        if self.backward_rnn is None:
            return out_f, final_f
        # position t <-> step n - 1 - t within the first n steps (the padding stays where it is)
        flip = torch.where(real, lengths[:, None] - 1 - steps[None, :], steps[None, :])  # (K, T)
        x_rev = x.gather(1, flip[..., None].expand_as(x))  # (K, T, E)
        out_rev, _ = self.backward_rnn(x_rev)  # (K, T, Hr), in reversed order
        out_b = out_rev.gather(1, flip[..., None].expand_as(out_rev))  # (K, T, Hr), back in order
        out_b = out_b.masked_fill(~real[..., None], 0.0)
        return torch.cat([out_f, out_b], dim=-1), torch.cat([final_f, out_b[:, 0]], dim=-1)  # (K, T, 2Hr), (K, 2Hr)


# ---------------------------------------------------------------------------
# 2. The four graphs
# ---------------------------------------------------------------------------


class TranslateGraph(nn.Module):
    """``AttentionSeq2Seq.greedy_decode`` as a fixed graph: ``T`` greedy steps, unrolled.

    ``forward(src (1, S) int32, src_length (1,) int32)`` ->
    ``(tokens (1, T) int32, attention (1, T, S))``. Every step takes the most
    likely word (``argmax``, as ``attnbook.decoding.greedy_decode``) and feeds
    it to the next; after the first ``<eos>`` the steps go on, and their
    values mean nothing (the page cuts there). The decoding is the trained
    decoder's own ``init_state`` and ``step``; only the encoder is said again,
    without ``pack_padded_sequence`` (:meth:`encode`).
    """

    def __init__(self, model: AttentionSeq2Seq, max_target: int):
        super().__init__()
        self.model, self.max_target = model, max_target
        self.encoder_rnn = PaddedGRU(model.encoder.rnn)

    def encode(self, src: Tensor, lengths: Tensor) -> EncoderOutput:
        """``Encoder.forward`` (eval mode) with :class:`PaddedGRU` for its packed GRU and without its
        ``check_src`` (a branch on the lengths' values): ``src (1, S)``, ``lengths (1,)``."""
        encoder = self.model.encoder
        x = encoder.dropout(encoder.embed(src))  # (1, S, E)
        annotations, final = self.encoder_rnn(x, lengths)  # (1, S, De), (1, De)
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < lengths[:, None]  # (1, S)
        return EncoderOutput(annotations, final, mask)

    def forward(self, src: Tensor, src_length: Tensor) -> Tuple[Tensor, Tensor]:
        decoder = self.model.decoder
        enc = self.encode(src.long(), src_length.long())
        state = decoder.init_state(enc)
        y = torch.full((src.shape[0],), self.model.bos_id, dtype=torch.long, device=src.device)  # (1,)
        tokens, weights = [], []
        for _ in range(self.max_target):
            logits, state, w = decoder.step(y, state, enc)  # (1, V), _, (1, S)
            y = logits.argmax(dim=-1)  # (1,)
            tokens.append(y)
            weights.append(w)
        return torch.stack(tokens, dim=1).to(torch.int32), torch.stack(weights, dim=1)  # (1, T), (1, T, S)


class DocumentGraph(nn.Module):
    """``HAN.forward`` as a fixed graph: ``N`` sentence slots of ``L`` word slots.

    ``forward(words (1, N, L) int32, sentence_lengths (1, N) int32)`` ->
    ``(probs (1, C), word_attention (1, N, L), sentence_attention (1, N))``.
    All ``N`` sentences go through the word encoder (padding sentences,
    length 0, come out as zeros and get no weight); the real ones must come
    first, as ``ReviewData.batch`` puts them. ``HAN.forward`` picks the real
    sentences out (``words[real]``, a shape that depends on values) and packs
    its GRUs; this graph runs every slot through :class:`PaddedGRU` instead
    and the model's own ``word_pool`` and ``sentence_pool``.
    """

    def __init__(self, model: HAN):
        super().__init__()
        self.model = model
        self.word_rnn = PaddedGRU(model.word_encoder.rnn)
        self.sentence_rnn = PaddedGRU(model.sentence_encoder.rnn)

    def forward(self, words: Tensor, sentence_lengths: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        m = self.model
        words, lengths = words.long()[0], sentence_lengths.long()[0]  # (N, L), (N,)
        N, L = words.shape
        real = lengths > 0  # (N,)
        h, _ = self.word_rnn(m.embed(words), lengths)  # (N, L, 2Hw)
        word_mask = torch.arange(L, device=words.device)[None, :] < lengths[:, None]  # (N, L)
        sentences, word_weights = m.word_pool(h, word_mask)  # (N, 2Hw), (N, L)
        # padding sentences: zeros, as HAN.forward leaves them (max pooling would give -inf there)
        sentences = sentences.masked_fill(~real[:, None], 0.0)
        word_weights = word_weights.masked_fill(~real[:, None], 0.0)
        s, _ = self.sentence_rnn(sentences[None], real.sum()[None])  # (1, N, 2Hs)
        doc, sentence_weights = m.sentence_pool(s, real[None])  # (1, 2Hs), (1, N)
        return torch.softmax(m.classify(doc), dim=-1), word_weights[None], sentence_weights  # (1, C), (1, N, L), (1, N)


class FillMaskGraph(nn.Module):
    """``MaskedLanguageModel.forward`` as a fixed graph of ``T`` positions.

    ``forward(ids (1, T) int32, length (1,) int32)`` ->
    ``(probs (1, T, V), attention (Lyr, 1, H, T, T))``. Positions from
    ``length`` on are padding: no position attends to them (their columns are
    exactly 0); their own rows and probabilities are computed, as the model
    computes them, and mean nothing. ``MaskedLanguageModel.forward`` checks
    the ids' and lengths' values first, which does not trace; the checks skip
    that while exporting (``attnbook.checks.checking_values``), and
    :class:`OnnxModel` checks the graph's inputs instead.
    """

    def __init__(self, model: MaskedLanguageModel):
        super().__init__()
        self.model = model

    def forward(self, ids: Tensor, length: Tensor) -> Tuple[Tensor, Tensor]:
        out = self.model(ids.long(), length.long())  # logits (1, T, V), weights (Lyr, 1, H, T, T)
        return torch.softmax(out.logits, dim=-1), out.weights


class ImageGraph(nn.Module):
    """``VisionTransformer.forward`` (it traces as it is) plus the softmax and :func:`attention_rollout`.

    ``forward(images (1, C, H, W))`` -> ``(probs (1, K), attention (Lyr, 1, H, 1+N, 1+N), rollout (1, 1+N, 1+N))``.
    """

    def __init__(self, model: VisionTransformer):
        super().__init__()
        self.model = model

    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        out = self.model(images)  # logits (1, K), weights (Lyr, 1, H, 1+N, 1+N)
        return torch.softmax(out.logits, dim=-1), out.weights, attention_rollout(out.weights)


# ---------------------------------------------------------------------------
# 3. Export
# ---------------------------------------------------------------------------


def _a(kind: str) -> str:
    """``"a translate"``, ``"an image"``: the kind with its article, for messages."""
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _positive(value: Any, name: str, kind: str) -> int:
    """A size parameter of ``kind``, checked to be given and a positive integer."""
    if value is None:
        raise ValueError(f"{_a(kind)} model needs {name} (a positive integer)")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_sizes(kind: str, model: nn.Module, given: Dict[str, Any]) -> Dict[str, int]:
    """The size parameters of ``kind``, checked; a parameter of another kind is an error."""
    foreign = [name for name, value in given.items() if value is not None and name not in _SIZES[kind]]
    if foreign:
        takes = ", ".join(_SIZES[kind]) or "no size parameter"
        raise ValueError(f"{', '.join(foreign)} does not apply to {_a(kind)} model (it takes {takes})")
    if kind == "fill_mask":
        max_len = model.config.max_len
        T = max_len if given["max_length"] is None else _positive(given["max_length"], "max_length", kind)
        if T > max_len:
            raise ValueError(f"max_length={T} is longer than the model's positions (config.max_len={max_len})")
        return {"max_length": T}
    return {name: _positive(given[name], name, kind) for name in _SIZES[kind]}


def _check_exportable(kind: str, model: nn.Module) -> None:
    """The parts each graph relies on (a model built from other parts would export wrong)."""
    if kind == "translate" and not isinstance(model.decoder, AttentionDecoder):
        raise ValueError(f"a translate model needs an AttentionDecoder, got {type(model.decoder).__name__}")
    if kind == "translate" and model.decoder.attention_type != "global":
        raise ValueError(f"only global attention can be exported to ONNX; this model's decoder has "
                         f"attention_type={model.decoder.attention_type!r} (Luong's local attention)")
    rnns = []
    if kind == "translate":
        rnns = [model.encoder.rnn]
    elif kind == "document":
        rnns = [model.word_encoder.rnn, model.sentence_encoder.rnn]
    for rnn in rnns:
        if not isinstance(rnn, nn.GRU) or rnn.num_layers != 1:
            raise ValueError(f"only one-layer GRU encoders can be exported, got {rnn!r}")


def _graph(kind: str, model: nn.Module, sizes: Dict[str, int]) -> Tuple[nn.Module, Tuple[Tensor, ...]]:
    """The wrapper of ``kind`` and example inputs of its fixed shapes (values do not matter)."""
    i32 = torch.int32
    if kind == "translate":
        S, T = sizes["max_source"], sizes["max_target"]
        return TranslateGraph(model, T), (torch.zeros(1, S, dtype=i32), torch.full((1,), S, dtype=i32))
    if kind == "document":
        N, L = sizes["max_sentences"], sizes["max_words"]
        return DocumentGraph(model), (torch.zeros(1, N, L, dtype=i32), torch.full((1, N), L, dtype=i32))
    if kind == "fill_mask":
        T = sizes["max_length"]
        return FillMaskGraph(model), (torch.zeros(1, T, dtype=i32), torch.full((1,), T, dtype=i32))
    cfg = model.config
    return ImageGraph(model), (torch.zeros(1, cfg.in_channels, *cfg.image_size),)


def _info(kind: str, model: nn.Module) -> Dict[str, int]:
    """What ``OnnxModel`` needs to check input values, stored in the file's metadata."""
    if kind == "translate":
        return {"src_vocab_size": model.encoder.embed.num_embeddings, "tgt_vocab_size": model.decoder.out.out_features,
                "pad_id": model.pad_id, "bos_id": model.bos_id, "eos_id": model.eos_id}
    if kind == "document":
        return {"vocab_size": model.embed.num_embeddings, "n_classes": model.classify.out_features}
    if kind == "fill_mask":
        return {"vocab_size": model.config.vocab_size, "pad_id": model.config.pad_id}
    return {"num_classes": model.config.num_classes}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter: its prints, Python warnings and the torch / onnxscript loggers."""
    names = ("torch.onnx", "torch.export", "torch._export", "torch.fx", "torch._dynamo", "torch.utils._sympy",
             "onnxscript", "onnx_ir")
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_onnx(model: nn.Module, *, max_source: Optional[int] = None, max_target: Optional[int] = None,
                max_sentences: Optional[int] = None, max_words: Optional[int] = None,
                max_length: Optional[int] = None) -> bytes:
    """Export a trained model, with its attention weights as outputs, to ONNX bytes.

    Parameters
    ----------
    model : nn.Module
        An ``AttentionSeq2Seq`` (kind ``"translate"``), ``HAN`` (``"document"``),
        ``MaskedLanguageModel`` (``"fill_mask"``) or ``VisionTransformer``
        (``"image"``). It is put in eval mode for the export and back in its
        mode afterwards; a model on a GPU is exported from a CPU copy.
    max_source, max_target : int
        translate: the source slots ``S`` and the greedy steps ``T`` (required).
    max_sentences, max_words : int
        document: the sentence slots ``N`` and word slots per sentence ``L`` (required).
    max_length : int, optional
        fill_mask: the positions ``T`` (default ``config.max_len``, at most that).

    Returns
    -------
    bytes
        The ONNX model (one file, weights inside; see the module docstring for
        its inputs and outputs), at most :data:`MAX_ONNX_BYTES`. Its metadata
        records the kind and the vocabulary sizes, which :class:`OnnxModel`
        reads.

    Raises
    ------
    ValueError
        For another kind of model, a missing or bad size parameter, one that
        does not apply to the model's kind, or a file over :data:`MAX_ONNX_BYTES`.
    """
    kind = kind_of(model)
    sizes = _check_sizes(kind, model, dict(max_source=max_source, max_target=max_target, max_sentences=max_sentences,
                                           max_words=max_words, max_length=max_length))
    _check_exportable(kind, model)
    if any(p.device.type != "cpu" for p in model.parameters()):
        model = copy.deepcopy(model).cpu()
    was_training = model.training
    model.eval()
    try:
        graph, args = _graph(kind, model, sizes)
        names = dict(input_names=[n for n, _ in ONNX_INPUTS[kind]], output_names=[n for n, _ in ONNX_OUTPUTS[kind]])
        try:
            with _quiet(), torch.no_grad():
                # torch.export first, so that a graph that does not trace fails here instead of letting
                # torch.onnx.export fall back to draft_export, which fixes data-dependent branches the way
                # the example inputs take them
                exported = torch.export.export(graph.eval(), args, strict=False)
                program = torch.onnx.export(exported, args, f=None, dynamo=True, external_data=False,
                                            verbose=False, optimize=True, **names)
        except Exception as err:  # the exporter's own report is long; say what failed, keep the cause
            raise RuntimeError(f"exporting the {kind} model to ONNX failed: {type(err).__name__}: "
                               f"{str(err).strip().splitlines()[0] if str(err).strip() else ''}") from err
        proto = program.model_proto
    finally:
        model.train(was_training)
    for node in proto.graph.node:  # the exporter's notes per node (stack traces, file paths): most of the bytes
        del node.metadata_props[:]
        node.doc_string = ""
    proto.doc_string = f"attnbook {kind} model: {type(model).__name__}, sizes {json.dumps(sizes)}"
    for key, value in ((_METADATA_KIND, kind), (_METADATA_INFO, json.dumps({**_info(kind, model), **sizes}))):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    data = proto.SerializeToString()
    if len(data) > MAX_ONNX_BYTES:
        raise ValueError(f"the {kind} model's ONNX file has {len(data):,} bytes, more than "
                         f"MAX_ONNX_BYTES={MAX_ONNX_BYTES:,}; export smaller sizes ({sizes}) or a smaller model")
    return data


# ---------------------------------------------------------------------------
# 4. Inputs, running, checking
# ---------------------------------------------------------------------------


def _check_kind(kind: Any) -> str:
    if kind not in EXPORT_KINDS:
        raise ValueError(f"kind must be one of {EXPORT_KINDS}, got {kind!r}")
    return kind


def onnx_inputs(kind: str, example: Any, *, max_source: Optional[int] = None, max_sentences: Optional[int] = None,
                max_words: Optional[int] = None, max_length: Optional[int] = None) -> Dict[str, np.ndarray]:
    """One example as the fixed-shape inputs of an exported model of ``kind``.

    Parameters
    ----------
    kind : str
        One of :data:`EXPORT_KINDS`.
    example
        translate: the source ids (a sequence of ints, no ``<bos>``/``<eos>``);
        document: the sentences, each a sequence of word ids;
        fill_mask: the ids (``[mask]`` where the model fills in);
        image: one image ``(C, H, W)`` or ``(1, C, H, W)`` (array or tensor).
    max_source, max_sentences, max_words, max_length : int
        The sizes the model was exported with (those of ``kind``); padding is 0 (``<pad>``).

    Returns
    -------
    dict
        Input name -> ``int32`` / ``float32`` array, ready for :meth:`OnnxModel.run`.
    """
    kind = _check_kind(kind)
    if kind == "image":
        images = np.asarray(example.detach().cpu() if isinstance(example, Tensor) else example, dtype=np.float32)
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[0] != 1:
            raise ValueError(f"example must be one image (C, H, W) or (1, C, H, W), got shape {images.shape}")
        return {"images": np.ascontiguousarray(images)}

    def ids_row(ids: Any, size: int, what: str, size_name: str) -> np.ndarray:
        ids = [int(i) for i in ids]
        if len(ids) > size:
            raise ValueError(f"{what} has {len(ids)} tokens, more than {size_name}={size}")
        row = np.zeros(size, dtype=np.int32)
        row[:len(ids)] = ids
        return row

    if kind == "document":
        N = _positive(max_sentences, "max_sentences", kind)
        L = _positive(max_words, "max_words", kind)
        sentences = list(example)
        if not 1 <= len(sentences) <= N:
            raise ValueError(f"example must have 1 to max_sentences={N} sentences, got {len(sentences)}")
        words = np.zeros((1, N, L), dtype=np.int32)
        lengths = np.zeros((1, N), dtype=np.int32)
        for i, s in enumerate(sentences):
            if len(s) == 0:
                raise ValueError(f"sentence {i} of example is empty")
            words[0, i] = ids_row(s, L, f"sentence {i} of example", "max_words")
            lengths[0, i] = len(s)
        return {"words": words, "sentence_lengths": lengths}
    size_name, size = ("max_source", max_source) if kind == "translate" else ("max_length", max_length)
    size = _positive(size, size_name, kind)
    ids = list(example)
    if not ids:
        raise ValueError("example is empty: it needs at least one token")
    names = [n for n, _ in ONNX_INPUTS[kind]]
    return {names[0]: ids_row(ids, size, "example", size_name)[None], names[1]: np.array([len(ids)], dtype=np.int32)}


def _check_names(expected: List[str], inputs: Mapping[str, Any], what: str) -> None:
    """``inputs`` has exactly the names ``expected``: else a ValueError naming the missing and unknown ones."""
    missing = [n for n in expected if n not in inputs]
    unknown = [n for n in inputs if n not in expected]
    if missing or unknown:
        problems = ([f"missing {missing}"] if missing else []) + ([f"unknown {unknown}"] if unknown else [])
        raise ValueError(f"{what} takes the inputs {expected}; {', '.join(problems)}")


def _as_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"input {name!r} must be a NumPy array (or a tensor), got {type(value).__name__}")
    return value


def _check_inputs(kind: str, inputs: Mapping[str, Any], shapes: Optional[Mapping[str, Tuple[int, ...]]] = None,
                  info: Optional[Mapping[str, int]] = None) -> Dict[str, np.ndarray]:
    """``inputs`` checked against the graph of ``kind``: names, dtypes, shapes (``shapes``, or
    consistent among themselves with batch 1), and values (lengths in range; ids inside the
    vocabulary when ``info`` has its size). Returns the arrays."""
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a dict of input name -> array, got {type(inputs).__name__}")
    spec = dict(ONNX_INPUTS[kind])
    _check_names(list(spec), inputs, f"{_a(kind)} model")
    arrays = {n: _as_array(inputs[n], n) for n in spec}
    for name, dtype in spec.items():
        if arrays[name].dtype != np.dtype(dtype):
            raise ValueError(f"input {name!r} must have dtype {dtype}, got {arrays[name].dtype} "
                             f"(convert it: np.asarray(x, dtype=np.{dtype}))")
    if shapes is None:  # derive the expected shapes from the first input (batch 1)
        first = arrays[next(iter(spec))]
        rank = {"translate": 2, "document": 3, "fill_mask": 2, "image": 4}[kind]
        if first.ndim != rank or first.shape[0] != 1:
            raise ValueError(f"input {next(iter(spec))!r} must have {rank} dimensions with batch 1, "
                             f"got shape {first.shape}")
        shapes = {next(iter(spec)): first.shape}
        if kind in ("translate", "fill_mask"):
            shapes[list(spec)[1]] = (1,)
        elif kind == "document":
            shapes["sentence_lengths"] = first.shape[:2]
    for name, shape in shapes.items():
        if tuple(arrays[name].shape) != tuple(shape):
            raise ValueError(f"input {name!r} must have shape {tuple(shape)}, got {arrays[name].shape}")
    info = info or {}
    if kind == "image":
        if not np.isfinite(arrays["images"]).all():
            raise ValueError("input 'images' holds NaN or infinite values")
        return arrays
    ids_name, len_name = list(spec)
    ids, lengths = arrays[ids_name], arrays[len_name]
    slots = ids.shape[-1]
    lo = 0 if kind == "document" else 1
    if lengths.min() < lo or lengths.max() > slots:
        raise ValueError(f"input {len_name!r} must lie in {lo}..{slots}, got {lengths.ravel().tolist()}")
    if kind == "document":
        real = lengths[0] > 0
        if not real[0] or (~real[:-1] & real[1:]).any():
            raise ValueError(f"input 'sentence_lengths' must start with the real sentences (at least one) and end "
                             f"with the padding ones (0), got {lengths[0].tolist()}")
    vocab = info.get("src_vocab_size", info.get("vocab_size"))
    if vocab is not None and (ids.min() < 0 or ids.max() >= vocab):
        raise ValueError(f"input {ids_name!r} holds ids from {ids.min()} to {ids.max()}, "
                         f"outside the vocabulary 0..{vocab - 1}")
    return arrays


#: ONNX Runtime's names of the input types -> NumPy's
_ORT_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int32)": "int32",
              "tensor(int64)": "int64", "tensor(bool)": "bool", "tensor(float16)": "float16",
              "tensor(int8)": "int8", "tensor(uint8)": "uint8"}


class OnnxModel:
    """An exported model in ONNX Runtime (CPU, one thread), with its inputs checked.

    Parameters
    ----------
    onnx_bytes : bytes
        What :func:`export_onnx` returned.

    Attributes
    ----------
    kind : str or None
        The export kind, read from the file's metadata (None for a file from elsewhere).
    info : dict
        The metadata ``export_onnx`` stored: vocabulary sizes, special ids, the sizes.
    input_shapes, output_shapes : dict
        Name -> fixed shape.
    size : int
        The file's size in bytes.
    """

    def __init__(self, onnx_bytes: bytes):
        import onnxruntime as ort

        if not isinstance(onnx_bytes, (bytes, bytearray)):
            raise TypeError(f"onnx_bytes must be bytes (what export_onnx returns), got {type(onnx_bytes).__name__}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        try:
            self.session = ort.InferenceSession(bytes(onnx_bytes), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # ONNX Runtime's own message is long and deep
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"onnx_bytes ({len(onnx_bytes):,} bytes) is not a model ONNX Runtime can load: "
                             f"{first[:300]}") from None
        self.size = len(onnx_bytes)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.kind: Optional[str] = meta.get(_METADATA_KIND)
        self.info: Dict[str, int] = json.loads(meta.get(_METADATA_INFO, "{}"))
        self.input_shapes = {i.name: tuple(i.shape) for i in self.session.get_inputs()}
        self.output_shapes = {o.name: tuple(o.shape) for o in self.session.get_outputs()}
        self._input_types = {i.name: i.type for i in self.session.get_inputs()}

    def __repr__(self) -> str:
        return f"OnnxModel(kind={self.kind!r}, inputs={self.input_shapes}, {self.size:,} bytes)"

    def run(self, **inputs: Any) -> Dict[str, np.ndarray]:
        """Run the graph: ``run(src=..., src_length=...)`` -> output name -> array.

        Raises
        ------
        ValueError
            For a missing or unknown input name, a wrong dtype or shape, or
            (for the book's kinds) lengths out of range or ids outside the vocabulary.
        """
        if self.kind in EXPORT_KINDS:
            arrays = _check_inputs(self.kind, inputs, self.input_shapes, self.info)
        else:  # a file from elsewhere: check what the session says
            arrays = self._check_generic(inputs)
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, arrays)))

    def _check_generic(self, inputs: Mapping[str, Any]) -> Dict[str, np.ndarray]:
        _check_names(list(self.input_shapes), inputs, "the model")
        arrays = {n: _as_array(inputs[n], n) for n in self.input_shapes}
        for name, shape in self.input_shapes.items():
            dtype = _ORT_TYPES.get(self._input_types[name], self._input_types[name])
            if arrays[name].dtype != np.dtype(dtype):
                raise ValueError(f"input {name!r} must have dtype {dtype}, got {arrays[name].dtype}")
            if tuple(arrays[name].shape) != shape:
                raise ValueError(f"input {name!r} must have shape {shape}, got {arrays[name].shape}")
        return arrays


def _model_info(kind: str, model: nn.Module) -> Dict[str, int]:
    return {k: v for k, v in _info(kind, model).items() if k in ("src_vocab_size", "vocab_size")}


def reference_outputs(model: nn.Module, kind: str, inputs: Mapping[str, Any], *,
                      max_target: Optional[int] = None) -> Dict[str, np.ndarray]:
    """What PyTorch gives for the inputs of an exported graph, under the graph's output names and shapes.

    The model's own public API runs, in eval mode (restored afterwards):
    ``greedy_decode(src, lengths, max_len=T)`` for translate, ``model(words,
    lengths)`` for document, ``model(ids, lengths)`` for fill_mask and
    ``model(images)`` with :func:`attention_rollout` for image.

    Parameters
    ----------
    model : nn.Module
        The model that was exported.
    kind : str
        Its kind (``kind_of(model)``).
    inputs : dict
        The fixed-shape inputs, as for :meth:`OnnxModel.run`.
    max_target : int, optional
        translate only (required there): the greedy steps ``T`` of the graph.

    Returns
    -------
    dict
        Output name -> array. For translate, greedy decoding stops at the
        first ``<eos>``: the steps after it hold token ``-1`` and attention 0,
        marking the steps whose values the graph leaves unspecified.
    """
    kind = _check_kind(kind)
    if kind_of(model) != kind:
        raise ValueError(f"model is {_a(kind_of(model))} model ({type(model).__name__}), not {kind}")
    if kind == "translate":
        T = _positive(max_target, "max_target", kind)
    elif max_target is not None:
        raise ValueError(f"max_target applies to translate models only, not {kind}")
    arrays = _check_inputs(kind, inputs, info=_model_info(kind, model))
    device = next(model.parameters()).device
    t = {n: torch.from_numpy(a).to(device) for n, a in arrays.items()}
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            if kind == "translate":
                out = model.greedy_decode(t["src"].long(), t["src_length"].long(), max_len=T)
                n = out.tokens.shape[1]  # steps up to and with the first <eos> (T if none)
                tokens = torch.full((1, T), -1, dtype=torch.int32)
                tokens[:, :n] = out.tokens.cpu().to(torch.int32)
                attention = torch.zeros(1, T, t["src"].shape[1])
                attention[:, :n] = out.weights.float().cpu()
                result = {"tokens": tokens, "attention": attention}
            elif kind == "document":
                out = model(t["words"].long(), t["sentence_lengths"].long())
                result = {"probs": out.logits.softmax(-1), "word_attention": out.word_weights,
                          "sentence_attention": out.sentence_weights}
            elif kind == "fill_mask":
                out = model(t["ids"].long(), t["length"].long())
                result = {"probs": out.logits.softmax(-1), "attention": out.weights}
            else:
                out = model(t["images"])
                result = {"probs": out.logits.softmax(-1), "attention": out.weights,
                          "rollout": attention_rollout(out.weights)}
    finally:
        model.train(was_training)
    return {name: result[name].detach().cpu().numpy().astype(dtype) for name, dtype in ONNX_OUTPUTS[kind]}


def _compared(kind: str, inputs: Mapping[str, np.ndarray], ref: Mapping[str, np.ndarray]
              ) -> Dict[str, Tuple[slice, ...] | np.ndarray]:
    """Per output: the part ``parity`` compares (an index into the output's array)."""
    if kind == "image":
        return {name: (...,) for name, _ in ONNX_OUTPUTS[kind]}
    if kind == "translate":
        n_steps = int((ref["tokens"][0] != -1).sum())
        n_src = int(inputs["src_length"][0])
        return {"tokens": (0, slice(0, n_steps)), "attention": (0, slice(0, n_steps), slice(0, n_src))}
    if kind == "document":
        lengths = inputs["sentence_lengths"][0]  # (N,)
        words = np.arange(inputs["words"].shape[-1])[None, :] < lengths[:, None]  # (N, L) real words
        return {"probs": (...,), "word_attention": (0, words), "sentence_attention": (0, lengths > 0)}
    n = int(inputs["length"][0])
    return {"probs": (0, slice(0, n)), "attention": (slice(None), 0, slice(None), slice(0, n), slice(0, n))}


def parity(model: nn.Module, onnx_bytes: Union[bytes, OnnxModel], inputs_list: Sequence[Mapping[str, Any]]
           ) -> Dict[str, Any]:
    """Run PyTorch and the exported graph on the same inputs and measure how far apart they are.

    Parameters
    ----------
    model : nn.Module
        The exported model.
    onnx_bytes : bytes or OnnxModel
        What :func:`export_onnx` returned (or an :class:`OnnxModel` of it).
    inputs_list : sequence of dict
        Fixed-shape inputs (e.g. from :func:`onnx_inputs`), at least one.

    Returns
    -------
    dict
        ``n`` (the number of inputs), ``max_abs_diff`` (output name -> the
        largest absolute difference over all inputs, tokens included) and
        ``tokens_equal`` (translate: whether every token up to and including
        PyTorch's first ``<eos>`` is the same; None for the other kinds). Only
        the parts that mean something are compared: translate, the steps up to
        the first ``<eos>`` and the real source positions; document, the real
        sentences and words; fill_mask, the real positions (rows and columns
        of the attention); image, everything.
    """
    onnx_model = onnx_bytes if isinstance(onnx_bytes, OnnxModel) else OnnxModel(onnx_bytes)
    kind = kind_of(model)
    if onnx_model.kind != kind:
        raise ValueError(f"the ONNX model is of kind {onnx_model.kind!r} but model is {_a(kind)} model")
    inputs_list = list(inputs_list)
    if not inputs_list:
        raise ValueError("inputs_list is empty: give at least one input dict")
    max_target = onnx_model.output_shapes["tokens"][1] if kind == "translate" else None
    diffs = {name: 0.0 for name, _ in ONNX_OUTPUTS[kind]}
    tokens_equal: Optional[bool] = True if kind == "translate" else None
    for inputs in inputs_list:
        got = onnx_model.run(**inputs)
        arrays = _check_inputs(kind, inputs, onnx_model.input_shapes)
        ref = reference_outputs(model, kind, arrays, max_target=max_target)
        for name, where in _compared(kind, arrays, ref).items():
            a, b = got[name][where].astype(np.float64), ref[name][where].astype(np.float64)
            if a.size:
                diffs[name] = max(diffs[name], float(np.abs(a - b).max()))
            if name == "tokens":
                tokens_equal = tokens_equal and bool(np.array_equal(a, b))
    return {"n": len(inputs_list), "max_abs_diff": diffs, "tokens_equal": tokens_equal}
