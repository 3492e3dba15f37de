"""Recurrent layers: the generic RNN loop and SimpleRNN, GRU, LSTM.

The loop runs in Python over the time axis and builds one lazy MLX graph
(MLX has no symbolic while loop; ``unroll`` changes nothing). The input
projection ``x @ kernel`` is one matmul over all timesteps; only the
recurrent half of the cell runs per step, which also keeps the shape trace
on placeholder lengths cheap.
"""

import inspect

import mlx.core as mx
import numpy as np

from .. import regularizers
from ..engine import trace
from ..engine.input_spec import InputSpec
from ..engine.input_standardization import convert_to_array
from ..engine.layer import Layer
from .. import registry
from ..engine import serialization
from .. import tree
from . import common
from .rnn_cells import CELL_ARGS, GRUCell, LSTMCell, SimpleRNNCell, check_cell_args
from .stacked_rnn_cells import StackedRNNCells


@registry.builtin
class RNN(Layer):
    """Runs a cell over the time axis of ``(batch, timesteps, features...)`` inputs.

    Args:
        cell: a cell Layer with ``call(inputs, states, training=None) -> (output,
            new_states)`` and a ``state_size``: an int, a shape tuple, or a list of
            them (one per state; a state has shape ``(batch,) + shape``). A list of
            cells is stacked into one ``StackedRNNCells`` (states nested per cell).
        return_sequences: return every timestep's output ``(batch, timesteps, out)``
            instead of the last one ``(batch, out)``.
        return_state: also return the final states: ``[output, *states]``.
        go_backwards: process the sequence in reverse time order; the returned
            sequence is in that processing order (reversed), as Keras.
        stateful: the final states of a batch are the initial states of the next
            one (fixed batch size; ``reset_state()`` zeroes them).
        unroll: accepted for Keras compatibility (the MLX loop is always unrolled);
            requires a known number of timesteps, as in Keras.
        zero_output_for_mask: masked timesteps output zeros instead of the previous
            output.
        activity_regularizer: regularizer applied to the outputs.

    Nested cells: ``sequences`` may be a list or tuple of sequences (each
    ``(batch, timesteps, ...)``, the same timesteps); the cell then receives
    (and is built with) the same structure without the time axis, and may return
    a structure of outputs, which the layer returns in that structure.

    Call arguments: ``sequences``; ``initial_state`` (a list of ``(batch, size)``
    arrays, one per state, or nested per cell for a stack, as ``return_state``
    returns them); ``mask`` (``(batch, timesteps)`` bool: a False step keeps
    the previous states and outputs the previous output); ``training`` (enables
    the cell's dropout).
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False,
                 activity_regularizer=None, **kwargs):
        if isinstance(cell, (list, tuple)):  # Keras: a list of cells is one stacked cell
            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
            raise ValueError("Argument `cell` should have a `call` method and a `state_size` "
                             f"attribute (int or list of ints). Received: cell={cell!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)

    # -- building -------------------------------------------------------------
    def build(self, sequences_shape):
        leaves = _shape_leaves(sequences_shape)
        if not leaves or any(len(s) < 3 for s in leaves) \
                or len({s[1] for s in leaves}) > 1 and None not in {s[1] for s in leaves}:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) expects inputs of '
                             "shape (batch, timesteps, features) (or a list of such, with the "
                             f"same timesteps); received input shape {sequences_shape}.")
        shape = leaves[0]
        if len(leaves) > 1:  # nested sequences: the cell checks its own inputs
            self.input_spec = None
        if self.unroll and shape[1] is None:
            raise ValueError(f'Layer "{self.name}": cannot unroll a RNN if the time dimension is '
                             f"undefined (input shape {shape}). Give Input() a fixed number of "
                             "timesteps.")
        if isinstance(self.cell, Layer):
            self.cell._maybe_build(_map_shapes(lambda s: (s[0],) + s[2:], sequences_shape))
        if self.stateful:
            if shape[0] is None:
                raise ValueError(f'Layer "{self.name}": a stateful RNN needs a fixed batch size; '
                                 f"found a dynamic one (input shape {shape}). Pass batch_size "
                                 "to Input().")
            self._stateful_batch = shape[0]
            self.reset_state()
        self.built = True

    # -- states ---------------------------------------------------------------
    @property
    def state_size(self):
        """The cell's state sizes as a list, one entry per state (read from the cell
        each time: a cell may know them only once built). A stacked cell's entries
        are its cells' state sizes, as Keras."""
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    @property
    def _flat_state_size(self):
        """One entry per state array: the loop carries the states as a flat list."""
        flat = getattr(self.cell, "flat_state_size", None)
        return list(flat) if flat is not None else self.state_size

    def _pack_states(self, flat):
        """The flat states nested as the cell nests them (per cell for a stack)."""
        pack = getattr(self.cell, "pack_states", None)
        return pack(list(flat)) if callable(pack) else list(flat)

    def get_initial_state(self, batch_size, dtype=mx.float32):
        return self._pack_states(self._initial_flat_states(batch_size, dtype))

    def _initial_flat_states(self, batch_size, dtype=mx.float32):
        make = getattr(self.cell, "get_initial_state", None)
        if make is not None:
            states = make(batch_size=batch_size, dtype=dtype) \
                if "dtype" in inspect.signature(make).parameters else make(batch_size=batch_size)
            return tree.flatten(states)
        return [mx.zeros((batch_size,) + _state_shape(s), dtype=dtype)
                for s in self._flat_state_size]

    @property
    def states(self):
        """The carried states of a stateful layer (None otherwise)."""
        if not self.stateful or "_rnn_state_0" not in self:
            return None
        return self._pack_states(
            [self[f"_rnn_state_{i}"] for i in range(len(self._flat_state_size))])

    def _store_states(self, values):
        # Private arrays: out of weights/parameters() but in the module state, so
        # a compiled step that captures `model.state` carries them across batches.
        for i, v in enumerate(values):
            setattr(self, f"_rnn_state_{i}", mx.stop_gradient(v))

    def reset_state(self, states=None):
        """Zeroes the states of a stateful layer, or sets them to ``states``."""
        if not self.stateful:
            raise AttributeError(f'Layer "{self.name}" must be stateful (stateful=True).')
        if states is None:
            batch = self["_rnn_state_0"].shape[0] if self.states is not None else \
                getattr(self, "_stateful_batch", None)
            if batch is None:  # not built yet: build() creates zero states
                return
            self._store_states(self._initial_flat_states(batch, mx.float32))
        else:
            states = tree.flatten(states)
            batch = np.shape(states[0])[0]
            self._store_states(self._check_states(states, batch, mx.float32, "reset_state"))

    reset_states = reset_state

    def _check_states(self, states, batch, dtype, what):
        """The states (flat, or nested as the cell nests them) as a checked flat list."""
        states = tree.flatten(states)
        sizes = self._flat_state_size
        if len(states) != len(sizes):
            raise ValueError(f'Layer "{self.name}" has {len(sizes)} state(s) '
                             f"(state_size={self.state_size}), but {what} received "
                             f"{len(states)}.")
        out = []
        for s, size in zip(states, sizes):
            s = convert_to_array(s, dtype, f'{what} of layer "{self.name}"')
            expected = (batch,) + _state_shape(size)
            if tuple(s.shape) != expected:
                raise ValueError(f'Layer "{self.name}": {what} has a state of shape '
                                 f"{tuple(s.shape)}; expected {expected} (batch, state_size).")
            out.append(s)
        return out

    # -- running --------------------------------------------------------------
    def _step_function(self, sequences, training):
        """``(input_at, step)``: ``input_at(t)``, the inputs of timestep ``t`` (in the
        structure of ``sequences``), and ``step(x_t, states)``.

        Cells with ``project_inputs``/``step`` (the built-in ones) get their input
        matmul for all timesteps at once; other cells run ``call`` per step.
        """
        cell = self.cell
        if isinstance(sequences, mx.array) and hasattr(cell, "project_inputs") \
                and hasattr(cell, "step"):
            input_masks, recurrent_masks = cell.dropout_masks(
                sequences.shape[0], sequences.shape[-1], training, sequences.dtype)
            by_time = mx.swapaxes(cell.project_inputs(sequences, input_masks), 0, 1)

            def step(x_t, states):
                return cell.step(x_t, states, recurrent_masks)
            return by_time.__getitem__, step

        by_time = [mx.swapaxes(a, 0, 1) for a in tree.flatten(sequences)]
        kwargs = {"training": training} \
            if "training" in inspect.signature(cell.call).parameters else {}

        def input_at(t):
            return tree.pack_sequence_as(sequences, [a[t] for a in by_time])

        def step(x_t, states):
            output, new = cell.call(x_t, self._pack_states(states), **kwargs)
            return output, tree.flatten(new)
        return input_at, step

    def call(self, sequences, initial_state=None, mask=None, training=None):
        flat = tree.flatten(sequences)
        if any(a.ndim < 3 for a in flat):
            raise ValueError(f'Layer "{self.name}" expects inputs of shape (batch, timesteps, '
                             f"features); received shapes {[tuple(a.shape) for a in flat]}.")
        first = flat[0]
        batch, steps = first.shape[0], first.shape[1]
        if steps == 0:
            raise ValueError(f'Layer "{self.name}" received a sequence with 0 timesteps.')
        if initial_state is not None:
            states = self._check_states(initial_state, batch, first.dtype, "initial_state")
        elif self.stateful:
            states = [s.astype(first.dtype) for s in tree.flatten(self.states)]
            if states[0].shape[0] != batch:
                raise ValueError(f'Layer "{self.name}" is stateful with batch size '
                                 f"{states[0].shape[0]}; received a batch of {batch}.")
        else:
            states = self._initial_flat_states(batch, first.dtype)
        if mask is not None:
            mask = tree.flatten(mask)[0]
            mask = convert_to_array(mask, "bool", f'The mask of layer "{self.name}"')
            if tuple(mask.shape) != (batch, steps):
                raise ValueError(f'Layer "{self.name}": the mask must have shape (batch, '
                                 f"timesteps) = {(batch, steps)}; received {tuple(mask.shape)}.")
        if self.go_backwards:
            sequences = tree.map_structure(lambda a: a[:, ::-1], sequences)
            mask = None if mask is None else mask[:, ::-1]

        input_at, step = self._step_function(sequences, training)
        outputs, output = [], None
        for t in common.time_steps(range(steps)):
            new_output, new_states = step(input_at(t), states)
            if mask is not None:
                # A masked sample keeps its states and repeats its previous output.
                keep = mask[:, t:t + 1]

                def kept(new, old):
                    return mx.where(keep.reshape(keep.shape + (1,) * (new.ndim - 2)), new, old)
                new_states = [kept(n, s) for n, s in zip(new_states, states)]
                fallback = output if output is not None and not self.zero_output_for_mask \
                    else tree.map_structure(mx.zeros_like, new_output)
                new_output = tree.pack_sequence_as(new_output, [
                    kept(n, f) for n, f in zip(tree.flatten(new_output), tree.flatten(fallback))])
            states, output = new_states, new_output
            if self.return_sequences:
                outputs.append(output)

        if self.stateful and not trace.in_trace():
            self._store_states(states)
        if self.return_sequences:  # each output of a nested cell stacked over time
            flat_outputs = [tree.flatten(o) for o in outputs]
            result = tree.pack_sequence_as(outputs[0], [
                common.full_sequence(list(leaf), steps) for leaf in zip(*flat_outputs)])
        else:
            result = output
        result = [result] + self._pack_states(states) if self.return_state else result
        return common.add_activity_loss(self, result)

    def compute_mask(self, inputs, mask=None):
        mask = tree.flatten(mask)[0] if mask is not None else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:  # one None per state array (they nest per cell in a stack)
            return [output_mask] + [None] * len(self._flat_state_size)
        return output_mask

    # -- config ---------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            stateful=self.stateful,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
            cell=serialization.serialize_layer(self.cell),
        )
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = serialization.deserialize_layer(config.pop("cell"), custom_objects)
        return cls(cell, **config)


