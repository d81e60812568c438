"""Image captioning with visual attention (Xu et al., 2015, "Show, Attend and Tell").

The file reads top to bottom:

1. ``CaptionerConfig`` -- the hyperparameters;
2. ``CNNEncoder`` -- a small CNN that turns an image into a grid of region
   vectors ``y_1..y_N`` (e.g. 4 × 4 = 16 regions);
3. ``CaptionDecoder`` -- an LSTM that writes the caption word by word; at
   every word it *attends* over the regions. Three ways to do that:

   * ``MeanPoolDecoder`` -- no attention: always the mean of the regions,
     one vector for the whole image (the basic captioner, the bottleneck);
   * ``SoftAttentionDecoder`` -- soft attention: the weighted mean
     ``z = Σ s_i y_i`` (deterministic, differentiable);
   * ``HardAttentionDecoder`` -- hard attention: *one* region, sampled from
     ``s`` while training; trained with REINFORCE;

4. ``Captioner`` -- encoder + decoder: teacher-forced ``forward`` and
   ``greedy_decode``, both returning the attention map of every word;
5. ``caption_batch``, ``caption_loss`` and ``train_captioner`` -- batches,
   the loss (cross-entropy, plus REINFORCE for hard attention) and training
   with the package's one loop, ``attnbook.train.run_training``;
6. ``evaluate_captioner`` -- caption exact match and token accuracy by number
   of objects, and *attention correctness*: the share of a word's attention
   that lands on the object the word names.

The attention model itself on points in the plane (soft against hard,
REINFORCE) is in ``attnbook.playground``.

Shape letters: ``B`` batch, ``T`` caption length (words + ``<eos>``), ``N``
image regions (``gh × gw``), ``D`` region vector size, ``H`` LSTM size,
``V`` vocabulary size. Token id 0 is ``<pad>`` (see ``attnbook.data.Vocab``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from . import resolve_seed
from .attention import AdditiveAttention
from .checks import check_choice, check_positive_ints, check_tgt, positive_int
from .data.scenes import SceneData, Scenes
from .data.vocab import Vocab, pad_sequences
from .decoding import DecodeOutput, Step, greedy_decode
from .train import TrainConfig, TrainResult, encoded_once, run_training

__all__ = [
    "CaptionerConfig",
    "CNNEncoder",
    "CaptionDecoder",
    "MeanPoolDecoder",
    "SoftAttentionDecoder",
    "HardAttentionDecoder",
    "CaptionOutput",
    "Captioner",
    "CaptionBatch",
    "caption_batch",
    "CaptionTrainConfig",
    "caption_loss",
    "train_captioner",
    "attention_correctness",
    "caption_attention",
    "evaluate_captioner",
    "caption_breakdown",
    "scene_attention_maps",
    "caption_view_examples",
    "format_caption_table",
]

ATTENTION_KINDS = ("none", "soft", "hard")


# ---------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------


@dataclass
class CaptionerConfig:
    """Hyperparameters of a captioner (encoder and decoder)."""

    vocab_size: int  # V: caption vocabulary size, specials included (len(vocab))
    attention: str = "soft"  # "none" (mean of the regions), "soft" (weighted mean) or "hard" (one sampled region)
    image_size: int = 32  # side of the (square) input images in pixels
    channels: Tuple[int, ...] = (8, 16, 32)  # CNN: one conv 3×3 + batch norm + ReLU + max-pool 2 per entry; D = the last
    emb_dim: int = 32  # E: size of the word embeddings
    hidden_size: int = 128  # H: size of the LSTM state
    attn_dim: int = 64  # size of m_i, the tanh layer of the attention model
    init_from_mean: bool = True  # start the LSTM from the mean region (Xu et al.); False: a learned start
    positions: bool = True  # add a learned embedding of each region's place in the grid to its vector
    hard_eval: str = "argmax"  # what hard attention does outside training: "argmax" or "sample"
    pad_id: int = 0  # id of <pad>
    bos_id: int = 1  # id of <bos>
    eos_id: int = 2  # id of <eos>

    def __post_init__(self) -> None:
        check_positive_ints(vocab_size=self.vocab_size, image_size=self.image_size, emb_dim=self.emb_dim,
                            hidden_size=self.hidden_size, attn_dim=self.attn_dim)
        check_choice(self.attention, "attention", ATTENTION_KINDS)
        check_choice(self.hard_eval, "hard_eval", ("argmax", "sample"))
        self.channels = tuple(self.channels)
        if not self.channels or any(isinstance(c, bool) or not isinstance(c, int) or c <= 0 for c in self.channels):
            raise ValueError(f"channels must be a non-empty tuple of positive integers, got {self.channels!r}")
        if self.image_size % 2 ** len(self.channels):
            raise ValueError(
                f"image_size={self.image_size} must be divisible by 2^len(channels) = {2 ** len(self.channels)} "
                "(each CNN block halves the grid)"
            )

    @property
    def grid(self) -> int:
        """Side of the region grid the encoder returns (``gh = gw``)."""
        return self.image_size // 2 ** len(self.channels)

    @property
    def n_regions(self) -> int:
        """N = grid²: how many region vectors the decoder attends over."""
        return self.grid ** 2

    @classmethod
    def for_data(cls, data: SceneData, **overrides: Any) -> "CaptionerConfig":
        """A config sized for ``attnbook.data.scenes.SceneData`` (vocabulary, image size)."""
        kw = dict(vocab_size=len(data.vocab), image_size=data.config.image_size, pad_id=data.vocab.pad_id,
                  bos_id=data.vocab.bos_id, eos_id=data.vocab.eos_id)
        kw.update(overrides)
        return cls(**kw)


# ---------------------------------------------------------------------------
# 2. Encoder: image -> grid of region vectors
# ---------------------------------------------------------------------------


class CNNEncoder(nn.Module):
    """A small CNN: ``len(channels)`` blocks of conv 3×3 + batch norm + ReLU + max-pool 2.

    ``forward(images (B, 3, H, W)) -> regions (B, N, D)`` with
    ``N = (H / 2^blocks)²`` regions in reading order (row by row) and
    ``D = channels[-1]``. A 32 × 32 image and three blocks give a 4 × 4 grid:
    region ``i`` sees mostly the 8 × 8 cell ``(i // 4, i % 4)``.
    """

    def __init__(self, *, channels: Sequence[int] = (8, 16, 32), image_size: int = 32,
                 positions: bool = True) -> None:
        super().__init__()
        layers: List[nn.Module] = []
        c_in = 3
        for c_out in channels:
            layers += [
                nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),  # normalised features: trains in a few hundred steps instead of thousands
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        self.net = nn.Sequential(*layers)
        self.image_size = image_size
        self.out_dim = c_in  # D
        n_regions = (image_size // 2 ** len(channels)) ** 2  # N
        # where each region is: a learned vector per grid position, added to what the CNN sees there
        self.position = nn.Parameter(torch.randn(n_regions, c_in) * 0.1) if positions else None  # (N, D)

    def forward(self, images: Tensor) -> Tensor:
        if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 3:
            shape = tuple(getattr(images, "shape", ()))
            raise ValueError(f"images must be a (B, 3, H, W) tensor, got shape {shape}")
        if images.shape[2] != self.image_size or images.shape[3] != self.image_size:
            raise ValueError(
                f"images of shape {tuple(images.shape)} must be {self.image_size} × {self.image_size} "
                "(CaptionerConfig.image_size)"
            )
        if not images.is_floating_point():
            raise ValueError(f"images must be floats in 0..1 (Scenes.pixels()), got dtype {images.dtype}")
        features = self.net(images)  # (B, D, gh, gw)
        regions = rearrange(features, "b d h w -> b (h w) d")  # (B, N, D)
        if self.position is not None:
            regions = regions + self.position  # (B, N, D) + (N, D)
        return regions


# ---------------------------------------------------------------------------
# 3. Decoders: an LSTM that attends over the regions at every word
# ---------------------------------------------------------------------------


class CaptionDecoder(nn.Module):
    """The LSTM caption decoder; subclasses say where it looks (``attend``).

    For word ``t``, with ``h_{t-1}`` the LSTM state after the previous word::

        z_t, s_t = attend(h_{t-1}, regions)        # where to look, and what it sees there
        h_t      = LSTM([embed(y_{t-1}); z_t], h_{t-1})
        logits_t = Linear([h_t; z_t])             # the word ...
                                                  # ... and h_t says where to look next

    The initial state is ``tanh(Linear(mean of the regions))`` (Xu et al.).
    """

    def __init__(self, config: CaptionerConfig, *, region_dim: int) -> None:
        super().__init__()
        self.config = config
        H = config.hidden_size
        self.embed = nn.Embedding(config.vocab_size, config.emb_dim, padding_idx=config.pad_id)
        self.init_h = nn.Linear(region_dim, H)
        self.init_c = nn.Linear(region_dim, H)
        self.lstm = nn.LSTMCell(config.emb_dim + region_dim, H)
        self.out = nn.Linear(H + region_dim, config.vocab_size)

    def init_state(self, regions: Tensor) -> Tuple[Tensor, Tensor]:
        """``regions (B, N, D)`` -> ``(h_0, c_0)``, each ``(B, H)``."""
        mean = regions.mean(dim=1)  # (B, D)
        if not self.config.init_from_mean:  # a learned start: tanh(bias), the same for every image
            mean = torch.zeros_like(mean)
        return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))

    def attend(self, h: Tensor, regions: Tensor) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """``h (B, H)``, ``regions (B, N, D)`` -> ``(z (B, D), weights (B, N), picked (B,) or None)``."""
        raise NotImplementedError

    def step(self, y_prev: Tensor, state: Tuple[Tensor, Tensor], regions: Tensor) -> Step:
        """One word: ``y_prev (B,)`` ids of the previous word (``<bos>`` first).

        Returns the next word's ``logits (B, V)``, the attention ``weights (B, N)``
        (uniform without attention), the new state ``(h, c)`` and ``picked (B,)``,
        the region hard attention used (None otherwise).
        """
        h, c = state
        z, weights, picked = self.attend(h, regions)  # (B, D), (B, N), (B,) or None
        x = torch.cat([self.embed(y_prev), z], dim=-1)  # (B, E + D)
        h, c = self.lstm(x, (h, c))  # (B, H) each
        logits = self.out(torch.cat([h, z], dim=-1))  # (B, V)
        return Step(logits, weights, (h, c), picked)


class MeanPoolDecoder(CaptionDecoder):
    """No attention: every word sees the mean of the regions, one vector for the whole image."""

    def attend(self, h: Tensor, regions: Tensor) -> Tuple[Tensor, Tensor, None]:
        B, N, _ = regions.shape
        weights = regions.new_full((B, N), 1.0 / N)  # (B, N) uniform
        return regions.mean(dim=1), weights, None  # (B, D)


class SoftAttentionDecoder(CaptionDecoder):
    """Soft attention: ``z = Σ_i s_i y_i`` with ``s = softmax(w · tanh(W_c h + W_y y_i))``."""

    def __init__(self, config: CaptionerConfig, *, region_dim: int) -> None:
        super().__init__(config, region_dim=region_dim)
        self.attention = AdditiveAttention(query_dim=config.hidden_size, key_dim=region_dim,
                                           hidden_dim=config.attn_dim)

    def attend(self, h: Tensor, regions: Tensor) -> Tuple[Tensor, Tensor, None]:
        z, weights = self.attention(h, regions)  # (B, D), (B, N)
        return z, weights, None


class HardAttentionDecoder(SoftAttentionDecoder):
    """Hard attention: ``z = y_a`` for *one* region ``a``.

    The weights ``s`` are computed exactly as for soft attention; then, while
    training, ``a`` is *sampled* from ``s`` (a random choice, so no gradient
    flows into ``s`` through ``z``: ``train_captioner`` trains ``s`` with
    REINFORCE). Outside training, ``a`` is the arg-max of ``s``
    (``config.hard_eval = "argmax"``, the default) or a sample (``"sample"``).
    """

    def attend(self, h: Tensor, regions: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        _, weights = self.attention(h, regions)  # (B, N)
        if self.training or self.config.hard_eval == "sample":
            picked = torch.multinomial(weights.detach(), 1).squeeze(1)  # (B,)
        else:
            picked = weights.argmax(dim=-1)  # (B,)
        z = regions[torch.arange(regions.shape[0], device=regions.device), picked]  # (B, D)
        return z, weights, picked


_DECODERS = {"none": MeanPoolDecoder, "soft": SoftAttentionDecoder, "hard": HardAttentionDecoder}


# ---------------------------------------------------------------------------
# 4. The whole captioner
# ---------------------------------------------------------------------------


class CaptionOutput(NamedTuple):
    """Result of ``Captioner.forward`` (teacher forcing)."""

    logits: Tensor  # (B, T, V)
    weights: Tensor  # (B, T, N) attention of every word over the regions; rows sum to 1
    picked: Optional[Tensor]  # (B, T) regions hard attention used; None otherwise


class Captioner(nn.Module):
    """CNN encoder + LSTM decoder with no, soft or hard attention (``config.attention``).

    ``forward(images (B, 3, H, W), tokens_in (B, T)) -> CaptionOutput`` with
    teacher forcing (``tokens_in`` = ``<bos> w_1 ... w_n``); ``greedy_decode``
    writes captions word by word.
    """

    def __init__(self, config: CaptionerConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = CNNEncoder(channels=config.channels, image_size=config.image_size,
                                  positions=config.positions)
        self.decoder = _DECODERS[config.attention](config, region_dim=self.encoder.out_dim)
        self.pad_id, self.bos_id, self.eos_id = config.pad_id, config.bos_id, config.eos_id

    @property
    def attention(self) -> str:
        return self.config.attention

    def forward(self, images: Tensor, tokens_in: Tensor) -> CaptionOutput:
        regions = self.encoder(images)  # (B, N, D)
        check_tgt(tokens_in, images.shape[0], name="tokens_in", other="images")
        state = self.decoder.init_state(regions)
        logits, weights, picked = [], [], []
        for t in range(tokens_in.shape[1]):
            out = self.decoder.step(tokens_in[:, t], state, regions)
            state = out.state
            logits.append(out.logits)
            weights.append(out.weights)
            picked.append(out.picked)
        return CaptionOutput(
            torch.stack(logits, dim=1),  # (B, T, V)
            torch.stack(weights, dim=1),  # (B, T, N)
            None if picked[0] is None else torch.stack(picked, dim=1),  # (B, T)
        )

    @torch.inference_mode()
    def greedy_decode(self, images: Tensor, *, max_len: int = 12) -> DecodeOutput:
        """Caption a batch, always taking the most likely next word.

        Stops when every caption has produced ``<eos>`` or after ``max_len``
        words. Runs in eval mode (restored afterwards); hard attention then
        looks where ``config.hard_eval`` says (the arg-max by default).
        """
        positive_int(max_len, "max_len")
        was_training = self.training
        self.eval()
        try:
            regions = self.encoder(images)  # (B, N, D)

            def step(y: Tensor, state: Any) -> Step:
                return self.decoder.step(y, state, regions)  # logits (B, V), weights (B, N)

            return greedy_decode(step, self.decoder.init_state(regions), batch_size=regions.shape[0],
                                 max_len=max_len, bos_id=self.bos_id, eos_id=self.eos_id, pad_id=self.pad_id,
                                 device=regions.device)
        finally:
            self.train(was_training)


# ---------------------------------------------------------------------------
# 5. Batches and training
# ---------------------------------------------------------------------------


class CaptionBatch(NamedTuple):
    """Tensors for teacher-forced training on some scenes."""

    images: Tensor  # (B, 3, H, W) floats in 0..1
    tokens_in: Tensor  # (B, T) <bos> w_1 ... w_n, then <pad>
    tokens_out: Tensor  # (B, T) w_1 ... w_n <eos>, then <pad>
    regions: Tensor  # (B, T, N) bool: the regions of the object word t names (all False at <eos> and <pad>)


def caption_batch(scenes: Scenes, vocab: Vocab, idx: Any = None, *, grid: Optional[int] = None) -> CaptionBatch:
    """The scenes at ``idx`` (default all) as a ``CaptionBatch``; ``grid`` is the
    encoder's region grid (default the scenes' own grid)."""
    sub = scenes if idx is None else scenes[idx]
    if len(sub) == 0:
        raise ValueError("caption_batch needs at least one scene")
    tokens_in, _ = pad_sequences([vocab.encode(c, add_bos=True) for c in sub.captions], pad_id=vocab.pad_id)
    tokens_out, _ = pad_sequences([vocab.encode(c, add_eos=True) for c in sub.captions], pad_id=vocab.pad_id)
    words = torch.from_numpy(sub.word_regions(grid))  # (B, L, N), L = longest caption
    regions = torch.zeros(*tokens_out.shape, words.shape[-1], dtype=torch.bool)  # (B, T, N), T = L + 1
    regions[:, : words.shape[1]] = words
    return CaptionBatch(sub.pixels(), tokens_in, tokens_out, regions)


@dataclass
class CaptionTrainConfig(TrainConfig):
    """Settings of ``train_captioner``: a ``TrainConfig`` with the captioner's defaults
    (a cosine from 6e-3 down to a tenth of it), plus hard attention's REINFORCE settings."""

    lr: float = 6e-3  # Adam learning rate at the start
    lr_schedule: str = "cosine"  # the rate falls along a cosine ...
    lr_final: float = 0.1  # ... to lr × lr_final at the last step (1 = constant)
    reinforce_weight: float = 3.0  # hard attention: weight of the REINFORCE term (3 learned faster than 1 here)
    entropy_weight: float = 0.01  # hard attention: bonus for spread-out weights s (keeps exploring)
    baseline_decay: float = 0.9  # hard attention: the baseline is a moving average of the reward, per word position
    reward: str = "word"  # hard attention: "word" (log p of the word it looked for) or "caption" (of the whole caption)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {self.baseline_decay}")
        check_choice(self.reward, "reward", ("word", "caption"))


