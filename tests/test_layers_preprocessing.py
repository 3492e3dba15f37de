"""Preprocessing layers that run inside the model: Normalization, Rescaling,
Discretization, CategoryEncoding, Resizing, CenterCrop (and IntegerLookup in
the graph), against numpy references and the numbers Keras' docs and tests
publish."""

import math

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers as L

from _preprocessing_helpers import FreshProcess

RNG = np.random.default_rng(14)


def rand(*shape, scale=1.0, loc=0.0):
    return (loc + scale * RNG.standard_normal(shape)).astype(np.float32)


# ------------------------------------------------------------------ Normalization

def test_normalization_keras_doc_examples():
    layer = L.Normalization(axis=None)
    layer.adapt(np.array([1., 2., 3., 4., 5.], dtype="float32"))
    np.testing.assert_allclose(np.array(layer(np.array([1., 2., 3.], "float32"))),
                               [-1.4142135, -0.70710677, 0.], rtol=1e-6)
    adapt = np.array([[0., 7., 4.], [2., 9., 6.], [0., 7., 4.], [2., 9., 6.]], "float32")
    layer = L.Normalization(axis=-1)
    layer.adapt(adapt)
    np.testing.assert_allclose(np.array(layer(np.array([[0., 7., 4.]], "float32"))),
                               [[-1., -1., -1.]])
    layer = L.Normalization(mean=3., variance=2.)
    np.testing.assert_allclose(np.array(layer(np.array([[1.], [2.], [3.]], "float32"))),
                               [[-1.4142135], [-0.70710677], [0.]], rtol=1e-6)
    layer = L.Normalization(axis=-1, invert=True)
    layer.adapt(adapt)
    np.testing.assert_allclose(np.array(layer(np.array([[1., 2., 3.]], "float32"))),
                               [[2., 10., 8.]])


@pytest.mark.parametrize("axis", [-1, (1, 2), None, 1])
def test_normalization_adapt_matches_numpy_mean_and_variance(axis):
    data = rand(64, 3, 5, scale=3.0, loc=2.0)
    layer = L.Normalization(axis=axis)
    layer.adapt(data)
    keep = () if axis is None else tuple(a % 3 for a in np.atleast_1d(axis))
    reduce = tuple(a for a in range(3) if a not in keep)
    mean = data.astype(np.float64).mean(axis=reduce)
    var = data.astype(np.float64).var(axis=reduce)
    got_mean, got_var, count = layer.get_weights()
    np.testing.assert_allclose(got_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_var, var, rtol=1e-5)
    assert count.dtype == np.int32 and count == 0  # Keras 3 never updates count
    x = rand(4, 3, 5)
    shape = [data.shape[a] if a in keep else 1 for a in range(3)]
    ref = (x - mean.reshape(shape)) / np.maximum(np.sqrt(var.reshape(shape)), 1e-7)
    np.testing.assert_allclose(np.array(layer(x)), ref, rtol=1e-5, atol=1e-5)


def test_normalization_adapt_on_an_iterable_of_batches_equals_the_whole_array():
    data = rand(100, 4, scale=5.0, loc=-1.0)
    batches = [data[i:i + 32] for i in range(0, 100, 32)]  # unequal last batch
    layer = L.Normalization()
    layer.adapt(iter((b, np.zeros(len(b))) for b in batches))  # (x, y) batches
    np.testing.assert_allclose(layer.get_weights()[0], data.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.get_weights()[1], data.var(0), rtol=1e-5)
    with pytest.raises(ValueError, match="empty"):
        L.Normalization().adapt([])
    with pytest.raises(ValueError, match="shape"):
        layer.adapt(rand(5, 3))


def test_adapt_reads_a_py_dataset_and_a_generator_with_steps():
    data = rand(90, 2, scale=2.0, loc=3.0)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return data[30 * i:30 * (i + 1)], np.zeros(30)

    layer = L.Normalization()
    layer.adapt(Batches())
    np.testing.assert_allclose(layer.get_weights()[0], data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[1], data.var(0), rtol=1e-5)
    endless = (np.full(10, float(i), "float32") for i in range(10 ** 9))
    disc = L.Discretization(num_bins=2)
    disc.adapt(endless, steps=2)  # batches of 0s and 1s: the median between them
    assert len(disc.bin_boundaries) == 1 and 0.0 <= disc.bin_boundaries[0] <= 1.0


