"""VGG19's architecture (random weights): Keras' names and sizes, built without
evaluating anything. Pretrained weights: tests/test_applications_pretrained.py."""

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers
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
    # Checked before any weights are looked for (as Keras' obtain_input_shape).
    with pytest.raises(ValueError, match=r"`imagenet` weights, `input_shape` should be "
                                         r"\(224, 224, 3\)\. Received: input_shape=\(64, 64, 3\)"):
        VGG19(input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="3 channels"):
        VGG19(include_top=False, input_shape=(64, 64, 1))
    with pytest.raises(ValueError, match="static `input_shape`"):
        VGG19(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="three integers"):
        VGG19(weights=None, include_top=False, input_shape=(64, 64))
    with pytest.raises(ValueError, match="pooling"):
        VGG19(weights=None, include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="`weights` argument"):
        VGG19(weights=3)
    with pytest.raises(ValueError, match="`classes` should be 1000. Received classes=10"):
        VGG19(classes=10)
    with pytest.raises(ValueError, match="classes must be a positive int; received 0"):
        VGG19(weights=None, classes=0)
    with pytest.raises(ValueError, match="Only `None` and `softmax`.*'sigmoid'"):
        VGG19(classifier_activation="sigmoid")
    with pytest.raises(ValueError, match="does not exist"):
        VGG19(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="input_tensor must be a symbolic tensor"):
        VGG19(weights=None, input_tensor=np.zeros((1, 224, 224, 3), "float32"))


def test_random_weights_take_any_size_and_classes_with_the_top():
    # Keras fixes 224x224 only for the ImageNet weights: fc1 follows the input size.
    model = VGG19(weights=None, input_shape=(64, 64, 3), classes=10,
                  classifier_activation=None)
    assert model.output_shape == (None, 10)
    assert model.get_layer("fc1").kernel.shape == (2 * 2 * 512, 4096)
    assert model.get_layer("predictions").activation is keras.activations.linear


def test_input_tensor_from_layers_keeps_them_in_the_model():
    raw = keras.Input((40, 40, 3), name="raw")
    scaled = layers.Lambda(lambda t: t * 2.0, name="scale")(raw)
    model = VGG19(weights=None, include_top=False, input_tensor=scaled, pooling="avg")
    assert model.inputs == [raw] and "scale" in [l.name for l in model.layers]
    direct = VGG19(weights=None, include_top=False, input_shape=(40, 40, 3), pooling="avg")
    direct.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((2, 40, 40, 3), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), direct.predict(2 * x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert keras.utils.get_source_inputs(scaled) == [raw]


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
