"""``keras.preprocessing.sequence``: ``pad_sequences`` (see ``utils.sequence_utils``)."""

from ..utils.sequence_utils import pad_sequences  # noqa: F401
