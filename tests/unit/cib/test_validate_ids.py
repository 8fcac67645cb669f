"""validate's reading of a bad id (a space or a character that is not printable) with two
string methods, checked against the per-character reading it replaces on every code point."""

from __future__ import annotations

import sys

from core.cib.validate import validate
from core.cib.xmltree import parse_xml


def _bad_per_character(ident: str) -> bool:
    return any(c.isspace() or not c.isprintable() for c in ident)


def _bad_as_validate_reads_it(ident: str) -> bool:
    return not ident.isprintable() or " " in ident


def test_every_code_point():
    """A string is bad when one of its characters is (both readings are per character at
    heart), so every character alone decides it."""
    differ = [hex(code) for code in range(sys.maxunicode + 1)
              if _bad_as_validate_reads_it(chr(code)) != _bad_per_character(chr(code))]
    assert not differ


def test_validate_reports_such_ids():
    cib = ('<cib><configuration><crm_config/><nodes/><resources>'
           '<primitive id="a&#9;b" class="ocf" provider="heartbeat" type="Dummy"/>'
           '<primitive id="a&#xA0;b" class="ocf" provider="heartbeat" type="Dummy"/>'
           '<primitive id="a b" class="ocf" provider="heartbeat" type="Dummy"/>'
           '<primitive id="ok-1" class="ocf" provider="heartbeat" type="Dummy"/>'
           '</resources><constraints/></configuration><status/></cib>')
    bad = [p for p in validate(parse_xml(cib)) if "must be a non-empty name" in p.message]
    assert len(bad) == 3
