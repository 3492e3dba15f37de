"""How the image ops read their inputs: data format, batching, float compute.

Every op works internally on a batch of channels-last images ``(N, H, W, C)``;
:func:`as_batch` brings an image or batch in either data format there and
returns the function that takes a result back to the caller's layout.
"""

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor


def standardize_data_format(data_format, op):
    """``"channels_last"`` or ``"channels_first"``; None is Keras' global
    ``image_data_format()`` (channels_last unless the config says otherwise)."""
    if data_format is None:
        # keras.config's image_data_format, where this build has it.
        data_format = getattr(backend, "image_data_format", lambda: "channels_last")()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return data_format


def check_rank(images, op, ranks=(3, 4), name="images"):
    if images.ndim not in ranks:
        kinds = " or ".join(f"rank {r}" for r in ranks)
        raise ValueError(f"{op}: expected `{name}` of {kinds} (a single image or a batch). "
                         f"Received: {name}.shape={images.shape}")


def as_batch(images, data_format, op, ranks=(3, 4)):
    """(``images`` as ``(N, *spatial, C)``, the function undoing that)."""
    images = convert_to_tensor(images)
    check_rank(images, op, ranks)
    unbatched = images.ndim < max(ranks)  # the larger rank is a batch
    if unbatched:
        images = images[None]
    first = data_format == "channels_first"
    if first:
        images = mx.moveaxis(images, 1, -1)

    def restore(result):
        if first:
            result = mx.moveaxis(result, -1, 1)
        return result[0] if unbatched else result

    return images, restore


def compute_dtype(dtype):
    """The float dtype an image op computes in: float16/bfloat16/float32/float64
    stay, integers and bools compute in float32."""
    return dtype if backend.is_float_dtype(dtype) else mx.float32


def cast_back(result, dtype, rounding=mx.round):
    """A float result in the input's ``dtype``: for integers, rounded (by default
    half to even, as ``keras.ops.round``) and saturated to the dtype's range."""
    if backend.is_float_dtype(dtype) or result.dtype == dtype:
        return result.astype(dtype)
    if dtype == mx.bool_:
        return rounding(result) != 0
    info = mx.iinfo(dtype)
    return mx.clip(rounding(result), info.min, info.max).astype(dtype)


def round_half_away(x):
    """Rounds .5 away from zero (MLX's ``round`` rounds half to even)."""
    return mx.sign(x) * mx.floor(mx.abs(x) + 0.5)


def correlate2d(images, kernel, padding):
    """Cross-correlates every channel of ``images`` (N, H, W, C) with the 2-D
    ``kernel`` (kh, kw); ``padding`` ("same", zeros, or "valid")."""
    n, h, w, c = images.shape
    kh, kw = kernel.shape
    # Channels move into the batch so a plain (not grouped) convolution does it:
    # MLX's CPU grouped convolutions are naive loops.
    planes = mx.moveaxis(images, -1, 1).reshape(n * c, h, w, 1)
    if padding == "same":
        pad = ([(kh - 1) // 2, (kw - 1) // 2], [kh - 1 - (kh - 1) // 2, kw - 1 - (kw - 1) // 2])
    else:
        pad = 0
    out = mx.conv_general(planes, kernel.astype(planes.dtype)[None, :, :, None], padding=pad)
    return mx.moveaxis(out.reshape(n, c, out.shape[1], out.shape[2]), 1, -1)
