"""UTF-8 checks of raw file bytes: :func:`checked_utf8`.

Arrow checks the UTF-8 of a whole chunk of raw bytes at once, without making a Python string;
only a chunk that fails the check goes through Python's codec (for ``errors="replace"`` /
``"ignore"``) or to the error path (``"strict"``), which names the file, the byte offset and
the line. Every text reader (txt, csv, tsv, jsonl) and the inference from a file's start check
their bytes here.

Examples
--------
>>> checked_utf8(FileSpec("txt", "a.txt", errors="ignore"), "a.txt", 0, b"a\\xffb\\n")
b'ab\\n'
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gleamnb.errors import MalformedInputError, truncate
from gleamnb.files.chunks import lines_before
from gleamnb.files.compression import compression_of
from gleamnb.files.spec import FileSpec

__all__ = ["checked_utf8"]


def _is_valid_utf8(data: bytes | bytearray | pa.Buffer) -> bool:
    # ``data`` as the one value of a large string array (any size fits its 64-bit offsets):
    # Arrow's full validation checks its UTF-8 without making a Python string.
    offsets = np.array([0, len(data)], dtype=np.int64)
    try:
        array = pa.LargeStringArray.from_buffers(1, pa.py_buffer(offsets), pa.py_buffer(data))
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def checked_utf8(
    spec: FileSpec, path: str, offset: int, data: bytes | bytearray | pa.Buffer
) -> bytes | bytearray | pa.Buffer:
    """``data`` if it is valid UTF-8, else as ``spec.errors`` says.

    Parameters
    ----------
    spec
        The source; ``spec.errors`` is ``"strict"``, ``"replace"`` or ``"ignore"``.
    path, offset
        The file and the (uncompressed) offset of ``data[0]``, for the error.
    data
        Whole lines of the file (bytes, or an Arrow buffer over them).

    Returns
    -------
    bytes, bytearray or pyarrow.Buffer
        ``data`` itself when valid (never a copy); else decoded with the ``errors`` handler
        and encoded again (``replace``: each bad byte becomes U+FFFD; ``ignore``: bad bytes
        are dropped).

    Raises
    ------
    MalformedInputError
        With ``errors="strict"``: naming the file, the byte offset and the line.

    Examples
    --------
    >>> checked_utf8(FileSpec("txt", "a.txt", errors="replace"), "a.txt", 0, b"a\\xffb\\n")
    b'a\\xef\\xbf\\xbdb\\n'
    """
    if _is_valid_utf8(data):
        return data
    if isinstance(data, pa.Buffer):
        data = data.to_pybytes()
    if spec.errors == "strict":
        raise _bad_utf8(path, offset, data)
    return data.decode("utf-8", spec.errors).encode("utf-8")


def _bad_utf8(path: str, offset: int, data: bytes | bytearray) -> MalformedInputError:
    try:
        data.decode("utf-8")
        err_at = 0
    except UnicodeDecodeError as err:
        err_at = err.start
    at = offset + err_at
    line_start = data.rfind(b"\n", 0, err_at) + 1
    line_end = data.find(b"\n", err_at)
    line = data[line_start : line_end if line_end >= 0 else len(data)]
    line_no = lines_before(path, offset) + data.count(b"\n", 0, err_at) + 1
    unit = " (uncompressed)" if compression_of(path) else ""
    return MalformedInputError(
        f"invalid UTF-8 byte 0x{data[err_at]:02x} in {path} at byte {at}{unit}, line {line_no}",
        location=f"{path}@{at}",
        row=truncate(line.decode("utf-8", "replace")),
        hint='fix the file, or read it with errors="replace" (bad bytes become U+FFFD) '
        'or errors="ignore" (bad bytes are dropped)',
    )
