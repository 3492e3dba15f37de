"""Data-parallel fit/evaluate/predict over MLX's ring backend, two processes on loopback.

The processes run tests/distributed_worker.py; the truth is the same script
run as one process on the same global batches.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).resolve().parent / "distributed_worker.py"
PYTHON = sys.executable
LAUNCH = Path(PYTHON).parent / "mlx.launch"


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_ranks(scenario, out, n=2, env=None):
    """Starts ``n`` ranks of the worker directly, as mlx.launch's ring backend does
    (MLX_RANK + a hostfile), so the test sees each rank's own exit status."""
    hostfile = out / "hosts.json"
    hostfile.write_text(json.dumps([[f"127.0.0.1:{p}"] for p in _free_ports(n)]))
    procs = []
    for rank in range(n):
        rank_env = {**os.environ, "MLX_RANK": str(rank), "MLX_HOSTFILE": str(hostfile),
                    **(env or {})}
        procs.append(subprocess.Popen([PYTHON, str(WORKER), scenario, str(out)], env=rank_env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    return procs


def launch(scenario, out):
    """The user's way: ``mlx.launch -n 2 --python python worker.py``."""
    done = subprocess.run([str(LAUNCH), "-n", "2", "--python", PYTHON, str(WORKER), scenario,
                           str(out)], capture_output=True, text=True, timeout=300)
    reports = [out / f"rank{r}.json" for r in range(2)]
    assert all(p.exists() for p in reports), done.stdout + done.stderr
    return [json.loads(p.read_text()) for p in reports], \
        [list(np.load(out / f"weights_rank{r}.npz").values()) for r in range(2)]


def single(scenario, out):
    done = subprocess.run([PYTHON, str(WORKER), scenario, str(out)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "rank0.json").read_text()), \
        list(np.load(out / "weights_rank0.npz").values())


def both_ways_with_equal_weights(scenario, tmp_path):
    """Runs ``scenario`` as one process and as 2 ranks; checks that both ranks end
    bit-identical and equal to the one process; returns both's reports."""
    (tmp_path / "one").mkdir(), (tmp_path / "two").mkdir()
    ref, w_single = single(scenario, tmp_path / "one")
    reports, (w0, w1) = launch(scenario, tmp_path / "two")
    for a, b, c in zip(w0, w1, w_single):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)
    return ref, reports


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    one, two = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("two")
    return single("train", one), launch("train", two), two


def test_both_ranks_end_with_the_weights_of_one_process(runs):
    (ref, w_single), (reports, (w0, w1)), _ = runs
    assert [r["size"] for r in reports] == [2, 2]
    # Each rank validated on its part of every batch of the 41 validation rows (32 + 9).
    assert ref["local_val_rows"] == 41 and [r["local_val_rows"] for r in reports] == [20, 21]
    for a, b, c in zip(w0, w1, w_single):
        np.testing.assert_array_equal(a, b)  # identical on both ranks
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)  # = one process, 3 epochs


def test_logged_metrics_equal_the_single_process_ones(runs):
    (ref, _), (reports, _), _ = runs
    for report in reports:  # every rank logs the same numbers
        assert set(report["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert len(report["batch_losses"]) == 18  # 6 batches x 3 epochs, every one logged
        np.testing.assert_allclose(report["batch_losses"], ref["batch_losses"], rtol=1e-5)
        for key, values in ref["history"].items():
            np.testing.assert_allclose(report["history"][key], values, rtol=1e-5, atol=1e-6)
        for key, value in ref["evaluation"].items():
            assert report["evaluation"][key] == pytest.approx(value, rel=1e-5, abs=1e-6)
        # predict gathers both shards in order (45 rows in batches of 20: 10+10, 10+10, 3+2).
        np.testing.assert_allclose(report["predictions"], ref["predictions"], rtol=1e-5,
                                   atol=1e-6)


def test_only_rank_0_writes_files(runs):
    (ref, _), (reports, _), out = runs
    finals = {"files/ckpt.mlxf", "files/log.csv", "files/final.mlxf",
              "files/final.weights.npz"}
    assert finals <= set(reports[0]["written"])
    assert reports[1]["written"] == []
    assert sorted(p.name for p in (out / "files").iterdir()) == \
        ["ckpt.mlxf", "final.mlxf", "final.weights.npz", "log.csv"]
    csv_lines = (out / "files" / "log.csv").read_text().splitlines()
    assert len(csv_lines) == 4 and csv_lines[0].startswith("epoch,accuracy,loss")


def test_losses_that_are_not_a_mean_over_rows_train_as_on_one_process(tmp_path):
    # Sums over rows (reduction="sum", an activity regularizer) and means over counts
    # that depend on the data (sample weights, ignore_class) take each rank's share of
    # the global batch's loss, not an average of the ranks' own losses; batches with
    # fewer rows than ranks are trained on whole by every rank, not skipped.
    ref, reports = both_ways_with_equal_weights("reductions", tmp_path)
    for report in reports:
        assert len(report["history"]["loss"]) == 4
        for key, values in ref["history"].items():
            np.testing.assert_allclose(report["history"][key], values, rtol=1e-5, atol=1e-6)


def test_callbacks_that_differ_between_ranks_or_predict_locally_keep_ranks_together(tmp_path):
    ref, reports = both_ways_with_equal_weights("callbacks", tmp_path)
    assert len(reports[0]["batch_losses"]) == 21 and reports[1]["batch_losses"] == []
    np.testing.assert_allclose(reports[0]["batch_losses"], ref["batch_losses"], rtol=1e-5)


def test_shuffled_training_stays_identical_across_ranks_and_only_rank_0_prints(tmp_path):
    procs = start_ranks("shuffle", tmp_path)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert outputs[0][0].count("Epoch ") == 2 and "loss:" in outputs[0][0]
    assert (tmp_path / "ckpt.mlxf").is_file()
    assert outputs[1][0] == ""  # rank 1 prints nothing
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    w0, w1 = (list(np.load(tmp_path / f"weights_rank{r}.npz").values()) for r in range(2))
    # 203 rows in batches of 32: six 16/16 shards, then 5/6 -- each rank its own rows.
    assert [r["local_rows"] for r in reports] == [101, 102]
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)


def test_a_shuffled_run_with_dropout_resumes_exactly_on_every_rank(tmp_path):
    procs = start_ranks("resume", tmp_path)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    stored = reports[0]["stored"]  # (rank 0 wrote the file both loaded)
    # The shared shuffle seed and each rank's own random state (they differ: each
    # rank drew its own Dropout masks).
    assert stored["epoch"] == 1 and stored["shuffle_seed"] is not None
    assert len(stored["random_state"]) == 2
    assert stored["random_state"][0] != stored["random_state"][1]
    assert [r["exact"] for r in reports] == [True, True]
    w0, w1 = (list(np.load(tmp_path / f"weights_rank{r}.npz").values()) for r in range(2))
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)


