"""File objects that let model files be written and read one array at a time.

A big model must not need a second copy of all its bytes to be saved or
loaded, so members are streamed:

- ``HashingWriter`` sits between a writer (the ``.npz`` being written) and
  its destination (a zip member or a file) and counts and SHA-256-hashes the
  bytes on their way, so ``metadata.json`` gets its checksums without the
  member ever being held in memory;
- ``Window`` is a read-only, seekable view of a byte range of an open file:
  a stored (uncompressed) ``weights.npz`` inside a ``.mlxf`` is opened as a
  zip archive in place, and each array is read from it when it is needed;
- ``digest`` reads a stream once, in chunks, for its size, SHA-256 and CRC-32.
"""

import errno
import hashlib
import io
import os
import zlib

CHUNK = 1 << 20  # bytes per read while hashing or copying


class HashingWriter:
    """Write-only stream: forwards bytes to ``sink`` and keeps their count and SHA-256.

    It has no ``tell``/``seek`` on purpose: ``zipfile`` then writes an archive
    into it front to back (sizes and CRCs after each member's data).
    """

    def __init__(self, sink):
        self.sink = sink
        self.nbytes = 0
        self._sha = hashlib.sha256()

    def write(self, data):
        view = memoryview(data).cast("B")
        self._sha.update(view)
        self.sink.write(view)
        self.nbytes += len(view)
        return len(view)

    def flush(self):
        pass

    def hexdigest(self):
        return self._sha.hexdigest()


class Window(io.RawIOBase):
    """Bytes ``[start, start + size)`` of the open binary file ``f``, as a seekable file.

    Every read seeks ``f`` first, so the window and other readers of ``f``
    (the zip archive around it) may take turns. ``f`` stays owned by the caller.
    """

    def __init__(self, f, start, size):
        super().__init__()
        self.f, self.start, self.size, self.pos = f, start, size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=os.SEEK_SET):
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self.size}[whence]
        if base + offset < 0:  # (as a file does: zipfile probes small archives this way)
            raise OSError(errno.EINVAL, "negative seek position")
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        n = max(0, min(len(view), self.size - self.pos))
        if n == 0:
            return 0
        self.f.seek(self.start + self.pos)
        got = self.f.readinto(view[:n])
        self.pos += got or 0
        return got

    def read(self, n=-1):
        n = self.size - self.pos if n is None or n < 0 else min(n, max(0, self.size - self.pos))
        buf = bytearray(n)
        got = self.readinto(buf)
        del buf[got:]
        return bytes(buf)


def digest(f):
    """``(byte count, SHA-256 hex, CRC-32)`` of what ``f`` yields from its position to EOF."""
    sha, crc, nbytes = hashlib.sha256(), 0, 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        got = f.readinto(view)
        if not got:
            break
        sha.update(view[:got])
        crc = zlib.crc32(view[:got], crc)
        nbytes += got
    return nbytes, sha.hexdigest(), crc


def read_exactly_into(f, out):
    """Fills the writable buffer ``out`` from ``f`` in chunks; returns the bytes read
    (fewer than ``len(out)`` only at the end of ``f``). No copy of ``out`` is made."""
    view = memoryview(out).cast("B")
    done = 0
    while done < len(view):
        chunk = f.read(min(CHUNK, len(view) - done))
        if not chunk:
            break
        view[done:done + len(chunk)] = chunk
        done += len(chunk)
    return done
