"""Image preprocessing layers that run inside the model: Resizing, CenterCrop.

Both call ``ops.image.resize`` (half-pixel resampling as ``jax.image.resize``,
which Keras' JAX backend uses). Layout is channels-last.
"""

from .. import backend, registry
from ..engine import argument_validation as check
from ..engine.layer import Layer
from ..ops import image_resize
from . import categorical
from .regularization import _channels_last



# (the ops module's list, repeated: reading it would import the ops package)
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


def _images(layer, inputs):
    if inputs.ndim not in (3, 4):
        raise ValueError(f'Layer "{layer.name}" takes images (height, width, channels) or '
                         f"batches of them; received shape {tuple(inputs.shape)}.")
    return inputs


@registry.builtin
class Resizing(Layer):
    """Resizes images to ``(height, width)``.

    Args:
        height / width: the output size.
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"area"``,
            ``"lanczos3"`` or ``"lanczos5"``.
        crop_to_aspect_ratio: first crop the centred largest window of the target's
            aspect ratio (no distortion).
        pad_to_aspect_ratio: first pad the short side evenly with ``fill_value``
            to the target's aspect ratio.
        fill_mode: ``"constant"`` (the only padding Keras implements).
        fill_value: the padding value (``0.0``).
        antialias: low-pass filter when downsampling.
        data_format: ``"channels_last"`` only.

    Integer images are rounded and saturated back to their dtype.
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = check.positive_int(self, "height", height)
        self.width = check.positive_int(self, "width", width)
        self.interpolation = categorical.choice(self, "interpolation", interpolation,
                                                _INTERPOLATIONS)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of crop_to_aspect_ratio and "
                             "pad_to_aspect_ratio can be True.")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = categorical.choice(self, "fill_mode", fill_mode, ("constant",))
        self.fill_value = check.real(self, "fill_value", fill_value)
        self.antialias = bool(antialias)
        self.data_format = _channels_last(data_format)

    def call(self, inputs):
        return image_resize.resize(
            _images(self, inputs), (self.height, self.width), interpolation=self.interpolation,
            antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
            fill_value=self.fill_value, data_format=self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width, interpolation=self.interpolation,
                      crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                      pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                      fill_value=self.fill_value, antialias=self.antialias,
                      data_format=self.data_format)
        return config


@registry.builtin
class CenterCrop(Layer):
    """Crops the central ``(height, width)`` window of images; an image smaller than
    that on either side is instead cropped to the target's aspect ratio and
    resized bilinearly (Keras' ``smart_resize``).

    Args:
        height / width: the output size.
        data_format: ``"channels_last"`` only.

    Outputs are in the layer's float dtype, as in Keras.
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = check.positive_int(self, "height", height)
        self.width = check.positive_int(self, "width", width)
        self.data_format = _channels_last(data_format)

    def call(self, inputs):
        images = _images(self, inputs).astype(backend.mlx_dtype(self.compute_dtype))
        height, width = images.shape[-3], images.shape[-2]
        dh, dw = height - self.height, width - self.width
        if dh >= 0 and dw >= 0:
            top, left = dh // 2, dw // 2
            return images[..., top:top + self.height, left:left + self.width, :]
        return image_resize.resize(images, (self.height, self.width), interpolation="bilinear",
                                   crop_to_aspect_ratio=True)

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width, data_format=self.data_format)
        return config
