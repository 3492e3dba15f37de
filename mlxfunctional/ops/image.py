"""``keras.ops.image``: image ops on MLX, gathered from the files that define them.

- ``image_color.py``: RGB to grayscale, RGB to HSV and back;
- ``image_resize.py``: resize, scale_and_translate, crop_images, pad_images;
- ``image_filters.py``: gaussian_blur, sobel_edges, ssim, extract_patches(_3d);
- ``image_warp.py``: map_coordinates and the warps on it (affine, perspective,
  elastic);
- ``image_layout.py``: the data format and batching every op shares.

Images are channels-last by default (``data_format`` or the global
``image_data_format``); a 3-D input is one image, a 4-D input a batch.
"""

from .image_color import *  # noqa: F401,F403
from .image_filters import *  # noqa: F401,F403
from .image_resize import *  # noqa: F401,F403
from .image_warp import *  # noqa: F401,F403
from . import image_color, image_filters, image_resize, image_warp

__all__ = sorted(image_color.__all__ + image_filters.__all__ + image_resize.__all__
                 + image_warp.__all__)
