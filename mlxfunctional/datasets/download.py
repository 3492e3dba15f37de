"""The shared downloader: ``get_file``, Keras' name, with SHA-256 (or MD5) verification.

A file is fetched to ``<cache>/<fname>.part`` and renamed to ``<cache>/<fname>`` only
once it is complete and its SHA-256 matches, so a final file is never partial or
unverified. (MD5, for the files Keras publishes only an MD5 of, such as its
applications' weights, is chosen as Keras does: by the hash's length, or by
``hash_algorithm``.) A connection cut mid-transfer is resumed with an HTTP ``Range`` request
(or restarted when the server ignores ranges), a bounded number of times with
exponential backoff. A checksum mismatch deletes the download and raises
``ChecksumError`` naming the expected and actual digests. Only ``urllib.request``.

Every download is bounded, whatever the server does (a server may stream forever,
lie in ``Content-Length`` or send a byte a minute):

- size: a known file (``KNOWN_SIZES``) is read to its size + 1 byte at most, any
  other to ``MLXF_DOWNLOAD_MAX_BYTES``; a ``Content-Length`` beyond the bound is
  refused before the body is read;
- time: ``MLXF_DOWNLOAD_DEADLINE`` seconds per file, retries included;
- rate: a connection slower than ``MLXF_DOWNLOAD_MIN_RATE`` bytes/s over
  ``RATE_WINDOW`` seconds is dropped (and resumed, within the attempts), and one
  silent for ``TIMEOUT`` seconds too.

Going past the size or the deadline is not retried; the partial file is deleted.

Configuration (tests use the module attributes, users the environment):

- ``MLXF_HOME`` (default ``~/.mlxfunctional``): the cache is ``$MLXF_HOME/datasets/``.
- ``MLXF_DATASETS_URL``: a base URL that replaces every dataset's canonical folder,
  e.g. a mirror or a loopback test server (``<base>/<file name>``).
- ``MLXF_DOWNLOAD_MAX_BYTES`` (default ``MAX_BYTES``, 8 GiB), ``MLXF_DOWNLOAD_DEADLINE``
  (default ``DEADLINE``, 2 hours), ``MLXF_DOWNLOAD_MIN_RATE`` (default ``MIN_RATE``,
  1024 bytes/s; 0 turns the check off): the bounds above, read at each call.
- ``KNOWN_FILES``: file name -> ``(canonical URL, sha256)``, read at each call.
- ``KNOWN_SIZES``: sha256 -> size in bytes of the file with that digest.
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

# The size belongs to the digest, not the name: a file given another hash (a
# mirror's, a test's) falls back to MAX_BYTES rather than a size that is not its own.
KNOWN_SIZES = {
    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1": 11_490_434,
    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce": 170_498_071,
}

MAX_ATTEMPTS = 4          # connections tried per download, resumes included
RETRY_BACKOFF = 1.0       # seconds before the 2nd attempt; doubled each time
TIMEOUT = 30.0            # seconds a socket may stay silent
MAX_BYTES = 8 << 30       # the size bound of a file whose size is not known
DEADLINE = 7200.0         # seconds per file, all attempts together
MIN_RATE = 1024           # bytes/s a connection must keep up ...
RATE_WINDOW = 60.0        # ... over each window of this many seconds
PROGRESS_MIN_BYTES = 1 << 20   # smaller files download without a bar
_CHUNK = 1 << 16


class DownloadError(OSError):
    """The file could not be fetched (network, server or disk error)."""


class ChecksumError(ValueError):
    """A downloaded file's SHA-256 is not the expected one (it has been deleted)."""


class _Slow(Exception):
    """A connection fell below the minimum rate: dropped, and resumed if attempts remain."""


def _setting(variable, default, kind):
    """``$variable`` read as ``kind`` (non-negative), or ``default`` when unset."""
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if not value >= 0:
        raise ValueError(f"{variable} must be a non-negative {kind.__name__}; received "
                         f"{text!r}.")
    return value


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
    return file_digest(path, "sha256")


