"""Rendering relevance maps as uint8 RGB arrays (H x W x 3).

Two paths:

- :func:`heatmap` (and its views ``'edges'``, ``'mask'``) runs the library's renderer, so its pixels
  are those of the PNGs ``bowlrp explain`` writes: R is scaled symmetrically, v = clip(R / s, -1, 1)
  with s = max |R| (or the ``percentile`` of |R|), and coloured by a diverging map centred on 0
  (0 = the map's neutral colour, white for 'bwr'; red = for the class, blue = against).
- :func:`imgify` (modelled on zennit's ``imgify``), :func:`visualize_image_attr` (modelled on
  captum's ``visualize_image_attr``), :func:`binary_mask` and :func:`masked_image` work on any
  numpy relevance array (your own maps too), with the same colour maps (:func:`colorize`).

No matplotlib is needed; write the arrays with :func:`bowlrp.write_png`.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _bowlrp

ArrayLike = Union[np.ndarray, Sequence]

__all__ = [
    "binary_mask",
    "colorize",
    "colormap_names",
    "edges",
    "heatmap",
    "imgify",
    "mask",
    "masked_image",
    "normalise",
    "visualize_image_attr",
]


def colormap_names() -> list:
    """Names of the diverging colour maps ('bwr', 'seismic', 'hot-cold')."""
    return list(_bowlrp.colormap_names())


def colorize(values: ArrayLike, cmap: str = "bwr") -> np.ndarray:
    """Colours of values in [-1, 1] (clipped) as uint8 RGB, shape values.shape + (3,).

    The library's colour maps: 0 is the neutral colour, v > 0 reds, v < 0 blues, equal strength
    for equal |v|.
    """
    return _bowlrp.apply_colormap(np.asarray(values, dtype=np.float64), cmap)


def _relevance_array(relevance) -> np.ndarray:
    r = getattr(relevance, "relevance", relevance)
    a = np.asarray(r, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("relevance: the map holds non-finite values")
    return a


# ---------------------------------------------------------------------------------------------
# The library's renderer


def heatmap(relevance, image=None, *, view: str = "heatmap", colormap: str = "bwr",
            percentile: Optional[float] = None, **options) -> np.ndarray:
    """The library's heatmap of an Explanation or an H x W array, as uint8 RGB.

    view: 'heatmap' (the colours), 'edges' (the image's Canny edges drawn over them) or 'mask' (the
    image where R is among the top ``mask_top_percent`` % positive pixels, dimmed elsewhere).
    ``image`` (uint8 RGB array or path) is needed by 'edges' and 'mask'; an Explanation of a file
    brings its own. percentile: scale by that percentile of |R| instead of max |R| (a few extreme
    pixels then do not wash the rest out). Further keyword options: see HeatmapOptions
    (``mask_top_percent``, ``mask_dim``, ``edge_low``, ``edge_high``).
    """
    if percentile is not None:
        options.setdefault("scaling", "percentile")
        options["percentile"] = percentile
    return _bowlrp.render_heatmap(relevance, image, view=view, colormap=colormap, **options)


def edges(relevance, image=None, **options) -> np.ndarray:
    """heatmap(..., view='edges'): the relevance colours with the image's edges drawn over them."""
    return heatmap(relevance, image, view="edges", **options)


def mask(relevance, image=None, **options) -> np.ndarray:
    """heatmap(..., view='mask'): the image where relevance is in the top ``mask_top_percent`` %."""
    return heatmap(relevance, image, view="mask", **options)


# ---------------------------------------------------------------------------------------------
# numpy path (any relevance array)