def caption_loss(
    model: Captioner,
    batch: CaptionBatch,
    config: CaptionTrainConfig,
    baseline: Optional[Tensor] = None,
) -> Tuple[Tensor, Dict[str, Tensor]]:
    """The training loss of one batch, and what it is made of.

    Every model: the cross-entropy of the next word (teacher forcing). Hard
    attention adds the REINFORCE term: each sampled region ``a_t`` gets the
    reward ``r`` (the log-probability the model then gave the right word --
    or the whole caption, ``config.reward``), minus a ``baseline`` (a running
    mean of ``r``), times ``∇ log s_t[a_t]``; and an entropy bonus on ``s_t``.
    Returns ``(loss, parts)`` with ``parts["reward"]`` ``(T,)`` the batch-mean
    reward per word position (to update the baseline).
    """
    out = model(batch.images, batch.tokens_in)  # logits (B, T, V), weights (B, T, N)
    real = batch.tokens_out != model.pad_id  # (B, T)
    logp_words = -F.cross_entropy(rearrange(out.logits, "b t v -> b v t"), batch.tokens_out,
                                  reduction="none")  # (B, T): log p(right word)
    logp_words = logp_words * real
    n_real = real.sum()
    nll = -logp_words.sum() / n_real
    parts = {"nll": nll.detach()}
    if out.picked is None:
        return nll, parts
    w = out.weights  # (B, T, N)
    log_s = w.clamp_min(1e-9).log()  # (B, T, N)
    log_s_picked = log_s.gather(-1, out.picked.unsqueeze(-1)).squeeze(-1)  # (B, T)
    if config.reward == "word":
        reward = logp_words.detach()  # (B, T)
    else:  # the paper's: the log-likelihood of the whole caption, for every sample in it
        reward = logp_words.detach().sum(dim=1, keepdim=True).expand_as(logp_words)  # (B, T)
    mean_reward = (reward * real).sum(0) / real.sum(0).clamp_min(1)  # (T,)
    b = mean_reward if baseline is None else baseline.to(reward)  # (T,)
    advantage = (reward - b[None, : reward.shape[1]]) * real  # (B, T)
    reinforce = -(advantage * log_s_picked).sum() / n_real
    entropy = -((w * log_s).sum(-1) * real).sum() / n_real
    loss = nll + config.reinforce_weight * reinforce - config.entropy_weight * entropy
    parts.update(reward=mean_reward.detach(), entropy=entropy.detach())
    return loss, parts


