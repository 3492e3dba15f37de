"""Utilities: summaries, structure helpers, model cloning.

Names are resolved on first use (PEP 562) because the engine itself imports
``utils.tree``; importing the summary here eagerly would be circular.
"""

_LAZY = {
    "print_summary": ("summary", "print_summary"),
    "clone_model": ("clone", "clone_model"),
    "to_categorical": ("numerical_utils", "to_categorical"),
    "set_random_seed": ("rng_utils", "set_random_seed"),
    "Progbar": ("progbar", "Progbar"),
    "plot_model": ("plot", "plot_model"),
    "model_to_dot": ("plot", "model_to_dot"),
    "load_img": ("image_utils", "load_img"),
    "img_to_array": ("image_utils", "img_to_array"),
    "array_to_img": ("image_utils", "array_to_img"),
    "save_img": ("image_utils", "save_img"),
    "get_source_inputs": (".engine.graph", "get_source_inputs"),
    "PyDataset": ("py_dataset", "PyDataset"),
    "Sequence": ("py_dataset", "Sequence"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        # "name": a module of utils; ".name": one of the package (relative to utils).
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
