"""Memory and time of gleamnb's text path on one huge line against the same text in lines.

``python -m benchmarks.huge_lines --size 300MiB --dir /tmp/huge`` writes two files of the same
bytes under ``--dir``: ``one-line.txt`` (the whole text on one line, ending in ``\\n``) and
``lines.txt`` (the same text with about one separator in twelve a newline). The text is one
seeded 4 MiB block of words from a fixed vocabulary of ``[A-Za-z0-9]+`` words, separated by
spaces, commas, dashes and tabs, repeated; so the exact word counts are the block's counts
times the repeats. Each workload runs on each file in a fresh ``python -m
benchmarks.huge_lines run`` process (``gl.local(executors=2)``, ``--shards`` byte-range
shards: 1 puts the lines file in one task too, as the one line always is),
polled with psutil (:func:`benchmarks.measure.run_measured`):

``wordcount``
    ``flat_map(gl.mappers.tokenize) -> map(append_one) -> reduce_by_key(add) -> collect``,
    checked against the known counts.
``len``
    ``map(lambda line: (len(line), 1)) -> reduce("sum") -> collect``: reading the lines as
    Python strings, checked against the file's size.
``pipe``
    ``pipe("cat") -> map_batches(sizes) -> reduce("sum") -> collect``: every line through a
    command and back (its tabs escaped on the way out and unescaped on the way in), with no
    Python string per line; the lines, bytes and byte sum of the output are checked against
    the file's.

It prints one Markdown table row per run: the highest RSS of any one process (the executor
holding the line), of the driver, of the whole tree, the wall time of the run itself
(start-up excluded), and the CPU time of all the processes, start-up included (steadier than
the wall time on a busy machine). ``--keep`` keeps the files (they are removed otherwise).
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from benchmarks.measure import run_measured

__all__ = ["expected_counts", "main", "write_files"]

_BLOCK = 4 << 20
_SEPARATORS = (b" ", b" ", b" ", b", ", b" - ", b"\t")
_MiB = 1 << 20
_GiB = 1 << 30


def _vocabulary(rng: np.random.Generator, n: int = 5000) -> list[bytes]:
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "u1")
    words: set[bytes] = set()
    while len(words) < n:
        k = int(rng.integers(1, 13))
        words.add(letters[rng.integers(0, 62 if rng.random() < 0.2 else 26, k)].tobytes())
    return sorted(words)


def _block() -> tuple[bytes, bytes, dict[str, int]]:
    """(the block on one line, the block in lines, the word counts of one block)."""
    rng = np.random.default_rng(7)
    vocab = _vocabulary(rng)
    ids = rng.integers(0, len(vocab), _BLOCK // 6)
    seps = rng.integers(0, len(_SEPARATORS), len(ids))
    parts = [vocab[i] + _SEPARATORS[s] for i, s in zip(ids.tolist(), seps.tolist())]
    one = b"".join(parts)[:_BLOCK]
    cut = one.rfind(b" ", 0, _BLOCK - 1)
    one = one[:cut].ljust(_BLOCK - 1, b" ") + b" "  # ends with a separator: blocks never join
    lines = bytearray(one)
    spaces = np.flatnonzero(np.frombuffer(one, "u1") == 32)
    lines_at = spaces[rng.random(len(spaces)) < 1 / 12]
    np.frombuffer(lines, "u1")[lines_at] = 10
    counts: dict[str, int] = {}
    for word in one.replace(b",", b" ").replace(b"-", b" ").split():
        counts[word.decode()] = counts.get(word.decode(), 0) + 1
    return one, bytes(lines), counts


def expected_counts(size: int) -> dict[str, int]:
    """The word counts of a file of ``size`` bytes (rounded down to whole blocks)."""
    repeats = max(size // _BLOCK, 1)
    return {w: c * repeats for w, c in _block()[2].items()}


def write_files(folder: Path, size: int) -> dict[str, Path]:
    """Write ``one-line.txt`` and ``lines.txt`` of ``size`` bytes (whole blocks) in ``folder``."""
    one, lines, _ = _block()
    repeats = max(size // _BLOCK, 1)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"one-line": folder / "one-line.txt", "lines": folder / "lines.txt"}
    for name, block in (("one-line", one), ("lines", lines)):
        with paths[name].open("wb") as fh:
            for i in range(repeats):
                fh.write(block if i < repeats - 1 else block[:-1] + b"\n")
    return paths


def _sizes(batch: Any) -> dict[str, list[int]]:
    """A batch's lines, bytes and byte sum (its one column, read where it lies)."""
    column = batch.column(0)
    wide = column.type.id == pa.large_string().id
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64 if wide else np.int32)
    start, stop = int(offsets[column.offset]), int(offsets[column.offset + len(column)])
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[start:stop]
    total = int(np.add.reduce(data, dtype=np.uint64))
    return {"lines": [len(column)], "bytes": [stop - start], "sum": [total]}


