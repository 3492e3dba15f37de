"""Keras' view of a layer's weights, kept beside the ``nn.Module`` dict.

The arrays live in the module dict (so MLX sees them as parameters); a
``WeightSpec`` per weight records its Keras name and scope, whether it trains,
its regularizer and constraint, and the transpose between Keras' layout and
the stored MLX layout. ``WeightTracking`` gives ``Layer`` the Keras API over
them: ``add_weight``, ``weights``, ``get_weights``/``set_weights``, ``losses``.
``add_weight`` and ``weights`` hand out ``Variable`` handles
(``engine/variables.py``) in Keras' layout; the dict keeps plain arrays.
"""

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_unflatten

from .. import backend
from . import call_context
from .variables import Variable, current_path


class WeightSpec:
    """Keras' view of one weight: its name, where it lives, whether it trains.

    ``storage_perm`` is the transpose from Keras' layout (the shape given to
    ``add_weight``) to the layout stored for MLX (e.g. conv kernels
    ``(kh, kw, in, out)`` are stored ``(out, kh, kw, in)``). ``scope`` is the
    variable path before the name (``"sequential/dense"``).
    """

    def __init__(self, name, key, trainable, regularizer=None, constraint=None,
                 storage_perm=None, auto_named=False, scope=""):
        self.name = name
        self.scope = scope
        # (stored array, its Variable): reads of an unchanged weight share one handle,
        # so an eager forward pass makes no new object, and a conv kernel is not
        # transposed to Keras' layout again.
        self.handle = None
        self.key = key
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint
        self.storage_perm = storage_perm
        self.auto_named = auto_named

    def variable(self, owner, stored):
        """The ``Variable`` (in Keras' layout) of this weight of ``owner``, now ``stored``."""
        handle = self.handle
        if handle is not None and handle[0] is stored:
            return handle[1]
        view = Variable._view(owner, self, self.to_keras(stored), keras_layout=True)
        self.handle = (stored, view)
        return view

    def to_keras(self, value):
        if self.storage_perm is None:
            return value
        return mx.transpose(value, np.argsort(self.storage_perm).tolist())

    def from_keras(self, value):
        if self.storage_perm is None:
            return value
        return mx.transpose(value, list(self.storage_perm))


