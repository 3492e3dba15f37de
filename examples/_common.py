"""Helpers shared by the examples: the common command-line flags and plotting.

``plot_model`` is imported lazily: it needs the ``graphviz`` package and
Graphviz's ``dot``, which an example must not require just to run.
"""

import argparse


def parser(doc, epochs=None, batch_size=None, plot=True, save=False):
    """An ``ArgumentParser`` with the flags an example supports.

    Args:
        doc: the module docstring; its first line is the description.
        epochs: default for ``--epochs`` (None: the example does not train).
        batch_size: default for ``--batch-size`` (None: no such flag).
        plot: whether to add ``--plot PATH``.
        save: whether to add ``--save PATH``.
    """
    p = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    if epochs is not None:
        p.add_argument("--epochs", type=int, default=epochs, help=f"default {epochs}")
    if batch_size is not None:
        p.add_argument("--batch-size", type=int, default=batch_size,
                       help=f"default {batch_size}")
    if plot:
        p.add_argument("--plot", metavar="PATH",
                       help="draw the model to PATH (.png, .svg, .pdf or .dot)")
    if save:
        p.add_argument("--save", metavar="PATH", help="save the model to PATH (.mlxf)")
    p.add_argument("--seed", type=int, default=0)
    return p


def plot(model, path, **kwargs):
    """Draws ``model`` to ``path`` with ``plot_model(show_shapes=True)``.

    Returns True when the file was written; otherwise prints why not (plot_model
    or Graphviz missing) and returns False, so the example still finishes.
    """
    if not path:
        return False
    from mlxfunctional.utils import plot_model

    kwargs.setdefault("show_shapes", True)
    try:
        plot_model(model, to_file=path, **kwargs)
    except (ImportError, OSError, RuntimeError, ValueError) as e:
        # A missing `graphviz` package or `dot` binary: say why, keep going.
        print(f"Plot skipped ({path} not written): {e}")
        return False
    print(f"Model drawing written to {path}")
    return True


def save_and_reload(model, path, x, custom_objects=None):
    """Guide §4: ``model.save(path)``, ``load_model(path)``, same predictions.

    Returns the reloaded model; raises AssertionError if its predictions on
    ``x`` differ from ``model``'s.
    """
    import numpy as np

    import mlxfunctional as keras

    model.save(path)
    reloaded = keras.models.load_model(path, custom_objects=custom_objects)
    before = _as_list(model.predict(x, verbose=0))
    after = _as_list(reloaded.predict(x, verbose=0))
    for b, a in zip(before, after):
        if b.shape != a.shape or not np.array_equal(b, a):
            raise AssertionError(f"the model reloaded from {path} predicts differently")
    print(f"Saved to {path}; reloaded it: identical predictions on "
          f"{len(before[0]):,} samples")
    return reloaded


def _as_list(outputs):
    """A model's outputs (one array, a list or a dict) as a list of numpy arrays."""
    import numpy as np

    if isinstance(outputs, dict):
        outputs = [outputs[k] for k in sorted(outputs)]
    elif not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o) for o in outputs]
