"""What in-graph preprocessing costs in fit(): the guide's MNIST MLP fed raw
pixels through ``Rescaling(1/255) + Normalization`` inside the model, against
the same MLP fed pixels normalized beforehand with numpy (the baseline), run in
the same process; and a token model with ``IntegerLookup`` (1,000-word
vocabulary, binary search in the graph) before its ``Embedding`` against the
same model fed ids looked up beforehand.

Both variants are built and compiled first (a warm-up step each), then timed
in alternating blocks of ``--steps`` ``train_on_batch`` calls (the compiled
train step, the last result evaluated), ``--rounds`` blocks each; the fastest
block counts (on a shared machine other processes only ever slow a block
down, so the minimum is the least noisy figure). Prints samples/s and the ratio
in-graph / baseline (1.0 = free). Usage: ``python bench/preprocessing.py [--steps 50] [--rounds 15]``.
"""

import argparse
import time

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers


def _mlp(inputs, x):
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10)(x))


def _token_model(inputs, ids, vocabulary):
    x = layers.Embedding(vocabulary + 2, 32)(ids)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(10)(x))


def _block_time(model, x, y, steps, batch_size):
    """Seconds for ``steps`` compiled train steps on consecutive batches."""
    start = time.perf_counter()
    for i in range(steps):
        rows = slice((i * batch_size) % (len(y) - batch_size), None)
        batch = [part[rows][:batch_size] for part in x] if isinstance(x, list) else \
            x[rows][:batch_size]
        loss = model.train_on_batch(batch, y[rows][:batch_size])
    float(np.asarray(loss).ravel()[0])  # wait for the last step
    return time.perf_counter() - start


def _compiled(build, labels, batch_size):
    model, x = build()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    _block_time(model, x, labels, 2, batch_size)  # trace and compile
    return model, x


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--samples", type=int, default=6400)
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
        variants = {"in-graph": _compiled(in_graph, labels, args.batch_size),
                    "baseline": _compiled(baseline, labels, args.batch_size)}
        times = {k: [] for k in variants}
        for _ in range(args.rounds):
            for label, (model, x) in variants.items():
                times[label].append(_block_time(model, x, labels, args.steps,
                                                args.batch_size))
        rate = {k: args.steps * args.batch_size / min(v) for k, v in times.items()}
        print(f"{name}: in-graph {rate['in-graph']:,.0f} samples/s, baseline "
              f"{rate['baseline']:,.0f} samples/s, ratio {rate['in-graph'] / rate['baseline']:.2f}")


if __name__ == "__main__":
    main()
