"""DETR (Carion et al. 2020): object detection as set prediction, with a Transformer decoder
whose learned *object queries* cross-attend to the image -- here on chapter 2's scenes.

::

    scene_targets(scenes)          the true set of every scene: a class (colour × shape) and a box per object
    box_cxcywh_to_xyxy, box_area   boxes as (centre x, centre y, width, height) or corners, in 0..1
    box_iou, generalized_box_iou   IoU and GIoU of every pair of boxes (Rezatofighi et al. 2019)
    matching_cost(...)             DETR's cost of giving object k to query q: -p(class) + L1 + -GIoU
    hungarian_match(...)           the cheapest one-to-one assignment (Kuhn 1955's problem; scipy solves it)
    DetrConfig, Detr               CNN -> encoder -> decoder of object queries -> a class and a box per query
    DetrDecoderLayer               self-attention among the queries, cross-attention to the image, feed-forward
    set_loss(...)                  match, then class cross-entropy (no-object down-weighted) + L1 + GIoU
    pretrain_backbone(...)         the CNN learns to name what each region shows (DETR starts from ImageNet)
    train_detr(model, data, cfg)   the package's training loop on random batches of scenes
    detect(model, images)          every query's class probabilities, box and cross-attention
    evaluate_detection(...)        matched accuracy, box IoU, no-object accuracy, whole scenes right
    query_attention_on_objects     where each matched query looked, scored against its object's region
    query_specialisation(...)      does a query keep to one part of the image, or to one kind of object?

The decoder follows DETR's: its input starts at zero; the object queries are
added to it at every layer, before self-attention and before cross-attention;
the image's spatial positions are added to the keys of every cross-attention;
layers are post-norm; every layer's output is decoded by the same heads, so
the loss is applied at every layer (DETR's auxiliary losses).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from .attention import MultiHeadAttention
from .checks import check_images, check_positive_ints, shape_of
from .data.scenes import SceneData, Scenes
from .train import TrainConfig, TrainResult, run_training
from .transformer import TransformerEncoder

__all__ = [
    "SceneTargets",
    "scene_targets",
    "box_cxcywh_to_xyxy",
    "box_area",
    "box_iou",
    "generalized_box_iou",
    "matching_cost",
    "hungarian_match",
    "DetrConfig",
    "DetrDecoderLayer",
    "Detr",
    "DetrOutput",
    "spatial_positions",
    "SetLossWeights",
    "match_batch",
    "set_loss",
    "train_detr",
    "region_labels",
    "pretrain_backbone",
    "Detections",
    "detect",
    "evaluate_detection",
    "query_attention_on_objects",
    "query_specialisation",
]


# ---------------------------------------------------------------------------
# 1. The true sets, and boxes
# ---------------------------------------------------------------------------


class SceneTargets(NamedTuple):
    """The set to find in every scene (``K`` = most objects in a scene; padding where a scene has fewer)."""

    classes: Tensor  # (N, K) int: colour × n_shapes + shape, -1 = no object
    boxes: Tensor  # (N, K, 4) float: (centre x, centre y, width, height) in 0..1 of the image side
    n_objects: Tensor  # (N,) int
    names: Tuple[str, ...]  # class index -> "red circle"


def scene_targets(scenes: Scenes) -> SceneTargets:
    """Every scene's objects as DETR's targets: a class per object -- its colour and
    shape together, ``colour * len(shapes) + shape`` -- and its box, the smallest
    rectangle that holds the object's pixels, as ``(cx, cy, w, h)`` in 0..1."""
    config = scenes.config
    N, K, H, W = scenes.masks.shape
    n_shapes = len(config.shapes)
    present = scenes.colours >= 0  # (N, K)
    classes = np.where(present, scenes.colours * n_shapes + scenes.shapes, -1)  # (N, K)
    rows, cols = scenes.masks.any(axis=3), scenes.masks.any(axis=2)  # (N, K, H), (N, K, W): rows/columns it covers
    y0, y1 = rows.argmax(axis=2), H - 1 - rows[:, :, ::-1].argmax(axis=2)  # (N, K): first and last row
    x0, x1 = cols.argmax(axis=2), W - 1 - cols[:, :, ::-1].argmax(axis=2)  # (N, K): first and last column
    boxes = np.stack([(x0 + x1 + 1) / 2 / W, (y0 + y1 + 1) / 2 / H, (x1 - x0 + 1) / W, (y1 - y0 + 1) / H],
                     axis=-1)  # (N, K, 4): pixel edges, so a box covers whole pixels
    boxes[~present] = 0.0
    names = tuple(f"{c} {s}" for c in config.colours for s in config.shapes)
    return SceneTargets(torch.from_numpy(classes).long(), torch.from_numpy(boxes).float(),
                        torch.from_numpy(present.sum(axis=1)).long(), names)


