"""Recurrent cells: SimpleRNNCell, GRUCell, LSTMCell (one timestep each).

A cell is a Layer called as ``cell(inputs, states, training=None)`` on one
timestep ``(batch, features)`` and returning ``(output, new_states)``. Its
weights are Keras': ``kernel (features, k * units)``, ``recurrent_kernel
(units, k * units)`` and ``bias``, gates in Keras' order (LSTM ``[i, f, c, o]``,
GRU ``[z, r, h]``), so weights copied from Keras reproduce Keras' outputs.

``call`` is ``step(project_inputs(inputs), states)``. The ``RNN`` layer uses
the two halves separately: ``project_inputs`` once on the whole sequence
(one matmul for all timesteps) and only ``step`` inside the loop over time.
"""

import mlx.core as mx

from .. import activations
from ..engine import argument_validation as check
from ..engine.layer import Layer
from .. import registry
from . import common

# The arguments every cell takes, in Keras' config order (SimpleRNNCell's config).
CELL_ARGS = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
             "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
             "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
             "dropout", "recurrent_dropout", "seed")


def check_cell_args(owner, units, dropout, recurrent_dropout, seed):
    """The checked ``units, dropout, recurrent_dropout, seed`` of a cell (or of the
    layer ``owner`` that makes one, so that errors name the layer the user wrote).

    Keras documents the rates in [0, 1] and silently clips values outside; they are
    errors here. At 1 Keras (and these cells) apply no dropout at all.
    """
    return (check.positive_int(owner, "units", units),
            check.rate(owner, "dropout", dropout, include_one=True),
            check.rate(owner, "recurrent_dropout", recurrent_dropout, include_one=True),
            check.seed(owner, seed))


def _broadcast_to_rank(mask, ndim):
    """A ``(batch, features)`` dropout mask for ``(batch, [time,] features)`` inputs."""
    return mask.reshape((mask.shape[0],) + (1,) * (ndim - 2) + (mask.shape[-1],))


class _RNNCell(Layer):
    """Arguments, weights and dropout shared by the three cells.

    ``_gates`` is k, the number of ``units``-wide blocks of the kernels.
    """

    _gates = 1

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer,
                 bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                 kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                 recurrent_dropout, seed, **kwargs):
        kwargs.pop("implementation", None)  # Keras' kernel-fusion switch; one path here
        super().__init__(**kwargs)
        units, dropout, recurrent_dropout, seed = check_cell_args(
            self, units, dropout, recurrent_dropout, seed)
        self.units = units
        self.use_bias = bool(use_bias)
        common.set_objects(
            self, activation=activation, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        if seed is not None:
            # Private array: outside parameters() but inside the module state, so
            # a compiled step capturing `model.state` advances the key stream.
            self._seed_state = mx.random.key(seed)
        self.state_size = units
        self.output_size = units

    # -- weights --------------------------------------------------------------
    def _build_kernels(self, input_shape, bias_shape, bias_initializer=None):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}" needs a known last input dimension; '
                             f"received input shape {tuple(input_shape)}.")
        width = self._gates * self.units
        self.kernel = common.add_weight(self, "kernel", (input_dim, width))
        self.recurrent_kernel = common.add_weight(self, "recurrent_kernel", (self.units, width),
                                                  arg="recurrent")
        if self.use_bias:
            self.bias = common.add_weight(self, "bias", bias_shape, initializer=bias_initializer)
        self.built = True

    def _input_bias(self):
        return self["bias"] if self.use_bias else None

    def get_initial_state(self, batch_size=None, dtype=mx.float32):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [mx.zeros((batch_size, s), dtype=dtype) for s in sizes]

    # -- dropout --------------------------------------------------------------
    def _next_key(self):
        if self.seed is None:
            return None
        self._seed_state, key = mx.random.split(self._seed_state)
        return key

    def _masks(self, rate, batch, size, count, dtype):
        if not 0.0 < rate < 1.0:  # Keras applies no dropout at rate 1 either
            return None
        keep = mx.random.bernoulli(1.0 - rate, (count, batch, size), key=self._next_key())
        return list(keep.astype(dtype) / (1.0 - rate))

    def dropout_masks(self, batch, input_dim, training, dtype=mx.float32):
        """``(input_masks, recurrent_masks)``, each None or a list of ``(batch, size)``
        masks of kept units scaled by ``1 / (1 - rate)``.

        Sampled once per sequence, as Keras. With ``recurrent_dropout`` a gated cell
        draws one mask per gate (Keras' ``implementation=1``); otherwise one input
        mask serves all gates.
        """
        if not training:
            return None, None
        count = self._gates if self.recurrent_dropout > 0 else 1
        return (self._masks(self.dropout, batch, input_dim, count, dtype),
                self._masks(self.recurrent_dropout, batch, self.units, count, dtype))

    # -- computation ----------------------------------------------------------
    def project_inputs(self, inputs, input_masks=None):
        """``inputs @ kernel + input_bias`` for ``(batch, [time,] features)`` inputs."""
        if input_masks is None:
            x = inputs @ self["kernel"]
        elif len(input_masks) == 1:
            x = (inputs * _broadcast_to_rank(input_masks[0], inputs.ndim)) @ self["kernel"]
        else:  # a dropped-out copy of the inputs per gate
            kernels = mx.split(self["kernel"], self._gates, axis=1)
            x = mx.concatenate([(inputs * _broadcast_to_rank(m, inputs.ndim)) @ k
                                for m, k in zip(input_masks, kernels)], axis=-1)
        bias = self._input_bias()
        return x if bias is None else x + bias

    def _recurrent(self, h, kernel, masks):
        """``h @ kernel``, with ``h`` dropped out per gate when masks are given."""
        if masks is None:
            return h @ kernel
        kernels = mx.split(kernel, len(masks), axis=1)
        return mx.concatenate([(h * m) @ k for m, k in zip(masks, kernels)], axis=-1)

    def call(self, inputs, states, training=None):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        input_masks, recurrent_masks = self.dropout_masks(
            inputs.shape[0], inputs.shape[-1], training, inputs.dtype)
        return self.step(self.project_inputs(inputs, input_masks), states, recurrent_masks)

    def get_config(self):
        config = super().get_config()
        config.update(common.config_values(self, *CELL_ARGS))
        return config


