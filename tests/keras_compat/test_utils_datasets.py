"""keras.utils dataset helpers: image_dataset_from_directory, text_dataset_from_directory
and get_file (see test_utils_helpers.py for the array helpers)."""

import hashlib
import io
import pathlib
import tarfile
import zipfile

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import utils
from mlxfunctional.datasets import download
from tests.loopback_server import LoopbackServer



# -- image_dataset_from_directory ---------------------------------------------------------

def write_images(root, classes, per_class, size=(6, 4), mode="RGB"):
    """Image k of class c is filled with the value 40 * c + k (its identity)."""
    from PIL import Image

    for c, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True)
        for k in range(per_class):
            value = 40 * c + k
            pixels = np.full((size[0], size[1], 3), value, dtype=np.uint8)
            Image.fromarray(pixels).convert(mode).save(folder / f"img_{k}.png")
    (root / classes[0] / "notes.txt").write_text("not an image")


def identities(images):
    return images[:, 0, 0, 0].astype(int)


def test_image_dataset_labels_match_images(tmp_path, capsys):
    write_images(tmp_path, ["cat", "dog"], 5)
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(6, 4), batch_size=4, seed=1)
    assert "Found 10 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cat", "dog"] and len(ds) == 3
    assert len(ds.file_paths) == 10
    images, labels = ds[0]
    assert images.shape == (4, 6, 4, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.shape == (4,)
    ids = np.concatenate([identities(ds[i][0]) for i in range(len(ds))])
    labels = np.concatenate([ds[i][1] for i in range(len(ds))])
    np.testing.assert_array_equal(labels, ids // 40)
    assert sorted(ids.tolist()) == [0, 1, 2, 3, 4, 40, 41, 42, 43, 44]
    assert ids.tolist() != sorted(ids.tolist())   # shuffled


def test_image_dataset_reshuffles_each_epoch_and_feeds_fit(tmp_path):
    write_images(tmp_path, ["a", "b"], 6)
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(6, 4), batch_size=4, seed=0,
                                            verbose=False)
    first = np.concatenate([identities(b[0]) for b in ds])
    ds.on_epoch_end()
    second = np.concatenate([identities(b[0]) for b in ds])
    assert sorted(first) == sorted(second) and first.tolist() != second.tolist()
    labels = np.concatenate([b[1] for b in ds])
    np.testing.assert_array_equal(labels, second // 40)   # labels moved with their images
    model = keras.Sequential([keras.Input((6, 4, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(1e-5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("label_mode", ["categorical", "binary", None])
def test_image_dataset_label_modes(tmp_path, label_mode):
    write_images(tmp_path, ["a", "b"], 3)
    ds = utils.image_dataset_from_directory(tmp_path, label_mode=label_mode, image_size=(6, 4),
                                            batch_size=6, shuffle=False, verbose=False)
    if label_mode is None:
        images = ds[0]
        assert isinstance(images, np.ndarray) and images.shape == (6, 6, 4, 3)
        return
    images, labels = ds[0]
    classes = identities(images) // 40
    if label_mode == "categorical":
        np.testing.assert_array_equal(labels, np.eye(2, dtype="float32")[classes])
    else:
        assert labels.shape == (6, 1) and labels.dtype == np.float32
        np.testing.assert_array_equal(labels[:, 0], classes)


def test_image_dataset_validation_split(tmp_path, capsys):
    write_images(tmp_path, ["a", "b", "c"], 4)
    kwargs = dict(image_size=(6, 4), batch_size=5, validation_split=0.25, seed=7)
    train = utils.image_dataset_from_directory(tmp_path, subset="training", **kwargs)
    val = utils.image_dataset_from_directory(tmp_path, subset="validation", **kwargs)
    out = capsys.readouterr().out
    assert "Using 9 files for training." in out and "Using 3 files for validation." in out
    train_ids = np.concatenate([identities(b[0]) for b in train])
    val_ids = np.concatenate([identities(b[0]) for b in val])
    assert len(train_ids) == 9 and len(val_ids) == 3
    assert set(train_ids).isdisjoint(val_ids)
    both = utils.image_dataset_from_directory(tmp_path, subset="both", verbose=False, **kwargs)
    np.testing.assert_array_equal(np.concatenate([identities(b[0]) for b in both[1]]), val_ids)
    assert sorted(np.concatenate([identities(b[0]) for b in both[0]])) == sorted(train_ids)


def test_image_dataset_sizes_modes_and_class_names(tmp_path):
    write_images(tmp_path, ["a", "b", "c"], 2, size=(2, 2))
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(4, 4), interpolation="nearest",
                                            color_mode="grayscale", class_names=["c", "a"],
                                            shuffle=False, batch_size=None, verbose=False)
    assert ds.class_names == ["c", "a"] and len(ds) == 4
    image, label = ds[0]
    assert image.shape == (4, 4, 1) and label == 0
    np.testing.assert_array_equal(image[..., 0], np.full((4, 4), 80.0))   # class "c", image 0
    rgba = utils.image_dataset_from_directory(tmp_path, image_size=8, color_mode="rgba",
                                              shuffle=False, verbose=False)
    assert rgba[0][0].shape == (6, 8, 8, 4)
    np.testing.assert_array_equal(rgba[0][0][..., 3], 255.0)


def test_image_dataset_resizes_as_ops_image_resize(tmp_path):
    from PIL import Image

    (tmp_path / "x").mkdir()
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    Image.fromarray(pixels).save(tmp_path / "x" / "0.png")
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(4, 6), interpolation="nearest",
                                            shuffle=False, verbose=False)
    # Nearest upsampling by 2 repeats each pixel twice in both directions.
    expected = np.repeat(np.repeat(pixels, 2, axis=0), 2, axis=1).astype("float32")
    np.testing.assert_array_equal(ds[0][0][0], expected)
    cropped = utils.image_dataset_from_directory(tmp_path, image_size=(2, 2), shuffle=False,
                                                 interpolation="nearest", verbose=False,
                                                 crop_to_aspect_ratio=True)
    # The centered 2x2 crop of a 2x3 image keeps columns 0 and 1 (offset int(1 / 2) = 0).
    np.testing.assert_array_equal(cropped[0][0][0], pixels[:, :2].astype("float32"))


def test_image_dataset_explicit_labels(tmp_path):
    write_images(tmp_path, ["a"], 3)
    ds = utils.image_dataset_from_directory(tmp_path / "a", labels=[2, 0, 1], image_size=(6, 4),
                                            shuffle=False, verbose=False)
    assert ds.class_names == ["0", "1", "2"]
    images, labels = ds[0]
    # Files in alphanumeric order: img_0, img_1, img_2.
    assert identities(images).tolist() == [0, 1, 2] and labels.tolist() == [2, 0, 1]


@pytest.mark.parametrize("kwargs, match", [
    ({"label_mode": "binary"}, "exactly 2 classes"),
    ({"validation_split": 0.2}, "give both or neither"),
    ({"validation_split": 0.2, "subset": "training"}, "seed"),
    ({"subset": "test", "validation_split": 0.1, "seed": 1}, "subset"),
    ({"color_mode": "cmyk"}, "color_mode"),
    ({"interpolation": "gaussian"}, "interpolation"),
    ({"label_mode": "sparse"}, "label_mode"),
    ({"labels": "folders"}, "labels"),
    ({"class_names": ["zebra"]}, "zebra"),
    ({"image_size": (1, 2, 3)}, "image_size"),
])
def test_image_dataset_errors(tmp_path, kwargs, match):
    write_images(tmp_path, ["a", "b", "c"], 1)
    with pytest.raises(ValueError, match=match):
        utils.image_dataset_from_directory(tmp_path, verbose=False, **kwargs)


def test_image_dataset_without_images(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No images found"):
        utils.image_dataset_from_directory(tmp_path, verbose=False)


# -- text_dataset_from_directory ---------------------------------------------------------

def write_texts(root, classes, per_class):
    for name in classes:
        (root / name).mkdir(parents=True)
        for k in range(per_class):
            (root / name / f"{k}.txt").write_text(f"{name} text number {k}", encoding="utf-8")
    (root / classes[0] / "skip.md").write_text("not a .txt")


def test_text_dataset_labels_match_texts(tmp_path, capsys):
    write_texts(tmp_path, ["neg", "pos"], 4)
    ds = utils.text_dataset_from_directory(tmp_path, batch_size=3, seed=2)
    assert "Found 8 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["neg", "pos"] and len(ds) == 3
    texts = np.concatenate([b[0] for b in ds])
    labels = np.concatenate([b[1] for b in ds])
    assert all(isinstance(t, str) for t in texts)
    assert [t.split()[0] for t in texts] == [ds.class_names[i] for i in labels]
    assert sorted(texts) == sorted(f"{c} text number {k}" for c in ("neg", "pos")
                                   for k in range(4))


def test_text_dataset_max_length_split_and_modes(tmp_path):
    write_texts(tmp_path, ["a", "b"], 5)
    train, val = utils.text_dataset_from_directory(
        tmp_path, max_length=6, validation_split=0.4, subset="both", seed=4,
        label_mode="categorical", verbose=False)
    train_texts = np.concatenate([b[0] for b in train])
    val_texts, val_labels = val[0]
    assert len(train_texts) == 6 and len(val_texts) == 4
    assert all(len(t) == 6 for t in np.concatenate([train_texts, val_texts]))
    np.testing.assert_array_equal(val_labels.argmax(-1),
                                  [train.class_names.index(t[0]) for t in val_texts])
    unlabeled = utils.text_dataset_from_directory(tmp_path, labels=None, batch_size=None,
                                                  shuffle=False, verbose=False)
    assert unlabeled.class_names is None and unlabeled[0] == "a text number 0"


# -- get_file ----------------------------------------------------------------------------

@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(download, "RETRY_BACKOFF", 0.0)
    monkeypatch.setattr(download, "KNOWN_FILES", {})
    data = b"hello keras " * 100
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as archive:
        for name, body in (("pkg/a.txt", b"A"), ("pkg/sub/b.txt", b"BB")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        archive.writestr("z/c.txt", "CCC")
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as archive:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    files = {"data.bin": data, "bundle.tar.gz": tar_buffer.getvalue(),
             "zipped.zip": zip_buffer.getvalue(), "evil.tar": evil.getvalue()}
    with LoopbackServer(files) as s:
        yield s


def test_get_file_downloads_verifies_and_caches(server, tmp_path):
    body = server.files["data.bin"]
    sha, md5 = hashlib.sha256(body).hexdigest(), hashlib.md5(body).hexdigest()
    path = utils.get_file(origin=f"{server.url}/data.bin", file_hash=sha, cache_dir=tmp_path)
    assert path == str(tmp_path / "datasets" / "data.bin")
    assert pathlib.Path(path).read_bytes() == body
    n = len(server.requests)
    # Cached and verified (md5 this time): no new request.
    assert utils.get_file("data.bin", f"{server.url}/data.bin", file_hash=md5,
                          cache_dir=tmp_path) == path
    assert len(server.requests) == n
    utils.get_file("data.bin", f"{server.url}/data.bin", cache_dir=tmp_path, force_download=True)
    assert len(server.requests) == n + 1
    other = utils.get_file("copy.bin", f"{server.url}/data.bin", md5_hash=md5,
                           cache_dir=tmp_path, cache_subdir="mine")
    assert other == str(tmp_path / "mine" / "copy.bin")


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_get_file_rejects_a_wrong_hash(server, tmp_path, algorithm):
    wrong = "0" * (64 if algorithm == "sha256" else 32)
    with pytest.raises(download.ChecksumError, match=algorithm):
        utils.get_file("data.bin", f"{server.url}/data.bin", file_hash=wrong,
                       hash_algorithm=algorithm, cache_dir=tmp_path)
    assert not (tmp_path / "datasets" / "data.bin").exists()


def test_get_file_extracts_archives(server, tmp_path):
    folder = utils.get_file("bundle.tar.gz", f"{server.url}/bundle.tar.gz", extract=True,
                            cache_dir=tmp_path)
    assert folder == str(tmp_path / "datasets" / "bundle_extracted")
    assert (pathlib.Path(folder) / "pkg" / "sub" / "b.txt").read_bytes() == b"BB"
    assert (tmp_path / "datasets" / "bundle.tar.gz").exists()
    folder = utils.get_file("zipped", f"{server.url}/zipped.zip", extract=True,
                            cache_dir=tmp_path)
    assert folder == str(tmp_path / "datasets" / "zipped")
    assert (pathlib.Path(folder) / "z" / "c.txt").read_text() == "CCC"
    assert (tmp_path / "datasets" / "zipped_archive").exists()
    folder = utils.get_file("old", f"{server.url}/bundle.tar.gz", untar=True, cache_dir=tmp_path)
    assert (pathlib.Path(folder) / "pkg" / "a.txt").read_bytes() == b"A"


def test_get_file_refuses_archive_members_outside_the_folder(server, tmp_path):
    with pytest.raises(ValueError, match="outside the extraction folder"):
        utils.get_file("evil.tar", f"{server.url}/evil.tar", extract=True, cache_dir=tmp_path)
    assert not (tmp_path / "datasets" / "escaped.txt").exists()
    assert not (tmp_path / "datasets" / "evil_extracted").exists()


def test_get_file_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x.bin", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="not a path"):
        utils.get_file("sub/x.bin", "http://127.0.0.1:9/x.bin", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm"):
        utils.get_file("x.bin", "http://127.0.0.1:9/x.bin", file_hash="ab",
                       hash_algorithm="sha1", cache_dir=tmp_path)
