"""The members of a model file as they are written: streamed, hashed on the way.

``model.save`` gathers what it will write first (so a model that cannot be
saved fails before any file is touched) and then writes each member into its
destination -- a zip member or a file in a folder -- in one pass, the arrays
one at a time (``arrays.write_npz``), counting and SHA-256-hashing the bytes
as they go (``streams.HashingWriter``) for ``metadata.json``, which is made
last from those digests.
"""

from .arrays import write_npz
from .streams import HashingWriter


class Member:
    """One member of a model file, streamed into its destination by ``write_to(f)``:
    bytes (the JSON members), an ``.npz`` of arrays written one array at a time,
    or bytes made only when their turn comes (metadata.json, from the sizes and
    SHA-256s of the members written before it). ``digest`` is then ``(bytes, sha256)``."""

    def __init__(self, data=None, arrays=None, make=None):
        self.data, self.arrays, self.make, self.digest = data, arrays, make, None
        # Bytes to expect (zipfile chooses zip64 headers from it): a bound for an .npz.
        if data is not None:
            self.size_hint = len(data)
        elif arrays is not None:
            self.size_hint = sum(a.nbytes + (16 << 10) for a in arrays.values()) + (1 << 16)
        else:
            self.size_hint = 1 << 20

    def write_to(self, f):
        out = HashingWriter(f)
        if self.arrays is not None:
            write_npz(out, self.arrays)
        else:
            out.write(self.data if self.data is not None else self.make())
        self.digest = (out.nbytes, out.hexdigest())
