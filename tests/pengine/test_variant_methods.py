"""Every resource carries its variant's method record (`rsc.methods`, pengine/methods.py), and
the records are complete: the phases call them without checking."""

from __future__ import annotations

import datetime as _dt
import pathlib

from core.cib.xmltree import parse_xml
from pengine import engine
from pengine.methods import VariantMethods
from pengine.model import CLONE, GROUP, PRIMITIVE, Resource
from pengine.variants import VARIANT_METHODS, load_all

CASES = pathlib.Path(__file__).resolve().parent / "cases"
NOW = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)


def _all(resources: list[Resource]) -> list[Resource]:
    out = []
    for rsc in resources:
        out.append(rsc)
        out.extend(_all(rsc.children))
    return out


def test_every_variant_has_a_complete_record():
    assert set(load_all()) == {PRIMITIVE, GROUP, CLONE}
    names = set(VariantMethods.__slots__) - {"name"}
    for variant, record in VARIANT_METHODS.items():
        for name in names:
            assert callable(getattr(record, name)), (record.name, name)
    assert len({id(r) for r in VARIANT_METHODS.values()}) == 3


def test_a_record_missing_a_step_is_refused():
    steps = {name: print for name in VariantMethods.__slots__ if name != "create_probe"}
    try:
        VariantMethods(**steps)
    except TypeError as exc:
        assert "create_probe" in str(exc)
    else:
        raise AssertionError("a record without create_probe was accepted")


def test_unpacked_resources_carry_their_variants_record():
    cib = parse_xml((CASES / "clone-with-group.xml").read_text())
    ws = engine.unpack_cib(cib, NOW)
    seen = set()
    for rsc in _all(ws.resources):
        assert rsc.methods is VARIANT_METHODS[rsc.variant], rsc.id
        seen.add(rsc.variant)
    assert seen == {PRIMITIVE, GROUP, CLONE}


def test_a_variant_on_demand_is_loaded_once_and_an_unknown_one_refused():
    """The clone record comes from importing pengine.clone, which registers it (the table's
    look-up of a missing on-demand variant); a variant nobody provides is a KeyError."""
    record = VARIANT_METHODS[CLONE]
    assert record.name == "clone" and VARIANT_METHODS[CLONE] is record
    try:
        VARIANT_METHODS[99]
    except KeyError:
        pass
    else:
        raise AssertionError("an unknown variant got a record")