def file_digest(path, algorithm):
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def get_file(fname, origin=None, file_hash=None, cache_dir=None, cache_subdir="datasets",
             verbose=None, max_bytes=None, deadline=None, hash_algorithm="auto"):
    """Returns the local path of ``fname``, downloading and verifying it if needed.

    Args:
        fname: file name in the cache (an absolute path is used as is).
        origin: URL to fetch; default ``origin_for(fname)``.
        file_hash: expected hex digest; default the ``KNOWN_FILES`` entry (SHA-256), if any.
        cache_dir: base folder, default ``$MLXF_HOME`` (``~/.mlxfunctional``).
        cache_subdir: subfolder of ``cache_dir`` holding the file (``"datasets"``).
        verbose: 0 silent, 1 a progress bar on stderr (files over
            ``PROGRESS_MIN_BYTES``); ``None``: 1 when stderr is a terminal or a notebook, else 0.
        max_bytes: the most bytes the file may have; default its ``KNOWN_SIZES``
            entry, else ``$MLXF_DOWNLOAD_MAX_BYTES`` or ``MAX_BYTES``.
        deadline: seconds the download may take, retries included; default
            ``$MLXF_DOWNLOAD_DEADLINE`` or ``DEADLINE``.
        hash_algorithm: ``"sha256"``, ``"md5"``, or ``"auto"`` (Keras' rule: SHA-256 for a
            64-digit ``file_hash``, else MD5).

    Raises:
        DownloadError: after ``MAX_ATTEMPTS`` failed connections, an HTTP 4xx, a
            file larger than ``max_bytes`` or a download past its ``deadline``.
        ChecksumError: the download's digest differs (the download is deleted).
    """
    name = os.path.basename(str(fname))
    if file_hash is None and name in KNOWN_FILES:
        file_hash = KNOWN_FILES[name][1]
    algorithm = _hash_algorithm(hash_algorithm, file_hash)
    # Settings are read first: a bad one is reported before any connection is made.
    limits = _Limits(name, file_hash, max_bytes, deadline)
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
            if file_hash is None or file_digest(final, algorithm) == file_hash:
                return final
            # A cached file that no longer matches (edited, truncated by hand): refetch.
            import warnings
            warnings.warn(f"{final} does not match its {algorithm} {file_hash}; downloading "
                          "it again.")
            final.unlink()
        _download(origin, final, name, (file_hash, algorithm), verbose, limits)
    return final


def _hash_algorithm(hash_algorithm, file_hash):
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError("hash_algorithm must be 'auto', 'sha256' or 'md5'; received "
                         f"{hash_algorithm!r}.")
    if hash_algorithm == "auto":
        return "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    return hash_algorithm


class _Limits:
    """The size, time and rate bounds of one file's download.

    Args:
        name: the file's name (for messages).
        file_hash: its expected SHA-256 (a ``KNOWN_SIZES`` key), or None.
        max_bytes, deadline: explicit bounds, or None for the defaults.
    """

    def __init__(self, name, file_hash, max_bytes, deadline):
        if max_bytes is not None:
            self.max_bytes, self.source = int(max_bytes), "max_bytes"
        elif file_hash in KNOWN_SIZES:
            self.max_bytes, self.source = KNOWN_SIZES[file_hash], f"the known size of {name}"
        else:
            self.max_bytes = _setting("MLXF_DOWNLOAD_MAX_BYTES", MAX_BYTES, int)
            self.source = "MLXF_DOWNLOAD_MAX_BYTES"
        self.seconds = float(deadline) if deadline is not None else _setting(
            "MLXF_DOWNLOAD_DEADLINE", DEADLINE, float)
        self.min_rate = _setting("MLXF_DOWNLOAD_MIN_RATE", MIN_RATE, float)
        self.name = name
        self.ends = None

    def start(self):
        self.ends = time.monotonic() + self.seconds

    def remaining(self):
        return self.ends - time.monotonic()

    def check_time(self, origin, done):
        if self.remaining() <= 0:
            raise DownloadError(
                f"Could not download {origin}: not finished after {self.seconds:g} s "
                f"(received {done} bytes); the deadline is MLXF_DOWNLOAD_DEADLINE (or "
                "get_file's `deadline`).")

    def check_size(self, origin, size, declared=False):
        if size > self.max_bytes:
            what = (f"declares {size} bytes (Content-Length)" if declared
                    else f"sent {size} bytes")
            raise DownloadError(
                f"Could not download {origin}: the server {what}, more than the "
                f"{self.max_bytes} bytes allowed for {self.name} ({self.source}); the "
                "download has been stopped and deleted.")


