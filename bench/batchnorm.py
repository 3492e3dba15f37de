"""BatchNormalization in training: the layer's closed-form gradient against MLX autograd
through the batch mean and variance (what the layer ran before), in one process,
alternating.

Layer (``--layer N``): forward plus the gradients of input, gamma and beta of a
(64, 28, 28, 64) float32 batch, compiled, N rounds; medians and the paired speed-up.

Step (``--rounds N``): ``fit`` of the guide's toy ResNet with a BatchNormalization
after every convolution (Conv2D without activation -> BatchNormalization -> ReLU, the
Keras ResNet block), batch 64, RMSprop, compiled; one model per variant from the same
weights, each timed epoch ``--steps`` steps after a compiling one; N alternating rounds.

    python bench/batchnorm.py [--layer 8] [--rounds 5] [--steps 8]
"""

import argparse
import statistics
import time

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import mlx.core as mx
import numpy as np

from mlxfunctional import layers
from mlxfunctional.layers import normalization

CLOSED_FORM = normalization._batch_normalized


def autograd_form(x, mean, variance, gamma, beta, epsilon, axes, stat_shape):
    """The layer's previous training path: autograd through ``mx.mean``/``mx.var``
    (``mean``/``variance`` arrive without gradients, so they are computed again here)."""
    del mean, variance
    mean, variance = mx.mean(x, axis=axes), mx.var(x, axis=axes)
    scale = mx.rsqrt(variance + epsilon) * gamma
    return x * scale.reshape(stat_shape) + (beta - mean * scale).reshape(stat_shape)


VARIANTS = {"autograd": autograd_form, "closed form": CLOSED_FORM}


def _use(variant):
    normalization._batch_normalized = VARIANTS[variant]


def _report(title, times, unit):
    med = {k: statistics.median(v) for k, v in times.items()}
    pairs = [a / b for a, b in zip(times["autograd"], times["closed form"])]
    print(f"{title}: " + "; ".join(f"{k} {med[k]:.2f} {unit}" for k in med)
          + f"; closed form x{statistics.median(pairs):.2f} faster (paired median, "
          f"range {min(pairs):.2f}-{max(pairs):.2f})", flush=True)


def layer_times(rounds):
    rng = np.random.default_rng(0)
    x = mx.array(rng.standard_normal((64, 28, 28, 64), dtype=np.float32))
    ct = mx.array(rng.standard_normal(x.shape, dtype=np.float32))
    fns = {}
    for variant in VARIANTS:
        _use(variant)
        layer = layers.BatchNormalization()
        layer(keras.Input((28, 28, 64)))
        params = layer.trainable_parameters()

        def loss(params, x, layer=layer):
            layer.update(params)
            return (layer(x, training=True) * ct).sum()

        # The variant is chosen while tracing: each compiled function keeps its own.
        fns[variant] = (mx.compile(mx.value_and_grad(loss, argnums=(0, 1))), params)
        mx.eval(fns[variant][0](params, x))
    _use("closed form")
    times = {v: [] for v in fns}
    for _ in range(rounds):
        for variant, (fn, params) in fns.items():
            mx.eval(fn(params, x))
            t = time.perf_counter()
            for _ in range(5):
                mx.eval(fn(params, x))
            times[variant].append((time.perf_counter() - t) / 5 * 1e3)
    _report("BatchNormalization (64, 28, 28, 64), forward + gradients, compiled", times, "ms")


def toy_resnet_bn():
    def conv_bn(h, filters, padding="valid"):
        h = layers.Conv2D(filters, 3, padding=padding, use_bias=False)(h)
        return layers.ReLU()(layers.BatchNormalization()(h))

    inputs = keras.Input(shape=(32, 32, 3))
    h = conv_bn(conv_bn(inputs, 32), 64)
    block_1 = layers.MaxPooling2D(3)(h)
    block_2 = layers.add([conv_bn(conv_bn(block_1, 64, "same"), 64, "same"), block_1])
    block_3 = layers.add([conv_bn(conv_bn(block_2, 64, "same"), 64, "same"), block_2])
    h = layers.GlobalAveragePooling2D()(conv_bn(block_3, 64))
    h = layers.Dropout(0.5)(layers.Dense(256, activation="relu")(h))
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(h))


def step_times(rounds, steps):
    rng = np.random.default_rng(0)
    x = mx.array(rng.random((64 * steps, 32, 32, 3), dtype=np.float32))
    y = mx.array(rng.integers(0, 10, 64 * steps))
    keras.utils.set_random_seed(0)
    models, weights = {}, None
    for variant in VARIANTS:
        _use(variant)  # the first fit traces the step with it
        model = toy_resnet_bn()
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                      loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
        models[variant] = model
    _use("closed form")
    times = {v: [] for v in models}
    for _ in range(rounds):
        for variant, model in models.items():
            t = time.perf_counter()
            model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
            times[variant].append((time.perf_counter() - t) / steps * 1e3)
    _report("toy ResNet with BatchNormalization, fit step, batch 64", times, "ms/step")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", type=int, default=8, help="rounds of the layer alone")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the fit step")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    if args.layer:
        layer_times(args.layer)
    if args.rounds:
        step_times(args.rounds, args.steps)


if __name__ == "__main__":
    main()
