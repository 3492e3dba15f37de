"""bench/peers.py: its table's arithmetic, and the workers that need no peer venv
(mlxfunctional and the MLX loop) running a workload to the end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import peers  # noqa: E402


def _record(impl, workload, per_s, other=0.0):
    return {"impl": impl, "workload": workload, "per_s": per_s, "other_cores": other}


def test_table_gives_medians_ranges_and_ratios_to_the_best_peer_and_the_mlx_loop():
    records = [_record("mlxf", "mlp_train", v) for v in (90.0, 300.0, 100.0)]
    records += [_record("keras_jax", "mlp_train", v, 0.5) for v in (200.0, 210.0, 190.0)]
    records += [_record("torch", "mlp_train", v) for v in (120.0, 125.0, 110.0)]
    records += [_record("mlx", "mlp_train", v, 1.25) for v in (400.0, 50.0, 80.0)]
    records.append({"impl": "torch", "workload": "mlp_train", "other_cores": 0.0, "rc": 1})
    row = peers.table(records, list(peers.IMPLS), ["mlp_train"]).splitlines()[-1]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "mlp_train"
    assert cells[1] == "100 [90.00-300]"  # median of 90, 100, 300; under 100 with decimals
    assert cells[2] == "200 [190-210]"
    assert cells[3] == "120 [110-125] (1 failed)"
    assert cells[4] == "80.00 [50.00-400]"
    assert cells[5] == "0.50x (Keras 3 + JAX)"  # 100 / 200: the best peer's median
    assert cells[6] == f"{100 / 80:.2f}x"
    assert cells[7] == "1.25"


def test_table_can_read_the_fastest_window_rates():
    records = [dict(_record("mlxf", "mlp_predict", 10.0), best_per_s=v) for v in (30.0, 20.0)]
    records += [dict(_record("mlx", "mlp_predict", 99.0), best_per_s=v) for v in (40.0, 60.0)]
    row = peers.table(records, ["mlxf", "mlx"], ["mlp_predict"], "best_per_s").splitlines()[-1]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["25.00 [20.00-30.00]", "50.00 [40.00-60.00]"]
    assert cells[3:5] == ["0.50x (MLX loop (compiled))", "0.50x"]


@pytest.mark.parametrize("impl", ["mlxf", "mlx"])
def test_mlx_workers_run_the_predict_workload(impl):
    done = subprocess.run([sys.executable, str(BENCH / "peers_workers.py"), impl, "mlp_predict",
                           "--quick"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    record = json.loads(line[len("RESULT "):])
    # --quick: 2 windows of one predict over the 10,000 test rows, each timed.
    assert record["samples"] == 20_000 and len(record["windows"]) == 2
    assert record["per_s"] == pytest.approx(20_000 / sum(record["windows"]))
    assert record["best_per_s"] == pytest.approx(10_000 / min(record["windows"]))
    # Both run with OpenBLAS where the machine has it (else the bundled BLAS is named).
    assert "openblas" in record["blas"].lower() or "bundled" in record["blas"]
