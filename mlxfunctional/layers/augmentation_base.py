"""What every image augmentation layer shares: the ``training`` rule, the seed
stream, the batch axis, factor and value-range arguments, and the affine matrix.

Keras' rules, kept here:

- ``call(images, training=True)``: an augmentation layer called with no
  ``training`` (directly, or inside a model called without it) augments, as
  Keras' signature default says; ``fit`` passes True, ``evaluate``/``predict``
  pass False and get the images back unchanged (cast to the compute dtype where
  Keras casts).
- Randomness comes from a ``SeedGenerator`` held by the layer: its key is part
  of the model's state, so the compiled training step draws fresh numbers at
  every step, and the same seed repeats the same run bit for bit.
- Every parameter is drawn for the whole batch at once (one array per
  parameter, one entry per image): no Python loop over images, no host sync.
- A 3-D input is one image: it is augmented as a batch of one.
- Keras' dict form ``{"images", "labels", "segmentation_masks"}`` is taken:
  MixUp/CutMix mix the labels; the geometric layers move the masks with their
  images (nearest sampling), the colour layers leave them; bounding boxes are
  not supported (MaxNumBoundingBoxes only pads them).
"""

import math

import mlx.core as mx

from .. import backend
from ..engine import argument_validation as check
from ..engine.layer import Layer
from ..random.seed_generator import SeedGenerator

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def channels_last(data_format):
    """MLX is channels-last; Keras' other layout is refused with the fix."""
    if data_format is None:
        data_format = backend.image_data_format()
    if data_format == "channels_last":
        return data_format
    if data_format == "channels_first":
        raise ValueError("data_format='channels_first' is not supported: MLX is channels-last. "
                         "Transpose images to (batch, height, width, channels).")
    raise ValueError("The `data_format` argument must be one of 'channels_last', "
                     f"'channels_first'. Received: data_format={data_format}")


def factor_range(owner, name, factor, low, high, low_open=False, symmetric=False):
    """Keras' factor forms: a number ``f`` means ``[max(-|f|, low), |f|]`` (``[-|f|,
    |f|]`` when ``symmetric``), a pair ``(a, b)`` means ``[min, max]``; every number
    given must lie in ``[low, high]`` (``(low, high]`` with ``low_open``).
    Returns ``(lower, upper)`` floats."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
    expected = f"a number or a pair of numbers in {interval}"

    def inside(v):
        return (check._is_real(v) and not math.isnan(v)
                and (v > low if low_open else v >= low) and v <= high)

    pair = check.as_tuple(factor)
    if pair is not None:
        if len(pair) != 2 or not all(inside(v) for v in pair):
            raise check._error(owner, name, expected, factor)
        lower, upper = sorted(float(v) for v in pair)
        return lower, upper
    if not inside(factor):
        raise check._error(owner, name, expected, factor)
    f = abs(float(factor))
    return (-f if symmetric else max(-f, float(low))), f


def value_range(owner, value, sort=False):
    """A pair of finite numbers ``(low, high)`` (sorted when Keras sorts it)."""
    pair = check.as_tuple(value)
    if (pair is None or len(pair) != 2
            or not all(check._is_real(v) and math.isfinite(v) for v in pair)):
        raise check._error(owner, "value_range", "a pair of numbers", value)
    pair = [float(v) if not check.is_integer(v) else int(v) for v in pair]
    return sorted(pair) if sort else tuple(pair)


def choice(owner, name, value, options, error=NotImplementedError):
    """One of ``options`` (Keras raises NotImplementedError for a fill mode or an
    interpolation it does not know)."""
    if value not in options:
        raise error(f"{type(owner).__name__}: unknown `{name}` {value!r}. Expected one of "
                    f"{options}.")
    return value


class BaseImageAugmentationLayer(Layer):
    """Base of the augmentation layers: subclasses implement ``augment(images)`` on a
    4-D batch in training, and may override ``inference(images)``.

    Args:
        seed: int seed of the layer's stream of random numbers, or None.
        data_format: ``"channels_last"`` (or None); channels_first is refused.
    """

    # Keras casts to the compute dtype at inference in most of these layers;
    # a few (contrast, brightness, crop) hand the images back untouched.
    _cast_at_inference = True
    # What a segmentation mask undergoes in Keras' dict form: "keep" (colour
    # layers), "follow" (the same geometric transform), None (refused).
    _masks = "keep"
    # Layers that draw nothing themselves (AutoContrast, Equalization, CLAHE,
    # RandomColorJitter whose steps draw) hold no key.
    _random = True

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = check.seed(self, seed)
        self.data_format = channels_last(data_format)
        if self._random:
            # An attribute of the layer, so the compiled step captures and advances it.
            self.generator = SeedGenerator(self.seed)

    def call(self, inputs, training=True):
        if training is None:  # Keras: the signature's default, True
            training = True
        if isinstance(inputs, dict):  # Keras' {"images": ..., "labels": ...} form
            return self._call_dict(inputs, training)
        self._check_rank(inputs)
        if not training:
            return self.inference(inputs)
        batched = inputs.ndim == 4
        outputs = self.augment(inputs if batched else inputs[None])
        return outputs if batched else outputs[0]

    def _check_rank(self, images):
        if images.ndim not in (3, 4):
            raise ValueError(f'Layer "{self.name}": expected images of rank 3 (one image) or '
                             f"4 (a batch). Received: inputs.shape={images.shape}")

    def _call_dict(self, data, training):
        unsupported = "bounding_boxes" in data or (
            "segmentation_masks" in data and self._masks is None)
        if unsupported or "images" not in data:
            raise NotImplementedError(
                f'Layer "{self.name}" takes images, or a dict of "images", "labels"'
                f'{"" if self._masks is None else " and segmentation_masks"}; '
                f"received the keys {sorted(data)}.")
        images, labels = data["images"], data.get("labels")
        masks = data.get("segmentation_masks")
        self._check_rank(images)
        out = dict(data)
        if not training:
            out["images"] = self.inference(images)
            return out
        batched = images.ndim == 4
        if not batched:
            images = images[None]
            labels = None if labels is None else labels[None]
            masks = None if masks is None else masks[None]
        if masks is not None:
            images, masks = self._augment_with_masks(images, masks)
        else:
            images, labels = self.augment_with_labels(images, labels)
        out["images"] = images if batched else images[0]
        if labels is not None:
            out["labels"] = labels if batched else labels[0]
        if masks is not None:
            out["segmentation_masks"] = masks if batched else masks[0]
        return out

    def _augment_with_masks(self, images, masks):
        """Masks follow the images' geometry: the same draws are replayed on them
        (nearest interpolation, their own dtype); colour layers leave them as they are.
        Every draw depends on the batch and spatial sizes only, never on channels."""
        if self._masks == "keep":
            return self.augment(images), masks
        start = self.generator.state
        images = self.augment(images)
        end = self.generator.state
        self.generator["_state"] = start
        interpolation = getattr(self, "interpolation", None)
        if interpolation is not None:
            object.__setattr__(self, "interpolation", "nearest")
        try:
            warped = self.augment(masks).astype(masks.dtype)
        finally:
            if interpolation is not None:
                object.__setattr__(self, "interpolation", interpolation)
            self.generator["_state"] = end
        return images, warped

    def augment_with_labels(self, images, labels):
        """Images and labels of one batch; labels are kept unless a layer mixes them."""
        return self.augment(images), labels

    def inference(self, images):
        if self._cast_at_inference:
            return images.astype(self.compute_dtype_mx)
        return images

    @property
    def compute_dtype_mx(self):
        return backend.mlx_dtype(self.compute_dtype)

    def as_compute(self, images):
        return images.astype(self.compute_dtype_mx)

    def uniform(self, shape, minval=0.0, maxval=1.0):
        """Uniform draws on ``[minval, maxval)`` from the layer's stream (float32)."""
        u = mx.random.uniform(shape=tuple(int(d) for d in shape), key=self.generator.next())
        return minval + u * (maxval - minval)

    def augment(self, images):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format)
        return config