@registry.builtin
class SimpleRNNCell(_RNNCell):
    """Fully-connected recurrent cell: ``h = activation(x @ kernel + bias + h_prev @
    recurrent_kernel)``; the output is ``h``.

    Args:
        units: size of the output and of each state.
        activation: ``"tanh"`` by default (None: linear).
        use_bias: whether the cell has a bias.
        kernel_initializer: ``"glorot_uniform"``; recurrent_initializer:
            ``"orthogonal"``; bias_initializer: ``"zeros"``.
        kernel/recurrent/bias_regularizer, kernel/recurrent/bias_constraint.
        dropout: fraction of the input units dropped (training only), in [0, 1].
        recurrent_dropout: fraction of the state units dropped, in [0, 1].
        seed: int for a reproducible stream of dropout masks, or None.

    Weights: ``kernel (features, units)``, ``recurrent_kernel (units, units)``,
    ``bias (units,)``.
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, seed, **kwargs)

    def build(self, input_shape):
        self._build_kernels(input_shape, (self.units,))

    def step(self, x, states, recurrent_masks=None):
        """One timestep from the projected input ``x = inputs @ kernel + bias``."""
        h_prev = states[0]
        h = self.activation(x + self._recurrent(h_prev, self["recurrent_kernel"], recurrent_masks))
        return h, [h]


@registry.builtin
class GRUCell(_RNNCell):
    """Gated recurrent unit cell, Keras' gate order ``[z, r, h]``::

        z = recurrent_activation(x_z + h_prev @ U_z + b_z)       # update gate
        r = recurrent_activation(x_r + h_prev @ U_r + b_r)       # reset gate
        reset_after=True:  hh = activation(x_h + r * (h_prev @ U_h + rb_h))
        reset_after=False: hh = activation(x_h + (r * h_prev) @ U_h)
        h = z * h_prev + (1 - z) * hh

    where ``x_g = inputs @ kernel_g + input_bias_g``.

    Args:
        units: size of the output and of each state.
        activation: ``"tanh"`` by default (None: linear).
        use_bias: whether the cell has a bias.
        kernel_initializer: ``"glorot_uniform"``; recurrent_initializer:
            ``"orthogonal"``; bias_initializer: ``"zeros"``.
        kernel/recurrent/bias_regularizer, kernel/recurrent/bias_constraint.
        dropout: fraction of the input units dropped (training only), in [0, 1].
        recurrent_dropout: fraction of the state units dropped, in [0, 1].
        seed: int for a reproducible stream of dropout masks, or None.
        recurrent_activation: ``"sigmoid"`` by default.
        reset_after: apply the reset gate after the recurrent matmul (True, the
            cuDNN convention, with separate input and recurrent biases) or before.

    Weights: ``kernel (features, 3 * units)``, ``recurrent_kernel (units, 3 * units)``,
    ``bias``: ``(2, 3 * units)`` (input bias row 0, recurrent bias row 1) with
    ``reset_after=True``, else ``(3 * units,)``.
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def build(self, input_shape):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._build_kernels(input_shape, shape)

    def _input_bias(self):
        if not self.use_bias:
            return None
        return self["bias"][0] if self.reset_after else self["bias"]

    def step(self, x, states, recurrent_masks=None):
        """One timestep from the projected input ``x = inputs @ kernel + input_bias``."""
        h_prev = states[0]
        u = self.units
        x_z, x_r, x_h = mx.split(x, 3, axis=-1)
        if self.reset_after:
            inner = self._recurrent(h_prev, self["recurrent_kernel"], recurrent_masks)
            if self.use_bias:
                inner = inner + self["bias"][1]
            r_z, r_r, r_h = mx.split(inner, 3, axis=-1)
        else:
            masks = recurrent_masks[:2] if recurrent_masks is not None else None
            r_z, r_r = mx.split(self._recurrent(h_prev, self["recurrent_kernel"][:, :2 * u], masks),
                                2, axis=-1)
        z = self.recurrent_activation(x_z + r_z)
        r = self.recurrent_activation(x_r + r_r)
        if self.reset_after:
            hh = self.activation(x_h + r * r_h)
        else:
            h_h = h_prev if recurrent_masks is None else h_prev * recurrent_masks[2]
            hh = self.activation(x_h + (r * h_h) @ self["recurrent_kernel"][:, 2 * u:])
        h = z * h_prev + (1 - z) * hh
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.update(common.config_values(self, "recurrent_activation", "reset_after"))
        return config


