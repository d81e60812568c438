"""Synthetic scenes: a few coloured shapes on a small canvas, with their ground truth.

A scene is a square canvas cut into a ``grid × grid`` layout of cells; each
object — a coloured shape such as a *red circle* — sits inside one cell (at
most one object per cell), at a random offset within it::

    +----+----+----+----+
    |    | ▲  |    |    |       caption (reading order: row by row, left to right):
    +----+----+----+----+
    |    |    |    | ●  |         blue triangle  red circle  green square
    +----+----+----+----+
    | ■  |    |    |    |       word 0, 1 -> object 0 (the triangle)
    +----+----+----+----+       word 2, 3 -> object 1 (the circle) ...
    |    |    |    |    |
    +----+----+----+----+

Because the generator draws every object, it knows where each one is: a
pixel mask per object, its cell, its colour and shape — and, for the
caption, which object every word names (``Scenes.word_objects``). Chapter 2
checks a captioner's attention against that ground truth; chapter 6 reuses
the scenes for a Vision Transformer (images, per-object masks and labels).

Everything is generated from a seed; no test scene occurs in the training set.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .. import resolve_seed
from ..checks import check_choice, check_positive_ints
from .vocab import Vocab

__all__ = [
    "ShapeColourTask",
    "shape_colour_task",
    "COLOURS",
    "SHAPES",
    "SceneConfig",
    "Scenes",
    "SceneData",
    "shape_stamp",
    "make_scenes",
    "make_scene_data",
]

#: name -> RGB (0..255): distinct hues that stay apart for colour-blind readers too
COLOURS: Dict[str, Tuple[int, int, int]] = {
    "red": (214, 39, 40),
    "green": (44, 160, 44),
    "blue": (31, 119, 220),
    "yellow": (240, 200, 20),
    "purple": (148, 80, 189),
    "orange": (255, 127, 14),
}

#: the shapes the generator can draw (see ``shape_stamp``)
SHAPES: Tuple[str, ...] = ("square", "circle", "triangle", "cross", "diamond")

ORDERS = ("reading", "columns")


@dataclass
class SceneConfig:
    """What the scenes look like and how many there are."""

    image_size: int = 32  # H = W: side of the square canvas in pixels
    grid: int = 4  # the canvas is grid × grid cells; each object sits inside one cell
    object_size: int = 7  # side of an object's bounding box in pixels (<= cell side)
    min_objects: int = 2  # fewest objects in a scene
    max_objects: int = 4  # most objects in a scene (<= grid²)
    colours: Tuple[str, ...] = ("red", "green", "blue", "yellow")  # names from COLOURS
    shapes: Tuple[str, ...] = ("square", "circle", "triangle", "cross")  # names from SHAPES
    background: int = 235  # grey level of the canvas (0..255)
    jitter: bool = True  # random offset of an object within its cell (else centred)
    order: str = "reading"  # caption order: "reading" (row by row, left to right) or "columns"
    n_train: int = 8000  # training scenes, object counts uniform in [min_objects, max_objects]
    n_test_per_count: int = 200  # test scenes per object count

    def __post_init__(self) -> None:
        check_positive_ints(**{name: getattr(self, name) for name in (
            "image_size", "grid", "object_size", "min_objects", "max_objects", "n_train", "n_test_per_count")})
        if self.image_size % self.grid:
            raise ValueError(
                f"image_size={self.image_size} must be a multiple of grid={self.grid} "
                "(every cell the same number of pixels)"
            )
        cell = self.image_size // self.grid
        if self.object_size > cell:
            raise ValueError(f"object_size={self.object_size} is larger than a cell ({cell} pixels)")
        if not self.min_objects <= self.max_objects <= self.grid ** 2:
            raise ValueError(
                f"need 1 <= min_objects <= max_objects <= grid² = {self.grid ** 2}, got "
                f"min_objects={self.min_objects}, max_objects={self.max_objects}"
            )
        self.colours = tuple(self.colours)
        self.shapes = tuple(self.shapes)
        for kind, names, known in (("colours", self.colours, tuple(COLOURS)), ("shapes", self.shapes, SHAPES)):
            if not names:
                raise ValueError(f"{kind} is empty")
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValueError(f"unknown {kind} {unknown}; choose from {known}")
            if len(set(names)) != len(names):
                raise ValueError(f"{kind} has duplicates: {names}")
        if not 0 <= self.background <= 255:
            raise ValueError(f"background must be a grey level 0..255, got {self.background}")
        check_choice(self.order, "order", ORDERS)

    @property
    def cell_size(self) -> int:
        """Side of a cell in pixels."""
        return self.image_size // self.grid

    @property
    def words(self) -> Tuple[str, ...]:
        """The caption vocabulary: the colour names, then the shape names."""
        return self.colours + self.shapes


def shape_stamp(shape: str, size: int) -> np.ndarray:
    """The ``(size, size)`` boolean pixel mask of one shape."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 3:
        raise ValueError(f"size must be an integer >= 3 pixels, got {size!r}")
    y, x = np.mgrid[0:size, 0:size] + 0.5  # pixel centres, (size, size) each
    c = size / 2
    if shape == "square":
        return np.ones((size, size), dtype=bool)
    if shape == "circle":
        return (x - c) ** 2 + (y - c) ** 2 <= c ** 2
    if shape == "triangle":  # apex up: the half-width grows from the top row to the bottom row
        return np.abs(x - c) <= y / 2
    if shape == "cross":  # a plus sign, arms a third of the size thick
        arm = size / 6
        return (np.abs(x - c) <= arm) | (np.abs(y - c) <= arm)
    return np.abs(x - c) + np.abs(y - c) <= c  # diamond


