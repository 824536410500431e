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
        self._starts = np.array([ord(delimiter), _NEWLINE, _RETURN], np.uint8)
        self.opened: int | None = None
        self.crossed: int | None = None

    def feed(self, data: bytes, offset: int) -> None:
        """Scan ``data``, the bytes at file offset ``offset`` (ending on a line end or at EOF).

        A run of adjacent quotes of even length changes nothing (escapes, or ``""``, an
        empty value); a run of odd length at a field start toggles the state (opens, or
        closes an open value), one elsewhere leaves it closed. So the state before each odd
        run is the parity of the field-start runs since the last other one.
        """
        array = np.frombuffer(data, np.uint8)
        quotes = np.flatnonzero(array == _QUOTE)
        if not len(quotes):
            return
        breaks = np.flatnonzero(np.diff(quotes) != 1) + 1
        firsts = np.concatenate(([0], breaks))
        lengths = np.diff(np.append(firsts, len(quotes)))
        at = quotes[firsts[lengths % 2 == 1]]
        if not len(at):
            return
        toggles = (at == 0) | np.isin(array[np.maximum(at - 1, 0)], self._starts)
        index = np.arange(len(at))
        last_other = np.maximum.accumulate(np.where(toggles, -1, index))
        other_before = np.concatenate(([-1], last_other[:-1]))
        count = np.cumsum(toggles)
        toggles_before = np.concatenate(([0], count[:-1]))
        since = toggles_before - np.where(other_before >= 0, count[np.maximum(other_before, 0)], 0)
        carried = 1 if self.opened is not None else 0
        inside = (since + np.where(other_before >= 0, 0, carried)) % 2 == 1
        openers = np.flatnonzero(toggles & ~inside)
        if self.crossed is None and len(openers):
            newlines = np.flatnonzero(array == _NEWLINE)
            lines = np.searchsorted(newlines, at)  # the line ends before each odd run
            ends = np.append(lines, len(newlines))
            crossing = openers[ends[openers + 1] > lines[openers]]
            if len(crossing):
                self.crossed = offset + int(at[crossing[0]])
        if toggles[-1] and not inside[-1]:
            self.opened = offset + int(at[-1])
        else:
            self.opened = None


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
