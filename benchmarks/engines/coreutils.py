"""GNU coreutils pipelines, bytewise (``LC_ALL=C``).

Word count: ``cat FILES | tr -cs 'A-Za-z0-9' '\\n' | sort | uniq -c``. ``tr`` turns every run
of non-word bytes into one newline, so a file starting with a separator yields one empty line
first: its count is dropped when the output is read (not timed).
Sort: ``sort --parallel=2 -S 50% -o OUT INPUT``; with fixed 10-byte keys and no blanks in a key,
ordering whole lines bytewise is ordering by key.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from benchmarks.engines import Context, Inputs

__all__ = ["probe", "setup", "sort", "teardown", "version", "wordcount_builtin"]


def version() -> str | None:
    """``sort --version`` first line, or ``None``."""
    try:
        proc = subprocess.run(["sort", "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return proc.stdout.splitlines()[0] if proc.returncode == 0 else None


def probe(variant: str) -> str | None:
    """Return why the coreutils pipelines cannot run, or ``None``."""
    missing = [tool for tool in ("cat", "tr", "sort", "uniq", "bash") if shutil.which(tool) is None]
    if missing:
        return f"missing tools: {', '.join(missing)}"
    v = version() or ""
    if "GNU coreutils" not in v:
        return f"sort is not GNU coreutils ({v or 'unknown'})"
    return None


def setup(variant: str) -> Context:
    """Nothing to start."""
    return Context(variant)


def teardown(ctx: Context) -> None:
    """Nothing to stop."""


def _bash(script: str, inputs: Inputs) -> None:
    env = {**os.environ, "LC_ALL": "C", "TMPDIR": inputs.scratch}
    subprocess.run(["bash", "-o", "pipefail", "-c", script], check=True, env=env)


def wordcount_builtin(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """``tr | sort | uniq -c`` into a text file."""
    path = out / "uniq-c.txt"
    files = " ".join(shlex.quote(f) for f in inputs.text_files)
    _bash(
        f"cat {files} | tr -cs 'A-Za-z0-9' '\\n' | sort | uniq -c > {shlex.quote(str(path))}",
        inputs,
    )
    return path


def sort(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """``sort --parallel=2 -S 50%`` of the lines."""
    path = out / "sorted.txt"
    _bash(
        f"sort --parallel={inputs.workers} -S 50% -o {shlex.quote(str(path))} "
        f"{shlex.quote(inputs.sort_input)}",
        inputs,
    )
    return path
