"""Live views: the reader types (or draws) an input and the chapter's trained model answers.

The model runs in the reader's browser, in the static HTML book too: Python
exports it to ONNX (:func:`attnbook.export.export_onnx`, with its attention
weights as outputs) and puts the bytes, the vocabulary and the limits of the
input in the view's state; the view's JavaScript (``js/live.js``) splits the
text with the twin of the Python tokenizer (``js/tokenizers.js``), encodes it,
runs the model with onnxruntime-web and draws the answer and the attention.
The runtime is served by the book itself (``_static/attnbook-js/ort/``) and
fetched once per page, the first time a live view is used. In Jupyter and
Colab, where no book serves it, the view asks the kernel instead: Python runs
the same ONNX bytes with onnxruntime (:meth:`LiveModelView.answer`).

Every view also carries the answers PyTorch gave, when the page was built, on
a few examples (``data["examples"]``): the view shows them when the model
cannot run (a page opened from ``file://``, a browser without WebAssembly), and
the browser test types the same inputs and compares the page's answer with them.

=============================  ===============================================
builder                        the reader ... and sees
=============================  ===============================================
:func:`live_translation`       types a date -> the ISO date and the alignment
                               (chapter 3, ``AttentionSeq2Seq``)
:func:`live_document`          types a review -> the verdict, word and sentence
                               attention (chapter 4, ``HAN``)
:func:`live_fill_mask`         types a sentence with ``[MASK]`` -> the top
                               fillers and each head's attention (chapter 5b)
:func:`live_image`             draws a digit -> the class probabilities,
                               ``[CLS]`` attention and rollout (chapter 6, ViT)
=============================  ===============================================
"""
from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets

from ..data.tokenize import TOKENIZERS
from ..data.vocab import Vocab
from .base import View, check_int, view_css, view_esm

__all__ = [
    "LiveModelView",
    "LiveInputError",
    "live_translation",
    "live_document",
    "live_fill_mask",
    "live_image",
    "PARITY_ATOL",
]

#: how far the exported model may be from PyTorch (weights and probabilities)
PARITY_ATOL = 1e-5
#: decimals of the answers PyTorch gave on the examples, kept in the page
REFERENCE_DECIMALS = 7
MASK = "[mask]"


class LiveInputError(ValueError):
    """An input the model cannot take; the message is what the view shows the reader."""


def _ids(tokens: Sequence[str], vocab_tokens: Sequence[str], unk_id: int) -> list[int]:
    index = {t: i for i, t in enumerate(vocab_tokens)}
    return [index.get(t, unk_id) for t in tokens]


def _quoted(tokens: Sequence[str]) -> str:
    seen = list(dict.fromkeys(tokens))
    shown = ", ".join(f"“{t}”" for t in seen[:8])
    return shown + (f" and {len(seen) - 8} more" if len(seen) > 8 else "")


# --------------------------------------------------------------------------- encoding (JS twin: js/live.js)


