"""Run the benchmarks: ``python -m benchmarks.run --size full|quick --repeat 3``.

For each workload, each repeat and each engine, one worker subprocess runs one measurement
(:mod:`benchmarks.measure`); its output is checked against the reference (:mod:`benchmarks.check`)
before its time is recorded, so a wrong output is recorded as FAILED, never timed. Medians,
ratios and the targets (:mod:`benchmarks.targets`) then go to a JSON file, a Markdown report and
a PNG chart (:mod:`benchmarks.report`).
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.check import (
    Check,
    check_join,
    check_sort,
    check_startup,
    check_top_words,
    check_wordcount,
    check_wordcount_files,
)
from benchmarks.config import DATA_DIR, DOCS_DIR, REPO_ROOT, RESULTS_DIR, SIZES, WORKLOADS, Size
from benchmarks.engines import ENGINES
from benchmarks.generate import ensure_data
from benchmarks.inputs import inputs_for
from benchmarks.machine import machine_info, versions
from benchmarks.measure import ProcessRun, run_measured
from benchmarks.targets import WHOLE_PROCESS_WORKLOADS, TargetResult, evaluate
from benchmarks.udf import TOP
from benchmarks.worker import WATCH_ENV

__all__ = ["main"]

_PARTS = {
    "wordcount_builtin": "wordcount",
    "wordcount_udf": "wordcount",
    "wordcount_lambda": "wordcount",
    "join": "join",
    "join_csv": "join_csv",
    "sort": "sort",
    "startup": None,
    "wordcount_64mb": "wordcount",
}


#: Left out of ``--size quick`` unless named: a cold JVM and SparkSession per measurement cost
#: about 15 s, and Spark's first query another 10-25 s, on this 2-core machine.
QUICK_SKIPS = ("spark",)


def _log(msg: str) -> None:
    print(msg, flush=True)


def _probe(names: list[str]) -> dict[str, str | None]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", "probe", *names],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=_worker_env(None),
        timeout=600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"probing engines failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _worker_env(watch_file: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    if watch_file is not None:
        env[WATCH_ENV] = str(watch_file)
    return env


def _compile(packages: tuple[str, ...]) -> None:
    """Write the packages' bytecode, as installing them would.

    With ``PYTHONDONTWRITEBYTECODE`` set (or a read-only tree) every process would compile
    the sources it imports again, and each whole-process time would count it: gleamnb's
    driver and each of its executors ~0.1-0.2 s.
    """
    for package in packages:
        compileall.compile_dir(str(REPO_ROOT / package), quiet=1)


def _warm(size: Size, part: str) -> None:
    """Read a data set once so every engine starts with it in the page cache."""
    for path in sorted((size.data_dir / part).rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                while fh.read(1 << 24):
                    pass


def _tail(path: Path, n: int = 15) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _check(workload: str, output: str, size: Size, manifest: dict[str, Any]) -> Check:
    import pyarrow.parquet as pq

    try:
        if workload == "startup":
            return check_startup(output)
        if workload == "wordcount_64mb":
            files = inputs_for(size, DATA_DIR / "scratch", workload).text_files
            return check_wordcount_files(pq.read_table(output), files)
        if workload == "wordcount_lambda":
            return check_top_words(pq.read_table(output), size, manifest, TOP)
        if workload.startswith("wordcount"):
            return check_wordcount(pq.read_table(output), size, manifest)
        if workload in ("join", "join_csv"):
            return check_join(Path(output), size, manifest)
        return check_sort(Path(output), size, manifest)
    except Exception as exc:
        return Check(False, f"output could not be read: {type(exc).__name__}: {exc}")


def _time_whole(args: argparse.Namespace, workload: str, rep: int) -> bool:
    """Whether this run is also timed as a whole process.

    Every run of the workloads judged on the whole process; the last run of the others (one
    whole-process time beside their in-process median keeps a full run under an hour here).
    """
    if not args.whole_process:
        return False
    return workload in WHOLE_PROCESS_WORKLOADS or rep == args.repeat - 1


def _measure_whole(
    engine: str, workload: str, rep: int, size: Size, timeout_s: float, log_dir: Path
) -> dict[str, Any]:
    """Time ``workload`` as a whole process (:mod:`benchmarks.whole`): start-up and exit in."""
    scratch = DATA_DIR / "scratch" / f"{engine}-{workload}-{rep}-whole"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    log_file = log_dir / f"{workload}.{engine}.{rep}.whole.log"
    cmd = [sys.executable, "-m", "benchmarks.whole", engine, workload]
    cmd += ["--size", size.name, "--scratch", str(scratch)]
    try:
        run = run_measured(
            cmd,
            result_file=scratch / "none.json",
            watch_file=scratch / "watch-pids.json",
            timeout_s=timeout_s,
            env=_worker_env(scratch / "watch-pids.json"),
            log_file=log_file,
            cwd=REPO_ROOT,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if run.returncode == 0:
        return {"whole_s": round(run.wall_s, 3), "whole_other_cores": round(run.other_cores, 2)}
    why = "timed out" if run.timed_out else f"exited with {run.returncode}"
    return {"whole_error": f"whole process {why}: {_tail(log_file, 3)}"[:500]}


def _measure(
    engine: str,
    workload: str,
    rep: int,
    size: Size,
    manifest: dict[str, Any],
    timeout_s: float,
    log_dir: Path,
) -> dict[str, Any]:
    scratch = DATA_DIR / "scratch" / f"{engine}-{workload}-{rep}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    log_file = log_dir / f"{workload}.{engine}.{rep}.log"
    result_file = scratch / "result.json"
    cmd = [sys.executable, "-m", "benchmarks.worker", "run", engine, workload]
    cmd += ["--size", size.name, "--scratch", str(scratch), "--result", str(result_file)]
    try:
        run: ProcessRun = run_measured(
            cmd,
            result_file=result_file,
            watch_file=scratch / "watch-pids.json",
            timeout_s=timeout_s,
            env=_worker_env(scratch / "watch-pids.json"),
            log_file=log_file,
            cwd=REPO_ROOT,
        )
        record: dict[str, Any] = {
            "rep": rep,
            "wall_s": round(run.wall_s, 3),
            "peak_rss_process": run.peak_rss(),
            "other_cores": round(run.other_cores, 2),
            "log": str(log_file.relative_to(REPO_ROOT)),
        }
        res = run.result
        if run.timed_out:
            record.update(status="timeout", message=f"no result within {timeout_s:.0f} s")
        elif res is None:
            record.update(
                status="error",
                message=f"worker exited with {run.returncode} and no result: {_tail(log_file, 5)}",
            )
        elif "error" in res:
            record.update(status="error", message=res["error"])
        else:
            record.update(
                seconds=res["seconds"],
                peak_rss=run.peak_rss(res["t_start"], res["t_end"]),
                extra=res.get("extra", {}),
            )
            check = _check(workload, res["output"], size, manifest)
            record["check"] = check.message
            record["notes"] = check.notes
            record["status"] = "ok" if check.ok else "FAILED"
            if not check.ok:
                record["message"] = f"wrong output: {check.message}"
                del record["seconds"]
        return record
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _summarise(label: str, runs: list[dict[str, Any]], is_gleamnb: bool) -> dict[str, Any]:
    bad = [r for r in runs if r["status"] != "ok"]
    entry: dict[str, Any] = {"label": label, "is_gleamnb": is_gleamnb, "runs": runs}
    if bad:
        entry["status"] = bad[0]["status"]
        entry["message"] = bad[0].get("message", "")
        if len(runs) > 1:
            entry["message"] = f"{len(bad)}/{len(runs)} runs {bad[0]['status']}: {entry['message']}"
        return entry
    times = [r["seconds"] for r in runs]
    entry.update(
        status="ok",
        median_s=statistics.median(times),
        min_s=min(times),
        max_s=max(times),
        peak_rss=max(r["peak_rss"] for r in runs),
        other_cores=max(r.get("other_cores", 0.0) for r in runs),
        notes=sorted({n for r in runs for n in r.get("notes", [])}),
    )
    wholes = [r["whole_s"] for r in runs if "whole_s" in r]
    if wholes and not any("whole_error" in r for r in runs):
        entry.update(whole_median_s=statistics.median(wholes), whole_min_s=min(wholes))
    elif any("whole_error" in r for r in runs):
        entry["whole_error"] = next(r["whole_error"] for r in runs if "whole_error" in r)
    spills = [r.get("extra", {}).get("spilled") for r in runs]
    if any(s is not None for s in spills):
        entry["spilled"] = all(bool(s) for s in spills)
    elif is_gleamnb:
        entry["spilled"] = None
    stages = [r.get("extra", {}).get("stages") for r in runs if r.get("extra", {}).get("stages")]
    if stages:
        entry["stages"] = stages[-1]
    return entry


def _costs(module: str, log_dir: Path) -> dict[str, Any]:
    """Fixed costs measured by ``benchmarks.<module>`` (cluster_costs, notebook_costs), in
    their own process: its JSON, or the error it ended with."""
    out = log_dir / f"{module}.json"
    log_file = log_dir / f"{module}.log"
    out.unlink(missing_ok=True)
    with log_file.open("w") as log:
        proc = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{module}", "--json", str(out)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=_worker_env(None),
            timeout=1800,
        )
    if proc.returncode != 0 or not out.exists():
        return {"error": f"exited with {proc.returncode}: {_tail(log_file, 5)}"[:500]}
    return json.loads(out.read_text())


def _merge(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (a run of some engines and workloads) folded into the results at ``path``.

    The entries this run measured replace the old ones, whole workloads at a time for the
    engines that took part, so every ratio still compares figures of one run; the rest is
    kept, and the document lists each run that made it.
    """
    if not path.exists():
        return doc
    old = json.loads(path.read_text())
    if old.get("size") != doc["size"]:
        raise SystemExit(f"--update: {path} holds size {old.get('size')}, not {doc['size']}")
    runs = old.get("runs") or [
        {k: old[k] for k in ("command", "started", "elapsed_s", "repeat", "load_average")}
    ]
    this = {k: doc[k] for k in ("command", "started", "elapsed_s", "repeat", "load_average")}
    this["measured"] = {w: sorted(r) for w, r in doc["results"].items()}
    for workload, entries in doc["results"].items():
        old["results"].setdefault(workload, {}).update(entries)
    for name, info in doc["engines"].items():
        old["engines"][name] = info
    for key in ("cluster_costs", "notebook_costs"):
        if key in doc:
            old[key] = doc[key]
    old.update(runs=[*runs, this], machine=doc["machine"], versions=doc["versions"])
    old["targets"] = [
        t.__dict__
        for t in evaluate(old["results"], old.get("cluster_costs"), old.get("notebook_costs"))
    ]
    return old


