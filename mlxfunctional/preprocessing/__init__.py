"""``keras.preprocessing``: the image and sequence helpers Keras keeps under this name.

They are implemented in ``keras.utils``; this package only gives them Keras'
other address (``keras.preprocessing.image.load_img``,
``keras.preprocessing.sequence.pad_sequences``,
``keras.preprocessing.image_dataset_from_directory``).
"""

from . import image, sequence, text
from ..utils.image_dataset import image_dataset_from_directory
from ..utils.image_utils import array_to_img, img_to_array, load_img, save_img
from ..utils.text_dataset import text_dataset_from_directory
from ..utils.timeseries_dataset import timeseries_dataset_from_array
