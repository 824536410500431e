"""A value's pickle with its large buffers left where they are, and a fast digest of it.

Functions travel to executors as cloudpickles, and fingerprints hash what would travel. The
data a function captures (a numpy array, an Arrow table, a DataFrame) is most of such a
pickle, so it is pickled with protocol 5 *out of band*: a buffer of :data:`OUT_OF_BAND` bytes
or more stays a view of the object's own memory instead of being copied into the pickle
(``pickle.loads(data, buffers=...)`` puts it back). :func:`digest` hashes such parts with
SHA-256 in 16 MiB chunks spread over the cores (hashlib releases the GIL), at about the speed
memory is copied.

Examples
--------
>>> import numpy as np
>>> p = pickled({"table": np.zeros(1 << 18)})  # 2 MiB of data: one out-of-band buffer
>>> len(p.buffers), p.nbytes > 1 << 21, len(p.data) < 1000
(1, True, True)
>>> digest(p.parts()) == digest(pickled({"table": np.zeros(1 << 18)}).parts())
True
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cloudpickle

__all__ = ["OUT_OF_BAND", "Pickled", "pickled", "digest"]

#: Buffers of at least this many bytes are pickled out of band (never copied).
OUT_OF_BAND = 1 << 20

_CHUNK = 16 << 20
_PARALLEL_MIN = 64 << 20  # below this, one thread hashes faster than a pool starts


@dataclass(frozen=True)
class Pickled:
    """A pickle stream and the out-of-band buffers it refers to, in order."""

    data: bytes
    buffers: tuple[memoryview, ...]

    @property
    def nbytes(self) -> int:
        """The size of the pickle and its buffers."""
        return len(self.data) + sum(b.nbytes for b in self.buffers)

    def parts(self) -> tuple[bytes | memoryview, ...]:
        """The stream, then the buffers: what :func:`digest` hashes and what travels."""
        return (self.data, *self.buffers)

    def load(self) -> Any:
        """The value again (buffers shared, not copied).

        >>> pickled([1, "a"]).load()
        [1, 'a']
        """
        return pickle.loads(self.data, buffers=self.buffers)


def pickled(value: Any) -> Pickled:
    """``value`` cloudpickled with its large buffers out of band (views, not copies)."""
    buffers: list[memoryview] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        view = buffer.raw()
        if view.nbytes < OUT_OF_BAND:
            return True  # small: in band
        buffers.append(view)
        return False

    stream = io.BytesIO()
    cloudpickle.Pickler(stream, protocol=5, buffer_callback=out_of_band).dump(value)
    return Pickled(stream.getvalue(), tuple(buffers))


def _chunks(parts: Sequence[bytes | memoryview]) -> list[memoryview]:
    views = [memoryview(p).cast("B") for p in parts]
    return [v[i : i + _CHUNK] for v in views for i in range(0, max(v.nbytes, 1), _CHUNK)]


def _sha256(chunk: memoryview) -> bytes:
    return hashlib.sha256(chunk).digest()


def digest(parts: Sequence[bytes | memoryview]) -> str:
    """The SHA-256 digest (hex) of ``parts`` taken together, their boundaries included.

    Each part is hashed in 16 MiB chunks, in threads when there is much of it; the result
    does not depend on the number of threads.

    >>> digest([b"ab", b"c"]) == digest([b"ab", b"c"])
    True
    >>> digest([b"ab", b"c"]) == digest([b"a", b"bc"])
    False
    """
    chunks = _chunks(parts)
    total = sum(c.nbytes for c in chunks)
    if total >= _PARALLEL_MIN and (os.cpu_count() or 1) > 1:
        with ThreadPoolExecutor(os.cpu_count()) as pool:
            hashes = list(pool.map(_sha256, chunks))
    else:
        hashes = [_sha256(c) for c in chunks]
    outer = hashlib.sha256()
    for part in parts:
        outer.update(memoryview(part).nbytes.to_bytes(8, "little"))
    for h in hashes:
        outer.update(h)
    return outer.hexdigest()
