"""Non-affine warps: RandomPerspective and RandomElasticTransform."""

import mlx.core as mx

from .. import registry
from ..engine import argument_validation as check
from ..ops import image as image_ops
from .augmentation_base import FILL_MODES, INTERPOLATIONS, BaseImageAugmentationLayer
from .augmentation_base import choice, factor_range, sample_images
from .augmentation_base import value_range as check_value_range


@registry.builtin
class RandomPerspective(BaseImageAugmentationLayer):
    """Moves each image's corners, with a probability drawn per image in the factor's
    range: corner ``p`` goes to ``p + p * u``, ``u`` uniform in ``[-scale/2, scale/2]``
    per coordinate (so the top-left corner stays, as in Keras), and the image is
    warped by the homography between the two quadrilaterals.

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair: the probability's range.
        scale: the size of the corner moves, in [0, 1] (1.0).
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_value: the value of points outside the image (0.0).
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _masks = "follow"

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.scale = check.rate(self, "scale", scale, include_one=True)
        self.interpolation = choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self.fill_value = check.real(self, "fill_value", fill_value)

    def augment(self, images):
        images = self.as_compute(images)
        n, h, w, _ = images.shape
        probability = self.uniform((n,), *self.factor)
        apply = self.uniform((n,)) < probability
        moves = self.uniform((n, 4, 2), -0.5 * self.scale, 0.5 * self.scale)
        corners = mx.array([[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]])
        start = mx.broadcast_to(corners, (n, 4, 2))
        warped = image_ops.perspective_transform(
            images, start, start + start * moves, interpolation=self.interpolation,
            fill_value=self.fill_value)
        return mx.where(apply[:, None, None, None], warped, images)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, scale=self.scale, interpolation=self.interpolation,
                      fill_value=self.fill_value, seed=self.seed)
        return config


@registry.builtin
class RandomElasticTransform(BaseImageAugmentationLayer):
    """Elastic distortion, with a probability drawn per image in the factor's range:
    each pixel moves by ``alpha`` times Gaussian noise smoothed by a Gaussian of
    ``sigma``, where ``alpha = 0.1 d max(H, W)``, ``sigma = 0.05 d min(H, W)`` and
    the distortion ``d`` is drawn per batch in ``scale``. Clipped to ``value_range``.

    The smoothing kernel spans ``+-3 sigma`` of the largest ``d`` (its size must be
    known when the step is traced); a smaller drawn sigma uses the same support.

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair: the probability's range.
        scale: ``s`` in [0, 1] for ``(0, s)``, or a pair: the range of ``d``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_mode: ``"reflect"`` (default), ``"wrap"``, ``"constant"``, ``"nearest"``
            or ``"mirror"``.
        fill_value: the value of outside points with ``fill_mode="constant"``.
        value_range: the images' value range, ``(0, 255)`` by default.
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _masks = "follow"

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.scale = factor_range(self, "scale", scale, 0, 1)
        self.interpolation = choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self.fill_mode = choice(self, "fill_mode", fill_mode, FILL_MODES + ("mirror",))
        self.fill_value = check.real(self, "fill_value", fill_value)
        self.value_range = check_value_range(self, value_range)

    def augment(self, images):
        images = self.as_compute(images)
        if self.scale[1] == 0 or self.factor[1] == 0:
            return images
        n, h, w, _ = images.shape
        probability = self.uniform((n,), *self.factor)
        apply = self.uniform((n,)) < probability
        d = self.uniform((), *self.scale)
        alpha, sigma = 0.1 * d * max(h, w), 0.05 * d * min(h, w)
        size = int(6 * 0.05 * self.scale[1] * min(h, w)) | 1  # odd, static
        fields = []
        for _ in range(2):
            noise = mx.random.normal((n, h, w, 1), key=self.generator.next()) * sigma
            smooth = image_ops.gaussian_blur(noise, (size, size), (sigma, sigma))
            fields.append(alpha * smooth[..., 0])
        rows = mx.arange(h, dtype=mx.float32)[None, :, None] + fields[1]
        cols = mx.arange(w, dtype=mx.float32)[None, None, :] + fields[0]
        warped = sample_images(images, rows, cols, self.interpolation, self.fill_mode,
                               self.fill_value)
        out = mx.where(apply[:, None, None, None], warped, images)
        return mx.clip(out, *self.value_range).astype(self.compute_dtype_mx)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, scale=self.scale, interpolation=self.interpolation,
                      fill_mode=self.fill_mode, fill_value=self.fill_value,
                      value_range=self.value_range, seed=self.seed)
        return config
