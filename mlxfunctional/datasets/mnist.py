"""MNIST. The real 10,000-image test set is bundled (Yann LeCun and Corinna
Cortes, CC BY-SA 3.0) so that examples run offline."""

from pathlib import Path

from .idx import read_idx

_DATA = Path(__file__).parent / "data"


def load_sample():
    """The bundled real MNIST test set: ``(x, y)``, uint8 ``(10000, 28, 28)`` and ``(10000,)``."""
    x = read_idx(_DATA / "t10k-images-idx3-ubyte.gz")
    y = read_idx(_DATA / "t10k-labels-idx1-ubyte.gz")
    return x, y
