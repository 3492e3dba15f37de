"""Ready-made architectures, their pretrained weights, and feature extraction.

``applications.vgg19`` holds ``VGG19``, ``preprocess_input`` and
``decode_predictions``, as in ``keras.applications.vgg19``.
"""

from . import vgg19
from .feature_extraction import feature_extractor
from .vgg19 import VGG19
