"""pengine/jsonout.py writes what json.dumps(indent=2, sort_keys=True) writes, for the plain data
`hb simulate --json` prints (it replaced the json module on hb simulate's import path)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pengine.jsonout import json_text

PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(PLAIN)
def test_same_text_as_json_dumps(value):
    assert json_text(value) == json.dumps(value, indent=2, sort_keys=True)


def test_escapes_and_nesting():
    value = {"b": ["x\"\\\n\x00\x7f", "é", "\U0001f600", None, True, -3], "a": {}, "c": []}
    assert json_text(value) == json.dumps(value, indent=2, sort_keys=True)


@pytest.mark.parametrize("value", [1.5, {1: "x"}, {"a": object()}])
def test_what_it_does_not_write_is_an_error(value):
    with pytest.raises(TypeError):
        json_text(value)
