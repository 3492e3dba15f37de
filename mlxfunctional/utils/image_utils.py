"""Keras-style image files <-> arrays, with Pillow.

Pillow is imported on first use, so the rest of ``mlxfunctional.utils`` works
without it. Arrays are channels-last ``(height, width, channels)``.
"""

import io
import math
import os
import pathlib
import warnings

import numpy as np

from ..compute.conv_utils import normalize_data_format

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
_COLOR_MODES = ("grayscale", "rgb", "rgba")


def _pil_image():
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(
            "Loading and saving images requires Pillow, which is not installed. "
            "Install it with `pip install pillow`."
        ) from e
    return Image


def _resample(interpolation):
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"Invalid interpolation method {interpolation!r}. Supported methods are "
            f"{', '.join(_INTERPOLATIONS)}."
        )
    return getattr(_pil_image().Resampling, interpolation.upper())


def _open(path):
    """Opens and fully decodes ``path`` so a corrupt file fails here, not later."""
    Image = _pil_image()
    if isinstance(path, io.IOBase):
        name, data = getattr(path, "name", repr(path)), path.read()
    elif isinstance(path, (str, bytes, os.PathLike)):
        name = os.fsdecode(path)
        if not os.path.isfile(name):
            raise FileNotFoundError(f"No image file at {name!r}.")
        with open(name, "rb") as f:
            data = f.read()
    else:
        raise TypeError(f"path should be path-like or a binary file object, not {type(path)}.")
    try:
        # Decoding from memory leaves no file handle open behind the lazy PIL image.
        img = Image.open(io.BytesIO(data))
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ValueError(f"Could not decode an image from {name!r}: {e}") from e
    return img


