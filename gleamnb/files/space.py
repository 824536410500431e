"""A full disk: the error that names the folder, the bytes that did not fit and the free space.

Pieces of shard data, spilled shards and a save's part files all end the same way when their
disk fills up: the ``OSError`` (``ENOSPC``, or ``EDQUOT`` past a quota) becomes a
:class:`~gleamnb.errors.DiskFullError` whose message says which folder is full, how large the
write that failed was and how much room is left there.

Examples
--------
>>> import errno, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "part-00000.csv")
>>> err = disk_full(OSError(errno.ENOSPC, "No space left on device"), path, 2048, hint="free it")
>>> err.message.split(": ", 1)[1]  # doctest: +ELLIPSIS
'writing 2,048 bytes to part-00000.csv failed, ... bytes free (No space left on device)'
>>> disk_full(OSError(errno.EACCES, "Permission denied"), path, 2048, hint="") is None
True
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator

from gleamnb.errors import DiskFullError

__all__ = ["disk_full", "free_bytes", "full_disk_errors"]

#: The errors that mean a file system has no room left (for anyone, or for this user).
FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def free_bytes(folder: str) -> int | None:
    """The bytes this process may still write in ``folder``'s file system (None if unknown).

    >>> free_bytes("/") > 0
    True
    """
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_full(err: OSError, path: str, nbytes: int | None, *, hint: str) -> DiskFullError | None:
    """The :class:`DiskFullError` for ``err`` when it says ``path``'s disk is full, else None.

    ``nbytes`` is the size of the write that failed, when known.
    """
    if err.errno not in FULL:
        return None
    folder = os.path.dirname(path) or "."
    size = f"{nbytes:,} bytes" if nbytes else "the rest"
    free = free_bytes(folder)
    left = f"{free:,} bytes free" if free is not None else "free space unknown"
    return DiskFullError(
        f"no space left in the folder {folder}: writing {size} to {os.path.basename(path)} "
        f"failed, {left} ({os.strerror(err.errno)})",
        location=path,
        hint=hint,
    )


@contextlib.contextmanager
def full_disk_errors(path: str, nbytes: int | None, *, hint: str) -> Iterator[None]:
    """Raise a :class:`DiskFullError` in place of an ``OSError`` saying ``path``'s disk is full.

    >>> import errno
    >>> with full_disk_errors("/tmp/x.arrow", 10, hint="free space in /tmp"):
    ...     raise OSError(errno.ENOSPC, "No space left on device")
    Traceback (most recent call last):
    ...
    gleamnb.errors.DiskFullError: no space left in the folder /tmp: writing 10 bytes to x.arrow ...
    """
    try:
        yield
    except OSError as err:
        full = disk_full(err, path, nbytes, hint=hint)
        if full is None:
            raise
        raise full from None
