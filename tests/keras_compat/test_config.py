"""keras.config and keras.backend: the settings, their home in global_state, the
interactive-logging switch the progress bar obeys, and the dtype helpers."""

import logging

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import global_state
from mlxfunctional.progbar import Progbar


@pytest.fixture
def logging_restored():
    yield
    keras.config.enable_interactive_logging()


def test_backend_name_and_image_data_format():
    assert keras.config.backend() == keras.backend.backend() == "mlx"
    assert keras.config.image_data_format() == "channels_last"
    keras.config.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="channels-last"):
        keras.config.set_image_data_format("channels_first")
    with pytest.raises(ValueError, match="Received: data_format='nhwc'"):
        keras.backend.set_image_data_format("nhwc")
    keras.config.set_backend("mlx")
    with pytest.raises(ValueError, match="only on MLX"):
        keras.config.set_backend("jax")


def test_epsilon_and_floatx_live_in_global_state_and_outlive_clear_session():
    assert keras.config.epsilon() == 1e-7
    try:
        keras.config.set_epsilon(1e-4)
        keras.backend.clear_session()
        assert keras.backend.epsilon() == 1e-4 == global_state.epsilon
        keras.config.set_floatx("bfloat16")
        assert keras.layers.Dense(1).dtype == "bfloat16"
        assert keras.random.normal((2,)).dtype == mx.bfloat16
    finally:
        keras.config.set_epsilon(1e-7)
        keras.config.set_floatx("float32")
    assert keras.config.floatx() == "float32"


def test_progress_bar_goes_to_the_logger_when_interactive_logging_is_off(
        capsys, caplog, logging_restored):
    assert keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    assert not keras.utils.is_interactive_logging_enabled()
    with caplog.at_level(logging.INFO, logger="mlxfunctional"):
        bar = Progbar(3, verbose=1)
        for i in range(1, 4):
            bar.update(i, [("loss", 0.5)])
    assert capsys.readouterr().out == ""
    lines = [r.getMessage() for r in caplog.records if r.name == "mlxfunctional"]
    assert len(lines) == 1  # no redraws in a log: the final line only
    assert lines[0].startswith("3/3 [==============================]") and "loss: 0.5000" in lines[0]
    keras.utils.enable_interactive_logging()
    Progbar(1, verbose=2).update(1, [("loss", 0.25)])
    assert "1/1 - " in capsys.readouterr().out


def test_fit_prints_nothing_when_interactive_logging_is_off(capsys, caplog, logging_restored):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    keras.config.disable_interactive_logging()
    with caplog.at_level(logging.INFO, logger="mlxfunctional"):
        model.fit(np.ones((4, 2), np.float32), np.ones((4, 1), np.float32), epochs=2,
                  verbose=1)
    assert capsys.readouterr().out == ""
    messages = [r.getMessage() for r in caplog.records]
    assert "Epoch 2/2" in messages
    assert sum(m.startswith("1/1 [") for m in messages) == 2


def test_unsafe_deserialization_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="never hold code"):
        keras.config.enable_unsafe_deserialization()


@pytest.mark.parametrize("dtypes,expected", [
    # Keras' documented promotions (JAX's lattice, results kept at 32 bits).
    (("int32", "float32"), "float32"),
    (("float16", "bfloat16"), "float32"),
    (("int8", "uint8"), "int16"),
    (("bool", "int32"), "int32"),
    (("float32",), "float32"),
])
def test_result_type(dtypes, expected):
    assert keras.backend.result_type(*dtypes) == expected


def test_dtype_helpers_and_keras_tensors():
    assert keras.backend.standardize_dtype(np.float32) == "float32"
    assert keras.utils.standardize_dtype(mx.int8) == "int8"
    assert keras.backend.is_float_dtype("bfloat16") and not keras.backend.is_float_dtype("int32")
    assert keras.backend.is_int_dtype("uint8") and not keras.backend.is_int_dtype("float16")
    x = keras.Input((3,))
    assert keras.backend.is_keras_tensor(x) and keras.utils.is_keras_tensor(x * 2)
    assert not keras.backend.is_keras_tensor(mx.ones(3))
    keras.backend.clear_session()
    assert [keras.backend.get_uid("t"), keras.backend.get_uid("t")] == [1, 2]
    keras.utils.clear_session()
    assert keras.backend.get_uid("t") == 1


def test_max_epochs_and_steps_cap_fit_evaluate_and_predict():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((40, 2), "float32"), np.zeros((40, 1), "float32")
    seen = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    keras.config.set_max_epochs(2)
    keras.config.set_max_steps_per_epoch(3)
    try:
        history = model.fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[counter])
        assert len(history.history["loss"]) == 2 and seen == [0, 1, 2, 0, 1, 2]
        assert model.predict(x, batch_size=4, verbose=0).shape == (12, 1)
        with pytest.raises(ValueError, match="max_epochs"):
            keras.config.set_max_epochs(0)
    finally:
        keras.config.set_max_epochs(None)
        keras.config.set_max_steps_per_epoch(None)
    assert keras.config.max_epochs() is None
    assert len(model.fit(x, y, batch_size=4, epochs=3, verbose=0).history["loss"]) == 3


def test_flash_attention_switch_reaches_dot_product_attention(monkeypatch):
    rng = np.random.default_rng(0)
    q, k, v = (mx.array(rng.normal(size=(1, 3, 2, 4)).astype("float32")) for _ in range(3))
    fused = keras.ops.dot_product_attention(q, k, v)
    calls = []
    monkeypatch.setattr(mx.fast, "scaled_dot_product_attention",
                        lambda *a, **kw: calls.append(1) or mx.zeros((1, 2, 3, 4)))
    keras.config.disable_flash_attention()
    try:
        assert keras.config.is_flash_attention_enabled() is False
        composed = keras.ops.dot_product_attention(q, k, v)
    finally:
        keras.config.enable_flash_attention()
    assert calls == [] and keras.config.is_flash_attention_enabled() is None
    np.testing.assert_allclose(np.array(composed), np.array(fused), rtol=1e-5, atol=1e-6)
    keras.config.disable_traceback_filtering()
    assert keras.config.is_traceback_filtering_enabled() is False
    keras.config.enable_traceback_filtering()