@dataclass
class Scenes:
    """A set of scenes as arrays. Objects are stored in caption order; a scene with
    fewer than ``K = max_objects`` objects is padded (masks all False, labels -1)."""

    images: np.ndarray  # (N, H, W, 3) uint8 RGB
    masks: np.ndarray  # (N, K, H, W) bool: the pixels of object k
    colours: np.ndarray  # (N, K) int: index into config.colours, -1 = no object
    shapes: np.ndarray  # (N, K) int: index into config.shapes, -1 = no object
    cells: np.ndarray  # (N, K, 2) int: (row, column) of the cell holding object k, -1 = no object
    n_objects: np.ndarray  # (N,) int: how many objects each scene has
    captions: List[Tuple[str, ...]]  # per scene: "colour shape" for every object, in caption order
    word_objects: List[Tuple[int, ...]]  # per scene: word j of the caption names object word_objects[j]
    config: SceneConfig = field(repr=False)  # the generator's settings

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, idx: Any) -> "Scenes":
        """The scenes at ``idx`` (an int, a slice, a list or an array of indices) as a new ``Scenes``."""
        if isinstance(idx, (int, np.integer)):
            idx = [int(idx)]
        elif isinstance(idx, slice):
            idx = list(range(len(self)))[idx]
        elif isinstance(idx, Tensor):
            idx = idx.tolist()
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} scenes")
        return Scenes(
            images=self.images[idx], masks=self.masks[idx], colours=self.colours[idx],
            shapes=self.shapes[idx], cells=self.cells[idx], n_objects=self.n_objects[idx],
            captions=[self.captions[i] for i in idx], word_objects=[self.word_objects[i] for i in idx],
            config=self.config,
        )

    def pixels(self, idx: Any = None) -> Tensor:
        """Images as a float tensor ``(B, 3, H, W)`` in 0..1 (all scenes, or those at ``idx``)."""
        images = self.images if idx is None else self.images[np.asarray(idx, dtype=np.int64)]
        return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)

    def region_masks(self, grid: Optional[int] = None) -> np.ndarray:
        """Which regions of a ``grid × grid`` layout each object touches: ``(N, K, grid, grid)`` bool.

        ``grid`` defaults to the scene grid (each object then touches exactly one
        region, its cell); any divisor of the image size works, e.g. a ViT's patch
        grid. A region counts when at least one of its pixels belongs to the object.
        """
        grid = self.config.grid if grid is None else grid
        H = self.images.shape[1]
        if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 1 or H % grid:
            raise ValueError(f"grid must be a positive divisor of the image size {H}, got {grid!r}")
        p = H // grid
        N, K = self.masks.shape[:2]
        blocks = self.masks.reshape(N, K, grid, p, grid, p)  # (N, K, gh, p, gw, p)
        return blocks.any(axis=(3, 5))  # (N, K, gh, gw)

    def word_regions(self, grid: Optional[int] = None) -> np.ndarray:
        """The regions each caption word's object touches: ``(N, L, grid²)`` bool,
        ``L`` = the longest caption; words past a caption's end are all False."""
        regions = self.region_masks(grid)  # (N, K, g, g)
        N, K, g, _ = regions.shape
        regions = regions.reshape(N, K, g * g)  # (N, K, g²)
        L = max((len(c) for c in self.captions), default=0)
        out = np.zeros((N, L, g * g), dtype=bool)
        for i, objs in enumerate(self.word_objects):
            if objs:
                out[i, : len(objs)] = regions[i, list(objs)]
        return out

    def describe(self, i: int) -> str:
        """One line about scene ``i``: each object and its cell (rows and columns counted from 1)."""
        parts = []
        for k in range(int(self.n_objects[i])):
            r, c = self.cells[i, k]
            parts.append(f"{self.config.colours[self.colours[i, k]]} {self.config.shapes[self.shapes[i, k]]} "
                         f"at row {r + 1}, column {c + 1}")
        return "; ".join(parts)


