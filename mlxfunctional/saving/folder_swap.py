"""Model folders are replaced whole: a reader finds the previous save or the new one.

``model.save("m/")`` writes every member into a new folder beside the target,
``.m.XXXXXXXX.tmp`` (``temp_files.py``), syncs it, and then switches, under
an exclusive lock on the parent folder:

    rename m -> .m.old                      (the previous model, kept until now)
    rename .m.XXXXXXXX.tmp -> m             (the new model, complete)
    rename .m.old -> .m.YYYYYYYY.tmp        (garbage, removed after the lock)

A process killed at any point leaves ``m`` complete (old or new), or -- killed
between the first two renames -- no ``m`` but a complete ``.m.old``. The next
save or load of ``m`` puts ``.m.old`` back (a load that cannot rename there
reads it in place); a ``.m.old`` beside ``m`` is garbage and goes. Temporary
folders of killed saves are swept by the next save (``temp_files.sweep``).

Loads of a folder hold a shared lock on the parent folder while they read,
so a concurrent save never switches folders under a reader.
"""

import contextlib
import errno
import os
import shutil
import stat

from .atomic import fsync_dir
from .temp_files import Temporary, parent_lock, remove_tree_or_file


def old_path(target):
    """Where the previous folder waits during a switch: ``.<name>.old`` beside it."""
    parent, name = os.path.split(os.path.abspath(target))
    return os.path.join(parent, f".{name}.old")


def _garbage_name(target):
    # A name in the temporaries' pattern, so a removal cut short is swept later.
    parent, name = os.path.split(os.path.abspath(target))
    return os.path.join(parent, f".{name}.{os.urandom(4).hex()}.tmp")


def _discard(path, target):
    """Renames ``path`` out of the way (quick, under the lock); returns the new name,
    to be removed after the lock is released."""
    garbage = _garbage_name(target)
    os.rename(path, garbage)
    return garbage


def recover(target):
    """Deals with the ``.old`` a killed save left; call under the exclusive lock.

    Without the target (killed between the renames) the old model goes back;
    beside it (killed after the switch) it is garbage. Returns what to remove.
    """
    old = old_path(target)
    if not os.path.isdir(old) or os.path.islink(old):
        return None
    if not os.path.lexists(target):
        os.rename(old, target)
        fsync_dir(os.path.dirname(os.path.abspath(target)))
        return None
    return _discard(old, target)


def _stat(target):
    """``os.stat(target)``, or None when there is nothing there. Outside the lock a
    concurrent save may be switching folders: the target can vanish (renamed to
    ``.old``) between two looks at it, which counts as not there."""
    try:
        return os.stat(target)
    except FileNotFoundError:
        if os.path.islink(target):  # (a dangling link is something there, not a folder)
            return os.lstat(target)
        return None


def _folder_mode(target):
    st = _stat(target)
    if st is not None and stat.S_ISDIR(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    # mkdtemp makes 0700; os.mkdir would have made 0777 less the umask.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o777 & ~umask


def check_replaceable(target, members):
    """Refuses a target that is a file, or a folder holding anything but ``members``
    (the whole folder is replaced: other files in it would be lost)."""
    st = _stat(target)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise FileExistsError(f"Cannot save a model folder to {target!r}: it exists and is "
                              "not a folder.")
    if st is not None:
        try:
            names = os.listdir(target)
        except FileNotFoundError:  # (switched away meanwhile, see _stat)
            names = []
        foreign = sorted(set(names) - set(members))
        if foreign:
            shown = ", ".join(repr(n) for n in foreign[:5])
            more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
            raise FileExistsError(
                f"Cannot save a model folder to {target!r}: it holds {shown}{more}, which "
                "are not part of a model. A save replaces the whole folder: save into a new "
                "or empty folder, or over a model folder.")


def replace_folder(target, write_members):
    """Makes ``target`` a folder written by ``write_members(folder)``, switching whole.

    ``write_members`` writes (and syncs) every file into the new, empty folder it
    is given.
    """
    target = os.path.abspath(target)
    if os.path.islink(target) and os.path.isdir(target):
        target = os.path.realpath(target)  # the folder a link names is the one replaced
    parent = os.path.dirname(target)
    if os.path.lexists(parent) and not os.path.isdir(parent):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), target)
    os.makedirs(parent, exist_ok=True)  # (as the per-file code did: parents are made)
    garbage = []
    with parent_lock(target) as locked:
        if locked:
            garbage.append(recover(target))
    temporary = Temporary(target, folder=True)  # (sweeps dead saves' temporaries)
    new = temporary.name
    try:
        mode = _folder_mode(target)
        write_members(new)
        os.chmod(new, mode)
        fsync_dir(new)
        with parent_lock(target):
            old = old_path(target)
            moved = False
            try:
                if os.path.isdir(target):
                    if os.path.lexists(old):  # (without locks: left by a killed save)
                        garbage.append(_discard(old, target))
                    os.rename(target, old)
                    moved = True
                os.rename(new, target)
            except BaseException:
                if moved and not os.path.lexists(target):
                    os.rename(old, target)
                raise
            fsync_dir(parent)
            if moved:
                garbage.append(_discard(old, target))
    except BaseException:
        remove_tree_or_file(new)
        raise
    finally:
        temporary.release()
        for path in garbage:
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def reading(target):
    """Yields the folder to read for ``target``: itself, or the ``.old`` a killed save
    left (put back in place first where possible); the parent folder stays under a
    shared lock meanwhile."""
    old = old_path(target)
    if not os.path.lexists(target) and os.path.isdir(old):
        with parent_lock(target) as locked:
            if locked:
                with contextlib.suppress(OSError):  # (read-only there: read it in place)
                    garbage = recover(target)
                    if garbage is not None:
                        shutil.rmtree(garbage, ignore_errors=True)
    with parent_lock(target, exclusive=False):
        if not os.path.lexists(target) and os.path.isdir(old):
            yield old
        else:
            yield target