class _EncodedScenes:
    """A ``Scenes`` encoded once into tensors; ``batch(idx)`` slices them."""

    def __init__(self, scenes: Scenes, vocab: Vocab, grid: int) -> None:
        full = caption_batch(scenes, vocab, grid=grid)
        self.images = full.images  # (N, 3, H, W)
        self.tokens_in, self.tokens_out, self.regions = full.tokens_in, full.tokens_out, full.regions
        self.lengths = (self.tokens_out != vocab.pad_id).sum(1)  # (N,)

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, idx: Tensor) -> CaptionBatch:
        T = int(self.lengths[idx].max())
        return CaptionBatch(self.images[idx], self.tokens_in[idx, :T], self.tokens_out[idx, :T],
                            self.regions[idx, :T])


def train_captioner(
    model: Captioner,
    data: SceneData,
    config: Optional[CaptionTrainConfig] = None,
    *,
    callback: Optional[Callable[[int, Captioner], None]] = None,
) -> TrainResult:
    """Train ``model`` on ``data.train`` with Adam and teacher forcing (plus REINFORCE for hard attention).

    The loop is the package's one, ``attnbook.train.run_training``; each step
    draws ``config.batch_size`` random training scenes. The batch order and hard
    attention's samples come from ``config.seed`` (``None`` = ``ATTNBOOK_SEED``);
    the initial weights from whatever seeded them (call
    ``attnbook.seed_everything()`` before building the model). With
    ``config.callback_every = n``, ``callback(step, model)`` runs after every
    n-th step and after the last (its time is not counted as training time).
    ``TrainResult.losses`` holds the cross-entropy of every step.
    """
    config = config or CaptionTrainConfig()
    if not isinstance(model, Captioner):
        raise ValueError(f"model must be a Captioner, got {type(model).__name__}")
    if data.config.image_size != model.config.image_size:
        raise ValueError(f"the scenes are {data.config.image_size} px but the model expects "
                         f"{model.config.image_size} px (CaptionerConfig.image_size)")
    device = next(model.parameters()).device
    encoded = encoded_once(_EncodedScenes, data.train, data.vocab, model.config.grid)
    baseline: Optional[Tensor] = None  # hard attention: moving average of the reward, per word position

    def batch_loss(generator: torch.Generator) -> Tuple[Tensor, Tensor]:
        nonlocal baseline
        idx = torch.randint(len(encoded), (config.batch_size,), generator=generator)  # (B,)
        batch = CaptionBatch(*(t.to(device) for t in encoded.batch(idx)))
        loss, parts = caption_loss(model, batch, config, baseline)
        if "reward" in parts:  # the next step's baseline
            r = parts["reward"].cpu()  # (T,)
            if baseline is None or baseline.shape[0] < r.shape[0]:
                grown = r.clone()
                if baseline is not None:
                    grown[: baseline.shape[0]] = baseline
                baseline = grown
            d = config.baseline_decay
            baseline[: r.shape[0]] = d * baseline[: r.shape[0]] + (1 - d) * r
        return loss, parts["nll"]  # minimise the loss, record the cross-entropy

    def callback_aside(step: int, m: nn.Module) -> None:  # its random numbers are not hard attention's
        with torch.random.fork_rng(devices=[]):
            callback(step, m)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(resolve_seed(config.seed) + 1)  # hard attention's samples: reproducible, apart from the caller's
        return run_training(model, config, batch_loss, callback=None if callback is None else callback_aside)


