"""MLX's CPU threads flush denormal floats to zero; the user's thread does not.

Each case runs in a fresh process: the modes are set while the package starts
MLX's threads (``mlxfunctional/_denormals.py``), so only a new import shows them.
The truth is the hardware's: 1e-39 (a float32 denormal) times 1.0001 is 1.0001e-39
where denormals are kept, and 0 where they are flushed.
"""

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or platform.machine().lower() not in ("x86_64", "amd64", "aarch64"),
    reason="denormals are flushed on Linux x86-64 and aarch64 only")

PROBE = r"""
import json, sys
if sys.argv[1] == "mlx-first":
    import mlx.core
import mlxfunctional
import mlx.core as mx
import numpy as np

tiny = mx.array([1e-39], mx.float32)
compiled = mx.compile(lambda a: a * 1.0001)
print(json.dumps({
    "status": mlxfunctional._denormals.status,
    "mlx": (tiny * 1.0001).item(),
    "mlx_compiled": compiled(tiny).item(),
    # through OpenBLAS (a GEMM big enough to use its threads)
    "mlx_matmul": (mx.full((256, 256), 1e-39) @ mx.full((256, 256), 1e-3))[0, 0].item(),
    "numpy": float(np.float32(1e-39) * np.float32(1.0001)),
    "python": 1e-310 * 1.0,
}))
"""


def probe(mode="default", **env):
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_mlx_flushes_while_the_users_thread_keeps_denormals():
    got = probe()
    assert got["status"].startswith("on"), got
    assert got["mlx"] == 0.0 and got["mlx_compiled"] == 0.0 and got["mlx_matmul"] == 0.0, got
    # numpy and Python floats in the importing thread are as without the package
    assert got["numpy"] == pytest.approx(1.0001e-39, rel=1e-4)
    assert got["python"] == 1e-310


def test_the_environment_variable_keeps_mlxs_defaults():
    got = probe(MLXF_FLUSH_DENORMALS="0")
    assert got["status"].startswith("off"), got
    assert got["mlx"] == pytest.approx(1.0001e-39, rel=1e-4)
    assert got["mlx_matmul"] == pytest.approx(256 * 1e-42, rel=1e-2)


def test_mlx_imported_first_keeps_its_modes_and_says_so():
    got = probe("mlx-first")
    assert "mlx.core was imported before" in got["status"]
    assert got["mlx"] == pytest.approx(1.0001e-39, rel=1e-4)
