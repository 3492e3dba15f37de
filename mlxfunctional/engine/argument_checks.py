"""The arguments of ``fit``/``evaluate``/``predict``/``*_on_batch``, checked before any work.

Keras 3 checks almost none of them: ``batch_size=-3`` or ``steps_per_epoch=-1``
run no step and log a loss of 0.0, ``batch_size=0`` and ``steps=0`` quietly
mean "the default" (a truthiness test), ``batch_size=2.5`` is sliced with.
Here each is one clear error that names the method, the argument and the
value received. The rules:

====================================  ==========================================
argument                              accepted
====================================  ==========================================
``batch_size``, ``steps_per_epoch``,  None or an int >= 1 (0 is refused, where
``validation_steps``, ``steps``,      Keras reads it as None: a count of 0 is
``validation_batch_size``,            more likely a bug than a request for the
``steps_per_execution``               default)
``epochs``                            an int >= 0 (0 trains nothing, as Keras)
``initial_epoch``                     an int >= 0 (at or past ``epochs`` it
                                      trains nothing, as Keras: a finished run
                                      resumed)
``validation_freq``                   an int >= 1, or a non-empty collection of
                                      ints >= 1 (the epochs, counted from 1)
``validation_split``                  a number in [0, 1)
``verbose``                           ``"auto"``, 0, 1 or 2 (``True``/``False``
                                      as 1/0, as Keras)
====================================  ==========================================

An int is a Python or numpy integer; ``bool``, floats (even ``32.0``) and
strings are refused with a ``TypeError``, values out of range with a
``ValueError``. Arrays with no samples are refused too (``require_samples``):
an epoch of zero steps would log a loss of 0.0 as if it had trained.
"""

import numbers

import numpy as np


def _is_int(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def _received(value):
    return f"{value!r} of type {type(value).__name__}"


def count(value, name, method, minimum=1, optional=True):
    """``value`` as an int after checking it is an int >= ``minimum`` (or None).

    Args:
        value: what the user passed.
        name: the argument's name, for the message.
        method: e.g. ``"fit"``, for the message.
        minimum: the smallest value accepted.
        optional: None is accepted (and returned).

    Raises:
        TypeError: ``value`` is not an integer (a float, string, bool...).
        ValueError: ``value`` is below ``minimum``.
    """
    if value is None and optional:
        return None
    wanted = f"an int >= {minimum}" + (" or None" if optional else "")
    if not _is_int(value):
        raise TypeError(f"{method}(): `{name}` must be {wanted}; received "
                        f"{name}={_received(value)}.")
    if value < minimum:
        raise ValueError(f"{method}(): `{name}` must be {wanted}; received {name}={value!r}.")
    return int(value)


def frequency(value, method="fit"):
    """An int >= 1 (validate every that many epochs) or a collection of epochs >= 1."""
    if _is_int(value) or isinstance(value, (bool, float, str)) or value is None:
        return count(value, "validation_freq", method, optional=False)
    try:
        epochs = list(value)
    except TypeError:
        raise TypeError(f"{method}(): `validation_freq` must be an int >= 1 or a list of "
                        f"epochs; received validation_freq={_received(value)}.") from None
    if not epochs or not all(_is_int(e) and e >= 1 for e in epochs):
        raise ValueError(f"{method}(): `validation_freq` as a list must hold the epochs "
                         f"(ints >= 1, counted from 1) to validate after; received "
                         f"validation_freq={value!r}.")
    return [int(e) for e in epochs]


def fraction(value, method="fit"):
    """A number in [0, 1): the fraction of the data held out for validation."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{method}(): `validation_split` must be a number in [0, 1); "
                        f"received validation_split={_received(value)}.")
    if not 0 <= value < 1:
        raise ValueError(f"{method}(): `validation_split` must be in [0, 1); received "
                         f"validation_split={value!r}.")
    return float(value)


def verbosity(value, method):
    """``"auto"`` or 0, 1, 2 (``True``/``False`` are 1/0)."""
    if value == "auto" and isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if not _is_int(value):
        raise TypeError(f'{method}(): `verbose` must be "auto", 0, 1 or 2; received '
                        f"verbose={_received(value)}.")
    if value not in (0, 1, 2):
        raise ValueError(f'{method}(): `verbose` must be "auto", 0, 1 or 2; received '
                         f"verbose={value!r}.")
    return int(value)


def fit_arguments(batch_size, epochs, verbose, validation_split, initial_epoch,
                  steps_per_epoch, validation_steps, validation_batch_size, validation_freq):
    """Checks ``fit``'s arguments; returns them normalized, in the same order."""
    return (count(batch_size, "batch_size", "fit"),
            count(epochs, "epochs", "fit", minimum=0, optional=False),
            verbosity(verbose, "fit"),
            fraction(validation_split),
            count(initial_epoch, "initial_epoch", "fit", minimum=0, optional=False),
            count(steps_per_epoch, "steps_per_epoch", "fit"),
            count(validation_steps, "validation_steps", "fit"),
            count(validation_batch_size, "validation_batch_size", "fit"),
            frequency(validation_freq))


def inference_arguments(method, batch_size, verbose, steps):
    """Checks ``evaluate``'s or ``predict``'s ``batch_size``, ``verbose`` and ``steps``."""
    return (count(batch_size, "batch_size", method), verbosity(verbose, method),
            count(steps, "steps", method))


def require_x(x, method):
    """``x=None`` is an error naming the method (there is no data to run on)."""
    if x is None:
        raise ValueError(f"{method}() needs input data `x`; received x=None.")


def require_samples(data, method, what="x"):
    """Refuses in-memory data with no samples (``data``: a data adapter).

    An epoch of zero steps would otherwise report a loss of 0.0 as if it had
    trained. Iterables are not checked here: their length is not known.
    """
    n = getattr(data, "num_samples", None)
    if n == 0:
        shapes = [tuple(a.shape) for a in data.x]
        raise ValueError(f"{method}() received no samples: {what} has 0 rows (shapes "
                         f"{shapes}). Pass at least one sample.")
