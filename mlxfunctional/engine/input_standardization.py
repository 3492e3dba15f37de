"""One way in for data: what a user passes, turned into the arrays a model takes.

Everything that accepts user data goes through here: a functional model's
call (``Functional.__call__``), ``fit``/``evaluate``/``predict`` (through the
``data_adapter`` names ``match_structure`` and ``as_array``), a layer called
on numpy arrays, and the RNN layers' states and masks. So a mistake gets the
same message wherever it is found, and one dtype rule holds everywhere.

Four steps, each a function:
1. **Names and structure** (``match_structure``): a single array, a list or
   tuple in input order, a dict keyed by input name, or a nesting of these
   shaped like the model's ``inputs``, becomes a flat list in input order.
   A dict must name every input and nothing else (Keras 3 ignores extra keys
   and matches some dicts by sorted order; a typo there trains on the wrong
   data, so here it is an error listing the expected, missing and unexpected
   names).
2. **dtype** (``convert_to_array``), the one rule:

   ====================  ==========================================
   received              becomes
   ====================  ==========================================
   any data, when the    the declared dtype (an ``Input``'s dtype;
   dtype is declared     an RNN's state dtype; ``bool`` for masks)
   numpy float64         ``floatx()`` (float32 unless changed)
   numpy int64           int32 (MLX's and Keras' default int)
   any other numpy       kept (float16, int32, uint8, bool...)
   Python scalars/lists  as numpy reads them, then the rows above
   an MLX array          kept as it is (no copy) unless a declared
                         dtype differs, then cast
   ====================  ==========================================

   numpy arrays with negative or other non-contiguous strides are made
   contiguous first (``mx.array`` refuses negative strides).
3. **Rank** (``adjust_rank``), Keras' rule: an array one dimension short of
   an input whose last dimension is 1 gains that dimension (``(n, 28, 28)``
   for ``Input((28, 28, 1))``); one with an extra trailing dimension of 1
   loses it.
4. **Shape** (``check_shape``): every known dimension of the input must match;
   the message names the model, the input, the expected and the received shape.

``standardize_inputs`` runs all four for a functional model's call.
"""

import mlx.core as mx
import numpy as np

from .. import backend
from .. import tree
from .keras_tensor import KerasTensor


class StandardizedInputs:
    """A model call's inputs once standardized: flat ``mx.array``s in input order.

    ``Functional.__call__`` hands this to ``call``, which then runs the graph
    without checking again. (It is a leaf to ``tree``: nothing walks into it.)

    Args:
        arrays: the list of arrays, one per model input.
    """

    __slots__ = ("arrays",)

    def __init__(self, arrays):
        self.arrays = arrays


# -- 1. names and structure ---------------------------------------------------

class _Mismatch(Exception):
    """Internal: ``data`` is not shaped like the expected structure."""


def match_structure(data, names, what="inputs", model_name=None, structure=None):
    """Flattens ``data`` into the order of ``names`` (a model's input or output names).

    Args:
        data: a single array, a list/tuple, a dict keyed by name, or a nesting
            shaped like ``structure``. ``None`` passes through (no targets).
        names: the flat names, in order.
        what: ``"inputs"`` or ``"outputs"``, for messages.
        model_name: the model's name, for messages.
        structure: the model's own nesting (its ``inputs``), with anything as
            leaves; by default the flat list ``names``. A dict structure's keys
            also name its entries.

    Returns:
        A flat list with one entry per name (the entries are not converted).

    Raises:
        ValueError: naming the model, the expected names and what was received.
    """
    if data is None:
        return None
    structure = list(names) if structure is None else structure
    if isinstance(data, dict):
        return _match_dict(data, names, what, model_name, structure)
    is_list = isinstance(data, (list, tuple))
    if len(names) == 1 and not (is_list and len(data) > 1 and all(map(_is_batch, data))):
        # A list of one array is that array; a plain Python list (of values or
        # rows) is the values. Several batches for one input are a mistake,
        # reported below (stacked, they would fail with a puzzling shape).
        if is_list and len(data) == 1 and _is_array_like(data[0]):
            return [data[0]]
        return [data]
    if is_list and len(names) > 1:
        try:
            return _match(data, structure)
        except _Mismatch:
            flat = tree.flatten(data)  # the right arrays, nested differently
            if len(flat) == len(names) and all(_is_array_like(x) for x in flat):
                return flat
    raise ValueError(
        f'Model "{model_name}" expects {_count(len(names), what)} {list(names)}; received '
        f"{_describe(data)}. Pass a list in this order or a dict keyed by these names."
    )


