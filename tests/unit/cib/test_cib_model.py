"""The CIB model: XML round trip (unknown content kept), scores, durations, dates, rules,
name/value sets, history keys, and validation messages."""

from __future__ import annotations

import datetime as _dt

import pytest

from core.cib import dates
from core.cib.durations import interval_ms, msec
from core.cib.rules import IdIndex, RuleContext, RuleEvaluator, unpack_nvpairs
from core.cib.scores import INFINITY, add_scores, parse_score, score_text
from core.cib.status import op_key, parse_op_key, parse_transition_magic, strip_clone_suffix
from core.cib.validate import validate
from core.cib.xmltree import parse_xml, to_xml
from core.errors import ConfigError

CIB = """<cib epoch="3" num_updates="1" admin_epoch="0" validate-with="pacemaker-3.7" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/></nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="apache">
        <frobnicate id="x" level="11">text &amp; more</frobnicate>
      </primitive>
    </resources>
    <constraints/>
    <future-section id="f"/>
  </configuration>
  <status/>
</cib>"""


def test_round_trip_keeps_unknown_elements_attributes_and_text():
    tree = parse_xml(CIB)
    again = parse_xml(to_xml(tree))
    assert to_xml(again) == to_xml(tree)
    frob = again.find("configuration").find("resources").find("primitive").find("frobnicate")
    assert frob.get("level") == "11" and frob.text == "text & more"
    assert [c.tag for c in again.find("configuration")][-1] == "future-section"
    assert again.get("epoch") == "3"


def test_attribute_set_keeps_order_and_removes():
    node = parse_xml('<a x="1" y="2" z="3"/>')
    node.set("y", "20")
    node.set("w", "4")
    node.set("x", None)
    assert node.attrs() == {"y": "20", "z": "3", "w": "4"}


def test_malformed_xml_is_a_config_error_with_line():
    with pytest.raises(ConfigError, match=r"cib.xml:2"):
        parse_xml("<cib>\n<configuration></cib>", "cib.xml")


@pytest.mark.parametrize("text,value", [
    ("INFINITY", INFINITY), ("+INFINITY", INFINITY), ("-INFINITY", -INFINITY),
    ("100", 100), ("-5", -5), ("2000000", INFINITY), ("-2000000", -INFINITY),
    ("red", -INFINITY), ("green", 0), ("yellow", 0), ("12abc", 12), (None, 0)])
def test_parse_score(text, value):
    assert parse_score(text) == value


def test_score_arithmetic_saturates_with_minus_infinity_winning():
    assert add_scores(INFINITY, -INFINITY) == -INFINITY
    assert add_scores(-INFINITY, INFINITY) == -INFINITY
    assert add_scores(INFINITY, 5) == INFINITY
    assert add_scores(999999, 5) == INFINITY
    assert add_scores(-999999, -5) == -INFINITY
    assert add_scores(3, 4) == 7
    assert score_text(INFINITY) == "INFINITY" and score_text(-INFINITY) == "-INFINITY"


# ISO 8601 durations as crm_parse_interval_spec counts them (crm_time_get_seconds reads the
# duration as a date: days and years count from 1), checked against crm_simulate 2.1.5's
# monitor intervals (tests/pengine/generated/op-interval-iso-durations)
@pytest.mark.parametrize("text,ms", [("10s", 10000), ("10", 10000), ("1m", 60000),
                                     ("500ms", 500), ("2h", 7200000), ("P1DT1S", 1000),
                                     ("PT30S", 30000), ("P1D", 0), ("P2D", 86400000),
                                     ("P1W", 518400000), ("P1Y", 0), ("P1M", 2592000000),
                                     ("P2Y", 4294967295), ("5000000s", 4294967295),
                                     ("P", 0), ("junk", 0)])
def test_durations(text, ms):
    assert interval_ms(text) == ms


def test_msec_rejects_garbage():
    assert msec("soon") is None


