"""``keras.preprocessing``: the image and sequence helpers Keras keeps under this name.

They are implemented in ``keras.utils``; this package only gives them Keras'
other address (``keras.preprocessing.image.load_img``).
"""

from . import image
from ..utils.image_utils import array_to_img, img_to_array, load_img, save_img
