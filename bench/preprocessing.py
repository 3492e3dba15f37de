"""What in-graph preprocessing costs in fit(): the guide's MNIST MLP fed raw
pixels through ``Rescaling(1/255) + Normalization`` inside the model, against
the same MLP fed pixels normalized beforehand with numpy (the baseline), run in
the same process; and a token model with ``IntegerLookup`` (1,000-word
vocabulary, binary search in the graph) before its ``Embedding`` against the
same model fed ids looked up beforehand.

Each variant trains 1 + ``--epochs`` epochs on synthetic data; the first epoch
(trace + compile) is dropped and the median epoch time counts. Variants
alternate, ``--rounds`` times. Prints samples/s and the ratio in-graph /
baseline (1.0 = free). Usage: ``python bench/preprocessing.py [--epochs 3]``.
"""

import argparse
import statistics
import time

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers


class _EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def _mlp(inputs, x):
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10)(x))


def _token_model(inputs, ids, vocabulary):
    x = layers.Embedding(vocabulary + 2, 32)(ids)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(10)(x))


def _fit_time(model, x, y, epochs, batch_size):
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    timer = _EpochTimer()
    model.fit(x, y, batch_size=batch_size, epochs=1 + epochs, verbose=0, callbacks=[timer])
    return statistics.median(timer.times[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=12800)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(args.samples, 28, 28, 1)).astype("float32")
    labels = rng.integers(0, 10, size=args.samples)
    scaled = pixels / 255.0
    normalized = (scaled - scaled.mean()) / scaled.std()
    vocab = rng.choice(10 ** 6, size=1000, replace=False)
    words = rng.choice(vocab, size=(args.samples, 32)).astype("int32")
    lookup_ids = np.array(layers.IntegerLookup(vocabulary=vocab)(words)).astype("int32")

    def image_in_graph():
        inputs = keras.Input((28, 28, 1))
        norm = layers.Normalization(axis=None)
        norm.adapt(scaled)
        return _mlp(inputs, norm(layers.Rescaling(1 / 255.0)(inputs))), pixels

    def image_baseline():
        inputs = keras.Input((28, 28, 1))
        return _mlp(inputs, inputs), normalized

    def tokens_in_graph():
        inputs = keras.Input((32,), dtype="int32")
        ids = layers.IntegerLookup(vocabulary=vocab)(inputs)
        return _token_model(inputs, ids, 1000), words

    def tokens_baseline():
        inputs = keras.Input((32,), dtype="int32")
        return _token_model(inputs, inputs, 1000), lookup_ids

    pairs = {"MNIST MLP, Rescaling + Normalization": (image_in_graph, image_baseline),
             "tokens, IntegerLookup (1,000 words)": (tokens_in_graph, tokens_baseline)}
    for name, (in_graph, baseline) in pairs.items():
        times = {"in-graph": [], "baseline": []}
        for _ in range(args.rounds):
            for label, build in (("in-graph", in_graph), ("baseline", baseline)):
                model, x = build()
                times[label].append(_fit_time(model, x, labels, args.epochs, args.batch_size))
        rate = {k: args.samples / statistics.median(v) for k, v in times.items()}
        print(f"{name}: in-graph {rate['in-graph']:,.0f} samples/s, baseline "
              f"{rate['baseline']:,.0f} samples/s, ratio {rate['in-graph'] / rate['baseline']:.2f}")


if __name__ == "__main__":
    main()