def test_normalization_weights_order_count_and_set_weights():
    x = keras.Input((3,))
    layer = L.Normalization()
    layer(x)
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert layer.count_params() == 7 and not layer.trainable_weights
    assert len(layer.non_trainable_weights) == 3
    mean, var = np.array([1., -2., 3.], "float32"), np.array([4., 0.25, 9.], "float32")
    layer.set_weights([mean, var, np.array(0, "int32")])
    data = rand(5, 3)
    np.testing.assert_allclose(np.array(layer(data)), (data - mean) / np.sqrt(var), rtol=1e-6)
    fixed = L.Normalization(mean=[1., 2.], variance=[1., 4.])
    fixed(keras.Input((2,)))
    assert fixed.count_params() == 0 and not fixed.weights


def test_normalization_config_and_argument_errors():
    layer = L.Normalization(axis=(1, 2), mean=[1., 2.], variance=[3., 4.], invert=True)
    config = layer.get_config()
    assert config["axis"] == [1, 2] and config["mean"] == [1., 2.] and config["invert"]
    again = L.Normalization.from_config(config)
    assert again.axis == (1, 2) and again.invert
    with pytest.raises(ValueError, match="together"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        L.Normalization(mean=[1., 2.], variance=[1.])


# ---------------------------------------------------------------------- Rescaling

def test_rescaling_scales_and_offsets_and_casts_integer_images():
    images = RNG.integers(0, 256, size=(2, 4, 4, 3)).astype(np.uint8)
    out = L.Rescaling(1 / 127.5, offset=-1)(images)
    assert out.dtype == mx.float32
    np.testing.assert_allclose(np.array(out), images / 127.5 - 1, rtol=1e-6, atol=1e-6)
    per_channel = L.Rescaling([1., 2., 3.], offset=[0., 0.5, 1.])
    x = rand(2, 3)
    np.testing.assert_allclose(np.array(per_channel(x)),
                               x * np.array([1, 2, 3]) + np.array([0, .5, 1]), rtol=1e-6)
    assert L.Rescaling.from_config(per_channel.get_config()).scale == [1., 2., 3.]


# ----------------------------------------------------------------- Discretization

def test_discretization_keras_doc_examples():
    data = np.array([[-1.5, 1.0, 3.4, .5], [0.0, 3.0, 1.3, 0.0]])
    out = L.Discretization(bin_boundaries=[0., 1., 2.])(data)
    assert out.dtype == mx.int32
    np.testing.assert_array_equal(np.array(out), [[0, 2, 3, 1], [1, 3, 2, 1]])
    layer = L.Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(data)
    np.testing.assert_array_equal(np.array(layer(data)), [[0, 2, 3, 2], [1, 3, 3, 1]])


def test_discretization_matches_numpy_digitize_and_encodes():
    bounds = [-1.0, 0.0, 0.5, 2.0]
    x = rand(6, 5, scale=2.0)
    x[0, :3] = [np.nan, np.inf, -np.inf]  # NaN sorts last in numpy.digitize
    ids = np.digitize(x, bounds)
    np.testing.assert_array_equal(np.array(L.Discretization(bin_boundaries=bounds)(x)), ids)
    hot = np.array(L.Discretization(bin_boundaries=bounds, output_mode="one_hot")(x[:, :1]))
    np.testing.assert_array_equal(hot, np.eye(5)[ids[:, 0]])
    counts = np.array(L.Discretization(bin_boundaries=bounds, output_mode="count")(x))
    np.testing.assert_array_equal(counts, np.stack([np.bincount(r, minlength=5) for r in ids]))
    multi = np.array(L.Discretization(bin_boundaries=bounds, output_mode="multi_hot")(x))
    np.testing.assert_array_equal(multi, counts > 0)


def test_discretization_adapt_on_batches_steps_and_config():
    data = np.linspace(0, 1, 1001).astype(np.float32)
    layer = L.Discretization(num_bins=4)
    layer.adapt([data[:500], data[500:]])
    # Quartiles of a uniform sample, within the summary's tolerance.
    np.testing.assert_allclose(layer.bin_boundaries, [0.25, 0.5, 0.75], atol=0.02)
    config = layer.get_config()
    again = L.Discretization.from_config(config)
    assert again.bin_boundaries == layer.bin_boundaries and again.num_bins == 4
    with pytest.raises(ValueError, match="adapt"):
        L.Discretization(num_bins=3)(data)
    with pytest.raises(ValueError, match="not both"):
        L.Discretization(bin_boundaries=[0.], num_bins=2)


# --------------------------------------------------------------- CategoryEncoding

def test_category_encoding_modes_against_numpy():
    ids = np.array([[0, 1], [0, 0], [1, 2], [3, 1]])
    eye = np.eye(4, dtype=np.float32)
    one = np.array(L.CategoryEncoding(4, output_mode="one_hot")(np.array([3, 2, 0, 1])))
    np.testing.assert_array_equal(one, eye[[3, 2, 0, 1]])
    multi = np.array(L.CategoryEncoding(4, output_mode="multi_hot")(ids))
    np.testing.assert_array_equal(multi, eye[ids].max(axis=1))
    count = np.array(L.CategoryEncoding(4, output_mode="count")(ids))
    np.testing.assert_array_equal(count, eye[ids].sum(axis=1))
    weights = np.array([[.1, .2], [.1, .1], [.2, .3], [.4, .2]], "float32")
    weighted = L.CategoryEncoding(4, output_mode="count")(ids, count_weights=weights)
    np.testing.assert_allclose(np.array(weighted), (eye[ids] * weights[..., None]).sum(1),
                               rtol=1e-6)
    assert L.CategoryEncoding(4, output_mode="binary").output_mode == "multi_hot"


def test_category_encoding_out_of_range_ids_raise_eagerly_and_are_zero_rows_compiled():
    layer = L.CategoryEncoding(3, output_mode="one_hot")
    with pytest.raises(ValueError, match=r'"category_encoding".*id 5 .*\[0, 3\)'):
        layer(np.array([0, 5, 1]))
    with pytest.raises(ValueError, match="id -1"):
        layer(np.array([0, -1]))
    compiled = mx.compile(lambda x: layer(x))
    out = np.array(compiled(mx.array([0, 5, -1, 2])))
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1]])