def normalise(relevance, *, vmin: Optional[float] = None, vmax: Optional[float] = None,
              symmetric: bool = True, percentile: Optional[float] = None) -> np.ndarray:
    """Scales a map to [-1, 1].

    symmetric (default): v = clip(R / s, -1, 1), s = max(|vmin|, |vmax|) when given, else the
    ``percentile`` of |R| (default 100: max |R|), so 0 stays 0 (the neutral colour) and R and -R
    give mirrored values. Otherwise [vmin, vmax] (default [min R, max R]) maps linearly onto
    [-1, 1]. A constant map gives zeros.
    """
    a = _relevance_array(relevance)
    if symmetric:
        if vmin is not None or vmax is not None:
            s = max(abs(vmin or 0.0), abs(vmax or 0.0))
        elif a.size == 0:
            s = 0.0
        else:
            s = float(np.percentile(np.abs(a), 100.0 if percentile is None else percentile))
        if s <= 0:
            return np.zeros_like(a)
        return np.clip(a / s, -1.0, 1.0)
    lo = float(a.min()) if vmin is None else float(vmin)
    hi = float(a.max()) if vmax is None else float(vmax)
    if hi <= lo:
        return np.zeros_like(a)
    return np.clip(2.0 * (a - lo) / (hi - lo) - 1.0, -1.0, 1.0)


def _grid_shape(n: int, grid) -> Tuple[int, int]:
    if grid is True:
        cols = int(math.ceil(math.sqrt(n)))
        return int(math.ceil(n / cols)), cols
    rows, cols = grid
    if rows * cols < n:
        raise ValueError(f"grid {rows}x{cols} holds fewer than the {n} maps")
    return rows, cols


def imgify(obj, *, vmin: Optional[float] = None, vmax: Optional[float] = None, cmap: str = "bwr",
           level: float = 1.0, symmetric: bool = True, grid: Union[bool, Tuple[int, int]] = False,
           gridfill: Optional[Sequence[int]] = None, percentile: Optional[float] = None) -> np.ndarray:
    """A relevance map (H x W) or a batch (N x H x W, with ``grid``) as a uint8 RGB image.

    Modelled on zennit's ``imgify``: vmin/vmax bound the colour range (default: the data's),
    symmetric=True centres it on 0 (bowlrp's default: 0 is neutral, R and -R give mirrored
    colours; zennit's default is False), ``level`` multiplies the normalised values before the
    colour map (level > 1 saturates weak relevance, < 1 tones it down), ``grid`` tiles a batch
    (True: near-square, or (rows, cols)) with ``gridfill`` (RGB, default white) between maps.
    A Explanation is taken as its pixel map. percentile: scale by that percentile of |R|.
    """
    a = _relevance_array(obj)
    if a.ndim == 3 and grid:
        maps = [imgify(m, vmin=vmin, vmax=vmax, cmap=cmap, level=level, symmetric=symmetric,
                       percentile=percentile) for m in a]
        rows, cols = _grid_shape(len(maps), grid)
        h, w = a.shape[1:]
        fill = np.array(gridfill if gridfill is not None else (255, 255, 255), dtype=np.uint8)
        out = np.empty((rows * h + rows - 1, cols * w + cols - 1, 3), dtype=np.uint8)
        out[...] = fill
        for i, m in enumerate(maps):
            r, c = divmod(i, cols)
            out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = m
        return out
    if a.ndim != 2:
        raise ValueError(f"imgify: expected an H x W map (or N x H x W with grid=), got shape {a.shape}")
    v = normalise(a, vmin=vmin, vmax=vmax, symmetric=symmetric, percentile=percentile)
    return colorize(np.clip(v * level, -1.0, 1.0), cmap)


def _cumulative_sum_threshold(values: np.ndarray, percentile: float) -> float:
    # captum's threshold: the smallest value whose cumulative sum (ascending) reaches percentile %.
    s = np.sort(values.ravel())
    cum = np.cumsum(s)
    if s.size == 0 or cum[-1] <= 0:
        return 0.0
    return float(s[np.nonzero(cum >= cum[-1] * 0.01 * percentile)[0][0]])


def _as_rgb(image) -> np.ndarray:
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        return _bowlrp.read_image(image)
    a = np.asarray(image)
    if a.dtype.kind == "f":
        a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.dtype != np.uint8:
        raise ValueError(f"image: expected uint8 H x W [x 3|4] (or float in [0, 1]), got shape {a.shape} dtype {a.dtype}")
    return a[..., :3]


