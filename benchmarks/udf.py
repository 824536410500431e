"""The user's tokenizer: one plain Python function shared by every UDF word count.

gleamnb's ``flat_map``, ``dask.bag``'s ``map``, Spark's ``RDD.flatMap`` and the single-process
``collections.Counter`` loop all call this very function, so the ``wordcount_udf`` workload
measures how each engine runs the same Python code.
"""

from __future__ import annotations

import re

__all__ = ["WORD_PATTERN", "tokenize"]

#: A word is a maximal run of ASCII letters and digits; case is kept.
WORD_PATTERN = r"[A-Za-z0-9]+"

_WORD = re.compile(WORD_PATTERN)


def tokenize(line: str) -> list[str]:
    """Split a line into words.

    Parameters
    ----------
    line
        One line of text (a trailing newline, if any, is ignored like any separator).

    Returns
    -------
    list of str
        The maximal runs of ``[A-Za-z0-9]`` in ``line``, in order.

    Examples
    --------
    >>> tokenize("Hello, world -- it's 2024!")
    ['Hello', 'world', 'it', 's', '2024']
    """
    return _WORD.findall(line)
