"""A workload as a whole process: ``python -m benchmarks.whole ENGINE WORKLOAD --size S ...``.

What a script that does only this workload costs, from the interpreter's start to its exit:
the engine's import and start-up (Spark's JVM, Dask's cluster, gleamnb's executors, Polars'
import), the workload, the engine's tear-down and the process's own exit (whatever it waits
for). The harness times the process from outside (:mod:`benchmarks.measure`); this module
imports only what the engine needs (:mod:`benchmarks.inputs`, no pyarrow of its own), leaves
the result unchecked (the in-process run of the same workload is checked) and exits as any
script does, by returning from its main module. An engine module may say how a script starts
and stops it (``script_setup``, ``script_teardown``) when its benchmark ``setup`` waits for
more than a script would; gleamnb does (its executors ready before timing).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.config import SIZES
from benchmarks.engines import ENGINES, load
from benchmarks.inputs import function_name, inputs_for

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("workload")
    parser.add_argument("--size", choices=sorted(SIZES), required=True)
    parser.add_argument("--scratch", required=True)
    args = parser.parse_args(argv)
    spec = ENGINES[args.engine]
    scratch = Path(args.scratch)
    inputs = inputs_for(SIZES[args.size], scratch / "tmp", args.workload)
    Path(inputs.scratch).mkdir(parents=True, exist_ok=True)
    out = scratch / "out"
    out.mkdir(parents=True, exist_ok=True)
    module = load(spec)
    # an engine whose benchmark set-up waits for what a script would not (executors ready
    # before timing) says how a script starts and stops it
    setup = getattr(module, "script_setup", module.setup)
    teardown = getattr(module, "script_teardown", module.teardown)
    ctx = setup(spec.variant)
    try:
        getattr(module, function_name(args.workload))(ctx, inputs, out)
    finally:
        teardown(ctx)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