# ------------------------------------------------------------- Resizing, CenterCrop

def bilinear_reference(image, out_h, out_w):
    """Half-pixel bilinear resampling, the source coordinate clamped to the image."""
    in_h, in_w = image.shape[:2]
    out = np.zeros((out_h, out_w, image.shape[2]))
    for i in range(out_h):
        y = min(max((i + 0.5) * in_h / out_h - 0.5, 0), in_h - 1)
        y0 = int(math.floor(y)); y1 = min(y0 + 1, in_h - 1); fy = y - y0
        for j in range(out_w):
            x = min(max((j + 0.5) * in_w / out_w - 0.5, 0), in_w - 1)
            x0 = int(math.floor(x)); x1 = min(x0 + 1, in_w - 1); fx = x - x0
            out[i, j] = ((1 - fy) * ((1 - fx) * image[y0, x0] + fx * image[y0, x1])
                         + fy * ((1 - fx) * image[y1, x0] + fx * image[y1, x1]))
    return out


def cubic_reference(image, out_h, out_w):
    """Keys' cubic (a=-0.5) at half-pixel centres, weights renormalized at the edges."""
    def keys(d):
        d = abs(d)
        if d < 1:
            return (1.5 * d - 2.5) * d * d + 1
        if d < 2:
            return ((-0.5 * d + 2.5) * d - 4) * d + 2
        return 0.0

    def matrix(n_in, n_out):
        m = np.zeros((n_out, n_in))
        for i in range(n_out):
            s = (i + 0.5) * n_in / n_out - 0.5
            w = np.array([keys(s - k) for k in range(n_in)])
            m[i] = w / w.sum()
        return m

    rows, cols = matrix(image.shape[0], out_h), matrix(image.shape[1], out_w)
    return np.einsum("ai,bj,ijc->abc", rows, cols, image)


@pytest.mark.parametrize("size", [(7, 5), (3, 4), (8, 12), (5, 6)])
def test_resizing_bilinear_and_bicubic_match_references(size):
    images = rand(2, 5, 6, 3)
    out = np.array(L.Resizing(*size)(images))
    for b in range(2):
        np.testing.assert_allclose(out[b], bilinear_reference(images[b], *size),
                                   rtol=1e-5, atol=1e-5)
    out = np.array(L.Resizing(*size, interpolation="bicubic")(images))
    for b in range(2):
        np.testing.assert_allclose(out[b], cubic_reference(images[b], *size),
                                   rtol=1e-4, atol=1e-4)


