"""The runtime of the ``pipe(command)`` and ``pipe_as_args(template)`` steps.

Both run inside an executor over one shard (a stream of Arrow record batches) and start the
user's command with ``/bin/sh -c`` as a child process of the executor. The modules:

=============  ===============================================================================
``tsv``        rows out: field texts, escapes, whole batches as TSV lines
``lines``      lines in: the command's stdout cut into lines and fields, escapes undone
``process``    the child process: spawning, its process group, its stderr tail, exit errors
``stream``     ``pipe``: :func:`~gleamnb.runtime.pipe.stream.pipe_batches`
``args``       ``pipe_as_args``: :func:`~gleamnb.runtime.pipe.args.pipe_as_args`
=============  ===============================================================================

Rows out: one TSV line per row
------------------------------
A row becomes one line: its fields' texts joined by TAB, ending with LF. A field's text is

==========================  ==========================================================
``None``                    the empty string
``str``                     the string itself
``bool``                    ``true`` / ``false``
``int``                     ``str(value)``: ``42``, ``-7``
``float``                   ``repr(value)``, the shortest text that reads back as the
                            same float: ``0.1``, ``1.0``, ``1e+16``, ``nan``, ``inf``.
                            A float32 column is written at its own precision (``0.1``,
                            not ``0.10000000149011612``).
``bytes``                   the bytes themselves (not necessarily UTF-8)
dates, times, Decimal       ``str(value)``: ``2024-05-01 12:00:00``, ``1.50``
anything else (lists, ...)  ``repr(value)``
==========================  ==========================================================

Numbers are never dropped (Gleam wrote only string fields to a pipe). So that a field can
never break the framing, four characters in every field's text are escaped, backslash
first: ``\\`` becomes the two characters ``\\\\``, TAB becomes ``\\t``, LF ``\\n`` and CR
``\\r``. A row of ``k`` fields therefore always gives a line with exactly ``k - 1`` TABs.
``pipe_as_args`` substitutes the same texts (then shell-quoted) into its template.

Lines in: one row of strings per line
-------------------------------------
The command's stdout is read incrementally and cut into lines at LF; one CR at the end of a
line is dropped (CRLF output), and a last line without LF still counts. Each line is split on
TAB only (no other whitespace, no quoting) into string fields named ``_1 .. _k``, and the
escapes are undone: ``\\\\``, ``\\t``, ``\\n`` and ``\\r`` become backslash, TAB, LF and
CR again, so a command that passes lines through (``cat``, ``grep``, ``sort``) gives back the
very fields it was given; a backslash before any other character is kept as it is. Every line
of one step's output must have the same number of fields, or a
:class:`~gleamnb.errors.SchemaError` names the line.
Bytes that are not valid UTF-8 are replaced by U+FFFD. Output comes in record batches of at
most :data:`~gleamnb.runtime.pipe.lines.BATCH_LINES` lines, cut early past 32 MiB when lines
are long; a command that prints nothing gives no batch at all. The columns are ``string``
(``large_string`` in a batch where one holds more than 2 GiB, as the text reader does).

Memory
------
A huge line is in memory about twice, as the row going in and as the line coming back (three
times when it has several fields and shares its batch with other lines, whose columns are
gathered), never in whole-line temporaries: rows are written in pieces of about
:data:`~gleamnb.runtime.pipe.tsv.PIECE_BYTES` (a long value a slice at a time), and the output
is read into one buffer in which the parser, scanning
:data:`~gleamnb.runtime.pipe.lines.BLOCK_BYTES` at a time, squeezes out the separators and the
escapes, so that the buffer is the columns' data.

Errors
------
A non-zero exit code is a :class:`~gleamnb.errors.PipeCommandError` carrying the command, the
exit code and the last :data:`~gleamnb.runtime.pipe.process.STDERR_TAIL_BYTES` bytes of its
stderr; exit code 127 says the command was not found. A command that stops reading early
(``head -n 3``) is fine: the rows it did not read are simply not written, and only its exit
code counts. When the consumer of the output stops early, the command's whole process group
is killed and reaped.

Examples
--------
>>> from gleamnb.runtime.pipe.stream import pipe_batches
>>> from gleamnb.runtime.pipe.tsv import batch_to_tsv_lines
>>> from gleamnb.rows import batch_to_rows, rows_to_batch
>>> batch = rows_to_batch([("apple", 3, 0.5), ("pear", None, 2.0)])
>>> batch_to_tsv_lines(batch)
b'apple\\t3\\t0.5\\npear\\t\\t2.0\\n'
>>> out = pipe_batches("tr a-z A-Z", iter([batch]))
>>> [batch_to_rows(b) for b in out]
[[('APPLE', '3', '0.5'), ('PEAR', '', '2.0')]]
"""

from __future__ import annotations

__all__: list[str] = []
