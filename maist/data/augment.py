"""Training-time augmentation: new handwriting from old, a batch at a time.

    Augment.parse("full") / ("affine,pen")      which transforms, with handwriting's ranges
    augment(batch, rng, cfg) -> batch           (n, 784) or (n, 28, 28) float32 in [0, 1]
    rng_for(seed, step)                         the generator of a step: resumes exactly
    moved(images, scale, degrees, down, right)  one fixed affine map (test-time views)

The transforms (each pure: a batch and a seeded generator in, a batch out):
    affine   rotation, shear, anisotropic scale, translation      (a writer's slant and size)
    elastic  Simard, Steinkraus and Platt (2003): a random displacement field, smoothed by
             a Gaussian of sd `sigma`, scaled by `alpha`             (a hand's wobble)
    pen      a thinner or thicker pen, in pixels, by grey erosion or dilation (pens differ
             most of all; not preprocess's line weight, which is relative to the size)
    mobius   z -> (az + b) / (cz + d) near the identity: the fourth seed's idea
    erase    a small blank patch (random erasing)

The geometric ones compose into one sampling grid, resampled once for the whole batch,
bilinear, by a compiled loop (maist.data._bilinear): no per-image Python loop.
Elastic fields come from a bank smoothed once (maist.augment.field_bank).
Only training batches are augmented; validation and test never are.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import lru_cache

import numpy as np
from scipy import ndimage

from ..errors import ScheduleError
from ..geometry import IMAGE_SIZE

KINDS = ("affine", "elastic", "pen", "mobius", "erase")
OLD_NAMES = {"stroke": "pen"}  # as runs recorded before the rename say it
PRESETS = {
    "none": (),
    "affine": ("affine",),
    "elastic": ("elastic",),
    "pen": ("pen",),
    "full": ("affine", "elastic", "pen"),  # the three that model real writers
}
_SALT = 7_919  # keeps augmentation's stream apart from the batches' (same seed, same step)


@dataclass(frozen=True)
class Augment:
    """Which transforms, and their ranges; the defaults fit handwriting at 28x28."""

    kinds: tuple[str, ...] = ()
    rotation: float = 12.0  # degrees, either way
    shear: float = 0.3  # x += shear * y, either way
    scale: tuple[float, float] = (0.85, 1.15)  # per axis, on its own (anisotropic)
    shift: float = 2.0  # pixels, either way
    alpha: float = 34.0  # elastic: the field's strength, before smoothing (Simard's 34)
    sigma: float = 4.0  # elastic: the field's smoothness, pixels (Simard's 4)
    pen: float = 1.0  # pen width: up to this many pixels thinner or thicker
    mobius: float = 0.1  # how far a, b, c, d stray from the identity's
    erase: tuple[float, float] = (0.1, 0.3)  # erased patch side, as a share of the image
    p: float = 1.0  # share of images a transform is applied to

    def __post_init__(self):
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ScheduleError(f"unknown augmentation {', '.join(map(repr, unknown))}; choose from "
                                f"{', '.join(PRESETS)} or a list of {', '.join(KINDS)}",
                                params=("augment",))
        if not 0 <= self.p <= 1:
            raise ScheduleError(f"augmentation p is a share, 0..1, not {self.p}",
                                params=("augment",))

    @classmethod
    def parse(cls, text: str | None, **ranges) -> "Augment":
        """'none', 'affine', 'elastic', 'full', or a list such as 'affine,pen,erase'."""
        if text is not None and not isinstance(text, str):
            raise ScheduleError(f"augment is a name or a comma-separated list, not {text!r}",
                                params=("augment",))
        text = (text or "none").strip()
        parts = [OLD_NAMES.get(k.strip(), k.strip()) for k in text.split(",") if k.strip()]
        kinds = tuple(dict.fromkeys(k for part in parts for k in PRESETS.get(part, (part,))))
        return cls(kinds, **ranges)

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def __str__(self) -> str:
        for name, kinds in PRESETS.items():
            if kinds == self.kinds:
                return name
        return ",".join(self.kinds)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["kinds"] = list(self.kinds)
        d["scale"], d["erase"] = list(self.scale), list(self.erase)
        return d

    @classmethod
    def from_dict(cls, d: dict | str | None) -> "Augment":
        if d is None or isinstance(d, str):
            return cls.parse(d)
        d = dict(d)
        d["kinds"] = tuple(d.get("kinds", ()))
        for key in ("scale", "erase"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    def only(self, *kinds: str) -> "Augment":
        return replace(self, kinds=tuple(kinds))


def rng_for(seed: int, step: int) -> np.random.Generator:
    """The generator of a training step: a pure function of (seed, step), so a resumed run
    augments exactly as an uninterrupted one does."""
    return np.random.default_rng([seed, _SALT, step])


# --- the sampling grid ----------------------------------------------------------------------

def _grid(n: int, size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres relative to the image centre: y, x each (n, size, size)."""
    c = np.arange(size, dtype=np.float32) - (size - 1) / 2.0
    y, x = np.meshgrid(c, c, indexing="ij")
    return np.broadcast_to(y, (n, size, size)), np.broadcast_to(x, (n, size, size))


