"""Convolutional LSTM layers: ConvLSTM1D, ConvLSTM2D, ConvLSTM3D."""

import mlx.core as mx

from .. import initializers
from ..engine import argument_validation as check
from ..engine import trace
from ..engine.input_spec import InputSpec
from ..engine.input_standardization import convert_to_array
from ..engine.layer import Layer
from .. import registry
from .. import tree
from ..compute import conv_utils
from . import common


def _same_padding(size, kernel, stride, dilation):
    """TensorFlow's "same" padding of one axis: ``(low, high)``; odd totals pad high."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class ConvLSTM(Layer):
    """Base of ``ConvLSTM1D/2D/3D``: an LSTM whose gates are convolutions.

    For each timestep ``t`` (gate order ``i, f, c, o``; ``*`` is a convolution)::

        z = x_t * kernel + h * recurrent_kernel + bias      # 4 * filters channels
        i, f, o = recurrent_activation(z_i, z_f, z_o)
        c = f * c + i * activation(z_c)
        h = o * activation(c)

    Args:
        rank: number of spatial dimensions (set by the subclasses).
        filters: number of output channels of ``h``.
        kernel_size, strides, dilation_rate: int or tuple of ``rank`` ints, for the
            input convolution. The recurrent convolution uses ``kernel_size`` with
            stride 1, no dilation and "same" padding.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's: odd padding goes after).
        data_format: ``"channels_last"`` or None (channels_first is not supported).
        activation: ``"tanh"``; recurrent_activation: ``"sigmoid"``.
        use_bias: whether the gates have a bias.
        kernel_initializer ``"glorot_uniform"``, recurrent_initializer ``"orthogonal"``,
            bias_initializer ``"zeros"``.
        unit_forget_bias: add 1 to the forget gate's bias at initialization.
        kernel/recurrent/bias/activity_regularizer, kernel/recurrent/bias_constraint.
        dropout, recurrent_dropout: fractions (in [0, 1)) of the input / state channels
            dropped in training; one mask per sequence, as in Keras.
        seed: kept in the config; masks come from MLX's global generator
            (``mx.random.seed``).
        return_sequences: output every step ``(batch, time, *spatial, filters)``
            instead of the last ``(batch, *spatial, filters)``.
        return_state: also return the final states ``h, c``.
        go_backwards: process the sequence in reverse (outputs stay in that order).
        stateful: the last states of a batch are the initial states of the next
            (needs a fixed batch size; ``reset_states()`` zeroes them).
        unroll, zero_output_for_mask: Keras RNN options (the loop is always unrolled;
            with ``zero_output_for_mask`` a masked step outputs zeros).

    Call: ``layer(inputs, initial_state=None, mask=None, training=None)`` with inputs
    ``(batch, time, *spatial, channels)``, ``initial_state`` ``[h, c]`` and ``mask``
    ``(batch, time)``; a masked step keeps the previous states.
    """

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 **kwargs):
        super().__init__(**kwargs)
        rank = self.rank
        self.filters = check.positive_int(self, "filters", filters)
        self.kernel_size = check.int_tuple(self, "kernel_size", kernel_size, rank)
        self.strides = check.int_tuple(self, "strides", strides, rank)
        self.dilation_rate = check.int_tuple(self, "dilation_rate", dilation_rate, rank)
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f'`padding` must be "valid" or "same". Received: padding={padding!r}')
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"{type(self).__name__} supports only data_format='channels_last' (inputs "
                f"(batch, time, *spatial, channels)). Received: data_format={data_format!r}"
            )
        self.data_format = "channels_last"
        self.dropout = check.rate(self, "dropout", dropout)
        self.recurrent_dropout = check.rate(self, "recurrent_dropout", recurrent_dropout)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        common.set_objects(
            self, activation=activation, recurrent_activation=recurrent_activation,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        self.seed = check.seed(self, seed)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None
        self.input_spec = InputSpec(ndim=rank + 3)
        self.supports_masking = True

    # -- shapes ---------------------------------------------------------------
    def _layout(self):
        names = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}[self.rank]
        return f"(batch, time, {names}, channels)"

    def _check_rank(self, shape):
        if len(shape) != self.rank + 3 or any(isinstance(d, (tuple, list)) for d in shape):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) expects inputs of rank '
                f"{self.rank + 3}, {self._layout()}; received input shape {tuple(shape)}."
            )

    def _output_spatial(self, spatial, input_shape):
        """Spatial output sizes of the input convolution (None stays None)."""
        out = []
        for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            if n is None:
                out.append(None)
                continue
            size = -(-n // s) if self.padding == "same" else (n - (k - 1) * d - 1) // s + 1
            if size <= 0:
                raise ValueError(
                    f'Layer "{self.name}" ({type(self).__name__}): input shape '
                    f"{tuple(input_shape)} is too small for kernel_size {self.kernel_size} "
                    f"with dilation_rate {self.dilation_rate} and padding \"valid\"."
                )
            out.append(size)
        return tuple(out)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) needs a known channel '
                f"dimension; received input shape {input_shape}."
            )
        out_spatial = self._output_spatial(input_shape[2:-1], input_shape)
        # Keras kernels (*k, in, 4 * filters) are stored (4 * filters, *k, in) for conv_general.
        perm = (self.rank + 1,) + tuple(range(self.rank + 1))
        self.kernel = common.add_weight(
            self, "kernel", self.kernel_size + (channels, 4 * self.filters), storage_perm=perm)
        self.recurrent_kernel = common.add_weight(
            self, "recurrent_kernel", self.kernel_size + (self.filters, 4 * self.filters),
            arg="recurrent", storage_perm=perm)
        if self.use_bias:
            self.bias = common.add_weight(self, "bias", (4 * self.filters,),
                                          initializer=self._bias_init())
        self.input_spec = InputSpec(ndim=self.rank + 3, axes={-1: channels})
        if self.stateful:
            if input_shape[0] is None or None in out_spatial:
                raise ValueError(
                    f'Layer "{self.name}" ({type(self).__name__}) is stateful: it needs a '
                    f"fixed batch size and spatial size (e.g. Input(batch_size=...)); "
                    f"received input shape {input_shape}."
                )
            self._state_shape = (input_shape[0],) + out_spatial + (self.filters,)
        self.built = True
        if self.stateful:
            self.reset_states()

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        ones = initializers.get("ones")

        # Keras' unit_forget_bias: the forget gate's slice starts at 1.
        def init(shape, dtype=None):
            f = self.filters
            return mx.concatenate([self.bias_initializer((f,), dtype=dtype), ones((f,), dtype=dtype),
                                   self.bias_initializer((2 * f,), dtype=dtype)])

        return init

    # -- states -----------------------------------------------------------------
    def reset_states(self, states=None):
        """Stateful layers: sets the states to zeros, or to ``states`` (``[h, c]``)."""
        if not self.stateful:
            raise AttributeError(f'Layer "{self.name}" is not stateful; it has no states to reset.')
        if states is None:
            values = [mx.zeros(self._state_shape), mx.zeros(self._state_shape)]
        else:
            values = [convert_to_array(s, "float32", f'reset_states of layer "{self.name}"')
                      for s in states]
            self._check_states(values, self._state_shape)
        self._set_states(values)

    reset_state = reset_states

    def _set_states(self, values):
        # The states are module entries (so a compiled step carries them in
        # model.state) but not Keras weights, and never trained.
        self.states = list(values)
        self._no_grad.add("states")

    def _check_states(self, states, shape):
        if not isinstance(states, (list, tuple)) or len(states) != 2 or \
                any(tuple(s.shape) != shape for s in states):
            got = [tuple(getattr(s, "shape", ())) for s in states] \
                if isinstance(states, (list, tuple)) else states
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) expects 2 states [h, c] of shape '
                f"{shape}; received {got}."
            )

    # -- computation --------------------------------------------------------------
    def _conv(self, x, kernel, strides, padding, dilation):
        # conv_utils chooses MLX's conv or the shifted-GEMM one (faster gradients on CPU).
        return conv_utils.grouped_conv(x, kernel, strides, padding, dilation, 1)

    def _input_padding(self, spatial):
        if self.padding == "valid":
            return ([0] * self.rank, [0] * self.rank)
        pads = [_same_padding(n, k, s, d) for n, k, s, d in
                zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]
        return [p[0] for p in pads], [p[1] for p in pads]

    def _dropout_mask(self, shape, rate, dtype):
        keep = mx.random.bernoulli(1.0 - rate, shape)
        return keep.astype(dtype) / (1.0 - rate)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        self._check_rank(tuple(inputs.shape))
        batch, steps = inputs.shape[0], inputs.shape[1]
        if steps == 0:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) received an input '
                             f"with no timesteps: shape {tuple(inputs.shape)}.")
        spatial = tuple(inputs.shape[2:-1])
        f = self.filters
        x = inputs
        if training and self.dropout > 0:
            x = x * self._dropout_mask((batch, 1) + tuple(inputs.shape[2:]), self.dropout, x.dtype)

        # The input convolution does not depend on the state: one convolution over
        # all timesteps at once (time folded into batch); only the recurrence loops.
        folded = x.reshape((batch * steps,) + tuple(x.shape[2:]))
        z_in = self._conv(folded, self["kernel"], self.strides, self._input_padding(spatial),
                          self.dilation_rate)
        if self.use_bias:
            z_in = z_in + self["bias"]
        z_in = z_in.reshape((batch, steps) + tuple(z_in.shape[1:]))
        state_shape = (batch,) + tuple(z_in.shape[2:-1]) + (f,)

        if initial_state is not None:
            h, c = self._initial_state(initial_state, state_shape, inputs.dtype)
        elif self.stateful:
            self._check_states(self.states, state_shape)
            h, c = self.states
        else:
            h = c = mx.zeros(state_shape, dtype=inputs.dtype)

        rec_mask = None
        if training and self.recurrent_dropout > 0:
            rec_mask = self._dropout_mask(state_shape, self.recurrent_dropout, inputs.dtype)
        rec_padding = self._recurrent_padding()
        ones = (1,) * self.rank
        keep_mask = None
        if mask is not None:
            keep_mask = tree.flatten(mask)[0].astype(mx.bool_)
            keep_mask = keep_mask.reshape((batch, steps) + (1,) * (self.rank + 1))

        outputs = []
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        for t in common.time_steps(order):
            h_in = h * rec_mask if rec_mask is not None else h
            z = z_in[:, t] + self._conv(h_in, self["recurrent_kernel"], ones, rec_padding, ones)
            z_i, z_f, z_c, z_o = mx.split(z, 4, axis=-1)
            i = self.recurrent_activation(z_i)
            fg = self.recurrent_activation(z_f)
            o = self.recurrent_activation(z_o)
            c_new = fg * c + i * self.activation(z_c)
            h_new = o * self.activation(c_new)
            if keep_mask is None:
                h, c, out = h_new, c_new, h_new
            else:
                # A masked step keeps the previous states (and outputs the previous h).
                keep = keep_mask[:, t]
                skipped = mx.zeros_like(h_new) if self.zero_output_for_mask else h
                out = mx.where(keep, h_new, skipped)
                h, c = mx.where(keep, h_new, h), mx.where(keep, c_new, c)
            outputs.append(out)

        if self.stateful and not trace.in_trace():
            self._set_states([h, c])
        output = common.full_sequence(outputs, steps) if self.return_sequences else outputs[-1]
        result = (output, h, c) if self.return_state else output
        return common.add_activity_loss(self, result)

    def _recurrent_padding(self):
        pads = [_same_padding(k, k, 1, 1) for k in self.kernel_size]
        return [p[0] for p in pads], [p[1] for p in pads]

    def _initial_state(self, initial_state, state_shape, dtype):
        where = f'initial_state of layer "{self.name}"'
        states = [convert_to_array(s, dtype, where) for s in tree.flatten(initial_state)]
        self._check_states(states, state_shape)
        return states

    def compute_mask(self, inputs, mask=None):
        mask = tree.flatten(mask)[0] if mask is not None else None
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    def get_config(self):
        config = super().get_config()
        config.update(common.config_values(
            self, "filters", "kernel_size", "strides", "padding", "data_format",
            "dilation_rate", "activation", "recurrent_activation", "use_bias",
            "kernel_initializer", "recurrent_initializer", "bias_initializer",
            "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
            "bias_regularizer", "activity_regularizer", "kernel_constraint",
            "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed",
            "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
            "zero_output_for_mask"))
        return config


@registry.builtin
class ConvLSTM1D(ConvLSTM):
    """1D convolutional LSTM: inputs ``(batch, time, steps, channels)``; see ``ConvLSTM``."""

    rank = 1


@registry.builtin
class ConvLSTM2D(ConvLSTM):
    """2D convolutional LSTM: inputs ``(batch, time, rows, cols, channels)``; see ``ConvLSTM``.

    Weights (Keras layout): ``kernel (kh, kw, in, 4 * filters)``, ``recurrent_kernel
    (kh, kw, filters, 4 * filters)``, ``bias (4 * filters,)``; gate order i, f, c, o.
    """

    rank = 2


@registry.builtin
class ConvLSTM3D(ConvLSTM):
    """3D convolutional LSTM: inputs ``(batch, time, depth, rows, cols, channels)``; see
    ``ConvLSTM``."""

    rank = 3
