"""The package's version, in a leaf module: model files and JSON configs record it, and
importing it from the package's ``__init__`` would import everything."""

__version__ = "0.1.0"


def version():
    """The package's version string (``keras.version()``)."""
    return __version__
