"""Guide §9: extract and reuse the nodes of a layer graph (VGG19 feature extraction).

Builds ``applications.VGG19`` with ImageNet weights from the Hugging Face Hub
(downloaded and converted once; ``--weights PATH`` for a local file) and a
model returning every layer's activation. When the weights cannot be had
(offline and not cached) it says so and falls back to RANDOM weights: the
mechanism is the same, the features are then meaningless. Then it builds a
style-transfer extractor for a few named layers with ``feature_extractor``.
"""

import time

import numpy as np

import mlxfunctional as keras
from mlxfunctional.applications import feature_extractor, vgg19

from _common import parser, plot

STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]


def build_vgg19(weights, size):
    kwargs = {} if size == 224 else {"include_top": False, "input_shape": (size, size, 3)}
    if weights != "none":
        try:
            model = vgg19.VGG19(weights=weights, **kwargs)
            print(f"VGG19 with pretrained weights ({weights}).")
            return model
        except OSError as e:
            print(f"Note: pretrained weights are not available ({str(e).splitlines()[0]})")
    print("Note: VGG19 uses RANDOM weights; the features show the mechanism only.")
    return vgg19.VGG19(weights=None, **kwargs)


def load_image(path, size, seed):
    if path is None:
        return np.random.default_rng(seed).uniform(0, 255, (1, size, size, 3)).astype("float32")
    from mlxfunctional.utils.image_utils import center_crop_resize, img_to_array, load_img

    return img_to_array(center_crop_resize(load_img(path), size=size))[None]


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--weights", default="imagenet",
                   help="'imagenet' (the Hub, default), 'none' (random) or a weights file")
    p.add_argument("--image", help="an image file (default: random pixels)")
    p.add_argument("--image-size", type=int, default=224,
                   help="side of the input image (default 224, VGG19's own); another size "
                        "drops the classifier head (include_top=False)")
    args = p.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    size = args.image_size
    vgg = build_vgg19(args.weights, size)
    print(f"{vgg.name}: {len(vgg.layers)} layers, {vgg.count_params():,} parameters")
    plot(vgg, args.plot)

    # The guide's code: every layer's output, as one model.
    features_list = [layer.output for layer in vgg.layers]
    feat_extraction_model = keras.Model(inputs=vgg.input, outputs=features_list)

    # The preprocessing the weights were trained with: Keras' .h5 want caffe, the rest torch.
    mode = vgg19.preprocessing_mode(None if args.weights == "none" else args.weights)
    img = vgg19.preprocess_input(load_image(args.image, size, args.seed), mode=mode)
    start = time.perf_counter()
    extracted_features = feat_extraction_model(img)
    shapes = [tuple(np.asarray(f).shape) for f in extracted_features]  # evaluates them
    print(f"Extracted {len(shapes)} feature maps in {time.perf_counter() - start:.2f} s:")
    for layer, shape in zip(vgg.layers, shapes):
        print(f"  {layer.name:<16} {shape}")
    if size == 224:
        top = vgg19.decode_predictions(np.asarray(extracted_features[-1]), top=3)[0]
        print("Top classes: " + ", ".join(f"{name} {score:.1%}" for _, name, score in top))

    # What style transfer wants: a few named layers, by name.
    style = feature_extractor(vgg, STYLE_LAYERS)
    grams = {name: float(np.mean(np.asarray(f) ** 2)) for name, f in style(img).items()}
    print("Style layers (mean squared activation): "
          + ", ".join(f"{n} {v:.3g}" for n, v in grams.items()))


if __name__ == "__main__":
    main()
