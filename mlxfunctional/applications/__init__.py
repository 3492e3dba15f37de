"""Ready-made architectures, their pretrained weights, and feature extraction.

``applications.vgg19`` holds ``VGG19``, ``preprocess_input`` and
``decode_predictions``, as in ``keras.applications.vgg19``; ``applications.xception``
the same for ``Xception``.
"""

from . import vgg19
from . import xception
from .feature_extraction import feature_extractor
from .vgg19 import VGG19
from .xception import Xception