def _state_shape(size):
    """A ``state_size`` entry as a shape without the batch axis."""
    return tuple(size) if isinstance(size, (list, tuple)) else (int(size),)


def _is_shape(shape):
    return isinstance(shape, (list, tuple)) and \
        all(d is None or isinstance(d, (int, np.integer)) for d in shape)


def _shape_leaves(shapes):
    """The shapes in a (nested) list of shapes, in order."""
    if _is_shape(shapes):
        return [tuple(shapes)]
    return [leaf for s in shapes for leaf in _shape_leaves(s)]


def _map_shapes(fn, shapes):
    """``fn`` applied to every shape of a (nested) list of shapes, keeping the structure."""
    if _is_shape(shapes):
        return fn(tuple(shapes))
    return type(shapes)(_map_shapes(fn, s) for s in shapes)


_CELL_ATTRIBUTES = (
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "dropout", "recurrent_dropout", "reset_after", "seed",
)
_LAYER_KWARGS = ("name", "trainable", "dtype", "input_shape", "batch_size",
                 "batch_input_shape", "input_dim")


class _CellRNN(RNN):
    """An RNN whose cell is made from the layer's own arguments (SimpleRNN/GRU/LSTM).

    The cell's arguments read through as the layer's attributes (``lstm.units``),
    and the config is flat (no ``cell`` entry), as Keras'.
    """

    _cell_class = None
    _cell_name = None

    def __init__(self, cell_args, rnn_args, kwargs):
        kwargs = dict(kwargs)
        kwargs.pop("use_cudnn", None)  # no cuDNN path in MLX
        kwargs.pop("implementation", None)
        if kwargs.pop("time_major", False):
            raise ValueError("time_major=True is not supported; inputs are (batch, time, ...).")
        layer_kwargs = {k: kwargs.pop(k) for k in _LAYER_KWARGS if k in kwargs}
        # Checked here first so that errors name this layer, not the cell it makes.
        check_cell_args(self, cell_args["units"], cell_args["dropout"],
                        cell_args["recurrent_dropout"], cell_args["seed"])
        rnn_args.update(kwargs)  # zero_output_for_mask; unknown names fail in RNN/Layer
        cell = self._cell_class(name=self._cell_name, dtype=layer_kwargs.get("dtype"),
                                trainable=layer_kwargs.get("trainable", True), **cell_args)
        super().__init__(cell, **rnn_args, **layer_kwargs)
        self.input_spec = InputSpec(ndim=3)

    def __getattr__(self, key):
        if key in _CELL_ATTRIBUTES and "cell" in self:
            return getattr(self["cell"], key)
        return super().__getattr__(key)

    def get_config(self):
        config = super().get_config()
        cell_config = config.pop("cell")["config"]
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _split_args(values, cell_keys):
    """Splits a constructor's ``locals()`` into cell arguments and RNN arguments."""
    cell = {k: values[k] for k in cell_keys}
    rnn = {k: values[k] for k in ("return_sequences", "return_state", "go_backwards",
                                  "stateful", "unroll", "activity_regularizer")}
    return cell, rnn, values["kwargs"]


