"""StackedRNNCells: a list of recurrent cells run as one cell.

At each timestep cell ``k`` reads the output of cell ``k - 1`` (cell 0 reads the
inputs) and its own states; the stack's output is the last cell's output. The
states are nested per cell as Keras nests them: a cell whose ``state_size`` is a
list (or that makes its own initial states, as the built-in cells, which return
lists) holds a list of states, any other cell one bare array. For
``[LSTMCell(4), GRUCell(3)]`` that is ``[[h1, c1], [h2]]``.

``RNN`` keeps the states as one flat list (``flat_state_size``) and nests them
with ``pack_states`` where the user sees them (``initial_state``, ``return_state``,
``states``). When every cell is a built-in cell (``project_inputs``/``step``),
the stack offers the same split: the first cell's input matmul runs once over
the whole sequence, and dropout masks are drawn once per sequence for every
cell, as Keras draws them.
"""

import inspect

import mlx.core as mx

from ..engine.layer import Layer
from ..engine import serialization
from .. import registry
from .. import tree


def _sizes(state_size):
    """A cell's ``state_size`` as a list, one entry per state (an int or a shape)."""
    return list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]


def _flat_sizes(cell):
    """A cell's state sizes, one entry per state array (a nested stack's flattened)."""
    flat = getattr(cell, "flat_state_size", None)
    return list(flat) if flat is not None else _sizes(cell.state_size)


def _split(cell):
    """Whether the cell offers ``dropout_masks``/``project_inputs``/``step`` (the
    built-in cells do)."""
    return all(callable(getattr(cell, n, None))
               for n in ("dropout_masks", "project_inputs", "step"))


def _call_cell(cell, inputs, states, training):
    """``cell.call`` with ``training`` where the cell takes it; states out as a list."""
    kwargs = {"training": training} \
        if "training" in inspect.signature(cell.call).parameters else {}
    pack = getattr(cell, "pack_states", None)
    output, new = cell.call(inputs, pack(states) if callable(pack) else states, **kwargs)
    return output, tree.flatten(new)


@registry.builtin
class StackedRNNCells(Layer):
    """Runs a list of RNN cells as one cell (``RNN(cells)`` makes one from a list).

    Args:
        cells: a non-empty list of cells, each with ``call(inputs, states)`` and a
            ``state_size``; cell ``k`` is built on the output size of cell ``k - 1``.

    ``state_size`` is the list of the cells' state sizes; ``output_size`` is the last
    cell's. The weights are the cells' weights, cell by cell (Keras' order).
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError("StackedRNNCells: cells must be a non-empty list of RNN cells; "
                             f"received cells={cells!r}")
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError("StackedRNNCells: every cell must have a `call` method; "
                                 f"received {cell!r}")
            if getattr(cell, "state_size", None) is None:
                raise ValueError("StackedRNNCells: every cell must have a `state_size`; "
                                 f"received {cell!r}")
        self.cells = list(cells)

    # -- sizes and states -------------------------------------------------------
    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def flat_state_size(self):
        """One entry per state array, cell by cell (what ``RNN`` carries)."""
        return [s for cell in self.cells for s in _flat_sizes(cell)]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def _nested(self, cell):
        # Keras keeps a cell's states as a list when its state_size is a list or its
        # get_initial_state returns one (every built-in cell's does).
        return isinstance(cell.state_size, (list, tuple)) or \
            callable(getattr(cell, "get_initial_state", None))

    def pack_states(self, flat):
        """The flat list of state arrays nested per cell."""
        flat, packed = list(flat), []
        for cell in self.cells:
            n = len(_flat_sizes(cell))
            mine, flat = flat[:n], flat[n:]
            if callable(getattr(cell, "pack_states", None)):
                mine = cell.pack_states(mine)
            packed.append(mine if self._nested(cell) else mine[0])
        return packed

    def get_initial_state(self, batch_size=None, dtype=mx.float32):
        flat = []
        for cell in self.cells:
            make = getattr(cell, "get_initial_state", None)
            if callable(make):
                states = make(batch_size=batch_size, dtype=dtype) \
                    if "dtype" in inspect.signature(make).parameters \
                    else make(batch_size=batch_size)
                flat += tree.flatten(states)
            else:
                flat += [mx.zeros((batch_size,) + _shape(s), dtype=dtype)
                         for s in _sizes(cell.state_size)]
        return self.pack_states(flat)

    def _per_cell(self, states):
        """Nested or flat states, as one list of state arrays per cell (numpy states
        of a direct call become arrays; inside RNN they already are)."""
        flat = [s if isinstance(s, mx.array) else mx.array(s) for s in tree.flatten(states)]
        out = []
        for cell in self.cells:
            n = len(_flat_sizes(cell))
            out.append(flat[:n])
            flat = flat[n:]
        return out

    # -- building ---------------------------------------------------------------
    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell._maybe_build(shape)
            shape = (shape[0], _output_size(cell))
        self.built = True

    # -- computation ------------------------------------------------------------
    def call(self, inputs, states, training=None):
        """One timestep: each cell on the previous cell's output; the states come
        back nested per cell."""
        new_states = []
        for cell, mine in zip(self.cells, self._per_cell(states)):
            inputs, mine = _call_cell(cell, inputs, mine, training)
            new_states += tree.flatten(mine)
        return inputs, self.pack_states(new_states)

    # The split used by RNN: dropout masks once per sequence, the first cell's input
    # matmul once over the sequence, then `step` per timestep on flat states.
    def dropout_masks(self, batch, input_dim, training, dtype=mx.float32):
        """``(input_masks of the first cell, plan)``; ``plan`` holds, per cell, its
        ``(input_masks, recurrent_masks)`` (``training`` for a cell without the split)."""
        plan, dim = [], input_dim
        for cell in self.cells:
            plan.append(cell.dropout_masks(batch, dim, training, dtype) if _split(cell)
                        else training)
            dim = _output_size(cell)
        first = plan[0][0] if _split(self.cells[0]) else None
        return first, plan

    def project_inputs(self, inputs, input_masks=None):
        first = self.cells[0]
        return first.project_inputs(inputs, input_masks) if _split(first) else inputs

    def step(self, x, states, plan=None):
        """One timestep from the first cell's projected input ``x`` and flat states."""
        new_states = []
        for k, (cell, mine) in enumerate(zip(self.cells, self._per_cell(states))):
            masks = plan[k] if plan is not None else None
            if not _split(cell):
                x, mine = _call_cell(cell, x, mine, masks)
            else:
                input_masks, recurrent_masks = masks if masks is not None else (None, None)
                if k > 0:  # the first cell's input was projected over the whole sequence
                    x = cell.project_inputs(x, input_masks)
                x, mine = cell.step(x, mine, recurrent_masks)
            new_states += tree.flatten(mine)
        return x, new_states

    # -- config -----------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config["cells"] = [serialization.serialize_layer(cell) for cell in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [serialization.deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _shape(size):
    return tuple(size) if isinstance(size, (list, tuple)) else (int(size),)


def _output_size(cell):
    """A cell's output width: ``output_size``, else its first state's size (Keras)."""
    size = getattr(cell, "output_size", None)
    return size if size is not None else _sizes(cell.state_size)[0]
