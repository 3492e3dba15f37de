"""STFTSpectrogram and MelSpectrogram (issue 14, audio) against references computed
another way: frames cut one by one in numpy and transformed with ``np.fft.rfft``,
windows from ``scipy.signal.get_window`` and numpy's own window functions, a mel
filterbank built filter by filter from the HTK formula ``2595 log10(1 + f / 700)``;
Keras' published shapes and parameter counts; model files read back in a fresh process;
training inside the compiled step."""

import json
import math
import zipfile

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import initializers, layers as L, signal_windows
from _fresh_process import roundtrip_in_fresh_process
from _spectrogram_reference import (np_mel_filterbank, np_mel_spectrogram, np_stft_spectrogram,
                                    np_window)

rng = np.random.default_rng(7)


def close(got, want, rtol=1e-4, atol=None):
    got = np.asarray(got, np.float64)
    atol = 1e-4 * max(1.0, np.abs(want).max()) if atol is None else atol
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


# -- windows ------------------------------------------------------------------------------

def test_every_window_matches_scipy_get_window_both_periodic_and_symmetric():
    scipy_signal = pytest.importorskip("scipy.signal")
    for name in signal_windows.NAMES:
        for length in (1, 2, 3, 4, 7, 16, 33, 256):
            for periodic in (False, True):
                want = scipy_signal.get_window(name, length, fftbins=periodic)
                got = signal_windows.get_window(name, length, periodic)
                np.testing.assert_allclose(got, want, atol=1e-12, err_msg=(name, length))
    # scipy's aliases name the same windows
    for alias, name in (("ham", "hamming"), ("rect", "boxcar"), ("tri", "triang"),
                        ("blk", "blackman")):
        np.testing.assert_array_equal(signal_windows.get_window(alias, 9),
                                      signal_windows.get_window(name, 9))


def test_windows_match_numpys_own_functions():
    for name in ("hann", "hamming", "blackman", "bartlett"):
        for length in (5, 64):
            np.testing.assert_allclose(signal_windows.get_window(name, length),
                                       np_window(name, length, False), atol=1e-12)
    with pytest.raises(ValueError, match="kaiser"):
        signal_windows.get_window("kaiser", 8)  # needs a parameter, as in scipy


def test_stft_initializer_is_the_windowed_dft_and_round_trips_its_config():
    init = initializers.STFT("imag", "hamming", "spectrum", periodic=True)
    kernel = np.array(init((16, 1, 17)))
    assert kernel.shape == (16, 1, 17) and kernel.dtype == np.float32
    # frame @ kernel is the imaginary part of rfft(frame * window / sum(window))
    frame = rng.standard_normal(16)
    win = np.hamming(17)[:-1]
    want = np.fft.rfft(frame * win / win.sum(), n=32).imag
    np.testing.assert_allclose(frame @ kernel[:, 0, :], want, atol=1e-5)
    again = initializers.deserialize(initializers.serialize(init))
    assert again.get_config() == init.get_config()
    assert initializers.get("stft").__class__ is initializers.STFT
    with pytest.raises(ValueError, match="side"):
        initializers.STFT("both")


# -- STFTSpectrogram ----------------------------------------------------------------------

