"""Layer arguments are checked when the layer is made (issue 13, item 2).

``Dense(0)``, ``Conv2D(8, kernel_size=-1)``, ``Dropout(-0.1)`` or ``Input(shape=(-1,))``
used to be accepted and fail later, deep in MLX, or never. Keras refuses them in the
constructor. The sweep below makes every exported layer class with one bad value at a
time and wants a ValueError (a TypeError where Keras raises one) that names the layer,
the argument and the received value. A guard test makes sure a new layer cannot be
forgotten: every exported layer class is in the table or in ``NO_SUCH_ARGUMENTS``.
"""

import math

import numpy as np
import pytest

import mlxfunctional.layers as L
from mlxfunctional.engine.layer import Layer

# -- bad values per kind of argument ----------------------------------------------------

# A size (units, filters, n...): an integer > 0; None where it is required.
SIZE = (0, -1, 2.5, 3.0, "8", True, None, np.float32(2.0), [4])
# An axis: an integer.
AXIS = (1.5, "1", True, None)
# A seed: an integer or None.
SEED = (2.5, "8", True)
# A rate in [0, 1): Dropout and friends.
RATE = (-0.1, 1.0, 1.5, "0.5", True, None, math.nan)
# A rate in [0, 1]: Keras documents that range (and silently clips outside it).
RATE_WITH_ONE = (-0.1, 1.5, "0.5", True, None, math.nan)
# A finite number >= 0 (epsilon, slopes, regularization factors).
NON_NEGATIVE = (-0.1, "1e-3", True, None, math.nan, math.inf)
# A regularization factor: the same, None counting as 0.
FACTOR = (-0.1, "1e-3", True, math.nan, math.inf)
# A finite number.
REAL = ("1", True, None, math.nan, math.inf)
# An augmentation factor: a number or a pair of numbers in [-1, 1] (None where required).
AUG_FACTOR = (1.5, -1.5, (0.1, 2.0), (0.1, 0.2, 0.3), (0.1,), "0.1", True, math.nan, None)
# A value range: a pair of finite numbers.
VALUE_RANGE = ((0,), (0, 1, 2), 255, "0-255", (0, math.inf), (0, "1"), None)


def int_tuple(rank, allow_zero=False, optional=False):
    """Bad kernel sizes/strides/pool sizes of a ``rank``-D layer: bad scalars, tuples of
    the wrong length and tuples holding one bad entry."""
    low = -1 if allow_zero else 0
    ones = (1,) * (rank - 1)
    bad = [low, -1, 2.5, "8", True, (1,) * (rank + 1), ones + (low,), ones + (2.5,),
           ones + (True,), ones + ("3",)]
    if rank > 1:
        bad.append((1,) * (rank - 1))
    if not optional:
        bad.append(None)
    return tuple(bad)


def pairs(rank):
    """Bad paddings/croppings of a ``rank``-D ZeroPadding/Cropping layer."""
    bad = [-1, 2.5, "8", True, None, (-1, 0), (0, 2.5)]
    if rank == 1:
        bad.append((1, 2, 3))
    else:
        bad += [(1,) * (rank - 1) + (-1,), ((0, 0),) * (rank - 1) + ((0, -1),),
                ((0, 0),) * (rank - 1) + ((0, True),), (1,) * (rank + 1)]
    return tuple(bad)


def conv(rank):
    return {"filters": SIZE, "kernel_size": int_tuple(rank), "strides": int_tuple(rank),
            "dilation_rate": int_tuple(rank)}


def rnn():
    return {"units": SIZE, "dropout": RATE_WITH_ONE, "recurrent_dropout": RATE_WITH_ONE,
            "seed": SEED}


# -- the table: (class, valid arguments, {argument: bad values}[, owner, error]) ---------
# ``owner`` is the name the message must carry (the class name unless given).

