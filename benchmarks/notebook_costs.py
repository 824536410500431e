"""What the notebook view costs: ``python -m benchmarks.notebook_costs [--json FILE]``.

In a real Jupyter kernel (started with jupyter_client, as a frontend starts it), with the
local runner of 2 executors:

- **DAG latency**: seconds from sending a ``%%gleam`` cell to the kernel until its first
  output (the live view with the DAG) arrives, and until the run's first task has finished
  (the first figures update after it): the DAG must come first, within 0.3 s;
- **view overhead**: a flow of 2,000 tasks (``range(0, 2000, shards=2000).map(...)``) run as a
  ``%%gleam`` cell (the live DAG and progress view, its updates sent to the frontend) against
  the same flow collected with no view at all (``progress=False``), timed inside the kernel,
  medians of 15, alternating (and the best of each); the overhead is
  ``(view - none) / none`` (target: under 5%).

Every run's row count is checked before its time is kept.
"""

from __future__ import annotations

import argparse
import queue
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import print_figures

__all__ = ["measure", "main"]

TASKS = 2000

SETUP = f"""
%load_ext gleamnb
import time, gleamnb as gl
gl.set_runner(gl.local(executors=2).warm(wait=True))
def many(f):
    return f.range(0, {TASKS}, shards={TASKS}).map(lambda x: x + 1)
def timed_view():
    t0 = time.perf_counter()
    get_ipython().run_cell_magic("gleam", "many -o out --show dag,progress", "many(flow)")
    took = time.perf_counter() - t0
    assert out.num_rows == {TASKS}
    return took
def timed_none():
    t0 = time.perf_counter()
    n = many(gl.Flow("many")).to_arrow(progress=False).num_rows
    took = time.perf_counter() - t0
    assert n == {TASKS}
    return took
"""

LATENCY_CELL = """%%gleam latency -o lat
import time
def slow(x):
    time.sleep(0.5)
    return x
flow.range(0, 4, shards=2).map(slow)
"""


class _Kernel:
    def __init__(self, cwd: str) -> None:
        from jupyter_client import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 600) -> list[tuple[float, dict[str, Any]]]:
        """The cell's IOPub messages, each with the seconds since the cell was sent."""
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code)
        out: list[tuple[float, dict[str, Any]]] = []
        while time.perf_counter() - t0 < timeout:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            out.append((time.perf_counter() - t0, msg))
            if msg["msg_type"] == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out
        raise TimeoutError(code[:60])

    def value(self, expr: str) -> Any:
        msgs = self.run(f"print(repr({expr}))")
        text = "".join(m["content"]["text"] for _, m in msgs if m["msg_type"] == "stream")
        return eval(text)  # a repr of floats we printed ourselves

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def measure(repeat: int = 15) -> dict[str, Any]:
    """The notebook view's latency and overhead (see the module docstring)."""
    with tempfile.TemporaryDirectory() as cwd:
        kernel = _Kernel(cwd)
        try:
            kernel.run(SETUP)
            kernel.run(LATENCY_CELL)  # once, so imports and the first layout are warm
            msgs = kernel.run(LATENCY_CELL)
            first = next(t for t, m in msgs if m["msg_type"] == "display_data")
            done = next(
                t
                for t, m in msgs
                if m["msg_type"] == "comm_msg"
                and re.search(r"[1-9]\d*/\d+ tasks", str(m["content"]["data"].get("state", {})))
            )
            kernel.value("timed_view()")  # warm: the first 2,000-task run of each
            kernel.value("timed_none()")
            view, none = [], []
            for _ in range(repeat):
                view.append(kernel.value("timed_view()"))
                none.append(kernel.value("timed_none()"))
        finally:
            kernel.close()
    v, n = statistics.median(view), statistics.median(none)
    return {
        "view_min_s": min(view),
        "none_min_s": min(none),
        "overhead_min": (min(view) - min(none)) / min(none),
        "dag_s": first,
        "first_task_s": done,
        "tasks": TASKS,
        "view_s": v,
        "none_s": n,
        "overhead": (v - n) / n,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure; print (and write) the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.notebook_costs")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    print_figures(measure(args.repeat), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
