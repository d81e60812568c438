"""Pretraining: BERT's whole recipe and GPT's beside it (chapter 5c).

Both are stacks of the same encoder layers (``attnbook.transformer``); what
differs is what a position may see and what it is asked to predict::

    BERT   [cls] sentence A [sep] sentence B [sep]      every position sees every other
           token + segment + position embeddings        masked LM: fill in 15 % of the tokens
                                                         next sentence: does B follow A? (from [cls])
           -> fine-tuned: a linear layer on every position's vector (token tagging)

    GPT    <bos> w1 w2 ... wn                           position t sees positions 0..t (causal mask)
           token + position embeddings                  predict w(t+1) at every position
           -> sampled from, one word at a time

Data come from the toy language of ``attnbook.data.language``: stories (which
sentence may follow which), tags (each word's class), and for every position
the words that fit given the whole sentence or only the words before it.
"""
from __future__ import annotations

import copy
import itertools
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checks import check_ids, check_src, positive_int
from .data.language import CLS, MASK, SEP, TAGS, LanguageData, Sentence, left_choices, story_links, tag_of
from .data.vocab import Vocab, pad_sequences
from .train import TrainConfig, TrainResult, run_training
from .transformer import TransformerConfig, TransformerEncoder, causal_mask, lengths_to_mask, mask_tokens

__all__ = [
    "bert_vocab",
    "encode_pairs",
    "encode_single",
    "PairSampler",
    "held_out_pairs",
    "Bert",
    "BertForPretraining",
    "BertOutput",
    "BertTagger",
    "GPT",
    "train_bert",
    "nsp_accuracy",
    "train_tagger",
    "tagging_scores",
    "position_kind",
    "fill_in_scores",
    "train_gpt",
    "next_word_scores",
    "sample_sentences",
    "judge_samples",
]

IGNORE = -100  # the label F.cross_entropy skips


# ---------------------------------------------------------------------------
# 1. Inputs: [cls] A [sep] B [sep], with segments
# ---------------------------------------------------------------------------


def bert_vocab(language_vocab: Vocab) -> Vocab:
    """The language's vocabulary with ``[sep]`` added after its words (``[mask]``
    and ``[cls]`` are there already): BERT's input needs all three."""
    return Vocab([t for t in language_vocab.itos[4:]] + [SEP])


def encode_pairs(vocab: Vocab, pairs: Sequence[Tuple[Sequence[str], Sequence[str]]]) -> Tuple[Tensor, Tensor, Tensor]:
    """Sentence pairs -> ``(ids (B, T), segments (B, T), lengths (B,))`` as BERT reads them:
    ``[cls] A [sep] B [sep]``, segment 0 up to the first ``[sep]``, 1 after it, padding 0."""
    rows, segs = [], []
    for a, b in pairs:
        first, second = [CLS, *a, SEP], [*b, SEP]
        rows.append(vocab.encode(first + second))
        segs.append([0] * len(first) + [1] * len(second))
    ids, lengths = pad_sequences(rows, pad_id=vocab.pad_id)
    segments, _ = pad_sequences(segs, pad_id=0)
    return ids, segments, lengths


def encode_single(vocab: Vocab, sentences: Sequence[Sequence[str]]) -> Tuple[Tensor, Tensor, Tensor]:
    """Single sentences -> ``(ids, segments, lengths)``: ``[cls] sentence [sep]``, all segment 0
    (how BERT reads one sentence, e.g. to tag its words)."""
    rows = [vocab.encode([CLS, *s, SEP]) for s in sentences]
    ids, lengths = pad_sequences(rows, pad_id=vocab.pad_id)
    return ids, torch.zeros_like(ids), lengths


