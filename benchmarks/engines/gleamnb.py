"""gleamnb, written against the public API of DESIGN.md section 3.

Variants: ``local`` (``gl.local(executors=2)``), ``local-512MB`` (the same with
``memory_limit="512MB"``, sort only: it must spill) and ``cluster`` (a 2-agent local cluster
started with ``gleamnb cluster start --agents 2``, run through ``gl.distributed``).

The run result's shape is not fixed yet, so spill statistics are found by looking for any
attribute or key whose name contains ``spill`` in the object ``Flow.run`` returns (and in its
stages), through ``getattr``; the report says when none was found.
"""

from __future__ import annotations

import json
import operator
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.engines import Context, Inputs
from benchmarks.udf import TOP, tokenize, words

__all__ = [
    "join",
    "join_csv",
    "probe",
    "script_setup",
    "script_teardown",
    "setup",
    "sort",
    "spill_stats",
    "startup",
    "teardown",
    "wordcount_builtin",
    "wordcount_lambda",
    "wordcount_udf",
]

#: Text inputs are read as this many shards (the corpus has 8 files; the sort input is split
#: into byte ranges).
SHARDS = 8
EXECUTORS = 2
_API = ("Flow", "txt", "parquet", "local", "order_by", "mappers")


def probe(variant: str) -> str | None:
    """Return why gleamnb cannot run this variant yet, or ``None``."""
    try:
        import gleamnb as gl
    except Exception as exc:
        return f"import gleamnb failed: {type(exc).__name__}: {exc}"
    missing = [f"gl.{name}" for name in _API if not hasattr(gl, name)]
    mappers = getattr(gl, "mappers", None)
    missing += [
        f"gl.mappers.{name}"
        for name in ("tokenize", "append_one")
        if mappers is not None and not hasattr(mappers, name)
    ]
    if variant == "cluster" and not hasattr(gl, "distributed"):
        missing.append("gl.distributed")
    if missing:
        return f"gleamnb API not there yet: missing {', '.join(missing)}"
    if variant == "cluster" and _cli() is None:
        return "no gleamnb command line (gleamnb cluster start)"
    return None


def _cli() -> list[str] | None:
    exe = Path(sys.executable).with_name("gleamnb")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("gleamnb")
    return [found] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pids_in(folder: Path) -> list[int]:
    """Every int under a key containing ``pid`` in the cluster's JSON records."""
    pids: list[int] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{key}/{k}")  # the path: {"pids": {"workers": [...]}} counts
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, int) and "pid" in key.lower():
            pids.append(node)

    for record in folder.rglob("*.json"):
        try:
            walk(json.loads(record.read_text()))
        except (OSError, ValueError):
            continue
    return pids


def setup(variant: str) -> Context:
    """Build the runner; for ``cluster``, start a 2-agent local cluster first."""
    import gleamnb as gl

    # the executor processes are started and ready before timing, as Spark's session and
    # Dask's cluster are, and the API is imported, as the other engines' modules are
    gl.Flow  # noqa: B018 - the package facade imports it on first use
    if variant == "local":
        return Context(variant, gl.local(executors=EXECUTORS).warm(wait=True))
    if variant == "local-512MB":
        runner = gl.local(executors=EXECUTORS, memory_limit="512MB")
        return Context(variant, runner.warm(wait=True))
    if variant == "cluster":
        from benchmarks.worker import report_watch_pids

        cli = _cli()
        assert cli is not None
        folder = Path(tempfile.mkdtemp(prefix="gleamnb-bench-cluster-"))
        port = _free_port()
        subprocess.run(
            [
                *cli,
                *("cluster", "start", "--agents", "2", "--port", str(port)),
                *("--host", "127.0.0.1", "--dir", str(folder)),
            ],
            check=True,
            timeout=300,
        )
        report_watch_pids(_pids_in(folder))
        runner = gl.distributed(master=f"127.0.0.1:{port}")
        return Context(variant, runner, {"cluster_dir": str(folder)})
    raise ValueError(f"unknown gleamnb variant {variant!r}")


def script_setup(variant: str) -> Context:
    """The runner as a script makes it (``python -m benchmarks.whole``): nothing waited for.

    The executors start as in any program (the first as soon as ``gl.Flow`` is reached, the
    rest when the runner is made) and the run waits for them itself; at exit the driver tells
    them to go and does not wait (:func:`script_teardown`). Other variants start as in
    :func:`setup`.
    """
    if variant != "local":
        return setup(variant)
    import gleamnb as gl

    gl.Flow  # noqa: B018 - a script reaches for it first
    return Context(variant, gl.local(executors=EXECUTORS))


def script_teardown(ctx: Context) -> None:
    """A script's end: the runner's own exit handler lets the executors go (no wait)."""
    if ctx.variant != "local":
        teardown(ctx)