TABLE = [
    (L.InputLayer, {"shape": (3,)},
     {"shape": ((-1,), (2.5,), ("8",), (True,), "8", 2.5, -1, (3, -2)),
      "batch_size": (-1, 2.5, "8", True)}, "Input"),
    (L.InputLayer, {"batch_shape": (None, 3)},
     {"batch_shape": ((None, -1), (-2, 3), (None, 2.5), (None, "8"), (None, True), "8", 3)},
     "Input"),
    (L.Dense, {"units": 2}, {"units": SIZE}),
    (L.Embedding, {"input_dim": 5, "output_dim": 2},
     {"input_dim": SIZE, "output_dim": SIZE}),
    (L.Conv1D, {"filters": 2, "kernel_size": 3}, {**conv(1), "groups": SIZE}),
    (L.Conv2D, {"filters": 2, "kernel_size": 3}, {**conv(2), "groups": SIZE}),
    (L.Conv3D, {"filters": 2, "kernel_size": 3}, {**conv(3), "groups": SIZE}),
    (L.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 3},
     {**conv(1), "output_padding": int_tuple(1, allow_zero=True, optional=True)}),
    (L.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 3},
     {**conv(2), "output_padding": int_tuple(2, allow_zero=True, optional=True)}),
    (L.Conv3DTranspose, {"filters": 2, "kernel_size": 3, "strides": 3},
     {**conv(3), "output_padding": int_tuple(3, allow_zero=True, optional=True)}),
    (L.DepthwiseConv1D, {"kernel_size": 3},
     {"kernel_size": int_tuple(1), "strides": int_tuple(1), "dilation_rate": int_tuple(1),
      "depth_multiplier": SIZE}),
    (L.DepthwiseConv2D, {"kernel_size": 3},
     {"kernel_size": int_tuple(2), "strides": int_tuple(2), "dilation_rate": int_tuple(2),
      "depth_multiplier": SIZE}),
    (L.SeparableConv1D, {"filters": 2, "kernel_size": 3},
     {**conv(1), "depth_multiplier": SIZE}),
    (L.SeparableConv2D, {"filters": 2, "kernel_size": 3},
     {**conv(2), "depth_multiplier": SIZE}),
    (L.ConvLSTM1D, {"filters": 2, "kernel_size": 3},
     {**conv(1), "dropout": RATE, "recurrent_dropout": RATE, "seed": SEED}),
    (L.ConvLSTM2D, {"filters": 2, "kernel_size": 3},
     {**conv(2), "dropout": RATE, "recurrent_dropout": RATE, "seed": SEED}),
    (L.ConvLSTM3D, {"filters": 2, "kernel_size": 3},
     {**conv(3), "dropout": RATE, "recurrent_dropout": RATE, "seed": SEED}),
    *[(cls, {}, {"pool_size": int_tuple(rank), "strides": int_tuple(rank, optional=True)})
      for rank, cls in ((1, L.MaxPooling1D), (2, L.MaxPooling2D), (3, L.MaxPooling3D),
                        (1, L.AveragePooling1D), (2, L.AveragePooling2D),
                        (3, L.AveragePooling3D))],
    (L.Dropout, {"rate": 0.5},
     {"rate": RATE, "seed": SEED,
      "noise_shape": ((0,), (-1,), (2.5,), ("8",), (True,), "8", 3)}),
    *[(cls, {"rate": 0.5}, {"rate": RATE, "seed": SEED})
      for cls in (L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
                  L.GaussianDropout)],
    (L.GaussianNoise, {"stddev": 0.5}, {"stddev": RATE_WITH_ONE, "seed": SEED}),
    # None counts as 0 there, as in Keras' L1L2.
    (L.ActivityRegularization, {}, {"l1": FACTOR, "l2": FACTOR}),
    (L.SimpleRNN, {"units": 2}, rnn()),
    (L.GRU, {"units": 2}, rnn()),
    (L.LSTM, {"units": 2}, rnn()),
    (L.SimpleRNNCell, {"units": 2}, rnn()),
    (L.GRUCell, {"units": 2}, rnn()),
    (L.LSTMCell, {"units": 2}, rnn()),
    (L.Reshape, {"target_shape": (2, 3)},
     {"target_shape": ((0,), (-2,), (2.5,), ("8",), (True,), (-1, -1), (2, None), "8", 3,
                       None)}),
    (L.Permute, {"dims": (2, 1)},
     {"dims": ((0, 1), (1, 3), (1, 1), (2.0, 1.0), (True, 2), ("2", "1"), "21", 1, None)}),
    (L.RepeatVector, {"n": 2}, {"n": SIZE}),
    (L.UpSampling1D, {}, {"size": int_tuple(1)}),
    (L.UpSampling2D, {}, {"size": int_tuple(2)}),
    (L.UpSampling3D, {}, {"size": int_tuple(3)}),
    (L.ZeroPadding1D, {}, {"padding": pairs(1)}),
    (L.ZeroPadding2D, {}, {"padding": pairs(2)}),
    (L.ZeroPadding3D, {}, {"padding": pairs(3)}),
    (L.Cropping1D, {}, {"cropping": pairs(1)}),
    (L.Cropping2D, {}, {"cropping": pairs(2)}),
    (L.Cropping3D, {}, {"cropping": pairs(3)}),
    (L.BatchNormalization, {},
     {"axis": AXIS, "momentum": RATE_WITH_ONE, "epsilon": NON_NEGATIVE}),
    # Keras raises a TypeError for an axis of the wrong type in these two.
    (L.LayerNormalization, {}, {"axis": AXIS + ((1, "2"),)}, None, TypeError),
    (L.LayerNormalization, {}, {"epsilon": NON_NEGATIVE}),
    (L.UnitNormalization, {}, {"axis": AXIS + ((1, 2.5),)}, None, TypeError),
    (L.Concatenate, {}, {"axis": AXIS}),
    (L.Dot, {"axes": 1}, {"axes": ((1, 2, 3), (1, 2.5), (True, 1), ("1", 1))}),
    (L.Dot, {"axes": 1}, {"axes": (2.5, "1", None)}, None, TypeError),
    (L.Softmax, {}, {"axis": AXIS + ((1, 2.5),)}),
    (L.PReLU, {}, {"shared_axes": (1.5, "1", True, (1, 2.5), (True,))}),
    (L.ELU, {}, {"alpha": REAL}),
    (L.Masking, {}, {"mask_value": ("0", True, None, math.nan)}),
    # Preprocessing (issue 14 item 4).
    (L.Normalization, {}, {"axis": (1.5, "1", True, (1, 2.5))}),
    (L.Rescaling, {"scale": 0.5},
     {"scale": REAL + ([1.0, "a"], [math.nan]), "offset": REAL + ([math.inf],)}),
    (L.Discretization, {"num_bins": 3},
     {"num_bins": (-1, 2.5, "8", True), "epsilon": NON_NEGATIVE,
      "output_mode": ("ints", None, 1)}),
    (L.CategoryEncoding, {"num_tokens": 3},
     {"num_tokens": SIZE, "output_mode": ("int", "tf_idf", None)}),
    (L.Resizing, {"height": 2, "width": 3},
     {"height": SIZE, "width": SIZE, "fill_value": REAL,
      "interpolation": ("cubic_spline", None, 3), "fill_mode": ("reflect", None)}),
    (L.CenterCrop, {"height": 2, "width": 3}, {"height": SIZE, "width": SIZE}),
    (L.Hashing, {"num_bins": 3},
     {"num_bins": SIZE, "salt": ("string", [1], [1, 2, 3], 2.5, True),
      "output_mode": ("tf_idf", None)}),
    (L.HashedCrossing, {"num_bins": 3}, {"num_bins": SIZE, "output_mode": ("multi_hot", None)}),
    *[(cls, {}, {"max_tokens": (0, 1, -1, 2.5, "8", True),
                 "num_oov_indices": (-1, 2.5, "1", True, None),
                 "output_mode": ("ints", None, 3)})
      for cls in (L.StringLookup, L.IntegerLookup)],
    (L.IntegerLookup, {}, {"oov_method": ("sha", None)}),
    (L.TextVectorization, {},
     {"max_tokens": (0, 1, -1, 2.5, "8", True),
      "output_sequence_length": (0, -1, 2.5, "8", True),
      "ngrams": (0, -1, 2.5, "2", True, (1, 0), (1, 2.5)),
      "standardize": ("upper", 3), "split": ("comma", 3), "output_mode": ("ints", None)}),
    (L.LeakyReLU, {}, {"negative_slope": NON_NEGATIVE}),
    (L.ReLU, {}, {"max_value": (-1, "6", True, math.nan),
                  "negative_slope": NON_NEGATIVE, "threshold": REAL}),
    (L.EinsumDense, {"equation": "ab,bc->ac", "output_shape": 4},
     {"output_shape": (0, -1, 2.5, "8", True, (4, 0), (2.5,))}),
    (L.MultiHeadAttention, {"num_heads": 2, "key_dim": 4},
     {"num_heads": SIZE, "key_dim": SIZE, "value_dim": SIZE[:-3] + (np.float32(2.0),),
      "dropout": RATE, "seed": SEED, "sliding_window": (0, -1, 2.5, "8", True),
      "attention_axes": (1.5, "1", True, (1, 2.5)),
      "output_shape": (0, -1, 2.5, "8", True, (4, 0))}),
    (L.GroupQueryAttention, {"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2},
     {"head_dim": SIZE, "num_query_heads": SIZE, "num_key_value_heads": SIZE,
      "dropout": RATE, "seed": SEED, "sliding_window": (0, -1, 2.5, "8", True)}),
    (L.Attention, {}, {"dropout": RATE, "seed": SEED}),
    (L.AdditiveAttention, {}, {"dropout": RATE, "seed": SEED}),
    (L.ReversibleEmbedding, {"input_dim": 5, "output_dim": 2},
     {"input_dim": SIZE, "output_dim": SIZE, "logit_soft_cap": ("1", True, math.nan, math.inf)}),
    # Issue 14: normalization family, adaptive pooling.
    (L.GroupNormalization, {},
     {"groups": (0, -2, 2.5, "8", True, None), "axis": AXIS, "epsilon": NON_NEGATIVE}),
    (L.RMSNormalization, {}, {"axis": AXIS + ((1, 2.5),), "epsilon": NON_NEGATIVE}),
    (L.SpectralNormalization, {"layer": L.Dense(2)}, {"power_iterations": SIZE}),
    (L.AlphaDropout, {"rate": 0.5},
     {"rate": RATE, "seed": SEED,
      "noise_shape": ((0,), (-1,), (2.5,), ("8",), (True,), "8", 3)}),
    *[(cls, {"output_size": 2}, {"output_size": int_tuple(rank)})
      for rank, cls in ((1, L.AdaptiveAveragePooling1D), (2, L.AdaptiveAveragePooling2D),
                        (3, L.AdaptiveAveragePooling3D), (1, L.AdaptiveMaxPooling1D),
                        (2, L.AdaptiveMaxPooling2D), (3, L.AdaptiveMaxPooling3D))],
    # Augmentation: factors are a number or a pair inside Keras' bounds.
    (L.RandomFlip, {}, {"seed": SEED}),
    (L.RandomRotation, {"factor": 0.1},
     {"factor": AUG_FACTOR, "seed": SEED, "fill_value": REAL}),
    (L.RandomZoom, {"height_factor": 0.1},
     {"height_factor": AUG_FACTOR + (-1.0,), "width_factor": AUG_FACTOR[:-1] + (-1.0,),
      "seed": SEED, "fill_value": REAL}),
    (L.RandomTranslation, {"height_factor": 0.1, "width_factor": 0.1},
     {"height_factor": AUG_FACTOR, "width_factor": AUG_FACTOR, "seed": SEED,
      "fill_value": REAL}),
    (L.RandomCrop, {"height": 2, "width": 2}, {"height": SIZE, "width": SIZE, "seed": SEED}),
    *[(cls, {"factor": 0.1}, {"factor": AUG_FACTOR + (-0.1,), "seed": SEED,
                              "value_range": VALUE_RANGE})
      for cls in (L.RandomContrast, L.RandomHue, L.RandomSaturation, L.RandomInvert)],
    (L.RandomBrightness, {"factor": 0.1},
     {"factor": AUG_FACTOR, "seed": SEED, "value_range": VALUE_RANGE}),
    (L.RandomGrayscale, {}, {"factor": RATE_WITH_ONE, "seed": SEED}),
    (L.Solarization, {},
     {"addition_factor": AUG_FACTOR + (-0.1,), "threshold_factor": AUG_FACTOR + (-0.1,),
      "value_range": VALUE_RANGE, "seed": SEED}),
    (L.RandomPosterization, {"factor": 4},
     {"factor": (0, 9, (1, 9), (0.5, 4), "4", True, None), "value_range": VALUE_RANGE,
      "seed": SEED}),
    (L.AutoContrast, {}, {"value_range": VALUE_RANGE}),
    (L.RandomSharpness, {"factor": 0.5},
     {"factor": AUG_FACTOR + (-0.1,), "value_range": VALUE_RANGE, "seed": SEED}),
    (L.Equalization, {}, {"bins": SIZE, "value_range": VALUE_RANGE}),
    (L.RandomGaussianBlur, {},
     {"factor": AUG_FACTOR[:-1] + (-0.1,), "sigma": AUG_FACTOR[:-1] + (-0.1,),
      "kernel_size": (2, (3, 4), 0, -1, 2.5, "3", True, None, (3, 3, 3)),
      "value_range": VALUE_RANGE, "seed": SEED}),
    (L.RandomColorJitter, {}, {"value_range": VALUE_RANGE, "seed": SEED}),
    (L.RandomShear, {}, {"x_factor": AUG_FACTOR + (-0.1,), "y_factor": AUG_FACTOR + (-0.1,),
                         "seed": SEED, "fill_value": REAL}),
    (L.MixUp, {}, {"alpha": (0, -1, "0.2", True, None, math.nan, math.inf), "seed": SEED}),
    (L.CutMix, {}, {"factor": AUG_FACTOR + (-0.1,), "seed": SEED}),
    (L.RandomErasing, {},
     {"factor": AUG_FACTOR + (-0.1,), "scale": AUG_FACTOR + (-0.1,),
      "fill_value": ("1", True, math.nan, (1, 2), (1, 2, "3")), "value_range": VALUE_RANGE,
      "seed": SEED}),
    (L.RandomColorDegeneration, {"factor": 0.5},
     {"factor": AUG_FACTOR + (-0.1,), "value_range": VALUE_RANGE, "seed": SEED}),
    (L.RandAugment, {}, {"num_ops": (-1, 2.5, "2", True, None), "factor": AUG_FACTOR,
                         "value_range": VALUE_RANGE, "seed": SEED}),
    (L.AugMix, {}, {"num_chains": SIZE, "chain_depth": SIZE, "factor": AUG_FACTOR,
                    "alpha": (0, -1, "1", True, None, math.nan, math.inf),
                    "value_range": VALUE_RANGE, "seed": SEED}),
    (L.RandomPerspective, {}, {"factor": AUG_FACTOR + (-0.1,), "scale": RATE_WITH_ONE,
                               "fill_value": REAL, "seed": SEED}),
    (L.RandomElasticTransform, {},
     {"factor": AUG_FACTOR + (-0.1,), "scale": AUG_FACTOR + (-0.1,), "fill_value": REAL,
      "value_range": VALUE_RANGE, "seed": SEED}),
    (L.ContrastLimitedAdaptiveHistogramEqualization, {},
     {"clip_limit": REAL, "tile_grid_size": int_tuple(2), "value_range": VALUE_RANGE}),
    (L.MaxNumBoundingBoxes, {"max_number": 2}, {"max_number": SIZE,
                                                "fill_value": (1.5, "1", True, None)}),
    (L.Pipeline, {"layers": ()}, {"layers": (None, "flip", [None], L.RandomFlip)}),
    # Audio.
    (L.STFTSpectrogram, {},
     {"frame_length": SIZE, "frame_step": (0, -1, 2.5, "8", True, 257),
      "fft_length": (0, 255, 2.5, "512", True), "mode": ("mel", None, 3),
      "padding": ("causal", None), "scaling": ("l2", 1), "window": ("kaiser", 3, [1.0, 2.0]),
      "periodic": ("yes", 1, None), "expand_dims": ("yes", 1, None),
      "data_format": ("channels_middle", 3)}),
    (L.MelSpectrogram, {},
     {"fft_length": SIZE, "sequence_stride": SIZE, "num_mel_bins": SIZE,
      "sequence_length": (0, -1, 2.5, "8", True, 4096),
      "sampling_rate": (0, -1, "8", True, None, math.nan, math.inf),
      "min_freq": NON_NEGATIVE, "max_freq": (0, -1, "8", True, math.nan, math.inf),
      "top_db": NON_NEGATIVE, "mag_exp": REAL, "ref_power": REAL,
      "min_power": (0, -1, "1", True, None, math.nan, math.inf),
      "window": ("kaiser", "blackman", 3, [1.0]), "power_to_db": ("yes", 1, None)}),
]