class PairSampler:
    """Draws next-sentence-prediction pairs from a pool of sentences, as BERT did:
    sentence A, then half of the time a sentence that follows it in a story
    (:func:`attnbook.data.language.continuations`, label 1), half of the time a
    random sentence of the pool that does not (label 0)."""

    def __init__(self, pool: Sequence[Sentence]):
        self.pool = list(pool)
        self.links = story_links(self.pool)  # per sentence: the indices of its continuations in the pool
        self.starts = [i for i, nxt in enumerate(self.links) if nxt]  # sentences with a continuation in the pool
        if not self.starts:
            raise ValueError("no sentence of the pool has a continuation in it")

    def draw(self, n: int, generator: torch.Generator) -> Tuple[List[Tuple[Tuple[str, ...], Tuple[str, ...]]], Tensor]:
        """``n`` pairs and their labels ``(n,)`` (1 = B follows A), drawn with ``generator``."""
        positive_int(n, "n")
        starts = torch.randint(len(self.starts), (n,), generator=generator).tolist()
        is_next = (torch.rand(n, generator=generator) < 0.5).tolist()
        picks = torch.randint(1 << 30, (n, 4), generator=generator).tolist()  # spare draws for B
        pairs, labels = [], []
        for s, nxt, r in zip(starts, is_next, picks):
            a = self.starts[s]
            if nxt:
                b = self.links[a][r[0] % len(self.links[a])]
            else:  # a random sentence that does not follow A (a few tries; the pool is large), else the first
                tries = itertools.chain((x % len(self.pool) for x in r), range(len(self.pool)))
                b = next(j for j in tries if j not in self.links[a])
            pairs.append((self.pool[a].tokens, self.pool[b].tokens))
            labels.append(int(nxt))
        return pairs, torch.tensor(labels)


def held_out_pairs(data: LanguageData, *, hard: bool = False, seed: int = 0
                   ) -> Tuple[List[Tuple[Tuple[str, ...], Tuple[str, ...]]], Tensor]:
    """Next-sentence pairs whose first sentence is held out: every test sentence once
    with a continuation (label 1) and once with a sentence that does not follow it (0),
    continuations and others drawn from the whole language.

    ``hard=False``: the other sentence is any sentence (BERT's negatives). ``hard=True``:
    it has the template a continuation would have, but the wrong day, month, animal or
    name — only a model that checks the link can tell it from the real one.
    """
    pool = data.train + data.test
    links = story_links(pool)
    g = torch.Generator().manual_seed(seed)
    pairs, labels = [], []
    for i in range(len(data.train), len(pool)):
        nxt = links[i]
        if not nxt:
            continue
        a = pool[i].tokens
        b = pool[nxt[int(torch.randint(len(nxt), (1,), generator=g))]]
        if hard:
            others = [j for j, s in enumerate(pool) if s.template == b.template and j not in nxt]
        else:
            others = [j for j in range(len(pool)) if j not in nxt]
        pairs += [(a, b.tokens), (a, pool[others[int(torch.randint(len(others), (1,), generator=g))]].tokens)]
        labels += [1, 0]
    return pairs, torch.tensor(labels)


# ---------------------------------------------------------------------------
# 2. The models
# ---------------------------------------------------------------------------


