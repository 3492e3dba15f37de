"""Where a model file's members are read from: a ``.mlxf`` zip or a model folder.

Both give the same calls: ``read(name)`` for the small JSON members (bytes),
``open(name)`` for the ``.npz`` members (a ``safe_io.MemberFile`` whose
seekable ``file`` is read one array at a time: a window on the zip for a
stored member, the folder's file itself), and one ``budget`` (``safe_io.Budget``)
for everything the load inflates, whatever the nesting. Member names are
fixed by the format; nothing read from the file becomes a path.
"""

import os

from . import safe_io
from .safe_io import (Budget, MemberFile, ZipReader, open_regular_file, read_regular_file)


def member_limit(name):
    # Read at call time: the limits in safe_io may be raised by the user.
    return safe_io.MAX_JSON_BYTES if name.endswith(".json") else safe_io.MAX_FILE_BYTES


class ZipSource:
    """The members of a ``.mlxf`` file (``members``: the names the format knows)."""

    def __init__(self, path, members):
        self.members = members
        self.file = open_regular_file(path)
        try:
            self.budget = Budget(os.fstat(self.file.fileno()).st_size)
            self.reader = ZipReader(self.file, "the model file", self.budget)
        except BaseException:
            self.file.close()
            raise

    def names(self):
        return self.reader.names()

    def problems(self):
        out = [f"the model file holds member {n!r} more than once."
               for n in self.reader.duplicates()]
        out += [f"the model file has an unexpected member {n!r}."
                for n in self.reader.names() if n not in self.members]
        return out

    def read(self, name):
        return self.reader.read(name, member_limit(name))

    def open(self, name):
        return self.reader.open_member(name, member_limit(name))

    def close(self):
        self.reader.close()
        self.file.close()


class DirSource:
    """The members of a model folder, each a regular file opened by its fixed name and
    never through a symlink."""

    def __init__(self, path, members):
        self.path, self.members, self.opened = path, members, []
        sizes = 0
        for name in self.names():
            try:
                sizes += os.lstat(os.path.join(path, name)).st_size
            except OSError:
                pass  # (reported when the member is read)
        self.budget = Budget(sizes)

    def names(self):
        return [n for n in self.members if os.path.lexists(os.path.join(self.path, n))]

    def problems(self):
        return []

    def read(self, name):
        return read_regular_file(os.path.join(self.path, name), member_limit(name),
                                 follow_symlinks=False)

    def open(self, name):
        f = open_regular_file(os.path.join(self.path, name), member_limit(name),
                              follow_symlinks=False)
        self.opened.append(f)
        return MemberFile(f, what=name)

    def close(self):
        for f in self.opened:
            f.close()
        self.opened = []
