"""The performance targets, evaluated on ratios measured in the same run.

Every target compares gleamnb's median time (local runner, 2 executors) with a peer's median on
the same workload; a target whose inputs did not both pass their checks is "not evaluated".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from benchmarks.config import WORKLOADS

__all__ = ["WHOLE_PROCESS_WORKLOADS", "CLUSTER_WORKLOADS", "TargetResult", "evaluate"]

GB = 1_000_000_000

#: Workloads whose targets are on the whole process (start-up and exit included).
WHOLE_PROCESS_WORKLOADS = ("startup", "wordcount_64mb")

#: Workloads the cluster variant (``gleamnb-cluster``) is held to: <= 1.3x the local runner,
#: >= 5x faster than Dask's own (bag/dataframe) in the same run.
CLUSTER_WORKLOADS = ("wordcount_builtin", "join", "sort")


@dataclasses.dataclass
class TargetResult:
    """One target's outcome.

    Attributes
    ----------
    target
        What is asked.
    figure
        What was measured (the ratio, with both times).
    status
        ``"met"``, ``"not met"`` or ``"not evaluated"``.
    reason
        Why it was not evaluated.
    """

    target: str
    figure: str
    status: str
    reason: str = ""


Summary = dict[str, dict[str, dict[str, Any]]]


def _median(
    results: Summary, workload: str, engine: str, key: str = "median_s"
) -> tuple[float | None, str]:
    entry = results.get(workload, {}).get(engine)
    if entry is None:
        return None, f"{engine} not run on {workload}"
    if entry["status"] != "ok":
        return None, f"{engine} {entry['status']} on {workload}"
    if key not in entry:
        return None, entry.get("whole_error", f"{engine} has no {key} on {workload}")
    return entry[key], ""


def _ratio_target(
    results: Summary,
    workload: str,
    peer: str,
    text: str,
    test: Callable[[float, float], tuple[float, bool]],
    unit: str,
    key: str = "median_s",
    mine: str = "gleamnb",
) -> TargetResult:
    gl, why_gl = _median(results, workload, mine, key)
    other, why_other = _median(results, workload, peer, key)
    if gl is None or other is None:
        return TargetResult(
            text, "—", "not evaluated", "; ".join(r for r in (why_gl, why_other) if r)
        )
    value, ok = test(gl, other)
    figure = f"{value:.2f}{unit} ({mine} {gl:.2f} s, {peer} {other:.2f} s)"
    return TargetResult(text, figure, "met" if ok else "not met")


def _at_most(limit: float) -> Callable[[float, float], tuple[float, bool]]:
    def test(gl: float, other: float) -> tuple[float, bool]:
        ratio = gl / other
        return ratio, ratio <= limit

    return test


def _faster_by(factor: float) -> Callable[[float, float], tuple[float, bool]]:
    def test(gl: float, other: float) -> tuple[float, bool]:
        speedup = other / gl
        return speedup, speedup >= factor

    return test


def _startup_target(results: Summary, limit_s: float) -> TargetResult:
    text = f"trivial flow (gl.Flow().range(0, 10).count()) as a whole process: < {limit_s} s"
    whole, why = _median(results, "startup", "gleamnb", "whole_median_s")
    if whole is None:
        return TargetResult(text, "—", "not evaluated", why)
    figure = f"{whole:.2f} s from the interpreter's start to its exit"
    return TargetResult(text, figure, "met" if whole < limit_s else "not met")


def _spill_target(results: Summary) -> TargetResult:
    text = 'sort with gl.local(memory_limit="512MB"): spills, finishes, peak RSS < 1 GB'
    entry = results.get("sort", {}).get("gleamnb-512MB")
    if entry is None:
        return TargetResult(text, "—", "not evaluated", "gleamnb-512MB not run")
    if entry["status"] != "ok":
        return TargetResult(
            text,
            "—",
            "not met" if entry["status"] in ("FAILED", "timeout") else "not evaluated",
            f"{entry['status']}: {entry.get('message', '')}",
        )
    peak = entry["peak_rss"]
    spilled = entry.get("spilled")
    spill_text = {True: "spilled", False: "did not spill", None: "spill statistic not found"}[
        spilled
    ]
    figure = f"finished in {entry['median_s']:.2f} s, peak RSS {peak / 1e6:.0f} MB, {spill_text}"
    if spilled is None:
        return TargetResult(text, figure, "not evaluated", "no *spill* attribute on the run result")
    ok = bool(spilled) and peak < GB
    return TargetResult(text, figure, "met" if ok else "not met")


def _tiny_tasks_target(costs: dict[str, Any] | None) -> TargetResult:
    text = "a flow of 200 tiny tasks on a 2-agent cluster: under 2 s"
    cluster = (costs or {}).get("cluster")
    if not cluster:
        why = (costs or {}).get("error") or "the gleamnb-cluster engine did not take part"
        return TargetResult(text, "—", "not evaluated", why)
    s = cluster["tiny_tasks_s"]
    return TargetResult(
        text, f"{s:.2f} s ({cluster['tiny_tasks']} tasks)", "met" if s < 2.0 else "not met"
    )


def _view_targets(view: dict[str, Any] | None) -> list[TargetResult]:
    texts = (
        "a %%gleam cell shows its DAG within 0.3 s of its start, before a task has finished",
        "the live notebook view costs under 5% of a 2,000-task run's time",
    )
    if not view or "error" in view:
        why = (view or {}).get("error") or "the gleamnb engine did not take part"
        return [TargetResult(t, "—", "not evaluated", why) for t in texts]
    dag_ok = view["dag_s"] < 0.3 and view["dag_s"] < view["first_task_s"]
    return [
        TargetResult(
            texts[0],
            f"{view['dag_s']:.3f} s (first task done at {view['first_task_s']:.2f} s)",
            "met" if dag_ok else "not met",
        ),
        TargetResult(
            texts[1],
            f"{100 * view['overhead']:.1f}% (with the view {view['view_s']:.2f} s, "
            f"without {view['none_s']:.2f} s)",
            "met" if view["overhead"] < 0.05 else "not met",
        ),
    ]


def evaluate(
    results: Summary,
    costs: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
) -> list[TargetResult]:
    """Evaluate every target.

    Parameters
    ----------
    results
        ``results[workload][engine]`` summaries with ``status``, ``median_s``, ``peak_rss``.

    Returns
    -------
    list of TargetResult
        In the order of the issue.
    """
    out = [
        _ratio_target(
            results,
            "wordcount_builtin",
            "polars",
            "word count, built-in tokenizer: time <= 1.0x Polars",
            _at_most(1.0),
            "x Polars' time",
        ),
        _ratio_target(
            results,
            "wordcount_udf",
            "python",
            "word count, Python UDF tokenizer: >= 1.7x faster than single-process Counter",
            _faster_by(1.7),
            "x speed-up",
        ),
        _ratio_target(
            results,
            "wordcount_udf",
            "dask",
            "word count, Python UDF tokenizer: >= 3x faster than dask.bag (same function)",
            _faster_by(3.0),
            "x speed-up",
        ),
        _ratio_target(
            results,
            "wordcount_lambda",
            "dask",
            "word count, the user's lambdas: >= 2x faster than dask.bag",
            _faster_by(2.0),
            "x speed-up",
        ),
        _ratio_target(
            results,
            "wordcount_lambda",
            "python",
            "word count, the user's lambdas: faster than single-process Counter",
            _faster_by(1.0),
            "x speed-up",
        ),
        _ratio_target(
            results, "join", "polars", "join: time <= 1.0x Polars", _at_most(1.0), "x Polars' time"
        ),
        _ratio_target(
            results,
            "join_csv",
            "polars",
            "join from CSV: time <= 1.0x Polars",
            _at_most(1.0),
            "x Polars' time",
        ),
        _ratio_target(
            results,
            "sort",
            "coreutils",
            "sort: time <= 1.0x GNU sort",
            _at_most(1.0),
            "x GNU sort's time",
        ),
        _ratio_target(
            results, "sort", "duckdb", "sort: time <= 2x DuckDB", _at_most(2.0), "x DuckDB's time"
        ),
    ]
    out += [
        _startup_target(results, 0.4),
        _ratio_target(
            results,
            "wordcount_64mb",
            "polars",
            "word count of 64 MB (2 files) as a whole process: time <= 1.0x Polars'",
            _at_most(1.0),
            "x Polars' whole process",
            key="whole_median_s",
        ),
    ]
    for workload in WORKLOADS:
        if workload in WHOLE_PROCESS_WORKLOADS:
            continue  # judged on the whole process, above
        for peer in ("dask", "spark"):
            out.append(
                _ratio_target(
                    results,
                    workload,
                    peer,
                    f"{workload}: >= 5x faster than {peer}",
                    _faster_by(5.0),
                    "x speed-up",
                )
            )
    out.append(_spill_target(results))
    for workload in CLUSTER_WORKLOADS:
        out += [
            _ratio_target(
                results,
                workload,
                "gleamnb",
                f"{workload} on a 2-agent cluster: time <= 1.3x the local runner's",
                _at_most(1.3),
                "x the local runner's time",
                mine="gleamnb-cluster",
            ),
            _ratio_target(
                results,
                workload,
                "dask",
                f"{workload} on a 2-agent cluster: >= 5x faster than dask",
                _faster_by(5.0),
                "x speed-up",
                mine="gleamnb-cluster",
            ),
        ]
    out.append(_tiny_tasks_target(costs))
    out += _view_targets(view)
    return out