def encode(spec: dict, value: Any) -> dict:
    """What the model reads for ``value`` (text, or an image for ``kind="image"``).

    Returns ``{"inputs": {name: np.ndarray}, "tokens": ..., "unknown": [...]}``;
    raises :class:`LiveInputError` with the message the view shows for input the
    model cannot take. ``js/live.js`` does the same in the browser. The ids are
    packed into the exported graph's fixed shapes by
    :func:`attnbook.export.onnx_inputs`.
    """
    from ..export import onnx_inputs

    kind = spec["kind"]
    if kind == "image":
        a = np.asarray(value, dtype=np.float32)
        C, (H, W) = spec["channels"], spec["image_size"]
        if a.shape not in ((H, W), (C, H, W)):
            raise LiveInputError(f"the image must be {H} × {W} pixels, got shape {a.shape}")
        if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
            raise LiveInputError("pixel values must lie between 0 and 1")
        if a.max() == 0:
            raise LiveInputError("the pad is empty: draw a digit first")
        return {"inputs": onnx_inputs("image", a.reshape(C, H, W)), "tokens": None, "unknown": []}
    if not isinstance(value, str):
        raise LiveInputError(f"type some text (got {type(value).__name__})")
    tokens = TOKENIZERS[spec["tokenizer"]](value)
    vocab, unk = spec["vocab"], spec["unk_id"]
    if not tokens:
        raise LiveInputError(f"type a {spec['what']} first")
    if kind == "document":
        N, L = spec["max_sentences"], spec["max_words"]
        if len(tokens) > N:
            raise LiveInputError(f"that is {len(tokens)} sentences; the model reads at most {N}")
        long = max(range(len(tokens)), key=lambda i: len(tokens[i]))
        if len(tokens[long]) > L:
            raise LiveInputError(f"sentence {long + 1} has {len(tokens[long])} words; the model reads at most {L}")
        inputs = onnx_inputs("document", [_ids(s, vocab, unk) for s in tokens], max_sentences=N, max_words=L)
        return {"inputs": inputs, "tokens": tokens, "unknown": [t for s in tokens for t in s if t not in vocab]}
    size_name = "max_source" if kind == "translate" else "max_length"
    T = spec[size_name]
    if len(tokens) > T:
        raise LiveInputError(f"that is {len(tokens)} tokens; the model reads at most {T}")
    unknown = [t for t in tokens if t not in vocab]
    if kind == "fill_mask":
        if unknown:
            raise LiveInputError(f"the model does not know {_quoted(unknown)}: it reads only the words of "
                                 "its toy language")
        if MASK not in tokens:
            raise LiveInputError("put [MASK] where the model should fill in a word")
    inputs = onnx_inputs(kind, _ids(tokens, vocab, unk), **{size_name: T})
    return {"inputs": inputs, "tokens": tokens, "unknown": unknown}


# --------------------------------------------------------------------------- the view


class LiveModelView(View):
    """A trained model the reader runs on their own input, in the page.

    Build it with :func:`live_translation`, :func:`live_document`,
    :func:`live_fill_mask` or :func:`live_image`. ``data`` holds the input's
    description (kind, tokenizer, vocabulary, limits) and the examples with the
    answers PyTorch gave; ``onnx`` the model (base64). :attr:`parity` says how
    far onnxruntime's answers on the examples are from PyTorch's.
    """

    _esm = view_esm("live", extra=("tokenizers",))
    _css = view_css("live")
    #: the exported model, base64
    onnx = traitlets.Unicode("").tag(sync=True)

    def __init__(self, *, spec: dict, onnx_bytes: bytes, examples: list[dict], parity: dict, title: str) -> None:
        from ..export import OnnxModel

        self._session = OnnxModel(onnx_bytes)
        data = {**spec, "examples": examples, "model_bytes": len(onnx_bytes)}
        super().__init__(data=data, title=title, onnx=base64.b64encode(onnx_bytes).decode("ascii"))
        self.parity = parity
        self.on_msg(self._on_message)

    @property
    def size(self) -> int:
        """Bytes of the exported model."""
        return int(self.data["model_bytes"])

    def encode(self, value: Any) -> dict:
        """What the model reads for ``value``; :class:`LiveInputError` if it cannot take it."""
        return encode(self.data, value)

    def answer(self, value: Any) -> dict[str, np.ndarray]:
        """The exported model's raw outputs for ``value`` (what the page draws from)."""
        return self._session.run(**self.encode(value)["inputs"])

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """The page asks the kernel to run the model (Jupyter, Colab: no runtime is served there)."""
        if not isinstance(content, dict) or content.get("type") != "run":
            return
        try:
            inputs = {}
            for name, t in content["inputs"].items():
                dtype = np.float32 if t["type"] == "float32" else np.int32
                inputs[name] = np.asarray(t["data"], dtype=dtype).reshape(t["dims"])
            outputs = self._session.run(**inputs)
            reply = {"type": "result", "id": content.get("id"),
                     "outputs": {k: {"dims": list(v.shape), "data": v.ravel().tolist()} for k, v in outputs.items()}}
        except Exception as err:  # shown in the view, not lost in the kernel's log
            reply = {"type": "error", "id": content.get("id"), "message": str(err)}
        self.send(reply)


