"""Discovery records: how ``gl.distributed()`` and ``gleamnb cluster ...`` find a cluster.

``gleamnb cluster start`` writes one JSON file per cluster name, ``<folder>/<name>.json``,
where the folder is ``$XDG_STATE_HOME/gleamnb/clusters`` (default
``~/.local/state/gleamnb/clusters``) or the ``dir`` given (``--dir DIR``). A record holds::

    {"name": "default", "address": "tcp://127.0.0.1:45326",
     "dashboard": "http://127.0.0.1:8787/status",
     "pids": {"process": <serve pid>, "scheduler": <pid>, "nannies": [...], "workers": [...]},
     "version": "0.1.0", "started": <unix time>, "dir": <folder>, "tls": null}

Every pid sits under ``pids``. Files are written atomically (a temporary file renamed) with
mode 0600.

>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> p = write({"name": "demo", "address": "tcp://127.0.0.1:1", "pids": {}}, dir=d)
>>> p.name, oct(p.stat().st_mode & 0o777)
('demo.json', '0o600')
>>> read(dir=d)["address"]  # the only record, though not named "default"
'tcp://127.0.0.1:1'
>>> [r["name"] for r in all(dir=d)]
['demo']
>>> remove("demo", dir=d); read(dir=d) is None
True
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["folder", "path", "write", "read", "all", "remove", "alive", "pids", "DEFAULT"]

#: The cluster name when none is given.
DEFAULT = "default"


def folder(dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the records: ``dir`` if given, else ``$XDG_STATE_HOME/gleamnb/clusters``.

    >>> folder("/tmp/x")
    PosixPath('/tmp/x')
    """
    if dir is not None:
        return Path(dir).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state) / "gleamnb" / "clusters"


def path(name: str | None = None, dir: str | os.PathLike[str] | None = None) -> Path:
    """The file of cluster ``name``'s record.

    >>> path("a", "/tmp/x")
    PosixPath('/tmp/x/a.json')
    """
    return folder(dir) / f"{name or DEFAULT}.json"


def write(record: dict[str, Any], dir: str | os.PathLike[str] | None = None) -> Path:
    """Write ``record`` (atomically, mode 0600) under its ``name``; its path."""
    where = folder(dir)
    where.mkdir(parents=True, exist_ok=True)
    target = path(record.get("name"), dir)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=where)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def _load(p: Path) -> dict[str, Any] | None:
    try:
        with open(p) as f:
            got = json.load(f)
    except (OSError, ValueError):
        return None
    return got if isinstance(got, dict) else None


def all(dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every record of the folder, by name."""
    where = folder(dir)
    if not where.is_dir():
        return []
    found = (_load(p) for p in sorted(where.glob("*.json")))
    return [r for r in found if r is not None]


def read(
    name: str | None = None, dir: str | os.PathLike[str] | None = None
) -> dict[str, Any] | None:
    """The record of cluster ``name``; without a name, ``default``, else the only record."""
    got = _load(path(name, dir))
    if got is not None or name is not None:
        return got
    every = all(dir)
    return every[0] if len(every) == 1 else None


def remove(name: str | None, dir: str | os.PathLike[str] | None = None) -> None:
    """Remove cluster ``name``'s record (no error if there is none)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path(name, dir))


def _ints(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _ints(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _ints(v)


def pids(record: dict[str, Any]) -> list[int]:
    """Every pid of ``record``.

    >>> pids({"pids": {"process": 3, "nannies": [4, 5], "workers": []}})
    [3, 4, 5]
    """
    return builtins.list(_ints(record.get("pids", {})))


def exists(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie counts as gone).

    >>> exists(os.getpid())
    True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def alive(record: dict[str, Any]) -> bool:
    """Whether the cluster of ``record`` runs: its serve process (else any pid) exists.

    >>> alive({"pids": {"process": os.getpid()}})
    True
    """
    main = record.get("pids", {}).get("process")
    if isinstance(main, int) and not isinstance(main, bool):
        return exists(main)
    return any(exists(p) for p in pids(record))
