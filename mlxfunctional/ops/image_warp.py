"""Sampling an image at computed coordinates: map_coordinates and the warps built
on it (affine_transform, perspective_transform, elastic_transform).

Interpolation is JAX's ``map_coordinates`` (order 0: round half away from
zero; order 1: linear between ``floor`` and ``floor + 1``), each corner's index
folded back into the input by the fill mode. MLX gathers do not check bounds,
so every index is clipped into range before the gather; in ``"constant"`` mode
a corner that was out of range is then replaced by the fill value.
"""

import mlx.core as mx

from .dtypes import convert_to_tensor
from .image_filters import gaussian_blur
from .image_layout import as_batch, cast_back, check_rank, round_half_away
from .image_layout import standardize_data_format
from .linalg_gradients import solve
from .operation import keras_op

__all__ = ["affine_transform", "elastic_transform", "map_coordinates",
           "perspective_transform"]

_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
_ORDERS = {"nearest": 0, "bilinear": 1}


def _mirror(index, size):
    """Whole-sample symmetric: (c d c b | a b c d | c b a b)."""
    if size == 1:
        return mx.zeros_like(index)
    period = size - 1
    return mx.abs(mx.remainder(index + period, 2 * period) - period)


def _fold(index, size, mode):
    """``index`` folded into ``[0, size)`` by ``mode`` (constant: clipped only)."""
    if mode == "wrap":
        return mx.remainder(index, size)
    if mode == "mirror":
        return _mirror(index, size)
    if mode == "reflect":  # half-sample symmetric: (d c b a | a b c d | d c b a)
        return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2
    return mx.clip(index, 0, size - 1)


def _corners(coordinate, size, order, mode):
    """[(index in range, valid mask or None, weight)] for one axis."""
    if order == 0:
        nodes = [(round_half_away(coordinate).astype(mx.int32), None)]
    else:
        lower = mx.floor(coordinate)
        upper_weight = coordinate - lower
        lower = lower.astype(mx.int32)
        nodes = [(lower, 1.0 - upper_weight), (lower + 1, upper_weight)]
    corners = []
    for index, weight in nodes:
        valid = (index >= 0) & (index < size) if mode == "constant" else None
        corners.append((_fold(index, size, mode), valid, weight))
    return corners


def _interpolate(gather, shape, coordinates, order, mode, fill_value, dtype):
    """Sums ``weight * gather(flat index)`` over the interpolation corners.

    ``gather`` reads the input at a flat (row-major) index over ``shape``.
    """
    per_axis = [_corners(c, n, order, mode) for c, n in zip(coordinates, shape)]
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    fill = mx.array(fill_value).astype(dtype)
    total = None
    for choice in _product(per_axis):
        flat = sum(index * stride for (index, _, _), stride in zip(choice, strides))
        value = gather(flat)
        masks = [valid for _, valid, _ in choice if valid is not None]
        if masks:
            valid = masks[0]
            for mask in masks[1:]:
                valid = valid & mask
            value = mx.where(_expand_like(valid, value), value, fill)
        if order:
            weight = choice[0][2]
            for _, _, w in choice[1:]:
                weight = weight * w
            value = value * _expand_like(weight, value)
        total = value if total is None else total + value
    return cast_back(total, dtype, rounding=round_half_away)


def _product(lists):
    if not lists:
        return [()]
    return [(item,) + rest for item in lists[0] for rest in _product(lists[1:])]


def _expand_like(x, target):
    if not isinstance(x, mx.array):
        return x
    return x.reshape(x.shape + (1,) * (target.ndim - x.ndim))