CASES = [  # mode, frame_length, frame_step, fft_length, window, periodic, scaling, padding
    ("log", 32, None, None, "hann", False, "density", "valid"),
    ("magnitude", 32, 8, 64, "hamming", True, "spectrum", "same"),
    ("psd", 30, 7, 32, "blackman", False, None, "valid"),
    ("real", 16, 16, 16, None, False, "density", "same"),
    ("imag", 24, 5, 32, "bartlett", True, "density", "valid"),
    ("angle", 16, 4, 32, "hann", True, "density", "same"),
    ("stft", 20, 6, 32, "boxcar", False, "spectrum", "valid"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("data_format, expand_dims",
                         [("channels_last", False), ("channels_last", True),
                          ("channels_first", False), ("channels_first", True)])
def test_stft_spectrogram_matches_numpy_rfft_frame_by_frame(case, data_format, expand_dims):
    mode, frame_length, frame_step, fft_length, window, periodic, scaling, padding = case
    layer = L.STFTSpectrogram(mode=mode, frame_length=frame_length, frame_step=frame_step,
                              fft_length=fft_length, window=window, periodic=periodic,
                              scaling=scaling, padding=padding, expand_dims=expand_dims,
                              data_format=data_format)
    x = rng.standard_normal((2, 101, 3)).astype(np.float32)
    if data_format == "channels_first":
        x = x.transpose(0, 2, 1).copy()
    got = np.array(layer(x))
    want = np_stft_spectrogram(x, mode, frame_length, frame_step or frame_length // 2,
                               fft_length or 2 ** math.ceil(math.log2(frame_length)),
                               window, periodic, scaling, padding, expand_dims, data_format)
    assert got.shape == want.shape
    if mode == "angle":  # compare angles where the bin is not ~0 (its angle is noise)
        spec = np_stft_spectrogram(x, "magnitude", frame_length, frame_step or frame_length // 2,
                                   fft_length, window, periodic, scaling, padding,
                                   expand_dims, data_format)
        keep = spec > 1e-2
        diff = np.angle(np.exp(1j * (got[keep] - want[keep])))
        assert np.abs(diff).max() < 1e-3
    else:
        close(got, want)
    assert layer.compute_output_shape(x.shape) == got.shape


SCIPY_CASES = [  # scaling, window, periodic, frame_length, frame_step, fft_length
    ("density", "hann", False, 512, 256, 1024),
    ("spectrum", "blackman", True, 512, 32, 1024),
    ("spectrum", "hamming", True, 256, 192, 512),
    ("spectrum", "tukey", False, 512, 128, 512),
    ("density", "hamming", True, 256, 256, 256),
    ("density", "flattop", True, 100, 30, 128),
]


@pytest.mark.parametrize("case", SCIPY_CASES, ids=[c[1] for c in SCIPY_CASES])
def test_stft_spectrogram_matches_scipy_signal_spectrogram(case):
    scipy_signal = pytest.importorskip("scipy.signal")
    scaling, window, periodic, frame_length, frame_step, fft_length = case
    x = np.random.default_rng(41).uniform(-1, 1, size=(2, 8000, 1)).astype(np.float32)
    for mode in ("psd", "magnitude", "angle"):
        layer = L.STFTSpectrogram(mode=mode, frame_length=frame_length, frame_step=frame_step,
                                  fft_length=fft_length, window=window, periodic=periodic,
                                  scaling=scaling)
        got = np.array(layer(x))
        _, _, spec = scipy_signal.spectrogram(
            x[..., 0].astype(np.float64),
            window=scipy_signal.get_window(window, frame_length, periodic),
            nperseg=frame_length, noverlap=frame_length - frame_step, nfft=fft_length,
            detrend=False, scaling=scaling, mode=mode)
        want = spec.transpose(0, 2, 1)
        assert got.shape == want.shape
        if mode == "angle":  # equal up to 2 pi, where the bin's magnitude is not ~0
            near = np.abs(np.angle(np.exp(1j * (got - want)))) < 1e-3
            assert near.mean() > 0.999
        else:
            np.testing.assert_allclose(got, want, atol=5e-4 * max(1.0, np.abs(want).max()))


def test_stft_spectrogram_keras_doc_shapes_weights_and_parameter_counts():
    # The three examples of Keras' docstring (3 tracks of 10 s at 16 kHz).
    x = rng.uniform(size=(3, 160000, 3)).astype(np.float32)
    layer = L.STFTSpectrogram(mode="log", frame_length=256, frame_step=128, fft_length=512,
                              window="hann", padding="valid", trainable=False)
    assert layer(x[..., :1]).shape == (3, 1249, 257)
    assert layer.count_params() == 2 * 256 * 257 == 131584
    assert [w.name for w in layer.weights] == ["real_kernel", "imag_kernel"]
    assert [tuple(w.shape) for w in layer.weights] == [(256, 1, 257)] * 2
    assert (len(layer.trainable_weights), len(layer.non_trainable_weights)) == (0, 2)
    layer = L.STFTSpectrogram(mode="log", frame_length=256, frame_step=128, fft_length=512,
                              window="hamming", padding="same", trainable=True)
    assert layer(x[..., :2]).shape == (3, 1250, 514)
    assert (len(layer.trainable_weights), len(layer.non_trainable_weights)) == (2, 0)
    layer = L.STFTSpectrogram(mode="log", frame_length=256, frame_step=128, fft_length=512,
                              padding="same", expand_dims=True)
    assert layer(x).shape == (3, 1250, 257, 3)
    # "real" and "imag" hold one kernel each; defaults: frame_step 128, fft_length 256.
    for mode, name in (("real", "real_kernel"), ("imag", "imag_kernel")):
        layer = L.STFTSpectrogram(mode=mode)
        layer.build((None, 1000, 1))
        assert [w.name for w in layer.weights] == [name]
        assert layer.count_params() == 256 * 129
    layer = L.STFTSpectrogram(frame_length=100)
    assert (layer._frame_step, layer._fft_length) == (50, 128)


def test_stft_spectrogram_set_weights_in_keras_order_gives_frames_times_kernels():
    layer = L.STFTSpectrogram(mode="stft", frame_length=8, frame_step=3, fft_length=8)
    x = rng.standard_normal((2, 30, 2)).astype(np.float32)
    layer(x)
    real, imag = (rng.standard_normal((8, 1, 5)).astype(np.float32) for _ in range(2))
    layer.set_weights([real, imag])
    got = np.array(layer(x))
    frames = np.stack([x[:, t * 3:t * 3 + 8, :] for t in range(8)], axis=1)  # (b, t, 8, c)
    want = np.concatenate([np.concatenate([frames[..., c] @ real[:, 0], frames[..., c] @ imag[:, 0]],
                                          -1) for c in range(2)], -1)
    close(got, want)
    for w, v in zip(layer.get_weights(), [real, imag], strict=True):
        np.testing.assert_array_equal(w, v)


def test_stft_spectrogram_symbolic_shapes_dtypes_and_errors():
    out = L.STFTSpectrogram(frame_length=64, frame_step=16)(keras.Input((None, 2)))
    assert out.shape == (None, None, 2 * 33)
    out = L.STFTSpectrogram(frame_length=64, frame_step=16, expand_dims=True,
                            padding="same")(keras.Input((1000, 2)))
    assert out.shape == (None, 63, 33, 2)
    layer = L.STFTSpectrogram(frame_length=64)
    with pytest.raises(ValueError, match="ndim"):
        layer(np.zeros((2, 100), np.float32))  # (batch, time, channels) only, as Keras
    with pytest.raises(ValueError, match="shorter than one frame"):
        layer(np.zeros((1, 40, 1), np.float32))
    with pytest.raises(TypeError, match="float16, float32 or float64"):
        L.STFTSpectrogram(frame_length=8)(np.zeros((1, 40, 1), np.int32))
    half = np.array(L.STFTSpectrogram(mode="magnitude", frame_length=8)(
        rng.standard_normal((1, 40, 1)).astype(np.float16)))
    assert half.dtype == np.float16
    with pytest.raises(ValueError, match="frame_step must be"):
        L.STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="fft_length must be"):
        L.STFTSpectrogram(frame_length=8, fft_length=4)
    with pytest.warns(UserWarning, match="power of two"):
        L.STFTSpectrogram(frame_length=8, fft_length=12)
    with pytest.raises(ValueError, match="window must be"):
        L.STFTSpectrogram(frame_length=8, window=np.ones(7))
    with pytest.raises(ValueError, match="window must be"):
        L.STFTSpectrogram(window="kaiser")


def test_stft_spectrogram_config_round_trip_with_an_array_window():
    layer = L.STFTSpectrogram(mode="psd", frame_length=8, frame_step=2, fft_length=16,
                              window=np.linspace(0.1, 1, 8), periodic=True, scaling="spectrum",
                              padding="same", expand_dims=True, name="spec")
    config = layer.get_config()
    assert {k: config[k] for k in ("mode", "frame_length", "frame_step", "fft_length",
                                   "periodic", "scaling", "padding", "expand_dims",
                                   "data_format")} == {
        "mode": "psd", "frame_length": 8, "frame_step": 2, "fft_length": 16, "periodic": True,
        "scaling": "spectrum", "padding": "same", "expand_dims": True,
        "data_format": "channels_last"}
    again = L.deserialize(L.serialize(layer))
    assert type(again) is L.STFTSpectrogram and again.get_config() == config
    x = rng.standard_normal((2, 50, 1)).astype(np.float32)
    np.testing.assert_array_equal(np.array(again(x)), np.array(layer(x)))
    assert L.STFTSpectrogram().get_config()["frame_step"] is None  # as given, not derived


# -- MelSpectrogram -----------------------------------------------------------------------

def test_mel_filterbank_matches_the_htk_triangles_built_one_by_one():
    layer = L.MelSpectrogram()
    for args in ((128, 1025, 16000, 20.0, 8000), (40, 257, 22050, 0.0, 11025),
                 (20, 129, 8000, 125.0, 3800.0)):
        got = np.array(layer.linear_to_mel_weight_matrix(*args))
        np.testing.assert_allclose(got, np_mel_filterbank(*args), atol=1e-4)  # float32 mels


MEL_CASES = [
    {},
    {"fft_length": 256, "sequence_stride": 100, "num_mel_bins": 20, "sampling_rate": 8000},
    {"fft_length": 256, "sequence_stride": 64, "sequence_length": 200, "window": "hamming",
     "num_mel_bins": 16, "min_freq": 0.0, "max_freq": 3000, "mag_exp": 1.0,
     "ref_power": 2.5, "top_db": 30.0},
    {"fft_length": 128, "sequence_stride": 32, "window": None, "num_mel_bins": 10,
     "power_to_db": False},
    {"fft_length": 128, "sequence_stride": 50, "sequence_length": 101,
     "window": list(np.linspace(0.2, 1.0, 101)), "num_mel_bins": 12, "mag_exp": 1.5},
]


@pytest.mark.parametrize("kwargs", MEL_CASES, ids=range(len(MEL_CASES)))
def test_mel_spectrogram_matches_numpy(kwargs):
    x = rng.standard_normal((2, 4000)).astype(np.float32)
    got = np.array(L.MelSpectrogram(**kwargs)(x))
    want = np_mel_spectrogram(x, **kwargs)
    assert got.shape == want.shape
    if kwargs.get("power_to_db", True):
        np.testing.assert_allclose(got, want, atol=2e-3)  # decibels
    else:
        close(got, want, rtol=2e-4)


def test_mel_spectrogram_keras_doc_shapes_unbatched_and_top_db_over_the_batch():
    layer = L.MelSpectrogram(num_mel_bins=64, sampling_rate=8000, sequence_stride=256,
                             fft_length=2048)
    assert layer(rng.uniform(size=(16000,)).astype(np.float32)).shape == (64, 63)
    # 1 + 16000 // 128 frames (Keras' docstring prints 125; its layer returns 126 too).
    layer = L.MelSpectrogram(num_mel_bins=80, sampling_rate=8000, sequence_stride=128,
                             fft_length=2048)
    assert layer(rng.uniform(size=(2, 16000)).astype(np.float32)).shape == (2, 80, 126)
    assert layer.compute_output_shape((2, 16000)) == (2, 80, 126)
    assert layer.weights == [] and layer.count_params() == 0
    # Silence: every bin is the power floor, 10 log10(1e-10) = -100 dB (no NaN).
    silent = np.array(L.MelSpectrogram(num_mel_bins=128, sequence_stride=64, fft_length=512,
                                       sampling_rate=32000)(np.zeros((2, 8000), np.float32)))
    assert silent.shape == (2, 128, 126) and np.all(silent == -100.0)
    # top_db is relative to the loudest value of the whole batch: a quiet sample is
    # floored by its loud neighbour.
    layer = L.MelSpectrogram(fft_length=128, sequence_stride=64, num_mel_bins=8, top_db=20.0)
    quiet, loud = (rng.standard_normal(1000).astype(np.float32) * s for s in (1e-3, 1.0))
    both = np.array(layer(np.stack([quiet, loud])))
    alone = np.array(layer(quiet))
    assert both.min() >= both.max() - 20.0 - 1e-4
    assert np.allclose(both[0], both.max() - 20.0, atol=1e-4) and not np.allclose(both[0], alone)
    out = L.MelSpectrogram()(keras.Input((None,)))
    assert out.shape == (None, 128, None)
    out = L.MelSpectrogram(sequence_stride=100)(keras.Input((3000,)))
    assert out.shape == (None, 128, 31)


def test_mel_spectrogram_config_and_argument_errors():
    layer = L.MelSpectrogram(fft_length=512, sequence_stride=128, sampling_rate=22050,
                             num_mel_bins=40, max_freq=None, top_db=60.0, name="mel")
    config = layer.get_config()
    assert config["sequence_length"] == 512 and config["max_freq"] == 11025
    assert {k: config[k] for k in ("min_freq", "power_to_db", "mag_exp", "min_power",
                                   "ref_power", "window")} == {
        "min_freq": 20.0, "power_to_db": True, "mag_exp": 2.0, "min_power": 1e-10,
        "ref_power": 1.0, "window": "hann"}
    again = L.deserialize(L.serialize(layer))
    assert type(again) is L.MelSpectrogram and again.get_config() == config
    with pytest.raises(ValueError, match="sequence_length must be"):
        L.MelSpectrogram(fft_length=256, sequence_length=512)
    with pytest.raises(ValueError, match="window must be"):
        L.MelSpectrogram(window="blackman")
    with pytest.raises(ValueError, match="min_freq must be below max_freq"):
        L.MelSpectrogram(sampling_rate=8000, min_freq=4000.0)


# -- models: files, training --------------------------------------------------------------

def _audio_model():
    wave = keras.Input((600, 2), name="wave")
    spec = L.STFTSpectrogram(mode="log", frame_length=32, frame_step=16, fft_length=32,
                             name="stft")(wave)
    pooled = L.GlobalAveragePooling1D()(spec)
    return keras.Model(wave, L.Dense(1, name="head")(pooled))


def _mel_model():
    wave = keras.Input((800,), name="wave")
    mel = L.MelSpectrogram(fft_length=128, sequence_stride=64, num_mel_bins=12,
                           sampling_rate=8000, top_db=40.0, name="mel")(wave)
    return keras.Model(wave, L.Dense(1, name="head")(L.Flatten()(mel)))


def test_model_files_round_trip_in_a_fresh_process(tmp_path):
    first, second = _audio_model(), _mel_model()
    # Trained-looking kernels: the file must carry them, not rebuild them from config.
    weights = first.get_weights()
    weights[0] = weights[0] + rng.standard_normal(weights[0].shape).astype(np.float32) * 0.1
    first.set_weights(weights)
    roundtrip_in_fresh_process(
        [(first, rng.standard_normal((3, 600, 2)).astype(np.float32)),
         (second, rng.standard_normal((3, 800)).astype(np.float32))], tmp_path)


def test_a_trainable_stft_learns_inside_fit_and_a_frozen_one_does_not_move():
    x = rng.standard_normal((64, 600, 2)).astype(np.float32)
    y = (x[:, :, 0].std(axis=1, keepdims=True) * 2).astype(np.float32)
    for trainable in (True, False):
        keras.backend.clear_session()
        model = _audio_model()
        model.get_layer("stft").trainable = trainable
        before = [np.array(w) for w in model.get_layer("stft").get_weights()]
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        losses = history.history["loss"]
        assert all(np.isfinite(losses)) and losses[-1] < losses[0]
        after = model.get_layer("stft").get_weights()
        moved = any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
        assert moved is trainable
        # The compiled predict agrees with the eager numpy reference of the learnt layer.
        layer = model.get_layer("stft")
        eager = np.array(layer(x[:4]))
        real, imag = after
        frames = np.stack([x[:4, t * 16:t * 16 + 32, :] for t in range(36)], axis=1)
        power = np.stack([(frames[..., c] @ real[:, 0]) ** 2 + (frames[..., c] @ imag[:, 0]) ** 2
                          for c in range(2)], axis=2)
        want = np.log(np.maximum(np.sqrt(np.maximum(power, 1e-7)), 1e-7)).reshape(4, 36, -1)
        close(eager, want, atol=1e-3)


def test_mel_spectrogram_runs_inside_fit_and_the_compiled_predict_is_the_eager_call():
    model = _mel_model()
    x = rng.standard_normal((32, 800)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    losses = model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"]
    assert all(np.isfinite(losses))
    # Batches of 8: top_db's floor is per batch, as in Keras; compare batch by batch.
    mel = keras.Model(model.input, model.get_layer("mel").output)
    got = mel.predict(x, batch_size=8, verbose=0)
    want = np.concatenate([np_mel_spectrogram(x[i:i + 8], fft_length=128, sequence_stride=64,
                                              num_mel_bins=12, sampling_rate=8000, top_db=40.0)
                           for i in range(0, 32, 8)])
    np.testing.assert_allclose(got, want, atol=2e-3)


def test_keras_format_files_name_the_keras_layers_and_reload_identically(tmp_path):
    wave = keras.Input((800, 1))
    spec = L.STFTSpectrogram(mode="psd", frame_length=64, window="hamming", periodic=True)(wave)
    mel = L.MelSpectrogram(fft_length=128, sequence_stride=64, num_mel_bins=12)(
        L.Flatten()(wave))
    model = keras.Model(wave, [spec, mel])
    model.save(tmp_path / "audio.keras")
    with zipfile.ZipFile(tmp_path / "audio.keras") as zf:
        layers = json.loads(zf.read("config.json"))["config"]["layers"]
    found = {entry["class_name"]: entry["module"] for entry in layers}
    assert found["STFTSpectrogram"] == found["MelSpectrogram"] == "keras.layers"
    again = keras.models.load_model(tmp_path / "audio.keras")
    x = rng.standard_normal((2, 800, 1)).astype(np.float32)
    for a, b in zip(model.predict(x, verbose=0), again.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.count_params() == model.count_params() == 2 * 64 * 33


def test_the_gradient_reaches_the_signal_through_the_frames():
    # A spectrogram after a learnt front end needs d(output)/d(signal): for "real",
    # d sum(out) / d x[n] = sum over the frames t covering n of sum_f K[n - t step, f].
    layer = L.STFTSpectrogram(mode="real", frame_length=10, frame_step=4, fft_length=16,
                              padding="same")
    x = rng.standard_normal((1, 37, 1)).astype(np.float32)
    layer(x)
    grad = np.array(mx.grad(lambda v: mx.sum(layer(v)))(mx.array(x)))[0, :, 0]
    row = np.array(layer.get_weights()[0])[:, 0, :].sum(axis=1)
    count = math.ceil(37 / 4)
    total = max((count - 1) * 4 + 10 - 37, 0)
    want = np.zeros(37 + total)
    for t in range(count):
        want[t * 4:t * 4 + 10] += row
    np.testing.assert_allclose(grad, want[total // 2:total // 2 + 37], atol=1e-5)
