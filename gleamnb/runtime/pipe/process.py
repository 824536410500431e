"""The command's child process: spawning it, its process group, its stderr and exit errors.

A command runs as ``/bin/sh -c command`` in a process group of its own, so that stopping
early kills a whole pipeline (``sort | uniq -c``), not only the shell. A failure is a
:class:`~gleamnb.errors.PipeCommandError` carrying the command, the exit code and the last
:data:`STDERR_TAIL_BYTES` bytes of its stderr.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from typing import Any

from gleamnb.errors import PipeCommandError, truncate

__all__ = [
    "STDERR_TAIL_BYTES",
    "StderrTail",
    "exit_error",
    "group_alive",
    "grow_pipe",
    "kill_group",
    "spawn",
]

STDERR_TAIL_BYTES = 4096
"""How much of the end of a command's stderr an error shows."""

_PIPE_SIZE = 1 << 20  # a bigger pipe buffer means fewer wake-ups on both sides
_SHELL = "/bin/sh"


def _child_env(env: dict[str, str] | None) -> dict[str, str] | None:
    return None if env is None else {**os.environ, **env}


def spawn(
    command: str, *, stdin: int, env: dict[str, str] | None, step: Any, shard: Any, row: Any = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` with stdout and stderr piped; ``env`` is added to the environment.

    Examples
    --------
    >>> proc = spawn("echo hi", stdin=subprocess.DEVNULL, env=None, step=None, shard=None)
    >>> proc.communicate()
    (b'hi\\n', b'')
    """
    try:
        # A process group of its own, so that stopping early kills the whole pipeline
        # (``sort | uniq -c``), not only the shell. close_fds keeps the executor's other
        # descriptors (sockets, shard files) out of the child.
        return subprocess.Popen(
            [_SHELL, "-c", command],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
            process_group=0,
            env=_child_env(env),
        )
    except (OSError, ValueError) as exc:
        raise PipeCommandError(
            f"could not start pipe command {truncate(command, 120)!r}: {exc}",
            step=step,
            shard=shard,
            row=row,
            hint="a command cannot hold NUL bytes; check that /bin/sh exists"
            if isinstance(exc, ValueError)
            else "check that /bin/sh exists and the executor may start processes",
        ) from exc


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child's process group; only while the child is not reaped (its pid is ours)."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def grow_pipe(fd: int) -> None:
    """Enlarge a pipe's buffer where the system allows it (Linux)."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


class StderrTail:
    """Drains a child's stderr in a thread, keeping its last bytes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._tail = bytearray()
        self.truncated = False
        self._thread = threading.Thread(target=self._drain, name="pipe-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        fd = self._stream.fileno()
        try:
            while chunk := os.read(fd, 65536):
                self._tail += chunk
                if len(self._tail) > 2 * STDERR_TAIL_BYTES:
                    del self._tail[:-STDERR_TAIL_BYTES]
                    self.truncated = True
        except OSError:
            pass
        finally:
            self._stream.close()

    def text(self, timeout: float = 5.0) -> str:
        self._thread.join(timeout)  # a grandchild may keep stderr open: do not wait forever
        tail = bytes(self._tail)
        if len(tail) > STDERR_TAIL_BYTES:
            tail, self.truncated = tail[-STDERR_TAIL_BYTES:], True
        return tail.decode("utf-8", "replace")


_NOT_FOUND = re.compile(r"([^\s:]+): (?:command )?not found\s*$", re.MULTILINE)


def exit_error(
    command: str,
    code: int,
    stderr: str,
    *,
    truncated: bool,
    step: Any,
    shard: Any,
    row: Any = None,
    env: dict[str, str] | None = None,
) -> PipeCommandError:
    """The error for a command that exited with ``code`` after writing ``stderr`` (its tail).

    Examples
    --------
    >>> print(exit_error("false", 1, "", truncated=False, step=None, shard=None))
    pipe command 'false' exited with code 1
      fix: see the command's stderr below; run it by hand on a few input lines to debug
    stderr: (empty)
    """
    shown = truncate(command, 200)
    if code == 127:
        found = _NOT_FOUND.search(stderr)
        name = f" ({found.group(1)!r})" if found else ""
        path = (env or {}).get("PATH", os.environ.get("PATH", ""))
        message = f"pipe command not found{name}: {shown!r} exited with code 127"
        hint = (
            "check the spelling of the program and that it is installed on the executor's "
            f"PATH ({truncate(path, 300)})"
        )
    elif code == 126:
        message = f"pipe command could not be executed: {shown!r} exited with code 126"
        hint = "check that the program is an executable file (chmod +x), not a directory"
    elif code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        message = f"pipe command {shown!r} was killed by {name}"
        hint = "the command crashed or was killed (out of memory?); see its stderr below"
    else:
        message = f"pipe command {shown!r} exited with code {code}"
        hint = "see the command's stderr below; run it by hand on a few input lines to debug"
    if stderr.strip():
        head = "stderr (last 4 KiB):" if truncated else "stderr:"
        detail = head + "\n" + ("..." if truncated else "") + stderr.rstrip()
    else:
        detail = "stderr: (empty)"
    return PipeCommandError(message, step=step, shard=shard, row=row, hint=hint, detail=detail)


def group_alive(pgid: int) -> bool:
    """Whether the process group ``pgid`` still has a member we may signal."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
