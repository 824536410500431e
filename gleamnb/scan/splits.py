"""Cut a source's files into exactly ``shards`` lists of :class:`Split`.

Plain (uncompressed) txt, csv, tsv and jsonl files are *splittable*: the files are laid end to
end, that stream of bytes is cut into ``shards`` equal parts, and each part becomes byte ranges
of the files it covers (a range reads the lines that start in it; see
:mod:`~gleamnb.files.chunks`). Compressed files, and CSV files whose values hold
newlines, are read whole. Parquet files split by row groups and ORC files by stripes when
there are more shards than files; otherwise whole files are dealt out in order, balanced by
size.

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
>>> _ = open(p, "wb").write(b"x" * 99 + b"\\n")
>>> spec = FileSpec("txt", p, shards=4)
>>> files = list_files(spec)
>>> [[(s.start, s.end) for s in shard] for shard in plan_splits(spec, files, 4)]
[[(0, 25)], [(25, 50)], [(50, 75)], [(75, 100)]]
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from gleamnb.errors import ArgumentError
from gleamnb.files.listing import FileInfo, list_files
from gleamnb.files.shards import splittable
from gleamnb.files.spec import FileSpec
from gleamnb.scan.columnar import piece_sizes
from gleamnb.scan.meta import FileMeta, file_meta, jsonl_meta, merge_jsonl_metas

__all__ = ["Split", "plan_splits"]


@dataclass(frozen=True)
class Split:
    """One piece of one file that a task reads.

    Parameters
    ----------
    path
        The file.
    start, end
        Text formats: the byte range ``[start, end)`` whose lines this split reads
        (``end=None``: to the end of the file).
    pieces
        parquet/orc: the row groups / stripes to read (None: all).
    meta
        Facts about the whole file (CSV header and types), gathered at plan time.
    """

    path: str
    start: int = 0
    end: int | None = None
    pieces: tuple[int, ...] | None = None
    meta: FileMeta | None = None

    def describe(self) -> str:
        """``path``, ``path@start-end`` or ``path#pieces``.

        >>> Split("/d/a.txt", 10, 20).describe()
        '/d/a.txt@10-20'
        """
        if self.pieces is not None:
            return f"{self.path}#{','.join(map(str, self.pieces))}"
        if self.start or self.end is not None:
            return f"{self.path}@{self.start}-{'' if self.end is None else self.end}"
        return self.path


def plan_splits(spec: FileSpec, files: Sequence[FileInfo] | None, shards: int) -> list[list[Split]]:
    """Exactly ``shards`` lists of splits (some may be empty) covering every file once.

    ``files=None`` lists them with :func:`list_files`.
    """
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ArgumentError(
            f"shards must be an integer >= 1, got {shards!r}",
            hint="pass a shard count such as 4",
        )
    files = list_files(spec) if files is None else list(files)
    if spec.format in ("parquet", "orc"):
        return _plan_columnar(spec, files, shards)
    metas: dict[str, FileMeta | None]
    if spec.format == "jsonl":
        # Every range of every file reads its fields in one order with one schema.
        shared = merge_jsonl_metas([jsonl_meta(spec, f.path) for f in files])
        metas = dict.fromkeys((f.path for f in files), shared)
    else:
        metas = _file_metas(spec, [f.path for f in files])
    items = [(f, splittable(spec, f.path)) for f in files]
    if not any(cut for _, cut in items):
        groups = _balanced([f.size for f in files], shards)
        return [[Split(files[i].path, meta=metas[files[i].path]) for i in g] for g in groups]
    out: list[list[Split]] = [[] for _ in range(shards)]
    for shard, index, lo, hi in _cut([f.size for f in files], [c for _, c in items], shards):
        f = files[index]
        whole = lo == 0 and hi == f.size
        out[shard].append(Split(f.path, lo, None if whole else hi, meta=metas[f.path]))
    return out


def _file_metas(spec: FileSpec, paths: Sequence[str]) -> dict[str, FileMeta | None]:
    """Each file's :class:`FileMeta`, several files read side by side (Arrow parses their
    starts without holding the GIL); the first failing file, in order, raises."""
    if len(paths) < 2:
        return {p: file_meta(spec, p) for p in paths}
    with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1)) as pool:
        return dict(zip(paths, pool.map(partial(file_meta, spec), paths)))


def _cut(sizes: Sequence[int], cuttable: Sequence[bool], n: int) -> list[tuple[int, int, int, int]]:
    """Lay the items end to end and cut into ``n`` equal parts.

    Returns ``(shard, item, lo, hi)`` pieces. Cuttable items are cut at the part boundaries;
    other items go whole to the part holding their middle.
    """
    total = sum(sizes)
    bounds = [total * k // n for k in range(1, n)]
    out: list[tuple[int, int, int, int]] = []
    shard = 0
    cursor = 0
    for index, (size, cut) in enumerate(zip(sizes, cuttable)):
        lo, hi = cursor, cursor + size
        if cut:
            pos = lo
            while shard < n - 1 and bounds[shard] < hi:
                if bounds[shard] > pos:
                    out.append((shard, index, pos - lo, bounds[shard] - lo))
                    pos = bounds[shard]
                shard += 1
            if pos < hi or size == 0:
                out.append((shard, index, pos - lo, size))
        else:
            middle = lo + size / 2
            while shard < n - 1 and bounds[shard] <= middle:
                shard += 1
            out.append((shard, index, 0, size))
        cursor = hi
    return out


def _balanced(weights: Sequence[int], n: int) -> list[list[int]]:
    """Deal items out in order into ``n`` contiguous groups of about equal weight, leaving no
    group empty while there are items enough.

    >>> _balanced([5, 5, 5, 5, 5], 2)
    [[0, 1], [2, 3, 4]]
    >>> _balanced([1, 1], 3)
    [[0], [1], []]
    """
    m = len(weights)
    if m <= n:
        return [[i] for i in range(m)] + [[] for _ in range(n - m)]
    if sum(weights) == 0:
        weights = [1] * m
    cum = [0]
    for w in weights:
        cum.append(cum[-1] + w)
    total = cum[-1]
    cuts = [0]
    for k in range(1, n):
        lo, hi = cuts[-1] + 1, m - (n - k)
        target = total * k / n
        b = min(max(bisect.bisect_left(cum, target), lo), hi)
        if b > lo and abs(cum[b - 1] - target) <= abs(cum[b] - target):
            b -= 1
        cuts.append(b)
    cuts.append(m)
    return [list(range(cuts[k], cuts[k + 1])) for k in range(n)]


def _plan_columnar(spec: FileSpec, files: list[FileInfo], shards: int) -> list[list[Split]]:
    if shards <= len(files):
        groups = _balanced([f.size for f in files], shards)
        return [[Split(files[i].path) for i in g] for g in groups]
    units: list[tuple[str, int]] = []
    weights: list[int] = []
    for f in files:
        for piece, weight in enumerate(piece_sizes(spec, f.path, f.size)):
            units.append((f.path, piece))
            weights.append(weight)
    out: list[list[Split]] = []
    for group in _balanced(weights, shards):
        splits: list[Split] = []
        for path, piece in (units[i] for i in group):
            if splits and splits[-1].path == path:
                last = splits[-1]
                splits[-1] = Split(path, pieces=(*(last.pieces or ()), piece))
            else:
                splits.append(Split(path, pieces=(piece,)))
        out.append(splits)
    return out
