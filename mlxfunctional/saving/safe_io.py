"""Reading untrusted files with bounds: regular files, zip members, JSON.

A model file is data from anywhere, so every read here is bounded and
nothing from the file ever becomes a path, a module name or code:

- files are opened without blocking (a FIFO or device cannot hang the
  loader) and must be regular files no larger than ``MAX_FILE_BYTES``;
  members of a model *directory* are opened by their fixed names and never
  through a symlink;
- zip members are read by fixed names (nothing is extracted), after
  checking the archive's declared sizes, compression methods and duplicate
  names; the ``zipfile`` reader then stops at the declared size and checks
  the CRC, so a lying header cannot make it produce more. A stored member
  can be opened in place (``open_member``: a seekable window on the file,
  CRC checked by ``MemberFile.verify``), so an archive inside an archive is
  read one array at a time instead of whole;
- one ``Budget`` per load bounds the bytes inflated from compressed members
  across every nesting level (model file -> ``weights.npz`` -> ``.npy``),
  charged before each member is inflated, so nesting cannot multiply
  compression ratios (a zip bomb inside a zip bomb);
- JSON is UTF-8, bounded in size and nesting depth.

Every failure becomes a problem string for ``ModelFileError``.
The limits are module attributes: raise them for unusually large models,
e.g. ``mlxfunctional.saving.safe_io.MAX_FILE_BYTES = 32 << 30``.
"""

import io
import json
import os
import stat
import struct
import zipfile
from collections import Counter

from .streams import Window, digest

MAX_FILE_BYTES = 8 << 30        # a whole file, and all of an archive's members together
MAX_JSON_BYTES = 16 << 20       # config.json / metadata.json / a safetensors header
MAX_JSON_DEPTH = 200            # nesting of JSON lists and dicts
MAX_MEMBERS = 100_000           # entries in one zip archive
# The decompression budget of one load (see Budget): bytes inflated from compressed
# members, at every nesting level together, may not exceed
#     INFLATE_PER_FILE_BYTE * (bytes of the file) + INFLATE_SLACK + (bytes of the arrays
#     the loading model expects: its weights, and its optimizer state once known).
INFLATE_PER_FILE_BYTE = 2
INFLATE_SLACK = 32 << 20
# Deflate cannot compress better than ~1032:1; a header claiming more is lying.
_MAX_DEFLATE_RATIO = 1100
_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# A zip local file header: signature, versions, flags, method, time, date, CRC, sizes,
# name length (field 10), extra field length (field 11).
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")


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


class Budget:
    """How many bytes one load may inflate from compressed members, all levels together.

    Args:
        file_bytes: the size of the file (or of a model folder's members) being read.
        expected: bytes of the arrays the loader expects (a model's weights); more may
            be added with ``expect()`` once known.

    The limit is ``INFLATE_PER_FILE_BYTE * file_bytes + INFLATE_SLACK + expected``:
    what a file of that size can honestly hold compressed (JSON compresses ~10:1,
    but there is little of it), plus the arrays a model really needs, however well
    they compress. A member is charged its declared size *before* it is inflated
    (``zipfile`` then stops at that size), so the memory a hostile file can make a
    load use is bounded by this limit, not by the product of the ratios of its levels.
    """

    def __init__(self, file_bytes, expected=0):
        self.file_bytes, self.expected, self.used = file_bytes, expected, 0

    @property
    def limit(self):
        return INFLATE_PER_FILE_BYTE * self.file_bytes + INFLATE_SLACK + self.expected

    def expect(self, nbytes):
        self.expected += nbytes

    def charge(self, nbytes, where):
        """Takes ``nbytes`` from the budget, or raises ``ReadError`` naming ``where``."""
        if self.used + nbytes > self.limit:
            raise ReadError(
                f"{where} would inflate to {nbytes:,} bytes, past this file's decompression "
                f"budget ({self.used:,} of {self.limit:,} bytes used: "
                f"{INFLATE_PER_FILE_BYTE} x its {self.file_bytes:,} bytes + "
                f"{INFLATE_SLACK:,} + {self.expected:,} bytes of expected arrays). A zip bomb, "
                "or a legitimate file compressed unusually well: raise "
                "mlxfunctional.saving.safe_io.INFLATE_SLACK to read it.")
        self.used += nbytes


class MemberFile:
    """A member of a model file opened for streaming: ``file`` is seekable binary.

    ``verify()`` reads it once for ``(byte count, SHA-256 hex)``, checking the zip
    CRC on the way when the bytes are read in place (the ``zipfile`` reader, which
    checks it otherwise, is not in the way then).
    """

    def __init__(self, file, crc=None, owned=False, what=""):
        self.file, self.crc, self.owned, self.what = file, crc, owned, what

    def verify(self):
        self.file.seek(0)
        nbytes, sha, crc = digest(self.file)
        if self.crc is not None and crc != self.crc:
            raise ReadError(f"{self.what} is corrupt (its CRC-32 does not match).")
        return nbytes, sha

    def close(self):
        if self.owned:
            self.file.close()


