"""``mlxfunctional.models``: model classes and whole-model helpers."""

from .engine.functional import Functional
from .engine.model import Model
from .engine.sequential import Sequential
from .saving.model_file import load_model, save_model
from .engine.serialization import model_from_json
from .utils.clone import clone_model

__all__ = ["Model", "Functional", "Sequential", "model_from_json", "clone_model",
           "load_model", "save_model"]
