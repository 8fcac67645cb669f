"""The standard library's `re`, imported the first time one of its names is used.

    from core import lazyre as re      # then re.match(...), re.compile(...), re.error as usual

Why: `re` brings `enum` and its compiler along, about 2.5 ms of `hb simulate`'s start-up, and
each pattern costs 0.1-0.25 ms to compile in a fresh process, while most runs on a small CIB
need no regular expression at all: the patterns the engine uses are for rare inputs (rule
`regexp` and date expressions, rsc-pattern, node-health attributes, legacy fail-count names,
`-i` specifications) and for the history scanner of large documents. The common readings (a
score, a duration, a leading integer) are written with string methods where they are read.
A module that uses this one loads nothing until it calls into it; `re` is then loaded once,
and each name this module handed out is kept here (`globals()`), so later uses are plain
attribute look-ups. This is PEP 562's module `__getattr__`, not a function-level import
hiding a dependency of our own: `re` is a leaf of the standard library.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing (start-up, as above)
if TYPE_CHECKING:
    from typing import Any


def __getattr__(name: str) -> Any:  # any of re's names: a checker sees them as re declares them
    import re  # the point of this module: loaded on first use

    value = getattr(re, name)  # AttributeError for a name re does not have
    globals()[name] = value
    return value
