"""Guide §9: extract and reuse the nodes of a layer graph (VGG19 feature extraction).

Builds ``applications.VGG19`` and a model returning every layer's activation
(26 outputs). The weights are RANDOM (``weights=None``): pretrained ImageNet
weights are not available in mlxfunctional yet, so the features show the
mechanism, not meaningful image features.
"""

import time

import numpy as np

import mlxfunctional as keras
from mlxfunctional.applications import VGG19

from _common import parser, plot


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--image-size", type=int, default=224,
                   help="side of the random input image (default 224, VGG19's own); "
                        "another size drops the classifier head (include_top=False)")
    args = p.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    print("Note: VGG19 uses RANDOM weights (weights=None); pretrained ImageNet weights "
          "are not available yet.")
    size = args.image_size
    if size == 224:
        vgg19 = VGG19(weights=None)
    else:  # The Dense head needs 224x224 inputs; the convolutional base takes any size.
        vgg19 = VGG19(weights=None, include_top=False, input_shape=(size, size, 3))
    print(f"{vgg19.name}: {len(vgg19.layers)} layers, {vgg19.count_params():,} parameters")
    plot(vgg19, args.plot)

    features_list = [layer.output for layer in vgg19.layers]
    feat_extraction_model = keras.Model(inputs=vgg19.input, outputs=features_list)

    img = np.random.default_rng(args.seed).random((1, size, size, 3)).astype("float32")
    start = time.perf_counter()
    extracted_features = feat_extraction_model(img)
    shapes = [tuple(np.asarray(f).shape) for f in extracted_features]  # evaluates them
    print(f"Extracted {len(shapes)} feature maps in {time.perf_counter() - start:.2f} s:")
    for layer, shape in zip(vgg19.layers, shapes):
        print(f"  {layer.name:<16} {shape}")


if __name__ == "__main__":
    main()
