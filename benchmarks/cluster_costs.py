"""What a gleamnb cluster costs: ``python -m benchmarks.cluster_costs [--json FILE]``.

On a 2-agent local cluster started with ``gleamnb cluster start`` (one executor per agent, as
the ``gleamnb-cluster`` engine of :mod:`benchmarks.run`), and with the local runner beside it
for the same flows, this measures the fixed costs that bound a cluster run's time:

- **task round trip**: a flow of one task (``range(1).count()``), driver to cluster and back,
  planning included (median of 15 runs);
- **per-stage latency**: what each added stage costs, from flows of 1 and 6 stages over
  tiny data (each stage a hash partition of 2 shards): ``(t6 - t1) / 5``, medians of 7;
- **shuffle throughput**: 2 shards of 1 KB rows (~200 MB in all) hash-partitioned to 2
  shards, against the same flow without the partition: shuffled MB / extra seconds (about
  half of the rows cross from one worker to the other);
- **200 tiny tasks**: the wall time of one run of a flow of 200 one-row shards (the issue's
  target: under 2 s).

Every result is checked (counts) before its time is kept. The harness runs this module after
the workloads when the ``gleamnb-cluster`` engine takes part; its figures go to the report's
"What a cluster costs" section.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.measure import print_figures

__all__ = ["measure", "main"]

SHUFFLE_ROWS = 200_000
SHUFFLE_ROW_BYTES = 1000
TINY_TASKS = 200


def _timed(fn: Callable[[], Any], expect: Any, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        got = fn()
        times.append(time.perf_counter() - t0)
        if got != expect:
            raise AssertionError(f"wrong result: {got!r}, expected {expect!r}")
    return times


def _chain(gl: Any, stages: int) -> Any:
    d = gl.Flow(f"stages-{stages}").range(0, 100, shards=2)
    for _ in range(stages - 1):
        d = d.partition(2)
    return d


def _payload(gl: Any, shuffle: bool) -> Any:
    import pyarrow as pa

    width = SHUFFLE_ROW_BYTES

    def rows(batch: Any) -> Any:
        return {"k": batch.column(0), "v": pa.repeat(pa.scalar(b"x" * width), len(batch))}

    d = gl.Flow("shuffle").range(0, SHUFFLE_ROWS, shards=2).map_batches(rows, name="payload")
    return d.partition(2) if shuffle else d


def measure(runner: Any, repeat: int = 7) -> dict[str, Any]:
    """The fixed costs of ``runner`` (any gleamnb runner), in seconds and MB/s.

    Parameters
    ----------
    runner
        The runner to measure, e.g. ``gl.distributed(master=...)`` or ``gl.local()``.
    repeat
        Runs per figure (the round trip takes twice as many); medians are reported.

    Returns
    -------
    dict
        ``round_trip_s``, ``per_stage_s``, ``shuffle_mb_s``, ``shuffle_mb``,
        ``tiny_tasks_s`` (one run of :data:`TINY_TASKS` tasks) and ``tiny_tasks``.
    """
    import gleamnb as gl

    out: dict[str, Any] = {}
    one = gl.Flow("one-task").range(1)
    out["round_trip_s"] = statistics.median(_timed(lambda: one.count(runner), 1, 2 * repeat + 1))
    short, tall = _chain(gl, 1), _chain(gl, 6)
    t1 = statistics.median(_timed(lambda: short.count(runner), 100, repeat))
    t6 = statistics.median(_timed(lambda: tall.count(runner), 100, repeat))
    out["per_stage_s"] = max(t6 - t1, 0.0) / 5
    plain, shuffled = _payload(gl, False), _payload(gl, True)
    t_plain = statistics.median(_timed(lambda: plain.count(runner), SHUFFLE_ROWS, repeat))
    t_shuffled = statistics.median(_timed(lambda: shuffled.count(runner), SHUFFLE_ROWS, repeat))
    moved = shuffled.flow.last_run.stages[0].bytes
    out["shuffle_mb"] = moved / 1e6
    out["shuffle_mb_s"] = moved / 1e6 / max(t_shuffled - t_plain, 1e-3)
    tiny = gl.Flow("tiny").range(0, TINY_TASKS, shards=TINY_TASKS).map(lambda x: x + 1)
    tiny.count(runner)  # once before timing, as every figure above had its first run
    out["tiny_tasks_s"] = _timed(lambda: tiny.count(runner), TINY_TASKS, 1)[0]
    out["tiny_tasks"] = TINY_TASKS
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure the cluster and the local runner; print (and write) the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster_costs")
    parser.add_argument("--json", type=Path, default=None, help="results file")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    from benchmarks.engines import gleamnb as engine

    results: dict[str, Any] = {}
    for variant in ("cluster", "local"):
        ctx = engine.setup(variant)
        try:
            results[variant] = measure(ctx.handle, args.repeat)
        finally:
            engine.teardown(ctx)
    print_figures(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