# ---------------------------------------------------------------------------
# 6. Evaluation
# ---------------------------------------------------------------------------


def attention_correctness(weights: Tensor, regions: Tensor) -> Dict[str, float]:
    """How much of each word's attention lands on the object the word names.

    Args:
        weights: ``(B, T, N)`` attention of every word over the regions (rows sum to 1).
        regions: ``(B, T, N)`` bool, True at the regions of the named object;
            words with no True (``<eos>``, padding) are not counted.

    Returns ``{"mass": ..., "top1": ..., "uniform": ..., "words": ...}``: the
    mean attention mass on the named object, the share of words whose largest
    weight is on it, what uniform attention would give (the object's share of
    the regions), and how many words were counted.
    """
    if not isinstance(weights, Tensor) or weights.dim() != 3:
        raise ValueError(f"weights must be (B, T, N), got shape {tuple(getattr(weights, 'shape', ()))}")
    if not isinstance(regions, Tensor) or regions.shape != weights.shape or regions.dtype != torch.bool:
        raise ValueError(
            f"regions must be a bool tensor of the weights' shape {tuple(weights.shape)}, got "
            f"{tuple(getattr(regions, 'shape', ()))} ({getattr(regions, 'dtype', type(regions).__name__)})"
        )
    named = regions.any(-1)  # (B, T): words that name an object
    n = int(named.sum())
    if n == 0:
        raise ValueError("no word names an object: regions is all False")
    w = weights.float()
    mass = (w * regions).sum(-1)[named]  # (n,)
    top = regions.gather(-1, w.argmax(-1, keepdim=True)).squeeze(-1)[named]  # (n,)
    uniform = regions.float().mean(-1)[named]  # (n,)
    return {"mass": float(mass.mean()), "top1": float(top.float().mean()),
            "uniform": float(uniform.mean()), "words": n}


