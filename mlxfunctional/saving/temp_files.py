"""Temporary files of saves: made beside the target, locked while alive, swept when dead.

A save writes ``.<name>.XXXXXXXX.tmp`` (a file, or a folder for the folder form)
beside its target and renames it into place. A process killed before the
rename leaves it behind; the next save of the same target removes it.

Telling a dead save's temporary from a live one's (a concurrent save of the
same target, in this process or another) uses ``flock``: a save holds an
exclusive lock on its temporary until the rename, and the kernel drops the
lock when the process dies. The sweep removes only temporaries it can lock.
Creating a temporary and locking it, and sweeping, happen under a short
exclusive lock on the parent folder, so the sweep never sees a temporary
that exists but is not locked yet. Nothing is held while the bytes are
written: a slow or stalled save never blocks saves of other files.

Where ``flock`` is missing or refused (Windows, some network filesystems),
saves still work and nothing is swept: a stray is disk space, a deleted
live temporary would be a failed save.
"""

import contextlib
import os
import re
import shutil
import tempfile

try:
    import fcntl
except ImportError:  # (Windows)
    fcntl = None

_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def stray_pattern(name):
    """What ``tempfile`` names for prefix ``.<name>.`` and suffix ``.tmp``: 8 characters
    of ``[a-z0-9_]``. Never another target's temporary (``.m.npz.k3j5d8s2.tmp`` is
    not one of the folder ``m``)."""
    return re.compile(r"\." + re.escape(name) + r"\.[a-z0-9_]{8}\.tmp\Z")


def _flock(fd, flags):
    try:
        fcntl.flock(fd, flags)
        return True
    except OSError:
        return False


@contextlib.contextmanager
def parent_lock(path, exclusive=True):
    """Holds a ``flock`` on ``path``'s parent folder; yields whether it is held."""
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):  # (a missing parent is reported by the caller)
            fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | _O_DIRECTORY)
        if fd is not None and not _flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH):
            os.close(fd)
            fd = None
    try:
        yield fd is not None
    finally:
        if fd is not None:
            os.close(fd)  # (closing releases the lock)


def remove_tree_or_file(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def sweep(path):
    """Removes the temporaries of dead saves of ``path``. Call under ``parent_lock``."""
    if fcntl is None:
        return
    parent, name = os.path.split(os.path.abspath(path))
    pattern = stray_pattern(name)
    try:
        entries = os.listdir(parent)
    except OSError:
        return
    for entry in entries:
        if not pattern.match(entry):
            continue
        full = os.path.join(parent, entry)
        if os.path.islink(full):  # never ours: removed, never followed
            remove_tree_or_file(full)
            continue
        try:
            fd = os.open(full, os.O_RDONLY | _O_NOFOLLOW)
        except OSError:
            continue
        try:
            if _flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB):  # no live save holds it
                remove_tree_or_file(full)
        finally:
            os.close(fd)


class Temporary:
    """A new ``.<name>.XXXXXXXX.tmp`` file or folder beside ``path``, locked until
    :meth:`release` (after the rename that puts it in place).

    Attributes:
        name: its path.
        fd: for a file, an open descriptor to write it through (the caller closes it).
    """

    def __init__(self, path, folder=False):
        path = os.path.abspath(path)
        parent, base = os.path.split(path)
        self.lock_fd = None
        with parent_lock(path) as locked:
            if locked:
                sweep(path)
            if folder:
                self.fd = None
                self.name = tempfile.mkdtemp(dir=parent, prefix=f".{base}.", suffix=".tmp")
            else:
                self.fd, self.name = tempfile.mkstemp(dir=parent, prefix=f".{base}.",
                                                      suffix=".tmp")
            if locked:
                try:
                    self.lock_fd = os.open(self.name, os.O_RDONLY | _O_NOFOLLOW)
                    _flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    self.lock_fd = None

    def release(self):
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None
