"""Check an engine's output against the reference before its time counts.

Word count: the full word -> count mapping must equal the reference exactly; the lambda word
count's most frequent lower-cased words must be the reference's, in order of their counts.
Join: the row count and the order-independent checksum of ``(a1, a4, b3)`` must match. Sort:
every record is present (count and multiset checksum of the 99-byte records) and the keys are
non-decreasing, bytewise, across the whole output (part files in name order).

An output may be one file or a folder of part files (Spark, Dask, gleamnb shards); files whose
name starts with ``_`` or ``.`` (``_SUCCESS``, ``.crc``) are ignored. Sort outputs may be text
(100-byte lines) or Parquet with one string column holding the line.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.config import Size
from benchmarks.hashing import checksum_hex, hash_fixed_rows, join_row_hashes
from benchmarks.udf import WORD_PATTERN

__all__ = [
    "Check",
    "check_join",
    "check_sort",
    "check_startup",
    "check_top_words",
    "check_wordcount",
    "check_wordcount_files",
    "output_files",
]

_CHUNK_ROWS = 1_000_000


@dataclasses.dataclass
class Check:
    """Outcome of a check.

    Attributes
    ----------
    ok
        Whether the output matches the reference.
    message
        What was checked, or what differs.
    notes
        Harmless deviations worth reporting (e.g. column names).
    """

    ok: bool
    message: str
    notes: list[str] = dataclasses.field(default_factory=list)


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def output_files(path: Path) -> list[Path]:
    """List the data files of an output, in order.

    Parameters
    ----------
    path
        A file, a folder of part files, or a path that an engine extended with a suffix.

    Returns
    -------
    list of Path
        Data files in natural name order (``part-2`` before ``part-10``).
    """
    if path.is_file():
        return [path]
    if not path.exists():
        siblings = sorted(path.parent.glob(path.name + "*"), key=_natural_key)
        return [f for s in siblings for f in output_files(s)]
    files = [
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
    ]
    return sorted(files, key=lambda p: _natural_key(p.relative_to(path)))


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"PAR1"


def check_wordcount(table: pa.Table, size: Size, manifest: dict[str, Any]) -> Check:
    """Compare a word count with the reference mapping.

    Parameters
    ----------
    table
        Two columns: word, count (any names).
    size
        The data size (for the reference's location).
    manifest
        The data manifest.

    Returns
    -------
    Check
        ``ok`` when both mappings are equal.
    """
    part = manifest["parts"]["wordcount"]
    ref = pq.read_table(size.data_dir / part["reference"])
    return _compare_counts(table, ref, part["words"])


def _compare_counts(table: pa.Table, ref: pa.Table, ref_words: int) -> Check:
    """Compare a word count with a reference table (``word``, ``count``, sorted by word)."""
    if table.num_columns != 2:
        return Check(False, f"expected 2 columns (word, count), got {table.column_names}")
    got = pa.table(
        {
            "word": pc.cast(table.column(0), pa.large_string()),
            "count": pc.cast(table.column(1), pa.int64()),
        }
    ).sort_by("word")
    words = pc.cast(ref["word"], pa.large_string())
    if got.num_rows != ref.num_rows:
        total = pc.sum(got["count"]).as_py()
        return Check(
            False,
            f"{got.num_rows} distinct words, reference has {ref.num_rows} "
            f"(total count {total} vs {ref_words})",
        )
    same_words = pc.equal(got["word"], words)
    if not pc.all(same_words).as_py():
        i = int(np.argmin(same_words.to_numpy(zero_copy_only=False)))
        return Check(False, f"word #{i} differs: {got['word'][i]} vs {words[i]}")
    same_counts = pc.equal(got["count"], ref["count"])
    if not pc.all(same_counts).as_py():
        i = int(np.argmin(same_counts.to_numpy(zero_copy_only=False)))
        return Check(False, f"count of {words[i]}: {got['count'][i]}, reference {ref['count'][i]}")
    return Check(True, f"{ref.num_rows} distinct words, {ref_words} words: all counts equal")


@functools.cache
def _files_reference(files: tuple[str, ...]) -> pa.Table:
    """The word counts of ``files``, counted here in plain Python (``WORD_PATTERN``)."""
    counts: collections.Counter[bytes] = collections.Counter()
    pattern = re.compile(WORD_PATTERN.encode())
    for name in files:
        with open(name, "rb") as fh:
            counts.update(pattern.findall(fh.read()))
    return pa.table(
        {"word": pa.array(list(counts), pa.binary()), "count": pa.array(list(counts.values()))}
    ).sort_by("word")


def check_wordcount_files(table: pa.Table, files: list[str]) -> Check:
    """Compare a word count of some corpus files with their counts taken in plain Python.

    Parameters
    ----------
    table
        Two columns: word, count (any names).
    files
        The corpus files that were counted.

    Returns
    -------
    Check
        ``ok`` when both mappings are equal.
    """
    ref = _files_reference(tuple(files))
    return _compare_counts(table, ref, pc.sum(ref["count"]).as_py())


def check_startup(output: str) -> Check:
    """The ``startup`` workload counts the rows of a 10-row range.

    >>> check_startup("10").ok, check_startup("9").ok
    (True, False)
    """
    ok = output.strip() == "10"
    return Check(ok, "counted 10 rows" if ok else f"counted {output!r} rows, expected 10")


def check_top_words(table: pa.Table, size: Size, manifest: dict[str, Any], n: int) -> Check:
    """Compare the ``n`` most frequent lower-cased words with the reference.

    Parameters
    ----------
    table
        Two columns, word and count (any names), most frequent first.
    size
        The data size (for the reference's location).
    manifest
        The data manifest.
    n
        How many words the workload keeps.

    Returns
    -------
    Check
        ``ok`` when there are ``n`` distinct words (fewer if the corpus has fewer), each with
        its reference count, the counts do not increase, and they are the ``n`` largest
        (which words win a tie at the end is left open).
    """
    part = manifest["parts"]["wordcount"]
    ref = pq.read_table(size.data_dir / part["reference"])
    lowered = pa.table({"word": pc.utf8_lower(ref["word"]), "count": ref["count"]})
    totals = lowered.group_by("word").aggregate([("count", "sum")])
    expected = dict(zip(totals["word"].to_pylist(), totals["count_sum"].to_pylist()))
    if table.num_columns != 2:
        return Check(False, f"expected 2 columns (word, count), got {table.column_names}")
    words = table.column(0).to_pylist()
    counts = pc.cast(table.column(1), pa.int64()).to_pylist()
    want = min(n, len(expected))
    if len(words) != want or len(set(words)) != want:
        return Check(False, f"{len(words)} rows, {len(set(words))} distinct words; expected {want}")
    for word, count in zip(words, counts):
        if expected.get(word) != count:
            return Check(False, f"count of {word!r}: {count}, reference {expected.get(word)}")
    if any(a < b for a, b in itertools.pairwise(counts)):
        return Check(False, "the words are not in order of their counts, most frequent first")
    top = sorted(expected.values(), reverse=True)[:want]
    if counts != top:
        return Check(
            False,
            f"not the {want} most frequent words: counts {counts[-3:]} end, reference {top[-3:]}",
        )
    return Check(
        True, f"the {want} most frequent of {len(expected)} lower-cased words, counts equal"
    )


def check_join(path: Path, size: Size, manifest: dict[str, Any]) -> Check:
    """Check a join output's row count and checksum.

    Parameters
    ----------
    path
        Parquet file or folder written by the engine.
    size
        The data size.
    manifest
        The data manifest.

    Returns
    -------
    Check
        ``ok`` when count and checksum match the reference.
    """
    ref = manifest["parts"]["join"]
    files = output_files(path)
    if not files:
        return Check(False, f"no output at {path}")
    notes: list[str] = []
    rows = 0
    total = 0
    for f in files:
        table = pq.read_table(f)
        if table.num_rows == 0:
            continue
        names = table.column_names
        if all(n in names for n in ("a1", "a4", "b3")):
            cols = [table["a1"], table["a4"], table["b3"]]
            if names != ["a1", "a4", "b3"] and not notes:
                notes.append(f"output columns {names}; checked a1, a4, b3 by name")
        elif table.num_columns == 3:
            cols = [table.column(i) for i in range(3)]
            if not notes:
                notes.append(f"output columns named {names}; checked by position as a1, a4, b3")
        else:
            return Check(False, f"{f.name}: expected columns a1, a4, b3, got {names}")
        a1 = pc.cast(cols[0], pa.int64()).to_numpy()
        a4 = pc.cast(cols[1], pa.int64()).to_numpy()
        if any(c.null_count for c in cols):
            return Check(False, f"{f.name}: null values in the output (not an inner join?)")
        rows += table.num_rows
        total = (total + int(checksum_hex(join_row_hashes(a1, a4, cols[2])), 16)) % 2**64
    checksum = f"{total:016x}"
    if rows != ref["rows"] or checksum != ref["checksum"]:
        return Check(
            False,
            f"{rows} rows, checksum {checksum}; reference {ref['rows']} rows, "
            f"checksum {ref['checksum']}",
            notes,
        )
    return Check(True, f"{rows} rows, checksum {checksum} match", notes)


class _SortState:
    """Running count, checksum and last key across the chunks of a sort output."""

    def __init__(self, key_bytes: int) -> None:
        self.key_bytes = key_bytes
        self.rows = 0
        self.total = 0
        self.last: bytes | None = None
        self.error: str | None = None

    def add(self, records: np.ndarray) -> None:
        """Add a chunk of records (uint8, shape (n, 99)) in output order."""
        if len(records) == 0 or self.error:
            return
        keys = np.ascontiguousarray(records[:, : self.key_bytes]).view(f"S{self.key_bytes}")
        keys = keys.ravel()
        if self.last is not None and keys[0] < self.last:
            self.error = f"record {self.rows}: key {keys[0]!r} after {self.last!r}"
            return
        bad = np.nonzero(keys[:-1] > keys[1:])[0]
        if len(bad):
            i = int(bad[0])
            self.error = f"record {self.rows + i + 1}: key {keys[i + 1]!r} after {keys[i]!r}"
            return
        self.last = bytes(keys[-1])
        self.rows += len(records)
        self.total = (self.total + int(checksum_hex(hash_fixed_rows(records)), 16)) % 2**64


def _records_from_strings(column: pa.ChunkedArray | pa.Array, width: int) -> np.ndarray:
    array = pc.cast(column, pa.large_binary())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    lengths = pc.binary_length(array).to_numpy(zero_copy_only=False)
    if len(lengths) and int(lengths.min()) == width + 1:
        array = pc.binary_slice(array, 0, width)  # a kept trailing newline
        lengths = lengths - 1
    if len(lengths) and (int(lengths.min()) != width or int(lengths.max()) != width):
        raise ValueError(f"line lengths {int(lengths.min())}..{int(lengths.max())}, not {width}")
    array = pc.cast(array, pa.large_binary())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    data = np.frombuffer(data_buf, dtype=np.uint8)
    return data[offsets[0] : offsets[0] + len(array) * width].reshape(-1, width)


def check_sort(path: Path, size: Size, manifest: dict[str, Any]) -> Check:
    """Check a sort output: all records present, keys non-decreasing.

    Parameters
    ----------
    path
        Text or Parquet output (file or folder) written by the engine.
    size
        The data size.
    manifest
        The data manifest.

    Returns
    -------
    Check
        ``ok`` when the output is a sorted permutation of the input.
    """
    ref = manifest["parts"]["sort"]
    record = ref["record_bytes"]
    width = record - 1
    files = output_files(path)
    if not files:
        return Check(False, f"no output at {path}")
    state = _SortState(ref["key_bytes"])
    for f in files:
        if f.stat().st_size == 0:
            continue
        if _is_parquet(f):
            pf = pq.ParquetFile(f)
            for batch in pf.iter_batches(batch_size=_CHUNK_ROWS):
                if batch.num_columns != 1:
                    return Check(False, f"{f.name}: expected one string column, got {batch.schema}")
                try:
                    state.add(_records_from_strings(batch.column(0), width))
                except ValueError as exc:
                    return Check(False, f"{f.name}: {exc}")
        else:
            n_bytes = f.stat().st_size
            if n_bytes % record:
                return Check(False, f"{f.name}: {n_bytes} bytes is not a whole number of lines")
            data = np.memmap(f, dtype=np.uint8, mode="r").reshape(-1, record)
            for start in range(0, len(data), _CHUNK_ROWS):
                chunk = data[start : start + _CHUNK_ROWS]
                if not np.all(chunk[:, width] == ord("\n")):
                    return Check(False, f"{f.name}: a line is not {record} bytes long")
                state.add(chunk[:, :width])
        if state.error:
            return Check(False, f"not sorted: {f.name}: {state.error}")
    checksum = f"{state.total:016x}"
    if state.rows != ref["rows"] or checksum != ref["checksum"]:
        return Check(
            False,
            f"{state.rows} records, checksum {checksum}; input has {ref['rows']} records, "
            f"checksum {ref['checksum']}",
        )
    return Check(True, f"{state.rows} records sorted, multiset checksum {checksum} matches input")
