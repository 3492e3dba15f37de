"""The optimized-BLAS preload: where it applies, and the warning when it can't."""

import json
import os
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


@pytest.mark.parametrize("hosts,preset,expected", [
    ([["127.0.0.1:5000"], ["127.0.0.1:5001"]], None, str(max(1, (os.cpu_count() or 1) // 2))),
    ([["127.0.0.1:5000"], ["127.0.0.1:5001"]], "3", "3"),  # the user's choice stands
    ([["10.0.0.1:5000"], ["10.0.0.2:5000"]], None, None),  # one rank per machine
])
def test_local_ranks_share_the_cores(tmp_path, hosts, preset, expected):
    hostfile = tmp_path / "hosts.json"
    hostfile.write_text(json.dumps(hosts))
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env.update(MLX_RANK="0", MLX_HOSTFILE=str(hostfile))
    if preset:
        env["OPENBLAS_NUM_THREADS"] = preset
    code = "import os, mlxfunctional; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(expected)
