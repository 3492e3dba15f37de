"""The layer catalogue, one module per family (Keras' names)."""

from ..engine.input_layer import Input, InputLayer
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .bidirectional import Bidirectional
from .attention import AdditiveAttention, Attention
from .activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from .conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from .convolutional import Conv1D, Conv2D, Conv3D
from .core import Activation, Dense, Embedding, Identity, Lambda
from .einsum_dense import EinsumDense
from .group_query_attention import GroupQueryAttention
from .multi_head_attention import MultiHeadAttention
from .reversible_embedding import ReversibleEmbedding
from .depthwise import DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D
from .masking import Masking
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract,
                      add, average, concatenate, dot, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization, UnitNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D,
                      AvgPool2D, AvgPool3D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                      GlobalAveragePooling3D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D,
                      GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D, GlobalMaxPooling1D,
                      GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D,
                      MaxPooling1D, MaxPooling2D, MaxPooling3D)
from .recurrent import GRU, LSTM, RNN, SimpleRNN
from .rnn_cells import GRUCell, LSTMCell, SimpleRNNCell
from .stacked_rnn_cells import StackedRNNCells
from .regularization import (ActivityRegularization, Dropout, GaussianDropout, GaussianNoise,
                             SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from .reshaping import (Cropping1D, Cropping2D, Cropping3D, Flatten, Permute, RepeatVector,
                        Reshape, UpSampling1D, UpSampling2D, UpSampling3D, ZeroPadding1D,
                        ZeroPadding2D, ZeroPadding3D)
from .serialization import deserialize, serialize
from .time_distributed import TimeDistributed

# Keras' aliases
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution2DTranspose = Conv2DTranspose

# Issue 14 (normalization family, adaptive pooling, aliases).
from .adaptive_pooling import AdaptiveAveragePooling1D
from .adaptive_pooling import AdaptiveAveragePooling2D
from .adaptive_pooling import AdaptiveAveragePooling3D
from .adaptive_pooling import AdaptiveMaxPooling1D
from .adaptive_pooling import AdaptiveMaxPooling2D
from .adaptive_pooling import AdaptiveMaxPooling3D
from .alpha_dropout import AlphaDropout
from .group_normalization import GroupNormalization
from .group_normalization import RMSNormalization
from .wrapper import SpectralNormalization
from .wrapper import Wrapper
Convolution1DTranspose, Convolution3DTranspose = Conv1DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

# Issue 14 item 4 (preprocessing).
from .preprocessing_numeric import CategoryEncoding
from .preprocessing_numeric import Discretization
from .preprocessing_numeric import Normalization
from .preprocessing_numeric import Rescaling
from .preprocessing_image import CenterCrop
from .preprocessing_image import Resizing
from .hashing import HashedCrossing
from .hashing import Hashing
from .index_lookup import IntegerLookup
from .index_lookup import StringLookup
from .text_vectorization import TextVectorization
# Issue 14 (augmentation).
from .augmentation_color import RandomBrightness, RandomContrast, RandomGrayscale
from .augmentation_color import RandomHue, RandomInvert, RandomSaturation
from .augmentation_distort import RandomElasticTransform, RandomPerspective
from .augmentation_geometric import RandomCrop, RandomFlip, RandomRotation
from .augmentation_geometric import RandomShear, RandomTranslation, RandomZoom
from .augmentation_mixing import CutMix, MixUp, RandomErasing
from .augmentation_policies import AugMix, Pipeline, RandAugment, RandomColorDegeneration
from .augmentation_tone import AutoContrast, Equalization, RandomColorJitter
from .augmentation_tone import RandomGaussianBlur, RandomPosterization, RandomSharpness
from .augmentation_tone import Solarization
from .augmentation_clahe import ContrastLimitedAdaptiveHistogramEqualization
from .augmentation_clahe import MaxNumBoundingBoxes
# Issue 14 (audio).
from .spectrogram import MelSpectrogram
from .spectrogram import STFTSpectrogram
