"""Guide §8: shared layers (one Embedding encoding two text inputs).

Calls the same ``Embedding(1000, 128)`` on two variable-length integer inputs:
the layer has one set of weights (128,000 parameters) and two call sites, and
the same word gets the same vector whichever input it comes through.
"""

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers

from _common import parser, plot, save_and_reload


def build_model():
    # Embedding for 1000 unique words mapped to 128-dimensional vectors
    shared_embedding = layers.Embedding(1000, 128)
    # Variable-length sequences of integers
    text_input_a = keras.Input(shape=(None,), dtype="int32", name="text_a")
    text_input_b = keras.Input(shape=(None,), dtype="int32", name="text_b")
    # We reuse the same layer to encode both inputs
    encoded_input_a = shared_embedding(text_input_a)
    encoded_input_b = shared_embedding(text_input_b)
    model = keras.Model([text_input_a, text_input_b], [encoded_input_a, encoded_input_b],
                        name="shared_embedding")
    return model, shared_embedding


def main(argv=None):
    args = parser(__doc__, save=True).parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    model, shared_embedding = build_model()
    model.summary()
    plot(model, args.plot)
    print(f"{shared_embedding.name}: called {len(shared_embedding._inbound_nodes)} times, "
          f"{shared_embedding.count_params():,} parameters, stored once")

    a = np.array([[1, 2, 3, 4]], dtype="int32")
    b = a[:, ::-1].copy()  # the same words, reversed
    enc_a, enc_b = (np.asarray(t) for t in model([a, b]))
    print("Encoded shapes:", enc_a.shape, enc_b.shape)
    print("Same word, same vector through either input:",
          bool(np.array_equal(enc_a[0, ::-1], enc_b[0])))
    if args.save:
        save_and_reload(model, args.save, [a, b])


if __name__ == "__main__":
    main()