@keras_op
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """``inputs`` sampled at ``coordinates`` (one array per input axis, stacked
    first): ``order`` 0 (nearest) or 1 (linear); outside points by ``fill_mode``."""
    inputs = convert_to_tensor(inputs)
    if isinstance(coordinates, (list, tuple)):
        coordinates = mx.stack([convert_to_tensor(c) for c in coordinates])
    coordinates = convert_to_tensor(coordinates)
    if coordinates.ndim < 2 or coordinates.shape[0] != inputs.ndim:
        raise ValueError("map_coordinates: `coordinates` must have shape (inputs.ndim, ...) "
                         f"with rank >= 2. Received: inputs.shape={inputs.shape}, "
                         f"coordinates.shape={coordinates.shape}")
    _check_mode(fill_mode, "map_coordinates")
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: `order` must be 0 or 1. Received: order={order}")
    if not mx.issubdtype(coordinates.dtype, mx.floating):
        coordinates = coordinates.astype(mx.float32)
    if inputs.size == 0:
        raise ValueError(f"map_coordinates: `inputs` is empty (shape {inputs.shape}).")
    flat = inputs.reshape(-1)
    value_dtype = inputs.dtype if mx.issubdtype(inputs.dtype, mx.floating) else mx.float32
    flat = flat.astype(value_dtype)
    return _interpolate(lambda index: mx.take(flat, index), inputs.shape,
                        list(coordinates), order, fill_mode, fill_value, inputs.dtype)


def _check_mode(fill_mode, op):
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"{op}: `fill_mode` must be one of {_FILL_MODES}. "
                         f"Received: fill_mode={fill_mode!r}")


def _check_interpolation(interpolation, op):
    if interpolation not in _ORDERS:
        raise ValueError(f"{op}: `interpolation` must be one of {tuple(_ORDERS)}. "
                         f"Received: interpolation={interpolation!r}")
    return _ORDERS[interpolation]


def _sample(images, ys, xs, order, mode, fill_value):
    """A batch ``images`` (N, H, W, C) sampled at per-image rows ``ys`` and columns
    ``xs`` (N, H', W'): every channel at once."""
    n, h, w, c = images.shape
    value_dtype = images.dtype if mx.issubdtype(images.dtype, mx.floating) else mx.float32
    flat = images.reshape(n, h * w, c).astype(value_dtype)
    out_hw = ys.shape[1:]

    def gather(index):  # index (N, H', W') -> (N, H', W', C)
        index = index.reshape(n, out_hw[0] * out_hw[1], 1)
        return mx.take_along_axis(flat, index, axis=1).reshape((n,) + out_hw + (c,))

    return _interpolate(gather, (h, w), [ys, xs], order, mode, fill_value, images.dtype)


def _pixel_grid(n, h, w):
    rows = mx.broadcast_to(mx.arange(h, dtype=mx.float32)[:, None], (h, w))
    cols = mx.broadcast_to(mx.arange(w, dtype=mx.float32)[None, :], (h, w))
    return rows[None], cols[None]


@keras_op
def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Output pixel ``(x, y)`` reads the input at ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``
    for ``transform = [a0, a1, a2, b0, b1, b2, c0, c1]`` (one, or one per image);
    ``c0, c1`` are ignored, as on Keras' non-TensorFlow backends."""
    order = _check_interpolation(interpolation, "affine_transform")
    _check_mode(fill_mode, "affine_transform")
    data_format = standardize_data_format(data_format, "affine_transform")
    x, restore = as_batch(images, data_format, "affine_transform")
    transform = convert_to_tensor(transform).astype(mx.float32)
    check_rank(transform, "affine_transform", ranks=(1, 2), name="transform")
    if transform.shape[-1] != 8:
        raise ValueError("affine_transform: each transform has 8 entries [a0, a1, a2, b0, b1, "
                         f"b2, c0, c1]. Received: transform.shape={transform.shape}")
    t = mx.broadcast_to(transform.reshape(-1, 8), (x.shape[0], 8))[:, :, None, None]
    rows, cols = _pixel_grid(*x.shape[:3])
    xs = t[:, 0] * cols + t[:, 1] * rows + t[:, 2]
    ys = t[:, 3] * cols + t[:, 4] * rows + t[:, 5]
    return restore(_sample(x, ys, xs, order, fill_mode, fill_value))


