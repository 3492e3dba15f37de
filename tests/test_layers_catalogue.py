"""``mlxfunctional.layers`` has every name ``keras.layers`` exports in Keras 3.15 (issue 14).

The list is data, written here once: every ``keras_export("keras.layers.<Name>")``
under ``keras/src/layers`` at the tag v3.15.1 of keras-team/keras (171 names, classes,
aliases and functions alike). Keras 3.15 exports four more names from outside that
folder, all wrappers of another framework and out of scope: ``TFSMLayer``,
``JaxLayer``, ``FlaxLayer`` and ``TorchModuleWrapper``.

The check is strict on purpose: it fails, naming every missing name in one message,
until the whole catalogue is there.
"""

import inspect
from pathlib import Path

import mlxfunctional.layers as L
from mlxfunctional import registry
from mlxfunctional.engine.layer import Layer

KERAS_3_15_LAYERS = (
    'Activation', 'ActivityRegularization', 'AdaptiveAveragePooling1D',
    'AdaptiveAveragePooling2D', 'AdaptiveAveragePooling3D', 'AdaptiveMaxPooling1D',
    'AdaptiveMaxPooling2D', 'AdaptiveMaxPooling3D', 'Add', 'AdditiveAttention',
    'AlphaDropout', 'Attention', 'AugMix', 'AutoContrast', 'Average', 'AveragePooling1D',
    'AveragePooling2D', 'AveragePooling3D', 'AvgPool1D', 'AvgPool2D', 'AvgPool3D',
    'BatchNormalization', 'Bidirectional', 'CategoryEncoding', 'CenterCrop', 'Concatenate',
    'ContrastLimitedAdaptiveHistogramEqualization', 'Conv1D', 'Conv1DTranspose', 'Conv2D',
    'Conv2DTranspose', 'Conv3D', 'Conv3DTranspose', 'ConvLSTM1D', 'ConvLSTM2D', 'ConvLSTM3D',
    'Convolution1D', 'Convolution1DTranspose', 'Convolution2D', 'Convolution2DTranspose',
    'Convolution3D', 'Convolution3DTranspose', 'Cropping1D', 'Cropping2D', 'Cropping3D',
    'CutMix', 'Dense', 'DepthwiseConv1D', 'DepthwiseConv2D', 'Discretization', 'Dot',
    'Dropout', 'ELU', 'EinsumDense', 'Embedding', 'Equalization', 'Flatten', 'GRU', 'GRUCell',
    'GaussianDropout', 'GaussianNoise', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D',
    'GlobalAveragePooling3D', 'GlobalAvgPool1D', 'GlobalAvgPool2D', 'GlobalAvgPool3D',
    'GlobalMaxPool1D', 'GlobalMaxPool2D', 'GlobalMaxPool3D', 'GlobalMaxPooling1D',
    'GlobalMaxPooling2D', 'GlobalMaxPooling3D', 'GroupNormalization', 'GroupQueryAttention',
    'HashedCrossing', 'Hashing', 'Identity', 'Input', 'InputLayer', 'InputSpec',
    'IntegerLookup', 'LSTM', 'LSTMCell', 'Lambda', 'Layer', 'LayerNormalization', 'LeakyReLU',
    'Masking', 'MaxNumBoundingBoxes', 'MaxPool1D', 'MaxPool2D', 'MaxPool3D', 'MaxPooling1D',
    'MaxPooling2D', 'MaxPooling3D', 'Maximum', 'MelSpectrogram', 'Minimum', 'MixUp',
    'MultiHeadAttention', 'Multiply', 'Normalization', 'PReLU', 'Permute', 'Pipeline',
    'RMSNormalization', 'RNN', 'RandAugment', 'RandomBrightness', 'RandomColorDegeneration',
    'RandomColorJitter', 'RandomContrast', 'RandomCrop', 'RandomElasticTransform',
    'RandomErasing', 'RandomFlip', 'RandomGaussianBlur', 'RandomGrayscale', 'RandomHue',
    'RandomInvert', 'RandomPerspective', 'RandomPosterization', 'RandomRotation',
    'RandomSaturation', 'RandomSharpness', 'RandomShear', 'RandomTranslation', 'RandomZoom',
    'ReLU', 'RepeatVector', 'Rescaling', 'Reshape', 'Resizing', 'ReversibleEmbedding',
    'STFTSpectrogram', 'SeparableConv1D', 'SeparableConv2D', 'SeparableConvolution1D',
    'SeparableConvolution2D', 'SimpleRNN', 'SimpleRNNCell', 'Softmax', 'Solarization',
    'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'SpectralNormalization',
    'StackedRNNCells', 'StringLookup', 'Subtract', 'TextVectorization', 'TimeDistributed',
    'UnitNormalization', 'UpSampling1D', 'UpSampling2D', 'UpSampling3D', 'Wrapper',
    'ZeroPadding1D', 'ZeroPadding2D', 'ZeroPadding3D', 'add', 'average', 'concatenate',
    'deserialize', 'dot', 'maximum', 'minimum', 'multiply', 'serialize', 'subtract',
)

FRAMEWORK_WRAPPERS = ("TFSMLayer", "JaxLayer", "FlaxLayer", "TorchModuleWrapper")


def test_the_list_is_the_one_read_from_keras_3_15():
    assert len(KERAS_3_15_LAYERS) == 171
    assert len(set(KERAS_3_15_LAYERS)) == len(KERAS_3_15_LAYERS)
    assert list(KERAS_3_15_LAYERS) == sorted(KERAS_3_15_LAYERS)
    assert not set(FRAMEWORK_WRAPPERS) & set(KERAS_3_15_LAYERS)
    # The same list read another way: keras/api/layers/__init__.py at v3.15.1
    # (tests/keras_compat/keras_api/layers.txt), less the framework wrappers.
    api = Path(__file__).parent / "keras_compat" / "keras_api" / "layers.txt"
    exported = {n.strip() for n in api.read_text().splitlines() if n.strip()}
    assert exported - set(FRAMEWORK_WRAPPERS) == set(KERAS_3_15_LAYERS)
    assert set(FRAMEWORK_WRAPPERS) <= exported


def test_every_keras_layers_name_exists():
    missing = [name for name in KERAS_3_15_LAYERS if not hasattr(L, name)]
    assert not missing, (f"{len(missing)} of the {len(KERAS_3_15_LAYERS)} names keras.layers "
                         f"exports in Keras 3.15 are missing from mlxfunctional.layers: "
                         + ", ".join(missing))


def test_every_layer_class_there_is_registered_under_its_class_name():
    # A model file names a layer by its class; load_model must find it (aliases such
    # as Convolution2D are the same class, saved under the class's own name).
    unregistered = []
    for name in KERAS_3_15_LAYERS:
        value = getattr(L, name, None)
        if inspect.isclass(value) and issubclass(value, Layer) and value is not Layer:
            if registry.get_registered_object(value.__name__) is not value:
                unregistered.append(name)
    assert not unregistered, unregistered
