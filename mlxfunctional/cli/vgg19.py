"""``mlxf vgg19 IMAGE...``: classify images with pretrained VGG19 and print the top classes."""

import os

from .errors import EXIT_CORRUPT, EXIT_MISMATCH, EXIT_MISSING, CLIError, require_file


def add_parser(sub):
    p = sub.add_parser(
        "vgg19", help="classify images with pretrained VGG19 (top-5 ImageNet classes)",
        description="Classifies images with VGG19 and ImageNet weights: by default "
                    "torchvision's, from the Hugging Face Hub (downloaded once, ~575 MB).")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG...)")
    p.add_argument("--weights", default="imagenet",
                   help="'imagenet' (the Hub), or a weights file: Keras' VGG19 .h5, a timm "
                        ".safetensors, or an mlxfunctional .mlxf")
    p.add_argument("--top", type=_positive_int, default=5,
                   help="classes to print per image (default 5)")
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit)")
    p.set_defaults(run=run_vgg19)


def _positive_int(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; received {text!r}")
    return value


def _load_images(paths):
    import numpy as np

    from ..utils.image_utils import center_crop_resize, img_to_array, load_img

    batch = []
    for path in paths:
        require_file(path, "image")
        try:
            img = center_crop_resize(load_img(path), size=224)
        except (ValueError, OSError) as e:
            raise CLIError(f"cannot read image {path!r}: {e}", EXIT_MISMATCH) from None
        batch.append(img_to_array(img))
    return np.stack(batch)


def run_vgg19(args):
    from ..applications import vgg19

    images = _load_images(args.images)  # before the (long) download: bad paths fail fast
    if args.weights != "imagenet":
        require_file(args.weights, "weights file")
    try:
        model = vgg19.VGG19(weights=args.weights, revision=args.revision)
    except OSError as e:  # the Hub is unreachable and nothing is cached
        raise CLIError(str(e), EXIT_MISSING) from None
    except ValueError as e:  # a weights file that is corrupt or not VGG19's
        raise CLIError(str(e), EXIT_CORRUPT) from None
    x = vgg19.preprocess_input(images, mode=vgg19.preprocessing_mode(args.weights))
    preds = model.predict(x, batch_size=8, verbose=0)
    for path, top in zip(args.images, vgg19.decode_predictions(preds, top=args.top)):
        print(os.path.basename(path))
        for rank, (wnid, name, score) in enumerate(top, 1):
            print(f"  {rank}. {name:<24} {score:7.2%}  ({wnid})")
