"""``mlxf summary``, ``mlxf plot``, ``mlxf predict``, ``mlxf convert`` and ``mlxf info``."""

import os
import platform
import shutil
import subprocess
import sys

from .errors import (EXIT_FAILURE, EXIT_MISMATCH, EXIT_NO_GRAPHVIZ, CLIError,
                     load_model_file, require_positive)
from .inputs import load_inputs


def add_parsers(sub):
    """Adds the subcommands of this module to ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("summary", help="print a saved model's summary")
    p.add_argument("file", help="a model file (.mlxf, Keras .keras) or model folder")
    p.add_argument("--expand-nested", action="store_true", help="show nested models' layers")
    p.set_defaults(run=run_summary)

    p = sub.add_parser("plot", help="draw a saved model (png, svg, pdf or dot)")
    p.add_argument("file", help="a model file (.mlxf, Keras .keras) or model folder")
    p.add_argument("-o", "--output", help="the drawing; its suffix picks the format "
                   "(default: the model file's name with .svg)")
    p.add_argument("--no-shapes", action="store_true", help="leave out the tensor shapes")
    p.add_argument("--show-dtype", action="store_true")
    p.add_argument("--show-layer-activations", action="store_true")
    p.add_argument("--show-trainable", action="store_true")
    p.add_argument("--expand-nested", action="store_true", help="draw nested models' layers")
    p.add_argument("--rankdir", default="TB", choices=["TB", "LR", "BT", "RL"])
    p.add_argument("--dpi", type=int, default=200)
    p.set_defaults(run=run_plot)

    p = sub.add_parser("predict", help="run a saved model on a .npy file of inputs")
    p.add_argument("file", help="a model file (.mlxf, Keras .keras) or model folder")
    p.add_argument("input", help="a .npy array with the batch dimension first, or for a "
                   "model with several inputs a .npz with one array per input name")
    p.add_argument("-o", "--output", help="write the predictions to this .npy file "
                   "(.npz, keyed by output name, for several outputs)")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(run=run_predict)

    p = sub.add_parser("convert", help="rewrite a saved model in another format "
                       "(.mlxf, model folder, Keras .keras)")
    p.add_argument("file", help="the model to read (.mlxf, .keras or a model folder)")
    p.add_argument("output", help="the model to write; its suffix picks the format "
                   "(.mlxf, .keras, or a folder path ending in /)")
    p.set_defaults(run=run_convert)

    p = sub.add_parser("info", help="versions, MLX device, BLAS and Graphviz in use")
    p.set_defaults(run=run_info)


def run_summary(args):
    model = load_model_file(args.file)
    model.summary(expand_nested=args.expand_nested)


def run_convert(args):
    """Reads ``args.file`` with its compile settings and optimizer state and writes
    it to ``args.output`` (the suffix picks the format); nothing is written when
    reading fails or the output form is unknown."""
    from .. import models
    from ..saving import ModelFileError

    from .errors import EXIT_CORRUPT, require_file

    require_file(args.file, "model file")
    try:
        model = models.load_model(args.file)
    except ModelFileError as e:
        raise CLIError(f"{e}", EXIT_CORRUPT) from None
    try:
        model.save(args.output)
    except (ValueError, NotImplementedError, OSError) as e:
        raise CLIError(f"cannot write {args.output!r}: {e}", EXIT_FAILURE) from None
    print(f"{args.file} -> {args.output}")


def run_plot(args):
    from ..utils.plot import GraphvizNotFoundError, plot_model

    require_positive(args.dpi, "--dpi", EXIT_FAILURE)
    model = load_model_file(args.file)
    out = args.output or os.path.splitext(os.path.basename(args.file.rstrip("/\\")))[0] + ".svg"
    try:
        plot_model(model, to_file=out, show_shapes=not args.no_shapes,
                   show_dtype=args.show_dtype, rankdir=args.rankdir,
                   expand_nested=args.expand_nested, dpi=args.dpi,
                   show_layer_activations=args.show_layer_activations,
                   show_trainable=args.show_trainable)
    except GraphvizNotFoundError as e:
        raise CLIError(f"{e} (a .dot output needs no Graphviz)", EXIT_NO_GRAPHVIZ) from None
    except ValueError as e:  # an unknown suffix
        raise CLIError(str(e), EXIT_FAILURE) from None
    except OSError as e:
        raise CLIError(f"cannot write {out!r}: {e}", EXIT_FAILURE) from None
    print(f"Wrote {out}")


def _check_input(array, tensor):
    """Raises ``CLIError(EXIT_MISMATCH)`` unless ``array`` fits the symbolic ``tensor``."""
    expected = tuple(tensor.shape)
    received = tuple(array.shape)
    fits = len(expected) == len(received) and all(
        e is None or e == r for e, r in zip(expected, received))
    if not fits:
        hint = ""
        if len(received) == len(expected) - 1:
            hint = " (the first dimension is the batch: for one sample use shape (1, ...))"
        raise CLIError(f"input {tensor.name!r} expects shape {tuple(expected)}, received "
                       f"{tuple(received)}{hint}", EXIT_MISMATCH)
    if array.dtype.kind not in "biuf":
        raise CLIError(f"input {tensor.name!r}: dtype {array.dtype} is not numeric",
                       EXIT_MISMATCH)


def run_predict(args):
    import numpy as np

    from ..engine.index_bounds import IndexOutOfRangeError

    # A batch size is how the input is fed: a bad one is an input error (exit 4).
    require_positive(args.batch_size, "--batch-size", EXIT_MISMATCH)
    model = load_model_file(args.file)
    names = list(model.output_names)
    if args.output:
        _check_output_name(args.output, names)
    arrays = load_inputs(args.input, [t.name for t in model.inputs])
    for array, tensor in zip(arrays, model.inputs):
        _check_input(array, tensor)
    arrays = [a.astype(t.dtype, copy=False) for a, t in zip(arrays, model.inputs)]
    if len({len(a) for a in arrays}) > 1:
        raise CLIError("the input arrays have different batch sizes: "
                       f"{[len(a) for a in arrays]}", EXIT_MISMATCH)
    try:
        outputs = model.predict(arrays if len(arrays) > 1 else arrays[0],
                                batch_size=args.batch_size, verbose=0)
    except IndexOutOfRangeError as e:  # an id past an Embedding's table, say
        raise CLIError(f"{e}", EXIT_MISMATCH) from None
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    outputs = [np.asarray(o) for o in outputs]
    for name, out in zip(names, outputs):
        print(f"{name}: shape {out.shape}, dtype {out.dtype}")
        with np.printoptions(precision=4, suppress=True, threshold=50, edgeitems=3):
            print(out[:5])
    if args.output:
        _write_outputs(args.output, names, outputs)


def _check_output_name(path, names):
    """Refuses, before any work, an ``-o`` name numpy would not write as given (it
    appends ``.npy``/``.npz`` to any other name)."""
    if path.endswith(".npz") or (len(names) == 1 and path.endswith(".npy")):
        return
    if len(names) == 1:
        raise CLIError(f"-o {path!r}: predictions are written to a .npy file (or a .npz); "
                       "give a name ending in .npy", EXIT_FAILURE)
    raise CLIError(f"the model has {len(names)} outputs: write them to a .npz file, not "
                   f"{path!r}", EXIT_FAILURE)


def _write_outputs(path, names, outputs):
    import numpy as np

    try:
        if path.endswith(".npy"):
            np.save(path, outputs[0])
        else:
            np.savez(path, **dict(zip(names, outputs)))
    except OSError as e:
        raise CLIError(f"cannot write {path!r}: {e}", EXIT_FAILURE) from None
    print(f"Wrote {path}")


def _overlap_row():
    """Whether ``fit``/``predict`` prepare step i + 1 while step i computes, and why."""
    import mlx.core as mx

    from ..engine.step_calls import overlaps_host_work

    if mx.default_device() == mx.gpu:
        return "yes (GPU)"
    if overlaps_host_work():
        return "yes (BLAS leaves a core to the host)"
    return "no (every core computes; OPENBLAS_NUM_THREADS below the cores turns it on)"


def _dot_version():
    """``dot -V``'s version line, or None when Graphviz is not on the PATH."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        done = subprocess.run([dot, "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return f"{dot} (did not run)"
    return f"{(done.stderr or done.stdout).strip()} ({dot})"


def run_info(args):
    import mlx.core as mx
    import numpy as np

    import mlxfunctional

    from .. import _blas, _denormals

    try:
        from importlib.metadata import version

        mlx_version = version("mlx")
    except Exception:  # a source build without metadata
        mlx_version = getattr(mx, "__version__", "unknown")
    try:
        import graphviz

        graphviz_py = graphviz.__version__
    except ImportError:
        graphviz_py = "not installed (pip install graphviz)"
    dot = _dot_version() or ("not found: plots need Graphviz (macOS: brew install graphviz; "
                             "Debian/Ubuntu: apt-get install graphviz)")
    rows = [
        ("mlxfunctional", f"{mlxfunctional.__version__} ({os.path.dirname(mlxfunctional.__file__)})"),
        ("MLX", mlx_version),
        ("numpy", np.__version__),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("MLX default device", str(mx.default_device())),
        ("BLAS", _blas.describe()),
        *_blas.kernels(),
        ("steps overlap host", _overlap_row()),
        ("denormal floats", f"flushed to zero: {_denormals.status}"
         if _denormals.status.startswith("on") else f"kept: {_denormals.status}"),
        ("graphviz (Python)", graphviz_py),
        ("Graphviz dot", dot),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
