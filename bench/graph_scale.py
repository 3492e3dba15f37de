"""How building and loading a model scales with its number of layers.

For chains of N ``Dense(2)`` layers (N = 400, 1,000, 10,000 by default) it times,
for a ``Sequential`` and for a functional ``Model``:
  - ``build``: constructing the model (every layer traced once);
  - ``config``: ``from_config(get_config())``, with the config's layers in order
    and in reverse order (a functional config may list them in any order);
  - ``file``: ``load_model`` of the model saved as one ``.mlxf`` file
    (architecture, weights checked and assigned).
Each figure is one run, in seconds. Linear code shows ~10x from 1,000 to 10,000
layers; the old quadratic ``Sequential.add`` took 6.5 s for 400 layers.

    python bench/graph_scale.py [--sizes 400 1000 10000]
"""

import argparse
import os
import tempfile
import time

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
from mlxfunctional import layers


def sequential(n):
    return keras.Sequential([keras.Input((2,))] + [layers.Dense(2) for _ in range(n)])


def functional(n):
    inputs = x = keras.Input((2,))
    for _ in range(n):
        x = layers.Dense(2)(x)
    return keras.Model(inputs, x)


def reversed_config(config):
    config = dict(config)
    config["layers"] = list(reversed(config["layers"]))
    return config


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(kind, make, n, workdir):
    keras.clear_session()
    t_build, model = timed(lambda: make(n))
    cls = type(model)
    config = model.get_config()
    t_config, _ = timed(lambda: cls.from_config(config))
    t_reversed = None
    if kind == "Functional":  # a Sequential's order is its meaning
        t_reversed, _ = timed(lambda: cls.from_config(reversed_config(config)))
    path = os.path.join(workdir, f"{kind}_{n}.mlxf")
    model.save(path)
    t_file, _ = timed(lambda: keras.models.load_model(path))
    rev = "-" if t_reversed is None else f"{t_reversed:.2f}"
    print(f"{kind:<11} {n:>6} {t_build:>8.2f} {t_config:>8.2f} {rev:>8} {t_file:>8.2f}",
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[400, 1000, 10000])
    args = parser.parse_args()
    print(f"{'model':<11} {'layers':>6} {'build':>8} {'config':>8} {'reversed':>8} {'file':>8}")
    with tempfile.TemporaryDirectory() as workdir:
        for n in args.sizes:
            for kind, make in (("Sequential", sequential), ("Functional", functional)):
                measure(kind, make, n, workdir)


if __name__ == "__main__":
    main()