def box_cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``(..., 4)`` boxes as (cx, cy, w, h) -> as corners (x0, y0, x1, y1)."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def box_area(boxes: Tensor) -> Tensor:
    """``(..., 4)`` corner boxes -> ``(...)`` areas (0 for an empty box)."""
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def box_iou(a: Tensor, b: Tensor) -> Tuple[Tensor, Tensor]:
    """Corner boxes ``a (..., P, 4)`` and ``b (..., R, 4)`` -> ``(iou, union)``, each ``(..., P, R)``."""
    lt = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])  # (..., P, R, 2): the overlap's top left
    rb = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])  # (..., P, R, 2): its bottom right
    inter = (rb - lt).clamp(min=0).prod(-1)  # (..., P, R)
    union = box_area(a)[..., :, None] + box_area(b)[..., None, :] - inter  # (..., P, R)
    return inter / union.clamp(min=1e-9), union


def generalized_box_iou(a: Tensor, b: Tensor) -> Tensor:
    """GIoU (Rezatofighi et al. 2019) of every pair: IoU minus the share of the smallest box
    enclosing both that neither covers. In [-1, 1]; unlike IoU it still has a gradient when
    the boxes do not overlap. ``a (..., P, 4)``, ``b (..., R, 4)`` corners -> ``(..., P, R)``."""
    iou, union = box_iou(a, b)
    lt = torch.minimum(a[..., :, None, :2], b[..., None, :, :2])  # (..., P, R, 2): the enclosing box
    rb = torch.maximum(a[..., :, None, 2:], b[..., None, :, 2:])
    enclosing = (rb - lt).clamp(min=0).prod(-1)  # (..., P, R)
    return iou - (enclosing - union) / enclosing.clamp(min=1e-9)


# ---------------------------------------------------------------------------
# 2. Matching a set of predictions to a set of objects
# ---------------------------------------------------------------------------


def matching_cost(logits: Tensor, boxes: Tensor, classes: Tensor, true_boxes: Tensor, *,
                  class_weight: float = 1.0, l1_weight: float = 5.0, giou_weight: float = 2.0) -> Tensor:
    """DETR's cost of giving true object ``k`` to query ``q`` (its section 3.1, weights of its 4.1):

        cost[q, k] = - class_weight · p_q(class_k)
                     + l1_weight   · ||box_q - box_k||_1
                     - giou_weight · GIoU(box_q, box_k)

    ``logits (..., Q, C + 1)``, ``boxes (..., Q, 4)``; ``classes (..., K)``, ``true_boxes (..., K, 4)``
    -> ``(..., Q, K)``, for one image or a batch at once (padding classes -1 give columns to ignore).
    The class term uses the probability, not its log, as DETR does.
    """
    prob = logits.softmax(-1)  # (..., Q, C + 1)
    index = classes.clamp(min=0).unsqueeze(-2).expand(*prob.shape[:-1], classes.shape[-1])  # (..., Q, K)
    cost_class = -prob.gather(-1, index)  # (..., Q, K): -p_q(class_k)
    cost_l1 = torch.cdist(boxes, true_boxes, p=1)  # (..., Q, K)
    cost_giou = -generalized_box_iou(box_cxcywh_to_xyxy(boxes), box_cxcywh_to_xyxy(true_boxes))  # (..., Q, K)
    return class_weight * cost_class + l1_weight * cost_l1 + giou_weight * cost_giou