@registry.builtin
class SimpleRNN(_CellRNN):
    """Fully-connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel
    + bias)`` over the sequence (cell: ``SimpleRNNCell``).

    Args: units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
    recurrent_initializer="orthogonal", bias_initializer="zeros",
    kernel/recurrent/bias_regularizer, activity_regularizer,
    kernel/recurrent/bias_constraint, dropout=0.0, recurrent_dropout=0.0, the ``RNN``
    arguments return_sequences, return_state, go_backwards, stateful, unroll (and
    zero_output_for_mask), seed=None. ``return_state`` gives ``[output, h]``.

    Weights (``cell``): kernel ``(features, units)``, recurrent_kernel ``(units, units)``,
    bias ``(units,)``.
    """

    _cell_class = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(*_split_args(locals(), CELL_ARGS))


@registry.builtin
class GRU(_CellRNN):
    """Gated recurrent unit over the sequence (cell: ``GRUCell``, gates ``[z, r, h]``).

    Args: units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
    kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
    bias_initializer="zeros", kernel/recurrent/bias_regularizer, activity_regularizer,
    kernel/recurrent/bias_constraint, dropout=0.0, recurrent_dropout=0.0, seed=None,
    reset_after=True (reset gate applied after the recurrent matmul, separate input
    and recurrent biases), use_cudnn (ignored), and the ``RNN`` arguments
    return_sequences, return_state, go_backwards, stateful, unroll (and
    zero_output_for_mask). ``return_state`` gives ``[output, h]``.

    Weights (``cell``): kernel ``(features, 3 * units)``, recurrent_kernel
    ``(units, 3 * units)``, bias ``(2, 3 * units)`` (``(3 * units,)`` when
    ``reset_after=False``).
    """

    _cell_class = GRUCell
    _cell_name = "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True, **kwargs):
        super().__init__(*_split_args(locals(),
                                      CELL_ARGS + ("recurrent_activation", "reset_after")))


@registry.builtin
class LSTM(_CellRNN):
    """Long short-term memory over the sequence (cell: ``LSTMCell``, gates
    ``[i, f, c, o]``).

    Args: units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
    kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
    bias_initializer="zeros", unit_forget_bias=True (forget-gate bias starts at 1),
    kernel/recurrent/bias_regularizer, activity_regularizer,
    kernel/recurrent/bias_constraint, dropout=0.0, recurrent_dropout=0.0, seed=None,
    use_cudnn (ignored), and the ``RNN`` arguments return_sequences, return_state,
    go_backwards, stateful, unroll (and zero_output_for_mask). ``return_state``
    gives ``[output, h, c]``.

    Weights (``cell``): kernel ``(features, 4 * units)``, recurrent_kernel
    ``(units, 4 * units)``, bias ``(4 * units,)``.
    """

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 **kwargs):
        super().__init__(*_split_args(locals(),
                                      CELL_ARGS + ("recurrent_activation", "unit_forget_bias")))
