"""load_img / img_to_array / array_to_img / save_img / center_crop_resize on real files."""

import io

import numpy as np
import pytest

from mlxfunctional import utils
from mlxfunctional.utils import image_utils
from mlxfunctional.utils.image_utils import (
    array_to_img,
    center_crop_resize,
    img_to_array,
    load_img,
    save_img,
)

Image = pytest.importorskip("PIL.Image")


def _quadrants(height=40, width=60):
    """Top-left red, top-right green, bottom-left blue, bottom-right white."""
    x = np.zeros((height, width, 3), dtype=np.uint8)
    h, w = height // 2, width // 2
    x[:h, :w] = (255, 0, 0)
    x[:h, w:] = (0, 255, 0)
    x[h:, :w] = (0, 0, 255)
    x[h:, w:] = (255, 255, 255)
    return x


def _write_png(path, array):
    Image.fromarray(array).save(path)
    return path


def test_lazy_exports():
    assert utils.load_img is load_img
    assert utils.img_to_array is img_to_array
    assert utils.array_to_img is array_to_img
    assert utils.save_img is save_img


def test_png_roundtrip_exact(tmp_path):
    x = _quadrants()
    path = _write_png(tmp_path / "q.png", x)
    img = load_img(path)
    assert img.mode == "RGB" and img.size == (60, 40)  # PIL sizes are (width, height)
    arr = img_to_array(img)
    assert arr.dtype == np.float32 and arr.shape == (40, 60, 3)
    np.testing.assert_array_equal(arr, x)
    assert img_to_array(load_img(str(path)), dtype="uint8").dtype == np.uint8


def test_jpeg_loads_close(tmp_path):
    x = _quadrants()
    path = tmp_path / "q.jpg"
    Image.fromarray(x).save(path, quality=95)
    arr = img_to_array(load_img(path))
    assert arr.shape == (40, 60, 3)
    # Lossy, but the middle of each flat quadrant survives almost unchanged.
    np.testing.assert_allclose(arr[10, 15], (255, 0, 0), atol=12)
    np.testing.assert_allclose(arr[30, 45], (255, 255, 255), atol=12)


def test_bytesio_input(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(_quadrants()).save(buffer, format="PNG")
    buffer.seek(0)
    np.testing.assert_array_equal(img_to_array(load_img(buffer)), _quadrants())


def test_grayscale_mode(tmp_path):
    path = _write_png(tmp_path / "q.png", _quadrants())
    img = load_img(path, color_mode="grayscale")
    assert img.mode == "L"
    arr = img_to_array(img)
    assert arr.shape == (40, 60, 1)
    # ITU-R 601-2 luma, PIL's L conversion: white stays 255, pure red is 76.
    assert arr[30, 45, 0] == 255 and arr[5, 5, 0] == 76


def test_16_bit_grayscale_becomes_rgb_by_its_top_8_bits(tmp_path):
    # Pillow's own I;16 -> RGB clips at 255, which turns a 16-bit scan white.
    from PIL import Image

    deep = (np.arange(40 * 60).reshape(40, 60) * 27).astype(np.uint16)  # 0 .. 64,773
    Image.fromarray(deep).save(tmp_path / "deep.png")
    rgb = img_to_array(load_img(tmp_path / "deep.png"))
    assert rgb.shape == (40, 60, 3)
    np.testing.assert_array_equal(rgb[..., 1], deep >> 8)
    assert load_img(tmp_path / "deep.png", color_mode="grayscale").mode == "I;16"  # kept


def test_rgba_mode_and_rgba_file_to_rgb(tmp_path):
    path = _write_png(tmp_path / "q.png", _quadrants())
    rgba = load_img(path, color_mode="rgba")
    assert rgba.mode == "RGBA"
    arr = img_to_array(rgba)
    assert arr.shape == (40, 60, 4) and np.all(arr[..., 3] == 255)

    translucent = np.dstack([_quadrants(), np.full((40, 60), 128, np.uint8)])
    path = _write_png(tmp_path / "t.png", translucent)
    assert load_img(path, color_mode="rgba").mode == "RGBA"
    assert img_to_array(load_img(path)).shape == (40, 60, 3)


def test_bad_color_mode(tmp_path):
    path = _write_png(tmp_path / "q.png", _quadrants())
    with pytest.raises(ValueError, match="color_mode"):
        load_img(path, color_mode="bgr")


def test_target_size_is_height_width(tmp_path):
    path = _write_png(tmp_path / "q.png", _quadrants())
    img = load_img(path, target_size=(20, 30))
    assert img.size == (30, 20)
    arr = img_to_array(img)
    assert arr.shape == (20, 30, 3)
    # Nearest neighbour halving keeps the quadrants exact.
    np.testing.assert_array_equal(arr, _quadrants(20, 30))
    smooth = img_to_array(load_img(path, target_size=(20, 30), interpolation="bilinear"))
    np.testing.assert_allclose(smooth[5, 5], (255, 0, 0), atol=1)


def test_bad_interpolation(tmp_path):
    path = _write_png(tmp_path / "q.png", _quadrants())
    with pytest.raises(ValueError, match="Supported methods are"):
        load_img(path, target_size=(10, 10), interpolation="cubic")


def test_keep_aspect_ratio_crops_center(tmp_path):
    # A 40x60 image with a 20-pixel black band each side of a 40x20 centre stripe.
    x = np.zeros((40, 60, 3), dtype=np.uint8)
    x[:, 20:40] = 200
    path = _write_png(tmp_path / "band.png", x)
    # Square target: the largest centred square is columns 10..50.
    arr = img_to_array(load_img(path, target_size=(40, 40), keep_aspect_ratio=True))
    assert arr.shape == (40, 40, 3)
    assert np.all(arr[:, :10] == 0) and np.all(arr[:, 10:30] == 200) and np.all(arr[:, 30:] == 0)
    # Stretching instead keeps all 60 columns: the stripe gets narrower.
    stretched = img_to_array(load_img(path, target_size=(40, 40)))
    assert (stretched[0, :, 0] == 200).sum() < 20


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nope.png"):
        load_img("/definitely/not/here/nope.png")


def test_corrupt_file(tmp_path):
    path = tmp_path / "garbage.jpg"
    path.write_bytes(b"this is not an image at all")
    with pytest.raises(ValueError, match="garbage.jpg"):
        load_img(path)


def test_truncated_png(tmp_path):
    good = _write_png(tmp_path / "good.png", np.random.default_rng(0).integers(
        0, 256, (64, 64, 3), dtype=np.uint8))
    data = good.read_bytes()
    path = tmp_path / "truncated.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.png"):
        load_img(path)


