"""ContrastLimitedAdaptiveHistogramEqualization (CLAHE) and MaxNumBoundingBoxes."""

import mlx.core as mx

from .. import registry
from ..engine import argument_validation as check
from ..engine.layer import Layer
from .augmentation_base import BaseImageAugmentationLayer, from_unit_range, to_unit_range
from .augmentation_base import value_range as check_value_range


def _symmetric_pad(x, axis, extra):
    """Pads ``extra`` entries after the end of ``axis`` by mirroring the edge
    (numpy's "symmetric": ... c b a | a b c)."""
    if extra == 0:
        return x
    n = x.shape[axis]
    index = mx.array([n - 1 - (i % n) if (i // n) % 2 == 0 else i % n for i in range(extra)])
    return mx.concatenate([x, mx.take(x, index, axis=axis)], axis=axis)


@registry.builtin
class ContrastLimitedAdaptiveHistogramEqualization(BaseImageAugmentationLayer):
    """CLAHE: the image is cut into ``tile_grid_size`` tiles; each tile's 256-bin
    histogram is clipped at ``clip_limit`` times its mean (the excess spread over
    all bins) and turned into a lookup table; a pixel's value is the bilinear blend
    of the tables of the four nearest tile centres. Not random: applied at inference
    too, as in Keras.

    Args:
        value_range: the images' value range, ``(0, 255)`` by default.
        clip_limit: the histogram clip, in multiples of the mean bin count (4.0);
            0 or less disables clipping.
        tile_grid_size: ``(rows, columns)`` of tiles, (8, 8).
        data_format: ``"channels_last"`` (or None).
    """

    _masks = None

    _random = False

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8),
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = check_value_range(self, value_range)
        self.clip_limit = check.real(self, "clip_limit", clip_limit)
        self.tile_grid_size = check.int_tuple(self, "tile_grid_size", tile_grid_size, 2)

    def augment(self, images):
        dtype = images.dtype
        x = from_unit_range(to_unit_range(images.astype(mx.float32), self.value_range),
                            (0, 255))
        n, h, w, c = x.shape
        grid_h, grid_w = self.tile_grid_size
        tile_h, tile_w = -(-h // grid_h), -(-w // grid_w)
        x = _symmetric_pad(_symmetric_pad(x, 1, tile_h * grid_h - h), 2, tile_w * grid_w - w)
        pixels = mx.clip(x, 0, 255).astype(mx.int32)  # truncation, as Keras casts
        # Histograms of every (image, tile, channel) at once.
        tiles = pixels.reshape(n, grid_h, tile_h, grid_w, tile_w, c)
        tiles = mx.transpose(tiles, (0, 1, 3, 5, 2, 4)).reshape(-1, tile_h * tile_w)
        rows = mx.arange(tiles.shape[0], dtype=mx.int32)[:, None] * 256
        hist = mx.zeros((tiles.shape[0] * 256,), dtype=mx.float32).at[
            (tiles + rows).reshape(-1)].add(1.0).reshape(n, grid_h, grid_w, c, 256)
        if self.clip_limit > 0:
            limit = self.clip_limit * (tile_h * tile_w) / 256.0
            clipped = mx.minimum(hist, limit)
            hist = clipped + mx.sum(hist - clipped, axis=-1, keepdims=True) / 256.0
        cdf = mx.cumsum(hist, axis=-1)
        cdf_min = mx.min(cdf, axis=-1, keepdims=True)
        denominator = tile_h * tile_w - cdf_min
        table = mx.clip((cdf - cdf_min) * 255.0 / mx.where(denominator == 0, 1.0, denominator),
                        0, 255)
        # Edge tiles repeated once on each side: pixels beyond the outer tile
        # centres take the outer tables.
        table = mx.concatenate([table[:, :1], table, table[:, -1:]], axis=1)
        table = mx.concatenate([table[:, :, :1], table, table[:, :, -1:]], axis=2)
        gy = (mx.arange(tile_h * grid_h, dtype=mx.float32) - tile_h / 2.0) / tile_h + 1.0
        gx = (mx.arange(tile_w * grid_w, dtype=mx.float32) - tile_w / 2.0) / tile_w + 1.0
        y0, x0 = mx.floor(gy), mx.floor(gx)
        wy, wx = (gy - y0)[None, :, None, None], (gx - x0)[None, None, :, None]
        flat = table.reshape(-1)
        strides = (256 * c * (grid_w + 2) * (grid_h + 2), 256 * c * (grid_w + 2), 256 * c, 256)
        base = (mx.arange(n, dtype=mx.int32)[:, None, None, None] * strides[0]
                + mx.arange(c, dtype=mx.int32)[None, None, None, :] * strides[3] + pixels)

        def read(ys, xs):
            ys = mx.clip(ys, 0, grid_h + 1).astype(mx.int32)[None, :, None, None]
            xs = mx.clip(xs, 0, grid_w + 1).astype(mx.int32)[None, None, :, None]
            return mx.take(flat, base + ys * strides[1] + xs * strides[2])

        top = read(y0, x0) * (1 - wx) + read(y0, x0 + 1) * wx
        bottom = read(y0 + 1, x0) * (1 - wx) + read(y0 + 1, x0 + 1) * wx
        out = (top * (1 - wy) + bottom * wy)[:, :h, :w]
        out = from_unit_range(to_unit_range(out, (0, 255)), self.value_range)
        return out.astype(dtype)

    def inference(self, images):
        return self.augment(images if images.ndim == 4 else images[None]).reshape(images.shape)

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, clip_limit=self.clip_limit,
                      tile_grid_size=self.tile_grid_size)
        return config


@registry.builtin
class MaxNumBoundingBoxes(Layer):
    """Pads or truncates the boxes of ``{"images", "bounding_boxes": {"boxes",
    "labels"}}`` to ``max_number`` per image (padding with ``fill_value``); the
    images pass unchanged.

    Args:
        max_number: the number of boxes per image.
        fill_value: the value of padded boxes and labels (-1).
    """

    def __init__(self, max_number, fill_value=-1, bounding_box_format=None, **kwargs):
        super().__init__(**kwargs)
        self.max_number = check.positive_int(self, "max_number", max_number)
        self.fill_value = check.integer(self, "fill_value", fill_value)
        self.bounding_box_format = bounding_box_format

    def _fit(self, x):
        x = x[:, :self.max_number]
        pad = self.max_number - x.shape[1]
        if pad > 0:
            widths = [(0, 0), (0, pad)] + [(0, 0)] * (x.ndim - 2)
            x = mx.pad(x, widths, constant_values=self.fill_value)
        return x

    def call(self, inputs, training=True):
        if not isinstance(inputs, dict) or "bounding_boxes" not in inputs:
            return inputs
        boxes = dict(inputs["bounding_boxes"])
        extra = sorted(set(boxes) - {"boxes", "labels"})
        if extra:
            raise KeyError(f"There are unsupported keys in `bounding_boxes`: {extra}. "
                           "Only `boxes` and `labels` are supported.")
        boxes["boxes"] = self._fit(boxes["boxes"])
        boxes["labels"] = self._fit(boxes["labels"])
        out = dict(inputs)
        out["bounding_boxes"] = boxes
        return out

    def get_config(self):
        config = super().get_config()
        config.update(max_number=self.max_number, fill_value=self.fill_value,
                      bounding_box_format=self.bounding_box_format)
        return config