class ZipReader:
    """Bounded, by-name access to the members of a zip archive (file object or bytes).

    Args:
        source: a seekable binary file object or ``bytes``.
        what: how to call the archive in messages (``"the model file"``).
        budget: a ``Budget`` charged before any compressed member is inflated
            (None: only the per-member bounds apply).

    Raises ``ReadError`` when the archive cannot be opened at all; per-member
    problems come from :meth:`read`, :meth:`open` and :meth:`open_member`.
    """

    def __init__(self, source, what, budget=None):
        self.what, self.budget = what, budget
        fileobj = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) \
            else source
        self.fileobj = fileobj
        try:
            self.zf = zipfile.ZipFile(fileobj)
            infos = self.zf.infolist()
        except Exception as e:  # BadZipFile, struct/zlib/Unicode errors, OSError...
            raise ReadError(f"{what} is not a readable zip archive ({describe(e)}).") from None
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

    def info(self, name):
        """The ``ZipInfo`` of member ``name``, after the checks every read makes."""
        if self.counts.get(name, 0) == 0:
            raise ReadError(f"{self.what} has no member {name!r}.")
        if self.counts[name] > 1:
            raise ReadError(f"{self.what} holds member {name!r} {self.counts[name]} times.")
        info = self.zf.getinfo(name)
        where = self._where(name)
        if info.flag_bits & 0x1:
            raise ReadError(f"{where} is encrypted.")
        if info.compress_type not in _ALLOWED_COMPRESSION:
            raise ReadError(f"{where} uses compression method {info.compress_type}; only "
                            "stored and deflated members are read.")
        if info.compress_type == zipfile.ZIP_DEFLATED and \
                info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + (1 << 16):
            raise ReadError(f"{where} declares {info.file_size:,} bytes from "
                            f"{info.compress_size:,} compressed bytes (not possible with "
                            "deflate: a zip bomb or a corrupt header).")
        return info

    def _where(self, name):
        return f"member {name!r} of {self.what}"

    def _checked(self, name, limit, charge):
        info = self.info(name)
        if info.file_size > limit:
            raise ReadError(f"{self._where(name)} declares {info.file_size:,} bytes, more "
                            f"than the {limit:,}-byte limit.")
        if charge and self.budget is not None and info.compress_type != zipfile.ZIP_STORED:
            self.budget.charge(info.file_size, self._where(name))
        return info

    def open(self, name, limit, charge=True):
        """A ``zipfile`` stream of member ``name`` (CRC checked at its end), after the
        checks and, when it is compressed and ``charge``, after charging the budget
        its declared size."""
        info = self._checked(name, limit, charge)
        try:
            return self.zf.open(info)
        except Exception as e:  # bad local header, overlapping entries...
            raise ReadError(f"{self._where(name)} is corrupt ({describe(e)}).") from None

    def read(self, name, limit):
        """The bytes of member ``name``; raises ``ReadError`` with the reason."""
        where = self._where(name)
        info = self._checked(name, limit, charge=True)
        try:
            with self.zf.open(info) as f:
                data = f.read(info.file_size + 1)
        except Exception as e:  # bad CRC, truncated data, zlib errors, overlapping entries...
            raise ReadError(f"{where} is corrupt ({describe(e)}).") from None
        if len(data) != info.file_size:
            raise ReadError(f"{where} holds {len(data):,} bytes but declares "
                            f"{info.file_size:,}.")
        return data

    def open_member(self, name, limit):
        """Member ``name`` as a ``MemberFile`` with a seekable ``file``: in place (a
        window on the archive) when stored, inflated into memory (budget charged)
        when compressed."""
        info = self._checked(name, limit, charge=False)
        where = self._where(name)
        if info.compress_type != zipfile.ZIP_STORED:
            return MemberFile(io.BytesIO(self.read(name, limit)), what=where)
        try:  # the local header: 30 bytes, then the name and the extra field
            self.fileobj.seek(info.header_offset)
            header = self.fileobj.read(_LOCAL_HEADER.size)
            fields = _LOCAL_HEADER.unpack(header)
            if fields[0] != b"PK\x03\x04":
                raise ValueError("bad local header signature")
            local_name = self.fileobj.read(fields[10])
            if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800
                                                       else "cp437"):
                raise ValueError("its local header names another member")
        except Exception as e:  # struct errors, short reads, encodings...
            raise ReadError(f"{where} is corrupt ({describe(e)}).") from None
        start = info.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]
        window = Window(self.fileobj, start, info.compress_size)
        return MemberFile(window, crc=info.CRC, what=where)

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
        raise ReadError(f"{what} is not valid UTF-8 JSON ({describe(e)}).") from None
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


def describe(error):
    """An exception as a short text for a problem line."""
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."
