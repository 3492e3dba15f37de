"""``image_dataset_from_directory``: a folder of class subfolders as batches of images."""

import numpy as np

from ..compute.conv_utils import normalize_data_format
from . import directory_dataset as dd
from ..ops.image_resize import resize
from .image_utils import img_to_array, load_img

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}
# Keras resizes with ops.image.resize (no antialiasing), and so does this, so the
# pixels match Keras' rather than Pillow's antialiased resampling.
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


class ImageBatches(dd.FileBatches):
    """Batches of float32 images ``(batch, height, width, channels)``: decoded with
    Pillow, resized with ``ops.image.resize``."""

    def __init__(self, file_paths, labels, class_names, batch_size, image_size, color_mode,
                 interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, shuffle, seed):
        super().__init__(file_paths, labels, class_names, batch_size, shuffle, seed)
        self.image_size = tuple(int(s) for s in image_size)
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio

    def load(self, path):
        image = img_to_array(load_img(path, color_mode=self.color_mode), dtype="float32")
        if image.shape[:2] == self.image_size:
            return image
        return np.asarray(resize(image, self.image_size, interpolation=self.interpolation,
                                 crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                                 pad_to_aspect_ratio=self.pad_to_aspect_ratio))


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format=None,
                                 verbose=True):
    """Images in ``directory/<class>/`` as a ``PyDataset`` of ``(images, labels)`` batches.

    Keras returns a ``tf.data.Dataset``; this returns a
    :class:`~mlxfunctional.utils.PyDataset` that ``fit``/``evaluate``/``predict``
    take, with the same ``class_names`` and ``file_paths`` attributes. Images
    are decoded with Pillow, resized to ``image_size`` as Keras resizes them
    (``ops.image.resize``) and given as float32 in [0, 255], channels last.

    Args:
        directory: the folder; with ``labels="inferred"`` one subfolder per class.
        labels: ``"inferred"``, None, or one integer label per file (files in
            alphanumeric order).
        label_mode: ``"int"`` (int32 ``(batch,)``), ``"categorical"`` (float32
            one-hot), ``"binary"`` (float32 ``(batch, 1)``; exactly 2 classes) or
            None (images only).
        class_names: the subfolders to use, in label order (only with "inferred").
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"`` (3, 4 or 1 channels).
        batch_size: images per batch; None gives single images.
        image_size: ``(height, width)`` (or one int) every image is resized to.
        shuffle: shuffle the files (and again every epoch).
        seed: seed of the shuffle and the validation split.
        validation_split: fraction of files kept for validation.
        subset: ``"training"``, ``"validation"``, or ``"both"`` (returns the two).
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"area"``,
            ``"lanczos3"`` or ``"lanczos5"`` (Keras' TF-only ``"gaussian"`` and
            ``"mitchellcubic"`` are refused).
        follow_links: follow symbolic links to subfolders.
        crop_to_aspect_ratio: resize the largest centered crop with the target's
            aspect ratio instead of stretching.
        pad_to_aspect_ratio: pad with black to the target's aspect ratio instead.
        data_format: only ``"channels_last"`` (or None).
        format: accepted for Keras' signature ("tf"/"grain"); ignored.
        verbose: print how many files and classes were found.
    """
    dd.check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed)
    if color_mode not in _CHANNELS:
        raise ValueError("`color_mode` must be 'rgb', 'rgba' or 'grayscale'. "
                         f"Received: color_mode={color_mode!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"`image_size` must be (height, width). Received: {image_size!r}")
    interpolation = str(interpolation).lower()
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"`interpolation` must be one of {_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can "
                         "be True.")
    normalize_data_format(data_format)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = np.random.randint(1e6)
    paths, found, names = dd.index_directory(directory, labels, IMAGE_FORMATS, class_names,
                                             shuffle, seed, follow_links, verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes. Found {len(names)}: "
                         f"{names}")

    def build(subset_name, shuffle_batches):
        subset_paths, subset_labels = dd.training_or_validation(
            paths, found, validation_split, subset_name, verbose)
        if not subset_paths:
            raise ValueError(f"No images found in directory {directory!r} (for subset "
                             f"{subset_name!r}). Allowed formats: {IMAGE_FORMATS}")
        if subset_labels is not None:
            subset_labels = dd.encode_labels(subset_labels, label_mode, len(names))
        return ImageBatches(subset_paths, subset_labels, names, batch_size, image_size,
                            color_mode, interpolation,
                            crop_to_aspect_ratio, pad_to_aspect_ratio, shuffle_batches, seed)

    if subset == "both":
        return [build("training", shuffle), build("validation", False)]
    return build(subset, shuffle)