class Bert(nn.Module):
    """BERT's encoder: the sum of a token, a segment and a position embedding,
    layer-normalised, then a stack of encoder layers; every position attends to
    every real position, on both sides.

    ``model(ids, segments, lengths)`` -> ``(hidden (B, T, D), weights (L, B, H, T, T))``.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        D = config.d_model
        self.tokens = nn.Embedding(config.vocab_size, D, padding_idx=config.pad_id)
        self.segments = nn.Embedding(2, D)  # sentence A or sentence B
        self.positions = nn.Embedding(config.max_len, D)  # learned, as BERT's
        for table in (self.tokens, self.segments, self.positions):
            nn.init.normal_(table.weight, std=0.02)  # BERT's initialisation
        self.norm = nn.LayerNorm(D)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = TransformerEncoder(config.num_layers, **config.layer_kwargs())

    def forward(self, ids: Tensor, segments: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        check_ids(ids, "ids", self.config.vocab_size)
        check_ids(segments, "segments", 2)
        check_src(ids, lengths)
        if segments.shape != ids.shape:
            raise ValueError(f"segments of shape {tuple(segments.shape)} must match ids {tuple(ids.shape)}")
        T = ids.shape[1]
        if T > self.config.max_len:
            raise ValueError(f"a sequence of {T} tokens is longer than max_len={self.config.max_len}")
        x = self.tokens(ids) + self.segments(segments) + self.positions.weight[:T]  # (B, T, D)
        x = self.dropout(self.norm(x))
        return self.encoder(x, key_padding_mask=lengths_to_mask(lengths, T))  # (B, T, D), (L, B, H, T, T)


class BertOutput(NamedTuple):
    """What :class:`BertForPretraining` returns."""

    mlm_logits: Tensor  # (B, T, V) which token stands at each position
    nsp_logits: Tensor  # (B, 2) does sentence B follow sentence A? (1 = yes), from [cls]
    weights: Tensor  # (L, B, H, T, T) every layer's self-attention
    hidden: Tensor  # (B, T, D) the last layer's output


class BertForPretraining(nn.Module):
    """BERT with its two pretraining heads: the masked-LM head on every position,
    and the next-sentence head on ``[cls]`` (BERT's "pooler", a tanh layer, then
    two logits)."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        D = config.d_model
        self.bert = Bert(config)
        self.mlm_head = nn.Sequential(nn.Linear(D, D), nn.GELU(), nn.LayerNorm(D), nn.Linear(D, config.vocab_size))
        self.nsp_head = nn.Sequential(nn.Linear(D, D), nn.Tanh(), nn.Linear(D, 2))

    def forward(self, ids: Tensor, segments: Tensor, lengths: Tensor) -> BertOutput:
        hidden, weights = self.bert(ids, segments, lengths)  # (B, T, D), (L, B, H, T, T)
        return BertOutput(self.mlm_head(hidden), self.nsp_head(hidden[:, 0]), weights, hidden)


