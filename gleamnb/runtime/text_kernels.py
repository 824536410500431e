"""Byte-level kernels behind the built-in text mappers (``tokenize``, ``lowercase``).

A token is a maximal run of ASCII ``[A-Za-z0-9]`` inside one string; everything else (spaces,
punctuation, every non-ASCII byte) separates tokens, and case is kept. This is Gleam's
``mapper.Tokenize``; :func:`tokenize_py` is the same definition in plain Python.

The kernels never loop per line or per token in Python. They work on the column's raw bytes
(its data buffer and offsets), 256 KiB at a time so that the temporaries stay in cache:

1. mark the alphanumeric bytes with a few vectorized comparisons;
2. a token starts where the mark rises and ends where it falls, and also at every string
   boundary (so a token never spans two strings); a block may start inside a token, which
   then goes on from the block before;
3. the marked bytes, in order, are exactly the tokens, back to back: compressing the bytes by
   the mark gives the new data buffer, the cumulated token lengths give the new offsets, and
   ``from_buffers`` makes the string array.

Memory follows the input's bytes, not its strings: :func:`tokenize_windows` makes one array of
tokens per window of about 16 MiB of input, cut between tokens (at a string boundary or at a
byte that is not a letter or digit), so a line of gigabytes is tokenized in windows, each as
large as an ordinary batch, and the ``flat_map(gl.mappers.tokenize)`` operator passes them on
one by one.

Lowercasing a token is one OR with ``0x20`` (it maps ``A-Z`` to ``a-z`` and leaves digits as
they are). :func:`lowercase` lowers a whole column: byte arithmetic when it is all ASCII, else
``pyarrow.compute.utf8_lower``, corrected with ``str.lower`` on the few rows holding characters
where the two disagree (``İ``, ``Σ`` at the end of a word, characters newer than one of the two
Unicode tables), so the result always equals Python's ``str.lower()``.

Examples
--------
>>> import pyarrow as pa
>>> tokenize(pa.array(["Hello, world!", None, "x=42"])).to_pylist()
['Hello', 'world', 'x', '42']
>>> tokenize_lower(pa.array(["Hello World"])).to_pylist()
['hello', 'world']
>>> lowercase(pa.array(["ÀB", "cD"])).to_pylist()
['àb', 'cd']
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from gleamnb.errors import SchemaError
from gleamnb.plan.text import TOKEN
from gleamnb.runtime.buffers import offsets_of, valid_mask

__all__ = ["WINDOW", "lowercase", "tokenize", "tokenize_lower", "tokenize_py", "tokenize_windows"]

_CASE_BIT = np.uint8(0x20)
_BLOCK = 1 << 18  # bytes tokenized at a time: big enough to amortize, small enough for cache

WINDOW = 16 << 20
"""About how many input bytes :func:`tokenize_windows` turns into one array of tokens."""


def tokenize_py(s: str) -> list[str]:
    """The tokens of one string: its maximal runs of ASCII letters and digits.

    The reference definition for :func:`tokenize` (and its fallback for single values).

    Examples
    --------
    >>> tokenize_py("don't stop-me_now 2day! café")
    ['don', 't', 'stop', 'me', 'now', '2day', 'caf']
    """
    return TOKEN.findall(s)


# ---------------------------------------------------------------------------------------------
# Reading string columns


def _as_text(arr: pa.Array, what: str) -> pa.Array:
    """``arr`` as a string/binary array with offsets, or a SchemaError for other types."""
    t = arr.type
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    ):
        return arr
    if pa.types.is_string_view(t):
        return arr.cast(pa.large_string())
    if pa.types.is_binary_view(t):
        return arr.cast(pa.large_binary())
    if pa.types.is_dictionary(t):
        return _as_text(arr.dictionary_decode(), what)
    if pa.types.is_null(t):
        return pa.array([None] * len(arr), type=pa.string())
    raise SchemaError(
        f"{what} needs a text field, got {t}",
        hint="convert the field to str first (e.g. map(str))",
    )


def _is_large(t: pa.DataType) -> bool:
    return pa.types.is_large_string(t) or pa.types.is_large_binary(t)


def _data_buffer(arr: pa.Array, start: int, stop: int) -> pa.Buffer:
    buf = arr.buffers()[2]
    if buf is None or stop == start:
        return pa.py_buffer(b"")
    return buf.slice(start, stop - start)


# ---------------------------------------------------------------------------------------------
# Tokenizing


def _alnum(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the ASCII letters and digits in ``data``, ``data`` with bit 0x20 set)."""
    folded = np.bitwise_or(data, _CASE_BIT)  # 'A'..'Z' -> 'a'..'z'; digits keep the bit
    tmp = folded - np.uint8(ord("a"))  # wraps below 'a', so one compare tests the range
    mask = tmp < 26
    np.subtract(data, np.uint8(ord("0")), out=tmp)
    mask |= tmp < 10
    return mask, folded