# Exported layer classes without integer, rate or axis arguments.
NO_SUCH_ARGUMENTS = {
    L.Layer, L.Activation, L.Identity, L.Lambda, L.Flatten, L.RNN, L.Bidirectional,
    L.TimeDistributed, L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum,
    L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D,
    L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D,
    L.Wrapper, L.StackedRNNCells,
}


def _cases():
    for entry in TABLE:
        cls, valid, arguments = entry[:3]
        owner = (entry[3] if len(entry) > 3 else None) or cls.__name__
        error = entry[4] if len(entry) > 4 else ValueError
        for name, bad_values in arguments.items():
            yield pytest.param(cls, valid, name, bad_values, owner, error,
                               id=f"{cls.__name__}-{name}-{error.__name__}")


@pytest.mark.parametrize("cls, valid, name, bad_values, owner, error", list(_cases()))
def test_a_bad_argument_is_refused_when_the_layer_is_made(cls, valid, name, bad_values,
                                                          owner, error):
    for bad in bad_values:
        try:
            cls(**{**valid, name: bad})
        except error as e:
            message = str(e)
        else:
            pytest.fail(f"{cls.__name__}({name}={bad!r}) was accepted")
        assert message.startswith(f"{owner}: {name} must be "), (bad, message)
        assert f"received {name}={bad!r}" in message, (bad, message)


