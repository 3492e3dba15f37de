"""Guide §10: extend the API by writing a layer (CustomDense), serializable.

Writes the guide's ``CustomDense`` with MLX ops (``mx.matmul`` for
``tf.matmul``), builds ``Input(4) -> CustomDense(10)`` (50 parameters), rebuilds
it from its config with ``custom_objects``, trains it briefly on a random
linear regression and, with ``--save``, saves and reloads it.
"""

import numpy as np

import mlxfunctional as keras  # before mlx.core: it picks the BLAS MLX uses
import mlx.core as mx
from mlxfunctional import layers

from _common import parser, plot, save_and_reload


class CustomDense(layers.Layer):

    def __init__(self, units=32, **kwargs):
        # **kwargs (name, dtype, trainable) lets from_config restore the base config.
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,),
                                 initializer="random_normal", trainable=True)

    def call(self, inputs):
        return mx.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {"units": self.units}

    # What Keras' default does; shown because the guide shows it.
    @classmethod
    def from_config(cls, config):
        return cls(**config)


def main(argv=None):
    p = parser(__doc__, epochs=5, batch_size=32, save=True)
    args = p.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    model.summary()
    plot(model, args.plot)

    config = model.get_config()
    new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    new_model.set_weights(model.get_weights())
    x = rng.random((8, 4)).astype("float32")
    print("Rebuilt from its config with custom_objects:", new_model.count_params(),
          "parameters, same outputs:",
          bool(np.array_equal(np.asarray(model(x)), np.asarray(new_model(x)))))

    # Learn a random linear map: the loss falls if the custom weights train.
    x_train = rng.normal(size=(512, 4)).astype("float32")
    y_train = x_train @ rng.normal(size=(4, 10)).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs)
    losses = history.history["loss"]
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    if args.save:
        save_and_reload(model, args.save, x, custom_objects={"CustomDense": CustomDense})


if __name__ == "__main__":
    main()
