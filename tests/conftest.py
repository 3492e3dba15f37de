"""Import mlxfunctional before any test module imports mlx.core, so the
optimized BLAS is loaded first (see mlxfunctional/_blas.py)."""

import mlxfunctional  # noqa: F401
import pytest

from mlxfunctional import backend


@pytest.fixture(autouse=True)
def _fresh_names():
    """Every test starts with `dense`, `dense_1`... as after clear_session()."""
    backend.clear_session()
    yield