class BertTagger(nn.Module):
    """Fine-tuning for token tagging: one linear layer on every position's vector,
    on top of a BERT encoder — a pretrained one (:meth:`from_pretrained`, copied, so
    the original stays as it is) or a freshly initialised one (trained from scratch).

    ``model(ids, segments, lengths)`` -> ``(logits (B, T, K), weights (L, B, H, T, T))``.
    """

    def __init__(self, config: TransformerConfig, num_tags: int = len(TAGS), *, bert: Optional[Bert] = None):
        super().__init__()
        positive_int(num_tags, "num_tags")
        self.bert = Bert(config) if bert is None else bert
        self.head = nn.Linear(config.d_model, num_tags)

    @classmethod
    def from_pretrained(cls, pretrained: BertForPretraining, num_tags: int = len(TAGS)) -> "BertTagger":
        if not isinstance(pretrained, BertForPretraining):
            raise ValueError(f"from_pretrained needs a BertForPretraining, got {type(pretrained).__name__}")
        return cls(pretrained.bert.config, num_tags, bert=copy.deepcopy(pretrained.bert))

    def forward(self, ids: Tensor, segments: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        hidden, weights = self.bert(ids, segments, lengths)
        return self.head(hidden), weights  # (B, T, K), (L, B, H, T, T)


class GPT(nn.Module):
    """GPT's model: the same encoder layers, but each position may attend only to
    itself and the positions before it (the causal mask), and the output layer
    predicts the *next* token. The output layer reuses the token embedding table
    (weight tying, as GPT and GPT-2 do).

    ``model(ids, lengths)`` -> ``(logits (B, T, V), weights (L, B, H, T, T))``: the
    logits at position t are the model's guess of token t + 1.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        D = config.d_model
        self.tokens = nn.Embedding(config.vocab_size, D, padding_idx=config.pad_id)
        self.positions = nn.Embedding(config.max_len, D)
        for table in (self.tokens, self.positions):
            nn.init.normal_(table.weight, std=0.02)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = TransformerEncoder(config.num_layers, **config.layer_kwargs())

    def forward(self, ids: Tensor, lengths: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        check_ids(ids, "ids", self.config.vocab_size)
        B, T = ids.shape
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=ids.device)
        check_src(ids, lengths)
        if T > self.config.max_len:
            raise ValueError(f"a sequence of {T} tokens is longer than max_len={self.config.max_len}")
        x = self.dropout(self.tokens(ids) + self.positions.weight[:T])  # (B, T, D)
        h, weights = self.encoder(x, key_padding_mask=lengths_to_mask(lengths, T),
                                  attn_mask=causal_mask(T, device=ids.device))  # (B, T, D), (L, B, H, T, T)
        return h @ self.tokens.weight.T, weights  # (B, T, V): tied to the input table


# ---------------------------------------------------------------------------
# 3. Pretraining BERT, and fine-tuning it
# ---------------------------------------------------------------------------


def train_bert(model: BertForPretraining, data: LanguageData, vocab: Vocab, config: Optional[TrainConfig] = None,
               *, nsp: bool = True, callback=None) -> TrainResult:
    """Pretrain ``model`` on pairs of training sentences (:class:`PairSampler`): the
    masked-LM loss (``mask_tokens``, ``[cls]`` and ``[sep]`` never masked) plus,
    with ``nsp=True``, the next-sentence loss — BERT's sum of the two. With
    ``nsp=False`` the inputs are the same pairs and only the masked LM is trained
    (RoBERTa's question: does the second task help?). The logged loss is the
    masked LM's, so the two runs can be compared."""
    if not isinstance(model, BertForPretraining):
        raise ValueError(f"train_bert needs a BertForPretraining, got {type(model).__name__}")
    config = config or TrainConfig()
    sampler = PairSampler(data.train)
    device = next(model.parameters()).device
    V = model.bert.config.vocab_size
    protected = (vocab.token_to_id(CLS), vocab.token_to_id(SEP))
    mask_id = vocab.token_to_id(MASK)

    def batch_loss(generator: torch.Generator):
        pairs, is_next = sampler.draw(config.batch_size, generator)
        ids, segments, lengths = encode_pairs(vocab, pairs)
        inputs, labels = mask_tokens(ids, lengths, mask_id=mask_id, vocab_size=V, protected=protected,
                                     generator=generator)
        out = model(inputs.to(device), segments.to(device), lengths.to(device))
        mlm = F.cross_entropy(out.mlm_logits.reshape(-1, V), labels.reshape(-1).to(device), ignore_index=IGNORE)
        if not nsp:
            return mlm
        return mlm + F.cross_entropy(out.nsp_logits, is_next.to(device)), mlm

    return run_training(model, config, batch_loss, callback=callback)


@torch.inference_mode()
def nsp_accuracy(model: BertForPretraining, vocab: Vocab, pairs, labels: Tensor) -> float:
    """The share of ``pairs`` whose next-sentence guess matches ``labels``."""
    model.eval()
    device = next(model.parameters()).device
    ids, segments, lengths = encode_pairs(vocab, pairs)
    logits = model(ids.to(device), segments.to(device), lengths.to(device)).nsp_logits
    return float((logits.argmax(-1).cpu() == labels).float().mean())


def _tag_batch(vocab: Vocab, sentences: Sequence[Sentence]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(ids, segments, lengths, tags (B, T))`` for ``[cls] s [sep]``; tags -100 off the words."""
    ids, segments, lengths = encode_single(vocab, [s.tokens for s in sentences])
    tags = torch.full_like(ids, IGNORE)
    for b, s in enumerate(sentences):
        tags[b, 1:1 + len(s.tokens)] = torch.tensor([TAGS.index(tag_of(w)) for w in s.tokens])
    return ids, segments, lengths, tags


def train_tagger(model: BertTagger, vocab: Vocab, sentences: Sequence[Sentence],
                 config: Optional[TrainConfig] = None) -> TrainResult:
    """Fine-tune ``model`` (every parameter, as BERT does) to tag the words of the
    labelled ``sentences`` with their :data:`TAGS`."""
    if not sentences:
        raise ValueError("train_tagger needs at least one labelled sentence")
    config = config or TrainConfig()
    device = next(model.parameters()).device
    ids, segments, lengths, tags = _tag_batch(vocab, sentences)
    n = len(sentences)

    def batch_loss(generator: torch.Generator) -> Tensor:
        idx = torch.randint(n, (min(config.batch_size, n),), generator=generator)
        logits, _ = model(ids[idx].to(device), segments[idx].to(device), lengths[idx].to(device))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tags[idx].reshape(-1).to(device),
                               ignore_index=IGNORE)

    return run_training(model, config, batch_loss)


@torch.inference_mode()
def tagging_scores(model: BertTagger, vocab: Vocab, sentences: Sequence[Sentence],
                   seen: Optional[set] = None) -> Dict[str, Any]:
    """Tag held-out ``sentences`` and score the content words (template words are
    easy): ``accuracy`` over all content words, ``unseen`` over the content words
    not among ``seen`` (the words of the labelled sentences), their counts, and
    ``predicted``, the tags given to each sentence."""
    model.eval()
    device = next(model.parameters()).device
    ids, segments, lengths, tags = _tag_batch(vocab, sentences)
    logits, _ = model(ids.to(device), segments.to(device), lengths.to(device))
    pred = logits.argmax(-1).cpu()  # (B, T)
    right = total = right_unseen = total_unseen = 0
    predicted = []
    for b, s in enumerate(sentences):
        predicted.append([TAGS[int(k)] for k in pred[b, 1:1 + len(s.tokens)]])
        for w, p in zip(s.tokens, predicted[-1]):
            if tag_of(w) == "O":
                continue
            ok = p == tag_of(w)
            right, total = right + ok, total + 1
            if seen is not None and w not in seen:
                right_unseen, total_unseen = right_unseen + ok, total_unseen + 1
    return {"accuracy": right / total, "n": total,
            "unseen": right_unseen / total_unseen if total_unseen else float("nan"), "n_unseen": total_unseen,
            "predicted": predicted}


def position_kind(sentence: Sentence, i: int) -> str:
    """What decides the word at position ``i``: ``"left"`` (the words before it
    leave one choice), ``"right"`` (the whole sentence leaves one choice, the words
    before it do not: it needs the words after it) or ``"free"`` (several words fit
    even given the whole sentence)."""
    if len(left_choices(sentence.tokens, i)) == 1:
        return "left"
    return "right" if len(sentence.choices[i]) == 1 else "free"


def _score(records: List[Dict[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for kind in ("left", "right", "free", "all"):
        rs = [r for r in records if kind == "all" or r["kind"] == kind]
        if rs:
            out[kind] = {"accuracy": sum(r["correct"] for r in rs) / len(rs), "n": len(rs)}
    out["records"] = records
    return out


@torch.inference_mode()
def fill_in_scores(model: BertForPretraining, vocab: Vocab, sentences: Sequence[Sentence]) -> Dict[str, Any]:
    """BERT's masked LM on single sentences (``[cls] s [sep]``): mask each position in
    turn and score the top guess against the original word, per :func:`position_kind`."""
    model.eval()
    device = next(model.parameters()).device
    rows, where = [], []
    for si, s in enumerate(sentences):
        for i in range(len(s.tokens)):
            t = list(s.tokens)
            t[i] = MASK
            rows.append(t)
            where.append((si, i))
    ids, segments, lengths = encode_single(vocab, rows)
    logits = model(ids.to(device), segments.to(device), lengths.to(device)).mlm_logits  # (N, T, V)
    pos = torch.tensor([i + 1 for _, i in where], device=device)  # +1: [cls] comes first
    guess = logits[torch.arange(len(rows), device=device), pos].argmax(-1).tolist()
    records = [{"sentence": si, "position": i, "kind": position_kind(sentences[si], i),
                "truth": sentences[si].tokens[i], "guess": vocab.id_to_token(g),
                "correct": vocab.id_to_token(g) == sentences[si].tokens[i]} for (si, i), g in zip(where, guess)]
    return _score(records)


# ---------------------------------------------------------------------------
# 4. GPT: training, scoring, sampling
# ---------------------------------------------------------------------------


def _gpt_batch(vocab: Vocab, sentences: Sequence[Sequence[str]]) -> Tuple[Tensor, Tensor]:
    """``<bos> s <eos>`` for each sentence -> ``(ids (B, T), lengths (B,))``."""
    return pad_sequences([vocab.encode(s, add_bos=True, add_eos=True) for s in sentences], pad_id=vocab.pad_id)


def train_gpt(model: GPT, data: LanguageData, config: Optional[TrainConfig] = None) -> TrainResult:
    """Train ``model`` to predict each next token of the training sentences
    (``<bos> s <eos>``): the inputs are tokens 0..n-1, the targets tokens 1..n."""
    if not isinstance(model, GPT):
        raise ValueError(f"train_gpt needs a GPT, got {type(model).__name__}")
    config = config or TrainConfig()
    device = next(model.parameters()).device
    ids, lengths = _gpt_batch(data.vocab, [s.tokens for s in data.train])
    pad = data.vocab.pad_id

    def batch_loss(generator: torch.Generator) -> Tensor:
        idx = torch.randint(len(ids), (config.batch_size,), generator=generator)
        x, n = ids[idx].to(device), lengths[idx].to(device)
        logits, _ = model(x[:, :-1], (n - 1).clamp(min=1))  # (B, T-1, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), ignore_index=pad)

    return run_training(model, config, batch_loss)


@torch.inference_mode()
def next_word_scores(model: GPT, vocab: Vocab, sentences: Sequence[Sentence]) -> Dict[str, Any]:
    """GPT's guess of every word of ``sentences`` from the words before it (one
    teacher-forced pass), scored per :func:`position_kind` like :func:`fill_in_scores`."""
    model.eval()
    device = next(model.parameters()).device
    ids, lengths = _gpt_batch(vocab, [s.tokens for s in sentences])
    logits, _ = model(ids.to(device), lengths.to(device))
    guess = logits.argmax(-1).cpu()  # (B, T): position t guesses token t + 1
    records = []
    for si, s in enumerate(sentences):
        for i, w in enumerate(s.tokens):
            g = vocab.id_to_token(int(guess[si, i]))  # read at <bos> + the i words before
            records.append({"sentence": si, "position": i, "kind": position_kind(s, i), "truth": w, "guess": g,
                            "correct": g == w})
    return _score(records)


@torch.inference_mode()
def sample_sentences(model: GPT, vocab: Vocab, n: int, *, temperature: float = 1.0, max_len: int = 16,
                     generator: Optional[torch.Generator] = None) -> List[Tuple[str, ...]]:
    """``n`` sentences written by ``model`` one token at a time from ``<bos>``, each
    drawn from the softmax of the logits divided by ``temperature``, until ``<eos>``
    (or ``max_len`` tokens)."""
    positive_int(n, "n")
    positive_int(max_len, "max_len")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if max_len + 1 > model.config.max_len:
        raise ValueError(f"max_len={max_len} does not fit the model's positions (max_len={model.config.max_len})")
    model.eval()
    device = next(model.parameters()).device
    ids = torch.full((n, 1), vocab.bos_id, dtype=torch.long, device=device)  # (n, 1)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for _ in range(max_len):
        logits, _ = model(ids)  # (n, t, V)
        probs = (logits[:, -1] / temperature).softmax(-1).cpu()  # (n, V)
        nxt = torch.multinomial(probs, 1, generator=generator).to(device)  # (n, 1)
        nxt[done] = vocab.pad_id
        ids = torch.cat([ids, nxt], dim=1)
        done |= nxt[:, 0] == vocab.eos_id
        if bool(done.all()):
            break
    return [tuple(vocab.decode(row[1:].tolist())) for row in ids.cpu()]


def judge_samples(samples: Sequence[Sequence[str]], data: LanguageData) -> Dict[str, Any]:
    """Which samples are sentences of the language, and whether the model saw them:
    ``valid`` (share that are sentences), ``copied`` (share that are training
    sentences), ``new`` (share that are held-out sentences: valid, never seen),
    and ``marks``, one of "training", "held out" or "not a sentence" per sample."""
    train = {s.tokens for s in data.train}
    test = {s.tokens for s in data.test}
    marks = ["training" if tuple(s) in train else "held out" if tuple(s) in test else "not a sentence"
             for s in samples]
    n = len(marks)
    if not n:
        raise ValueError("judge_samples needs at least one sample")
    return {"valid": sum(m != "not a sentence" for m in marks) / n, "copied": marks.count("training") / n,
            "new": marks.count("held out") / n, "marks": marks}
