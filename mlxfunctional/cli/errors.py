"""Exit codes of ``mlxf`` and the error that carries one to ``main``."""

EXIT_FAILURE = 1
EXIT_MISSING = 2
EXIT_CORRUPT = 3
EXIT_MISMATCH = 4
EXIT_NO_GRAPHVIZ = 5


class CLIError(Exception):
    """A failure to report as one line on stderr with a given exit code.

    Args:
        message: what went wrong and, where possible, what to do.
        code: the process exit status (one of the ``EXIT_*`` constants).
    """

    def __init__(self, message, code=EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def require_file(path, what="file"):
    """Raises ``CLIError(EXIT_MISSING)`` unless ``path`` exists."""
    import os

    if not os.path.exists(path):
        raise CLIError(f"{what} {str(path)!r} does not exist", EXIT_MISSING)


def require_positive(value, option, code):
    """Raises ``CLIError(code)`` unless the integer option ``value`` is at least 1."""
    if value < 1:
        raise CLIError(f"{option} must be a positive integer, received {value}", code)


def load_model_file(path):
    """``models.load_model(path, compile=False)`` with the CLI's errors.

    A missing path exits 2; anything wrong with the file (``ModelFileError``)
    exits 3 with the loader's list of problems.
    """
    from .. import models
    from ..saving import ModelFileError

    require_file(path, "model file")
    try:
        return models.load_model(path, compile=False)
    except ModelFileError as e:
        raise CLIError(f"{e}", EXIT_CORRUPT) from None
    except (OSError, MemoryError) as e:
        raise CLIError(f"cannot read model file {str(path)!r}: {e}", EXIT_CORRUPT) from None