def test_bad_path_type():
    with pytest.raises(TypeError):
        load_img(12345)


def test_array_to_img_scales_and_modes():
    x = np.array([[[0.0, 0.5, 1.0]]], dtype=np.float32)
    img = array_to_img(x)
    assert img.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(img), [[[0, 127, 255]]])
    raw = array_to_img(np.array([[[10, 20, 30]]]), scale=False)
    np.testing.assert_array_equal(np.asarray(raw), [[[10, 20, 30]]])
    assert array_to_img(np.zeros((2, 2, 4))).mode == "RGBA"
    assert array_to_img(np.zeros((2, 2, 1))).mode == "L"
    assert array_to_img(np.full((2, 2, 1), 1000.0), scale=False).mode == "I"


def test_array_to_img_accepts_mx_array():
    mx = pytest.importorskip("mlx.core")
    img = array_to_img(mx.array(_quadrants()), scale=False)
    np.testing.assert_array_equal(np.asarray(img), _quadrants())


def test_array_to_img_errors():
    with pytest.raises(ValueError, match="rank 3"):
        array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="channel number: 2"):
        array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="channels_last"):
        array_to_img(np.zeros((3, 2, 2)), data_format="channels_first")


def test_img_to_array_rejects_channels_first():
    with pytest.raises(ValueError, match="channels_last"):
        img_to_array(Image.new("RGB", (2, 2)), data_format="channels_first")


def test_save_img_roundtrip(tmp_path):
    x = _quadrants().astype(np.float32)
    save_img(tmp_path / "out.png", x, scale=False)
    np.testing.assert_array_equal(img_to_array(load_img(tmp_path / "out.png")), x)


def test_save_img_rgba_as_jpeg_warns(tmp_path):
    x = np.dstack([_quadrants(), np.full((40, 60), 255, np.uint8)])
    with pytest.warns(UserWarning, match="RGBA"):
        save_img(tmp_path / "out.jpg", x, scale=False)
    assert load_img(tmp_path / "out.jpg").size == (60, 40)


def test_center_crop_resize_default_geometry():
    img = Image.new("RGB", (512, 384))  # landscape: height is the shorter side
    out = center_crop_resize(img)
    assert out.size == (224, 224)


def test_center_crop_resize_keeps_the_centre():
    # 300 wide x 200 high: shorter side 200 -> 256, width -> int(256 * 1.5) = 384.
    # A red square in the middle 100x100 (1.28x after resize = 128x128 px) must stay
    # centred in the 224 crop: 48 px of border around a 128 px square.
    x = np.zeros((200, 300, 3), dtype=np.uint8)
    x[50:150, 100:200] = (255, 0, 0)
    out = img_to_array(center_crop_resize(Image.fromarray(x), interpolation="nearest"))
    assert out.shape == (224, 224, 3)
    red = np.argwhere(out[..., 0] == 255)
    assert red.min(axis=0).tolist() == [48, 48] and red.max(axis=0).tolist() == [175, 175]


def test_center_crop_resize_portrait_and_crop_pct():
    # Portrait, crop_pct=1: the shorter side becomes exactly `size`, then the top
    # and bottom are trimmed. Rows 0..9 blue, rows 10..89 green, rows 90..99 blue.
    x = np.zeros((100, 50, 3), dtype=np.uint8)
    x[:, :, 2] = 255
    x[10:90] = (0, 255, 0)
    out = img_to_array(center_crop_resize(Image.fromarray(x), size=50, crop_pct=1.0,
                                          interpolation="nearest"))
    assert out.shape == (50, 50, 3)
    assert np.all(out[..., 1] == 255)  # only the green middle is left


def test_center_crop_resize_floors_like_timm(monkeypatch):
    # 224 / 0.9 = 248.9: timm resizes the shorter side to 248, the longer to
    # int(248 * 400 / 300) = 330.
    sizes = []
    original = Image.Image.resize

    def spy(self, size, *args, **kwargs):
        sizes.append(size)
        return original(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", spy)
    out = center_crop_resize(Image.new("RGB", (400, 300)), size=224, crop_pct=0.9)
    assert sizes == [(330, 248)] and out.size == (224, 224)


def test_center_crop_resize_errors():
    img = Image.new("RGB", (10, 10))
    with pytest.raises(ValueError, match="crop_pct"):
        center_crop_resize(img, crop_pct=1.5)
    with pytest.raises(ValueError, match="size"):
        center_crop_resize(img, size=0)
    with pytest.raises(ValueError, match="Supported methods"):
        center_crop_resize(img, interpolation="area")


def test_missing_pillow_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="pip install pillow"):
        image_utils.load_img("anything.png")