def _download(origin, final, name, expected, verbose, limits):
    """``expected``: ``(hex digest or None, algorithm)``."""
    file_hash, algorithm = expected
    part = final.with_name(final.name + ".part")
    try:
        _fetch(origin, part, verbose, limits)
        if file_hash is not None:
            got = file_digest(part, algorithm)
            if got != file_hash:  # (the part file is deleted below)
                raise ChecksumError(
                    f"Checksum mismatch for {name} downloaded from {origin}: expected "
                    f"{algorithm} {file_hash}, got {got}. The download has been deleted "
                    "(a corrupted transfer or a changed file on the server).")
        os.replace(part, final)   # atomic: the final name appears only when verified
    except BaseException:
        # No partial file is left behind, whatever went wrong (Ctrl-C included).
        if part.exists():
            part.unlink()
        raise


def _fetch(origin, part, verbose, limits):
    """Downloads ``origin`` into ``part``, resuming after cuts; raises DownloadError."""
    part.write_bytes(b"")
    last_error = None
    bar = None
    limits.start()
    for attempt in range(MAX_ATTEMPTS):
        have = part.stat().st_size
        if attempt:
            time.sleep(max(0.0, min(RETRY_BACKOFF * 2 ** (attempt - 1), limits.remaining())))
        limits.check_time(origin, have)
        request = urllib.request.Request(origin, headers={"User-Agent": "mlxfunctional"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            # The socket's silence timeout never outlasts the deadline at connection time.
            timeout = max(0.01, min(TIMEOUT, limits.remaining()))
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if have and response.status != 206:
                    have = 0   # the server ignored the range: start again from zero
                length = _content_length(response)
                total = have + length if length is not None else None
                if total is not None:
                    limits.check_size(origin, total, declared=True)
                if bar is None and verbose and (total is None or total >= PROGRESS_MIN_BYTES):
                    bar = Progbar(total, verbose=verbose, unit_name="B", stream="stderr")
                with open(part, "r+b" if have else "wb") as f:
                    f.seek(have)
                    f.truncate()
                    done = _copy(response, f, have, origin, limits, bar)
            # urllib returns b"" (no exception) when a connection closes early,
            # so the length is checked here.
            if total is not None and done < total:
                last_error = f"connection closed after {done} of {total} bytes"
                continue
            if bar is not None:
                bar.update(done, finalize=True)
            return
        except DownloadError:
            raise   # a bound was crossed: not worth another attempt
        except _Slow as e:
            last_error = e
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


def _content_length(response):
    """The response's ``Content-Length`` as an int, or None when absent or not a
    valid length (the body up to the connection's end is then the truth)."""
    text = response.headers.get("Content-Length")
    try:
        length = int(text) if text is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def _copy(response, f, done, origin, limits, bar):
    """Copies the body of ``response`` into ``f`` (which holds ``done`` bytes already)
    within the bounds of ``limits``; returns the file's size."""
    # read1: whatever one read of the socket gives; read(n) would wait for all n bytes,
    # so a trickling server could hold it far past the deadline.
    read = getattr(response, "read1", response.read)
    window_start, window_done = time.monotonic(), done
    while True:
        # Never ask for more than one byte past the bound: a stream that does not end
        # there is stopped with at most max_bytes + 1 bytes on disk.
        chunk = read(min(_CHUNK, limits.max_bytes + 1 - done))
        if not chunk:
            return done
        f.write(chunk)
        done += len(chunk)
        limits.check_size(origin, done)
        if bar is not None:
            bar.update(done, finalize=False)
        limits.check_time(origin, done)
        elapsed = time.monotonic() - window_start
        if elapsed >= RATE_WINDOW:
            rate = (done - window_done) / elapsed
            if rate < limits.min_rate:
                raise _Slow(f"the server sent {rate:.0f} bytes/s over {elapsed:.1f} s, "
                            f"slower than {limits.min_rate:g} bytes/s (MLXF_DOWNLOAD_MIN_RATE)")
            window_start, window_done = time.monotonic(), done