@dataclass
class SceneData:
    """The train/test split of the scenes task, and the caption vocabulary."""

    train: Scenes  # training scenes
    test: Scenes  # held-out scenes: config.n_test_per_count per object count, none in train
    vocab: Vocab  # caption words (colours, then shapes) after the four special tokens
    config: SceneConfig  # the generator's settings
    info: Dict[str, Any] = field(default_factory=dict)  # seed, config as a dict

    def test_by_count(self) -> Dict[int, np.ndarray]:
        """Indices of the test scenes with each number of objects: ``{2: array([...]), ...}``."""
        counts = self.test.n_objects
        return {int(n): np.flatnonzero(counts == n) for n in np.unique(counts)}


def _draw_layout(rng: random.Random, config: SceneConfig, n: int) -> Tuple[Tuple[int, ...], ...]:
    """One scene's objects as (row, col, colour, shape, dy, dx) tuples in caption order."""
    g, cell, size = config.grid, config.cell_size, config.object_size
    spots = rng.sample(range(g * g), n)
    objects = []
    for spot in spots:
        r, c = divmod(spot, g)
        dy = rng.randint(0, cell - size) if config.jitter else (cell - size) // 2
        dx = rng.randint(0, cell - size) if config.jitter else (cell - size) // 2
        objects.append((r, c, rng.randrange(len(config.colours)), rng.randrange(len(config.shapes)), dy, dx))
    key = (lambda o: (o[0], o[1])) if config.order == "reading" else (lambda o: (o[1], o[0]))
    return tuple(sorted(objects, key=key))


def _render(layouts: Sequence[Tuple[Tuple[int, ...], ...]], config: SceneConfig) -> Scenes:
    N, K, H = len(layouts), config.max_objects, config.image_size
    cell, size = config.cell_size, config.object_size
    stamps = [shape_stamp(s, size) for s in config.shapes]
    rgb = np.array([COLOURS[c] for c in config.colours], dtype=np.uint8)  # (n_colours, 3)
    images = np.full((N, H, H, 3), config.background, dtype=np.uint8)
    masks = np.zeros((N, K, H, H), dtype=bool)
    colours = np.full((N, K), -1, dtype=np.int64)
    shapes = np.full((N, K), -1, dtype=np.int64)
    cells = np.full((N, K, 2), -1, dtype=np.int64)
    n_objects = np.zeros(N, dtype=np.int64)
    captions, word_objects = [], []
    for i, objects in enumerate(layouts):
        words, owners = [], []
        for k, (r, c, col, shp, dy, dx) in enumerate(objects):
            y0, x0 = r * cell + dy, c * cell + dx
            masks[i, k, y0:y0 + size, x0:x0 + size] = stamps[shp]
            images[i][masks[i, k]] = rgb[col]
            colours[i, k], shapes[i, k], cells[i, k] = col, shp, (r, c)
            words += [config.colours[col], config.shapes[shp]]
            owners += [k, k]
        n_objects[i] = len(objects)
        captions.append(tuple(words))
        word_objects.append(tuple(owners))
    return Scenes(images=images, masks=masks, colours=colours, shapes=shapes, cells=cells,
                  n_objects=n_objects, captions=captions, word_objects=word_objects, config=config)


def make_scenes(config: Optional[SceneConfig] = None, n: int = 1, *, n_objects: Optional[int] = None,
                seed: Optional[int] = None) -> Scenes:
    """``n`` random scenes (object counts uniform in the config's range, or exactly ``n_objects``).

    Deterministic for a given ``(config, n, n_objects, seed)``; ``seed=None``
    reads ``ATTNBOOK_SEED`` (default 0).
    """
    config = config or SceneConfig()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if n_objects is not None and not 1 <= n_objects <= config.grid ** 2:
        raise ValueError(f"n_objects must be in 1..{config.grid ** 2} (grid²), got {n_objects}")
    rng = random.Random(f"scenes-{resolve_seed(seed)}-{n}-{n_objects}")
    counts = [n_objects or rng.randint(config.min_objects, config.max_objects) for _ in range(n)]
    return _render([_draw_layout(rng, config, k) for k in counts], config)


