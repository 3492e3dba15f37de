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


def _info(**env):
    full = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "mlxfunctional.cli", "info"], env=full,
                          capture_output=True, text=True, timeout=120)


def _row(out, name):
    import re

    found = re.search(rf"^{re.escape(name)}\s+(.*)$", out, re.M)
    assert found, out
    return found.group(1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OpenBLAS rows are Linux's")
def test_info_names_the_kernels_openblas_itself_announces():
    # OPENBLAS_VERBOSE=2 makes every OpenBLAS print "Core: <name>" on stderr when it
    # loads, in load order: numpy's (the package imports numpy first, see
    # _denormals.py), then MLX's (preloaded next). That is the libraries' own word,
    # independent of the ctypes calls behind the rows.
    if _blas._find() is None:
        pytest.fail("OpenBLAS is missing: scripts/setup.sh installs libopenblas0-pthread")
    done = _info(OPENBLAS_VERBOSE="2", OPENBLAS_NUM_THREADS="1")
    assert done.returncode == 0, done.stderr
    announced = [line.split(":", 1)[1].strip() for line in done.stderr.splitlines()
                 if line.startswith("Core:")]
    assert announced, done.stderr
    mlx_row = _row(done.stdout, "BLAS kernel (MLX)")
    numpy_row = _row(done.stdout, "BLAS kernel (numpy)")
    assert mlx_row.startswith(f"{announced[-1]}, 1 thread(s) (from libopenblas"), mlx_row
    if numpy_row.startswith("not an OpenBLAS"):  # a numpy built on another BLAS
        assert len(announced) == 1
    else:
        assert len(announced) == 2 and numpy_row.startswith(f"{announced[0]}, 1 thread(s)")


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.uname().machine != "x86_64",
                    reason="the Haswell kernel is an x86_64 one")
def test_info_shows_a_forced_kernel_and_the_thread_count():
    # Only this child process gets the variable; the suite's own environment is untouched.
    done = _info(OPENBLAS_CORETYPE="Haswell", OPENBLAS_NUM_THREADS="2")
    assert done.returncode == 0, done.stderr
    row = _row(done.stdout, "BLAS kernel (MLX)")
    assert row.startswith("Haswell, 2 thread(s), forced by OPENBLAS_CORETYPE=Haswell"), row


def test_info_without_openblas_says_so():
    done = _info(MLXF_BLAS="0")
    assert done.returncode == 0, done.stderr
    row = _row(done.stdout, "BLAS kernel (MLX)")
    expected = "Accelerate" if sys.platform == "darwin" else "reference BLAS bundled with MLX"
    assert row.startswith(expected), row


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OpenBLAS is Linux's here")
@pytest.mark.parametrize("threads", ["1", "all"])
def test_fit_overlaps_host_work_only_when_blas_leaves_a_core_free(threads):
    # OpenBLAS reads its thread count when it loads, so each case is its own process:
    # one BLAS thread leaves the host a core (when there are 2+), one per core does not.
    if _blas._find() is None:
        pytest.fail("OpenBLAS is missing: scripts/setup.sh installs libopenblas0-pthread")
    cores = len(os.sched_getaffinity(0))
    count = "1" if threads == "1" else str(cores)
    code = ("import numpy as np, mlxfunctional as keras, mlxfunctional._blas as b\n"
            "m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
            "m.compile(loss='mse')\n"
            "m.fit(np.ones((8, 3), 'float32'), np.ones((8, 2), 'float32'), verbose=0)\n"
            "print(b.host_core_free(), m._overlap_steps)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "MLX_R"))}
    env["OPENBLAS_NUM_THREADS"] = count
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    free = count == "1" and cores > 1
    assert done.stdout.split() == [str(free), str(free)]
    info = _info(OPENBLAS_NUM_THREADS=count)  # and `mlxf info` says so
    assert _row(info.stdout, "steps overlap host").startswith("yes" if free else "no")


def test_ranks_sharing_the_machine_count_against_the_free_cores(tmp_path, monkeypatch):
    # 2 local ranks, each with half the cores' BLAS threads (the default sharing): no
    # core is left over, whatever this process's own thread count says.
    hostfile = tmp_path / "hosts.json"
    hostfile.write_text(json.dumps([["127.0.0.1:5000"], ["127.0.0.1:5001"]]))
    monkeypatch.setenv("MLX_RANK", "0")
    monkeypatch.setenv("MLX_HOSTFILE", str(hostfile))
    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(_blas, "loaded", "libopenblas.so.0")
    monkeypatch.setattr(_blas, "_openblas_calls", lambda path: ("Haswell", max(1, cores // 2)))
    assert _blas._local_ranks() == 2
    assert _blas.host_core_free() is (max(1, cores // 2) * 2 < cores)
    monkeypatch.delenv("MLX_RANK")  # alone on the machine, the same threads leave cores
    assert _blas.host_core_free() is (max(1, cores // 2) < cores)
    monkeypatch.setattr(_blas, "_openblas_calls", lambda path: None)  # not an OpenBLAS
    assert _blas.host_core_free() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OpenBLAS is Linux's here")
def test_thread_count_is_read_again_on_every_call():
    # The library's functions are looked up once (fit and predict ask on every call),
    # but a count changed at run time (openblas_set_num_threads) must still be seen.
    if _blas._find() is None:
        pytest.fail("OpenBLAS is missing: scripts/setup.sh installs libopenblas0-pthread")
    cores = len(os.sched_getaffinity(0))
    code = ("import ctypes, mlxfunctional, mlxfunctional._blas as b\n"
            "before = b.host_core_free(), b._openblas_calls(b.loaded)[1]\n"
            "ctypes.CDLL(b.loaded).openblas_set_num_threads(1)\n"
            "print(*before, b.host_core_free(), b._openblas_calls(b.loaded)[1])")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "MLX_R"))}
    env["OPENBLAS_NUM_THREADS"] = str(cores)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", str(cores), str(cores > 1), "1"]
