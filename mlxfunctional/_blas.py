"""Use an optimized BLAS with MLX's Linux CPU wheel.

The ``mlx[cpu]`` wheel bundles the reference Netlib BLAS (~4 GFLOP/s for
sgemm). Loading OpenBLAS with ``RTLD_GLOBAL`` *before* ``mlx.core`` is first
imported makes MLX resolve ``cblas_sgemm`` there (~70 GFLOP/s on 2 cores;
measured in shared/NOTES.md). It must run before anything imports mlx.core.
Set ``MLXF_BLAS=0`` to keep the bundled BLAS, ``MLXF_BLAS=/path/lib.so`` to
choose the library.
"""

import ctypes
import ctypes.util
import functools
import json
import os
import sys
import warnings

_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "libopenblas.so.0",
)

loaded = None  # the path of the BLAS we loaded, or None
reason = "not Linux"


def preload():
    """Loads OpenBLAS globally if possible; returns its path or None."""
    global loaded, reason
    choice = os.environ.get("MLXF_BLAS", "")
    if not sys.platform.startswith("linux"):
        return None
    if choice == "0":
        reason = "disabled by MLXF_BLAS=0"
        return None
    if "mlx.core" in sys.modules:
        reason = "mlx.core was imported before mlxfunctional; import mlxfunctional first"
        if _find() is not None and _uses_bundled_blas():
            warnings.warn(
                "mlx.core was imported before mlxfunctional, so MLX keeps the slow reference "
                "BLAS bundled with its Linux wheel (about 8x slower training). Import "
                "mlxfunctional before mlx.core, or set MLXF_BLAS=0 to silence this.",
                RuntimeWarning, stacklevel=3)
        return None
    _share_cores_between_local_ranks()
    candidates = (choice,) if choice else _CANDIDATES + (ctypes.util.find_library("openblas"),)
    for path in candidates:
        if not path:
            continue
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        loaded, reason = path, "loaded"
        return path
    reason = "OpenBLAS not found (Debian/Ubuntu: apt-get install libopenblas0-pthread)"
    return None