def test_dates_parse_and_format():
    when = dates.parse_date("2005-020T12:30")
    assert (when.month, when.day, when.hour, when.minute) == (1, 20, 12, 30)
    week = dates.parse_date("2005-W02-3")
    assert week.date() == _dt.date(2005, 1, 12)
    assert dates.format_date(dates.from_epoch(1700000000)) == "2023-11-14 22:13:20Z"
    with pytest.raises(dates.DateError):
        dates.parse_date("yesterday")


def _eval(rule_xml: str, attrs: dict, now: str = "2023-11-14T12:00:00Z") -> bool:
    rule = parse_xml(rule_xml)
    ctx = RuleContext(now=dates.parse_date(now), node_attrs=attrs)
    return RuleEvaluator(IdIndex(rule)).rule_passes(rule, ctx)


def test_rules_on_node_attributes_and_dates():
    rule = ('<rule id="r" boolean-op="and"><expression id="e1" attribute="rack" operation="gt" '
            'value="2" type="number"/><expression id="e2" attribute="kind" operation="defined"/>'
            '</rule>')
    assert _eval(rule, {"rack": "10", "kind": "db"})
    assert not _eval(rule, {"rack": "10"})
    assert not _eval(rule, {"rack": "1", "kind": "db"})
    weekday = ('<rule id="w"><date_expression id="d" operation="date_spec">'
               '<date_spec id="ds" weekdays="1-5" hours="9-17"/></date_expression></rule>')
    assert _eval(weekday, {}, "2023-11-14T12:00:00Z")      # a Tuesday noon
    assert not _eval(weekday, {}, "2023-11-18T12:00:00Z")  # a Saturday


def test_nvpair_sets_by_score_and_rule():
    parent = parse_xml(
        '<primitive id="p"><meta_attributes id="low" score="1"><nvpair id="a" name="x" '
        'value="low"/></meta_attributes><meta_attributes id="high" score="10"><rule id="r">'
        '<expression id="e" attribute="site" operation="eq" value="a"/></rule><nvpair id="b" '
        'name="x" value="high"/></meta_attributes></primitive>')
    ids = IdIndex(parent)
    on_a, on_b = {}, {}
    unpack_nvpairs(parent, "meta_attributes", RuleContext(node_attrs={"site": "a"}), ids, into=on_a)
    unpack_nvpairs(parent, "meta_attributes", RuleContext(node_attrs={"site": "b"}), ids, into=on_b)
    assert on_a == {"x": "high"} and on_b == {"x": "low"}


def test_history_keys():
    assert op_key("rsc", "monitor", 10000) == "rsc_monitor_10000"
    assert parse_op_key("my_rsc_migrate_to_0") == ("my_rsc", "migrate_to", 0)
    assert parse_op_key("rsc:1_promote_0") == ("rsc:1", "promote", 0)
    assert parse_transition_magic("0:7;3:1:7:abc")[:2] == (0, 7)
    assert strip_clone_suffix("rsc:12") == "rsc"


def test_validation_points_at_element_and_problem():
    bad = parse_xml("""<cib><configuration><crm_config/><nodes/>
<resources>
<primitive id="a" class="ocf" type="Dummy"/>
<primitive id="a" class="lsb" type="x"/>
<group id="g"><clone id="c"/></group>
</resources>
<constraints><rsc_order id="o" first="a" then="zz" kind="Sometimes"/></constraints>
</configuration></cib>""", "cib.xml")
    text = [p.format("cib.xml") for p in validate(bad)]
    assert 'cib.xml:3: error: <primitive id="a">: ocf primitive without provider' in text
    assert any(t.startswith('cib.xml:4: error: <primitive id="a">: duplicate id') for t in text)
    assert any("a group may contain only primitives" in t for t in text)
    assert any("kind 'Sometimes'" in t for t in text)
    assert any(t.startswith("cib.xml:7: warning") and "'zz'" in t for t in text)
    assert validate(parse_xml(CIB)) and all(p.severity == "warning" for p in validate(parse_xml(CIB)))


