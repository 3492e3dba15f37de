"""Ready-made architectures."""

from .vgg19 import VGG19
