"""A model compiled with the issue-14 loss, metrics and optimizer, saved here and read
back in a fresh Python process (nothing of this process's registry or state can help):
evaluate gives the same numbers, and one more epoch of fit the same weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import mlxfunctional as mf
from mlxfunctional import losses, metrics, optimizers

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys
import numpy as np
import mlxfunctional as mf
model = mf.models.load_model(sys.argv[1])
with np.load(sys.argv[2]) as d:
    x, y = d["x"], d["y"]
logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
np.savez(sys.argv[3], *model.get_weights())
print(json.dumps({"logs": logs, "optimizer": type(model.optimizer).__name__,
                  "inner": type(model.optimizer.inner_optimizer).__name__,
                  "loss": type(model.compiled_loss.losses[0]).__name__}))
"""


def test_compiled_model_round_trips_through_a_fresh_process(tmp_path):
    L = mf.layers
    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = (x[:, :1] + x[:, 1:2] > 0).astype(np.float32)
    inputs = L.Input((4,))
    model = mf.Model(inputs, L.Dense(1, activation="sigmoid")(L.Dense(6)(inputs)))
    model.compile(optimizer=optimizers.LossScaleOptimizer(optimizers.Lamb(0.02),
                                                         initial_scale=64.0),
                  loss=losses.Tversky(alpha=0.3, beta=0.7),
                  metrics=[metrics.F1Score(average="micro", threshold=0.5),
                           metrics.BinaryIoU(target_class_ids=[1]),
                           metrics.PrecisionAtRecall(0.5, num_thresholds=20)])
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    path = str(tmp_path / "m.mlxf")
    model.save(path)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _CHILD, path, str(tmp_path / "data.npz"),
                          str(tmp_path / "w.npz")], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert (child["optimizer"], child["inner"], child["loss"]) == \
        ("LossScaleOptimizer", "Lamb", "Tversky")
    here = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert set(child["logs"]) == set(here)
    for name, value in here.items():
        np.testing.assert_allclose(child["logs"][name], value, rtol=1e-6, err_msg=name)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    with np.load(tmp_path / "w.npz") as theirs:
        for k, mine in enumerate(model.get_weights()):
            np.testing.assert_allclose(theirs[f"arr_{k}"], mine, rtol=1e-6, atol=1e-7)