@dataclass(frozen=True, slots=True)
class _Tokens:
    """The tokens of one window: their bytes back to back, where each starts, its row."""

    offsets: np.ndarray  # one per token and one more: the end of the last
    data: pa.Buffer
    parents: np.ndarray | None  # int64, the row (in its chunk) of each token


@dataclass(frozen=True, slots=True)
class _Text:
    """One chunk's bytes and rows: ``data[rel[i]:rel[i + 1]]`` is row ``i``."""

    data: np.ndarray  # uint8
    rel: np.ndarray  # int64, rebased to 0
    skip: np.ndarray | None  # the null rows, when a null slot covers bytes

    def boundary(self, at: int) -> int:
        """The first cut at or after byte ``at`` that no token crosses.

        That is a row boundary, or a byte that is not a letter or digit (the token before it
        ends there); the search looks at a few bytes first and widens only inside a long run
        of letters and digits.
        """
        row_end = int(self.rel[np.searchsorted(self.rel, at, "left")])
        step = 64
        while at < row_end:
            probe = self.data[at : min(at + step, row_end)]
            seps = np.flatnonzero(~_alnum(probe)[0])
            if len(seps):
                return at + int(seps[0])
            at += len(probe)
            step *= 2
        return row_end

    def windows(self, size: int) -> Iterator[tuple[int, int]]:
        """Byte ranges ``[lo, hi)`` of about ``size`` bytes (more when a token is longer),
        covering the data in order, each cut where no token crosses."""
        n = len(self.data)
        lo = 0
        while lo < n:
            hi = self.boundary(lo + size) if lo + size < n else n
            yield lo, hi
            lo = hi


def _text_of(arr: pa.Array) -> _Text | None:
    """The bytes and rows of one chunk (None when it holds no byte)."""
    arr = _as_text(arr, "tokenize")
    offsets = offsets_of(arr)
    base, end = int(offsets[0]), int(offsets[-1])
    if end == base:
        return None
    rel = offsets - base
    valid = valid_mask(arr)
    skip = None
    if valid is not None and np.diff(rel)[~valid].any():
        skip = ~valid  # a null slot may still cover bytes: they give no token
    return _Text(np.frombuffer(_data_buffer(arr, base, end), dtype=np.uint8), rel, skip)