def _reference(outputs: dict[str, np.ndarray]) -> dict:
    """PyTorch's outputs as the page keeps them: ``{name: {"dims", "data"}}``, rounded."""
    out = {}
    for name, v in outputs.items():
        v = np.asarray(v)
        data = v.ravel().tolist() if v.dtype.kind in "iu" else (np.round(v.astype(np.float64), REFERENCE_DECIMALS)
                                                                  + 0.0).ravel().tolist()
        out[name] = {"dims": list(v.shape), "data": data}
    return out


def _build(model: Any, spec: dict, values: Sequence[Any], names: Sequence[str] | None, title: str,
           **export_sizes: Any) -> LiveModelView:
    from ..export import export_onnx, parity, reference_outputs

    if len(values) == 0:
        raise ValueError("examples is empty: give at least one input to show before anyone types")
    if names is not None and len(names) != len(values):
        raise ValueError(f"names has {len(names)} entries for {len(values)} examples")
    if not isinstance(title, str):
        raise ValueError(f"title must be a string, got {type(title).__name__}")
    encoded = []
    for i, v in enumerate(values):
        try:
            encoded.append(encode(spec, v))
        except LiveInputError as err:
            raise ValueError(f"example {i} ({v if isinstance(v, str) else 'image'}): {err}") from None
    onnx_bytes = export_onnx(model, **export_sizes)
    inputs = [e["inputs"] for e in encoded]
    checked = parity(model, onnx_bytes, inputs)
    steps = {"max_target": spec["max_target"]} if spec["kind"] == "translate" else {}
    examples = []
    for i, (v, e) in enumerate(zip(values, encoded)):
        ex = {"name": str(names[i]) if names is not None else (v if isinstance(v, str) else f"example {i + 1}"),
              "reference": _reference(reference_outputs(model, spec["kind"], e["inputs"], **steps))}
        if spec["kind"] == "image":
            ex["image"] = np.round(np.asarray(v, dtype=np.float64).reshape(spec["image_size"]), 4).tolist()
        else:
            ex["text"] = v
        examples.append(ex)
    return LiveModelView(spec=spec, onnx_bytes=onnx_bytes, examples=examples, parity=checked, title=title)


def _vocab_tokens(vocab: Any, what: str) -> list[str]:
    if not isinstance(vocab, Vocab):
        raise ValueError(f"{what} must be an attnbook.data.Vocab, got {type(vocab).__name__}")
    return [vocab.id_to_token(i) for i in range(len(vocab))]


def _texts(examples: Any) -> list[str]:
    if isinstance(examples, str) or not isinstance(examples, Sequence):
        raise ValueError("examples must be a list of texts")
    for i, t in enumerate(examples):
        if not isinstance(t, str):
            raise ValueError(f"example {i} must be a text, got {type(t).__name__}")
    return list(examples)


def live_translation(model: Any, src_vocab: Vocab, tgt_vocab: Vocab, examples: Sequence[str], *,
                     tokenizer: str = "date", what: str = "date", join: str = "", max_source: int = 32,
                     max_target: int = 12, names: Sequence[str] | None = None,
                     title: str = "Type a date: the model translates it in your browser") -> LiveModelView:
    """A text box whose text the trained ``AttentionSeq2Seq`` translates, with its alignment.

    ``examples`` are texts shown before anyone types (with PyTorch's answers);
    ``tokenizer`` names the splitter (:data:`attnbook.data.tokenize.TOKENIZERS`);
    the output tokens are joined with ``join``. Unknown words are read as
    ``<unk>``, and the view names them.
    """
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {sorted(TOKENIZERS)}, got {tokenizer!r}")
    src, tgt = _vocab_tokens(src_vocab, "src_vocab"), _vocab_tokens(tgt_vocab, "tgt_vocab")
    for name, text in (("what", what), ("join", join)):
        if not isinstance(text, str):
            raise ValueError(f"{name} must be a string, got {type(text).__name__}")
    spec = {"kind": "translate", "tokenizer": tokenizer, "what": what, "join": join, "vocab": src, "target_vocab": tgt,
            "pad_id": src_vocab.pad_id, "unk_id": src_vocab.unk_id, "eos_id": tgt_vocab.eos_id,
            "max_source": check_int(max_source, "max_source", 1, 512),
            "max_target": check_int(max_target, "max_target", 1, 512)}
    return _build(model, spec, _texts(examples), names, title, max_source=max_source, max_target=max_target)


