"""gleamnb's Arrow extension types: ``gleamnb.pyobject`` and ``gleamnb.tuple``.

Values Arrow cannot hold in one typed column (mixed types, arbitrary objects, tuples nested in
a field) go into a ``gleamnb.pyobject`` column: an extension type over ``binary`` whose cells
are pickles. Lists of tuples built by gleamnb itself (``group_by_key`` with several value
fields) use the ``gleamnb.tuple`` extension type over a struct, so they come back as tuples,
not dicts. Both are registered with Arrow on import, so IPC files holding them read back typed.

Examples
--------
>>> column = pyobject_array([{1, 2}, None])
>>> column.type == PYOBJECT, column[0].as_py()
(True, {1, 2})
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import cloudpickle
import pyarrow as pa

__all__ = ["PyObjectType", "TupleType", "PYOBJECT", "pyobject_array", "Unpicklable"]


class PyObjectType(pa.ExtensionType):
    """Arrow type for Python objects that no Arrow type holds: each cell is a pickle."""

    def __init__(self) -> None:
        super().__init__(pa.binary(), "gleamnb.pyobject")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(
        cls, storage_type: pa.DataType, serialized: bytes
    ) -> PyObjectType:
        return cls()

    def __arrow_ext_scalar_class__(self) -> type:
        return PyObjectScalar


class PyObjectScalar(pa.ExtensionScalar):
    def as_py(self, **kwargs: Any) -> Any:
        raw = self.value
        return None if raw is None else pickle.loads(raw.as_py())


class TupleType(pa.ExtensionType):
    """Arrow type for tuples built by gleamnb: a struct whose cells read back as tuples."""

    def __init__(self, storage: pa.StructType) -> None:
        super().__init__(storage, "gleamnb.tuple")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> TupleType:
        return cls(storage_type)

    def __arrow_ext_scalar_class__(self) -> type:
        return TupleScalar


class TupleScalar(pa.ExtensionScalar):
    def as_py(self, **kwargs: Any) -> Any:
        raw = self.value
        return None if raw is None else tuple(v.as_py() for v in raw.values())


for _ext in (PyObjectType(), TupleType(pa.struct([("0", pa.null())]))):
    try:
        pa.register_extension_type(_ext)
    except pa.ArrowKeyError:  # already registered by an earlier import
        pass

PYOBJECT = PyObjectType()


class Unpicklable(Exception):
    """Value ``values[index]`` of a column neither Arrow nor pickle can hold (a generator, a
    lock, an open file): ``error`` is why pickling it failed."""

    def __init__(self, index: int, value: Any, error: BaseException) -> None:
        super().__init__(index, value, error)
        self.index, self.value, self.error = index, value, error


def pyobject_array(values: Sequence[Any]) -> pa.ExtensionArray:
    """A ``gleamnb.pyobject`` column: each value pickled on its own.

    Raises :class:`Unpicklable` naming the first value that cannot be pickled.

    >>> import threading
    >>> pyobject_array([{1}, threading.Lock()])
    Traceback (most recent call last):
    ...
    gleamnb.rows.types.Unpicklable: (1, <unlocked _thread.lock object at ...>, ...)
    """
    dumps = cloudpickle.dumps
    try:
        cells = [None if v is None else dumps(v) for v in values]
    except Exception:
        # find which one, on this rare path only: the loop above is the common one
        for i, v in enumerate(values):
            try:
                dumps(v)
            except Exception as exc:
                raise Unpicklable(i, v, exc) from None
        raise
    return pa.ExtensionArray.from_storage(PYOBJECT, pa.array(cells, type=pa.binary()))
