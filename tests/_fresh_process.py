"""Model files read back in a fresh Python process: save here, load and predict
there, compare outputs bit for bit (nothing of this process's state -- registry,
name counters, cached arrays -- can help the load)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_LOADER = """
import sys
import numpy as np
import mlxfunctional as keras
paths = sys.argv[1:]
out = {}
for i in range(0, len(paths), 2):
    model = keras.models.load_model(paths[i])
    x = np.load(paths[i + 1])
    out[str(i // 2)] = np.array(model.predict(x, verbose=0))
    out[str(i // 2) + "_weights"] = np.array(len(model.get_weights()))
    for j, w in enumerate(model.get_weights()):
        out[f"{i // 2}_w{j}"] = w
np.savez(paths[0] + ".out.npz", **out)
"""


def roundtrip_in_fresh_process(models_and_inputs, tmp_path):
    """Saves each ``(model, x)``; one new process loads every file and predicts ``x``.
    Asserts equal predictions and weights (bit for bit); returns nothing."""
    args = []
    for i, (model, x) in enumerate(models_and_inputs):
        path = os.path.join(tmp_path, f"m{i}.mlxf")
        model.save(path)
        np.save(os.path.join(tmp_path, f"x{i}.npy"), x)
        args += [path, os.path.join(tmp_path, f"x{i}.npy")]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", _LOADER, *args], capture_output=True,
                            text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(args[0] + ".out.npz") as out:
        for i, (model, x) in enumerate(models_and_inputs):
            expected = np.array(model.predict(x, verbose=0))
            assert np.array_equal(out[str(i)], expected), f"model {i} ({model.name})"
            weights = model.get_weights()
            assert int(out[f"{i}_weights"]) == len(weights)
            for j, w in enumerate(weights):
                assert np.array_equal(out[f"{i}_w{j}"], w), f"model {i} weight {j}"
