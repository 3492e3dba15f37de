"""Where VGG19's pretrained weights come from, and the preprocessing each wants.

- ``"imagenet"``: timm's ``vgg19.tv_in1k`` (torchvision's weights) from the
  Hugging Face Hub, converted once (``timm_vgg19.py``) and cached as a model
  file (``hub.py``). Torch preprocessing: RGB / 255, ImageNet mean and std.
- a Keras 2 ``.h5`` weights file (``keras_h5.py``): Keras' own weights,
  trained on caffe preprocessing (BGR minus the mean pixel).
- a ``.safetensors`` in timm's layout: converted like the Hub file.
- our own files (``.mlxf``, model directory, ``.npz``/``.safetensors`` from
  ``save_weights``): keys ``layer/weight`` in Keras' layout, used as they are;
  they do not say which preprocessing their weights want.

Whatever the source, weights are assigned by layer name and every VGG19
weight of the model must be found with the right shape, or nothing is
assigned and one error lists what is wrong.
"""

import os
import warnings

import numpy as np

from ..saving.arrays import Stored, to_numpy
from ..saving.errors import ModelFileError
from ..saving.model_file import is_model_path
from ..saving.weight_map import assign_weights, weight_refs
from ..saving.weights_file import read_weights_file
from . import hub, timm_vgg19
from .keras_h5 import read_keras_h5
from .vgg19_graph import CONV_NAMES, LAYER_NAMES, vgg19_graph

HUB_FILENAME = "model.safetensors"
CACHE_FILENAME = "vgg19.mlxf"


def preprocessing_mode(weights):
    """The ``preprocess_input`` mode that VGG19 weights want, by their ``weights`` argument.

    ``"caffe"`` for Keras' ``.h5`` files (BGR minus the mean pixel); ``"torch"`` for the
    Hub's (``"imagenet"``), a timm ``.safetensors``, and our own files, which do not
    record it (the mode of the weights they were saved from; ``"torch"`` assumed).
    """
    if weights is not None and weights != "imagenet" and \
            os.fspath(weights).lower().endswith((".h5", ".hdf5")):
        return "caffe"
    return "torch"


def load_pretrained(model, weights, include_top, repo_id, revision=None):
    """Fills the VGG19 layers of ``model`` from ``weights`` ("imagenet" or a path)."""
    if weights == "imagenet":
        arrays, what = _imagenet(repo_id, revision), f"Hub repo {repo_id!r}"
    else:
        arrays, what = _from_path(os.fspath(weights), include_top), os.fspath(weights)
    _assign(model, arrays, what)


def _imagenet(repo_id, revision):
    cache = hub.converted_path(repo_id, revision, CACHE_FILENAME)
    if os.path.exists(cache):
        try:
            return read_weights_file(cache)
        except ModelFileError as e:  # e.g. cut by a full disk: convert again
            warnings.warn(f"Converting again: the cached VGG19 weights are unreadable: {e}",
                          stacklevel=4)
    source = hub.download(repo_id, HUB_FILENAME, revision)
    try:
        tensors = _numpy(read_weights_file(source))
    except ModelFileError as e:  # e.g. a download cut short outside huggingface_hub
        raise ModelFileError(source, e.problems + [
            f"This is the Hub cache's copy of {HUB_FILENAME} from {repo_id!r}: delete it "
            "(`hf cache delete`, or remove the file) and run again to download it anew."]
        ) from None
    # Converted, the file's own tensors are dropped before the cache is written.
    arrays = timm_vgg19.convert(tensors, include_top=True, what=f"the weights of {repo_id!r}")
    del tensors
    _write_cache(cache, arrays)
    return arrays


def _write_cache(path, arrays):
    """Saves the converted weights as a VGG19 model file (atomically: a cut write leaves
    no file). A failure only costs a conversion next time, so it warns."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        full = vgg19_graph(name="vgg19")
        _assign(full, arrays, "the converted weights")
        full.save(path)
    except OSError as e:
        warnings.warn(f"Could not cache the converted VGG19 weights at {path!r}: {e}",
                      stacklevel=5)


def _from_path(path, include_top):
    if not os.path.exists(path):
        raise ValueError(
            "The `weights` argument should be either `None` (random initialization), "
            "'imagenet' (pre-training on ImageNet, from the Hugging Face Hub), or the path "
            f"to a weights file; {path!r} does not exist.")
    lower = path.lower()
    if lower.endswith((".h5", ".hdf5")):  # (without the top, fc1's 400 MB stay unread)
        layers = read_keras_h5(path, LAYER_NAMES if include_top else CONV_NAMES)
        return _keyed(layers, path)
    if not (lower.endswith((".safetensors", ".npz")) or is_model_path(path)):
        raise ValueError(f"weights={path!r}: VGG19 reads Keras' .h5, a timm .safetensors, or "
                         "mlxfunctional's .mlxf, .npz or .safetensors; this extension is "
                         "none of them.")
    stored = read_weights_file(path)
    if timm_vgg19.is_timm_vgg19(stored):
        return timm_vgg19.convert(_numpy(stored), include_top=include_top, what=repr(path))
    if not any(k.split("/")[0] in LAYER_NAMES for k in stored):
        found = ", ".join(list(stored)[:5]) or "nothing"
        raise ValueError(f"{path!r} holds neither timm's VGG19 tensors (features.0.weight, "
                         "...) nor mlxfunctional's (block1_conv1/kernel, ...); its first keys "
                         f"are: {found}.")
    # As Keras' load_weights, a float16/bfloat16/float64 copy of the weights loads too.
    return {k: Stored(_as_numpy(s).astype(np.float32, copy=False))
            if s.dtype in _OTHER_FLOATS else s for k, s in stored.items()}


def _keyed(layers, path):
    """``{layer: [kernel, bias]}`` (Keras' order) -> ``{"layer/kernel": ..., "layer/bias": ...}``."""
    out = {}
    for layer, arrays in layers.items():
        if len(arrays) != 2:
            raise ValueError(f"{path!r}: layer {layer!r} holds {len(arrays)} weights; a VGG19 "
                             "layer has 2 (kernel, bias).")
        out[f"{layer}/kernel"], out[f"{layer}/bias"] = arrays
    return out


_OTHER_FLOATS = ("float16", "bfloat16", "float64")


def _as_numpy(s):
    """A ``Stored`` as numpy; bfloat16 (kept as uint16 bits) as float32."""
    return to_numpy(s.to_mlx()) if s.dtype == "bfloat16" else s.array


def _numpy(stored):
    return {k: _as_numpy(s) for k, s in stored.items()}


def _assign(model, arrays, what):
    refs = {k: r for k, r in weight_refs(model).items() if k.split("/")[0] in LAYER_NAMES}
    missing = [k for k in refs if k not in arrays]
    if missing:
        top = any(k.split("/")[0] in ("fc1", "fc2", "predictions") for k in missing)
        raise ValueError(f"The VGG19 weights from {what} lack {len(missing)} weight(s) of "
                         f"the model: {', '.join(missing)}."
                         + (" (include_top=True needs fc1, fc2 and predictions in the file; "
                            "include_top=False loads the convolutions only.)" if top else ""))
    stored = {k: a if isinstance(a, Stored) else Stored(a) for k, a in arrays.items()
              if k in refs}
    problems, _ = assign_weights(model, stored, f"the VGG19 weights from {what}", refs=refs)
    if problems:
        raise ValueError("Cannot load VGG19 weights:\n  - " + "\n  - ".join(problems))
