"""Text rules shared by the builtin mappers' row functions and their vectorized kernels.

>>> TOKEN.findall("Hello, world-2 café")
['Hello', 'world', '2', 'caf']
"""

from __future__ import annotations

import re

__all__ = ["TOKEN"]

TOKEN = re.compile(r"[A-Za-z0-9]+")
"""A token of ``gl.mappers.tokenize``: a maximal run of ASCII letters and digits (Gleam's
``mapper.Tokenize``). Everything else separates tokens, every non-ASCII character too; case
is kept."""