def _file_sizes(path: str) -> tuple[int, int, int]:
    """The file's lines, bytes without line ends and byte sum without line ends."""
    lines = size = total = 0
    with open(path, "rb") as fh:
        while block := fh.read(16 << 20):
            data = np.frombuffer(block, dtype=np.uint8)
            newlines = int(np.count_nonzero(data == 10))
            lines += newlines
            size += len(data) - newlines
            total += int(np.add.reduce(data, dtype=np.uint64)) - 10 * newlines
    return lines, size, total


def _workload(name: str, path: str, shards: int) -> tuple[Any, float]:
    import gleamnb as gl

    runner = gl.local(executors=2)
    flow = gl.Flow(name)
    lines = flow.read(gl.txt(path, shards=shards))
    if name == "wordcount":
        ds = (
            lines.flat_map(gl.mappers.tokenize)
            .map(gl.mappers.append_one)
            .reduce_by_key(operator.add)
        )
    elif name == "pipe":
        ds = lines.pipe("cat").map_batches(_sizes).reduce("sum")
    else:
        ds = lines.map(lambda line: (len(line), 1)).reduce("sum")
    started = time.perf_counter()
    rows = ds.collect(runner=runner)
    return rows, time.perf_counter() - started


def _run_child(args: argparse.Namespace) -> int:
    t_start = time.time()
    rows, seconds = _workload(args.workload, args.path, args.shards)
    size = os.path.getsize(args.path)
    if args.workload == "wordcount":
        ok = dict(rows) == expected_counts(size)
    elif args.workload == "pipe":
        ok = rows == [_file_sizes(args.path)]
    else:  # every line ends with a newline: the lengths add up to the other bytes
        ((chars, lines),) = rows
        ok = chars == size - lines
    record = {"seconds": seconds, "t_start": t_start, "t_end": time.time(), "ok": ok}
    Path(args.result).write_text(json.dumps(record))
    return 0


def _measure(
    workload: str, path: Path, shards: int, scratch: Path, timeout_s: float
) -> dict[str, Any]:
    result = scratch / "result.json"
    cmd = [sys.executable, "-m", "benchmarks.huge_lines", "run", workload, str(path)]
    cmd += ["--shards", str(shards), "--result", str(result)]
    run = run_measured(
        cmd,
        result_file=result,
        watch_file=scratch / "watch.json",
        timeout_s=timeout_s,
        env=dict(os.environ),
        log_file=scratch / f"{workload}-{path.stem}.log",
        cwd=Path(__file__).resolve().parent.parent,
    )
    res = run.result or {}
    driver = run.process_peaks.pop(run.pid, 0)
    return {
        "workload": workload,
        "file": path.name,
        "shards": shards,
        "bytes": path.stat().st_size,
        "status": "timeout" if run.timed_out else ("ok" if res.get("ok") else "FAILED"),
        "seconds": res.get("seconds"),
        "executor_peak": max(run.process_peaks.values(), default=0),
        "driver_peak": driver,
        "tree_peak": run.peak_rss(res.get("t_start"), res.get("t_end")),
        "cpu": sum(run.process_cpu.values()),
        "log": str(scratch / f"{workload}-{path.stem}.log"),
    }


def _row(r: dict[str, Any]) -> str:
    secs = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
    per = "-" if r["seconds"] is None else f"{r['seconds'] / (r['bytes'] / _GiB):.1f}"
    return (
        f"| {r['workload']} | {r['file']} ({r['bytes'] / _MiB:,.0f} MiB) | {r['shards']} | "
        f"{r['executor_peak'] / _MiB:,.0f} MiB | {r['driver_peak'] / _MiB:,.0f} MiB | "
        f"{r['tree_peak'] / _MiB:,.0f} MiB | {secs} s | {per} s | {r['cpu']:.1f} s | "
        f"{r['status']} |"
    )


def _size(text: str) -> int:
    units = {"KiB": 1 << 10, "MiB": _MiB, "GiB": _GiB}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Generate the two files, measure every workload on each, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.huge_lines")
    sub = parser.add_subparsers(dest="cmd")
    child = sub.add_parser("run", help="one measured run (used by the harness)")
    child.add_argument("workload", choices=["wordcount", "len", "pipe"])
    child.add_argument("path")
    child.add_argument("--shards", type=int, default=2)
    child.add_argument("--result", required=True)
    parser.add_argument("--size", default="300MiB", help="file size, e.g. 300MiB or 2GiB")
    parser.add_argument("--dir", default=None, help="folder for the files (default: a temp dir)")
    parser.add_argument("--workloads", default="wordcount,len")
    parser.add_argument("--files", default="one-line,lines")
    parser.add_argument("--shards", default="2", help="shard counts to run, e.g. 1,2")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    if args.cmd == "run":
        return _run_child(args)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="huge-lines-"))
    paths = write_files(folder, _size(args.size))
    print(
        "| workload | file | shards | executor peak RSS | driver peak RSS | tree peak RSS "
        "| wall time | s per GiB | CPU time | check |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    try:
        for workload in args.workloads.split(","):
            for name in args.files.split(","):
                for shards in map(int, args.shards.split(",")):
                    r = _measure(workload, paths[name], shards, folder, args.timeout)
                    print(_row(r), flush=True)
    finally:
        if not args.keep:
            for p in paths.values():
                p.unlink(missing_ok=True)
            if args.dir is None:
                shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