def _match_dict(data, names, what, model_name, structure):
    if isinstance(structure, dict) and set(data) == set(structure):
        try:
            return _match(data, structure)
        except _Mismatch:
            pass
    elif set(data) == set(names):
        return [data[n] for n in names]
    expected = list(structure) if isinstance(structure, dict) else list(names)
    if set(data) == set(expected):  # right keys, wrong nesting inside
        raise ValueError(
            f'Model "{model_name}" expects {what} structured as {_names_in(structure, names)}; '
            f"received {_describe(data)}."
        )
    missing = [n for n in expected if n not in data]
    extra = [k for k in data if k not in expected]
    raise ValueError(
        f'Model "{model_name}" expects {what} named {expected}; received keys {list(data)} '
        f"(missing: {missing}, unexpected: {extra})."
    )


def _match(data, structure):
    """The leaves of ``data`` where ``structure`` has leaves; _Mismatch elsewhere."""
    if isinstance(structure, dict):
        if isinstance(data, dict):
            if set(data) != set(structure):
                raise _Mismatch()
            return [x for k in structure for x in _match(data[k], structure[k])]
        values = list(structure.values())
    elif isinstance(structure, (list, tuple)):
        values = list(structure)
    else:
        return [data]
    if not isinstance(data, (list, tuple)) or len(data) != len(values):
        raise _Mismatch()
    return [x for d, s in zip(data, values) for x in _match(d, s)]


def _is_array_like(x):
    return isinstance(x, (mx.array, np.ndarray)) or (
        hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, KerasTensor))


def _is_batch(x):
    return _is_array_like(x) and len(x.shape) >= 2


def _count(n, what):
    return f"{n} {what[:-1] if n == 1 else what}"


def _names_in(structure, names):
    it = iter(names)
    return tree.map_structure(lambda _: next(it), structure)


_MAX_SHOWN = 8  # entries of a long list shown in a message


def _describe(data):
    """What the user passed, in a message: its kind and the shapes inside."""
    if isinstance(data, dict):
        return f"a dict with keys {list(data)}: {_summary(data)}"
    if isinstance(data, (list, tuple)):
        return f"a {type(data).__name__} of {len(data)} entries: {_summary(data)}"
    return f"a single array of shape {_summary(data)}"


