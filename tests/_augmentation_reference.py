"""Independent references for the augmentation layer tests: per-pixel loops for
warps, np.bincount histograms, numpy convolutions (no code of the layers)."""

import math

import numpy as np

RNG = np.random.RandomState(0)
IMAGES = (RNG.rand(4, 6, 7, 3) * 255).astype("float32")


def as_np(x):
    return np.array(x)


def reflect(i, n):
    """Half-sample symmetric folding (d c b a | a b c d | d c b a), step by step."""
    while i < 0 or i >= n:
        i = -i - 1 if i < 0 else 2 * n - 1 - i
    return i


def bilinear_warp(image, source, fill_mode="reflect", fill_value=0.0):
    """image (H, W, C); source(x, y) -> (sx, sy), the point output pixel (x, y) reads."""
    h, w, _ = image.shape
    out = np.zeros_like(image, dtype=np.float64)
    for y in range(h):
        for x in range(w):
            sx, sy = source(x, y)
            x0, y0 = math.floor(sx), math.floor(sy)
            for yy, wy in ((y0, 1 - (sy - y0)), (y0 + 1, sy - y0)):
                for xx, wx in ((x0, 1 - (sx - x0)), (x0 + 1, sx - x0)):
                    if fill_mode == "constant" and not (0 <= yy < h and 0 <= xx < w):
                        value = fill_value
                    else:
                        value = image[reflect(yy, h), reflect(xx, w)]
                    out[y, x] += wy * wx * value
    return out


def smooth_3x3(x):
    kernel = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=np.float64) / 13
    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros(x.shape)
    for dy in range(3):
        for dx in range(3):
            out += kernel[dy, dx] * padded[:, dy:dy + x.shape[1], dx:dx + x.shape[2]]
    return out


def replaced_box(changed):
    """The changed pixels form one axis-aligned box (or none): returns its area."""
    if not changed.any():
        return 0
    rows, cols = np.nonzero(changed.any(axis=1))[0], np.nonzero(changed.any(axis=0))[0]
    box = np.zeros_like(changed)
    box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    assert np.array_equal(box, changed)
    return changed.sum()


def clahe_reference(image, clip_limit, grid):
    """Per-pixel loops: each tile's clipped-histogram table, blended between the four
    nearest tile centres (clamped at the borders)."""
    h, w, c = image.shape
    gh, gw = grid
    th, tw = -(-h // gh), -(-w // gw)
    padded = np.pad(image, ((0, th * gh - h), (0, tw * gw - w), (0, 0)), mode="symmetric")
    pixels = np.clip(padded, 0, 255).astype(int)
    tables = np.zeros((gh, gw, c, 256))
    for ty in range(gh):
        for tx in range(gw):
            for ch in range(c):
                tile = pixels[ty * th:(ty + 1) * th, tx * tw:(tx + 1) * tw, ch]
                hist = np.bincount(tile.ravel(), minlength=256).astype(np.float64)
                if clip_limit > 0:
                    limit = clip_limit * th * tw / 256
                    excess = np.maximum(hist - limit, 0).sum()
                    hist = np.minimum(hist, limit) + excess / 256
                cdf = np.cumsum(hist)
                den = th * tw - cdf.min()
                tables[ty, tx, ch] = np.clip((cdf - cdf.min()) * 255 / (den or 1), 0, 255)
    out = np.zeros((h, w, c))
    for y in range(h):
        fy = (y - th / 2) / th
        y0 = math.floor(fy)
        for x in range(w):
            fx = (x - tw / 2) / tw
            x0 = math.floor(fx)
            for ch in range(c):
                v = pixels[y, x, ch]
                acc = 0.0
                for ty, wy in ((y0, 1 - (fy - y0)), (y0 + 1, fy - y0)):
                    for tx, wx in ((x0, 1 - (fx - x0)), (x0 + 1, fx - x0)):
                        t = tables[min(max(ty, 0), gh - 1), min(max(tx, 0), gw - 1), ch]
                        acc += wy * wx * t[v]
                out[y, x, ch] = acc
    return out


def candidates_at_strength_zero(x):
    """What each RandAugment/AugMix operation does with factor 0 (numpy)."""
    low, high = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    equalized = np.empty_like(x)
    for ch in range(x.shape[-1]):
        values = x[..., ch].astype(int)
        cdf = np.cumsum(np.bincount(values.ravel(), minlength=256))
        cdf_min = cdf[np.nonzero(cdf)[0][0]]
        table = np.clip(np.round((cdf - cdf_min) * 255 / (cdf[-1] - cdf_min)), 0, 255)
        equalized[..., ch] = table[values]
    return {"identity": x, "sharpness 0 (smooth)": np.clip(smooth_3x3(x), 0, 255),
            "posterization 1 bit": ((x.astype(np.uint8) >> 7) << 7).astype(np.float32),
            "solarization t=0": 255 - x, "auto contrast": (x - low) * 255 / (high - low),
            "equalization": equalized}


def which(out, candidates):
    return [name for name, ref in candidates.items() if np.allclose(out, ref, atol=1e-2)]
