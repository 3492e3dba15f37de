"""EinsumDense: a dense layer whose contraction is written as an einsum equation.

``EinsumDense("abc,cde->abde", output_shape=(None, 4, 8))`` projects
``(batch, seq, 16)`` inputs to ``(batch, seq, 4, 8)`` with a kernel of shape
``(16, 4, 8)``: the layout MultiHeadAttention's projections use. The weight
shapes are read from the equation, the input shape and the declared output
shape (``parse_equation``), as Keras does.
"""

import math
import re

import mlx.core as mx

from .. import initializers
from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry
from . import common

# "abc,cd->abd", "...b,bc->...c" (leading dims elided) or "ab...,bc->ac..." (trailing).
_FORMS = (
    (re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$"), None),
    (re.compile(r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$"), "left"),
    (re.compile(r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$"), "right"),
)


class EinsumSpec:
    """What an equation means for one input shape.

    Attributes: ``kernel_shape``; ``bias_shape`` (None without ``bias_axes``);
    ``output_shape`` (the full output shape, batch first, None where unknown);
    ``input_axes`` / ``output_axes``: the kernel axes shared with the input /
    the output (they give the kernel's fan-in and fan-out).
    """

    def __init__(self, equation, bias_axes, input_shape, partial_output_shape):
        for pattern, elided_side in _FORMS:
            match = pattern.match(str(equation).replace(" ", ""))
            if match:
                break
        else:
            raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the "
                             "form [X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
        in_spec, w_spec, out_spec = match.groups()
        input_shape = tuple(input_shape)
        elided = len(input_shape) - len(in_spec)
        if elided < 0 or (elided > 0 and elided_side is None):
            raise ValueError(f"The einsum equation '{equation}' expects inputs of rank "
                             f"{len(in_spec)}; received input shape {input_shape}.")
        # The batch dimension is always the input's first; elided dimensions are
        # copied from the input, before or after the declared ones.
        output = [input_shape[0]] + list(partial_output_shape)
        if elided_side == "left":
            output[1:1] = input_shape[1:elided]
        elif elided_side == "right":
            output += input_shape[len(input_shape) - elided:]
        offset = elided if elided_side == "left" else 0
        if len(output) - (elided if elided_side == "right" else 0) - offset != len(out_spec):
            raise ValueError(f"EinsumDense: output_shape {tuple(partial_output_shape)} does not "
                             f"fit the output '{out_spec}' of the equation '{equation}'.")
        in_dim = {c: input_shape[offset + i] for i, c in enumerate(in_spec)}
        out_pos = {c: offset + i for i, c in enumerate(out_spec)}
        for c in out_spec:
            if c in in_dim:
                if output[out_pos[c]] is not None and in_dim[c] is not None \
                        and output[out_pos[c]] != in_dim[c]:
                    raise ValueError(
                        f"Input shape and output shape do not match at shared dimension "
                        f"'{c}'. Input shape is {in_dim[c]}, and output shape is "
                        f"{output[out_pos[c]]}.")
                output[out_pos[c]] = in_dim[c]
            elif c not in w_spec:
                raise ValueError(f"Dimension '{c}' was specified in the output '{out_spec}' "
                                 f"but appears in neither the input '{in_spec}' nor the "
                                 f"kernel '{w_spec}'.")
        kernel, self.input_axes, self.output_axes = [], [], []
        for i, c in enumerate(w_spec):
            if c in in_dim:
                kernel.append(in_dim[c])
                self.input_axes.append(i)
            elif c in out_pos:
                kernel.append(output[out_pos[c]])
                self.output_axes.append(i)
            else:
                raise ValueError(f"Weight dimension '{c}' appears in neither the input "
                                 f"'{in_spec}' nor the output '{out_spec}'; the kernel must "
                                 "be fully specified.")
            if kernel[-1] is None:
                raise ValueError(f"Weight dimension '{c}' of '{equation}' has an unknown size; "
                                 "declare it in output_shape or the input shape.")
        self.kernel_shape = tuple(int(d) for d in kernel)
        self.output_shape = tuple(output)
        self.bias_shape = None
        if bias_axes:
            for c in bias_axes:
                if c not in out_spec:
                    raise ValueError(f"Bias dimension '{c}' was requested, but is not part of "
                                     f"the output spec '{out_spec}'")
            # The bias spans the output from its first biased axis to the end, with
            # size 1 on the unbiased axes between (it broadcasts).
            first = min(out_spec.index(c) for c in bias_axes)
            self.bias_shape = tuple(output[out_pos[c]] if c in bias_axes else 1
                                    for c in out_spec[first:])
            if elided_side == "right":
                self.bias_shape += (1,) * elided
        # A plain projection (the input's last letters contracted with the kernel's
        # first ones, the rest appended) is a reshape and one matmul.
        self.matmul_split = None
        if elided_side != "right":
            for k in range(1, len(w_spec) + 1):
                bound, free_w = w_spec[:k], w_spec[k:]
                if in_spec.endswith(bound) and out_spec == in_spec[:-k] + free_w \
                        and not set(free_w) & set(in_spec):
                    self.matmul_split = k
                    break


def _fan_initializer(initializer, spec):
    """Keras computes a VarianceScaling kernel's fans from the equation's axes (fan-in:
    the contracted dims, fan-out: the produced ones), not from the last two dims: a
    (d_model, heads, key_dim) kernel draws as a (d_model, heads * key_dim) matrix."""
    if not isinstance(initializer, initializers.VarianceScaling):
        return initializer
    fan_in = math.prod(spec.kernel_shape[i] for i in spec.input_axes)
    fan_out = math.prod(spec.kernel_shape[i] for i in spec.output_axes)

    def draw(shape, dtype=None):
        # i.i.d. draws: sampling the 2-D matrix and reshaping has the same distribution.
        return mx.reshape(mx.array(initializer((fan_in, fan_out), dtype=dtype)), shape)

    return draw


@registry.builtin
class EinsumDense(Layer):
    """A dense layer given as an einsum: ``activation(einsum(equation, inputs, kernel) + bias)``.

    Args:
        equation: ``"<input>,<kernel>-><output>"`` in letters, optionally with
            ``...`` on the input and output side (``"...b,bc->...c"``).
        output_shape: the output shape without the batch dimension (an int for
            one dimension); None where it comes from the input.
        activation: activation name or function (none by default).
        bias_axes: letters of the output that have a bias (None: no bias).
        kernel_initializer / bias_initializer: ``"glorot_uniform"`` / ``"zeros"``.
        kernel_regularizer / bias_regularizer / activity_regularizer: regularizers.
        kernel_constraint / bias_constraint: constraints.
        lora_rank, lora_alpha: accepted as None only (no LoRA here).

    Weights: ``kernel`` (shape read from the equation), then ``bias``.
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, activity_regularizer=None,
                 **kwargs):
        kwargs.pop("quantization_config", None)
        kwargs.pop("gptq_unpacked_column_size", None)
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise ValueError(f"EinsumDense: equation must be a string; received "
                             f"equation={equation!r}")
        self.equation = equation
        dims = (output_shape,) if check.is_integer(output_shape) else check.as_tuple(output_shape)
        if dims is None or not all(d is None or (check.is_integer(d) and d > 0) for d in dims):
            raise ValueError("EinsumDense: output_shape must be a positive integer or a tuple of "
                             f"positive integers or None; received output_shape={output_shape!r}")
        self.partial_output_shape = tuple(None if d is None else int(d) for d in dims)
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise ValueError(f"EinsumDense: bias_axes must be a string of output letters or "
                             f"None; received bias_axes={bias_axes!r}")
        self.bias_axes = bias_axes or None
        if lora_rank:
            raise NotImplementedError("EinsumDense: LoRA (lora_rank) is not supported.")
        common.set_objects(
            self, activation=activation, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self._spec = None

    def build(self, input_shape):
        spec = EinsumSpec(self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        self._spec = spec
        self.kernel = common.add_weight(
            self, "kernel", spec.kernel_shape,
            initializer=_fan_initializer(self.kernel_initializer, spec))
        if spec.bias_shape is not None:
            self.bias = common.add_weight(self, "bias", spec.bias_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))
        self.built = True

    @property
    def use_bias(self):
        return self.bias_axes is not None

    def call(self, inputs):
        spec = self._spec
        if spec is None:  # (a layer marked built without its build having run)
            spec = self._spec = EinsumSpec(self.equation, self.bias_axes, inputs.shape,
                                           self.partial_output_shape)
        kernel = self["kernel"]
        if spec.matmul_split is not None:
            # The same contraction as the einsum, as one matmul (MLX's einsum picks
            # its own path; this one is the fastest on both devices).
            k = spec.matmul_split
            bound = kernel.shape[:k]
            free = kernel.shape[k:]
            lead = inputs.shape[:inputs.ndim - k]
            x = inputs.reshape(*lead, math.prod(bound)) @ kernel.reshape(math.prod(bound), -1)
            x = x.reshape(*lead, *free)
        else:
            x = mx.einsum(self.equation, inputs, kernel)
        return common.bias_activation(self, x)

    def get_config(self):
        config = super().get_config()
        config.update(output_shape=list(self.partial_output_shape), equation=self.equation)
        config.update(common.config_values(
            self, "activation", "bias_axes", "kernel_initializer", "bias_initializer",
            "kernel_regularizer", "bias_regularizer", "activity_regularizer",
            "kernel_constraint", "bias_constraint"))
        return config