PRIMITIVE_VALUES = """<cib validate-with="{schema}"><configuration><crm_config/><nodes/>
<resources>
<primitive id="noprov" class="ocf" type="Dummy"/>
<primitive id="badclass" class="bogus" type="x"/>
<primitive id="noclass" type="x"/>
<primitive id="notype" class="lsb"/>
</resources>
<constraints/>
</configuration></cib>"""


@pytest.mark.parametrize("schema,severity", [("pacemaker-3.7", "error"), ("none", "warning"),
                                             ("NONE", "warning")])
def test_a_primitive_the_schema_refuses_is_an_error_only_under_a_schema(schema, severity):
    """Under validate-with="none" Pacemaker schedules such a primitive (its actions then fail
    where they run): crm_simulate 2.1.5 plans them (tests/pengine/generated/primitive-*)."""
    problems = validate(parse_xml(PRIMITIVE_VALUES.format(schema=schema), "cib.xml"))
    got = {(p.line, p.severity, p.message) for p in problems}
    assert got == {(3, severity, "ocf primitive without provider"),
                   (4, severity, "unknown resource class 'bogus'"),
                   (5, severity, "primitive without class (ocf, lsb, stonith, ...)"),
                   (6, severity, "primitive without type (the agent name)")}


@pytest.mark.parametrize("ident", ["", " ", "a b", "tab\there", "nl\nx"])
def test_an_id_that_cannot_be_referred_to_is_an_error_with_its_line(ident):
    import re

    text = CIB.replace('<primitive id="', f'<primitive id="{ident}" x-was="', 1)
    problems = [p.format("cib.xml") for p in validate(parse_xml(text)) if p.severity == "error"]
    assert any(re.match(r"cib\.xml:\d+: error: <primitive id=.*>: id .* must be a non-empty name", p) for p in problems), problems


def test_duration_years_keep_the_day_of_the_year_as_crm_time_add_does():
    """Pacemaker keeps a date as a year and a day of that year: 100 years after day 226 of
    2000 (13 August, a leap year) is day 226 of 2100 (14 August); months go by the calendar."""
    utc = _dt.timezone.utc
    start = _dt.datetime(2000, 8, 13, tzinfo=utc)
    assert dates.add_duration(start, years=100) == _dt.datetime(2100, 8, 14, tzinfo=utc)
    assert dates.add_duration(start, years=4) == _dt.datetime(2004, 8, 13, tzinfo=utc)
    # day 366 that the new year lacks is the 1st of January after it
    assert dates.add_duration(_dt.datetime(2000, 12, 31, tzinfo=utc), years=1) == \
        _dt.datetime(2002, 1, 1, tzinfo=utc)
    assert dates.add_duration(_dt.datetime(2001, 1, 31, tzinfo=utc), months=1) == \
        _dt.datetime(2001, 2, 28, tzinfo=utc)
    assert dates.add_duration(start, years=1, months=1, days=1, hours=1) == \
        _dt.datetime(2001, 9, 15, 1, tzinfo=utc)


@pytest.mark.parametrize("value,accepted", [("-INFINITY", False), ("-11", False), ("-9", True),
                                            ("1.5abc", True), ("0x10", True), ("inf", True),
                                            ("junk", True), ("1e999", True)])
def test_number_comparisons_read_values_as_strtod(value, accepted):
    """type=number reads each side as strtod (pcmk__scan_double): `-INFINITY` is minus
    infinity, text after the number is ignored, hexadecimal is read; a value it cannot read or
    that overflows is compared as a string ("junk" > "-10", "1e999" > "-10")."""
    rule = parse_xml('<rule id="r" score="1"><expression id="e" attribute="w" operation="gt" '
                     'type="number" value="-10"/></rule>')
    ctx = RuleContext(now=_dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc),
                      node_attrs={"w": value})
    assert RuleEvaluator(IdIndex(rule)).rule_passes(rule, ctx) is accepted
