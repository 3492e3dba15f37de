"""datasets.mnist / datasets.cifar10 / the downloader, against a loopback HTTP server
that serves small files in the real formats. No network beyond 127.0.0.1."""

import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import warnings

import numpy as np
import pytest

from loopback_server import LoopbackServer, unused_url
from mlxfunctional.datasets import cifar10, download, mnist


def sha(b):
    return hashlib.sha256(b).hexdigest()


def cached_files(home):
    folder = home / "datasets"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh cache in tmp_path, no waiting between retries."""
    monkeypatch.setenv("MLXF_HOME", str(tmp_path))
    monkeypatch.setattr(download, "RETRY_BACKOFF", 0.0)
    monkeypatch.setattr(download, "TIMEOUT", 5.0)
    # A copy, so that entries the tests replace never leak into other tests.
    monkeypatch.setattr(download, "KNOWN_FILES", dict(download.KNOWN_FILES))
    return tmp_path


def serve(monkeypatch, files, **kw):
    server = LoopbackServer(files, **kw)
    monkeypatch.setenv("MLXF_DATASETS_URL", server.url)
    return server


# ---------------------------------------------------------------- MNIST


def tiny_mnist(seed=0, n_train=7, n_test=3):
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue(), arrays


def use_mnist(monkeypatch, blob):
    url = download.KNOWN_FILES["mnist.npz"][0]
    monkeypatch.setitem(download.KNOWN_FILES, "mnist.npz", (url, sha(blob)))


def check_mnist(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, key in ((x_train, "x_train"), (y_train, "y_train"),
                     (x_test, "x_test"), (y_test, "y_test")):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])


def test_known_checksums_are_the_canonical_ones():
    assert download.KNOWN_FILES["mnist.npz"] == (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")
    assert download.KNOWN_FILES["cifar-10-python.tar.gz"] == (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")


def test_mnist_downloads_verifies_and_caches(env, monkeypatch):
    blob, arrays = tiny_mnist()
    use_mnist(monkeypatch, blob)
    with serve(monkeypatch, {"mnist.npz": blob}) as server:
        check_mnist(mnist.load_data(verbose=0), arrays)
        assert server.requests == [("mnist.npz", None)]
        assert cached_files(env) == ["mnist.npz"]
        assert (env / "datasets" / "mnist.npz").read_bytes() == blob
        # Cache reuse: the second call makes no request.
        check_mnist(mnist.load_data(verbose=0), arrays)
        assert len(server.requests) == 1


def test_checksum_mismatch_deletes_and_says_so(env, monkeypatch):
    blob, _ = tiny_mnist()
    served = blob[:-1] + bytes([blob[-1] ^ 1])   # one bit flipped in transit
    use_mnist(monkeypatch, blob)
    with serve(monkeypatch, {"mnist.npz": served}):
        with pytest.raises(download.ChecksumError) as e:
            mnist.load_data(verbose=0)
    msg = str(e.value)
    assert sha(blob) in msg and sha(served) in msg
    assert "expected" in msg and "deleted" in msg
    assert cached_files(env) == []


def test_connection_cut_resumes_with_range(env, monkeypatch):
    blob, arrays = tiny_mnist(n_train=40)
    use_mnist(monkeypatch, blob)
    cut = len(blob) // 3
    with serve(monkeypatch, {"mnist.npz": blob}) as server:
        server.cut_after["mnist.npz"] = (cut, 1)
        check_mnist(mnist.load_data(verbose=0), arrays)
    assert server.requests == [("mnist.npz", None), ("mnist.npz", f"bytes={cut}-")]
    assert cached_files(env) == ["mnist.npz"]


def test_server_ignoring_range_restarts_from_zero(env, monkeypatch):
    blob, arrays = tiny_mnist(n_train=40)
    use_mnist(monkeypatch, blob)
    with serve(monkeypatch, {"mnist.npz": blob}, honor_range=False) as server:
        server.cut_after["mnist.npz"] = (len(blob) // 2, 1)
        check_mnist(mnist.load_data(verbose=0), arrays)
    assert len(server.requests) == 2
    assert (env / "datasets" / "mnist.npz").read_bytes() == blob


def test_retries_are_bounded_with_backoff_and_leave_nothing(env, monkeypatch):
    blob = os.urandom(5000)
    sleeps = []
    monkeypatch.setattr(download, "RETRY_BACKOFF", 0.5)
    monkeypatch.setattr(download.time, "sleep", sleeps.append)
    with serve(monkeypatch, {"f.bin": blob}) as server:
        server.cut_after["f.bin"] = (100, 99)   # every attempt is cut
        with pytest.raises(download.DownloadError, match="after 4 attempts"):
            download.get_file("f.bin", file_hash=sha(blob), verbose=0)
    assert len(server.requests) == download.MAX_ATTEMPTS == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert cached_files(env) == []   # neither a final nor a .part file


def test_http_404_fails_at_once(env, monkeypatch):
    with serve(monkeypatch, {}) as server:
        with pytest.raises(download.DownloadError, match="404"):
            download.get_file("missing.bin", file_hash="0" * 64, verbose=0)
    assert len(server.requests) == 1
    assert cached_files(env) == []


def test_corrupted_cache_is_downloaded_again(env, monkeypatch):
    blob, arrays = tiny_mnist()
    use_mnist(monkeypatch, blob)
    (env / "datasets").mkdir()
    (env / "datasets" / "mnist.npz").write_bytes(blob[:100])   # truncated by hand
    with serve(monkeypatch, {"mnist.npz": blob}) as server:
        with pytest.warns(UserWarning, match="downloading it again"):
            check_mnist(mnist.load_data(verbose=0), arrays)
    assert len(server.requests) == 1


def test_unreachable_server_falls_back_to_sample_with_warning(env, monkeypatch):
    monkeypatch.setenv("MLXF_DATASETS_URL", unused_url())
    with pytest.warns(UserWarning) as record:
        (x_train, y_train), (x_test, y_test) = mnist.load_data(verbose=0)
    msg = str(record[0].message)
    assert "bundled MNIST sample" in msg and "first 8,000" in msg and "last 2,000" in msg
    x, y = mnist.load_sample()
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(x_train, x[:8000])
    np.testing.assert_array_equal(y_train, y[:8000])
    np.testing.assert_array_equal(x_test, x[8000:])
    np.testing.assert_array_equal(y_test, y[8000:])
    assert cached_files(env) == []


def test_sample_true_never_touches_the_network(env, monkeypatch):
    blob, _ = tiny_mnist()
    with serve(monkeypatch, {"mnist.npz": blob}) as server:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (x_train, y_train), (x_test, y_test) = mnist.load_data(sample=True)
    assert server.requests == []
    assert x_train.shape == (8000, 28, 28) and y_train.shape == (8000,)
    assert x_test.shape == (2000, 28, 28) and y_test.shape == (2000,)
    # Real digits: every class present, labels 0..9, images not blank.
    assert set(np.unique(y_train)) == set(range(10))
    assert x_train.max() == 255 and x_train.mean() > 20


def test_npz_with_wrong_contents_is_rejected(env, monkeypatch):
    buf = io.BytesIO()
    np.savez(buf, x_train=np.zeros((2, 28, 28), np.float32), y_train=np.zeros(2, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    blob = buf.getvalue()
    use_mnist(monkeypatch, blob)
    with serve(monkeypatch, {"mnist.npz": blob}):
        with pytest.raises(ValueError, match="not uint8"):
            mnist.load_data(verbose=0)


def test_get_file_cache_dir_and_subdir(env, monkeypatch, tmp_path):
    blob = b"hello" * 100
    with serve(monkeypatch, {"h.txt": blob}):
        path = download.get_file("h.txt", file_hash=sha(blob), cache_dir=tmp_path / "base",
                                 cache_subdir="sub", verbose=0)
    assert path == tmp_path / "base" / "sub" / "h.txt" and path.read_bytes() == blob


def test_progress_bar_goes_to_stderr_only_when_asked(env, monkeypatch, capsys):
    blob = os.urandom(300_000)
    monkeypatch.setattr(download, "PROGRESS_MIN_BYTES", 1000)
    with serve(monkeypatch, {"a.bin": blob, "b.bin": blob}):
        download.get_file("a.bin", file_hash=sha(blob), verbose=1)
        out = capsys.readouterr()
        assert out.out == ""
        assert f"{len(blob)}/{len(blob)} [==============================]" in out.err
        download.get_file("b.bin", file_hash=sha(blob), verbose=0)
        assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- CIFAR-10


def py2_cpickle_batch(data, labels):
    """The bytes Python 2's cPickle.dump(d, f, 2) writes for a real CIFAR-10 batch
    (str as BINSTRING, numpy.core.multiarray._reconstruct), built by hand."""
    def s(b):   # SHORT_BINSTRING / BINSTRING
        if len(b) < 256:
            return b"U" + bytes([len(b)]) + b
        return b"T" + struct.pack("<I", len(b)) + b
    n, m = data.shape
    out = b"\x80\x02}q\x01(" + s(b"batch_label") + s(b"training batch 1 of 5")
    out += s(b"data") + b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03"
    out += b"K\x00\x85" + s(b"b") + b"\x87Rq\x04(K\x01M" + struct.pack("<H", n)
    out += b"M" + struct.pack("<H", m) + b"\x86cnumpy\ndtype\nq\x05" + s(b"u1")
    out += b"K\x00K\x01\x87R(K\x03" + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    out += b"\x89" + s(data.tobytes()) + b"tb"
    out += s(b"labels") + b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    out += s(b"filenames") + b"](" + b"".join(s(b"img_%d.png" % i) for i in range(n)) + b"eu."
    return out


def tiny_cifar(n=3, py2_batches=()):
    """A cifar-10-python.tar.gz of six n-image batches, and the expected arrays,
    computed pixel by pixel from the documented layout (row-major 32x32 red plane,
    then green, then blue)."""
    rng = np.random.default_rng(1)
    members, expect = {}, {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        if name in py2_batches:
            members[name] = py2_cpickle_batch(data, labels)
        elif name == "data_batch_2":   # data as raw bytes rather than an array
            members[name] = pickle.dumps({b"data": data.tobytes(), b"labels": labels}, protocol=2)
        else:
            members[name] = pickle.dumps({b"batch_label": b"batch", b"labels": labels,
                                          b"data": data, b"filenames": [b"a.png"] * n},
                                         protocol=2)
        img = np.zeros((n, 32, 32, 3), np.uint8)
        for i in range(n):
            for ch in range(3):
                for r in range(32):
                    for c in range(32):
                        img[i, r, c, ch] = data[i, ch * 1024 + r * 32 + c]
        expect[name] = (img, labels)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, payload in [("batches.meta", b"ignored")] + list(members.items()):
            info = tarfile.TarInfo("cifar-10-batches-py/" + name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue(), expect


def use_cifar(monkeypatch, blob):
    url = download.KNOWN_FILES["cifar-10-python.tar.gz"][0]
    monkeypatch.setitem(download.KNOWN_FILES, "cifar-10-python.tar.gz", (url, sha(blob)))


@pytest.mark.parametrize("py2", [(), ("data_batch_3", "test_batch")])
def test_cifar10_structure_and_pixels(env, monkeypatch, py2):
    blob, expect = tiny_cifar(py2_batches=py2)
    use_cifar(monkeypatch, blob)
    with serve(monkeypatch, {"cifar-10-python.tar.gz": blob}) as server:
        (x_train, y_train), (x_test, y_test) = cifar10.load_data(verbose=0)
        cifar10.load_data(verbose=0)
    assert len(server.requests) == 1
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15, 1)
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    for i in range(5):
        img, labels = expect[f"data_batch_{i + 1}"]
        np.testing.assert_array_equal(x_train[3 * i:3 * i + 3], img)
        assert y_train[3 * i:3 * i + 3, 0].tolist() == labels
    np.testing.assert_array_equal(x_test, expect["test_batch"][0])
    assert y_test[:, 0].tolist() == expect["test_batch"][1]


def test_handmade_py2_stream_is_a_valid_pickle():
    # The fixture itself is checked against Python's own reader (test side only).
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = pickle.loads(py2_cpickle_batch(data, [3, 7]), encoding="bytes")
    np.testing.assert_array_equal(d[b"data"], data)
    assert d[b"labels"] == [3, 7] and d[b"filenames"] == [b"img_0.png", b"img_1.png"]


class _Evil:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').close()",))


def test_reader_refuses_code_and_never_runs_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for payload in ({b"data": _Evil(), b"labels": [1]}, {b"data": bytes(3072), b"labels": {1}}):
        with pytest.raises(ValueError, match="refusing"):
            cifar10.read_pickle(pickle.dumps(payload, protocol=2))
    assert not (tmp_path / "PWNED").exists()


def test_cifar10_unreachable_says_where_to_put_the_file(env, monkeypatch):
    monkeypatch.setenv("MLXF_DATASETS_URL", unused_url())
    with pytest.raises(download.DownloadError) as e:
        cifar10.load_data(verbose=0)
    msg = str(e.value)
    assert str(env / "datasets" / "cifar-10-python.tar.gz") in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in msg
    assert cached_files(env) == []


def test_concurrent_processes_download_once(env, monkeypatch):
    # The ranks of a data-parallel job on one machine call load_data() together.
    blob, _ = tiny_mnist()
    download.KNOWN_FILES["mnist.npz"] = ("mnist.npz", sha(blob))
    code = ("import sys; from mlxfunctional.datasets import download; "
            "download.KNOWN_FILES['mnist.npz'] = ('mnist.npz', sys.argv[1]); "
            "print(download.get_file('mnist.npz', verbose=0))")
    with serve(monkeypatch, {"mnist.npz": blob}) as server:
        server.delay = 3.0  # all three are waiting while the first one downloads
        procs = [subprocess.Popen([sys.executable, "-c", code, sha(blob)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert len({out.strip() for out, _ in outs}) == 1
    assert [r[0] for r in server.requests] == ["mnist.npz"]  # one download, two waits
    assert cached_files(env) == ["mnist.npz"]
