"""The optimized-BLAS preload: where it applies, and the warning when it can't."""

import subprocess
import sys

import pytest

from mlxfunctional import _blas


def _run(code, **env):
    import os

    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full,
                          timeout=120)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preload is Linux-only")
def test_openblas_is_loaded_when_mlxfunctional_comes_first():
    if _blas._find() is None:
        pytest.fail("OpenBLAS is missing: scripts/setup.sh installs libopenblas0-pthread")
    out = _run("import mlxfunctional, mlxfunctional._blas as b; print(b.describe())")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OpenBLAS (")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preload is Linux-only")
def test_importing_mlx_first_warns_once_and_can_be_silenced():
    late = _run("import mlx.core; import mlxfunctional; import mlxfunctional._blas as b; "
                "print(b.describe())")
    assert "imported before mlxfunctional" in late.stderr
    assert late.stderr.count("RuntimeWarning") == 1
    assert "bundled with MLX" in late.stdout
    quiet = _run("import mlx.core; import mlxfunctional", MLXF_BLAS="0")
    assert "RuntimeWarning" not in quiet.stderr
