"""InputSpec: what a layer accepts, checked at every call with a clear error."""


class InputSpec:
    """Rank, dtype and fixed axes a layer expects of an input.

    Args:
        ndim: exact rank, batch included.
        min_ndim / max_ndim: rank bounds.
        axes: ``{axis: size}`` for dimensions that must have a given size.
        dtype: expected dtype name, if any.
    """

    def __init__(self, ndim=None, min_ndim=None, max_ndim=None, axes=None, dtype=None, shape=None):
        self.ndim = len(shape) if shape is not None else ndim
        self.min_ndim = min_ndim
        self.max_ndim = max_ndim
        self.axes = dict(axes or {})
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else None

    def __repr__(self):
        fields = {k: v for k, v in vars(self).items() if v not in (None, {})}
        return f"InputSpec({', '.join(f'{k}={v}' for k, v in fields.items())})"


def check_input_spec(layer, specs, inputs):
    """Raises ValueError naming the layer, the expected and the received shape."""
    if specs is None:
        return
    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if len(specs) > 1 and len(inputs) != len(specs):
        raise ValueError(
            f'Layer "{layer.name}" expects {len(specs)} input(s), but it received '
            f"{len(inputs)} input tensors."
        )
    for i, (spec, x) in enumerate(zip(specs, inputs)):
        if spec is None or not hasattr(x, "shape"):
            continue
        shape = tuple(x.shape)
        where = f'Input {i} of layer "{layer.name}" is incompatible with the layer'
        if spec.ndim is not None and len(shape) != spec.ndim:
            raise ValueError(f"{where}: expected ndim={spec.ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        if spec.min_ndim is not None and len(shape) < spec.min_ndim:
            raise ValueError(f"{where}: expected min_ndim={spec.min_ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        if spec.max_ndim is not None and len(shape) > spec.max_ndim:
            raise ValueError(f"{where}: expected max_ndim={spec.max_ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        for axis, size in spec.axes.items():
            if size is None:
                continue
            try:
                got = shape[axis]
            except IndexError:
                got = None
            if got is not None and got != size:
                raise ValueError(f"{where}: expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {shape}")
        if spec.shape is not None:
            for want, got in zip(spec.shape, shape):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{where}: expected shape={spec.shape}, "
                                     f"found shape={shape}")
