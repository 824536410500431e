"""Where a CSV quoted value opens and whether it closes, read as Arrow's parser reads it.

A ``"`` opens a quoted value only at the start of a field (after the delimiter, a line end
or the start of the data); inside one, ``""`` is an escaped quote and a lone ``"`` closes
it. A quote anywhere else is an ordinary character. Only the quote characters are visited
(numpy finds them), so a file with few quotes costs little.

Examples
--------
>>> scan = QuoteScan(",")
>>> scan.feed(b'1,"a""b",c\\n2,"x\\n3,y\\n', 0)
>>> scan.crossed, scan.opened
(13, 13)
>>> scan = QuoteScan(",")
>>> scan.feed(b'1,"a\\nb"\\n', 0)
>>> scan.crossed, scan.opened
(2, None)
"""

from __future__ import annotations

import numpy as np

from gleamnb.errors import MalformedInputError, truncate

__all__ = ["QuoteScan", "line_at", "nonempty_lines", "open_quote_error"]

_QUOTE = ord('"')
_NEWLINE = ord("\n")
_RETURN = ord("\r")


class QuoteScan:
    """The quote state of CSV data fed in line-aligned pieces, in file order.

    Attributes
    ----------
    opened
        The offset of the quote that opened the value still open after the last piece fed,
        or None.
    crossed
        The offset of the first opening quote whose value runs past a line end, or None.
    """

    def __init__(self, delimiter: str) -> None:
        self._starts = {ord(delimiter), _NEWLINE, _RETURN}
        self.opened: int | None = None
        self.crossed: int | None = None

    def feed(self, data: bytes, offset: int) -> None:
        """Scan ``data``, the bytes at file offset ``offset`` (ending on a line end or at EOF)."""
        quotes = np.flatnonzero(np.frombuffer(data, np.uint8) == _QUOTE).tolist()
        opened = None if self.opened is None else self.opened - offset
        starts = self._starts
        i, n = 0, len(quotes)
        while i < n:
            at = quotes[i]
            if opened is None:
                if at == 0 or data[at - 1] in starts:
                    opened = at
                i += 1
            elif i + 1 < n and quotes[i + 1] == at + 1:
                i += 2  # an escaped quote
            else:
                self._close(data, offset, opened, at)
                opened = None
                i += 1
        if opened is not None:
            self._close(data, offset, opened, len(data))
            self.opened = offset + opened
        else:
            self.opened = None

    def _close(self, data: bytes, offset: int, opened: int, closed: int) -> None:
        if self.crossed is None and data.find(b"\n", max(opened, 0), closed) >= 0:
            self.crossed = offset + opened


def nonempty_lines(data: bytes) -> int:
    """The number of lines of ``data`` that hold more than a line end (as Arrow counts rows).

    >>> nonempty_lines(b"a\\n\\n\\r\\nb\\nc")
    3
    """
    array = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(array == _NEWLINE)
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else ends
    lengths = ends - starts
    empty = (lengths == 0) | ((lengths == 1) & (array[starts] == _RETURN))
    count = len(ends) - int(np.count_nonzero(empty))
    last = data[ends[-1] + 1 :] if len(ends) else data
    return count + (1 if last.rstrip(b"\r") else 0)


def open_quote_error(
    path: str, line: int, text: str | None, *, at_end: bool
) -> MalformedInputError:
    """The error for a quoted value opened on ``line`` that runs past its line end
    (``at_end``: past the end of the file, with ``newlines_in_values=True``).

    >>> open_quote_error("a.csv", 3, '2,"x', at_end=False).location
    'a.csv:3'
    """
    if at_end:
        return MalformedInputError(
            f"the quoted value opened on line {line} of {path} is not closed by the end "
            "of the file",
            location=f"{path}:{line}",
            row=None if text is None else truncate(text),
            hint='close the quote on that line (a quote inside a value is written twice, "")',
        )
    return MalformedInputError(
        f"the quoted value opened on line {line} of {path} runs past the end of the line",
        location=f"{path}:{line}",
        row=None if text is None else truncate(text),
        hint='fix the quote on that line (a quote inside a value is written twice, ""), '
        "or pass newlines_in_values=True if quoted values really hold newlines",
    )


def line_at(data: bytes, at: int) -> str:
    """The text of the line of ``data`` that holds offset ``at``.

    >>> line_at(b"a\\nb,c\\nd", 3)
    'b,c'
    """
    start = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at)
    return data[start : end if end >= 0 else len(data)].rstrip(b"\r").decode("utf-8", "replace")
