"""The downloader against hostile servers on loopback (issue 13, item 11).

Defects: a server streaming forever filled 24.5 GB of disk in 60 s; one sending a
byte every 20 s kept a download waiting forever. Every download is now bounded in
size (a known file's size, else ``MLXF_DOWNLOAD_MAX_BYTES``), in time
(``MLXF_DOWNLOAD_DEADLINE``) and in rate (``MLXF_DOWNLOAD_MIN_RATE`` over a window).
"""

import hashlib
import os
import time

import pytest

from loopback_server import LoopbackServer
from mlxfunctional.datasets import download
from mlxfunctional.utils import file_utils

MNIST_SIZE = 11_490_434          # bytes of the canonical mnist.npz
CAP = 64 << 20                   # the endless server gives up here, so that a client
                                 # without a bound still ends (and fails the test)
SLACK = 8 << 20                  # loopback socket buffers the server can fill ahead


def sha(b):
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("MLXF_HOME", str(tmp_path))
    monkeypatch.setattr(download, "RETRY_BACKOFF", 0.0)
    monkeypatch.setattr(download, "TIMEOUT", 5.0)
    for name in ("MLXF_DOWNLOAD_MAX_BYTES", "MLXF_DOWNLOAD_DEADLINE",
                 "MLXF_DOWNLOAD_MIN_RATE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def leftovers(home):
    folder = home / "datasets"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_endless_stream_of_a_known_file_stops_past_its_size(env, monkeypatch):
    with LoopbackServer({}) as server:
        monkeypatch.setenv("MLXF_DATASETS_URL", server.url)
        server.endless["mnist.npz"] = CAP
        with pytest.raises(download.DownloadError) as e:
            download.get_file("mnist.npz", verbose=0)
    msg = str(e.value)
    assert f"more than the {MNIST_SIZE} bytes" in msg and "mnist.npz" in msg
    assert server.sent["mnist.npz"] < MNIST_SIZE + SLACK  # read no further than size + 1
    assert leftovers(env) == []                           # and nothing left on disk


def test_endless_stream_of_an_unknown_file_stops_at_the_configured_bound(env, monkeypatch):
    monkeypatch.setenv("MLXF_DOWNLOAD_MAX_BYTES", str(1 << 20))
    with LoopbackServer({}) as server:
        server.endless["big.bin"] = CAP
        with pytest.raises(download.DownloadError, match="MLXF_DOWNLOAD_MAX_BYTES"):
            # Keras' get_file: a hash but no known size, so the configured bound.
            file_utils.get_file("big.bin", origin=server.url + "/big.bin",
                                file_hash="0" * 64, cache_dir=env)
        assert server.sent["big.bin"] < (1 << 20) + SLACK
        server.endless["any.bin"] = CAP
        with pytest.raises(download.DownloadError, match="more than the 1048576 bytes"):
            download.get_file("any.bin", origin=server.url + "/any.bin", verbose=0)
    assert leftovers(env) == []


def test_a_trickle_fails_within_the_deadline(env, monkeypatch):
    monkeypatch.setenv("MLXF_DOWNLOAD_DEADLINE", "2")
    blob = os.urandom(60)
    with LoopbackServer({"slow.bin": blob}) as server:
        server.trickle["slow.bin"] = 0.1   # 6 s for the whole file
        start = time.monotonic()
        with pytest.raises(download.DownloadError, match="MLXF_DOWNLOAD_DEADLINE") as e:
            download.get_file("slow.bin", origin=server.url + "/slow.bin",
                              file_hash=sha(blob), verbose=0)
        elapsed = time.monotonic() - start
    # Ended by the deadline, not earlier (the match above names the deadline; the whole
    # trickle would take 6 s and then succeed). Load on the machine only lengthens it.
    assert elapsed >= 1.9, elapsed
    assert "2 s" in str(e.value)
    assert leftovers(env) == []


def test_a_server_below_the_minimum_rate_is_dropped(env, monkeypatch):
    # 10 bytes/s against a minimum of 1000 bytes/s over half-second windows: every
    # attempt is dropped after one window (and resumed), long before the file ends.
    monkeypatch.setenv("MLXF_DOWNLOAD_MIN_RATE", "1000")
    monkeypatch.setattr(download, "RATE_WINDOW", 0.5, raising=False)
    blob = os.urandom(60)
    with LoopbackServer({"slow.bin": blob}) as server:
        server.trickle["slow.bin"] = 0.1
        start = time.monotonic()
        with pytest.raises(download.DownloadError, match="slower than 1000 bytes/s"):
            download.get_file("slow.bin", origin=server.url + "/slow.bin",
                              file_hash=sha(blob), verbose=0)
        elapsed = time.monotonic() - start
    assert elapsed < 4.5, elapsed
    assert len(server.requests) == download.MAX_ATTEMPTS
    assert server.requests[1][1] is not None  # each new attempt resumed with a Range
    assert leftovers(env) == []


def test_content_length_beyond_the_bound_is_refused_before_the_body(env, monkeypatch):
    monkeypatch.setenv("MLXF_DOWNLOAD_MAX_BYTES", str(1 << 20))
    blob = os.urandom(5000)
    with LoopbackServer({"lie.bin": blob}) as server:
        server.declared_length["lie.bin"] = 10**12
        with pytest.raises(download.DownloadError, match="Content-Length") as e:
            download.get_file("lie.bin", origin=server.url + "/lie.bin",
                              file_hash=sha(blob), verbose=0)
    assert "1000000000000" in str(e.value) and "1048576" in str(e.value)
    assert len(server.requests) == 1   # a lie is not retried
    assert leftovers(env) == []


def test_a_content_length_that_is_not_a_number_is_ignored(env):
    # Defect: int("abc") escaped as a bare ValueError; the body is the truth.
    blob = os.urandom(5000)
    with LoopbackServer({"junk.bin": blob}) as server:
        server.declared_length["junk.bin"] = "abc"
        path = download.get_file("junk.bin", origin=server.url + "/junk.bin",
                                 file_hash=sha(blob), verbose=0)
    assert path.read_bytes() == blob


def test_bad_settings_name_the_variable(env, monkeypatch):
    monkeypatch.setenv("MLXF_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(ValueError, match="MLXF_DOWNLOAD_DEADLINE.*'soon'"):
        download.get_file("x.bin", origin="http://127.0.0.1:9/x.bin", verbose=0)