def live_document(model: Any, vocab: Vocab, labels: Sequence[str], examples: Sequence[str], *,
                  max_sentences: int = 10, max_words: int = 24, what: str = "review",
                  names: Sequence[str] | None = None,
                  title: str = "Type a review: the model reads it in your browser") -> LiveModelView:
    """A text box whose text the trained ``HAN`` classifies, with word and sentence attention."""
    labels = [str(x) for x in labels]
    if len(labels) != model.config.n_classes:
        raise ValueError(f"labels has {len(labels)} names for a model with {model.config.n_classes} classes")
    spec = {"kind": "document", "tokenizer": "review", "what": what, "vocab": _vocab_tokens(vocab, "vocab"),
            "labels": labels, "pad_id": vocab.pad_id, "unk_id": vocab.unk_id,
            "max_sentences": check_int(max_sentences, "max_sentences", 1, 64),
            "max_words": check_int(max_words, "max_words", 1, 256)}
    return _build(model, spec, _texts(examples), names, title, max_sentences=max_sentences, max_words=max_words)


def live_fill_mask(model: Any, vocab: Vocab, examples: Sequence[str], *, top_k: int = 5,
                   names: Sequence[str] | None = None,
                   title: str = "Type a sentence with [MASK]: the model fills it in your browser") -> LiveModelView:
    """A text box whose ``[MASK]`` the trained ``MaskedLanguageModel`` fills, with every head's attention."""
    tokens = _vocab_tokens(vocab, "vocab")
    if MASK not in tokens:
        raise ValueError(f"the vocabulary has no {MASK!r} token")
    T = model.config.max_len
    spec = {"kind": "fill_mask", "tokenizer": "masked", "what": "sentence", "vocab": tokens,
            "pad_id": vocab.pad_id, "unk_id": vocab.unk_id, "max_length": T,
            "top_k": check_int(top_k, "top_k", 1, len(tokens))}
    return _build(model, spec, _texts(examples), names, title, max_length=T)


def live_image(model: Any, images: Any, *, labels: Sequence[str] | None = None, names: Sequence[str] | None = None,
               title: str = "Draw a digit: the ViT reads it in your browser") -> LiveModelView:
    """A drawing pad whose digit the trained ``VisionTransformer`` classifies, with ``[CLS]`` attention and rollout.

    ``images`` (n, 1, H, W) or (n, H, W), values 0..1, are the examples. The pad is
    drawn at four times the model's resolution and each 4 × 4 block's share of
    ink is one pixel (as the 8 × 8 digits were made from 32 × 32 bitmaps).
    """
    config = model.config
    H, W = config.image_size
    a = np.asarray(images.detach().cpu().numpy() if hasattr(images, "detach") else images, dtype=np.float32)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3 or a.shape[1:] != (H, W):
        raise ValueError(f"images must be (n, 1, {H}, {W}) or (n, {H}, {W}), got shape {tuple(np.shape(images))}")
    labels = [str(i) for i in range(config.num_classes)] if labels is None else [str(x) for x in labels]
    if len(labels) != config.num_classes:
        raise ValueError(f"labels has {len(labels)} names for a model with {config.num_classes} classes")
    spec = {"kind": "image", "what": "digit", "labels": labels, "channels": config.in_channels,
            "image_size": [H, W], "patch_size": config.patch_size, "pad_scale": 4}
    return _build(model, spec, list(a), names, title)
