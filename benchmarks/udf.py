"""The user's tokenizers: plain Python functions shared by every UDF word count.

gleamnb's ``flat_map``, ``dask.bag``'s ``map``, Spark's ``RDD.flatMap`` and the single-process
``collections.Counter`` loop all call these very functions, so the ``wordcount_udf`` and
``wordcount_lambda`` workloads measure how each engine runs the same Python code.
:func:`tokenize` keeps case (the built-in tokenizer's rule); :func:`words` is the function a
user writes first (DESIGN §3), lower-casing each line.
"""

from __future__ import annotations

import re

__all__ = ["TOP", "WORD_PATTERN", "tokenize", "words"]

#: A word is a maximal run of ASCII letters and digits; case is kept.
WORD_PATTERN = r"[A-Za-z0-9]+"

_WORD = re.compile(WORD_PATTERN)
_LOWER_WORD = re.compile(r"[a-z0-9]+")

#: How many of the most frequent words ``wordcount_lambda`` keeps.
TOP = 100


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


def words(line: str) -> list[str]:
    """Split a lower-cased line into words.

    Parameters
    ----------
    line
        One line of text.

    Returns
    -------
    list of str
        The maximal runs of ``[a-z0-9]`` in ``line.lower()``, in order.

    Examples
    --------
    >>> words("Hello, World -- it's 2024!")
    ['hello', 'world', 'it', 's', '2024']
    """
    return _LOWER_WORD.findall(line.lower())
