"""The word count from Gleam's README, on a bundled text, in local mode and on a cluster.

Run it with ``make demo`` (or ``.venv/bin/python examples/word_count.py [FILE]``). It prints
the top words, the plan (``explain()``) and where it wrote the flow's DAG as SVG. Then it runs
the same flow on a throw-away cluster of two agents, started with the ``gleamnb`` command
(``gleamnb cluster start --agents 2 --port 0``, its record in a temporary folder), prints the
cluster's address and top words, checks they are the local run's, and stops the cluster,
whatever happens (an error, Ctrl-C or SIGTERM included). The exit code is 0 when both runs
agree and the cluster stopped.
"""

from __future__ import annotations

import contextlib
import operator
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gleamnb as gl
from gleamnb.cluster import records

HERE = Path(__file__).parent
TEXT = HERE / "data" / "counting.txt"
OUT = HERE.parent / "out"

#: The agents of the demo's cluster.
AGENTS = 2


def word_count(path: Path) -> gl.Flow:
    """The README flow: tokenize, append one, reduce by key, sort, top 5, print."""
    f = gl.Flow("top5 words")
    (
        f.read(gl.txt(str(path), shards=2))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .sort(gl.order_by(2))
        .top(5, gl.order_by(2, descending=True))
        .printlnf("%s\t%d")
    )
    return f


def write_dag(flow: gl.Flow, path: Path) -> Path:
    """Render the flow's DAG to SVG with graphviz's ``dot``; returns the file written."""
    import graphviz

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graphviz.Source(flow.to_dot()).pipe(format="svg"))
    return path


def top_words(result: gl.RunResult) -> list[tuple[Any, ...]]:
    """The rows the run's ``printlnf`` printed: (word, count), best first."""
    (table,) = result.outputs
    return [tuple(row.values()) for row in table.to_pylist()]


def gleamnb(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``gleamnb ARGS`` (as ``python -m gleamnb.cli``, this gleamnb) to its end.

    The command runs in a session of its own, so a Ctrl-C at the terminal does not cut a
    ``cluster start`` or ``cluster stop`` short; an interruption here is raised again once
    the command is done, so the cluster it started is known and can be stopped.
    """
    env = dict(os.environ)
    here = str(Path(gl.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "gleamnb.cli", *args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            text=True,
            env=env,
            start_new_session=True,
        )
        interrupted: BaseException | None = None
        while True:
            try:
                proc.wait()
                break
            except (KeyboardInterrupt, SystemExit) as exc:
                interrupted = exc
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read())
    if interrupted is not None:
        raise interrupted
    return done


@contextlib.contextmanager
def throwaway_cluster(agents: int = AGENTS) -> Iterator[str]:
    """A cluster of ``agents`` agents on loopback, for the ``with`` block; its address.

    ``gleamnb cluster start`` starts it on a free port, its record in a temporary folder
    (no record is left behind, and none of this machine's clusters is touched);
    ``gleamnb cluster stop`` stops it when the block ends, however it ends.
    """
    name = f"demo-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="gleamnb-demo-") as state:
        where = ("--name", name, "--dir", state)
        try:
            started = gleamnb("cluster", "start", "--agents", str(agents), "--port", "0", *where)
            record = records.read(name, state)
            if started.returncode != 0 or record is None:
                raise RuntimeError(
                    "the demo's cluster did not start:\n" + (started.stderr or started.stdout)
                )
            yield str(record["address"])
        finally:
            if records.read(name, state) is not None:
                stopped = gleamnb("cluster", "stop", *where)
                print(stopped.stdout.strip() or stopped.stderr.strip())
                if stopped.returncode != 0:
                    raise RuntimeError("the demo's cluster did not stop:\n" + stopped.stderr)


def on_cluster(flow: gl.Flow, agents: int = AGENTS) -> list[tuple[Any, ...]]:
    """Run ``flow`` on a throw-away cluster of ``agents`` agents; the top words it printed."""
    print(
        f"starting a throw-away cluster of {agents} agents with `gleamnb cluster start`", flush=True
    )
    with throwaway_cluster(agents) as address:
        print(f"== top 5 words (cluster at {address}, {agents} agents) ==", flush=True)
        with gl.distributed(master=address) as runner:
            return top_words(flow.run(runner))


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends the demo as Ctrl-C does: through the ``finally`` that stops the cluster."""
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    text = Path(argv[1]) if len(argv) > 1 else TEXT
    flow = word_count(text)
    print(f"== top 5 words of {text} (local mode) ==")
    result = flow.run(gl.local())
    print()
    print("== plan ==")
    print(flow.explain())
    print()
    print("== run ==")
    print(result.summary())
    svg = write_dag(flow, OUT / "word_count.svg")
    print()
    print(f"DAG written to {svg.resolve()}")
    print()
    local = top_words(result)
    remote = on_cluster(flow)
    if remote != local:
        print(
            f"gleamnb demo: the cluster's top words {remote} differ from the local run's {local}",
            file=sys.stderr,
        )
        return 1
    print("the cluster printed the same top words as the local run")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        print("gleamnb demo: interrupted (the cluster, if started, was stopped)", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as exc:
        print(f"gleamnb demo: {exc}", file=sys.stderr)
        sys.exit(1)