_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _to_8_bit(img):
    # Pillow's I;16 -> RGB clips at 255 (a 16-bit scan turns white; Keras has the same
    # defect): keep the top 8 bits instead. Mode "I" (32-bit) only when its values are
    # 16-bit ones; an 8-bit image stored as "I" is clipped by nothing and kept.
    values = np.asarray(img)
    if img.mode == "I" and values.max(initial=0) <= 255:
        return img
    top_bits = (np.clip(values, 0, 65535).astype(np.uint32) >> 8).astype(np.uint8)
    return _pil_image().fromarray(top_bits, "L")


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Loads an image file into a PIL image, as Keras' ``load_img``.

    Args:
        path: path of the file (str, bytes or ``pathlib.Path``) or a binary file
            object such as ``io.BytesIO``.
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"`` (8-bit ``L``, unless
            the file already is 16- or 32-bit grayscale). 16-bit grayscale becomes
            RGB by its top 8 bits (Keras clips it at 255: mostly white).
        target_size: ``None`` (the file's size) or ``(height, width)``.
        interpolation: resampling when resizing: ``"nearest"``, ``"bilinear"``,
            ``"bicubic"``, ``"hamming"``, ``"box"`` or ``"lanczos"``.
        keep_aspect_ratio: resize the largest centered crop that has the target's
            aspect ratio, instead of stretching the whole image.

    Returns:
        A ``PIL.Image.Image``.

    Raises:
        ImportError: without Pillow.
        FileNotFoundError: if ``path`` is not a file.
        ValueError: if the file cannot be decoded, or for a bad argument.
    """
    if color_mode not in _COLOR_MODES:
        raise ValueError(f"color_mode must be one of {_COLOR_MODES}; received {color_mode!r}.")
    img = _open(path)
    if color_mode == "grayscale":
        # Keep 16- and 32-bit grayscale as they are; anything else becomes 8-bit.
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif img.mode != color_mode.upper():
        img = img.convert(color_mode.upper()) if img.mode not in _SIXTEEN_BIT \
            else _to_8_bit(img).convert(color_mode.upper())

    if target_size is None:
        return img
    width_height = (int(target_size[1]), int(target_size[0]))
    if img.size == width_height:
        return img
    resample = _resample(interpolation)
    if not keep_aspect_ratio:
        return img.resize(width_height, resample)
    # Keras' crop: the largest centered box with the target's aspect ratio.
    width, height = img.size
    crop_height = min(height, (width * width_height[1]) // width_height[0])
    crop_width = min(width, (height * width_height[0]) // width_height[1])
    left, top = (width - crop_width) // 2, (height - crop_height) // 2
    return img.resize(width_height, resample,
                      box=(left, top, left + crop_width, top + crop_height))


def img_to_array(img, data_format=None, dtype="float32"):
    """A PIL image as a channels-last numpy array.

    Args:
        img: a PIL image.
        data_format: ``None`` or ``"channels_last"`` (kept second, where Keras has
            it, so Keras calls work unchanged).
        dtype: dtype of the result.

    Returns:
        An array of shape ``(height, width, channels)``; grayscale gets 1 channel.
    """
    normalize_data_format(data_format)
    x = np.asarray(img, dtype=dtype)
    if x.ndim == 2:
        x = x[:, :, np.newaxis]
    elif x.ndim != 3:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return x


def array_to_img(x, data_format=None, scale=True, dtype="float32"):
    """A channels-last array (numpy or ``mx.array``) as a PIL image.

    Args:
        x: one image, shape ``(height, width, channels)`` with 1, 3 or 4 channels.
        data_format: ``None`` or ``"channels_last"``.
        scale: stretch the values to ``[0, 255]`` (min to 0, max to 255), as Keras
            does; with ``False`` they are cast to 8 bits as they are.
        dtype: dtype the values are converted to before scaling.

    Returns:
        A PIL image: ``RGB``, ``RGBA``, ``L``, or ``I`` for one channel above 255.
    """
    normalize_data_format(data_format)
    Image = _pil_image()
    x = np.array(x, dtype=dtype)  # a copy: scaling below works in place
    if x.ndim != 3:
        raise ValueError(
            f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"))  # RGB or RGBA, from the shape
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"))  # 32-bit grayscale, mode I
        return Image.fromarray(x[:, :, 0].astype("uint8"))
    raise ValueError(f"Unsupported channel number: {channels}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves a channels-last array as an image file.

    Args:
        path: where to write (str or path-like) or a binary file object.
        x: the image array, as for ``array_to_img``.
        data_format: ``None`` or ``"channels_last"``.
        file_format: e.g. ``"png"`` or ``"jpeg"``; ``None`` infers it from the name.
        scale: as for ``array_to_img``.
        **kwargs: passed to ``PIL.Image.Image.save`` (e.g. ``quality=95``).
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    fmt = file_format
    if fmt is None and isinstance(path, (str, os.PathLike)):
        fmt = pathlib.Path(path).suffix.lstrip(".") or None
    if img.mode == "RGBA" and fmt is not None and fmt.lower() in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def center_crop_resize(img, size=224, crop_pct=0.875, interpolation="bilinear"):
    """The ImageNet evaluation transform of timm and torchvision, on a PIL image.

    The shorter side is resized to ``floor(size / crop_pct)`` (256 for the
    defaults; timm floors, so 224 / 0.9 gives 248) keeping the aspect ratio, then
    the central ``size x size`` square is cropped.

    Args:
        img: a PIL image.
        size: side of the square result.
        crop_pct: fraction of the resized shorter side that the crop keeps, in (0, 1].
        interpolation: resampling for the resize (see ``load_img``).

    Returns:
        A ``size x size`` PIL image.
    """
    size = int(size)
    if size < 1:
        raise ValueError(f"size must be a positive integer; received {size}.")
    if not 0 < crop_pct <= 1:
        raise ValueError(f"crop_pct must be in (0, 1]; received {crop_pct}.")
    resample = _resample(interpolation)
    short = math.floor(size / crop_pct)
    width, height = img.size
    # torchvision's Resize(int): the long side is truncated, not rounded.
    if width <= height:
        new_size = (short, int(short * height / width))
    else:
        new_size = (int(short * width / height), short)
    if new_size != img.size:
        img = img.resize(new_size, resample)
    # torchvision's CenterCrop rounds the offsets.
    left = int(round((new_size[0] - size) / 2.0))
    top = int(round((new_size[1] - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resizes image(s) to ``size`` without distorting them, as Keras' ``smart_resize``:
    the largest centered box with the target's aspect ratio is cropped, then resized.

    Args:
        x: one image ``(height, width, channels)`` or a batch of them (numpy or MLX).
        size: ``(height, width)``.
        interpolation: as ``ops.image.resize``.
        data_format: only ``"channels_last"``.

    Returns:
        An array of the input's kind (numpy in, numpy out), float.
    """
    from ..ops.image_resize import resize

    normalize_data_format(data_format)
    if np.ndim(x) not in (3, 4):
        raise ValueError(f"smart_resize expects an image (rank 3) or a batch (rank 4). "
                         f"Received shape: {np.shape(x)}")
    out = resize(x if not isinstance(x, np.ndarray) else x.astype("float32"), tuple(size),
                 interpolation=interpolation, crop_to_aspect_ratio=True)
    return np.asarray(out) if isinstance(x, np.ndarray) else out
