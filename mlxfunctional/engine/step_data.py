"""A batch as ``fit`` hands it to a step: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``
(re-exported as ``keras.utils.pack_x_y_sample_weight`` and ``unpack_x_y_sample_weight``)."""


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch tuple a step receives (Keras' rule).

    ``x`` alone when there are no targets (``(x,)`` when ``x`` is itself a tuple
    or list, so it is not read as ``(x, y)``); ``(x, y)`` without weights.
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` of a batch; missing parts are None.

    Args:
        data: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("Data must be x, (x,), (x, y) or (x, y, sample_weight); received a "
                     f"tuple of {len(data)} elements: {data}")