def sub_seed(seed, index):
    """The seed of a layer's ``index``-th sub-layer: distinct per sub-layer, so two
    steps of one seeded layer never draw the same numbers; None stays None."""
    return None if seed is None else (seed * 1000003 + index + 1) % (2**31 - 1)



def correlate2d(images, kernel, padding):
    """``ops.image_layout.correlate2d`` (each channel with a 2-D kernel), imported
    on first use like :func:`image_ops`."""
    from ..ops.image_layout import correlate2d as correlate  # noqa: PLC0415

    return correlate(images, kernel, padding)


def sample_images(images, rows, cols, interpolation, fill_mode, fill_value):
    """A batch (N, H, W, C) read at per-image coordinates ``rows``, ``cols``
    (N, H, W): the sampler of ``ops.image.affine_transform`` (imported on first use)."""
    from ..ops.image_warp import _sample  # noqa: PLC0415

    order = INTERPOLATIONS.index(interpolation)  # nearest 0, bilinear 1
    return _sample(images, rows, cols, order, fill_mode, fill_value)


def affine_matrix(angle, translate_x, translate_y, scale, shear_x, shear_y, height, width):
    """Per image ``[a0, a1, a2, b0, b1, b2, 0, 0]`` (Keras' layout): output pixel
    ``(x, y)`` reads the input at ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``.

    The map rotates by ``angle`` and shears by ``shear_x/shear_y`` (degrees),
    scales by ``scale`` about the image centre ``((width-1)/2, (height-1)/2)``,
    then shifts by ``translate_x/translate_y`` pixels. Arguments are (N,) arrays.
    """
    radians = math.pi / 180.0
    cos_t, sin_t = mx.cos(angle * radians), mx.sin(angle * radians)
    tan_x, tan_y = mx.tan(shear_x * radians), mx.tan(shear_y * radians)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    a0 = scale * (cos_t + tan_x * sin_t)
    a1 = scale * (tan_x * cos_t - sin_t)
    b0 = scale * (sin_t + tan_y * cos_t)
    b1 = scale * (cos_t - tan_y * sin_t)
    # The centre maps onto itself (plus the translation).
    a2 = translate_x + cx - cx * a0 - cy * a1
    b2 = translate_y + cy - cx * b0 - cy * b1
    zeros = mx.zeros_like(a0)
    return mx.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def to_unit_range(images, value_range):
    """``value_range`` -> [0, 1] (no-op when it already is)."""
    low, high = value_range
    if (low, high) == (0, 1):
        return images
    return (images - low) / (high - low)


def from_unit_range(images, value_range):
    low, high = value_range
    if (low, high) == (0, 1):
        return images
    return images * (high - low) + low
