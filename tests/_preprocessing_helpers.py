"""Shared by the preprocessing layer tests: a model-file / layer-config round trip
checked in a fresh Python process (tests/_preprocessing_fresh.py)."""

import json
import os
import subprocess
import sys

import numpy as np

from mlxfunctional import layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FreshProcess:
    """Collects model files and layer configs with their inputs and expected
    outputs, then loads them all in ONE fresh process and compares."""

    def __init__(self, directory):
        self.directory = str(directory)
        self.cases = []
        self.expected = []

    def _save_input(self, i, data):
        if isinstance(data, tuple):
            names = []
            for j, part in enumerate(data):
                names.append(f"in_{i}_{j}.npy")
                np.save(os.path.join(self.directory, names[-1]), np.asarray(part))
            return names
        name = f"in_{i}.npy"
        np.save(os.path.join(self.directory, name), np.asarray(data))
        return name

    def add_model(self, model, data):
        i = len(self.cases)
        name = f"model_{i}.mlxf"
        model.save(os.path.join(self.directory, name))
        self.cases.append({"kind": "model", "file": name, "input": self._save_input(i, data)})
        self.expected.append(np.array(model(data)))

    def add_layer(self, layer, data):
        i = len(self.cases)
        name = f"layer_{i}.json"
        with open(os.path.join(self.directory, name), "w") as f:
            json.dump(layers.serialize(layer), f)  # plain JSON: the config is data
        self.cases.append({"kind": "layer", "file": name, "input": self._save_input(i, data)})
        out = np.array(layer(data))
        self.expected.append(out.astype(str) if out.dtype == object else out)

    def check(self):
        with open(os.path.join(self.directory, "cases.json"), "w") as f:
            json.dump(self.cases, f)
        env = dict(os.environ, PYTHONPATH=ROOT, MLX_DISABLE_COMPILE="1")
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, "tests", "_preprocessing_fresh.py"),
             self.directory], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        for i, expected in enumerate(self.expected):
            got = np.load(os.path.join(self.directory, f"out_{i}.npy"))
            assert got.dtype == expected.dtype, (i, self.cases[i], got.dtype, expected.dtype)
            np.testing.assert_array_equal(got, expected, err_msg=str(self.cases[i]))
