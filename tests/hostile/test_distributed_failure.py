"""A rank that fails inside ``fit`` says so, and the job ends (issue 13, item 13).

``mlx.launch`` 0.32 exits 0 even when every rank fails, so a failure must at least
be readable in the output: each failing rank writes one line naming its rank and
the cause. The ranks are started directly (MLX_RANK + a hostfile, as mlx.launch's
ring backend does) so that the test sees each one's exit status and output.
"""

import time

from test_distributed import start_ranks


def test_an_exception_on_rank_1_is_reported_with_its_rank_and_cause(tmp_path):
    # The watchdog's 30 s only keeps a cold first compile from being taken for a hang.
    procs = start_ranks("raise", tmp_path, env={"MLXF_DISTRIBUTED_TIMEOUT": "30"})
    start = time.monotonic()
    try:
        outputs = [p.communicate(timeout=90) for p in procs]
    finally:
        for p in procs:  # (a hang fails above; nothing is left running)
            p.kill()
            p.communicate()
    elapsed = time.monotonic() - start
    assert elapsed < 60, elapsed
    err0, err1 = outputs[0][1], outputs[1][1]
    assert procs[1].returncode != 0 and procs[0].returncode != 0, outputs
    # Rank 1 names itself and the cause on one line, as well as its traceback.
    assert ("mlxfunctional: fit() failed on rank 1 of 2: ValueError: label 7 is out of "
            "range for 3 classes") in err1.splitlines(), err1
    # Rank 0 cannot know the cause; it says that it stopped because of another rank.
    assert "fit() failed on rank 0 of 2" in err0 and "Another process" in err0, err0
    assert not (tmp_path / "rank0.json").exists() and not (tmp_path / "rank1.json").exists()
