"""bench/vgg19.py --quick runs to the end: the hand-written VGG19 gets the same
weights as applications.VGG19 (same outputs) and the ratio line is printed."""

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "vgg19.py"


def test_vgg19_bench_quick():
    done = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"failed:\n{done.stdout[-2000:]}\n{done.stderr}"
    # Importing mlx.core before mlxfunctional would warn (slow BLAS): the bench must not.
    assert "Traceback" not in done.stderr and "RuntimeWarning" not in done.stderr, done.stderr
    out = done.stdout
    assert out.startswith("machine: ") and "\nBLAS: " in out, out
    assert re.search(r"^build VGG19\(weights=None\): [\d.]+ ms median", out, re.M), out
    assert "< 1e-3: OK" in out, out
    assert re.search(r"^  ratio mlxfunctional/hand-written \(images/s\): "
                     r"predict \d+\.\d{3}, call \d+\.\d{3}$", out, re.M), out
