"""Benchmarks: gleamnb against its peers on the same data, in one run.

``python -m benchmarks.generate`` writes the data sets, ``python -m benchmarks.run`` runs every
engine on every workload (each measurement in its own subprocess), checks each output against
a reference and writes ``docs/benchmarks.md`` with a chart. See ``docs/benchmarks.md`` for the
method. ``python -m benchmarks.huge_lines`` measures gleamnb alone on one huge line against the
same text in lines (its figures are in the profile notes).
"""
