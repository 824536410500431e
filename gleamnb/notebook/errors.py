"""A failed run in a cell: the short error first, then the user's traceback, in cell terms.

A UDF defined in a notebook cell has, as its file name, the cell's compiled name (ipykernel's
``/tmp/ipykernel_<pid>/<hash>.py``); its traceback from the executor names that file. Here
each such frame reads ``Cell In[n], line k`` as IPython's own tracebacks do, with the line's
code (the executor has no copy of the cell's source; the kernel does).

>>> text = 'File "/tmp/x/1.py", line 3, in f\\n    pass'
>>> print(map_frames(text, {"/tmp/x/1.py": 7}.get))
Cell In[7], line 3, in f
    pass
"""

from __future__ import annotations

import html
import linecache
import re
from collections.abc import Callable
from typing import Any

from gleamnb.notebook.style import CSS

__all__ = ["error_bundle", "map_cells", "map_frames"]

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)(?P<rest>.*)')


def map_cells(shell: Any) -> Callable[[str], int | None]:
    """The cell number (``In[n]``) a compiled file name belongs to, for ``shell``."""
    table = getattr(getattr(shell, "compile", None), "_filename_map", {})
    return lambda filename: table.get(filename)


def map_frames(text: str, cell_of: Callable[[str], int | None]) -> str:
    """``text`` with each frame of a notebook cell named ``Cell In[n], line k``; a frame
    whose line the executor could not show gets it from the cell's source."""
    out: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _FRAME.search(line)
        number = cell_of(m.group("file")) if m else None
        if m is None or number is None:
            out.append(line)
            continue
        out.append(
            line[: m.start()] + f"Cell In[{number}], line {m.group('line')}{m.group('rest')}"
        )
        shown = (
            i + 1 < len(lines)
            and lines[i + 1].startswith("    ")
            and not _FRAME.search(lines[i + 1])
        )
        if not shown:
            code = linecache.getline(m.group("file"), int(m.group("line"))).strip()
            if code:
                out.append("    " + code)
    return "\n".join(out)


def error_bundle(exc: BaseException, cell_of: Callable[[str], int | None]) -> dict[str, str]:
    """Output for a failed run: what failed, where (step, shard, row), how to fix it, then
    the user's own traceback in cell terms."""
    from gleamnb.errors import GleamError

    if isinstance(exc, GleamError):
        detail, exc.detail = exc.detail, None
        try:
            short = str(exc)
        finally:
            exc.detail = detail
        trace = map_frames(detail or "", cell_of)
    else:
        short, trace = f"{type(exc).__name__}: {exc}", ""
    text = short + ("\n\n" + trace if trace else "")
    body = f"<div class='gl-error'><b>{html.escape(short)}</b></div>"
    if trace:
        body += f"<pre class='gl-trace'>{html.escape(trace)}</pre>"
    return {"text/plain": text, "text/html": f"<style>{CSS}</style>{body}"}
