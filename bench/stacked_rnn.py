"""A stack of cells in one RNN against the same cells as two RNN layers, in fit().

Two models with the same math and the same weights:
  - ``stacked``: ``RNN([LSTMCell(u), LSTMCell(u)])`` -- one loop over time, the
    second cell's input matmul runs inside it, step by step (as Keras runs it);
  - ``layers`` (the baseline): ``LSTM(u, return_sequences=True)`` then ``LSTM(u)``
    -- two loops, each with its input matmul done once over the whole sequence.
Both end in ``Dense(1)``, mse, Adam. The script first checks that the two predict
the same numbers, then alternates one-epoch fits (stacked, layers, ...) and prints
the medians and the ratio stacked/layers.

    python bench/stacked_rnn.py [--repeats 5] [--samples 2048] [--steps 20] [--units 64]
"""

import argparse
import statistics
import time

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import numpy as np

from mlxfunctional import layers


def stacked(steps, features, units):
    inputs = keras.Input((steps, features))
    h = layers.RNN([layers.LSTMCell(units), layers.LSTMCell(units)])(inputs)
    return keras.Model(inputs, layers.Dense(1)(h))


def two_layers(steps, features, units):
    inputs = keras.Input((steps, features))
    h = layers.LSTM(units, return_sequences=True)(inputs)
    h = layers.LSTM(units)(h)
    return keras.Model(inputs, layers.Dense(1)(h))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (args.samples, args.steps, args.features)).astype(np.float32)
    y = x[:, :, :1].mean(axis=1)
    models = {"stacked": stacked(args.steps, args.features, args.units),
              "layers": two_layers(args.steps, args.features, args.units)}
    models["layers"].set_weights(models["stacked"].get_weights())  # same order, same math
    a, b = (m.predict(x[:256], verbose=0) for m in models.values())
    print(f"max |stacked - layers| on 256 predictions: {np.abs(a - b).max():.2e}")
    for m in models.values():
        m.compile(optimizer="adam", loss="mse")
        m.fit(x[:args.batch * 2], y[:args.batch * 2], batch_size=args.batch, verbose=0)  # compile

    times = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, m in models.items():
            start = time.perf_counter()
            m.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    for name, t in med.items():
        print(f"{name:8s} median epoch {t:.3f} s over {args.repeats} runs")
    print(f"ratio stacked/layers: {med['stacked'] / med['layers']:.2f}")


if __name__ == "__main__":
    main()