# One case per distinct (class, valid arguments); keyed by repr, as a valid argument
# may be a layer (SpectralNormalization's), which is not hashable.
_VALID = sorted({(e[0].__name__, repr(e[1])): (e[0], tuple(e[1].items()))
                 for e in TABLE}.items())


@pytest.mark.parametrize("cls, valid", [case for _, case in _VALID],
                         ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_the_valid_arguments_of_the_table_make_the_layer(cls, valid):
    # Otherwise a "bad value" could be refused for another argument's sake.
    cls(**dict(valid))


def test_every_exported_layer_class_is_swept_or_has_no_such_arguments():
    exported = {v for v in vars(L).values() if isinstance(v, type) and issubclass(v, Layer)}
    swept = {entry[0] for entry in TABLE}
    assert not swept & NO_SUCH_ARGUMENTS
    forgotten = exported - swept - NO_SUCH_ARGUMENTS
    assert not forgotten, sorted(c.__name__ for c in forgotten)


def test_valid_edge_values_still_make_the_layer():
    assert L.Dense(np.int64(3)).units == 3
    assert type(L.Dense(np.int64(3)).units) is int
    assert L.Dropout(0.0).rate == 0.0
    assert L.Dropout(np.float32(0.25)).rate == 0.25
    assert L.Embedding(np.int32(7), 1).input_dim == 7
    conv = L.Conv2D(np.int32(2), (np.int64(3), 1), strides=[1, np.int16(2)])
    assert (conv.filters, conv.kernel_size, conv.strides) == (2, (3, 1), (1, 2))
    assert L.Conv1DTranspose(1, 3, strides=2, output_padding=0).output_padding == (0,)
    assert L.Input(shape=(None, 0)).shape == (None, None, 0)
    assert L.Input(shape=4, batch_size=np.int64(2)).shape == (2, 4)
    assert L.InputLayer(batch_shape=[None, np.int64(3)]).batch_shape == (None, 3)
    lstm = L.LSTM(2, dropout=1.0, recurrent_dropout=0, seed=np.int64(1))
    assert (lstm.dropout, lstm.recurrent_dropout) == (1.0, 0.0)  # Keras' range is [0, 1]
    assert L.GaussianNoise(1).stddev == 1.0
    assert L.MaxPooling2D(1, strides=None).strides == (1, 1)
    assert L.ZeroPadding2D(0).padding == ((0, 0), (0, 0))
    assert L.Cropping1D((0, np.int64(2))).cropping == (0, 2)
    assert L.Reshape((-1, np.int64(2))).target_shape == (-1, 2)
    assert L.Permute([np.int64(2), 1]).dims == (2, 1)
    assert L.RepeatVector(np.int8(1)).n == 1
    assert L.UpSampling2D((1, 3)).size == (1, 3)
    norm = L.BatchNormalization(axis=[np.int64(1)], momentum=1, epsilon=0)
    assert (norm.axis, norm.momentum, norm.epsilon) == (1, 1.0, 0.0)
    assert L.LayerNormalization(axis=(1, -1)).axis == [1, -1]
    assert L.Dot(axes=(np.int64(1), -1)).axes == [1, -1]
    assert L.ReLU(max_value=6, negative_slope=0, threshold=-1).max_value == 6
    assert L.ActivityRegularization(l1=np.float64(0.5), l2=0).l1 == 0.5
    assert L.Masking(-math.inf).mask_value == -math.inf


def test_the_message_is_one_sentence_with_layer_argument_expectation_and_value():
    with pytest.raises(ValueError) as info:
        L.Dense(0)
    assert str(info.value) == "Dense: units must be a positive integer; received units=0"
    with pytest.raises(ValueError) as info:
        L.Input(shape=(-1,))
    assert str(info.value) == ("Input: shape must be a tuple of non-negative integers or None; "
                               "received shape=(-1,)")
    with pytest.raises(ValueError) as info:
        L.LSTM(4, dropout=-0.1)  # names the layer written, not the cell it makes
    assert str(info.value) == "LSTM: dropout must be a float in [0, 1]; received dropout=-0.1"
