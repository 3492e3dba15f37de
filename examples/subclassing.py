"""Guide §11: when to use the functional API (a functional MLP and a subclassed one).

Builds the same MLP both ways (2,762 parameters each), copies the functional
model's weights into the subclassed one and checks both compute the same, then
shows what only the functional one has: a graph (its summary, its layer
outputs, a drawing) and a config that rebuilds it with no code.
"""

import numpy as np

import mlxfunctional as keras  # before mlx.core: it picks the BLAS MLX uses
import mlx.core as mx
from mlxfunctional import layers

from _common import parser, plot, save_and_reload


def functional_mlp():
    inputs = keras.Input(shape=(32,))
    x = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs, outputs, name="functional_mlp")


class MLP(keras.Model):

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense_1 = layers.Dense(64, activation="relu")
        self.dense_2 = layers.Dense(10)

    def call(self, inputs):
        x = self.dense_1(inputs)
        return self.dense_2(x)


def main(argv=None):
    args = parser(__doc__, save=True).parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    mlp = functional_mlp()
    mlp.summary()
    plot(mlp, args.plot)

    sub = MLP(name="subclassed_mlp")
    # Necessary to create the model's state: it has none until it is called once.
    _ = sub(mx.zeros((1, 32)))
    print("Subclassed MLP parameters:", f"{sub.count_params():,}")
    sub.set_weights(mlp.get_weights())
    x = np.random.default_rng(args.seed).random((4, 32)).astype("float32")
    print("Same weights, same outputs:",
          bool(np.allclose(np.asarray(sub(x)), np.asarray(mlp(x)), rtol=1e-5, atol=1e-6)))

    # What the functional model's data structure gives (§11.1.3-4).
    print("Functional layer outputs:", [tuple(l.output.shape) for l in mlp.layers[1:]])
    rebuilt = keras.Model.from_config(mlp.get_config())
    print("Rebuilt from its config alone:", rebuilt.count_params(), "parameters")
    if args.save:
        save_and_reload(mlp, args.save, x)


if __name__ == "__main__":
    main()