class WeightTracking:
    """Mixin for ``Layer``: the weight bookkeeping (see the module docstring)."""

    def _adopt_weight(self, key, value):
        """``self.w = <weight>``: returns the plain array to store under ``key``.

        A handle on one of this layer's weights (``self.w = self.add_weight(...)``)
        moves that weight to the attribute's name; a standalone ``Variable`` becomes
        a weight of this layer, and the handle a view of it (Keras tracks Variables
        set as layer attributes).
        """
        if isinstance(value, Variable):
            if value._owner is None:
                return self._track_variable(key, value)
            if value._owner is not self or value._spec not in self._weight_specs:
                return mx.array(value.value)  # another layer's weight: its current value
            spec = value._spec
            stored = dict.__getitem__(self, spec.key)
        else:
            spec = next((s for s in self._weight_specs
                         if s.key != key and dict.get(self, s.key) is value), None)
            stored = value
        if spec is not None and spec.key != key:
            del self[spec.key]
            del self._weight_keys[spec.key]
            if spec.key in self._no_grad:
                self._no_grad.discard(spec.key)
                self._no_grad.add(key)
            spec.key = key
            self._weight_keys[key] = spec
            if spec.auto_named:
                spec.name = key
        return stored

    def _share_weight(self, key, variable):
        """``self.kernel = other.kernel``: ``key`` reads ``other``'s weight (tied
        weights). The array stays in ``other``'s dict only, so one parameter trains."""
        dict.pop(self, key, None)
        self.__dict__.pop(key, None)
        self._shared_weights[key] = variable

    def _track_variable(self, key, variable):
        scope, _, name = variable.path.rpartition("/")
        spec = WeightSpec(variable.name, key, variable.trainable, scope=scope)
        self._weight_specs.append(spec)
        self._weight_keys[key] = spec
        if not (spec.trainable and self._trainable):
            self._no_grad.add(key)
        stored = variable.value
        variable._owner, variable._spec, variable._keras_layout = self, spec, True
        spec.handle = (stored, variable)
        return stored

    def _set_weight_trainable(self, spec, trainable):
        spec.trainable = trainable
        if trainable and self._trainable:
            self._no_grad.discard(spec.key)
        else:
            self._no_grad.add(spec.key)

    def _weight_view(self, key, value):
        """What reading attribute ``key`` gives: a handle for a weight, else ``value``."""
        spec = self._weight_keys.get(key)
        if spec is None or not isinstance(value, mx.array):
            return value
        return spec.variable(self, value)

    # -- weights ------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None, storage_perm=None,
                   autocast=True, aggregation="none", overwrite_with_gradient=False):
        """Creates a weight and returns a ``Variable`` handle on it (in Keras' layout).

        Args:
            shape: shape in Keras' layout (``()`` for a scalar).
            initializer: name, object or callable ``f(shape, dtype)``; by default
                ``"glorot_uniform"`` for floats and ``"zeros"`` otherwise.
            dtype: weight dtype (the layer's dtype by default).
            trainable: False for statistics such as BatchNormalization's moving mean.
            regularizer: adds ``regularizer(weight)`` to ``layer.losses``.
            constraint: applied to the weight after each optimizer update.
            name: the weight's name (``kernel``, ``bias``...); when omitted, the
                attribute the weight is assigned to names it.
            storage_perm: transpose from Keras' layout to the stored MLX layout.
            autocast, aggregation, overwrite_with_gradient: accepted for Keras 3
                code; they change nothing here (no mixed-precision autocast of
                weights, no replicas to aggregate over).
        """
        from .. import constraints, initializers, regularizers

        dtype = backend.standardize_dtype(dtype or self.dtype)
        shape = tuple(int(d) for d in (shape or ()))
        if initializer is None:
            initializer = "glorot_uniform" if backend.is_float_dtype(dtype) else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype)
        if not isinstance(value, mx.array):
            value = mx.array(value, dtype=backend.mlx_dtype(dtype))
        value = value.astype(backend.mlx_dtype(dtype))
        auto = name is None
        existing = {s.name for s in self._weight_specs}
        if auto:
            name = "variable"
            i = 0
            while name in existing or name in self:
                i += 1
                name = f"variable_{i}"
        elif name in existing:
            raise ValueError(f'Layer "{self.name}" already has a weight named "{name}".')
        spec = WeightSpec(name, name, bool(trainable), regularizers.get(regularizer),
                          constraints.get(constraint), storage_perm, auto, current_path(self))
        self._weight_specs.append(spec)
        self._weight_keys[name] = spec
        self[name] = spec.from_keras(value)
        if not (trainable and self._trainable):
            self._no_grad.add(name)
        return spec.variable(self, self[name])

    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        """Keras 3's alias of ``add_weight`` (with ``shape`` and ``initializer`` first)."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, regularizer=regularizer,
                               constraint=constraint, name=name)

    def _sublayers(self):
        """Layers and raw ``nn.Module``s held by this layer, in assignment order."""
        found, seen = [], set()

        def visit(v):
            if isinstance(v, nn.Module):
                if id(v) not in seen:
                    seen.add(id(v))
                    found.append(v)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    visit(x)
            elif isinstance(v, dict):
                for x in v.values():
                    visit(x)

        for k, v in self.items():
            if not k.startswith("_"):
                visit(v)
        return found

    def _weight_entries(self, trainable=None):
        """``(owner, spec_or_key)`` for every weight, in Keras' order, without duplicates.

        Own trainable weights, own non-trainable weights, then sublayers'.
        ``trainable`` selects: True (trainable only), False (non-trainable), None (all).
        """
        out, seen = [], set()
        self._collect(out, seen, trainable, self._trainable)
        return out

    def _collect(self, out, seen, want, parent_trainable):
        live = parent_trainable and self._trainable
        own = sorted(self._weight_specs, key=lambda s: not s.trainable)
        for spec in own:
            is_trainable = live and spec.trainable
            if want is None or want == is_trainable:
                value = self[spec.key]
                if id(value) not in seen:
                    seen.add(id(value))
                    out.append((self, spec))
        for handle in self._shared_weights.values():
            owner, spec = handle._owner, handle._spec
            if spec is None:
                continue
            value = dict.get(owner, spec.key)
            is_trainable = live and owner._trainable and spec.trainable
            if (want is None or want == is_trainable) and id(value) not in seen:
                seen.add(id(value))
                out.append((owner, spec))
        for child in self._sublayers():
            if isinstance(child, WeightTracking):
                child._collect(out, seen, want, live)
            else:
                flat = dict(_flat_params(child.parameters()))
                trainable_keys = {k for k, _ in _flat_params(child.trainable_parameters())}
                for key, value in flat.items():
                    is_trainable = live and key in trainable_keys
                    if (want is None or want == is_trainable) and id(value) not in seen:
                        seen.add(id(value))
                        out.append((child, key))

    @staticmethod
    def _read(owner, entry):
        if isinstance(entry, WeightSpec):
            return owner[entry.key]
        return dict(_flat_params(owner.parameters()))[entry]

    def _variables(self, trainable=None):
        out = []
        for owner, entry in self._weight_entries(trainable):
            value = self._read(owner, entry)
            if isinstance(entry, WeightSpec):
                out.append(entry.variable(owner, value))
            else:  # a raw nn.Module's parameter, named by its MLX path
                out.append(Variable._view(owner, None, value, key=entry,
                                          path=f"{getattr(owner, 'name', type(owner).__name__)}/{entry}"))
        return out

    @property
    def weights(self):
        """Every weight as a ``Variable`` in Keras' layout: trainable first, then
        non-trainable, then sublayers'."""
        return self._variables()

    @property
    def trainable_weights(self):
        return self._variables(True)

    @property
    def non_trainable_weights(self):
        return self._variables(False)

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    def count_params(self):
        """Number of scalars in the layer's weights."""
        if not self.built and not self._weight_specs:
            raise ValueError(
                f'You tried to call count_params() on layer "{self.name}", but the layer '
                "isn't built. Call it on an input (or call build()) first."
            )
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def get_weights(self):
        """Weights as numpy arrays, in Keras' layouts and order."""
        out = []
        for owner, entry in self._weight_entries():
            value = self._read(owner, entry)
            if isinstance(entry, WeightSpec):
                value = entry.to_keras(value)
            out.append(np.array(value))
        return out

    def set_weights(self, weights):
        """Sets weights from numpy arrays in Keras' layouts and order (as ``get_weights``)."""
        entries = self._weight_entries()
        weights = list(weights)
        if len(weights) != len(entries):
            raise ValueError(
                f'Layer "{self.name}" expects {len(entries)} weight arrays, but received '
                f"{len(weights)}. Expected: {self._describe(entries)}"
            )
        updates = []
        for i, ((owner, entry), w) in enumerate(zip(entries, weights)):
            current = self._read(owner, entry)
            spec = entry if isinstance(entry, WeightSpec) else None
            expected = tuple(spec.to_keras(current).shape) if spec else tuple(current.shape)
            w = np.asarray(w)
            if tuple(w.shape) != expected:
                name = spec.name if spec else entry
                raise ValueError(
                    f'Layer "{self.name}" weight {i} ({getattr(owner, "name", "")}/{name}): '
                    f"expected shape {expected}, received {tuple(w.shape)}."
                )
            # (ascontiguousarray makes a 0-d array 1-d: reshape keeps a scalar weight scalar)
            value = mx.array(np.ascontiguousarray(w).reshape(w.shape)).astype(current.dtype)
            updates.append((owner, entry, spec.from_keras(value) if spec else value))
        for owner, entry, value in updates:
            if isinstance(entry, WeightSpec):
                owner[entry.key] = value
            else:
                owner.update(_unflatten({entry: value}), strict=False)

    def _describe(self, entries):
        return [
            f"{getattr(o, 'name', type(o).__name__)}/{e.name if isinstance(e, WeightSpec) else e}"
            for o, e in entries
        ]

    @property
    def losses(self):
        """Regularization losses of the current weights plus losses added in ``call``."""
        out = []
        for owner, entry in self._weight_entries():
            if isinstance(entry, WeightSpec) and entry.regularizer is not None:
                # Regularizers see Keras' layout (axis-based ones depend on it).
                out.append(entry.regularizer(entry.to_keras(owner[entry.key])))
        for layer in [self] + [c for c in self._all_sublayers()]:
            # Losses of an earlier forward pass than this layer's last call are stale
            # (Keras clears them when that call starts); a pass's own are all kept.
            if layer._losses_pass >= self._call_pass:
                out.extend(layer._activity_losses)
        return out

    def _all_sublayers(self):
        out = []
        for child in self._sublayers():
            if isinstance(child, WeightTracking):
                out.append(child)
                out.extend(child._all_sublayers())
        return out

    def add_loss(self, loss):
        """Adds a loss computed in ``call``: every call of the layer in one forward pass
        adds its own (a shared layer's), kept until the layer adds in a later pass."""
        forward_pass = call_context.forward_pass()
        if self._losses_pass != forward_pass:
            self._activity_losses = []
            self._losses_pass = forward_pass
        self._activity_losses.append(loss)


def _flat_params(params):
    return tree_flatten(params)


def _unflatten(flat):
    return tree_unflatten(list(flat.items()))
