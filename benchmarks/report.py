"""Write the benchmark report: Markdown tables and a PNG chart from the results JSON."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["write_chart", "write_markdown"]

_TITLES = {
    "wordcount_builtin": "Word count, built-in tokenizer",
    "wordcount_udf": "Word count, Python UDF tokenizer",
    "wordcount_lambda": "Word count, the user's lambdas",
    "join": "Join",
    "join_csv": "Join from CSV",
    "sort": "Sort",
    "startup": "Start-up: the smallest job as a whole process",
    "wordcount_64mb": "Word count of 64 MB as a whole process",
}
_GLEAMNB_COLOR = "#e4572e"
_PEER_COLOR = "#4c72b0"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def _fmt_s(s: float) -> str:
    return f"{s:.2f}" if s < 100 else f"{s:.0f}"


def _order(entries: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    ok = sorted(
        ((e, v) for e, v in entries.items() if v["status"] == "ok"), key=lambda x: x[1]["median_s"]
    )
    rest = [(e, v) for e, v in entries.items() if v["status"] != "ok"]
    return ok + rest


def _workload_intro(doc: dict[str, Any], workload: str) -> str:
    data = doc["data"]
    p = doc["params"]
    if workload == "wordcount_lambda":
        wc = data.get("wordcount", {})
        return (
            f"{p['text_files']} files, {wc.get('bytes', 0) / 2**20:,.0f} MiB; the functions a "
            'user writes first: `words(line)` (`re.findall(r"[a-z0-9]+", line.lower())`, '
            "`benchmarks.udf.words`) in every engine, then gleamnb `map(lambda w: (w, 1))`, "
            "`reduce_by_key(operator.add)`, `top(100, gl.order_by(2, descending=True))`; "
            "each peer's own way to count and keep the 100 most frequent. Checked: the 100 "
            "words and their counts against the lower-cased reference."
        )
    if workload == "startup":
        return (
            "Each engine's smallest job, as a first script runs it: count the rows of a 10-row "
            "range (gleamnb `gl.Flow().range(0, 10).count()`, Spark `spark.range(10).count()`, "
            "...). The figure that matters is the whole process: interpreter start, import, "
            "engine start-up (executors, JVM, cluster), the job, tear-down and exit. "
            "Checked: the count is 10."
        )
    if workload == "wordcount_64mb":
        return (
            "The built-in word count (as above) of the corpus's first two files, 64 MiB, judged "
            "on the whole process, start-up and exit included. Checked: the word -> count "
            "mapping equals one counted in plain Python (`re.findall` + `Counter`)."
        )
    if workload.startswith("wordcount"):
        wc = data.get("wordcount", {})
        top = ", ".join(f"`{w}` {c:,}" for w, c in wc.get("top5", []))
        how = (
            "each engine's own vectorized tokenizer (gleamnb: `gl.mappers.tokenize`)"
            if workload == "wordcount_builtin"
            else "the one Python function `benchmarks.udf.tokenize` "
            '(`re.findall(r"[A-Za-z0-9]+", line)`) in every engine'
        )
        return (
            f"{p['text_files']} files, {wc.get('bytes', 0) / 2**20:,.0f} MiB, "
            f"{wc.get('words', 0):,} words, {wc.get('distinct_words', 0):,} distinct; "
            f"tokenized with {how}. Checked: the full word -> count mapping equals the "
            f"reference. Top 5: {top}."
        )
    if workload.startswith("join"):
        j = data.get("join", {})
        text = (
            f"`a` {j.get('a_rows', 0):,} rows (a1..a4) x `b` {j.get('b_rows', 0):,} rows "
            f"(b1..b3, `b2` unique) on `a1 = b2`, output `(a1, a4, b3)` written as Parquet: "
            f"{j.get('rows', 0):,} rows. Checked: row count and order-independent checksum."
        )
        if workload == "join_csv":
            csv_mib = data.get("join_csv", {}).get("bytes", 0) / 2**20
            text = (
                f"The join's inputs read from CSV files with a header row ({csv_mib:,.0f} MiB, "
                "column types inferred by each engine): " + text
            )
        return text
    s = data.get("sort", {})
    return (
        f"{s.get('rows', 0):,} records of 100 bytes ({s.get('bytes', 0) / 2**20:,.0f} MiB), "
        "10-byte random printable key + 90-byte payload per line, sorted bytewise; written "
        "back as text. Checked: sorted across the whole output, same record multiset."
    )


def _workload_table(doc: dict[str, Any], workload: str) -> list[str]:
    entries = doc["results"][workload]
    gl = entries.get("gleamnb")
    gl_s = gl["median_s"] if gl and gl["status"] == "ok" else None
    fastest = min((v["median_s"] for v in entries.values() if v["status"] == "ok"), default=None)
    lines = [
        "| engine | median s | min-max s | whole process s | peak RSS | time ÷ gleamnb's "
        "| time ÷ fastest | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for _engine, v in _order(entries):
        label = f"**{_cell(v['label'])}**" if v.get("is_gleamnb") else _cell(v["label"])
        if v["status"] != "ok":
            msg = _cell(v.get("message", ""))
            lines.append(f"| {label} | {v['status']} | | | | | | {msg[:300]} |")
            continue
        whole = _fmt_s(v["whole_median_s"]) if "whole_median_s" in v else "—"
        vs_gl = f"{v['median_s'] / gl_s:.2f}" if gl_s else "—"
        vs_fast = f"{v['median_s'] / fastest:.2f}" if fastest else "—"
        notes = list(v.get("notes", []))
        if v.get("other_cores", 0.0) >= 0.25:
            notes.append(f"other processes busy: {v['other_cores']:.1f} cores")
        if "whole_error" in v:
            notes.append(_cell(v["whole_error"])[:200])
        if "spilled" in v:
            notes.append(
                {True: "spilled", False: "no spill", None: "spill statistic not found"}[
                    v["spilled"]
                ]
            )
        lines.append(
            f"| {label} | {_fmt_s(v['median_s'])} | {_fmt_s(v['min_s'])}-{_fmt_s(v['max_s'])} "
            f"| {whole} | {_mb(v['peak_rss'])} | {vs_gl} | {vs_fast} | {'; '.join(notes)} |"
        )
    return lines


#: Hand-written notes on what the profiles showed, kept across regenerations of the report.
PROFILE_NOTES = Path(__file__).with_name("profile_notes.md")


def _heading(title: str, costs: dict[str, Any]) -> tuple[list[str], bool]:
    """A fixed-costs section's heading, and whether its figures are there (else the error
    they ended with is said under it)."""
    out = [f"## {title}", ""]
    if "error" in costs:
        return [*out, f"Not measured: {_cell(costs['error'])}", ""], False
    return out, True


def _cluster_costs(costs: dict[str, Any] | None) -> list[str]:
    """The "What a cluster costs" section (:mod:`benchmarks.cluster_costs`)."""
    if not costs:
        return []
    out, measured = _heading("What a cluster costs", costs)
    if not measured:
        return out
    out += [
        "The fixed costs that bound a `gleamnb-cluster` run (a 2-agent local cluster started "
        "with `gleamnb cluster start --agents 2`, one executor per agent), beside the local "
        "runner's for the same flows; measured by `python -m benchmarks.cluster_costs` after "
        "the workloads (method in its docstring).",
        "",
        "| cost | cluster | local runner |",
        "|---|---|---|",
    ]
    c, loc = costs["cluster"], costs.get("local", {})

    def both(key: str, fmt: str) -> str:
        return " | ".join(
            fmt.format(v) if v is not None else "—" for v in (c.get(key), loc.get(key))
        )

    out += [
        f"| task round trip (a one-task flow, planning included) "
        f"| {both('round_trip_s', '{:.3f} s')} |",
        f"| latency of each added stage | {both('per_stage_s', '{:.3f} s')} |",
        f"| shuffle throughput ({c['shuffle_mb']:.0f} MB hash-partitioned) "
        f"| {both('shuffle_mb_s', '{:.0f} MB/s')} |",
        f"| a flow of {c['tiny_tasks']} tiny tasks | {both('tiny_tasks_s', '{:.2f} s')} |",
        "",
    ]
    return out


def _notebook_costs(view: dict[str, Any] | None) -> list[str]:
    """The "What the notebook view costs" section (:mod:`benchmarks.notebook_costs`)."""
    if not view:
        return []
    out, measured = _heading("What the notebook view costs", view)
    if not measured:
        return out
    return [
        *out,
        "Measured by `python -m benchmarks.notebook_costs` in a real Jupyter kernel (method "
        "in its docstring), local runner with 2 executors.",
        "",
        "| cost | figure |",
        "|---|---|",
        f"| a `%%gleam` cell's DAG on screen (from sending the cell) | {view['dag_s']:.3f} s |",
        f"| its first task finished | {view['first_task_s']:.3f} s |",
        f"| {view['tasks']:,} tasks with the live view | {view['view_s']:.2f} s |",
        f"| the same without any view | {view['none_s']:.2f} s |",
        f"| the view's overhead (medians) | {100 * view['overhead']:.1f}% |",
        f"| the view's overhead (best runs: {view['view_min_s']:.2f} s against "
        f"{view['none_min_s']:.2f} s) | {100 * view['overhead_min']:.1f}% |",
        "",
    ]


def write_markdown(doc: dict[str, Any], path: Path, chart: Path) -> None:
    """Write the report.

    Parameters
    ----------
    doc
        The results document written by :mod:`benchmarks.run`.
    path
        Markdown file to write.
    chart
        The PNG chart, linked relative to ``path``.
    """
    m = doc["machine"]
    out: list[str] = [
        "# Benchmarks",
        "",
        "gleamnb against its peers on the same data, in one run, on one machine. This page is "
        "generated by `make bench` (`benchmarks/run.py`); do not edit it by hand. "
        "`make bench-quick` runs the same harness on small sizes for developers (its report goes "
        "to `benchmarks/results/raw/`).",
        "",
        f"Size **{doc['size']}**, **{doc['repeat']}** run(s) per engine and workload, "
        f"started {doc['started']}, {doc['elapsed_s'] / 60:.0f} min in all.",
        "",
        "```",
        doc["command"],
        "```",
        "",
    ]
    for run in doc.get("runs", [])[1:]:
        measured = "; ".join(f"{w}: {', '.join(e)}" for w, e in run["measured"].items())
        what = (
            f"these rows were measured again together and replace the first run's: {measured}"
            if measured
            else "only the fixed costs below were measured again"
        )
        out += [
            f"Then, started {run['started']} ({run['elapsed_s'] / 60:.0f} min, "
            f"**{run['repeat']}** run(s) each), {what}.",
            "",
            "```",
            run["command"],
            "```",
            "",
        ]
    out += [
        "## Machine",
        "",
        f"- CPU: {m['cpu']} ({m['arch']}), {m['logical_cores']} logical cores "
        f"({m['physical_cores']} physical)",
        f"- RAM: {_gib(m['ram_bytes'])}",
        f"- OS: {m['os']}, kernel {m['kernel']}",
    ]
    load = doc.get("load_average")
    if load:
        busy = load["start"][0] > 0.5 * m["logical_cores"]
        out.append(
            f"- Load average (1, 5, 15 min) at start {', '.join(f'{x:.1f}' for x in load['start'])}"
            f", at end {', '.join(f'{x:.1f}' for x in load['end'])}"
            + (" — **the machine was busy with other work: figures are noisy**" if busy else "")
        )
    out += [
        "",
        "## Versions",
        "",
        "| component | version |",
        "|---|---|",
    ]
    out += [f"| {k} | {v} |" for k, v in doc["versions"].items()]
    out += [
        "",
        "## Method",
        "",
        "- **Data**: `python -m benchmarks.generate` builds every data set from seeded numpy "
        "generators (byte-identical on every machine) under `benchmarks/data/` and writes the "
        "references with it; see that module's docstring for the exact shapes. `b2` is a unique "
        "key; about 20% of `a1` values have no partner.",
        "- **Isolation**: each measurement is a fresh `python -m benchmarks.worker` process "
        "(one engine, one workload, one run), so peak memory is per engine and no engine "
        "profits from another's warm state. Inputs are read once before a workload so every "
        "engine starts with them in the page cache.",
        "- **Time**: `time.perf_counter` around the workload call only: engine start-up (JVM "
        "and SparkSession, Dask LocalCluster, gleamnb runner construction with its executor "
        "processes started and ready) and tear-down are not counted; reading the inputs "
        "and producing the output are. Word counts end with the mapping in the driver in "
        "the engine's own form (table, dict, list, or `uniq -c` "
        "text); join and sort end with the output written to disk.",
        "- **Whole process**: after the last checked run of each engine (after every run of the "
        "start-up and 64 MB word count, which are judged on it) the same workload runs again "
        "as a script would, `python -m benchmarks.whole ENGINE WORKLOAD` (which imports "
        "nothing the engine does not: no pyarrow of its own), timed by the harness from the "
        "process's start to its exit: interpreter, imports, engine start-up, the workload, "
        "tear-down and exit (what the process waits for); each engine is started and stopped "
        "as a script does (gleamnb: `gl.local(executors=2)`, neither its executors' start nor "
        "their exit waited for). Its output is not checked again.",
        "- **Peak RSS**: the harness polls the worker and all its descendants with psutil "
        "every 20 ms and sums their RSS; the figure is the highest sum inside the workload's "
        "time window. Shared pages count once per process that maps them.",
        "- **Checks**: every output is checked against the reference *before* its time is "
        "recorded; a wrong output is recorded as FAILED and not timed. An engine that cannot "
        "run here is reported as unavailable, a run over the timeout "
        f"({doc['timeout_s']:.0f} s) as timeout; after a failure the engine's remaining runs "
        "of that workload are skipped.",
        "- **Parallelism**: every engine gets the machine's 2 cores: gleamnb "
        "`gl.local(executors=2)`; Polars and DuckDB their default thread pools (2 threads); "
        "Dask a distributed `LocalCluster` of 2 worker processes x 1 thread; Spark "
        "`local[2]` (driver memory 4 GB, 8 shuffle partitions); GNU `sort --parallel=2`; "
        "plain Python one process; `gleamnb-cluster` a 2-agent local cluster started with "
        "`gleamnb cluster start --agents 2` (one executor per agent, 2 in all) before timing, "
        "as Dask's cluster is, run through `gl.distributed()`.",
        "- **Figures**: medians of the runs; `time ÷ gleamnb's` above 1 means gleamnb is faster.",
        "- **Machine noise**: the harness also measures the CPU that *other* processes used "
        "during each run (machine busy time minus the measured tree's own); a note says so in "
        "the table when it averaged 0.25 cores or more.",
        "",
        "## Results",
        "",
        f"![median seconds per engine and workload]({os.path.relpath(chart, path.parent)})",
        "",
    ]
    for workload in doc["results"]:
        out += [f"### {_TITLES.get(workload, workload)}", "", _workload_intro(doc, workload), ""]
        out += _workload_table(doc, workload)
        stages = (doc["results"][workload].get("gleamnb") or {}).get("stages")
        if stages:
            out += ["", "gleamnb stages (last run):", "", "```", stages, "```"]
        out.append("")
    out += _cluster_costs(doc.get("cluster_costs"))
    out += _notebook_costs(doc.get("notebook_costs"))
    out += [
        "## Targets",
        "",
        "Ratios of medians measured in this run (gleamnb = local runner, 2 executors).",
        "",
        "| target | figure | result |",
        "|---|---|---|",
    ]
    for t in doc["targets"]:
        status = t["status"] + (f" ({t['reason']})" if t.get("reason") else "")
        out.append(f"| {_cell(t['target'])} | {_cell(t['figure'])} | {_cell(status)} |")
    unavailable = {e: v["unavailable"] for e, v in doc["engines"].items() if v["unavailable"]}
    if unavailable:
        out += ["", "Engines unavailable in this run:", ""]
        out += [f"- {e}: {why}" for e, why in unavailable.items()]
    out += [
        "",
        "The gleamnb spill check looks for any attribute named `*spill*` on the object "
        "`Flow.run` returns and on its stages (through `getattr`), so it follows the run "
        "result's final field names.",
        "",
        "## Profile notes",
        "",
    ]
    if PROFILE_NOTES.exists():
        out += [PROFILE_NOTES.read_text().strip(), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out))


def write_chart(doc: dict[str, Any], path: Path) -> None:
    """Draw one panel per workload: horizontal bars of median seconds per engine.

    Parameters
    ----------
    doc
        The results document.
    path
        PNG file to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(doc["results"])
    if not workloads:
        return
    cols = 2 if len(workloads) > 1 else 1
    rows = -(-len(workloads) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(workloads) :]:
        ax.set_visible(False)
    for ax, workload in zip(axes.flat, workloads):
        entries = list(reversed(_order(doc["results"][workload])))
        labels = [v["label"] for _, v in entries]
        values = [v["median_s"] if v["status"] == "ok" else 0.0 for _, v in entries]
        colors = [_GLEAMNB_COLOR if v.get("is_gleamnb") else _PEER_COLOR for _, v in entries]
        y = range(len(entries))
        ok_values = [x for x in values if x > 0]
        ax.barh(list(y), values, color=colors, height=0.65)
        top = max(ok_values, default=1.0)
        ax.set_xscale("log")
        low = min(ok_values, default=0.1) / 3
        ax.set_xlim(low, top * 6)
        for i, ((_, v), x) in enumerate(zip(entries, values)):
            if v["status"] == "ok":
                err = f"  {_fmt_s(x)} s"
                ax.text(x, i, err, va="center", fontsize=8)
            else:
                ax.text(low * 1.1, i, f" {v['status']}", va="center", fontsize=8, color="#888888")
        ax.set_yticks(list(y))
        ax.set_yticklabels(labels, fontsize=8)
        for tick, (_, v) in zip(ax.get_yticklabels(), entries):
            if v.get("is_gleamnb"):
                tick.set_fontweight("bold")
                tick.set_color(_GLEAMNB_COLOR)
        ax.set_title(_TITLES.get(workload, workload), fontsize=10)
        ax.set_xlabel("median seconds (log scale, lower is better)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", which="major", alpha=0.3)
    fig.suptitle(
        f"gleamnb vs peers — size {doc['size']}, median of {doc['repeat']} run(s), "
        f"{doc['machine']['logical_cores']} cores",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Redraw a report from a results file: ``python -m benchmarks.report RESULTS.json MD PNG``."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("markdown", type=Path)
    parser.add_argument("chart", type=Path)
    args = parser.parse_args(argv)
    doc = json.loads(args.results.read_text())
    write_chart(doc, args.chart)
    write_markdown(doc, args.markdown, args.chart)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