def _window_tokens(text: _Text, lo: int, hi: int, *, lower: bool, parents: bool) -> _Tokens:
    """The tokens of bytes ``[lo, hi)`` of ``text``, a range that no token crosses.

    The bytes are scanned ``_BLOCK`` at a time (so the temporaries stay in cache), cut
    anywhere: a token that runs across a block's start continues (``carry``) unless a row
    starts there.
    """
    data, rel = text.data, text.rel
    size = hi - lo
    rows = int(np.searchsorted(rel, hi, "left") - np.searchsorted(rel, lo, "right")) + 1
    # Outputs at their largest (one-byte tokens split by one byte or by a row boundary);
    # only the pages written get memory.
    out = np.empty(size, dtype=np.uint8)
    most = min(size, size // 2 + rows) + 1
    starts = np.empty(most, dtype=np.int64 if size >= 2**31 else np.int32)
    who: list[np.ndarray] = []
    filled = 0
    ntokens = 0
    carry = False  # the byte before the block is part of a token of the same row
    for blo in range(lo, hi, _BLOCK):
        bhi = min(blo + _BLOCK, hi)
        block = data[blo:bhi]
        mask, folded = _alnum(block)
        first = int(np.searchsorted(rel, blo, "right"))  # rel[first - 1] <= blo < rel[first]
        stop = int(np.searchsorted(rel, bhi, "left"))
        if text.skip is not None and text.skip[first - 1 : stop].any():
            lengths = np.diff(np.clip(rel[first - 1 : stop + 1], blo, bhi))
            mask &= ~np.repeat(text.skip[first - 1 : stop], lengths)
        # A token starts where the mask rises, and at every row boundary it covers.
        edge = np.empty(len(block), dtype=bool)
        edge[0] = mask[0] and (rel[first - 1] == blo or not carry)
        np.greater(mask[1:], mask[:-1], out=edge[1:])
        inner = rel[first:stop] - blo
        edge[inner] = mask[inner]
        carry = bool(mask[-1])
        kept = int(np.count_nonzero(mask))
        np.compress(mask, folded if lower else block, out=out[filled : filled + kept])
        # Where tokens start among the kept bytes: the new offsets.
        at = np.flatnonzero(np.compress(mask, edge))
        np.add(at, filled, out=starts[ntokens : ntokens + len(at)], casting="unsafe")
        if parents:
            begins = np.flatnonzero(edge) + blo
            who.append(np.searchsorted(rel, begins, "right").astype(np.int64) - 1)
        ntokens += len(at)
        filled += kept
    starts[ntokens] = filled
    row_of = (np.concatenate(who) if who else np.zeros(0, np.int64)) if parents else None
    return _Tokens(starts[: ntokens + 1], pa.py_buffer(out[:filled]), row_of)


def _chunk_windows(arr: pa.Array, *, lower: bool, parents: bool, window: int) -> Iterator[_Tokens]:
    """The tokens of one chunk, window by window (one empty window when it has no byte)."""
    text = _text_of(arr)
    if text is None:
        empty = np.zeros(0, np.int64) if parents else None
        yield _Tokens(np.zeros(1, np.int32), pa.py_buffer(b""), empty)
        return
    for lo, hi in text.windows(window):
        yield _window_tokens(text, lo, hi, lower=lower, parents=parents)


def _build(parts: list[_Tokens], *, large: bool) -> pa.Array:
    if len(parts) == 1:
        offsets, data = parts[0].offsets, parts[0].data
    else:
        sizes = [int(p.offsets[-1]) for p in parts]
        shift = np.cumsum([0, *sizes])
        pieces = [p.offsets[:-1].astype(np.int64) + k for p, k in zip(parts, shift)]
        offsets = np.concatenate([*pieces, shift[-1:]])
        data = pa.py_buffer(np.concatenate([np.frombuffer(p.data, np.uint8) for p in parts]))
    large = large or int(offsets[-1]) >= 2**31
    offsets = offsets.astype(np.int64 if large else np.int32, copy=False)
    t = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(t, len(offsets) - 1, [None, pa.py_buffer(offsets), data], 0)


def _chunks(arr: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]


def _tokenize(
    arr: pa.Array | pa.ChunkedArray, *, lower: bool, parents: bool
) -> pa.Array | tuple[pa.Array, np.ndarray]:
    parts: list[_Tokens] = []
    rows: list[np.ndarray] = []
    first_row = 0
    for chunk in _chunks(arr):
        for part in _chunk_windows(chunk, lower=lower, parents=parents, window=WINDOW):
            parts.append(part)
            if part.parents is not None:
                rows.append(part.parents + first_row)
        first_row += len(chunk)
    if not parts:
        parts = [_Tokens(np.zeros(1, np.int32), pa.py_buffer(b""), None)]
    tokens = _build(parts, large=_is_large(arr.type))
    if not parents:
        return tokens
    return tokens, (np.concatenate(rows) if rows else np.zeros(0, np.int64))


def tokenize_windows(
    arr: pa.Array | pa.ChunkedArray, *, lower: bool = False, window: int = WINDOW
) -> Iterator[pa.Array]:
    """The tokens of ``arr`` as :func:`tokenize` finds them, a window of input at a time.

    Each array yielded holds the tokens of about ``window`` bytes of input: whole strings, or
    a part of one long string cut between two tokens (never inside one: a token longer than
    the window comes whole). So a huge line is tokenized in bounded memory, and its tokens
    go on downstream in batches instead of one array as large as the line. Every chunk of
    ``arr`` gives at least one array (an empty one when it has no token), so an empty input
    still says its type.

    Parameters
    ----------
    arr
        A text column, as for :func:`tokenize`.
    lower
        Lowercase the ASCII letters, as :func:`tokenize_lower`.
    window
        About how many input bytes each array covers.

    Yields
    ------
    pyarrow.Array
        ``string`` arrays (``large_string`` for a ``large_string`` input or a window of
        2 GiB of tokens) whose concatenation is ``tokenize(arr)``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> [a.to_pylist() for a in tokenize_windows(pa.array(["to be, or not to be"]), window=6)]
    [['to', 'be'], ['or', 'not'], ['to', 'be']]
    >>> [a.to_pylist() for a in tokenize_windows(pa.array(["abcdefgh ij"]), window=2)]
    [['abcdefgh'], ['ij']]
    """
    large = _is_large(arr.type)
    for chunk in _chunks(arr):
        for part in _chunk_windows(chunk, lower=lower, parents=False, window=window):
            yield _build([part], large=large)


def tokenize(
    arr: pa.Array | pa.ChunkedArray, *, parents: bool = False
) -> pa.Array | tuple[pa.Array, np.ndarray]:
    """The tokens of every string of ``arr``, in order: runs of ASCII ``[A-Za-z0-9]``.

    Everything else separates tokens, including non-ASCII bytes; case is kept; nulls and
    empty strings give no token. Equal to ``tokenize_py`` applied to each string in turn.

    Parameters
    ----------
    arr
        A string (or large/view/dictionary string, or binary) column, chunked or not.
    parents
        Also return, for each token, the index of the row it came from.

    Returns
    -------
    pyarrow.Array
        A ``string`` array of the tokens (``large_string`` for a ``large_string`` input or
        2 GiB of tokens); with ``parents=True`` a tuple ``(tokens, int64 numpy row indices)``.

    Raises
    ------
    SchemaError
        If ``arr`` is not a text column.

    Examples
    --------
    >>> import pyarrow as pa
    >>> tokenize(pa.array(["to be, or not", "", "2B!"])).to_pylist()
    ['to', 'be', 'or', 'not', '2B']
    >>> tokens, rows = tokenize(pa.array(["a b", None, "c"]), parents=True)
    >>> tokens.to_pylist(), rows.tolist()
    (['a', 'b', 'c'], [0, 0, 2])
    """
    return _tokenize(arr, lower=False, parents=parents)


def tokenize_lower(
    arr: pa.Array | pa.ChunkedArray, *, parents: bool = False
) -> pa.Array | tuple[pa.Array, np.ndarray]:
    """Like :func:`tokenize`, with the ASCII letters lowercased in the same pass.

    Examples
    --------
    >>> import pyarrow as pa
    >>> tokenize_lower(pa.array(["The CAT sat", "ON 2 Mats"])).to_pylist()
    ['the', 'cat', 'sat', 'on', '2', 'mats']
    """
    return _tokenize(arr, lower=True, parents=parents)


# ---------------------------------------------------------------------------------------------
# Lowercasing a column


@functools.cache
def _needs_python_lower() -> str:
    """An RE2 character class of the characters where ``utf8_lower`` and ``str.lower`` differ.

    Found by lowering every code point both ways once per process (about 0.2 s). Capital
    sigma is always in it: ``str.lower`` makes it final (``ς``) at the end of a word.
    """
    import pyarrow.compute as pc

    points = np.concatenate([np.arange(1, 0xD800), np.arange(0xE000, 0x110000)]).astype("<u4")
    # Every character, "\0" between them (uncased: so each one lowers on its own).
    joined = np.zeros(2 * len(points) - 1, dtype="<u4")
    joined[::2] = points
    text = joined.tobytes().decode("utf-32-le")
    by_arrow = pc.utf8_lower(_split_nul(text))
    by_python = _split_nul(text.lower())
    differ = pc.not_equal(by_arrow, by_python)
    bad = points[differ.to_numpy(zero_copy_only=False)].tolist()
    bad.append(0x3A3)  # capital sigma
    return "[" + "".join(f"\\x{{{c:X}}}" for c in sorted(set(bad))) + "]"


def _split_nul(text: str) -> pa.Array:
    """The parts of ``text`` between NUL characters, as a string array (no Python loop)."""
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    cuts = np.flatnonzero(data == 0)
    offsets = np.concatenate([[0], cuts + 1, [len(data) + 1]]).astype(np.int64)
    lengths = np.diff(offsets) - 1
    keep = np.ones(len(data), dtype=bool)
    keep[cuts] = False
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return pa.Array.from_buffers(
        pa.large_string(),
        len(lengths),
        [None, pa.py_buffer(out), pa.py_buffer(data[keep])],
    )


def _lower_ascii(arr: pa.Array, data: np.ndarray, offsets: np.ndarray) -> pa.Array:
    tmp = data - np.uint8(ord("A"))
    upper = tmp < 26
    np.left_shift(upper.view(np.uint8), 5, out=tmp)
    tmp |= data
    rebased = offsets - offsets[0]
    if not _is_large(arr.type):
        rebased = rebased.astype(np.int32)
    validity = arr.is_valid().buffers()[1] if arr.null_count else None
    return pa.Array.from_buffers(
        arr.type,
        len(arr),
        [validity, pa.py_buffer(rebased), pa.py_buffer(tmp)],
        arr.null_count,
    )


def _lower_chunk(arr: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    t = arr.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        arr = _as_text(arr, "lowercase")
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            raise SchemaError(
                f"lowercase needs a string field, got {t}",
                hint="decode the bytes first (e.g. map(lambda b: b.decode()))",
            )
    offsets = offsets_of(arr)
    base, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(_data_buffer(arr, base, end), dtype=np.uint8)
    if len(data) == 0 or int(data.max()) < 0x80:
        return _lower_ascii(arr, data, offsets)
    lowered = pc.utf8_lower(arr)
    special = pc.fill_null(pc.match_substring_regex(arr, _needs_python_lower()), False)
    rows = np.flatnonzero(special.to_numpy(zero_copy_only=False))
    if len(rows) == 0:
        return lowered
    fixed = [s.lower() for s in arr.take(pa.array(rows)).to_pylist()]
    return pc.replace_with_mask(lowered, special, pa.array(fixed, type=arr.type))


def lowercase(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Every string of ``arr`` lowercased, exactly as Python's ``str.lower()`` would.

    All-ASCII data takes a byte-level fast path; other data goes through
    ``pyarrow.compute.utf8_lower``, with ``str.lower`` for the rare rows where they differ.

    Parameters
    ----------
    arr
        A string column (``string``, ``large_string``, view or dictionary), chunked or not.

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray
        The lowered strings, nulls kept; chunked when ``arr`` is.

    Raises
    ------
    SchemaError
        If ``arr`` is not a string column.

    Examples
    --------
    >>> import pyarrow as pa
    >>> lowercase(pa.array(["Hello", None, "ΟΔΟΣ ΣΑΣ"])).to_pylist()
    ['hello', None, 'οδος σας']
    >>> lowercase(pa.array(["İ"])).to_pylist() == ["İ".lower()]   # 'i' + combining dot
    True
    """
    if isinstance(arr, pa.ChunkedArray):
        chunks = [_lower_chunk(c) for c in arr.chunks]
        if not chunks:
            return arr
        return pa.chunked_array(chunks, type=chunks[0].type)
    return _lower_chunk(arr)
