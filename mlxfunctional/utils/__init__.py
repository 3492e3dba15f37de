"""Utilities, as ``keras.utils``: summaries and plots, model cloning, images, data.

The engine never imports this package, so these imports cannot be circular: what
the engine and callbacks share with it (``tree``, ``Progbar``) are leaves of the
package root, and the model's summary and graph drawing live in the engine, whose
``Model.summary()`` and notebook view use them; ``utils.plot``, ``utils.summary``
and ``utils.progbar`` re-export them at their former paths.
"""

from .. import tree
from ..backend import clear_session, is_keras_tensor, standardize_dtype
from ..config import (disable_interactive_logging, enable_interactive_logging,
                      is_interactive_logging_enabled)
from ..engine.graph import get_source_inputs
from ..engine.step_data import pack_x_y_sample_weight, unpack_x_y_sample_weight
from ..registry import (CustomObjectScope, custom_object_scope, get_custom_objects,
                        get_registered_name, get_registered_object,
                        register_keras_serializable)
from ..saving.serialization_lib import deserialize_keras_object, serialize_keras_object
from .clone import clone_model
from .config import Config
from .dataset_utils import split_dataset
from .file_utils import get_file
from .image_dataset import image_dataset_from_directory
from .image_utils import array_to_img, img_to_array, load_img, save_img
from .numerical_utils import normalize, to_categorical
from .plot import GraphvizNotFoundError, model_to_dot, plot_model
from .progbar import Progbar
from .py_dataset import PyDataset, Sequence
from .rng_utils import set_random_seed
from .sequence_utils import pad_sequences
from .summary import print_summary
from .text_dataset import text_dataset_from_directory
from .timeseries_dataset import timeseries_dataset_from_array
