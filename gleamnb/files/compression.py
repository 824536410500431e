"""Compressed inputs, recognised by extension: ``.gz``, ``.bz2``, ``.zst``.

A compressed file is decompressed as a stream (pyarrow's codecs) and is never split into byte
ranges: a range of compressed bytes cannot be decoded on its own.

Examples
--------
>>> compression_of("logs/day1.txt.gz"), compression_of("data.csv")
('gzip', None)
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from gleamnb.errors import InputNotFoundError, SourceError

__all__ = ["COMPRESSIONS", "compression_of", "open_stream"]

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}

_BUFFER = 1 << 20


def compression_of(path: str) -> str | None:
    """The codec name for ``path``'s extension, or None for a plain file."""
    lower = path.lower()
    for ext, codec in COMPRESSIONS.items():
        if lower.endswith(ext):
            return codec
    return None


def open_stream(path: str) -> Any:
    """Open ``path`` for sequential reading, decompressing by extension.

    >>> import tempfile, gzip, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt.gz")
    >>> with gzip.open(p, "wb") as f:
    ...     _ = f.write(b"hello\\n")
    >>> open_stream(p).read()
    b'hello\\n'
    """
    codec = compression_of(path)
    try:
        if codec is None:
            return pa.OSFile(path, "rb")
        return pa.input_stream(path, compression=codec, buffer_size=_BUFFER)
    except FileNotFoundError:
        raise InputNotFoundError(
            f"input file vanished: {path}",
            location=path,
            hint="the file was listed when the run was planned; keep inputs in place while "
            "a run reads them",
        ) from None
    except OSError as err:
        raise SourceError(
            f"cannot open {path}: {err}",
            location=path,
            hint="check that the file is readable by the process running the task",
        ) from None
