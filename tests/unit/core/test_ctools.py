"""core/ctools.py hands out the C objects behind collections and functools: the same
behaviour as the facades (what the start-up saving must not change)."""

from __future__ import annotations

import collections
import functools
import operator
import pickle

from core import ctools
from core.cib.rules import NvSet
from core.cib.validate import Problem
from pengine.summary import Item, NodeItem


def test_the_objects_are_the_facades_own():
    assert ctools.deque is collections.deque
    assert ctools.cmp_to_key is functools.cmp_to_key
    assert (ctools.itemgetter, ctools.attrgetter, ctools.call) == \
        (operator.itemgetter, operator.attrgetter, operator.call)


def test_records_behave_as_the_namedtuples_they_replace():
    for record, args in ((Problem, ("error", 3, "<x>", "bad")), (NvSet, (None, "s1", 5)),
                         (Item, ("Start", "r1", "( n1 )", None)), (NodeItem, ("Fence n1",))):
        twin = collections.namedtuple(record.__name__, record._fields)(*args)
        made = record(*args)
        assert made == twin and made == tuple(args) and hash(made) == hash(twin)
        assert repr(made) == repr(twin)
        assert [getattr(made, name) for name in record._fields] == list(args)
        assert record(**dict(zip(record._fields, args))) == made
        first = record._fields[0]
        changed = made._replace(**{first: "other"})
        assert type(changed) is record and changed == twin._replace(**{first: "other"})
        assert made._asdict() == twin._asdict()
        again = pickle.loads(pickle.dumps(made))
        assert type(again) is record and again == made
        try:
            made.extra = 1  # type: ignore[attr-defined]
        except AttributeError:
            pass
        else:
            raise AssertionError(f"{record.__name__} took a new attribute")


def test_lru_cache_remembers_and_keeps_the_name():
    calls = []

    @ctools.lru_cache(maxsize=2)
    def square(x: int) -> int:
        """doc"""
        calls.append(x)
        return x * x

    assert [square(2), square(2), square(3), square(4), square(2)] == [4, 4, 9, 16, 4]
    assert calls == [2, 3, 4, 2]  # 2 was evicted by 3 and 4 (least recently used)
    assert square.__name__ == "square" and square.__doc__ == "doc"
