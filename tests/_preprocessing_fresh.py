"""A fresh Python process that loads model files and layer configs and writes
their outputs, for the preprocessing round-trip tests.

Usage: python _preprocessing_fresh.py <work dir>. The directory holds
``cases.json``: a list of ``{"kind": "model" | "layer", "file", "input"}``
(``input`` an ``.npy`` file name, or a list of them for a layer taking a tuple);
the outputs go to ``out_<i>.npy``.
"""

import json
import os
import sys

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers


def main(directory):
    with open(os.path.join(directory, "cases.json")) as f:
        cases = json.load(f)
    for i, case in enumerate(cases):
        names = case["input"]
        inputs = (tuple(np.load(os.path.join(directory, n)) for n in names)
                  if isinstance(names, list) else np.load(os.path.join(directory, names)))
        if case["kind"] == "model":
            model = keras.models.load_model(os.path.join(directory, case["file"]))
            out = model(inputs)
        else:
            with open(os.path.join(directory, case["file"])) as f:
                layer = layers.deserialize(json.load(f))
            out = layer(inputs)
        out = np.array(out)
        if out.dtype == object:  # an inverted StringLookup's strings (no pickle in .npy)
            out = out.astype(str)
        np.save(os.path.join(directory, f"out_{i}.npy"), out)


if __name__ == "__main__":
    main(sys.argv[1])
