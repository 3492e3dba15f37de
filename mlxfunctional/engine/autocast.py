"""How a layer applies its dtype policy around ``call`` (mixed precision).

Keras casts a layer's floating inputs to the policy's compute dtype (here: a layer
given a policy, see ``cast_inputs``) and, while
``call`` runs, lets it read its float weights in that dtype too. Here the
weights stay ``variable_dtype`` arrays in the module dict (what MLX optimizers
update and weight files hold); for the duration of ``call`` the layer's own
dict entries are replaced by casts of them and put back afterwards. The cast
is an MLX op, so gradients flow through it to the float32 weights, inside
``nn.value_and_grad`` and compiled steps alike. A layer that assigns a weight
in ``call`` (moving statistics) keeps the new value, stored back at the
variable dtype. Nothing happens unless the policy is mixed.
"""

import contextlib

import mlx.core as mx

from .. import backend, tree


def _is_float(x):
    return isinstance(x, mx.array) and mx.issubdtype(x.dtype, mx.floating)


def cast_inputs(layer, args, kwargs):
    """``args``/``kwargs`` with their float arrays cast to the layer's compute dtype.

    As in Keras, for a layer given a policy (its ``dtype`` argument or a global
    policy): a ``Activation("softmax", dtype="float32")`` after bfloat16 layers
    returns float32. A layer left at the default policy takes its inputs as they
    come, and a model leaves the casting to the layers inside it.
    """
    policy = layer.dtype_policy
    if not (layer._convert_input_args and getattr(layer, "_autocast_inputs", False)
            and backend.is_float_dtype(policy.compute_dtype)):
        return args, kwargs
    target = backend.mlx_dtype(policy.compute_dtype)

    def convert(x):
        return x.astype(target) if _is_float(x) and x.dtype != target else x

    flat = tree.flatten((args, kwargs))
    if not any(_is_float(x) and x.dtype != target for x in flat):
        return args, kwargs  # the common case: no tree rebuilt
    return tree.map_structure(convert, args), tree.map_structure(convert, kwargs)


@contextlib.contextmanager
def compute_dtype_weights(layer):
    """While the block runs, the layer's float weights read as its compute dtype."""
    policy = layer.dtype_policy
    if not policy.is_mixed:
        yield
        return
    target = backend.mlx_dtype(policy.compute_dtype)
    swapped = {}
    for spec in layer._weight_specs:
        value = dict.get(layer, spec.key)
        if _is_float(value) and value.dtype != target:
            cast = value.astype(target)
            layer[spec.key] = cast
            swapped[spec.key] = (value, cast)
    try:
        yield
    finally:
        for key, (value, cast) in swapped.items():
            now = dict.get(layer, key)
            layer[key] = value if now is cast else now.astype(value.dtype)
