"""Dtype policies (``keras.dtype_policies``, ``keras.mixed_precision``): in which
dtype a layer computes and in which it keeps its weights.

``"mixed_bfloat16"`` and ``"mixed_float16"`` compute in 16 bits with float32
weights: the matmuls and convolutions run at half the memory traffic while the
optimizer's small updates still accumulate in float32. A layer applies its
policy in ``engine/autocast.py``. The global policy, which layers created
without a ``dtype`` take, lives in ``global_state.dtype_policy``.
"""

from . import backend, global_state, registry

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


@registry.builtin
class DTypePolicy:
    """A dtype policy: ``compute_dtype`` for the computation, ``variable_dtype`` for
    the weights.

    Args:
        name: ``"mixed_float16"``, ``"mixed_bfloat16"``, or a dtype name
            (``"float32"``, ``"bfloat16"``...) used for both; ``None`` is ``floatx()``.
    """

    def __init__(self, name=None):
        if name is None:
            name = backend.floatx()
        if not isinstance(name, str):
            raise TypeError(f"DTypePolicy: `name` must be a string such as 'mixed_bfloat16' "
                            f"or 'float32'. Received: name={name!r}")
        if name in _MIXED:
            compute, variable = _MIXED[name], "float32"
        else:
            try:
                compute = variable = backend.standardize_dtype(name)
            except ValueError:
                raise ValueError(
                    f"Cannot convert {name!r} to a dtype policy. Expected 'mixed_float16', "
                    f"'mixed_bfloat16' or a dtype name such as 'float32'.") from None
        self._name = name
        self._compute_dtype = compute
        self._variable_dtype = variable

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        """The dtype of the layer's computations and outputs."""
        return self._compute_dtype

    @property
    def variable_dtype(self):
        """The dtype of the layer's weights."""
        return self._variable_dtype

    @property
    def is_mixed(self):
        return self._compute_dtype != self._variable_dtype

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


FloatDTypePolicy = DTypePolicy  # Keras' older name for the same class


def get(identifier):
    """A ``DTypePolicy`` from a policy, a name, a dtype, a config dict or None (global)."""
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return DTypePolicy.from_config(identifier.get("config", identifier))
    if not isinstance(identifier, str):
        identifier = backend.standardize_dtype(identifier)
    return DTypePolicy(identifier)


def serialize(policy):
    return {"class_name": "DTypePolicy", "config": policy.get_config()}


def deserialize(config, custom_objects=None):
    return get(config)


def dtype_policy():
    """The global policy (``keras.config.dtype_policy``): the one set with
    ``set_dtype_policy``, else ``floatx()`` in both roles."""
    return global_state.dtype_policy or DTypePolicy(backend.floatx())


def set_dtype_policy(policy):
    """Sets the policy of layers created from now on without a ``dtype``.

    Args:
        policy: a ``DTypePolicy``, a name (``"mixed_bfloat16"``) or None to go back
            to ``floatx()``.
    """
    global_state.dtype_policy = None if policy is None else get(policy)
