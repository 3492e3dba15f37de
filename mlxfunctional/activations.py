"""Activation functions, with Keras 3 names, arguments and defaults.

Each takes an ``mx.array`` (anything ``mx.array`` accepts is converted) and
returns a lazy ``mx.array`` of the same dtype. ``get("relu")`` returns the
function; ``serialize(relu)`` returns ``"relu"``.
"""

import math

import mlx.core as mx

from mlxfunctional._resolve import deserialize_object, get_object, serialize_object

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _t(x):
    return x if isinstance(x, mx.array) else mx.array(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, as Keras documents it.

    f(x) = max_value                          for x >= max_value,
           x                                  for threshold < x < max_value,
           negative_slope * (x - threshold)   otherwise.

    Args:
        x: input.
        negative_slope: slope below the threshold.
        max_value: upper saturation value, or None for none.
        threshold: value below which the unit is inactive.
    """
    x = _t(x)
    if negative_slope == 0 and threshold == 0:
        y = mx.maximum(x, 0)
    else:
        y = mx.where(x > threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        y = mx.minimum(y, max_value)
    return y


def relu6(x):
    """min(max(x, 0), 6)."""
    return mx.clip(_t(x), 0, 6)


def leaky_relu(x, negative_slope=0.2):
    """x for x >= 0, negative_slope * x otherwise."""
    x = _t(x)
    return mx.where(x >= 0, x, negative_slope * x)


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return mx.sigmoid(_t(x))


def hard_sigmoid(x):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    return relu6(_t(x) + 3) / 6


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    return -softplus(-_t(x))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x), axis), computed stably."""
    return mx.softmax(_t(x), axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x, axis)."""
    x = _t(x)
    return x - mx.logsumexp(x, axis=axis, keepdims=True)


def tanh(x):
    """Hyperbolic tangent."""
    return mx.tanh(_t(x))


def linear(x):
    """The identity: returns x unchanged."""
    return _t(x)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    x = _t(x)
    return mx.where(x > 0, x, alpha * mx.expm1(mx.minimum(x, 0)))


def selu(x):
    """scale * elu(x, alpha), alpha = 1.67326324, scale = 1.05070098."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def celu(x, alpha=1.0):
    """max(x, 0) + alpha * min(0, exp(x / alpha) - 1)."""
    x = _t(x)
    return mx.maximum(x, 0) + alpha * mx.expm1(mx.minimum(x, 0) / alpha)


def softplus(x):
    """log(1 + exp(x)), computed stably."""
    return mx.logaddexp(_t(x), 0.0)


def softsign(x):
    """x / (1 + |x|)."""
    x = _t(x)
    return x / (1 + mx.abs(x))


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    x = _t(x)
    return x * mx.sigmoid(x)


def hard_silu(x):
    """x * hard_sigmoid(x) = x * relu6(x + 3) / 6 (also called hard_swish)."""
    x = _t(x)
    return x * hard_sigmoid(x)


def gelu(x, approximate=False):
    """Gaussian error linear unit.

    exact: 0.5 x (1 + erf(x / sqrt(2)));
    approximate: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
    """
    x = _t(x)
    if approximate:
        return 0.5 * x * (1 + mx.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + mx.erf(x / math.sqrt(2)))


def exponential(x):
    """exp(x)."""
    return mx.exp(_t(x))


def mish(x):
    """x * tanh(softplus(x))."""
    x = _t(x)
    return x * mx.tanh(softplus(x))


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return mx.clip(_t(x), -1, 1)


def tanh_shrink(x):
    """x - tanh(x)."""
    x = _t(x)
    return x - mx.tanh(x)


def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0."""
    x = _t(x)
    return mx.where(x > threshold, x - threshold, mx.where(x < -threshold, x + threshold, 0))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = _t(x)
    return mx.where(mx.abs(x) > threshold, x, 0)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    x = _t(x)
    return (x + mx.sqrt(x * x + b)) / 2


def glu(x, axis=-1):
    """Gated linear unit: splits x in halves a, b along ``axis``; a * sigmoid(b)."""
    a, b = mx.split(_t(x), 2, axis=axis)
    return a * mx.sigmoid(b)


swish = silu
hard_swish = hard_silu

_FUNCTIONS = (relu, relu6, leaky_relu, sigmoid, hard_sigmoid, log_sigmoid, softmax,
              log_softmax, tanh, linear, elu, selu, celu, softplus, softsign, silu,
              hard_silu, gelu, exponential, mish, hard_tanh, tanh_shrink, soft_shrink,
              hard_shrink, squareplus, glu)
ALL_OBJECTS = {fn.__name__: fn for fn in _FUNCTIONS}
ALL_OBJECTS.update({"swish": silu, "hard_swish": hard_silu})


def serialize(activation):
    """Function -> its name (``"relu"``; ``swish`` -> ``"silu"``, custom -> registered name)."""
    if activation in _FUNCTIONS:
        return activation.__name__
    return serialize_object(activation, "activation")


def deserialize(config, custom_objects=None):
    """A name (or ``{"class_name": ..., "config": ...}`` dict) -> the activation."""
    return deserialize_object(config, ALL_OBJECTS, custom_objects, "activation")


def get(identifier):
    """None -> linear; a name, dict or callable -> the activation callable."""
    if identifier is None:
        return linear
    return get_object(identifier, ALL_OBJECTS, "activation")