def _homography(start_points, end_points):
    """The 8 coefficients mapping each end point to its start point (a projective
    map, the last coefficient fixed at 1), from the 8 point equations."""
    sx, sy = start_points[..., 0], start_points[..., 1]
    ex, ey = end_points[..., 0], end_points[..., 1]
    zeros, ones = mx.zeros_like(ex), mx.ones_like(ex)
    x_rows = mx.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], axis=-1)
    y_rows = mx.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], axis=-1)
    system = mx.concatenate([x_rows, y_rows], axis=1)
    target = mx.concatenate([sx, sy], axis=-1)[..., None]
    return solve(system, target)[..., 0]


@keras_op
def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Warps so that the four ``start_points`` (x, y) land on ``end_points``: each
    output pixel reads the input through the homography end -> start."""
    order = _check_interpolation(interpolation, "perspective_transform")
    data_format = standardize_data_format(data_format, "perspective_transform")
    x, restore = as_batch(images, data_format, "perspective_transform")
    points = []
    for name, p in (("start_points", start_points), ("end_points", end_points)):
        p = convert_to_tensor(p).astype(mx.float32)
        if p.ndim not in (2, 3) or p.shape[-2:] != (4, 2):
            raise ValueError(f"perspective_transform: `{name}` must have shape (4, 2) or "
                             f"(N, 4, 2). Received: {name}.shape={p.shape}")
        points.append(p.reshape(-1, 4, 2))
    if points[0].shape != points[1].shape:
        raise ValueError("perspective_transform: start_points and end_points must have the "
                         f"same shape. Received: {points[0].shape} and {points[1].shape}")
    t = mx.broadcast_to(_homography(*points), (x.shape[0], 8))[:, :, None, None]
    rows, cols = _pixel_grid(*x.shape[:3])
    denominator = t[:, 6] * cols + t[:, 7] * rows + 1.0
    xs = (t[:, 0] * cols + t[:, 1] * rows + t[:, 2]) / denominator
    ys = (t[:, 3] * cols + t[:, 4] * rows + t[:, 5]) / denominator
    return restore(_sample(x, ys, xs, order, "constant", fill_value))


def _random_key(seed):
    """An MLX PRNG key for ``seed`` (an int, a key array, or a generator with
    ``next()`` such as a SeedGenerator); None uses MLX's global random state."""
    if seed is None:
        return None
    if isinstance(seed, int):
        return mx.random.key(seed)
    if isinstance(seed, mx.array):
        return seed
    if hasattr(seed, "next"):
        return _random_key(seed.next())
    raise TypeError(f"elastic_transform: `seed` must be None, an int or a SeedGenerator. "
                    f"Received: {seed!r}")


@keras_op
def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Random elastic deformation: each pixel moves by ``alpha`` times a Gaussian
    noise field (standard deviation ``sigma``) smoothed by a Gaussian of ``sigma``."""
    order = _check_interpolation(interpolation, "elastic_transform")
    _check_mode(fill_mode, "elastic_transform")
    data_format = standardize_data_format(data_format, "elastic_transform")
    x, restore = as_batch(images, data_format, "elastic_transform")
    n, h, w, _ = x.shape
    size = int(6 * sigma) | 1  # an odd kernel covering +-3 sigma
    key = _random_key(seed)
    keys = mx.random.split(key) if key is not None else (None, None)
    fields = []
    for k in keys:
        noise = mx.random.normal((n, h, w, 1), key=k) * sigma
        smooth = gaussian_blur(noise, (size, size), (sigma, sigma), "channels_last")
        fields.append(alpha * smooth[..., 0])
    rows, cols = _pixel_grid(n, h, w)
    return restore(_sample(x, rows + fields[1], cols + fields[0], order, fill_mode,
                           fill_value))
