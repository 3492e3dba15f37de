"""Guide §12: mix and match API styles (a custom RNN layer with a functional model inside).

First a hand-written RNN layer whose classifier is a functional model; calling
it prints its features' shape, ``(1, 10, 32)``. Then a functional model with a
static batch size (``Input(batch_shape=(16, 10, 5))``) that calls a custom RNN
layer after a ``Conv1D``, trained briefly on random data.
"""

import numpy as np

import mlxfunctional as keras  # before mlx.core: it picks the BLAS MLX uses
import mlx.core as mx
from mlxfunctional import layers

from _common import parser, plot

units = 32
timesteps = 10
input_dim = 5
batch_size = 16


def functional_classifier():
    inputs = keras.Input((None, units))
    x = layers.GlobalAveragePooling1D()(inputs)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


class CustomRNN(layers.Layer):
    """The guide's first CustomRNN: its classifier is a functional model."""

    def __init__(self, classifier):
        super().__init__()
        self.units = units
        self.projection_1 = layers.Dense(units=units, activation="tanh")
        self.projection_2 = layers.Dense(units=units, activation="tanh")
        # Our previously-defined Functional model
        self.classifier = classifier

    def call(self, inputs):
        outputs = []
        state = mx.zeros(shape=(inputs.shape[0], self.units))
        for t in range(inputs.shape[1]):
            x = inputs[:, t, :]
            h = self.projection_1(x)
            y = h + self.projection_2(state)
            state = y
            outputs.append(y)
        features = mx.stack(outputs, axis=1)
        print(features.shape)
        return self.classifier(features)


class CustomRNNDense(layers.Layer):
    """The guide's second CustomRNN: a Dense classifier, used inside a functional model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.projection_1 = layers.Dense(units=units, activation="tanh")
        self.projection_2 = layers.Dense(units=units, activation="tanh")
        self.classifier = layers.Dense(1, activation="sigmoid")

    def call(self, inputs):
        outputs = []
        # inputs.shape[0] must be known: hence the static batch size of the Input.
        state = mx.zeros(shape=(inputs.shape[0], self.units))
        for t in range(inputs.shape[1]):
            x = inputs[:, t, :]
            h = self.projection_1(x)
            y = h + self.projection_2(state)
            state = y
            outputs.append(y)
        features = mx.stack(outputs, axis=1)
        return self.classifier(features)


def main(argv=None):
    p = parser(__doc__, epochs=2)
    p.add_argument("--samples", type=int, default=160,
                   help="random training sequences, a multiple of 16 (default 160)")
    args = p.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    rnn_model = CustomRNN(functional_classifier())
    _ = rnn_model(mx.zeros((1, timesteps, input_dim)))  # prints (1, 10, 32)

    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(inputs)
    outputs = CustomRNNDense()(x)
    model = keras.Model(inputs, outputs, name="conv_custom_rnn")
    model.summary()
    plot(model, args.plot)

    n = max(batch_size, args.samples // batch_size * batch_size)
    x_train = rng.random((n, timesteps, input_dim)).astype("float32")
    y_train = rng.integers(2, size=(n, timesteps - 2, 1)).astype("float32")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x_train, y_train, batch_size=batch_size, epochs=args.epochs)

    rnn_model = CustomRNNDense()
    print("CustomRNN on zeros((1, 10, 5)):", rnn_model(mx.zeros((1, 10, 5))).shape)


if __name__ == "__main__":
    main()