def _chosen(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """(n,) 1.0 where the transform applies to an image, 0.0 where it leaves it be."""
    return (rng.random(n) < p).astype(np.float32) if p < 1 else np.ones(n, np.float32)


def affine_grid(y, x, rng: np.random.Generator, cfg: Augment):
    """Where each output pixel samples the input: the inverse of a random affine map."""
    n = len(y)
    on = _chosen(rng, n, cfg.p)[:, None, None]
    theta = np.deg2rad(rng.uniform(-cfg.rotation, cfg.rotation, n)).astype(np.float32)
    shear = rng.uniform(-cfg.shear, cfg.shear, n).astype(np.float32)
    sy, sx = (rng.uniform(*cfg.scale, (2, n)).astype(np.float32))
    ty, tx = rng.uniform(-cfg.shift, cfg.shift, (2, n)).astype(np.float32)
    theta, shear = theta * on[:, 0, 0], shear * on[:, 0, 0]
    sy, sx = 1 + (sy - 1) * on[:, 0, 0], 1 + (sx - 1) * on[:, 0, 0]
    ty, tx = ty * on[:, 0, 0], tx * on[:, 0, 0]
    # Output point o = R S H i + t; sample the input at i = H^-1 S^-1 R^-1 (o - t).
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    oy, ox = y - ty[:, None, None], x - tx[:, None, None]
    ry, rx = cos * oy - sin * ox, sin * oy + cos * ox  # R^-1 (rotation by -theta)
    ry, rx = ry / sy[:, None, None], rx / sx[:, None, None]
    return ry, rx - shear[:, None, None] * ry  # H^-1: x -= shear * y


BANK_SIZE = 2048  # smoothed fields to draw from: 13 MB, made once per sigma (about 0.1 s)


@lru_cache(maxsize=4)
def field_bank(sigma: float, size: int = IMAGE_SIZE, n: int = BANK_SIZE) -> np.ndarray:
    """(n, 2, size, size) displacement fields as Simard et al. make them (uniform noise in
    [-1, 1], Gaussian-smoothed), drawn once from a fixed seed: picking from a bank costs a
    copy where smoothing a fresh field for every image costs most of a training step."""
    rng = np.random.default_rng([_SALT, int(sigma * 1000), size])
    noise = rng.uniform(-1, 1, (n, 2, size, size)).astype(np.float32)
    bank = ndimage.gaussian_filter(noise, sigma=(0, 0, sigma, sigma), mode="constant",
                                   truncate=2.0)  # 2 sd: the tails add nothing visible
    bank.flags.writeable = False
    return bank


def elastic_grid(y, x, rng: np.random.Generator, cfg: Augment):
    """Simard et al.: a smoothed random field (from the bank, flipped at random) times alpha."""
    n = len(y)
    on = _chosen(rng, n, cfg.p)[:, None, None]
    bank = field_bank(float(cfg.sigma), y.shape[1])
    pick = rng.integers(0, len(bank), n)
    sign = rng.choice(np.array([-1.0, 1.0], np.float32), (n, 2))  # 4 mirror images of each
    field = bank[pick] * sign[:, :, None, None] * (cfg.alpha * on)[:, None]
    return y + field[:, 0], x + field[:, 1]


def mobius_grid(y, x, rng: np.random.Generator, cfg: Augment):
    """z -> (a z + b) / (c z + d), a = d = 1 + noise, b, c small: a gentle bend of the plane."""
    n = len(y)
    on = _chosen(rng, n, cfg.p)[:, None, None]
    half = (IMAGE_SIZE - 1) / 2.0
    z = (x + 1j * y) / half  # the unit square, about the centre
    r = cfg.mobius * on[..., 0, 0][:, None, None]

    def noise():
        return (rng.normal(0, 1, n) + 1j * rng.normal(0, 1, n))[:, None, None] * r

    a, b, c, d = 1 + noise(), noise(), noise() * 0.5, 1 + noise()
    w = (a * z + b) / (c * z + d)
    return (w.imag * half).astype(np.float32), (w.real * half).astype(np.float32)


def resample(images: np.ndarray, y, x) -> np.ndarray:
    """(n, 28, 28) sampled at centre-relative (y, x), bilinear, zero (paper) outside.

    A compiled loop (maist.data._bilinear) over the batch: each image padded with a zero
    border, each point read from its own image.
    """
    from . import _bilinear  # numba: compiled (and cached) on first use

    n, h, w = images.shape
    padded = np.zeros((n, h + _bilinear.BEFORE + _bilinear.AFTER,
                       w + _bilinear.BEFORE + _bilinear.AFTER), np.float32)
    padded[:, _bilinear.BEFORE : _bilinear.BEFORE + h, _bilinear.BEFORE : _bilinear.BEFORE + w] = images
    ys = np.ascontiguousarray(y + np.float32((h - 1) / 2.0), dtype=np.float32)
    xs = np.ascontiguousarray(x + np.float32((w - 1) / 2.0), dtype=np.float32)
    out = np.empty((n, h, w), np.float32)
    _bilinear.sample(padded, ys, xs, out)
    return out


def moved(images: np.ndarray, scale: float = 1.0, degrees: float = 0.0, down: float = 0.0,
          right: float = 0.0) -> np.ndarray:
    """(n, 28, 28) under one affine map about the centre: scaled, turned `degrees`
    clockwise on the page, then moved (pixels); whole-pixel moves are exact."""
    y, x = _grid(len(images), images.shape[1])
    theta = np.float32(np.deg2rad(degrees))
    oy, ox = y - np.float32(down), x - np.float32(right)
    ry = np.cos(theta) * oy - np.sin(theta) * ox  # the inverse map, as affine_grid's
    rx = np.sin(theta) * oy + np.cos(theta) * ox
    return resample(np.ascontiguousarray(images, np.float32), ry / np.float32(scale),
                    rx / np.float32(scale))


# --- pixel-wise transforms ------------------------------------------------------------------

def pen_width(images: np.ndarray, rng: np.random.Generator, cfg: Augment) -> np.ndarray:
    """Each image thicker (grey dilation) or thinner (erosion) by up to cfg.pen pixels;
    a fraction blends between whole steps, so the width varies smoothly."""
    n = len(images)
    amount = rng.uniform(-cfg.pen, cfg.pen, n).astype(np.float32) * _chosen(rng, n, cfg.p)
    out = images
    for grow, op in ((amount, np.maximum), (-amount, np.minimum)):
        current, k = images, 0
        while (grow > k).any():  # step k+1 counts fully where |amount| >= k+1, partly below
            nxt = _cross(current, op)
            out = out + np.clip(grow - k, 0, 1)[:, None, None] * (nxt - current)
            current, k = nxt, k + 1
    return out


def _cross(images: np.ndarray, op) -> np.ndarray:
    """Grey dilation (op np.maximum) or erosion (np.minimum) of (n, h, w) images by a plus,
    the gentlest step: each pixel and its 4 neighbours, an edge pixel counting itself for
    the neighbour outside (as ndimage's 'reflect' mode does), in five array operations."""
    p = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    out = op(p[:, 1:-1, 1:-1], p[:, :-2, 1:-1])
    for part in (p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]):
        op(out, part, out=out)
    return out