def teardown(ctx: Context) -> None:
    """Close the runner if it can be closed; stop the cluster of the ``cluster`` variant."""
    close = getattr(ctx.handle, "close", None)
    if callable(close):
        close()
    folder = ctx.extra.get("cluster_dir")
    if folder:
        cli = _cli()
        if cli:
            subprocess.run([*cli, "cluster", "stop", "--dir", folder], timeout=300, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _collect(ctx: Context, flow: Any, dataset: Any) -> Any:
    """The columnar result when ``to_arrow`` exists (like Polars' frame), else ``collect``."""
    to_arrow = getattr(dataset, "to_arrow", None)
    result = to_arrow(ctx.handle) if callable(to_arrow) else dataset.collect(ctx.handle)
    ctx.extra.update(spill_stats(getattr(flow, "last_run", None)))
    return result


def wordcount_builtin(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """``txt -> flat_map(gl.mappers.tokenize) -> map(append_one) -> reduce_by_key(add)``."""
    import gleamnb as gl

    f = gl.Flow("wordcount_builtin")
    counts = (
        f.read(gl.txt(inputs.text_glob, shards=SHARDS))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
    )
    return _collect(ctx, f, counts)


def wordcount_udf(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """The same flow with the user's Python tokenizer in ``flat_map``."""
    import gleamnb as gl

    f = gl.Flow("wordcount_udf")
    counts = (
        f.read(gl.txt(inputs.text_glob, shards=SHARDS))
        .flat_map(tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
    )
    return _collect(ctx, f, counts)


def wordcount_lambda(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """The user's own functions (DESIGN §3): ``flat_map(words) -> map(lambda w: (w, 1)) ->
    reduce_by_key(operator.add) -> top(TOP, order_by(2, descending=True))``."""
    import gleamnb as gl

    f = gl.Flow("wordcount_lambda")
    top = (
        f.read(gl.txt(inputs.text_glob, shards=SHARDS))
        .flat_map(words)
        .map(lambda w: (w, 1))
        .reduce_by_key(operator.add)
        .top(TOP, gl.order_by(2, descending=True))
    )
    return _collect(ctx, f, top)


def join(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """``a.select(a1, a4).join(b.select(b2, b3))`` saved as Parquet."""
    import gleamnb as gl

    return _join(ctx, "join", gl.parquet(inputs.join_a), gl.parquet(inputs.join_b), out)


def join_csv(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """The same join of the CSV copies (``gl.csv(header=True)``), saved as Parquet."""
    import gleamnb as gl

    a, b = (gl.csv(path, header=True) for path in (inputs.join_csv_a, inputs.join_csv_b))
    return _join(ctx, "join_csv", a, b, out)


def _join(ctx: Context, name: str, a_source: Any, b_source: Any, out: Path) -> Path:
    """Join ``a``'s ``a1, a4`` to ``b``'s ``b2, b3`` on the first field; save it as Parquet."""
    import gleamnb as gl

    f = gl.Flow(name)
    a = f.read(a_source).select("a1", "a4")
    b = f.read(b_source).select("b2", "b3")
    path = out / "join"
    result = a.join(b, on=1).save(str(path), format="parquet").run(ctx.handle)
    ctx.extra.update(spill_stats(result))
    return path


def sort(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """``txt -> sort(order_by(1))`` (whole line, bytewise) saved as text."""
    import gleamnb as gl

    f = gl.Flow("sort")
    path = out / "sorted"
    result = (
        f.read(gl.txt(inputs.sort_input, shards=SHARDS))
        .sort(gl.order_by(1))
        .save(str(path), format="txt")
        .run(ctx.handle)
    )
    ctx.extra.update(spill_stats(result))
    return path


def _walk_spill(node: Any, path: str, found: dict[str, Any], depth: int) -> None:
    if depth > 4 or node is None or isinstance(node, (str, bytes, int, float, bool)):
        return
    if isinstance(node, dict):
        items = [(str(k), v) for k, v in node.items()]
    elif isinstance(node, (list, tuple)):
        items = [(f"[{i}]", v) for i, v in enumerate(node[:256])]
    else:
        names = getattr(node, "__dataclass_fields__", None) or getattr(node, "__dict__", None)
        if names is None:
            names = [n for n in dir(node) if not n.startswith("_")]
        items = []
        for name in names:
            try:
                value = getattr(node, name)
            except Exception:
                continue
            if not callable(value):
                items.append((str(name), value))
    for name, value in items:
        here = f"{path}.{name}" if not name.startswith("[") else f"{path}{name}"
        if "spill" in name.lower() and isinstance(value, (int, float, bool)):
            found[here] = value
        else:
            _walk_spill(value, here, found, depth + 1)


def spill_stats(result: Any) -> dict[str, Any]:
    """Find spill figures in a run result.

    Parameters
    ----------
    result
        Whatever ``Flow.run`` returned.

    Returns
    -------
    dict
        ``spilled`` (``True``/``False``, or ``None`` when no statistic was found),
        ``spill_fields`` (every ``*spill*`` number found, by path) and ``result_type``.
    """
    if result is None:
        return {}
    found: dict[str, Any] = {}
    direct = getattr(result, "spilled", None)
    if isinstance(direct, (bool, int, float)):
        found["result.spilled"] = direct
    _walk_spill(result, "result", found, 0)
    spilled = any(bool(v) for v in found.values()) if found else None
    stats: dict[str, Any] = {
        "spilled": spilled,
        "spill_fields": found,
        "result_type": type(result).__qualname__,
    }
    summary = getattr(result, "summary", None)
    if callable(summary):
        try:
            stats["stages"] = str(summary())
        except Exception as exc:
            stats["stages"] = f"summary() failed: {exc}"
    return stats


def startup(ctx: Context, inputs: Inputs, out: Path) -> int:
    """The trivial flow a first script runs: ``gl.Flow().range(0, 10).count()``."""
    import gleamnb as gl

    return int(gl.Flow("startup").range(0, 10).count(ctx.handle))