def test_resizing_keras_test_numbers_nearest_and_crop_to_aspect_ratio():
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    out = np.array(L.Resizing(2, 2, interpolation="nearest")(img))
    np.testing.assert_array_equal(out.reshape(2, 2), [[5, 7], [13, 15]])
    up = np.array(L.Resizing(4, 4, interpolation="nearest")(img[:, ::2, ::2][:, :, :, :]))
    np.testing.assert_array_equal(up.reshape(4, 4), [[0, 0, 2, 2], [0, 0, 2, 2],
                                                    [8, 8, 10, 10], [8, 8, 10, 10]])
    out = np.array(L.Resizing(4, 2, interpolation="nearest", crop_to_aspect_ratio=True)(img))
    np.testing.assert_array_equal(out.reshape(4, 2), [[1, 2], [5, 6], [9, 10], [13, 14]])
    unbatched = np.array(L.Resizing(2, 2, interpolation="nearest")(img[0]))
    np.testing.assert_array_equal(unbatched.reshape(2, 2), [[5, 7], [13, 15]])


def test_resizing_pad_to_aspect_ratio_pads_with_fill_value_then_resizes():
    image = rand(1, 4, 8, 1)
    out = np.array(L.Resizing(6, 6, pad_to_aspect_ratio=True, fill_value=-3.0)(image))
    padded = np.pad(image[0], ((2, 2), (0, 0), (0, 0)), constant_values=-3.0)  # 8x8
    np.testing.assert_allclose(out[0], bilinear_reference(padded, 6, 6), rtol=1e-5, atol=1e-5)
    out = np.array(L.Resizing(4, 4, crop_to_aspect_ratio=True)(image))
    np.testing.assert_allclose(out[0], image[0, :, 2:6], rtol=1e-6)  # a centred 4x4 crop


def test_resizing_integer_images_round_back_and_errors():
    images = RNG.integers(0, 256, size=(1, 5, 5, 1)).astype(np.uint8)
    out = L.Resizing(3, 3)(images)
    assert out.dtype == mx.uint8
    ref = bilinear_reference(images[0].astype(np.float64), 3, 3)
    np.testing.assert_array_equal(np.array(out)[0], np.clip(np.round(ref), 0, 255))
    with pytest.raises(ValueError, match="only one"):
        L.Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="interpolation"):
        L.Resizing(2, 2, interpolation="cubic_spline")


def test_center_crop_crops_the_centre_and_resizes_small_images():
    images = rand(2, 7, 9, 3)
    out = np.array(L.CenterCrop(3, 4)(images))
    np.testing.assert_array_equal(out, images[:, 2:5, 2:6])
    small = rand(6, 4, 2)  # narrower than the target: crop to aspect, then bilinear
    out = np.array(L.CenterCrop(4, 6)(small))
    crop_h = int(4 * 4 / 6)  # Keras' smart_resize: height from the width and the ratio
    top = (6 - crop_h) // 2
    np.testing.assert_allclose(out, bilinear_reference(small[top:top + crop_h], 4, 6),
                               rtol=1e-5, atol=1e-5)
    assert L.CenterCrop(2, 2)(keras.Input((None, None, 3))).shape == (None, 2, 2, 3)


# ------------------------------------------------------ inside a model, compiled, saved

def _preprocessing_model():
    images = keras.Input((8, 8, 3), name="images")
    x = L.Rescaling(1 / 255.0)(images)
    x = L.Resizing(6, 6)(x)
    x = L.CenterCrop(4, 4)(x)
    norm = L.Normalization()
    x = norm(x)
    x = L.Flatten()(x)
    out = L.Dense(2)(x)
    return keras.Model(images, out), norm


