"""The standard library's date and time types, from CPython's C module `_datetime` when it is
there.

Why not `import datetime`: that module defines its whole pure-Python implementation (about
2,500 lines of classes) and only then replaces it with the C one, `from _datetime import *`.
The classes are the same objects either way (`datetime.datetime is _datetime.datetime`), but
the detour costs `hb simulate`, whose run on a small cluster is mostly start-up, about 1.3 ms
(docs/pengine.md, "`hb simulate`'s start-up"). Other interpreters fall back to `datetime`.
"""

from __future__ import annotations

try:
    from _datetime import date, datetime, timedelta, timezone, tzinfo
except ImportError:  # an interpreter without the C accelerator
    from datetime import date, datetime, timedelta, timezone, tzinfo  # type: ignore[assignment]

__all__ = ["date", "datetime", "timedelta", "timezone", "tzinfo"]