def make_scene_data(config: Optional[SceneConfig] = None, *, seed: Optional[int] = None) -> SceneData:
    """Generate the train/test split of the captioning task.

    Deterministic for a given ``(config, seed)``; ``seed=None`` reads
    ``ATTNBOOK_SEED`` (default 0). The test set holds ``config.n_test_per_count``
    scenes for every object count from ``min_objects`` to ``max_objects``; no
    test scene (the same objects at the same pixels) occurs in the training set.
    """
    config = config or SceneConfig()
    seed = resolve_seed(seed)
    rng = random.Random(f"scene-data-{seed}")  # string seeds are hashed deterministically (sha512)
    test_layouts, seen = [], set()
    for n in range(config.min_objects, config.max_objects + 1):
        got, tries = 0, 0
        while got < config.n_test_per_count:
            tries += 1
            if tries > 100 * config.n_test_per_count:
                raise ValueError(
                    f"cannot draw {config.n_test_per_count} distinct test scenes with {n} objects; "
                    "lower n_test_per_count or allow more variety (grid, colours, shapes, jitter)"
                )
            layout = _draw_layout(rng, config, n)
            if layout in seen:
                continue
            seen.add(layout)
            test_layouts.append(layout)
            got += 1
    train_layouts = []
    while len(train_layouts) < config.n_train:
        layout = _draw_layout(rng, config, rng.randint(config.min_objects, config.max_objects))
        if layout not in seen:  # held-out scenes never appear in training (duplicates within train are fine)
            train_layouts.append(layout)
    vocab = Vocab(config.words)
    info = {"task": "scenes", "seed": seed, "config": asdict(config)}
    return SceneData(train=_render(train_layouts, config), test=_render(test_layouts, config),
                     vocab=vocab, config=config, info=info)


@dataclass
class ShapeColourTask:
    """"What colour is the <shape>?" on scenes that hold exactly one such shape.

    The object that decides the label is known: ``cells[i]`` is the grid cell
    (row-major index, ``row * grid + column``) that holds it, and ``masks[i]`` its
    pixels — the ground truth for where a classifier should look.
    """

    images: Tensor  # (N, 3, H, W) float in 0..1
    labels: Tensor  # (N,) index into label_names
    cells: Tensor  # (N,) row-major index of the deciding object's cell
    masks: Tensor  # (N, H, W) bool: the deciding object's pixels
    scenes: "Scenes"  # the scenes kept (same order)
    shape: str
    label_names: Tuple[str, ...]  # e.g. ("red", ...) or ("red, left", "red, right", ...)


def shape_colour_task(scenes: "Scenes", shape: str = "circle", *, side: bool = False) -> ShapeColourTask:
    """Keep the scenes with exactly one ``shape``; the label is that object's colour.

    With ``side=True`` the label also says whether the object is in the left or
    the right half of the canvas (``2 × colours`` classes, ``colour * 2 + side``),
    so that a model must use *where* things are as well as what they are.
    """
    config = scenes.config
    if shape not in config.shapes:
        raise ValueError(f"shape {shape!r} is not drawn in these scenes; they use {config.shapes}")
    s = config.shapes.index(shape)
    keep = np.flatnonzero((scenes.shapes == s).sum(axis=1) == 1)
    if keep.size == 0:
        raise ValueError(f"no scene holds exactly one {shape}")
    k = (scenes.shapes[keep] == s).argmax(axis=1)  # which object is the shape
    images = torch.from_numpy(scenes.images[keep]).permute(0, 3, 1, 2).float() / 255.0  # (N, 3, H, W)
    cells = scenes.cells[keep, k]  # (N, 2)
    labels = torch.from_numpy(scenes.colours[keep, k]).long()
    names: Tuple[str, ...] = tuple(config.colours)
    if side:
        right = torch.from_numpy(cells[:, 1] >= config.grid / 2).long()
        labels = labels * 2 + right
        names = tuple(f"{c}, {s}" for c in config.colours for s in ("left", "right"))
    return ShapeColourTask(
        images=images,
        labels=labels,
        cells=torch.from_numpy(cells[:, 0] * config.grid + cells[:, 1]).long(),
        masks=torch.from_numpy(scenes.masks[keep, k]),
        scenes=scenes[keep],
        shape=shape,
        label_names=names,
    )