def test_preprocessing_layers_train_inside_the_compiled_step_without_changing_state():
    model, norm = _preprocessing_model()
    data = RNG.integers(0, 256, size=(32, 8, 8, 3)).astype(np.float32)
    norm.adapt(np.array(L.CenterCrop(4, 4)(L.Resizing(6, 6)(data / 255.0))))
    stats = [w.copy() for w in norm.get_weights()]
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(data, np.zeros((32, 2), "float32"), batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    for a, b in zip(stats, norm.get_weights()):  # non-trainable: fit leaves them alone
        np.testing.assert_array_equal(a, b)
    assert model.count_params() == (3 + 3 + 1) + (48 * 2 + 2)  # mean, variance, count; Dense


def test_integer_lookup_and_category_encoding_inside_a_compiled_model():
    ids = keras.Input((4,), dtype="int32")
    looked = L.IntegerLookup(vocabulary=[12, 36, 1138, 42])(ids)
    encoded = L.CategoryEncoding(5, output_mode="count")(looked)
    model = keras.Model(ids, L.Dense(1)(encoded))
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]] * 4, dtype=np.int32)
    model.fit(x, np.ones((8, 1), "float32"), batch_size=4, epochs=1, verbose=0)
    sub = keras.Model(ids, encoded)
    np.testing.assert_array_equal(np.array(sub.predict(x, verbose=0))[:2],
                                  [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])


def test_model_files_round_trip_in_a_fresh_process(tmp_path):
    fresh = FreshProcess(tmp_path)
    model, norm = _preprocessing_model()
    data = RNG.integers(0, 256, size=(3, 8, 8, 3)).astype(np.float32)
    norm.set_weights([np.array([.1, .2, .3], "float32"), np.array([.5, 1., 2.], "float32"),
                      np.array(0, "int32")])
    fresh.add_model(model, data)
    x = keras.Input((4,))
    y = L.Discretization(bin_boundaries=[-0.5, 0.0, 0.5], output_mode="count")(x)
    y = L.Normalization(mean=[1., 2., 3., 4.], variance=[1., 2., 3., 4.])(y)
    fresh.add_model(keras.Model(x, y), rand(5, 4))
    adapted = L.Discretization(num_bins=3)
    adapted.adapt(rand(100))
    x = keras.Input((4,))
    fresh.add_model(keras.Model(x, adapted(x)), rand(5, 4))
    ids = keras.Input((3,), dtype="int32")
    lookup = L.IntegerLookup(mask_token=0, num_oov_indices=2)
    lookup.adapt(np.array([[5, 5, 9], [9, 9, 11]]))
    enc = L.CategoryEncoding(lookup.vocabulary_size(), output_mode="multi_hot")
    fresh.add_model(keras.Model(ids, enc(lookup(ids))),
                    np.array([[5, 0, 7], [11, 9, 8]], "int32"))
    ids = keras.Input((3,), dtype="int32")
    fresh.add_model(keras.Model(ids, L.IntegerLookup(vocabulary=[4, 8], invert=True)(ids)),
                    np.array([[0, 1, 2], [3, 2, -4]], "int32"))
    first, second = keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32")
    hashed = L.Hashing(9, salt=[3, 4], mask_value=0, output_mode="one_hot")(first)
    crossed = L.HashedCrossing(9, output_mode="one_hot")((first, second))
    fresh.add_model(keras.Model([first, second], L.Concatenate()([hashed, crossed])),
                    (np.array([[0], [5], [-7]], "int32"), np.array([[1], [2], [3]], "int32")))
    fresh.check()


def test_resizing_lists_the_interpolations_of_ops_image_resize():
    from mlxfunctional.layers import preprocessing_image
    from mlxfunctional.ops import image_resize

    assert preprocessing_image._INTERPOLATIONS == image_resize._RESIZE_INTERPOLATIONS


def lanczos_reference(image, out_h, out_w, radius=3):
    """Lanczos-``radius`` at half-pixel centres (upsampling), renormalized weights."""
    def kernel(d):
        d = abs(d)
        if d < 1e-9:
            return 1.0
        if d >= radius:
            return 0.0
        return radius * math.sin(math.pi * d) * math.sin(math.pi * d / radius) / (
            math.pi ** 2 * d * d)

    def matrix(n_in, n_out):
        m = np.array([[kernel((i + 0.5) * n_in / n_out - 0.5 - k) for k in range(n_in)]
                      for i in range(n_out)])
        return m / m.sum(axis=1, keepdims=True)

    return np.einsum("ai,bj,ijc->abc", matrix(image.shape[0], out_h),
                     matrix(image.shape[1], out_w), image)