def visualize_image_attr(attr, original_image=None, method: str = "heat_map", sign: str = "absolute_value",
                         outlier_perc: float = 2.0, alpha_overlay: float = 0.5,
                         cmap: str = "bwr") -> np.ndarray:
    """Modelled on captum's ``visualize_image_attr``, returning a uint8 RGB array (no figure).

    attr: H x W (or H x W x C, summed over channels as captum does). sign: 'all', 'positive',
    'negative' or 'absolute_value'. The scale is captum's: the value at which the cumulative sum of
    the sorted |values| reaches (100 - outlier_perc) %, so the top outliers saturate. method:
    'heat_map' (colours), 'blended_heat_map' (colours over the grey image, alpha_overlay),
    'masked_image' (the image scaled by the normalised attribution; not with sign='all') or
    'original_image'. Colours come from bowlrp's diverging map ``cmap``: 'all' uses both halves,
    'positive' and 'absolute_value' the positive half (white to red), 'negative' the negative half.
    """
    a = _relevance_array(attr)
    if a.ndim == 3:
        a = a.sum(axis=2)
    if a.ndim != 2:
        raise ValueError(f"visualize_image_attr: expected H x W or H x W x C, got shape {a.shape}")
    if sign == "all":
        thr = _cumulative_sum_threshold(np.abs(a), 100.0 - outlier_perc)
        v = a
    elif sign == "positive":
        v = np.where(a > 0, a, 0.0)
        thr = _cumulative_sum_threshold(v, 100.0 - outlier_perc)
    elif sign == "negative":
        v = np.where(a < 0, a, 0.0)
        thr = _cumulative_sum_threshold(-v, 100.0 - outlier_perc)
    elif sign == "absolute_value":
        v = np.abs(a)
        thr = _cumulative_sum_threshold(v, 100.0 - outlier_perc)
    else:
        raise ValueError(f"sign: '{sign}' is not 'all', 'positive', 'negative' or 'absolute_value'")
    norm = np.zeros_like(v) if thr <= 0 else np.clip(v / thr, -1.0, 1.0)
    if method == "original_image":
        if original_image is None:
            raise ValueError("method 'original_image' needs original_image")
        return _as_rgb(original_image).copy()
    if method == "heat_map":
        return colorize(norm, cmap)
    if original_image is None:
        raise ValueError(f"method '{method}' needs original_image")
    img = _as_rgb(original_image)
    if img.shape[:2] != a.shape:
        raise ValueError(f"original_image is {img.shape[1]}x{img.shape[0]} (W x H), the attribution {a.shape[1]}x{a.shape[0]}")
    if method == "blended_heat_map":
        grey = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        heat = colorize(norm, cmap).astype(np.float64)
        out = (1.0 - alpha_overlay) * grey[..., None] + alpha_overlay * heat
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if method == "masked_image":
        if sign == "all":
            raise ValueError("method 'masked_image' needs sign 'positive', 'negative' or 'absolute_value'")
        return np.clip(np.rint(img * np.abs(norm)[..., None]), 0, 255).astype(np.uint8)
    raise ValueError(f"method: '{method}' is not 'heat_map', 'blended_heat_map', 'masked_image' or 'original_image'")


def binary_mask(relevance, *, top_percent: Optional[float] = 20.0, threshold: Optional[float] = None) -> np.ndarray:
    """Bool H x W: pixels of positive relevance above ``threshold``, or (default) the top
    ``top_percent`` % of all pixels by relevance that are also positive (ties at the cut included)."""
    a = _relevance_array(relevance)
    if threshold is not None:
        return a > threshold
    if not (top_percent is not None and 0 < top_percent <= 100):
        raise ValueError(f"top_percent: expected a value in (0, 100], got {top_percent}")
    k = max(1, int(math.ceil(a.size * top_percent / 100.0)))
    cut = np.partition(a.ravel(), a.size - k)[a.size - k]
    return (a >= cut) & (a > 0)


def masked_image(image, relevance, *, top_percent: float = 20.0, threshold: Optional[float] = None,
                 dim: float = 0.15) -> np.ndarray:
    """The image (uint8 RGB) where binary_mask(relevance) holds, dimmed to ``dim`` elsewhere."""
    img = _as_rgb(image)
    m = binary_mask(relevance, top_percent=top_percent, threshold=threshold)
    if img.shape[:2] != m.shape:
        raise ValueError(f"image is {img.shape[1]}x{img.shape[0]} (W x H), the relevance {m.shape[1]}x{m.shape[0]}")
    out = img.astype(np.float64)
    out[~m] *= dim
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
