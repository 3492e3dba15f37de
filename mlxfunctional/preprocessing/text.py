"""``keras.preprocessing.text``: Keras 3 no longer has it (its Tokenizer was removed);
kept as the place ``text_dataset_from_directory`` is also found."""

from ..utils.text_dataset import text_dataset_from_directory  # noqa: F401
