"""Datasets. The real MNIST test set (10,000 images) ships with the package."""

from . import mnist
