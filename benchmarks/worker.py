"""One measurement, in its own process: ``python -m benchmarks.worker run ENGINE WORKLOAD``.

The worker starts the engine (not timed), runs the workload once (timed with
``time.perf_counter``; the wall-clock window is reported so the harness can take the peak RSS
inside it), stops the engine, then turns a word count into a Parquet table for the harness to
check (not timed). ``python -m benchmarks.worker probe ENGINE...`` prints, as JSON, why each
engine cannot run here (``null`` when it can).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.config import SIZES, Size
from benchmarks.engines import ENGINES, Inputs, load
from benchmarks.generate import load_manifest

__all__ = ["inputs_for", "main", "wordcount_table"]

WATCH_ENV = "GLEAMNB_BENCH_WATCH_PIDS"


def inputs_for(size: Size, scratch: Path, workers: int = 2) -> Inputs:
    """Input paths of a generated size.

    Parameters
    ----------
    size
        The data size.
    scratch
        Folder for the engine's temporary files.
    workers
        Parallelism given to every engine.

    Returns
    -------
    Inputs
        Absolute paths.
    """
    manifest = load_manifest(size)
    parts = manifest["parts"]
    root = size.data_dir
    wc = parts.get("wordcount", {})
    return Inputs(
        text_glob=str(root / wc.get("glob", "wordcount/part-*.txt")),
        text_files=[str(root / f["path"]) for f in wc.get("files", [])],
        join_a=str(root / "join" / "a"),
        join_b=str(root / "join" / "b"),
        join_csv_a=str(root / "join_csv" / "a"),
        join_csv_b=str(root / "join_csv" / "b"),
        sort_input=str(root / "sort" / "input.txt"),
        workers=workers,
        scratch=str(scratch),
    )


def _uniq_c_table(path: Path) -> pa.Table:
    """Parse ``uniq -c`` output; drop the empty word ``tr`` emits for a leading separator."""
    words: list[bytes] = []
    counts: list[int] = []
    with path.open("rb") as fh:
        for line in fh:
            count, _, word = line.lstrip().rstrip(b"\n").partition(b" ")
            if word:
                words.append(word)
                counts.append(int(count))
    return pa.table({"word": pa.array(words, pa.binary()), "count": pa.array(counts, pa.int64())})


def wordcount_table(result: Any) -> pa.Table:
    """Turn an engine's word count, in whatever form it has, into a (word, count) table.

    Parameters
    ----------
    result
        A pyarrow Table, a polars or pandas frame, a pandas Series (index = words), a mapping,
        a list of pairs, or the path of ``uniq -c`` output.

    Returns
    -------
    pyarrow.Table
        Columns ``word`` (string) and ``count`` (int64).
    """
    if isinstance(result, Path):
        table = _uniq_c_table(result)
    elif isinstance(result, pa.Table):
        table = result
    elif type(result).__module__.startswith("polars"):
        table = result.to_arrow()
    elif type(result).__name__ == "Series":
        table = pa.table({"word": pa.array(list(result.index)), "count": result.to_numpy()})
    elif type(result).__name__ == "DataFrame":
        table = pa.Table.from_pandas(result, preserve_index=False)
    elif isinstance(result, Mapping):
        table = pa.table({"word": pa.array(list(result.keys())), "count": list(result.values())})
    else:
        pairs = list(result)
        table = pa.table({"word": pa.array([p[0] for p in pairs]), "count": [p[1] for p in pairs]})
    word, count = table.column(0), table.column(1)
    if pa.types.is_binary(word.type) or pa.types.is_large_binary(word.type):
        word = word.cast(pa.large_string())
    return pa.table({"word": word.cast(pa.large_string()), "count": count.cast(pa.int64())})


def _run(args: argparse.Namespace) -> dict[str, Any]:
    spec = ENGINES[args.engine]
    size = SIZES[args.size]
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    inputs = inputs_for(size, scratch / "tmp")
    Path(inputs.scratch).mkdir(exist_ok=True)
    out = scratch / "out"
    out.mkdir(exist_ok=True)
    module = load(spec)
    fn = getattr(module, args.workload)
    ctx = module.setup(spec.variant)
    try:
        t_start = time.time()
        p_start = time.perf_counter()
        result = fn(ctx, inputs, out)
        seconds = time.perf_counter() - p_start
        t_end = time.time()
    finally:
        module.teardown(ctx)
    record: dict[str, Any] = {
        "seconds": seconds,
        "t_start": t_start,
        "t_end": t_end,
        "extra": ctx.extra,
    }
    if args.workload.startswith("wordcount"):
        table = wordcount_table(result)
        path = scratch / "wordcount.parquet"
        pq.write_table(table, path)
        record["output"] = str(path)
    else:
        record["output"] = str(result if result is not None else out)
    return record


def _probe(names: list[str]) -> dict[str, str | None]:
    reasons: dict[str, str | None] = {}
    for name in names:
        spec = ENGINES[name]
        try:
            reasons[name] = load(spec).probe(spec.variant)
        except Exception as exc:
            reasons[name] = f"{type(exc).__name__}: {exc}"
    return reasons


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("engine", choices=sorted(ENGINES))
    run.add_argument("workload")
    run.add_argument("--size", choices=sorted(SIZES), required=True)
    run.add_argument("--scratch", required=True)
    run.add_argument("--result", required=True)
    probe = sub.add_parser("probe")
    probe.add_argument("engines", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "probe":
        print(json.dumps(_probe(args.engines)))
        return 0
    try:
        record = _run(args)
    except BaseException as exc:
        tb = traceback.format_exc()
        record = {"error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": tb[-6000:]}
        print(tb, file=sys.stderr)
    Path(args.result).write_text(json.dumps(record, default=str))
    sys.stdout.flush()
    sys.stderr.flush()
    # Engines may leave non-daemon threads (JVM gateways, thread pools): do not wait for them.
    os._exit(0)


def report_watch_pids(pids: list[int]) -> None:
    """Ask the harness to count these processes (started outside our tree) in the peak RSS.

    Parameters
    ----------
    pids
        Process ids of, e.g., daemonized cluster processes.
    """
    path = os.environ.get(WATCH_ENV)
    if path:
        Path(path).write_text(json.dumps(pids))


if __name__ == "__main__":
    sys.exit(main())
