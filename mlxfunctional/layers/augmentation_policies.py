"""Augmentation policies built from the single layers: RandomColorDegeneration,
RandAugment, AugMix, and Pipeline (layers applied in order).

The random choice of operations happens on the device: every candidate runs and
``mx.where`` keeps the chosen one, so a new choice is made at every training
step inside the compiled function (a choice drawn in Python would be frozen into
it at trace time).
"""

import math

import mlx.core as mx

from .. import random as keras_random
from .. import registry
from ..engine import argument_validation as check
from ..engine import serialization
from ..engine.layer import Layer
from ..ops import image as image_ops
from .augmentation_base import BaseImageAugmentationLayer, INTERPOLATIONS, choice
from .augmentation_base import factor_range, sub_seed
from .augmentation_base import value_range as check_value_range
from .augmentation_color import RandomBrightness, RandomContrast
from .augmentation_geometric import RandomRotation, RandomShear, RandomTranslation
from .augmentation_tone import (AutoContrast, Equalization, RandomPosterization,
                                RandomSharpness, Solarization)


@registry.builtin
class RandomColorDegeneration(BaseImageAugmentationLayer):
    """Blends each image towards its grayscale version: ``x + f (gray - x)``, ``f``
    drawn per image, clipped to ``value_range``.

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair ``(lower, upper)``.
        value_range: the images' value range, ``(0, 255)`` by default.
        data_format: ``"channels_last"`` (or None).
        seed: int seed, or None.
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.value_range = check_value_range(self, value_range, sort=True)

    def augment(self, images):
        images = self.as_compute(images)
        f = self.uniform((images.shape[0], 1, 1, 1), *self.factor).astype(images.dtype)
        gray = image_ops.rgb_to_grayscale(images)
        return mx.clip(images + f * (gray - images), *self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config


# Keras' operation lists, in Keras' order (RandAugment, AugMix with all_ops).
_RAND_AUGMENT_OPS = ("random_shear", "random_translation", "random_rotation",
                     "random_brightness", "random_color_degeneration", "random_contrast",
                     "random_sharpness", "random_posterization", "solarization",
                     "auto_contrast", "equalization")
_AUGMIX_OPS = ("random_shear", "random_translation", "random_rotation",
               "random_posterization", "solarization", "auto_contrast", "equalization")
_AUGMIX_COLOR_OPS = ("random_brightness", "random_color_degeneration", "random_contrast",
                     "random_sharpness")


def _make_ops(owner, names, factor, value_range, interpolation):
    """The sub-layers of a policy as attributes of ``owner`` (their keys are then
    the policy's state), built from one factor as Keras builds them."""
    lower, upper = factor
    makers = {
        "random_shear": lambda s: RandomShear(factor, factor, interpolation=interpolation,
                                              seed=s),
        "random_translation": lambda s: RandomTranslation(factor, factor,
                                                          interpolation=interpolation, seed=s),
        "random_rotation": lambda s: RandomRotation(factor, interpolation=interpolation,
                                                    seed=s),
        "random_brightness": lambda s: RandomBrightness(factor, value_range, seed=s),
        "random_color_degeneration": lambda s: RandomColorDegeneration(factor, value_range,
                                                                       seed=s),
        "random_contrast": lambda s: RandomContrast(factor, value_range, seed=s),
        "random_sharpness": lambda s: RandomSharpness(factor, value_range, seed=s),
        "random_posterization": lambda s: RandomPosterization(max(1, int(8 * upper)),
                                                              value_range, seed=s),
        "solarization": lambda s: Solarization(factor, factor, value_range, seed=s),
        "auto_contrast": lambda s: AutoContrast(value_range),
        "equalization": lambda s: Equalization(value_range),
    }
    for index, name in enumerate(names):
        setattr(owner, name, makers[name](sub_seed(owner.seed, index)))


def _apply_one_of(owner, names, images, index):
    """``names[index]`` applied to the batch (``index`` an int array; an index past
    the list keeps the images)."""
    out = images
    for k, name in enumerate(names):
        out = mx.where(index == k, getattr(owner, name).augment(images), out)
    return out


@registry.builtin
class RandAugment(BaseImageAugmentationLayer):
    """Applies ``num_ops`` operations drawn (per batch) from Keras' list of eleven
    (shear, translation, rotation, brightness, colour degeneration, contrast,
    sharpness, posterization, solarization, auto contrast, equalization), each
    with strength ``factor``.

    Args:
        value_range: the images' value range, ``(0, 255)`` by default.
        num_ops: how many operations in a row (2).
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair: every operation's strength.
        interpolation: ``"bilinear"`` or ``"nearest"`` for the geometric ones.
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _masks = None  # (not supported: operations mix geometry and colour)

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = check_value_range(self, value_range)
        self.num_ops = check.non_negative_int(self, "num_ops", num_ops)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.interpolation = choice(self, "interpolation", interpolation, INTERPOLATIONS)
        _make_ops(self, _RAND_AUGMENT_OPS, self.factor, self.value_range, self.interpolation)

    def augment(self, images):
        images = self.as_compute(images)
        picks = mx.random.randint(0, len(_RAND_AUGMENT_OPS), (self.num_ops,),
                                  key=self.generator.next())
        for i in range(self.num_ops):
            images = _apply_one_of(self, _RAND_AUGMENT_OPS, images, picks[i])
        return images.astype(self.compute_dtype_mx)

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, num_ops=self.num_ops, factor=self.factor,
                      interpolation=self.interpolation, seed=self.seed)
        return config


@registry.builtin
class AugMix(BaseImageAugmentationLayer):
    """AugMix (Hendrycks et al. 2020): ``num_chains`` chains of up to ``chain_depth``
    random operations, mixed with Dirichlet(alpha) weights, then blended with the
    original image by a Beta(alpha, alpha) weight; clipped to ``value_range``.

    Args:
        value_range: the images' value range, ``(0, 255)`` by default.
        num_chains: number of chains (3).
        chain_depth: operations per chain (3); each step may also be skipped.
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair: the operations' strength.
        alpha: the Dirichlet and Beta parameter (> 0), 1.0.
        all_ops: also use brightness, colour degeneration, contrast and sharpness.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _masks = None  # (not supported: operations mix geometry and colour)

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3,
                 alpha=1.0, all_ops=True, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = check_value_range(self, value_range)
        self.num_chains = check.positive_int(self, "num_chains", num_chains)
        self.chain_depth = check.positive_int(self, "chain_depth", chain_depth)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        if not (check._is_real(alpha) and math.isfinite(alpha) and alpha > 0):
            raise check._error(self, "alpha", "a positive number", alpha)
        self.alpha = float(alpha)
        self.all_ops = bool(all_ops)
        self.interpolation = choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self._ops = _AUGMIX_OPS + (_AUGMIX_COLOR_OPS if self.all_ops else ())
        _make_ops(self, self._ops, self.factor, self.value_range, self.interpolation)

    def augment(self, images):
        images = self.as_compute(images)
        gammas = keras_random.gamma((self.num_chains,), self.alpha, seed=self.generator)
        chain_weights = gammas / mx.sum(gammas)  # a Dirichlet(alpha) sample
        keep = keras_random.beta((), self.alpha, self.alpha, seed=self.generator)
        # One pick per (chain, step); the value len(ops) skips the step, as Keras'
        # choice among the operations and None.
        picks = mx.random.randint(0, len(self._ops) + 1, (self.num_chains, self.chain_depth),
                                  key=self.generator.next())
        mixed = mx.zeros_like(images)
        for c in range(self.num_chains):
            chain = images
            for d in range(self.chain_depth):
                chain = _apply_one_of(self, self._ops, chain, picks[c, d])
            mixed = mixed + chain * chain_weights[c]
        out = keep * images + (1.0 - keep) * mixed
        return mx.clip(out, *self.value_range).astype(self.compute_dtype_mx)

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, num_chains=self.num_chains,
                      chain_depth=self.chain_depth, factor=self.factor, alpha=self.alpha,
                      all_ops=self.all_ops, interpolation=self.interpolation, seed=self.seed)
        return config


@registry.builtin
class Pipeline(Layer):
    """Applies ``layers`` in order (an augmentation pipeline), passing ``training``
    on to each.

    Args:
        layers: the layers, in order.
        name: the layer's name.
    """

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(l, Layer)
                                                            for l in layers):
            raise check._error(self, "layers", "a list of layers", layers)
        # A public list: the layers' keys and weights are part of this layer's state.
        self.pipeline_layers = list(layers)

    @property
    def layers(self):
        return list(self.pipeline_layers)

    def call(self, inputs, training=True):
        if training is None:
            training = True
        for layer in self.pipeline_layers:
            inputs = layer(inputs, training=training)
        return inputs

    def get_config(self):
        return {"name": self.name,
                "layers": [serialization.serialize_layer(l) for l in self.pipeline_layers]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError("`Pipeline` config must contain a `layers` key mapping to a list "
                             f"of serialized layers. Received config with layers={layers}.")
        config = dict(config)
        config["layers"] = [serialization.deserialize_layer(l, custom_objects) for l in layers]
        return cls(**config)
