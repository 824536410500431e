"""Content fingerprints of datasets: equal fingerprints mean equal data.

A dataset's fingerprint hashes its step (kind and parameters), its shard count and its inputs'
fingerprints. A Python function counts by its code, default arguments, closure values and the
globals it references (recursively, as cloudpickle would ship them); an in-memory source by its
Arrow data; a file source by each file's path, size and modification time. Editing a UDF, a
parameter or an input file therefore changes the fingerprint of every dataset downstream.
Large data (a captured numpy array, long bytes or text, an Arrow table) is hashed where it
is, at memory speed (:func:`gleamnb.plan.pickles.digest`), never through its ``repr``.

Examples
--------
>>> import gleamnb as gl
>>> f = gl.Flow()
>>> a = f.range(0, 10).map(lambda x: x + 1)
>>> b = f.range(0, 10).map(lambda x: x + 1)
>>> c = f.range(0, 10).map(lambda x: x + 2)
>>> a.fingerprint() == b.fingerprint(), a.fingerprint() == c.fingerprint()
(True, False)
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import types
from typing import Any

import pyarrow as pa

from gleamnb.files.listing import list_files
from gleamnb.plan.builtins import BuiltinFunction
from gleamnb.plan.graph import Node
from gleamnb.plan.pickles import OUT_OF_BAND, digest, pickled

__all__ = ["fingerprint", "token"]


class _Hasher:
    def __init__(self) -> None:
        self.h = hashlib.blake2b(digest_size=16)
        self.active: set[int] = set()

    def put(self, *parts: object) -> None:
        for p in parts:
            self.h.update(repr(p).encode())
            self.h.update(b"\x00")

    def data(self, *parts: bytes | memoryview) -> None:
        """Hash raw bytes: small ones as they are, large ones by their digest."""
        if sum(memoryview(p).nbytes for p in parts) < OUT_OF_BAND:
            for p in parts:
                self.put(memoryview(p).nbytes)
                self.h.update(p)
        else:
            self.put("digest", digest(parts))

    def value(self, v: Any) -> None:
        if isinstance(v, (str, bytes)):
            self.put(type(v).__name__)
            self.data(v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v)
        elif v is None or isinstance(v, (bool, int, float, complex)):
            self.put(type(v).__name__, v)
        elif isinstance(v, (list, tuple, frozenset, set)):
            items = sorted(v, key=repr) if isinstance(v, (set, frozenset)) else v
            self.put(type(v).__name__, len(items))
            for item in items:
                self.value(item)
        elif isinstance(v, dict):
            self.put("dict", len(v))
            for k in sorted(v, key=repr):
                self.value(k)
                self.value(v[k])
        elif isinstance(v, BuiltinFunction):
            self.put("builtin", v.name)
        elif isinstance(v, (types.FunctionType, types.MethodType)):
            self.function(v)
        elif isinstance(v, types.CodeType):
            self.code(v)
        elif isinstance(v, types.ModuleType):
            self.put("module", v.__name__)
        elif isinstance(v, (pa.Table, pa.RecordBatch)):
            self.table(v)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            self.put(type(v).__qualname__)
            for f in dataclasses.fields(v):
                self.put(f.name)
                self.value(getattr(v, f.name))
        elif isinstance(v, type):
            self.put("type", v.__module__, v.__qualname__)
        elif callable(v) and inspect.isbuiltin(v):
            self.put("builtin-function", getattr(v, "__module__", None), v.__qualname__)
        else:
            try:
                self.put(type(v).__qualname__)
                self.data(*pickled(v).parts())
            except Exception:
                self.put(type(v).__qualname__, id(v))  # unpicklable: only equal to itself

    def code(self, c: types.CodeType) -> None:
        self.put("code", c.co_name, c.co_code, c.co_names, c.co_varnames, c.co_argcount)
        for const in c.co_consts:
            self.value(const)

    def function(self, fn: Any) -> None:
        if isinstance(fn, types.MethodType):
            self.put("method")
            self.value(fn.__self__)
            fn = fn.__func__
        if id(fn) in self.active:  # recursion through globals
            self.put("recursive", fn.__qualname__)
            return
        self.active.add(id(fn))
        try:
            self.code(fn.__code__)
            self.value(fn.__defaults__)
            self.value(fn.__kwdefaults__)
            for cell in fn.__closure__ or ():
                try:
                    self.value(cell.cell_contents)
                except ValueError:  # an empty cell
                    self.put("empty-cell")
            referenced = _global_names(fn.__code__)
            for name in sorted(referenced):
                if name in fn.__globals__:
                    self.put("global", name)
                    self.value(fn.__globals__[name])
        finally:
            self.active.discard(id(fn))

    def table(self, t: pa.Table | pa.RecordBatch) -> None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, t.schema) as writer:
            writer.write(t)
        self.data(sink.getvalue())

    def digest(self) -> str:
        return self.h.hexdigest()


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def token(value: Any) -> str:
    """The hash of one value as fingerprints see it.

    >>> token(lambda x: x + 1) == token(lambda x: x + 1)
    True
    """
    h = _Hasher()
    h.value(value)
    return h.digest()


def _file_stats(spec: Any) -> list[tuple[str, int, int]]:
    return [(f.path, f.size, f.mtime_ns) for f in list_files(spec)]


def fingerprint(node: Node, _memo: dict[int, str] | None = None) -> str:
    """The fingerprint of the dataset ``node`` (a hex string)."""
    memo = {} if _memo is None else _memo
    if id(node) in memo:
        return memo[id(node)]
    h = _Hasher()
    step = node.step
    h.put(step.kind, node.shards)
    h.value(step.params())
    if step.kind == "read":
        h.value(_file_stats(step.params()["spec"]))
    for inp in node.inputs:
        h.put(fingerprint(inp, memo))
    memo[id(node)] = h.digest()
    return memo[id(node)]
