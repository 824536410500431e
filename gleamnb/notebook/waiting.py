"""Waiting for a run in a cell while the kernel still hears the Cancel button.

A widget's click is a message on the kernel's shell channel, and the kernel handles the
messages of one shell one at a time: while a cell runs, a click waits behind it
(ipywidgets#3468). ipykernel 7 has *subshells*: threads of their own that handle the shell
messages sent to them while the main shell runs a cell, and its shell channel thread sends a
comm's messages to the subshell that comm names. So the monitor's Cancel button names a
subshell of its own (made once per kernel): its click is handled on that thread however long
the cell blocks, whichever frontend sent it. The run itself goes on in a background thread;
the cell waits for it, and Ctrl-C (the kernel's interrupt) cancels it. A kernel without
subshells (ipykernel 6) hears the click only once the cell ends: there, Ctrl-C or ``--bg``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["wait_for", "hear_while_busy"]

_subshell: dict[str, str | None] = {}


def wait_for(handle: Any) -> None:
    """Wait until ``handle`` (a :class:`~gleamnb.RunHandle`) is done; a KeyboardInterrupt
    (Ctrl-C, the kernel's interrupt) cancels the run and waits for its end."""
    try:
        while not handle.done():
            time.sleep(0.05)
    except KeyboardInterrupt:
        handle.cancel(wait=True)


def hear_while_busy(widget: Any) -> bool:
    """Have the kernel handle ``widget``'s messages (a click) on a subshell thread, so they
    are heard while a cell runs; False when this kernel has no subshells."""
    sid = _kernel_subshell()
    comm = getattr(widget, "comm", None)
    if sid is None or comm is None or not hasattr(comm, "_reply_subshell_for"):
        return False
    comm._reply_subshell_for = lambda data, default: sid  # every message of this comm
    return True


def _kernel_subshell() -> str | None:
    """This kernel's gleamnb subshell, made on first use (None without subshells)."""
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    key = str(id(kernel))
    if key in _subshell:
        return _subshell[key]
    thread = getattr(kernel, "shell_channel_thread", None)
    made: dict[str, str] = {}
    if getattr(kernel, "_supports_kernel_subshells", False) and thread is not None:
        ready = threading.Event()

        def create() -> None:  # on the shell channel thread, which owns the subshells
            try:
                made["id"] = thread.manager._create_subshell()
            finally:
                ready.set()

        thread.io_loop.add_callback(create)
        ready.wait(5)
    _subshell[key] = made.get("id")
    return _subshell[key]
