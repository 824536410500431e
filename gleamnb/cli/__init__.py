"""The ``gleamnb`` command: start, inspect and stop gleamnb clusters (:mod:`gleamnb.cli.main`)."""

from __future__ import annotations