@registry.builtin
class LSTMCell(_RNNCell):
    """Long short-term memory cell, Keras' gate order ``[i, f, c, o]``::

        z = inputs @ kernel + h_prev @ recurrent_kernel + bias
        i, f, o = recurrent_activation(z_i), recurrent_activation(z_f), recurrent_activation(z_o)
        c = f * c_prev + i * activation(z_c)
        h = o * activation(c)

    The states are ``[h, c]``; the output is ``h``.

    Args:
        units: size of the output and of each state.
        activation: ``"tanh"`` by default (None: linear).
        use_bias: whether the cell has a bias.
        kernel_initializer: ``"glorot_uniform"``; recurrent_initializer:
            ``"orthogonal"``; bias_initializer: ``"zeros"``.
        kernel/recurrent/bias_regularizer, kernel/recurrent/bias_constraint.
        dropout: fraction of the input units dropped (training only), in [0, 1].
        recurrent_dropout: fraction of the state units dropped, in [0, 1].
        seed: int for a reproducible stream of dropout masks, or None.
        recurrent_activation: ``"sigmoid"`` by default.
        unit_forget_bias: initialize the forget-gate bias to 1 (the others with
            ``bias_initializer``).

    Weights: ``kernel (features, 4 * units)``, ``recurrent_kernel (units, 4 * units)``,
    ``bias (4 * units,)``.
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [units, units]

    def build(self, input_shape):
        u, base = self.units, self.bias_initializer

        def forget_bias_one(shape, dtype=None):
            first, rest = base((u,), dtype=dtype), base((2 * u,), dtype=dtype)
            return mx.concatenate([first, mx.ones_like(first), rest])

        self._build_kernels(input_shape, (4 * u,),
                            forget_bias_one if self.unit_forget_bias else None)

    def step(self, x, states, recurrent_masks=None):
        """One timestep from the projected input ``x = inputs @ kernel + bias``."""
        h_prev, c_prev = states[0], states[1]
        z = x + self._recurrent(h_prev, self["recurrent_kernel"], recurrent_masks)
        z_i, z_f, z_c, z_o = mx.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update(common.config_values(self, "recurrent_activation", "unit_forget_bias"))
        return config
