"""Atomic file writes: a reader sees the old file or the new one, never a mix.

The bytes go to a temporary file beside the target (same directory, hence
the same filesystem, so the final ``os.replace`` is an atomic rename), are
flushed and fsynced before the rename, and the directory is fsynced after
it so the rename itself survives a power cut. Any failure removes the
temporary file; a process killed mid-write leaves the previous file as it
was (plus, at worst, a ``.<name>.*.tmp`` file beside it).
"""

import contextlib
import os
import tempfile


def _fsync_dir(directory):
    # Not possible on every platform (Windows cannot open directories): best effort.
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path):
    """``with atomic_writer(path) as f: f.write(...)``: ``path`` appears only when the
    block succeeds, complete and synced."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; other users may read a model as usual
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def write_bytes(path, data):
    """Writes ``data`` to ``path`` atomically."""
    with atomic_writer(path) as f:
        f.write(data)