def random_erase(images: np.ndarray, rng: np.random.Generator, cfg: Augment) -> np.ndarray:
    """A blank rectangle per chosen image, sides a share cfg.erase of the image."""
    n, h, w = images.shape
    on = _chosen(rng, n, cfg.p).astype(bool)
    eh = np.rint(rng.uniform(*cfg.erase, n) * h).astype(int)
    ew = np.rint(rng.uniform(*cfg.erase, n) * w).astype(int)
    top = (rng.random(n) * (h - eh + 1)).astype(int)
    left = (rng.random(n) * (w - ew + 1)).astype(int)
    rows, cols = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < (top + eh)[:, None, None])
              & (cols >= left[:, None, None]) & (cols < (left + ew)[:, None, None]))
    return np.where(inside & on[:, None, None], 0.0, images).astype(np.float32)


# --- all of it ----------------------------------------------------------------------------

def augment(batch: np.ndarray, rng: np.random.Generator, cfg: Augment) -> np.ndarray:
    """A batch, augmented by cfg's transforms in a fixed order; same shape, float32, [0, 1]."""
    if not cfg.kinds or len(batch) == 0:
        return batch
    shape = batch.shape
    images = np.asarray(batch, dtype=np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    if "pen" in cfg.kinds:  # on the clean image, before resampling softens it
        images = pen_width(images, rng, cfg)
    geometric = [k for k in ("mobius", "elastic", "affine") if k in cfg.kinds]
    if geometric:
        y, x = _grid(len(images))
        # Sampling grids compose backwards: the last map applied to the image comes first.
        for kind in ("affine", "elastic", "mobius"):
            if kind in geometric:
                y, x = {"affine": affine_grid, "elastic": elastic_grid,
                        "mobius": mobius_grid}[kind](y, x, rng, cfg)
        images = resample(images, y, x)
    if "erase" in cfg.kinds:
        images = random_erase(images, rng, cfg)
    return np.clip(images, 0.0, 1.0).reshape(shape).astype(np.float32, copy=False)


def examples(images: np.ndarray, cfg: Augment, per_image: int = 8, seed: int = 0) -> np.ndarray:
    """(k, 28, 28) -> (k, 1 + per_image, 28, 28): each image, then its augmented versions."""
    images = np.asarray(images, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    reps = np.repeat(images, per_image, axis=0)
    out = augment(reps, rng_for(seed, 0), cfg).reshape(len(images), per_image, IMAGE_SIZE,
                                                        IMAGE_SIZE)
    return np.concatenate([images[:, None], out], axis=1)
