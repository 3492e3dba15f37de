"""Atomic file writes: a reader sees the old file or the new one, never a mix.

The bytes go to a temporary file beside the target (same directory, hence
the same filesystem, so the final ``os.replace`` is an atomic rename), are
flushed and fsynced before the rename, and the directory is fsynced after
it so the rename itself survives a power cut. Any failure removes the
temporary file; a process killed mid-write leaves the previous file as it
was (plus, at worst, a ``.<name>.*.tmp`` file beside it, which the next save
of the same file removes: see ``temp_files.py``). An ``OSError`` names the
target, not the temporary file.
"""

import contextlib
import os

from .temp_files import Temporary


def fsync_dir(directory):
    """Syncs a directory's entries (renames, new files); best effort."""
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


def naming_target(error, path):
    """``error`` (an ``OSError`` about a temporary file, say) as an ``OSError`` of the
    same kind that names ``path``, the file the user asked for."""
    if getattr(error, "filename", None) == path or error.errno is None:
        return error
    # OSError(errno, ...) makes the subclass of that errno (PermissionError...).
    return OSError(error.errno, error.strerror or str(error), path)


@contextlib.contextmanager
def atomic_writer(path):
    """``with atomic_writer(path) as f: f.write(...)``: ``path`` appears only when the
    block succeeds, complete and synced."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:  # (temporaries of killed saves of `path` are swept first: temp_files.py)
        temporary = Temporary(path)
    except OSError as e:  # (it names the temporary file, which never existed)
        raise naming_target(e, path) from e
    tmp = temporary.name
    try:
        with os.fdopen(temporary.fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; other users may read a model as usual
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise naming_target(e, path) from e
        raise
    finally:
        temporary.release()
    fsync_dir(directory)


def write_bytes(path, data):
    """Writes ``data`` to ``path`` atomically."""
    with atomic_writer(path) as f:
        f.write(data)

