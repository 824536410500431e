"""What a task's message brings its executor: a stage's spec once a run, a function once.

A run pickles each stage's spec once, with the user functions left out as persistent ids:
each function is pickled on its own (its code, defaults, closure and the globals it uses, as
cloudpickle ships them, large buffers such as a numpy array's data out of band: never
copied) and named by the digest of that pickle (:func:`gleamnb.plan.pickles.digest`, at
memory speed). An executor keeps the functions it got, by digest, across tasks and runs; a
task's message carries only those its executor lacks, so a function that captures a 500 MB
array travels once per executor while the array is unchanged. A changed array gives another
digest, and the function travels again.

A function of :data:`~gleamnb.plan.pickles.OUT_OF_BAND` bytes or more does not go into the
message: the driver's storage writes it once a run to a file that executors map (see
:class:`~gleamnb.runtime.protocol.Function`), so they share its pages.

The driver keeps a :class:`Holdings` record of what each executor holds. An executor holds
the stages of the run it last worked for, the functions of the run in progress, and of
earlier runs' functions the most recently used up to :data:`KEPT_BYTES`; the message says
what to forget, and the executor forgets nothing else, so the record stays exact. A new
executor process starts with an empty record.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from gleamnb.plan.pickles import OUT_OF_BAND, Pickled, digest, pickled
from gleamnb.runners.crashes import stage_functions
from gleamnb.runtime.protocol import Function
from gleamnb.runtime.stage import StageSpec

__all__ = ["KEPT_BYTES", "Holdings", "Shipping"]

#: Functions of earlier runs an executor keeps, at most this many bytes (least recently
#: used first out); the functions of the run in progress are always kept.
KEPT_BYTES = 256 << 20


@dataclass
class Holdings:
    """What one executor holds, as its driver recorded it.

    ``run`` is the run it last worked for, ``stages`` the keys of that run's stages it has
    loaded, ``functions`` the size of each function it holds by digest, least recently used
    first; ``keep`` the bytes of earlier runs' functions it keeps.
    """

    keep: int = KEPT_BYTES
    run: str | None = None
    stages: set[str] = field(default_factory=set)
    functions: OrderedDict[str, int] = field(default_factory=OrderedDict)


class _Pickler(cloudpickle.Pickler):
    """Pickles a stage's spec with the functions in ``ids`` left out, named by digest."""

    def __init__(self, file: io.BytesIO, ids: dict[int, str]) -> None:
        super().__init__(file, protocol=5)
        self.ids = ids

    def persistent_id(self, obj: Any) -> str | None:
        return self.ids.get(id(obj))


class Shipping:
    """One run's stage specs and functions, and what each executor must be sent of them.

    ``specs`` are the run's stages by id; ``write(digest, parts)`` stores a large
    function's pickle and buffers where executors map them (the driver's storage).
    """

    def __init__(
        self,
        run_id: str,
        specs: Callable[[], dict[int, StageSpec]],
        write: Callable[[str, Sequence[bytes | memoryview]], Function],
    ) -> None:
        self.run_id = run_id
        self.specs = specs
        self.write = write
        self.blobs: dict[int, bytes] = {}  # each stage's spec, functions left out
        self.needs: dict[int, list[str]] = {}  # the digests of each stage's functions
        self.packed: dict[str, Pickled] = {}  # each function's pickle, by digest
        self.shipped: dict[str, Function] = {}

    def _pack(self) -> None:
        """Pickle every stage and function of the run (once a run, on the first task)."""
        by_id: dict[int, str] = {}
        for sid, spec in self.specs().items():
            needs = []
            for fn in stage_functions(spec):
                if id(fn) not in by_id:
                    p = pickled(fn)
                    by_id[id(fn)] = d = digest(p.parts())
                    self.packed.setdefault(d, p)
                needs.append(by_id[id(fn)])
            stream = io.BytesIO()
            _Pickler(stream, by_id).dump(spec)
            self.blobs[sid] = stream.getvalue()
            self.needs[sid] = list(dict.fromkeys(needs))

    def _function(self, d: str) -> Function:
        """The wire form of function ``d``: in the message, or written once a run to a file."""
        fn = self.shipped.get(d)
        if fn is None:
            p = self.packed[d]
            small = not p.buffers and len(p.data) < OUT_OF_BAND
            fn = self.shipped[d] = Function(d, data=p.data) if small else self.write(d, p.parts())
        return fn

    def message(
        self, sid: int, key: str, holds: Holdings
    ) -> tuple[bytes | None, tuple[Function, ...], tuple[str, ...]]:
        """What a task of stage ``sid`` (key ``key``) brings an executor that ``holds`` this.

        The stage's pickled spec (None if it has it), the functions it lacks, and the keys
        and digests it is to forget first; ``holds`` is updated to what it holds after.
        """
        if not self.blobs:
            self._pack()
        forget: list[str] = []
        if holds.run != self.run_id:  # the stages of a past run are never used again
            forget += sorted(holds.stages)
            holds.run, holds.stages = self.run_id, set()
        blob = None
        if key not in holds.stages:
            blob = self.blobs[sid]
            holds.stages.add(key)
        bring = []
        for d in self.needs[sid]:
            if d not in holds.functions:
                bring.append(self._function(d))
                holds.functions[d] = self.packed[d].nbytes
            holds.functions.move_to_end(d)
        kept = sum(n for d, n in holds.functions.items() if d not in self.packed)
        for d in [d for d in holds.functions if d not in self.packed]:
            if kept <= holds.keep:
                break
            kept -= holds.functions.pop(d)
            forget.append(d)
        return blob, tuple(bring), tuple(forget)
