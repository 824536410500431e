"""A real Jupyter kernel driven as a frontend drives it (jupyter_client), for notebook tests.

:class:`Kernel` runs cells and returns every IOPub message of each, and can send what a
frontend sends meanwhile (a widget's click as a ``comm_msg``, an interrupt).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client import KernelManager

__all__ = ["Kernel", "Cell"]


@dataclass
class Cell:
    """The messages one cell made, in order, and its shell reply."""

    msg_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] in types]

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream"))

    @property
    def error(self) -> dict[str, Any] | None:
        errors = self.of_type("error")
        return errors[0]["content"] if errors else None

    def data(self, mime: str) -> list[Any]:
        """Every output's ``mime`` data (displays, updates, results), in order."""
        types = ("display_data", "update_display_data", "execute_result")
        return [
            m["content"]["data"][mime] for m in self.of_type(*types) if mime in m["content"]["data"]
        ]

    def widgets(self, model: str) -> list[dict[str, Any]]:
        """The comm_open messages of widgets of model ``model`` (e.g. ``ButtonModel``)."""
        return [
            m["content"]
            for m in self.of_type("comm_open")
            if m["content"]["data"]["state"].get("_model_name") == model
        ]


class Kernel:
    """An ipykernel started in ``cwd``; ``with Kernel(...) as k: k.run("1 + 1")``."""

    def __init__(self, cwd: Path) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.log: list[dict[str, Any]] = []  # every IOPub message seen, of any cell

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def run(
        self,
        code: str,
        timeout: float = 120,
        during: Callable[[Cell], bool] | None = None,
    ) -> Cell:
        """Run ``code``; ``during(cell)`` is called with the messages so far until it returns
        True (what a frontend does meanwhile)."""
        cell = Cell(self.kc.execute(code))
        deadline = time.monotonic() + timeout
        busy = during is not None
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"cell did not finish in {timeout} s: {code[:80]!r}")
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                msg = None
            if msg is not None:
                self.log.append(msg)
            if msg is not None and msg["parent_header"].get("msg_id") == cell.msg_id:
                cell.messages.append(msg)
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
            if busy and during is not None:
                busy = not during(cell)
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == cell.msg_id:
                cell.reply = reply["content"]
                return cell

    def click(self, comm_id: str) -> None:
        """What a frontend sends when a button is clicked."""
        content = {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}}
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg", content))

    def interrupt(self) -> None:
        self.km.interrupt_kernel()

    def later(self, msg_id: str, seconds: float) -> list[dict[str, Any]]:
        """Every IOPub message of cell ``msg_id`` seen so far, after waiting ``seconds`` for
        more (a ``--bg`` run's, which come after its cell ended)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.log.append(self.kc.get_iopub_msg(timeout=0.05))
            except queue.Empty:
                continue
        return [m for m in self.log if m["parent_header"].get("msg_id") == msg_id]
