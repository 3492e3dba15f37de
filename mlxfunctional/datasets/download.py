"""The shared downloader: ``get_file``, Keras' name, with SHA-256 verification.

A file is fetched to ``<cache>/<fname>.part`` and renamed to ``<cache>/<fname>`` only
once it is complete and its SHA-256 matches, so a final file is never partial or
unverified. A connection cut mid-transfer is resumed with an HTTP ``Range`` request
(or restarted when the server ignores ranges), a bounded number of times with
exponential backoff. A checksum mismatch deletes the download and raises
``ChecksumError`` naming the expected and actual digests. Only ``urllib.request``.

Configuration (tests use the module attributes, users the environment):

- ``MLXF_HOME`` (default ``~/.mlxfunctional``): the cache is ``$MLXF_HOME/datasets/``.
- ``MLXF_DATASETS_URL``: a base URL that replaces every dataset's canonical folder,
  e.g. a mirror or a loopback test server (``<base>/<file name>``).
- ``KNOWN_FILES``: file name -> ``(canonical URL, sha256)``, read at each call.
"""

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from filelock import FileLock

from ..progbar import Progbar, dynamic_display

KNOWN_FILES = {
    "mnist.npz": (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    ),
    "cifar-10-python.tar.gz": (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    ),
}

MAX_ATTEMPTS = 4          # connections tried per download, resumes included
RETRY_BACKOFF = 1.0       # seconds before the 2nd attempt; doubled each time
TIMEOUT = 30.0            # seconds a socket may stay silent
PROGRESS_MIN_BYTES = 1 << 20   # smaller files download without a bar
_CHUNK = 1 << 16


class DownloadError(OSError):
    """The file could not be fetched (network, server or disk error)."""


class ChecksumError(ValueError):
    """A downloaded file's SHA-256 is not the expected one (it has been deleted)."""


def mlxf_home():
    """``$MLXF_HOME``, by default ``~/.mlxfunctional``."""
    return Path(os.environ.get("MLXF_HOME") or os.path.join("~", ".mlxfunctional")).expanduser()


def datasets_dir():
    """Where datasets are cached: ``$MLXF_HOME/datasets``."""
    return mlxf_home() / "datasets"


def origin_for(fname):
    """The URL of a known file: ``$MLXF_DATASETS_URL/<fname>`` when set, else canonical."""
    base = os.environ.get("MLXF_DATASETS_URL")
    if base:
        return base.rstrip("/") + "/" + fname
    return KNOWN_FILES[fname][0]


def sha256_of(path):
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def get_file(fname, origin=None, file_hash=None, cache_dir=None, cache_subdir="datasets",
             verbose=None):
    """Returns the local path of ``fname``, downloading and verifying it if needed.

    Args:
        fname: file name in the cache (an absolute path is used as is).
        origin: URL to fetch; default ``origin_for(fname)``.
        file_hash: expected hex SHA-256; default the ``KNOWN_FILES`` entry, if any.
        cache_dir: base folder, default ``$MLXF_HOME`` (``~/.mlxfunctional``).
        cache_subdir: subfolder of ``cache_dir`` holding the file (``"datasets"``).
        verbose: 0 silent, 1 a progress bar on stderr (files over
            ``PROGRESS_MIN_BYTES``); ``None``: 1 when stderr is a terminal or a notebook, else 0.

    Raises:
        DownloadError: after ``MAX_ATTEMPTS`` failed connections, or an HTTP 4xx.
        ChecksumError: the download's SHA-256 differs (the download is deleted).
    """
    name = os.path.basename(str(fname))
    if file_hash is None and name in KNOWN_FILES:
        file_hash = KNOWN_FILES[name][1]
    if origin is None:
        origin = origin_for(name)
    if verbose is None:
        verbose = 1 if dynamic_display("stderr") else 0
    base = Path(cache_dir).expanduser() if cache_dir is not None else mlxf_home()
    folder = base / cache_subdir
    final = folder / fname
    final.parent.mkdir(parents=True, exist_ok=True)
    # One download per file at a time, across processes: the ranks of a data-parallel
    # job on one machine all call load_data() at once. The others wait, then find
    # the verified file. (Lock files live apart, in $MLXF_HOME/.locks.)
    locks = base / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{cache_subdir}--{name}.lock".replace(os.sep, "--"))):
        if final.exists():
            if file_hash is None or sha256_of(final) == file_hash:
                return final
            # A cached file that no longer matches (edited, truncated by hand): refetch.
            import warnings
            warnings.warn(f"{final} does not match its SHA-256 {file_hash}; downloading it "
                          "again.")
            final.unlink()
        _download(origin, final, name, file_hash, verbose)
    return final


def _download(origin, final, name, file_hash, verbose):
    part = final.with_name(final.name + ".part")
    try:
        _fetch(origin, part, verbose)
        if file_hash is not None:
            got = sha256_of(part)
            if got != file_hash:  # (the part file is deleted below)
                raise ChecksumError(
                    f"Checksum mismatch for {name} downloaded from {origin}: expected "
                    f"sha256 {file_hash}, got {got}. The download has been deleted "
                    "(a corrupted transfer or a changed file on the server).")
        os.replace(part, final)   # atomic: the final name appears only when verified
    except BaseException:
        # No partial file is left behind, whatever went wrong (Ctrl-C included).
        if part.exists():
            part.unlink()
        raise


def _fetch(origin, part, verbose):
    """Downloads ``origin`` into ``part``, resuming after cuts; raises DownloadError."""
    part.write_bytes(b"")
    last_error = None
    bar = None
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            time.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))
        have = part.stat().st_size
        request = urllib.request.Request(origin, headers={"User-Agent": "mlxfunctional"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                if have and response.status != 206:
                    have = 0   # the server ignored the range: start again from zero
                length = response.headers.get("Content-Length")
                total = have + int(length) if length is not None else None
                if bar is None and verbose and (total is None or total >= PROGRESS_MIN_BYTES):
                    bar = Progbar(total, verbose=verbose, unit_name="B", stream="stderr")
                with open(part, "r+b" if have else "wb") as f:
                    f.seek(have)
                    f.truncate()
                    done = have
                    while True:
                        chunk = response.read(_CHUNK)
                        if not chunk:
                            break
                        f.write(chunk)
                        done += len(chunk)
                        if bar is not None:
                            bar.update(done, finalize=False)
            # urllib returns b"" (no exception) when a connection closes early,
            # so the length is checked here.
            if total is not None and done < total:
                last_error = f"connection closed after {done} of {total} bytes"
                continue
            if bar is not None:
                bar.update(done, finalize=True)
            return
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:       # range past the end: restart from zero
                part.write_bytes(b"")
                last_error = f"HTTP 416 for {origin}"
                continue
            if 400 <= e.code < 500 and e.code not in (408, 429):
                raise DownloadError(f"Could not download {origin}: HTTP {e.code} {e.reason}") from e
            last_error = f"HTTP {e.code} {e.reason}"
        except (urllib.error.URLError, OSError, EOFError, http.client.HTTPException) as e:
            # Includes refused connections, timeouts, resets and http.client errors.
            last_error = getattr(e, "reason", None) or e
    raise DownloadError(
        f"Could not download {origin} after {MAX_ATTEMPTS} attempts: {last_error}")
