"""`deque`, `cmp_to_key`, `lru_cache`, named-tuple fields and `operator`'s getters from
CPython's C modules (`_collections`, `_functools`, `_operator`) when they are there, without
`collections`, `functools` and `operator`.

Why: those two Python modules are only facades over the C ones for what `hb simulate` uses,
but importing them runs their whole bodies (OrderedDict, Counter, ChainMap, UserDict,
namedtuple's machinery, singledispatch, ... and `keyword`, `reprlib`, `operator` with them):
about 3 ms of CPU in a fresh process, 6% of a whole `hb simulate` run on a small cluster
(docs/pengine.md, "`hb simulate`'s start-up"); `operator.py` defines a pure-Python
version of each function before replacing them with `_operator`'s, 0.1-0.2 ms. The objects are the same ones the facades hand
out (`collections.deque is _collections.deque`; `functools.lru_cache` wraps the function in
`_functools._lru_cache_wrapper`), so behaviour and speed are unchanged. Other interpreters fall
back to the facades.
"""

from __future__ import annotations

try:
    from _operator import attrgetter, call, itemgetter
except ImportError:  # an interpreter without CPython's accelerators
    from operator import attrgetter, call, itemgetter  # type: ignore[assignment]

try:
    from _collections import _tuplegetter, deque
    from _functools import _lru_cache_wrapper, cmp_to_key
except ImportError:  # an interpreter without CPython's accelerators
    from collections import deque  # type: ignore[assignment]
    from functools import cmp_to_key, lru_cache as _lru_cache  # type: ignore[assignment]

    def _tuplegetter(index: int, doc: str) -> property:  # type: ignore[no-redef]
        return property(itemgetter(index), doc=doc)

    def lru_cache(maxsize: int):  # type: ignore[no-redef]
        return _lru_cache(maxsize=maxsize)
else:
    def lru_cache(maxsize: int):
        """functools.lru_cache(maxsize=maxsize) (untyped): the same C cache, without its
        `cache_info` record type; `__name__` and `__doc__` are the function's."""
        def decorate(function):
            wrapper = _lru_cache_wrapper(function, maxsize, False, tuple)
            wrapper.__name__ = function.__name__
            wrapper.__qualname__ = function.__qualname__
            wrapper.__doc__ = function.__doc__
            wrapper.__module__ = function.__module__
            wrapper.__wrapped__ = function
            return wrapper
        return decorate

TYPE_CHECKING = False  # typing's own flag, without importing typing
if TYPE_CHECKING:
    from typing import Any


def field(index: int, doc: str) -> Any:
    """The attribute of a tuple subclass that reads item `index`: the descriptor namedtuple
    gives its fields (`_collections._tuplegetter`). The records that use it (validate.Problem,
    rules.NvSet, summary.Item, ...) are tuples with named fields written out, as namedtuple
    would generate them, without `collections` and the `exec` of namedtuple's factory."""
    return _tuplegetter(index, doc)


class Record(tuple):
    """Base of a tuple with named fields: a subclass lists `_fields`, writes its `__new__` with
    those parameters and gives each one a `field(i, doc)`. What namedtuple's classes have and
    ours use: equality and hashing as tuples, attribute access, this repr, pickling,
    `_replace` and `_asdict`."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return type(self).__name__ + "(" + ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields, self)) + ")"

    def __getnewargs__(self) -> tuple:
        return tuple(self)

    def _replace(self, **changes: object) -> "Record":
        """namedtuple's `_replace`: a copy with some fields changed."""
        values = dict(zip(self._fields, self))
        unknown = set(changes) - set(values)
        if unknown:
            raise ValueError(f"Got unexpected field names: {sorted(unknown)!r}")
        values.update(changes)
        return type(self)(**values)

    def _asdict(self) -> dict:
        """namedtuple's `_asdict`."""
        return dict(zip(self._fields, self))


__all__ = ["Record", "attrgetter", "call", "cmp_to_key", "deque", "field", "itemgetter",
           "lru_cache"]
