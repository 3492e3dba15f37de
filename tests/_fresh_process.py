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
    with np.load(paths[i + 1]) as data:
        x = [data[str(k)] for k in range(len(data.files))]
    y = model.predict(x if len(x) > 1 else x[0], verbose=0)
    for k, part in enumerate(y if isinstance(y, list) else [y]):
        out[f"{i // 2}_y{k}"] = np.array(part)
    out[str(i // 2) + "_weights"] = np.array(len(model.get_weights()))
    for j, w in enumerate(model.get_weights()):
        out[f"{i // 2}_w{j}"] = w
np.savez(paths[0] + ".out.npz", **out)
"""


def roundtrip_in_fresh_process(models_and_inputs, tmp_path):
    """Saves each ``(model, x)`` (``x`` an array or a list of arrays); one new process
    loads every file and predicts its ``x``. Asserts the same predictions and weights
    (bit for bit) as this process's."""
    args = []
    for i, (model, x) in enumerate(models_and_inputs):
        path = os.path.join(tmp_path, f"m{i}.mlxf")
        model.save(path)
        parts = x if isinstance(x, (list, tuple)) else [x]
        np.savez(os.path.join(tmp_path, f"x{i}.npz"), **{str(k): p for k, p in enumerate(parts)})
        args += [path, os.path.join(tmp_path, f"x{i}.npz")]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", _LOADER, *args], capture_output=True,
                            text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(args[0] + ".out.npz") as out:
        for i, (model, x) in enumerate(models_and_inputs):
            expected = model.predict(x, verbose=0)
            for k, part in enumerate(expected if isinstance(expected, list) else [expected]):
                assert np.array_equal(out[f"{i}_y{k}"], np.array(part)), f"model {i} output {k}"
            weights = model.get_weights()
            assert int(out[f"{i}_weights"]) == len(weights)
            for j, w in enumerate(weights):
                assert np.array_equal(out[f"{i}_w{j}"], w), f"model {i} weight {j}"