def _share_cores_between_local_ranks():
    """Under ``mlx.launch`` with several ranks on this machine (a ring hostfile of
    loopback addresses), gives each process cores / ranks OpenBLAS threads, unless
    ``OPENBLAS_NUM_THREADS`` is set. OpenBLAS starts a thread per core in every
    process and idle ones spin: measured on 2 cores, 2 ranks, the MNIST MLP's step
    took 6.2 ms with the default against 1.9 ms with one thread each."""
    if "MLX_RANK" not in os.environ or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    local = _local_ranks()
    if local > 1:
        os.environ["OPENBLAS_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // local))


def _local_ranks():
    """The processes of an ``mlx.launch`` job that share this machine: the ranks of a
    ring hostfile of loopback addresses; 1 outside such a job (or another backend)."""
    if "MLX_RANK" not in os.environ:
        return 1
    try:
        with open(os.environ["MLX_HOSTFILE"]) as f:
            hosts = json.load(f)
        local = sum(1 for host in hosts
                    if all(str(a).startswith(("127.", "localhost")) for a in host))
    except (KeyError, OSError, ValueError, TypeError):
        return 1
    return max(1, local)


def host_core_free():
    """Whether MLX's CPU work leaves a core to this process's Python thread: OpenBLAS,
    the only part of MLX's CPU backend that runs on several threads, uses fewer
    threads (times the ranks sharing the machine) than the cores this process may
    run on. ``fit`` then builds step i + 1 while step i computes, and ``predict``
    reads batch i + 1 (see ``engine/step_calls.py``). False when it cannot tell
    (another BLAS, or not Linux): by default OpenBLAS takes every core."""
    got = _openblas_calls(loaded) if loaded else None
    if got is None:
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return got[1] * _local_ranks() < cores


def _find():
    """The first OpenBLAS that exists (without loading it)."""
    for path in _CANDIDATES:
        if os.path.isabs(path) and os.path.exists(path):
            return path
    return ctypes.util.find_library("openblas")


def _uses_bundled_blas():
    # Only MLX's own Linux CPU wheel ships the reference BLAS (mlx_cpu.libs).
    mlx = sys.modules.get("mlx")
    paths = getattr(mlx, "__path__", None) or []
    for base in paths:
        libs = os.path.join(os.path.dirname(base), "mlx_cpu.libs")
        if os.path.isdir(libs) and any("blas" in f for f in os.listdir(libs)):
            return True
    return False


def describe():
    """One line for ``mlxf info``: which BLAS MLX uses and why."""
    if loaded:
        return f"OpenBLAS ({loaded})"
    return f"the BLAS bundled with MLX ({reason})"


# OpenBLAS exports its introspection functions under its plain names; the copy
# inside numpy's wheels (scipy-openblas) prefixes and suffixes them.
_PREFIXES = (("openblas_", ""), ("scipy_openblas_", "64_"), ("scipy_openblas_", ""))


def _openblas_calls(path):
    """(corename, num_threads) of the OpenBLAS at ``path``, read with ctypes.

    ``path`` is normally already mapped into this process, so dlopen returns the
    same instance and the answers describe the kernels that are actually used.
    Returns None when the library is not an OpenBLAS (e.g. the reference BLAS)."""
    functions = _openblas_functions(path)
    if functions is None:
        return None
    corename, threads = functions
    return corename().decode("ascii", "replace"), int(threads())


@functools.lru_cache(maxsize=None)
def _openblas_functions(path):
    """The two introspection functions of the library at ``path``, looked up once:
    ``predict`` and ``fit`` ask for the thread count on every call (through
    ``host_core_free``), and a dlopen plus the lookups cost ~25 us each time (0.8 us
    cached)."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for prefix, suffix in _PREFIXES:
        try:
            corename = getattr(lib, f"{prefix}get_corename{suffix}")
            threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
        except AttributeError:
            continue
        corename.restype = ctypes.c_char_p
        threads.restype = ctypes.c_int
        return corename, threads
    return None


def _mapped(fragment):
    """Paths of the shared libraries mapped into this process whose file name
    contains ``fragment`` (Linux only; empty elsewhere)."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if path.startswith("/") and fragment in os.path.basename(path).lower() \
                        and path not in found:
                    found.append(path)
    except OSError:
        pass
    return found


def numpy_openblas():
    """The OpenBLAS numpy's wheel loaded (a path), or None."""
    import numpy  # noqa: F401  (maps its BLAS into the process)

    mine = os.path.realpath(loaded) if loaded else None
    here = [p for p in _mapped("openblas") if os.path.realpath(p) != mine]
    return here[0] if here else None


def kernels():
    """Rows for ``mlxf info``: for MLX's BLAS and numpy's, which OpenBLAS kernel
    (core name) and how many threads it uses, and whether ``OPENBLAS_CORETYPE``
    forces the kernel. The core name is what OpenBLAS chose at load time: on an
    AVX-512 machine with ``OPENBLAS_CORETYPE=Haswell`` it reports Haswell."""
    forced = os.environ.get("OPENBLAS_CORETYPE")
    note = f", forced by OPENBLAS_CORETYPE={forced}" if forced else ""
    rows = []
    if loaded:
        got = _openblas_calls(loaded)
        if got:
            rows.append(("BLAS kernel (MLX)",
                         f"{got[0]}, {got[1]} thread(s){note} (from {os.path.basename(loaded)})"))
        else:
            rows.append(("BLAS kernel (MLX)", f"not an OpenBLAS ({loaded})"))
    elif sys.platform == "darwin":
        rows.append(("BLAS kernel (MLX)", "Accelerate (chosen by macOS)"))
    else:
        rows.append(("BLAS kernel (MLX)", "reference BLAS bundled with MLX: no tuned kernels"))
    path = numpy_openblas()
    got = _openblas_calls(path) if path else None
    if got:
        rows.append(("BLAS kernel (numpy)",
                     f"{got[0]}, {got[1]} thread(s){note} (from {os.path.basename(path)})"))
    else:
        rows.append(("BLAS kernel (numpy)", "not an OpenBLAS this process can see"))
    return rows