def test_backup_and_restore_resumes_mid_epoch_exactly_on_every_rank(tmp_path):
    procs = start_ranks("backup", tmp_path)
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    stored = reports[0]["stored"]
    # 7 batches per epoch; backups after global batches 4 and 8 (epoch 1, 1 batch done).
    assert (stored["epoch"], stored["step"], stored["iterations"]) == (1, 1, 8)
    assert len(stored["random_state"]) == len(stored["epoch_random_state"]) == 2
    assert stored["shuffle_seed"] is not None
    assert [r["exact"] for r in reports] == [True, True]
    assert not (tmp_path / "backup").exists()  # removed by the run that finished


def test_batchnorm_statistics_are_averaged_and_a_stop_on_one_rank_stops_all(tmp_path):
    procs = start_ranks("batchnorm", tmp_path)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["epochs"] for r in reports] == [1, 1]  # rank 1's stop_training reached rank 0
    # ... and mid-epoch: both ranks ran batches 0-2 of the second fit, then stopped.
    assert [r["batches"] for r in reports] == [[0, 1, 2], [0, 1, 2]]
    w0, w1 = (list(np.load(tmp_path / f"weights_rank{r}.npz").values()) for r in range(2))
    assert len(w0) == 8  # kernel, bias, gamma, beta, moving mean and variance, kernel, bias
    for a, b in zip(w0, w1):  # moving statistics included: each rank saw its own shard
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("scenario", ["die", "hang"])
def test_a_lost_rank_makes_the_other_fail_within_bounded_time(tmp_path, scenario):
    # A dead peer is reported by the backend itself (in about 2 s); the watchdog's
    # 30 s there only keeps a cold first compile from being taken for a hang.
    timeout = "4" if scenario == "hang" else "30"
    procs = start_ranks(scenario, tmp_path, env={"MLXF_DISTRIBUTED_TIMEOUT": timeout})
    start = time.monotonic()
    try:
        out0, err0 = procs[0].communicate(timeout=90)
    finally:
        for p in procs:
            p.kill()
            p.communicate()
    elapsed = time.monotonic() - start
    assert procs[0].returncode != 0 and elapsed < 60, (elapsed, err0)
    assert "Traceback" not in err0 or "DistributedError" in err0
    if scenario == "die":
        assert "DistributedError: fit() failed on rank 0 of 2" in err0
        assert "connection to a peer was lost" in (tmp_path / "error_rank0.txt").read_text()
    else:  # rank 1 is frozen with its sockets open: rank 0's watchdog ends it
        assert procs[0].returncode == 75
        assert "no step finished for" in err0 and "MLXF_DISTRIBUTED_TIMEOUT" in err0
    assert not (tmp_path / "rank0.json").exists()  # nothing reported as if it had finished


def test_distribute_argument_in_a_single_process():
    import mlx.core as mx

    import mlxfunctional as keras
    from mlxfunctional import distribute

    assert distribute.resolve(None) is None and distribute.resolve(False) is None
    assert distribute.resolve(mx.distributed.init()) is None  # a group of one
    assert (distribute.rank(), distribute.size(), distribute.is_chief()) == (0, 1, True)
    with pytest.raises(ValueError, match="not part of a distributed group.*mlx.launch"):
        distribute.resolve(True)
    with pytest.raises(ValueError, match="distribute must be"):
        distribute.resolve("ring")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    x = np.ones((4, 3), "float32")
    with pytest.raises(ValueError, match="not part of a distributed group"):
        model.fit(x, x[:, :1], verbose=0, distribute=True)
    assert model.fit(x, x[:, :1], verbose=0, distribute=False).history["loss"]
