"""VGG19's architecture (random weights): Keras' names and sizes, built without
evaluating anything. Pretrained weights: tests/test_applications_pretrained.py."""

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional.applications import VGG19


def test_building_vgg19_evaluates_nothing():
    # Evaluating would allocate the 575 MB of weights and GBs of activations
    # for the 96-image placeholder batch; a lazy trace allocates neither.
    mx.eval(mx.zeros(1))
    mx.reset_peak_memory()
    before = mx.get_active_memory()
    model = VGG19(weights=None)
    assert mx.get_peak_memory() - before < 16 * 2**20
    assert model.count_params() == 143_667_240
    names = [l.name for l in model.layers]
    assert names[1:4] == ["block1_conv1", "block1_conv2", "block1_pool"]
    assert names[-4:] == ["flatten", "fc1", "fc2", "predictions"]
    assert model.get_layer("block5_pool").output.shape == (None, 7, 7, 512)
    assert model.get_layer("fc1").get_weights()[0].shape == (25088, 4096)


def test_vgg19_summary_footer():
    lines = []
    VGG19(weights=None).summary(print_fn=lines.append)
    assert lines[-4:-1] == ["Total params: 143,667,240", "Trainable params: 143,667,240",
                            "Non-trainable params: 0"]


def test_headless_vgg19_keeps_unknown_sizes_unknown():
    model = VGG19(weights=None, include_top=False)
    assert model.output_shape == (None, None, None, 512)
    assert model.count_params() == 20_024_384
    assert VGG19(weights=None, include_top=False, pooling="avg").output_shape == (None, 512)
    small = VGG19(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="max")
    y = small(np.random.rand(2, 32, 32, 3).astype("float32"))
    assert y.shape == (2, 512) and np.isfinite(np.array(y)).all()
    assert model(np.random.rand(1, 64, 48, 3).astype("float32")).shape == (1, 2, 1, 512)


def test_vgg19_argument_errors():
    with pytest.raises(ValueError, match="at least 32x32"):
        VGG19(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=r"include_top=True.*\(224, 224, 3\).*\(64, 64, 3\)"):
        VGG19(weights=None, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="pooling"):
        VGG19(weights=None, include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="`weights` argument"):
        VGG19(weights=3)
    with pytest.raises(ValueError, match="classes must be 1000"):
        VGG19(classes=10)
    with pytest.raises(ValueError, match="does not exist"):
        VGG19(weights="no/such/file.h5")


def test_keras_layer_names():
    model = VGG19(weights=None)
    # keras.applications.VGG19().layers, as tf.keras 2 names them.
    assert [l.name for l in model.layers] == [
        "input_1", "block1_conv1", "block1_conv2", "block1_pool", "block2_conv1",
        "block2_conv2", "block2_pool", "block3_conv1", "block3_conv2", "block3_conv3",
        "block3_conv4", "block3_pool", "block4_conv1", "block4_conv2", "block4_conv3",
        "block4_conv4", "block4_pool", "block5_conv1", "block5_conv2", "block5_conv3",
        "block5_conv4", "block5_pool", "flatten", "fc1", "fc2", "predictions"]
    assert [l.name for l in VGG19(weights=None, include_top=False, pooling="avg").layers][-2:] \
        == ["block5_pool", "global_average_pooling2d"]
