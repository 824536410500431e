"""A UDF that captures a big numpy global: what fingerprinting and running it cost.

The scenario of a user who loads a lookup table into a notebook global and uses it in a
``map``::

    table = np.arange(N)          # e.g. 500 MB
    f.ints(range(4), shards=4).map(lambda x: int(table[x])).collect()

Measured in one process (the driver) with its executors: ``fingerprint()`` of the mapped
dataset, then the same flow collected twice (the first run ships the global, the second
finds it in the executors), and the peak resident set size of the driver and of each
executor, polled with psutil every 10 ms over the whole script: RSS, and PSS (proportional
set size: a page shared by ``k`` processes counts ``1/k`` in each), which shows what
executors that map one copy of the data really use.

With ``--scan`` the function also sums the whole array on every row, so each executor
reads every page of it.

Usage::

    python -m benchmarks.big_global --mb 500 [--scan]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import warnings

import numpy as np
import psutil

import gleamnb as gl

__all__ = ["main"]

POLL_S = 0.01


class _PeakRss(threading.Thread):
    """The highest RSS and PSS of this process and of each of its child processes, by pid."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.me = psutil.Process()
        self.peaks: dict[int, tuple[int, int]] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            for proc in [self.me, *self.me.children(recursive=True)]:
                try:
                    mem = proc.memory_full_info()
                except psutil.Error:
                    continue
                rss, pss = self.peaks.get(proc.pid, (0, 0))
                self.peaks[proc.pid] = (max(rss, mem.rss), max(pss, mem.pss))
            time.sleep(POLL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="size of the global in MB")
    parser.add_argument("--executors", type=int, default=2)
    parser.add_argument("--scan", action="store_true", help="read the whole array on each row")
    args = parser.parse_args(argv)

    gl.set_runner(gl.local(executors=args.executors))
    table = np.arange(args.mb * 1_000_000 // 8, dtype=np.int64)
    peaks = _PeakRss()
    peaks.start()

    f = gl.Flow()
    if args.scan:
        ds = f.ints(range(4), shards=4).map(lambda x: int(table[x]) * 2 + 0 * int(table.sum()))
    else:
        ds = f.ints(range(4), shards=4).map(lambda x: int(table[x]) * 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        ds.fingerprint()
        fingerprint_s = time.perf_counter() - t0
        runs = []
        for _ in range(2):
            t0 = time.perf_counter()
            rows = ds.collect()
            runs.append(time.perf_counter() - t0)
            assert sorted(rows) == [(2 * i,) for i in range(4)], rows
    peaks.running = False
    peaks.join()

    def mb(nbytes: int) -> str:
        return f"{nbytes / 1e6:,.0f} MB"

    driver = peaks.peaks.pop(os.getpid())
    executors = list(peaks.peaks.values())
    scan = ", the whole array read on each row" if args.scan else ""
    print(f"global: {table.nbytes / 1e6:.0f} MB numpy array, {args.executors} executors{scan}")
    print(f"fingerprint(): {fingerprint_s:.2f} s")
    print(f"first run: {runs[0]:.2f} s, second run: {runs[1]:.2f} s")
    print(f"driver peak RSS: {mb(driver[0])}, PSS: {mb(driver[1])}")
    print("executor peak RSS: " + ", ".join(mb(rss) for rss, _ in executors))
    print("executor peak PSS: " + ", ".join(mb(pss) for _, pss in executors))
    for w in caught:
        print(f"warning: {w.category.__name__}: {w.message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