def hungarian_match(cost: Tensor) -> Tuple[Tensor, Tensor]:
    """The one-to-one assignment of queries (rows) to objects (columns) with the smallest total
    cost: the assignment problem of Kuhn's Hungarian method (1955), solved by
    ``scipy.optimize.linear_sum_assignment`` (a variant of the Jonker-Volgenant algorithm, the
    Hungarian method's faster descendant; the same optimum).
    ``cost (Q, K)`` with ``Q >= K`` -> ``(query index (K,), object index (K,))``: every object gets
    exactly one query; the other ``Q - K`` queries get none and must answer "no object"."""
    if cost.dim() != 2 or cost.shape[0] < cost.shape[1]:
        raise ValueError(f"cost must be (Q, K) with at least as many queries as objects, got {shape_of(cost)}")
    c = cost.detach().cpu().numpy()
    if not np.isfinite(c).all():
        raise ValueError("cost has NaN or infinite entries")
    rows, cols = linear_sum_assignment(c)
    return torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)


# ---------------------------------------------------------------------------
# 3. The model
# ---------------------------------------------------------------------------


@dataclass
class DetrConfig:
    """Sizes of a small DETR for the scenes."""

    image_size: int = 32  # H = W of the input images
    num_classes: int = 16  # C object classes; the model adds one more, "no object", at index C
    num_queries: int = 6  # Q learned object queries: at least the most objects a scene holds
    d_model: int = 64  # D, the width of the encoder and decoder
    nhead: int = 4  # attention heads
    num_encoder_layers: int = 1  # self-attention layers over the image's feature map
    num_decoder_layers: int = 2  # decoder layers: self-attention among queries + cross-attention to the image
    dim_feedforward: int = 128  # hidden width of the feed-forward networks
    dropout: float = 0.0  # dropout in attention and feed-forward layers
    stride: int = 8  # patch side: the image is read as a (H/stride × W/stride) grid of N feature vectors

    def __post_init__(self) -> None:
        check_positive_ints(**{name: getattr(self, name) for name in (
            "image_size", "num_classes", "num_queries", "d_model", "nhead",
            "num_decoder_layers", "dim_feedforward", "stride")})
        if isinstance(self.num_encoder_layers, bool) or not isinstance(self.num_encoder_layers, int) \
                or self.num_encoder_layers < 0:
            raise ValueError(f"num_encoder_layers must be an integer >= 0, got {self.num_encoder_layers!r}")
        if self.image_size % self.stride:
            raise ValueError(f"stride must divide image_size={self.image_size}, got {self.stride}")
        if self.d_model % 4:
            raise ValueError(f"d_model must be divisible by 4 (2-D sin/cos positions), got {self.d_model}")
        if self.d_model % self.nhead:
            raise ValueError(f"d_model={self.d_model} must be divisible by nhead={self.nhead}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def grid(self) -> int:
        """Side of the feature map: the image is read as grid × grid regions."""
        return self.image_size // self.stride


def spatial_positions(grid: int, d_model: int, *, temperature: float = 10000.0) -> Tensor:
    """DETR's 2-D sine positions of a ``grid × grid`` map (its ``PositionEmbeddingSine`` with
    ``normalize=True``): a row's coordinate ``(r + 1) / grid · 2π`` turned by D/4 sin/cos pairs of
    wavelengths up to ``temperature``, in the first half of the channels; the column's in the
    second. Normalising makes the coordinates span one turn whatever the grid's size, so even a
    4 × 4 map gets positions that differ. -> ``(grid², D)``, row-major."""
    half = d_model // 2
    coord = torch.arange(1, grid + 1, dtype=torch.float64) / grid * 2 * torch.pi  # (grid,)
    freq = temperature ** (2 * (torch.arange(half, dtype=torch.float64) // 2) / half)  # (D/2,)
    angle = coord[:, None] / freq  # (grid, D/2)
    enc = torch.where(torch.arange(half) % 2 == 0, angle.sin(), angle.cos())  # (grid, D/2): sin, cos, sin, ...
    rows = enc[:, None, :].expand(grid, grid, half)  # (grid, grid, D/2): by row
    cols = enc[None, :, :].expand(grid, grid, half)  # (grid, grid, D/2): by column
    return torch.cat([rows, cols], dim=-1).reshape(grid * grid, d_model).float()  # (N, D)


class DetrDecoderLayer(nn.Module):
    """One DETR decoder layer (post-norm), ``Q`` object slots reading ``N`` image regions::

        t = LayerNorm(t + SelfAttention(q = k = t + queries, v = t))                   the slots talk
        t = LayerNorm(t + CrossAttention(q = t + queries, k = memory + pos, v = memory))  each slot reads the image
        t = LayerNorm(t + FeedForward(t))

    There is no causal mask: the slots are a set, not a sequence, and all are decoded at once.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float = 0.0):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.dropout = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(self, t: Tensor, queries: Tensor, memory: Tensor, pos: Tensor) -> Tuple[Tensor, Tensor]:
        """``t (B, Q, D)`` slots, ``queries (B, Q, D)``, ``memory (B, N, D)``, ``pos (B, N, D)`` ->
        ``(t (B, Q, D), cross-attention weights (B, H, Q, N))``."""
        q = t + queries  # (B, Q, D): each slot carries its query's identity
        a, _ = self.self_attn(q, q, t)  # (B, Q, D): who else is looking at what (avoids duplicates)
        t = self.norm1(t + self.dropout(a))
        c, w = self.cross_attn(t + queries, memory + pos, memory, average_weights=False)  # (B, Q, D), (B, H, Q, N)
        t = self.norm2(t + self.dropout(c))
        f = self.linear2(self.dropout(F.relu(self.linear1(t))))  # (B, Q, F) -> (B, Q, D)
        t = self.norm3(t + self.dropout(f))
        return t, w


class DetrOutput(NamedTuple):
    logits: Tensor  # (L, B, Q, C + 1): every decoder layer's class scores ([-1] = the model's answer)
    boxes: Tensor  # (L, B, Q, 4): every layer's boxes (cx, cy, w, h) in 0..1
    cross_weights: Tensor  # (L, B, H, Q, N): where each query looked, per layer and head
    encoder_weights: Tensor  # (E, B, H, N, N): the encoder's self-attention


class Detr(nn.Module):
    """A small DETR::

        images (B, 3, H, W) -> CNN -> (B, D, g, g) -> N = g² vectors + 2-D sine positions
          -> Transformer encoder                                     memory (B, N, D)
        Q learned object queries -> decoder layers (self-attn, cross-attn to memory, FF)
          -> per query: class scores over C classes + "no object", and a box (cx, cy, w, h)

    DETR's backbone is a ResNet-50; this one is two convolutions. DETR's encoder adds the
    positions to the queries and keys of every layer; this one adds them once, to its input
    (the cross-attention's keys get them as in DETR).
    """

    def __init__(self, config: Optional[DetrConfig] = None, **fields: Any):
        super().__init__()
        if config is None:
            config = DetrConfig(**fields)
        elif fields:
            raise ValueError(f"pass a DetrConfig or fields, not both (got {sorted(fields)})")
        self.config = c = config
        D = c.d_model
        self.backbone = nn.Sequential(  # (B, 3, H, W) -> (B, D, g, g)
            nn.Conv2d(3, D // 2, c.stride, stride=c.stride),  # each stride × stride patch -> D/2 numbers
            nn.ReLU(),
            nn.Conv2d(D // 2, D, 3, padding=1),  # each region with its 8 neighbours: sees a whole object
            nn.ReLU(),
        )
        self.register_buffer("pos", spatial_positions(c.grid, D), persistent=False)  # (N, D)
        self.encoder = (TransformerEncoder(c.num_encoder_layers, D, c.nhead, c.dim_feedforward, c.dropout)
                        if c.num_encoder_layers else None)
        self.query_embed = nn.Parameter(torch.randn(c.num_queries, D))  # (Q, D): the object queries, learned
        self.decoder_layers = nn.ModuleList(
            [DetrDecoderLayer(D, c.nhead, c.dim_feedforward, c.dropout) for _ in range(c.num_decoder_layers)])
        self.decoder_norm = nn.LayerNorm(D)
        self.class_head = nn.Linear(D, c.num_classes + 1)  # C classes + "no object"
        self.box_head = nn.Sequential(nn.Linear(D, D), nn.ReLU(), nn.Linear(D, D), nn.ReLU(), nn.Linear(D, 4))

    @property
    def no_object(self) -> int:
        """The class index of "no object"."""
        return self.config.num_classes

    def forward(self, images: Tensor) -> DetrOutput:
        """``images (B, 3, H, W)`` in 0..1 -> :class:`DetrOutput` (every decoder layer's answer)."""
        c = self.config
        check_images(images, channels=3, size=(c.image_size, c.image_size))
        B = images.shape[0]
        features = self.backbone(images)  # (B, D, g, g)
        x = rearrange(features, "b d gh gw -> b (gh gw) d")  # (B, N, D), row-major regions
        pos = self.pos.unsqueeze(0).expand(B, -1, -1)  # (B, N, D)
        if self.encoder is not None:
            memory, enc_w = self.encoder(x + pos)  # (B, N, D), (E, B, H, N, N)
        else:  # no encoder: the decoder reads the CNN's features directly
            memory, enc_w = x, x.new_zeros(0, B, c.nhead, x.shape[1], x.shape[1])
        queries = self.query_embed.unsqueeze(0).expand(B, -1, -1)  # (B, Q, D)
        t = torch.zeros_like(queries)  # (B, Q, D): the slots start empty
        outputs, weights = [], []
        for layer in self.decoder_layers:
            t, w = layer(t, queries, memory, pos)  # (B, Q, D), (B, H, Q, N)
            outputs.append(self.decoder_norm(t))
            weights.append(w)
        h = torch.stack(outputs)  # (L, B, Q, D)
        return DetrOutput(self.class_head(h), self.box_head(h).sigmoid(), torch.stack(weights), enc_w)


# ---------------------------------------------------------------------------
# 4. The set loss and training
# ---------------------------------------------------------------------------


@dataclass
class SetLossWeights:
    """DETR's weights (its section 4.1 and code): the matching cost uses the same three."""

    class_weight: float = 1.0  # cross-entropy of the class (and -p(class) in the matching cost)
    l1_weight: float = 5.0  # L1 distance of the boxes
    giou_weight: float = 2.0  # 1 - GIoU of the boxes
    no_object_weight: float = 0.1  # the cross-entropy of "no object" slots counts this much (class imbalance)


def match_batch(logits: Tensor, boxes: Tensor, classes: Tensor, true_boxes: Tensor, n_objects: Tensor,
                weights: Optional[SetLossWeights] = None) -> List[Tuple[Tensor, Tensor]]:
    """:func:`hungarian_match` for every image: ``logits (B, Q, C+1)``, ``boxes (B, Q, 4)``,
    targets ``classes (B, K)``, ``true_boxes (B, K, 4)``, ``n_objects (B,)`` -> B pairs
    ``(query index, object index)``. The costs are computed for the whole batch at once."""
    w = weights or SetLossWeights()
    with torch.no_grad():
        cost = matching_cost(logits, boxes, classes, true_boxes, class_weight=w.class_weight,
                             l1_weight=w.l1_weight, giou_weight=w.giou_weight)  # (B, Q, K)
    return [hungarian_match(cost[b, :, :int(n)]) for b, n in enumerate(n_objects)]


def set_loss(logits: Tensor, boxes: Tensor, classes: Tensor, true_boxes: Tensor, n_objects: Tensor,
             weights: Optional[SetLossWeights] = None) -> Tensor:
    """DETR's loss for one decoder layer's answer (its section 3.1): match each image's
    queries to its objects (:func:`match_batch`), then

        class cross-entropy over all Q slots (matched -> the object's class, the rest -> "no object",
        down-weighted by no_object_weight)  +  L1 and 1 - GIoU of the matched boxes,

    the box terms averaged over the objects in the batch. Shapes as in :func:`match_batch`."""
    w = weights or SetLossWeights()
    B, Q, C1 = logits.shape
    matches = match_batch(logits, boxes, classes, true_boxes, n_objects, w)
    target = torch.full((B, Q), C1 - 1, dtype=torch.long, device=logits.device)  # (B, Q): "no object" ...
    b_idx = torch.cat([torch.full_like(q, b) for b, (q, _) in enumerate(matches)])  # (M,)
    q_idx = torch.cat([q for q, _ in matches])  # (M,)
    k_idx = torch.cat([k for _, k in matches])  # (M,)
    target[b_idx, q_idx] = classes[b_idx, k_idx]  # ... except at the matched slots
    class_w = torch.ones(C1, device=logits.device)
    class_w[-1] = w.no_object_weight
    loss_class = F.cross_entropy(logits.reshape(B * Q, C1), target.reshape(B * Q), weight=class_w)
    pred, true = boxes[b_idx, q_idx], true_boxes[b_idx, k_idx]  # (M, 4) each
    n = max(len(b_idx), 1)
    loss_l1 = (pred - true).abs().sum() / n
    giou = generalized_box_iou(box_cxcywh_to_xyxy(pred), box_cxcywh_to_xyxy(true)).diagonal()  # (M,)
    loss_giou = (1 - giou).sum() / n
    return w.class_weight * loss_class + w.l1_weight * loss_l1 + w.giou_weight * loss_giou


def train_detr(model: Detr, data: SceneData, config: TrainConfig, *,
               weights: Optional[SetLossWeights] = None, callback: Any = None) -> TrainResult:
    """Train on random batches of ``data.train`` with the set loss at every decoder layer
    (the last layer's is the number logged)."""
    if not isinstance(model, Detr):
        raise ValueError(f"model must be a Detr, got {type(model).__name__}")
    targets = scene_targets(data.train)
    if len(targets.names) != model.config.num_classes:
        raise ValueError(f"the scenes have {len(targets.names)} classes but the model has {model.config.num_classes}")
    if int(targets.n_objects.max()) > model.config.num_queries:
        raise ValueError(f"scenes hold up to {int(targets.n_objects.max())} objects but the model has only "
                         f"{model.config.num_queries} queries")
    images = data.train.pixels()  # (N, 3, H, W)
    device = next(model.parameters()).device

    def batch_loss(generator: torch.Generator) -> Tuple[Tensor, Tensor]:
        idx = torch.randint(len(images), (config.batch_size,), generator=generator)
        out = model(images[idx].to(device))
        cls, bx, n = targets.classes[idx].to(device), targets.boxes[idx].to(device), targets.n_objects[idx]
        losses = [set_loss(out.logits[layer], out.boxes[layer], cls, bx, n, weights)
                  for layer in range(out.logits.shape[0])]  # every decoder layer (auxiliary losses)
        return sum(losses), losses[-1].detach()

    return run_training(model, config, batch_loss, callback=callback)


def region_labels(scenes: Scenes, grid: int) -> Tensor:
    """What each of the ``grid × grid`` regions of every scene shows: the class of the object whose
    pixels it holds, or ``C`` (nothing) -> ``(N, grid²)``. A region lies inside one scene cell,
    so it holds pixels of one object at most (the grid must be a multiple of the scene grid)."""
    if grid % scenes.config.grid:
        raise ValueError(f"grid must be a multiple of the scene grid {scenes.config.grid}, got {grid}")
    t = scene_targets(scenes)
    regions = scenes.region_masks(grid).reshape(len(scenes), -1, grid * grid)  # (N, K, g²)
    labels = torch.full((len(scenes), grid * grid), len(t.names), dtype=torch.long)  # (N, g²): nothing ...
    for k in range(regions.shape[1]):
        hit = torch.from_numpy(regions[:, k])  # (N, g²)
        labels[hit] = t.classes[:, k].unsqueeze(1).expand_as(hit)[hit]  # ... except where object k is
    return labels


def pretrain_backbone(model: Detr, data: SceneData, config: TrainConfig) -> TrainResult:
    """Pretrain the CNN before DETR's training, as DETR starts from an ImageNet-trained ResNet:
    a linear layer on each region's feature vector learns to name what the region shows
    (:func:`region_labels`), and the backbone learns with it. The layer is thrown away after."""
    if not isinstance(model, Detr):
        raise ValueError(f"model must be a Detr, got {type(model).__name__}")
    c = model.config
    labels = region_labels(data.train, c.grid)  # (N, g²)
    images = data.train.pixels()  # (N, 3, H, W)
    head = nn.Linear(c.d_model, c.num_classes + 1)
    device = next(model.parameters()).device
    probe = nn.Sequential(model.backbone, head).to(device)

    def batch_loss(generator: torch.Generator) -> Tensor:
        idx = torch.randint(len(images), (config.batch_size,), generator=generator)
        features = rearrange(probe[0](images[idx].to(device)), "b d gh gw -> b (gh gw) d")  # (B, N, D)
        return F.cross_entropy(probe[1](features).flatten(0, 1), labels[idx].flatten().to(device))

    result = run_training(probe, config, batch_loss)
    model.train()
    return result


# ---------------------------------------------------------------------------
# 5. Reading the trained model
# ---------------------------------------------------------------------------


class Detections(NamedTuple):
    probs: Tensor  # (B, Q, C + 1): the last layer's class probabilities
    boxes: Tensor  # (B, Q, 4): (cx, cy, w, h) in 0..1
    attention: Tensor  # (B, Q, N): the last layer's cross-attention, averaged over heads
    attention_heads: Tensor  # (B, H, Q, N)


@torch.no_grad()
def detect(model: Detr, images: Tensor, *, layer: int = -1, batch_size: int = 256) -> Detections:
    """Run the model on ``images (B, 3, H, W)`` in eval mode and keep one decoder layer's answer
    (default the last, the model's; ``layer=0`` is the first layer's, read by the same heads)."""
    if not isinstance(model, Detr):
        raise ValueError(f"model must be a Detr, got {type(model).__name__}")
    L = model.config.num_decoder_layers
    if isinstance(layer, bool) or not isinstance(layer, int) or not -L <= layer < L:
        raise ValueError(f"layer must be an int in [-{L}, {L - 1}] (the model has {L} decoder layers), got {layer!r}")
    model.eval()
    device = next(model.parameters()).device
    parts = []
    for i in range(0, len(images), batch_size):
        out = model(images[i:i + batch_size].to(device))
        parts.append((out.logits[layer].softmax(-1), out.boxes[layer], out.cross_weights[layer]))
    probs, boxes, heads = (torch.cat([p[j] for p in parts]).cpu() for j in range(3))
    return Detections(probs, boxes, heads.mean(dim=1), heads)


def evaluate_detection(model: Detr, scenes: Scenes, detections: Optional[Detections] = None) -> Dict[str, Any]:
    """Score the model against the scenes' true sets. Each scene's queries are matched to its
    objects as in training (:func:`hungarian_match` on the matching cost), then:

    * ``matched_accuracy`` -- share of objects whose query names the right class;
    * ``box_iou`` -- mean IoU of an object's box with its query's box;
    * ``found`` -- share of objects with the right class *and* IoU >= 0.5 (a detection in the usual sense);
    * ``no_object_accuracy`` -- share of the unmatched queries that answer "no object";
    * ``scenes_right`` -- share of scenes where every object is found and every other query says "no object";
    * ``per_scene`` -- per scene: (query of each object, object of each query or -1).
    """
    det = detections if detections is not None else detect(model, scenes.pixels())
    t = scene_targets(scenes)
    no_obj = model.no_object
    right, ious, found, empty_ok, empty_n, scene_ok = [], [], [], 0, 0, 0
    per_scene = []
    logits = det.probs.clamp_min(1e-12).log()  # matching_cost takes logits; log p gives the same softmax
    matches = match_batch(logits, det.boxes, t.classes, t.boxes, t.n_objects)  # as in training
    for i, (q_idx, k_idx) in enumerate(matches):
        k = int(t.n_objects[i])
        order = torch.argsort(k_idx)
        q_of_object = q_idx[order]  # (k,): the query matched to object 0, 1, ...
        pred = det.probs[i].argmax(-1)  # (Q,)
        ok = pred[q_of_object] == t.classes[i, :k]  # (k,)
        iou = box_iou(box_cxcywh_to_xyxy(det.boxes[i, q_of_object]),
                      box_cxcywh_to_xyxy(t.boxes[i, :k]))[0].diagonal()  # (k,)
        rest = torch.ones(len(pred), dtype=torch.bool)
        rest[q_of_object] = False
        empty = pred[rest] == no_obj
        right += ok.tolist()
        ious += iou.tolist()
        found += (ok & (iou >= 0.5)).tolist()
        empty_ok += int(empty.sum())
        empty_n += int(rest.sum())
        scene_ok += bool((ok & (iou >= 0.5)).all() and empty.all())
        object_of_query = torch.full((len(pred),), -1, dtype=torch.long)
        object_of_query[q_of_object] = torch.arange(k)
        per_scene.append((q_of_object.tolist(), object_of_query.tolist()))
    return {
        "matched_accuracy": float(np.mean(right)),
        "box_iou": float(np.mean(ious)),
        "found": float(np.mean(found)),
        "no_object_accuracy": empty_ok / max(empty_n, 1),
        "scenes_right": scene_ok / len(scenes),
        "n_objects": len(right),
        "per_scene": per_scene,
        "detections": det,
    }


def query_attention_on_objects(scenes: Scenes, detections: Detections, per_scene: Sequence[Tuple[list, list]]
                               ) -> Dict[str, float]:
    """Where each matched query looked, against the truth: for every object, the cross-attention of
    its query (the detections' layer, mean over heads) over the model's ``grid × grid`` regions, and

    * ``mass`` -- the share of it on the regions the object touches (``chance`` -- those regions' share
      of the image: what a query that looked everywhere alike would put there);
    * ``peak`` -- how often the most-attended region is one the object touches (chance: the same share).
    """
    grid = int(round(detections.attention.shape[-1] ** 0.5))
    regions = scenes.region_masks(grid).reshape(len(scenes), -1, grid * grid)  # (N, K, g²)
    mass, chance, peak = [], [], []
    for i, (q_of_object, _) in enumerate(per_scene):
        for k, q in enumerate(q_of_object):
            a = detections.attention[i, q].numpy()  # (g²,)
            r = regions[i, k]
            mass.append(float(a[r].sum()))
            chance.append(float(r.mean()))
            peak.append(bool(r[a.argmax()]))
    return {"mass": float(np.mean(mass)), "chance": float(np.mean(chance)), "peak": float(np.mean(peak)),
            "n": len(mass)}


def query_specialisation(scenes: Scenes, per_scene: Sequence[Tuple[list, list]], num_queries: int
                         ) -> Dict[str, Any]:
    """Does a query keep to one part of the image, or to one kind of object? For every query, the
    objects it was matched to over all scenes; then, per query, the share of them in its most common
    *quadrant* of the image (2 × 2 blocks of the scene grid), *colour* and *shape*, averaged over the
    queries weighted by how many objects each found. The same shares for the objects pooled over all
    queries are what no specialisation would give (``*_pooled``)."""
    grid = scenes.config.grid
    rows: Dict[str, List[List[int]]] = {"quadrant": [[] for _ in range(num_queries)],
                                        "colour": [[] for _ in range(num_queries)],
                                        "shape": [[] for _ in range(num_queries)]}
    for i, (q_of_object, _) in enumerate(per_scene):
        for k, q in enumerate(q_of_object):
            r, c = scenes.cells[i, k]
            rows["quadrant"][q].append(int(2 * (r >= grid // 2) + (c >= grid // 2)))
            rows["colour"][q].append(int(scenes.colours[i, k]))
            rows["shape"][q].append(int(scenes.shapes[i, k]))
    out: Dict[str, Any] = {"counts": [len(v) for v in rows["quadrant"]]}
    for what, per_query in rows.items():
        total = sum(len(v) for v in per_query)
        top = sum(np.bincount(v).max() for v in per_query if v)
        pooled = np.bincount([x for v in per_query for x in v]).max() / total
        out[what] = top / total
        out[f"{what}_pooled"] = float(pooled)
        out[f"{what}_by_query"] = [np.bincount(v, minlength=4).tolist() if v else [] for v in per_query]
    return out
