"""The ``mlxf`` command: ``demo``, ``summary``, ``plot``, ``predict``, ``info``, ``vgg19``.

Exit codes (documented in ``mlxf --help``): 0 success; 1 any other failure;
2 a file that does not exist (and argparse's usage errors); 3 a model file that
is corrupt or unreadable (:class:`mlxfunctional.saving.ModelFileError`); 4 input
data that cannot be read or does not fit the model; 5 Graphviz missing for a
drawing that needs it. These errors print one ``mlxf: error: ...`` message on
stderr, never a traceback.
"""

import argparse
import sys

from .errors import (EXIT_CORRUPT, EXIT_FAILURE, EXIT_MISMATCH, EXIT_MISSING,
                     EXIT_NO_GRAPHVIZ, CLIError)

_EPILOG = f"""exit codes:
  0  success
  {EXIT_FAILURE}  any other failure
  {EXIT_MISSING}  a file does not exist, or pretrained weights cannot be downloaded
     (or the command line is wrong)
  {EXIT_CORRUPT}  a model file is corrupt or unreadable
  {EXIT_MISMATCH}  input data cannot be read, does not match the model's inputs, or cannot
     be batched as asked (--batch-size)
  {EXIT_NO_GRAPHVIZ}  Graphviz's `dot` is needed and not installed
"""


def build_parser():
    """The ``argparse`` parser of ``mlxf`` and its subcommands."""
    from . import commands, demo, vgg19

    parser = argparse.ArgumentParser(
        prog="mlxf", description="mlxfunctional: the Keras functional API on Apple's MLX.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo.add_parser(sub)
    commands.add_parsers(sub)
    vgg19.add_parser(sub)
    return parser


def main(argv=None):
    """Runs ``mlxf`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    As a console script its return value becomes the process's exit status.
    """
    # Import the package before anything imports mlx.core: it picks the BLAS MLX uses.
    import mlxfunctional  # noqa: F401

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except CLIError as e:
        print(f"mlxf: error: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("mlxf: interrupted", file=sys.stderr)
        return 130
