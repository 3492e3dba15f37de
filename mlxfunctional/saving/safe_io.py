"""Reading untrusted files with bounds: regular files, zip members, JSON.

A model file is data from anywhere, so every read here is bounded and
nothing from the file ever becomes a path, a module name or code:

- files are opened without blocking (a FIFO or device cannot hang the
  loader) and must be regular files no larger than ``MAX_FILE_BYTES``;
  members of a model *directory* are opened by their fixed names and never
  through a symlink;
- zip members are read by fixed names into memory (nothing is extracted),
  after checking the archive's declared sizes, compression methods and
  duplicate names; the ``zipfile`` reader then stops at the declared size and
  checks the CRC, so a lying header cannot make it produce more;
- JSON is UTF-8, bounded in size and nesting depth.

Every failure becomes a problem string for ``ModelFileError``.
The limits are module attributes: raise them for unusually large models,
e.g. ``mlxfunctional.saving.safe_io.MAX_FILE_BYTES = 32 << 30``.
"""

import io
import json
import os
import stat
import zipfile
from collections import Counter

MAX_FILE_BYTES = 8 << 30        # a whole file, and all of an archive's members together
MAX_JSON_BYTES = 16 << 20       # config.json / metadata.json / a safetensors header
MAX_JSON_DEPTH = 200            # nesting of JSON lists and dicts
MAX_MEMBERS = 100_000           # entries in one zip archive
# Deflate cannot compress better than ~1032:1; a header claiming more is lying.
_MAX_DEFLATE_RATIO = 1100
_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class ReadError(Exception):
    """One problem while reading (turned into a ModelFileError line by callers)."""


def read_regular_file(path, limit=None, follow_symlinks=True):
    """The bytes of a regular file, at most ``limit`` (``MAX_FILE_BYTES``) of them."""
    limit = MAX_FILE_BYTES if limit is None else limit
    with open_regular_file(path, limit, follow_symlinks) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ReadError(f"{_name(path)} is larger than the {limit:,}-byte limit.")
    return data


def open_regular_file(path, limit=None, follow_symlinks=True):
    """Opens ``path`` for binary reading after checking it is a bounded regular file."""
    limit = MAX_FILE_BYTES if limit is None else limit
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if os.path.islink(path):  # (platforms without O_NOFOLLOW)
            raise ReadError(f"{_name(path)} is a symbolic link; model files are read only "
                            "from regular files.")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ReadError(f"{_name(path)} does not exist.") from None
    except OSError as e:
        raise ReadError(f"{_name(path)} cannot be opened ({e.strerror or e}).") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadError(f"{_name(path)} is not a regular file.")
        if info.st_size > limit:
            raise ReadError(f"{_name(path)} is {info.st_size:,} bytes, more than the "
                            f"{limit:,}-byte limit.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _name(path):
    return repr(os.fspath(path))


class ZipReader:
    """Bounded, by-name access to the members of a zip archive (file object or bytes).

    Args:
        source: a binary file object or ``bytes``.
        what: how to call the archive in messages (``"the model file"``).

    Raises ``ReadError`` when the archive cannot be opened at all; per-member
    problems come from :meth:`read`.
    """

    def __init__(self, source, what):
        self.what = what
        fileobj = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) \
            else source
        try:
            self.zf = zipfile.ZipFile(fileobj)
            infos = self.zf.infolist()
        except Exception as e:  # BadZipFile, struct/zlib/Unicode errors, OSError...
            raise ReadError(f"{what} is not a readable zip archive ({_describe(e)}).") from None
        if len(infos) > MAX_MEMBERS:
            raise ReadError(f"{what} has {len(infos):,} entries (limit {MAX_MEMBERS:,}).")
        self.infos = infos
        self.counts = Counter(i.filename for i in infos)
        declared = sum(i.file_size for i in infos)
        if declared > MAX_FILE_BYTES:
            raise ReadError(f"{what} declares {declared:,} uncompressed bytes, more than the "
                            f"{MAX_FILE_BYTES:,}-byte limit.")

    def names(self):
        return list(self.counts)

    def duplicates(self):
        """Names that occur more than once (readers disagree on which copy is real)."""
        return sorted(n for n, c in self.counts.items() if c > 1)

    def read(self, name, limit):
        """The bytes of member ``name``; raises ``ReadError`` with the reason."""
        if self.counts.get(name, 0) == 0:
            raise ReadError(f"{self.what} has no member {name!r}.")
        if self.counts[name] > 1:
            raise ReadError(f"{self.what} holds member {name!r} {self.counts[name]} times.")
        info = self.zf.getinfo(name)
        where = f"member {name!r} of {self.what}"
        if info.flag_bits & 0x1:
            raise ReadError(f"{where} is encrypted.")
        if info.compress_type not in _ALLOWED_COMPRESSION:
            raise ReadError(f"{where} uses compression method {info.compress_type}; only "
                            "stored and deflated members are read.")
        if info.file_size > limit:
            raise ReadError(f"{where} declares {info.file_size:,} bytes, more than the "
                            f"{limit:,}-byte limit.")
        if info.compress_type == zipfile.ZIP_DEFLATED and \
                info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + (1 << 16):
            raise ReadError(f"{where} declares {info.file_size:,} bytes from "
                            f"{info.compress_size:,} compressed bytes (not possible with "
                            "deflate: a zip bomb or a corrupt header).")
        try:
            with self.zf.open(info) as f:
                data = f.read(info.file_size + 1)
        except Exception as e:  # bad CRC, truncated data, zlib errors, overlapping entries...
            raise ReadError(f"{where} is corrupt ({_describe(e)}).") from None
        if len(data) != info.file_size:
            raise ReadError(f"{where} holds {len(data):,} bytes but declares "
                            f"{info.file_size:,}.")
        return data

    def close(self):
        self.zf.close()


def parse_json(data, what):
    """UTF-8 JSON bytes -> Python data, bounded in size and depth; ``ReadError`` if not."""
    if len(data) > MAX_JSON_BYTES:
        raise ReadError(f"{what} is {len(data):,} bytes, more than the "
                        f"{MAX_JSON_BYTES:,}-byte limit for JSON.")
    try:
        text = bytes(data).decode("utf-8")
        # The C scanner raises RecursionError (it does not crash) on very deep input.
        value = json.loads(text)
    except RecursionError:
        raise ReadError(f"{what} is nested deeper than the JSON limit of "
                        f"{MAX_JSON_DEPTH}.") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise ReadError(f"{what} is not valid UTF-8 JSON ({_describe(e)}).") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ReadError(f"{what} is nested deeper than the JSON limit of {MAX_JSON_DEPTH}.")
    return value


def json_depth(value):
    """Nesting depth of lists/dicts, computed without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, d)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def _describe(error):
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."