@torch.inference_mode()
def caption_attention(model: Captioner, batch: CaptionBatch) -> Tensor:
    """The attention map of every reference word (teacher forcing): ``(B, T, N)``.

    Hard attention's map is its distribution ``s`` (where it would sample from).
    Runs in eval mode, restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        return model(batch.images, batch.tokens_in).weights  # (B, T, N)
    finally:
        model.train(was_training)


def evaluate_captioner(
    model: Captioner,
    data: SceneData,
    *,
    scenes: Optional[Scenes] = None,
    batch_size: int = 512,
) -> Dict[str, Any]:
    """Caption ``scenes`` (default ``data.test``) greedily and score them.

    Returns a dict with

    * ``"by_count"``: one row per number of objects,
      ``{"objects", "n", "exact_match", "token_accuracy"}``; ``"overall"`` the same for all;
    * ``"attention"``: ``attention_correctness`` of the reference words
      (teacher forcing: what the model looks at while saying each word);
    * ``"predictions"``: the captions, token tuples in the scenes' order.

    Exact match: the whole caption is right. Token accuracy: the share of
    reference words predicted at the right position (the rule of
    ``attnbook.train.score_translations``).
    """
    scenes = data.test if scenes is None else scenes
    device = next(model.parameters()).device
    vocab = data.vocab
    max_len = max(len(c) for c in scenes.captions) + 2
    preds: List[Tuple[str, ...]] = []
    weights, regions = [], []
    for start in range(0, len(scenes), batch_size):
        idx = list(range(start, min(start + batch_size, len(scenes))))
        batch = CaptionBatch(*(t.to(device) for t in caption_batch(scenes, vocab, idx, grid=model.config.grid)))
        dec = model.greedy_decode(batch.images, max_len=max_len)
        for row in range(len(idx)):
            preds.append(tuple(vocab.decode(dec.tokens[row, : int(dec.lengths[row])].tolist())))
        w = caption_attention(model, batch)  # (b, T, N)
        weights.append(w.flatten(0, 1).cpu())
        regions.append(batch.regions.flatten(0, 1).cpu())
    refs = scenes.captions

    def row(ids: Sequence[int]) -> Dict[str, float]:
        exact = sum(preds[i] == refs[i] for i in ids)
        right = sum(sum(a == b for a, b in zip(preds[i], refs[i])) for i in ids)
        total = sum(len(refs[i]) for i in ids)
        return {"n": len(ids), "exact_match": exact / len(ids) if ids else float("nan"),
                "token_accuracy": right / total if total else float("nan")}

    by_count = []
    for n in sorted(set(int(k) for k in scenes.n_objects)):
        ids = [i for i in range(len(scenes)) if scenes.n_objects[i] == n]
        by_count.append({"objects": n, **row(ids)})
    attention = attention_correctness(torch.cat(weights)[None], torch.cat(regions)[None])
    return {"by_count": by_count, "overall": row(range(len(scenes))), "attention": attention,
            "predictions": preds}


def caption_breakdown(
    predictions: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
) -> Dict[str, float]:
    """What a set of "colour shape colour shape ..." captions gets right, from easy to hard.

    Shares of the captions with the right ``length`` (number of words), the
    right ``colours`` and the right ``shapes`` (as multisets, order ignored),
    the right ``objects`` (the multiset of (colour, shape) pairs: every shape
    with its own colour, order ignored) and everything right (``exact``).
    """
    if len(predictions) != len(references) or not references:
        raise ValueError(f"need as many predictions as references (and at least one), "
                         f"got {len(predictions)} and {len(references)}")
    counts = dict.fromkeys(("length", "colours", "shapes", "objects", "exact"), 0)
    for p, r in zip(predictions, references):
        p, r = list(p), list(r)
        counts["length"] += len(p) == len(r)
        counts["colours"] += sorted(p[::2]) == sorted(r[::2])
        counts["shapes"] += sorted(p[1::2]) == sorted(r[1::2])
        counts["objects"] += sorted(zip(p[::2], p[1::2])) == sorted(zip(r[::2], r[1::2]))
        counts["exact"] += p == r
    return {k: v / len(references) for k, v in counts.items()}


@torch.inference_mode()
def scene_attention_maps(
    model: Captioner,
    data: SceneData,
    indices: Sequence[int],
    *,
    scenes: Optional[Scenes] = None,
) -> List[np.ndarray]:
    """Where ``model`` looks for every word of the reference captions (teacher forcing).

    Returns one ``(n_words, gh, gw)`` array per scene of ``scenes`` (default
    ``data.test``) at ``indices``, ``<eos>`` left out. Soft attention: the
    weights ``s``; hard attention: the one region it used (eval mode: the
    arg-max of ``s``) as a one-hot map; no attention: uniform.
    """
    scenes = data.test if scenes is None else scenes
    indices = [int(i) for i in indices]
    if not indices:
        raise ValueError("indices is empty")
    device = next(model.parameters()).device
    g = model.config.grid
    batch = CaptionBatch(*(t.to(device) for t in caption_batch(scenes, data.vocab, indices, grid=g)))
    was_training = model.training
    model.eval()
    try:
        out = model(batch.images, batch.tokens_in)
    finally:
        model.train(was_training)
    weights = out.weights
    if out.picked is not None:
        weights = F.one_hot(out.picked, weights.shape[-1]).to(weights.dtype)  # (B, T, N)
    maps = rearrange(weights, "b t (h w) -> b t h w", h=g).cpu().numpy()  # (B, T, gh, gw)
    return [maps[k, : len(scenes.captions[i])] for k, i in enumerate(indices)]


def caption_view_examples(
    models: Dict[str, Captioner],
    data: SceneData,
    indices: Sequence[int],
    *,
    scenes: Optional[Scenes] = None,
) -> List[Dict[str, Any]]:
    """Examples for ``attnbook.widgets.ImageAttentionView.from_examples``: per scene
    its image, the reference words as steps, each model's map per word
    (``scene_attention_maps``) and a caption line with each model's greedy caption."""
    scenes = data.test if scenes is None else scenes
    indices = [int(i) for i in indices]
    maps = {name: scene_attention_maps(m, data, indices, scenes=scenes) for name, m in models.items()}
    captions = {}
    for name, m in models.items():
        device = next(m.parameters()).device
        images = scenes.pixels(indices).to(device)
        dec = m.greedy_decode(images, max_len=2 * scenes.config.max_objects + 2)
        captions[name] = [data.vocab.decode(dec.tokens[k, : int(dec.lengths[k])].tolist())
                          for k in range(len(indices))]
    examples = []
    for k, i in enumerate(indices):
        ref = list(scenes.captions[i])
        said = " · ".join(f"{name} says: {' '.join(captions[name][k]) or '(nothing)'} "
                          f"{'✓' if captions[name][k] == ref else '✗'}" for name in models)
        examples.append({
            "image": scenes.images[i],
            "maps": {name: maps[name][k] for name in models},
            "steps": ref,
            "caption": said,
            "name": f"scene {k + 1} ({int(scenes.n_objects[i])} objects)",
        })
    return examples


def format_caption_table(results: Dict[str, Dict[str, Any]], *, digits: int = 2) -> str:
    """A plain-text table: exact match per object count and token accuracy, one row per model.

    ``results`` is ``{model name: evaluate_captioner(...)}``.
    """
    if not results:
        raise ValueError("results is empty")
    counts = [r["objects"] for r in next(iter(results.values()))["by_count"]]
    head = f"{'model':>14}  " + "  ".join(f"{f'exact, {n} obj.':>13}" for n in counts)
    head += f"  {'token acc.':>10}  {'attn mass':>9}  {'attn top-1':>10}"
    lines = [head]
    for name, res in results.items():
        cells = "  ".join(f"{r['exact_match']:>13.{digits}f}" for r in res["by_count"])
        att = res["attention"]
        lines.append(f"{name:>14}  {cells}  {res['overall']['token_accuracy']:>10.{digits}f}  "
                     f"{att['mass']:>9.{digits}f}  {att['top1']:>10.{digits}f}")
    uniform = next(iter(results.values()))["attention"]["uniform"]
    lines.append(f"(uniform attention would put {uniform:.4f} of its mass on the named object)")
    return "\n".join(lines)
