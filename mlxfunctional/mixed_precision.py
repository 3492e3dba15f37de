"""``keras.mixed_precision``: compute in 16 bits, keep float32 weights.

``set_global_policy("mixed_bfloat16")`` before building a model makes its layers
compute in bfloat16 while their weights stay float32 (``dtype_policies.py``).
bfloat16 has float32's exponent range and needs no loss scaling; float16 may
underflow small gradients, which Keras counters with a ``LossScaleOptimizer``
that this package does not provide: prefer ``"mixed_bfloat16"``.
"""

from .dtype_policies import (DTypePolicy, dtype_policy, get, set_dtype_policy)

Policy = DTypePolicy  # the tf.keras 2 name


def global_policy():
    """The global dtype policy (``floatx()`` in both roles unless one was set)."""
    return dtype_policy()


def set_global_policy(policy):
    """Sets the dtype policy of layers created from now on.

    Args:
        policy: ``"mixed_float16"``, ``"mixed_bfloat16"``, ``"float32"`` (or any dtype
            name), a ``DTypePolicy``, or None for the default.
    """
    policy = None if policy is None else get(policy)
    if policy is not None and policy.variable_dtype not in ("float16", "bfloat16", "float32",
                                                            "float64"):
        raise ValueError(f"set_global_policy: the policy's variable dtype must be a float "
                         f"dtype. Received: {policy.name!r}")
    set_dtype_policy(policy)


__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]