def _parse_list(text: str, universe: list[str], what: str) -> list[str]:
    if text == "all":
        return list(universe)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in universe]
    if unknown:
        raise SystemExit(
            f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(universe)})"
        )
    return names


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="quick")
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine and workload")
    parser.add_argument(
        "--engines",
        default=None,
        help=f"comma list of {', '.join(ENGINES)}, or all (default: all; for --size quick, "
        f"all but {', '.join(QUICK_SKIPS)}, whose start-up alone exceeds the quick budget)",
    )
    parser.add_argument("--workloads", default="all", help=f"comma list of {', '.join(WORKLOADS)}")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per run")
    parser.add_argument(
        "--whole-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the last checked run (every run of startup, wordcount_64mb), time the "
        "workload again as a whole process "
        "(benchmarks.whole: start-up and exit included)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="fold this run's engines and workloads into the results file instead of "
        "replacing it (e.g. re-measure the gleamnb-cluster rows with their peers)",
    )
    parser.add_argument("--json", type=Path, default=None, help="results file")
    parser.add_argument("--markdown", type=Path, default=None, help="report file")
    parser.add_argument("--chart", type=Path, default=None, help="PNG chart file")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.run " + shlex.join(sys.argv[1:] if argv is None else argv)

    size = SIZES[args.size]
    if args.engines is None:
        skip = QUICK_SKIPS if args.size == "quick" else ()
        engines = [e for e in ENGINES if e not in skip]
    else:
        engines = _parse_list(args.engines, list(ENGINES), "engines")
    workloads = _parse_list(args.workloads, list(WORKLOADS), "workloads")
    timeout_s = args.timeout or size.timeout_s
    if args.size == "full":
        json_path = args.json or RESULTS_DIR / "latest.json"
        md_path = args.markdown or DOCS_DIR / "benchmarks.md"
        chart_path = args.chart or DOCS_DIR / "benchmarks.png"
    else:
        raw = RESULTS_DIR / "raw"
        json_path = args.json or raw / f"{size.name}.json"
        md_path = args.markdown or raw / f"{size.name}.md"
        chart_path = args.chart or raw / f"{size.name}.png"

    started = time.time()
    load_start = os.getloadavg()
    parts = tuple(dict.fromkeys(p for w in workloads if (p := _PARTS[w]) is not None))
    manifest = ensure_data(size, parts=parts, log=_log)
    _compile(("gleamnb", "benchmarks"))
    reasons = _probe(engines)
    for name, why in reasons.items():
        if why:
            _log(f"{name}: unavailable: {why}")
    log_dir = RESULTS_DIR / "raw" / "logs" / size.name
    log_dir.mkdir(parents=True, exist_ok=True)

    results: dict[str, dict[str, dict[str, Any]]] = {}
    for workload in workloads:
        taking_part = [e for e in engines if workload in ENGINES[e].workloads]
        if not taking_part:
            continue
        part = _PARTS[workload]
        if part is not None:
            _warm(size, part)
        runs: dict[str, list[dict[str, Any]]] = {e: [] for e in taking_part}
        for rep in range(args.repeat):
            for engine in taking_part:
                spec = ENGINES[engine]
                if reasons.get(engine):
                    continue
                previous = runs[engine]
                if previous and previous[-1]["status"] != "ok":
                    continue  # a failure repeats; do not spend the time again
                rec = _measure(engine, workload, rep, size, manifest, timeout_s, log_dir)
                if rec["status"] == "ok" and _time_whole(args, workload, rep):
                    rec.update(_measure_whole(engine, workload, rep, size, timeout_s, log_dir))
                previous.append(rec)
                if rec["status"] == "ok":
                    whole = f", whole process {rec['whole_s']:.2f} s" if "whole_s" in rec else ""
                    _log(
                        f"[{workload}] {engine} run {rep + 1}/{args.repeat}: "
                        f"{rec['seconds']:.2f} s{whole}, peak {rec['peak_rss'] / 1e6:.0f} MB, "
                        f"checked, other load {rec['other_cores']:.1f} cores"
                    )
                else:
                    status = f"{rec['status']}: {rec.get('message')}"
                    _log(f"[{workload}] {engine} run {rep + 1}: {status}")
        results[workload] = {}
        for engine in taking_part:
            spec = ENGINES[engine]
            if reasons.get(engine):
                results[workload][engine] = {
                    "label": spec.label(workload),
                    "is_gleamnb": spec.is_gleamnb,
                    "status": "unavailable",
                    "message": reasons[engine],
                    "runs": [],
                }
            else:
                results[workload][engine] = _summarise(
                    spec.label(workload), runs[engine], spec.is_gleamnb
                )

    costs = view = None
    if "gleamnb-cluster" in engines and not reasons.get("gleamnb-cluster"):
        _log("measuring what a cluster costs (benchmarks.cluster_costs)")
        costs = _costs("cluster_costs", log_dir)
        _log(f"cluster costs: {costs}")
    if "gleamnb" in engines and not reasons.get("gleamnb"):
        _log("measuring what the notebook view costs (benchmarks.notebook_costs)")
        view = _costs("notebook_costs", log_dir)
        _log(f"notebook view costs: {view}")
    targets = evaluate(results, costs, view)
    data = {
        part: {k: v for k, v in info.items() if k != "files"}
        | {"bytes": sum(f["bytes"] for f in info["files"])}
        for part, info in manifest["parts"].items()
    }
    doc: dict[str, Any] = {
        "command": command,
        "size": size.name,
        "repeat": args.repeat,
        "timeout_s": timeout_s,
        "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(time.time() - started, 1),
        "machine": machine_info(),
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "versions": versions(),
        "params": manifest["params"],
        "data": data,
        "engines": {e: {"unavailable": reasons.get(e)} for e in engines},
        "results": results,
        "targets": [t.__dict__ for t in targets],
    }
    if costs is not None:
        doc["cluster_costs"] = costs
    if view is not None:
        doc["notebook_costs"] = view
    if args.update:
        doc = _merge(json_path, doc)
        targets = [TargetResult(**t) for t in doc["targets"]]
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(doc, indent=1, default=str))
    report.write_chart(doc, chart_path)
    report.write_markdown(doc, md_path, chart_path)
    _log(f"wrote {json_path}, {md_path}, {chart_path} in {time.time() - started:.0f} s")
    for t in targets:
        _log(f"  {t.status:>13}: {t.target}: {t.figure} {t.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
