"""Guide §7.1: a model with several inputs and outputs (ranking and routing tickets).

Three inputs (title and body word ids, binary tags), two named outputs
(``priority``: sigmoid, ``department``: softmax); 1,392,097 parameters.
Compiled with losses and loss weights given as dicts by output name and
trained on the guide's dummy data, logging ``loss``, ``priority_loss`` and
``department_loss``.
"""

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers

from _common import parser, plot, save_and_reload

num_tags = 12  # Number of unique issue tags
num_words = 10000  # Size of vocabulary obtained when preprocessing text data
num_departments = 4  # Number of departments for predictions


def build_model():
    title_input = keras.Input(shape=(None,), name="title")  # Variable-length sequence of ints
    body_input = keras.Input(shape=(None,), name="body")  # Variable-length sequence of ints
    tags_input = keras.Input(shape=(num_tags,), name="tags")  # Binary vectors of size num_tags

    # Embed each word in the title and in the body into a 64-dimensional vector
    title_features = layers.Embedding(num_words, 64)(title_input)
    body_features = layers.Embedding(num_words, 64)(body_input)
    # Reduce each sequence of embedded words into a single vector (128 and 32 wide)
    title_features = layers.LSTM(128)(title_features)
    body_features = layers.LSTM(32)(body_features)
    # Merge all available features into a single large vector via concatenation
    x = layers.concatenate([title_features, body_features, tags_input])
    # A logistic regression for priority and a department classifier on top
    priority_pred = layers.Dense(1, activation="sigmoid", name="priority")(x)
    department_pred = layers.Dense(num_departments, activation="softmax",
                                   name="department")(x)
    return keras.Model(inputs=[title_input, body_input, tags_input],
                       outputs=[priority_pred, department_pred], name="ticket_router")


def dummy_data(n, rng, body_length=100):
    """The guide's dummy inputs and targets, as dicts keyed by name."""
    inputs = {"title": rng.integers(num_words, size=(n, 10)),
              "body": rng.integers(num_words, size=(n, body_length)),
              "tags": rng.integers(2, size=(n, num_tags)).astype("float32")}
    targets = {"priority": rng.random(size=(n, 1)).astype("float32"),
               "department": rng.integers(2, size=(n, num_departments)).astype("float32")}
    return inputs, targets


def main(argv=None):
    p = parser(__doc__, epochs=2, batch_size=32, save=True)
    p.add_argument("--samples", type=int, default=320,
                   help="dummy tickets (default 320; the guide uses 1280)")
    p.add_argument("--body-length", type=int, default=100,
                   help="words per ticket body (default 100, as in the guide)")
    args = p.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    model = build_model()
    model.summary()
    plot(model, args.plot)

    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"priority": "binary_crossentropy",
                        "department": "categorical_crossentropy"},
                  loss_weights={"priority": 1.0, "department": 0.2})
    inputs, targets = dummy_data(args.samples, rng, args.body_length)
    model.fit(inputs, targets, epochs=args.epochs, batch_size=args.batch_size)
    if args.save:
        sample = {k: v[:16] for k, v in inputs.items()}
        save_and_reload(model, args.save, sample)


if __name__ == "__main__":
    main()
