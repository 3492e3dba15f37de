"""``keras.preprocessing.image``: loading, converting and saving images (``keras.utils``)."""

from ..utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]
