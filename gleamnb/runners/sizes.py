"""Sizes in bytes as a runner's settings take them: a number, or text with a unit."""

from __future__ import annotations

import math
import re

from gleamnb.errors import ArgumentError

__all__ = ["parse_size"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(size: int | float | str, what: str | None = None) -> int:
    """Bytes in ``size``: a number of bytes, or text like ``"512MB"``, ``"2GiB"``.

    ``what`` names the setting in error messages.

    >>> parse_size("512MB"), parse_size("1.5GiB"), parse_size(1024)
    (512000000, 1610612736, 1024)
    >>> parse_size("-5MB", "memory_limit")
    Traceback (most recent call last):
    ...
    gleamnb.errors.ArgumentError: memory_limit: a size cannot be negative, got '-5MB'
      fix: give a size of 0 bytes or more, e.g. "512MB" or "2GiB"
    """
    hint = 'write it as bytes (an int) or with a unit, e.g. "512MB" or "2GiB"'
    prefix = f"{what}: " if what else ""
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        value = float(size)
    else:
        m = re.fullmatch(r"\s*([-+]?[0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(size))
        if m is None or m.group(2).lower() not in _UNITS:
            raise ArgumentError(f"{prefix}cannot read the size {size!r}", hint=hint)
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not math.isfinite(value):
        raise ArgumentError(f"{prefix}cannot read the size {size!r}", hint=hint)
    if value < 0:
        raise ArgumentError(
            f"{prefix}a size cannot be negative, got {size!r}",
            hint='give a size of 0 bytes or more, e.g. "512MB" or "2GiB"',
        )
    return int(value)
