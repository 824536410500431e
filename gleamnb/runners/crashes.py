"""Reading what a failed task left: its traceback and the report of an executor that died.

Functions travel to executors by value, which drops their file names; the driver still has the
originals, so it puts them back into a task's traceback and names the step whose function
crashed an executor. An executor killed from outside (SIGKILL, SIGTERM) is said to be that:
its function did not crash it.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence
from typing import Any

__all__ = [
    "how_it_died",
    "restore_filenames",
    "crashed_step",
    "function_steps",
    "stage_functions",
    "stage_functions_of",
]


#: Signals an executor's own code does not raise by crashing, with who sends them.
_FROM_OUTSIDE: dict[int, str] = {
    signal.SIGKILL: "most often the Linux OOM killer, when the machine ran out of memory "
    "(`dmesg` or `journalctl -k` then shows 'Out of memory: Killed process {pid}'), or a person "
    "or a tool (kill -9). If memory ran out, give each task more room: fewer executors "
    "(gl.local(executors=...)), a smaller memory_limit (shard data then spills to disk) or more "
    "shards",
    signal.SIGTERM: "a person, a service manager or a job's time limit (kill, systemd, a batch "
    "scheduler)",
}


#: What a bus error in an executor most often is: inputs and shard data are memory-mapped.
_MAPPED_FILE_SHRANK = (
    "a bus error means a memory-mapped file shrank while the task read it: an input file "
    "truncated or rewritten in place during the run, or the shared-memory or spill folder "
    "out of space. Leave the inputs unchanged while a run reads them (write a new file and "
    "rename it over the old one) and check the free space"
)


def how_it_died(code: int, pid: int | None = None) -> tuple[str, str]:
    """What a dead executor's exit ``code`` says (negative: the signal), and the fix line.

    >>> how_it_died(3)[0]
    'the executor process running this task died (exited with code 3)'
    >>> how_it_died(-7)[1][:45]
    'a bus error means a memory-mapped file shrank'
    >>> how_it_died(-9, pid=42)[0]
    'the executor (pid 42) running this task was killed by signal 9 (SIGKILL) from outside'
    """
    fresh = "the runner is fine and the next run gets a fresh executor"
    name = ""
    if code < 0:
        try:
            name = f" ({signal.Signals(-code).name})"
        except ValueError:
            pass
    sender = _FROM_OUTSIDE.get(-code)
    if sender is not None:
        who = f"the executor (pid {pid})" if pid is not None else "the executor"
        return (
            f"{who} running this task was killed by signal {-code}{name} from outside",
            f"its functions did not crash it: something else killed it, {sender.format(pid=pid)}; "
            f"{fresh}",
        )
    how = f"killed by signal {-code}{name}" if code < 0 else f"exited with code {code}"
    if -code == signal.SIGBUS:
        return (
            f"the executor process running this task died ({how})",
            f"{_MAPPED_FILE_SHRANK}; {fresh}",
        )
    return (
        f"the executor process running this task died ({how})",
        "a function in this stage crashed its process (os._exit, a segfault in a C extension, "
        f"or running out of memory); {fresh}. Try gl.local(mode='inline') to debug it in this "
        "process",
    )


def _code_objects(fn: Any) -> list[Any]:
    code = getattr(fn, "__code__", None)
    if code is None:
        inner = getattr(fn, "fn", None)  # built-in mappers wrap a function
        return _code_objects(inner) if inner is not None and inner is not fn else []
    found, todo = [], [code]
    while todo:
        c = todo.pop()
        found.append(c)
        todo.extend(k for k in c.co_consts if hasattr(k, "co_code"))
    return found


def restore_filenames(detail: str, functions: Sequence[Any]) -> str:
    """Put the user's file names (and source lines) back into an executor's traceback.

    Functions travel to executors by value, which drops their file names
    (``File "<dynamic-code>"``); the driver still has the originals.
    """
    import linecache

    codes = [c for fn in functions for c in _code_objects(fn)]
    if "<dynamic-code>" not in detail or not codes:
        return detail
    out = []
    # Python tracebacks say `line 3, in f`; the fault handler (segfaults) says `line 3 in f`
    pattern = re.compile(r'(\s*)File "<dynamic-code>", line (\d+)(,?) in (\S+)')
    for line in detail.splitlines():
        m = pattern.fullmatch(line)
        if m:
            lineno, comma, name = int(m.group(2)), m.group(3), m.group(4)
            for c in codes:
                lines = [ln for _, _, ln in c.co_lines() if ln is not None]
                if c.co_name == name and lines and min(lines) <= lineno <= max(lines):
                    out.append(
                        f'{m.group(1)}File "{c.co_filename}", line {lineno}{comma} in {name}'
                    )
                    source = linecache.getline(c.co_filename, lineno).strip()
                    if source:
                        out.append(f"{m.group(1)}  {source}")
                    break
            else:
                out.append(line)
            continue
        out.append(line)
    return "\n".join(out)


def crashed_step(stage: Any, report: str) -> str | None:
    """The step that crashed an executor, when it can be known.

    That is the step whose function shows in the executor's stack dump (a segfault prints
    one), else the stage's only step that runs a user function (``os._exit`` prints nothing).
    """
    for op in reversed(stage.ops):
        for fn in stage_functions_of(op):
            if any(f" in {c.co_name}" in report for c in _code_objects(fn)):
                return op.name
    steps = function_steps(stage)
    return steps[0] if len(steps) == 1 else None


def function_steps(stage: Any) -> list[str]:
    """The names of a stage's steps that run user functions."""
    return [op.name for op in stage.ops if stage_functions_of(op)]


def stage_functions_of(op: Any) -> list[Any]:
    """The user functions inside one operator."""
    fns = []
    for attr in ("fn", "reducer"):
        value = getattr(op, attr, None)
        if attr == "reducer" and value is not None:
            value = value.fn
        if callable(value):
            fns.append(value)
    return fns


def stage_functions(stage: Any) -> list[Any]:
    """The user functions inside a stage's operators (for :func:`restore_filenames`)."""
    return [fn for op in stage.ops for fn in stage_functions_of(op)]
