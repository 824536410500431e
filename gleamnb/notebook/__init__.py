"""The notebook layer: ``%%gleam`` / ``%gleam`` magics and the live run view.

``%load_ext gleamnb`` calls :func:`load_ipython_extension`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register :class:`~gleamnb.notebook.magics.GleamMagics` with ``ipython``."""
    from gleamnb.notebook.magics import GleamMagics

    ipython.register_magics(GleamMagics(shell=ipython))
