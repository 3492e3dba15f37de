"""Shared by the whole-model file tests (test_saving_model*.py): a save/load round trip
that checks the same class, layer names, weights (bit for bit) and outputs (bit for
bit: the same ops on the same weights), and the guide's CustomDense layer."""

import os

import mlx.core as mx
import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers


def _np(outputs):
    if isinstance(outputs, (list, tuple)):
        return [np.array(o) for o in outputs]
    return [np.array(outputs)]


def roundtrip(model, tmp_path, data, custom_objects=None, name="model.mlxf"):
    path = os.path.join(tmp_path, name)  # (a pathlib.Path would drop a trailing "/")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects=custom_objects)
    assert type(loaded) is type(model)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert loaded.count_params() == model.count_params()
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for a, b in zip(_np(model(data)), _np(loaded(data)), strict=True):
        assert np.array_equal(a, b)
    return loaded


class CustomDense(layers.Layer):
    """Guide §10."""

    def __init__(self, units=32):
        super(CustomDense, self).__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return mx.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {"units": self.units}