def test_resizing_area_averages_blocks_and_lanczos_matches_its_reference():
    images = rand(2, 6, 8, 3)
    area = np.array(L.Resizing(3, 2, interpolation="area")(images))
    blocks = images.reshape(2, 3, 2, 2, 4, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(area, blocks, rtol=1e-5, atol=1e-6)
    up = np.array(L.Resizing(9, 11, interpolation="lanczos3")(images))
    np.testing.assert_allclose(up[1], lanczos_reference(images[1], 9, 11), rtol=1e-4,
                               atol=1e-4)


def test_resizing_antialias_stretches_the_triangle_kernel_when_downsampling():
    images = rand(1, 8, 9, 2)
    out = np.array(L.Resizing(4, 3, antialias=True)(images))

    def matrix(n_in, n_out):
        stretch = max(n_in / n_out, 1.0)  # the kernel widens by the downsampling factor
        m = np.array([[max(0.0, 1 - abs((i + 0.5) * n_in / n_out - 0.5 - k) / stretch)
                       for k in range(n_in)] for i in range(n_out)])
        return m / m.sum(axis=1, keepdims=True)

    ref = np.einsum("ai,bj,ijc->abc", matrix(8, 4), matrix(9, 3), images[0])
    np.testing.assert_allclose(out[0], ref, rtol=1e-5, atol=1e-5)
    plain = np.array(L.Resizing(4, 3)(images))
    assert not np.allclose(plain, out)  # without antialias: plain bilinear samples


def test_masks_pass_through_normalization_and_rescaling():
    data = rand(2, 5, 2)
    mask = mx.array(np.array([[1, 0, 1, 1, 0], [1, 1, 1, 0, 0]], bool))
    for layer in (L.Normalization(mean=1.0, variance=4.0), L.Rescaling(2.0)):
        assert layer.supports_masking  # as Keras: the mask of the inputs is kept
        layer(data)
        assert layer.compute_mask(mx.array(data), mask) is mask
    assert not L.CategoryEncoding(3).supports_masking


def test_symbolic_output_shapes_follow_keras():
    x = keras.Input((None, 3))
    assert L.Discretization(bin_boundaries=[0.], output_mode="one_hot")(
        keras.Input((4, 1))).shape == (None, 4, 2)
    assert L.Discretization(bin_boundaries=[0.], output_mode="multi_hot")(x).shape == (None, 3, 2)
    assert L.CategoryEncoding(6, output_mode="count")(keras.Input((4,), dtype="int32")).shape \
        == (None, 6)
    assert L.Normalization(axis=None)(x).shape == (None, None, 3)
    assert L.Resizing(5, 7)(keras.Input((None, None, 2))).shape == (None, 5, 7, 2)


def test_discretization_hashing_and_crossing_train_inside_the_compiled_step():
    value = keras.Input((1,), name="value")
    first, second = keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32")
    parts = [L.Discretization(bin_boundaries=[-1.0, 0.0, 1.0], output_mode="one_hot")(value),
             L.Hashing(8, salt=3, output_mode="one_hot")(first),
             L.HashedCrossing(8, output_mode="one_hot")((first, second))]
    model = keras.Model([value, first, second], L.Dense(1)(L.Concatenate()(parts)))
    model.compile(optimizer="sgd", loss="mse")
    x = [rand(64, 1), RNG.integers(-50, 50, (64, 1)).astype("int32"),
         RNG.integers(0, 5, (64, 1)).astype("int32")]
    history = model.fit(x, rand(64, 1), batch_size=16, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    features = keras.Model(model.inputs, L.Concatenate()(parts))
    expected = np.concatenate([np.eye(4)[np.digitize(x[0][:, 0], [-1.0, 0.0, 1.0])],
                               np.eye(8)[np.array(L.Hashing(8, salt=3)(x[1][:, 0]))],
                               np.eye(8)[np.array(L.HashedCrossing(8)((x[1][:, 0],
                                                                        x[2][:, 0])))]], axis=1)
    np.testing.assert_array_equal(np.array(features.predict(x, verbose=0)), expected)


def test_only_normalization_has_weights():
    image = keras.Input((6, 6, 3))
    ids = keras.Input((4,), dtype="int32")
    for layer, inputs in ((L.Rescaling(2.0), image), (L.Resizing(3, 3), image),
                          (L.CenterCrop(2, 2), image), (L.CategoryEncoding(5), ids),
                          (L.Discretization(bin_boundaries=[0.5]), image),
                          (L.IntegerLookup(vocabulary=[1, 2]), ids), (L.Hashing(3), ids)):
        layer(inputs)
        assert layer.count_params() == 0 and layer.get_weights() == [], layer.name