def _summary(x):
    """Shapes in place of arrays; a list of plain values stays one short note."""
    if isinstance(x, dict):
        return {k: _summary(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if len(x) > _MAX_SHOWN:
            return f"[{', '.join(str(_summary(v)) for v in x[:_MAX_SHOWN])}, ...]"
        if any(_is_array_like(v) or tree.is_nested(v) for v in x):
            return type(x)(_summary(v) for v in x)
        return f"<{type(x).__name__} of {len(x)} values>"
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else type(x).__name__


# -- 2. dtype -----------------------------------------------------------------

def convert_to_array(x, dtype=None, where="The value"):
    """``x`` as an ``mx.array`` by the module's one dtype rule (see the table above).

    Args:
        x: a numpy array, an MLX array, a Python scalar or (nested) list.
        dtype: the declared dtype (a name, an ``mx.Dtype`` or a numpy dtype);
            None when nothing is declared.
        where: what ``x`` is, for the error message (e.g. ``'Input "img" of
            model "m"'``).
    """
    if isinstance(x, mx.array):
        if dtype is None:
            return x
        want = backend.mlx_dtype(dtype)
        return x if x.dtype == want else x.astype(want)
    return host_to_mlx(*host_values(x, dtype, where))


def host_values(x, dtype=None, where="The value"):
    """``(values, dtype name)``: ``x`` (not an ``mx.array``) as a numpy array checked
    by the dtype rule, and the dtype it becomes in MLX; nothing is copied yet.

    The data adapter keeps such values on the host and converts them a batch at a
    time (``host_to_mlx`` on a slice): the same dtypes and errors as
    ``convert_to_array``, without a copy of the whole data set."""
    if isinstance(x, KerasTensor):
        raise TypeError(f"{where}: received a symbolic tensor mixed with arrays in one call; "
                        "pass all arrays or all symbolic tensors.")
    try:
        values = np.asarray(x)
    except Exception as e:  # e.g. ragged lists, or an object whose __array__ fails
        raise TypeError(f"{where} ({type(x).__name__}) cannot be converted to an array: "
                        f"{e}") from None
    if values.dtype.kind not in "biufc":
        raise TypeError(f"{where} must hold numbers or booleans; received dtype "
                        f"{values.dtype} ({type(x).__name__}).")
    name = _data_dtype(values.dtype) if dtype is None else backend.standardize_dtype(dtype)
    _check_fits(values, name, where)
    return values, name


def host_to_mlx(values, name):
    """A numpy array (from ``host_values``) as an ``mx.array`` of dtype ``name``: one
    copy, with the cast (if any) done by numpy on the way."""
    if name == "bfloat16":  # (numpy has no bfloat16: MLX casts from float32)
        return mx.array(np.asarray(values, np.float32, order="C")).astype(mx.bfloat16)
    # order="C" copies only when needed (a cast, or strides MLX refuses) and, unlike
    # np.ascontiguousarray, keeps a 0-d value 0-d instead of making it shape (1,).
    return mx.array(np.asarray(values, dtype=name, order="C"))


def _check_fits(values, name, where):
    """Raises when casting ``values`` to the integer dtype ``name`` would change them:
    numpy wraps (id 2**32 + 1 becomes 1, a valid id of the wrong row) and a float
    past the range casts to anything. (A pass over the data, only for such casts.)"""
    if name == "bfloat16" or values.size == 0 or values.dtype.kind not in "iuf":
        return
    target = np.dtype(name)
    if target.kind not in "iu" or np.can_cast(values.dtype, target):
        return
    info = np.iinfo(target)
    low, high = values.min().item(), values.max().item()  # (Python numbers compare exactly)
    if not (info.min <= low and high <= info.max):  # (False for NaN too)
        raise ValueError(f"{where} holds values from {low} to {high}, which do not fit "
                         f"its dtype {name} ({info.min} to {info.max}): a cast would "
                         "change them.")


def _data_dtype(np_dtype):
    """The dtype data keeps when none is declared (float64 -> floatx, int64 -> int32)."""
    if np_dtype == np.float64:
        return backend.floatx()
    if np_dtype == np.int64:
        return "int32"
    return backend.standardize_dtype(np_dtype)


def convert_numpy(structure, where="The input"):
    """A layer's call input with every numpy leaf converted by the dtype rule.

    MLX arrays, Python scalars and other leaves are left alone: a layer takes
    them as they are. ``where`` names the input in errors.
    """
    return tree.map_structure(
        lambda x: convert_to_array(x, None, where) if isinstance(x, np.ndarray) else x,
        structure)


# -- 3. rank and 4. shape -------------------------------------------------------

def adjust_rank(x, shape):
    """``x`` with a trailing 1 added or removed when that alone makes its rank ``shape``'s.

    Keras' rule: one dimension short of an input whose last dimension is 1
    gains it; one extra trailing dimension of size 1 is dropped. Otherwise
    ``x`` is returned unchanged (``check_shape`` then reports it).
    """
    if x.ndim == len(shape) - 1 and shape and shape[-1] == 1:
        return mx.expand_dims(x, -1)
    if x.ndim == len(shape) + 1 and x.shape[-1] == 1:
        return mx.squeeze(x, -1)
    return x


def check_shape(x, shape, where, received=None):
    """Raises ValueError unless ``x`` fits ``shape`` (``None`` matches any size).

    Args:
        where: e.g. ``'Input "img" of model "m"'``.
        received: the shape the user passed, when ``x`` was reshaped since.
    """
    if x.ndim != len(shape) or any(e is not None and e != g for e, g in zip(shape, x.shape)):
        received = tuple(x.shape) if received is None else received
        raise ValueError(f"{where} is incompatible with the model: expected shape "
                         f"{tuple(shape)}, received shape {received}.")


def standardize_inputs(data, tensors, names, model_name, structure=None):
    """A functional model's call input as flat ``mx.array``s, one per input.

    Args:
        data: what the model was called on.
        tensors: the model's flat input tensors (their shapes and dtypes).
        names: their names (the keys a dict may use).
        model_name: the model's name, for messages.
        structure: the model's ``inputs`` as given (list, dict or nesting).

    Returns:
        A list of ``mx.array``: structure matched, dtype converted, rank
        adjusted and shapes checked.
    """
    flat = match_structure(data, names, "inputs", model_name, structure)
    arrays = []
    for t, name, x in zip(tensors, names, flat):
        where = f'Input "{name}" of model "{model_name}"'
        x = convert_to_array(x, t.dtype, where)
        if x.ndim != len(t.shape):
            received = tuple(x.shape)
            x = adjust_rank(x, t.shape)
            check_shape(x, t.shape, where, received)
        else:
            check_shape(x, t.shape, where)
        arrays.append(x)
    return arrays
