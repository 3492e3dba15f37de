"""Wrapper (the base of layers that wrap one layer) and SpectralNormalization."""

import inspect

import mlx.core as mx

from .. import initializers
from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry


@registry.builtin
class Wrapper(Layer):
    """Base class of layers that add behaviour to another layer.

    Args:
        layer: the wrapped ``Layer``; it is built with the wrapper's input shape
            and its weights are the wrapper's.

    Subclasses write ``call``. The config holds the wrapped layer's config.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: layer must be a Layer instance; "
                             f"received layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        self.layer._maybe_build(input_shape)
        self.built = True

    def get_config(self):
        config = super().get_config()
        config["layer"] = {"class_name": registry.get_registered_name(type(self.layer)),
                           "config": self.layer.get_config()}
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = config.pop("layer")
        inner_cls = registry.get_registered_object(inner["class_name"], custom_objects)
        if inner_cls is None:
            raise registry.unknown_object_error(inner["class_name"], "layer")
        if "custom_objects" in inspect.signature(inner_cls.from_config).parameters:
            layer = inner_cls.from_config(inner["config"], custom_objects=custom_objects)
        else:
            layer = inner_cls.from_config(inner["config"])
        return cls(layer, **config)


def _l2_normalize(x, epsilon=1e-7):
    """``x / ||x||`` over all entries; a zero vector stays zero (1/||x|| capped at 1/eps)."""
    return x * mx.minimum(mx.rsqrt(mx.sum(mx.square(x))), 1.0 / epsilon)


@registry.builtin
class SpectralNormalization(Wrapper):
    """Divides the wrapped layer's kernel by its largest singular value, estimated
    by power iteration, so that the layer is about 1-Lipschitz (GAN critics).

    Args:
        layer: a layer with a ``kernel`` (Dense, Conv*...) or ``embeddings``
            (Embedding) weight.
        power_iterations: power-iteration steps per training call (1).

    With ``W`` the kernel as a ``(-1, units)`` matrix and ``u`` the non-trainable
    ``vector_u`` ``(1, units)``, a training call runs ``power_iterations`` times
    ``v = normalize(u W^T)``, ``u = normalize(v W)``, then ``sigma = v W u^T`` and
    stores ``u`` and ``kernel / sigma`` before calling the layer (an all-zero
    kernel is left as it is). As in Keras the stored kernel itself is replaced,
    and an inference call uses it as stored. The gradient flows through
    ``kernel / sigma`` to the kernel, with ``u`` and ``v`` held constant.

    Weights in Keras' order: ``kernel``, ``vector_u``, then the layer's others.
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        self.power_iterations = check.positive_int(self, "power_iterations", power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        name = next((n for n in ("kernel", "embeddings") if n in self.layer._weight_keys), None)
        if name is None:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' "
                             "nor 'embeddings'")
        self._kernel_name = name
        kernel = self._kernel()
        self.vector_u = self.add_weight(
            shape=(1, kernel.shape[-1]), name="vector_u", trainable=False,
            initializer=initializers.TruncatedNormal(stddev=0.02), dtype=kernel.dtype)
        self.built = True

    def _kernel(self):
        """The wrapped layer's kernel as a ``Variable`` (in Keras' layout)."""
        return getattr(self.layer, self._kernel_name)

    def normalized_weights(self):
        """``(new vector_u, kernel / sigma)`` from the current kernel and ``vector_u``."""
        kernel = self._kernel().value
        w = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u
        for _ in range(self.power_iterations):
            v = _l2_normalize(u @ w.T)
            u = _l2_normalize(v @ w)
        u, v = mx.stop_gradient(u), mx.stop_gradient(v)
        sigma = (v @ w) @ u.T  # (1, 1): the largest singular value's estimate
        return u.astype(self.vector_u.dtype), (kernel / sigma).astype(kernel.dtype)

    def call(self, inputs, training=None):
        if training:
            kernel = self._kernel()
            u, normalized = self.normalized_weights()
            # An all-zero kernel has sigma 0: keep it (and u) instead of dividing by 0.
            zero = mx.all(kernel.value == 0)
            self.vector_u = mx.where(zero, self.vector_u, u)
            kernel.assign(mx.where(zero, kernel.value, normalized))
        outputs = self.layer(inputs)
        # Keras casts to the input dtype; integer ids (Embedding) keep the float output.
        if mx.issubdtype(inputs.dtype, mx.floating):
            outputs = outputs.astype(inputs.dtype)
        return outputs

    def _collect(self, out, seen, want, parent_trainable):
        # Keras tracks the wrapped kernel as one of the wrapper's own trainable
        # weights (build assigns it to an attribute), so it comes first, before
        # vector_u; the wrapped layer then lists its other weights.
        layer = getattr(self, "layer", None)
        spec = layer._weight_keys.get(getattr(self, "_kernel_name", None)) if layer else None
        if spec is not None:
            is_trainable = parent_trainable and self._trainable and layer._trainable \
                and spec.trainable
            value = layer[spec.key]
            if (want is None or want == is_trainable) and id(value) not in seen:
                seen.add(id(value))
                out.append((layer, spec))
        super()._collect(out, seen, want, parent_trainable)

    def get_config(self):
        config = super().get_config()
        config["power_iterations"] = self.power_iterations
        return config
