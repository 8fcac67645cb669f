"""pengine.inputcache: the daemon re-parses only the node_state sections whose text changed. A
tree built from cached sections must be the tree a whole parse gives, for every input, and the
decisions made on it the same."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import pathlib
import sys

from types import SimpleNamespace
from typing import Optional

import pytest

from core import spool
from core.cib import dates
from core.cib.xmltree import XNode, parse_xml, to_xml
from core.errors import ConfigError
from core.messages.pe import PePrime, PeSchedule
from core.sansio import Recv, Send
from pengine import engine, rscsettings
from pengine.digest import compute_digest, rsc_params
from pengine.daemon import PengineService
from pengine.entryindex import EntryIndex, UnfencingScan, new_index
from pengine.inputcache import InputCache, split_status
from pengine.opconfig import op_config
from pengine.process import WARM_CIB, PengineProcess
from pengine.rscsettings import SETTINGS, KeptSettings, read_settings
from pengine.unpack import _unfencing_pair_in, all_resources

HERE = pathlib.Path(__file__).resolve().parent
CASES = sorted((HERE.parent / "pengine" / "cases").glob("*.xml"))


def _same(text: str, cache: InputCache) -> None:
    assert to_xml(cache.parse(text, "t")) == to_xml(parse_xml(text, "t"))


@pytest.mark.parametrize("path", CASES[:40], ids=lambda p: p.stem)
def test_a_split_parse_is_the_whole_parse(path: pathlib.Path) -> None:
    cache = InputCache()
    text = path.read_text()
    _same(text, cache)
    _same(text, cache)  # the second time from cached sections


def _corpus_xml_files() -> list[pathlib.Path]:
    """Pacemaker's scheduler corpus inputs, where tests/pengine/corpus.py finds the corpus."""
    spec = importlib.util.spec_from_file_location("pengine_corpus_dir",
                                                  HERE.parent / "pengine" / "corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    sys.modules["pengine_corpus_dir"] = corpus  # (its dataclasses look their module up there)
    spec.loader.exec_module(corpus)
    directory = corpus.corpus_dir() / "xml"
    files = sorted(directory.glob("*.xml"))
    if not files:
        if os.environ.get("CI"):
            pytest.fail(f"{directory}: Pacemaker's scheduler corpus is missing")
        pytest.skip(f"{directory}: Pacemaker's scheduler corpus is missing")
    return files


def test_every_corpus_input_parses_the_same_split_or_not() -> None:
    files = _corpus_xml_files()
    cache = InputCache()
    for path in files:
        text = path.read_text()
        try:
            whole = to_xml(parse_xml(text, str(path)))
        except ConfigError as exc:
            with pytest.raises(ConfigError) as got:
                cache.parse(text, str(path))
            assert str(got.value) == str(exc)
            continue
        assert to_xml(cache.parse(text, str(path))) == whole, path
    assert cache.counters["split"] > len(files) // 2  # most inputs were split


STATUS = """<cib epoch="1"><configuration><nodes><node id="1" uname="a"/><node id="2" uname="b"/></nodes></configuration>
<status>
  <node_state id="1" uname="a" in_ccm="true" crmd="online">
    <lrm id="1"><lrm_resources><lrm_resource id="r" class="ocf" provider="pacemaker" type="Dummy">
      <lrm_rsc_op id="r_last_0" operation="start" rc-code="0" call-id="2" note="a &gt; b"/></lrm_resource></lrm_resources></lrm>
  </node_state>
  <node_state id="2" uname="b" in_ccm="true" crmd="online"/>
</status></cib>"""


def test_a_node_states_content_is_reused_while_unchanged_and_its_start_tag_read_again() -> None:
    cache = InputCache()
    first = cache.parse(STATUS, "t")
    # node a is lost (its start tag changes, its history does not); node b gets a history
    changed = STATUS.replace('uname="a" in_ccm="true" crmd="online"', 'uname="a" in_ccm="false" crmd="offline"')
    changed = changed.replace('<node_state id="2" uname="b" in_ccm="true" crmd="online"/>',
                              '<node_state id="2" uname="b" in_ccm="true" crmd="online"><lrm id="2"/></node_state>')
    second = cache.parse(changed, "t")
    assert cache.counters["sections_reused"] == 1 and cache.counters["sections_parsed"] == 2
    states = second.find("status").children
    assert states[0].get("in_ccm") == "false"
    assert states[0].children[0] is first.find("status").children[0].children[0]
    assert to_xml(second) == to_xml(parse_xml(changed, "t"))
    # node_state lines are lines of the whole document
    whole = parse_xml(changed, "t").find("status").children
    assert [s.line for s in states] == [s.line for s in whole] == [3, 7]


@pytest.mark.parametrize("text", [
    STATUS.replace("<status>", "<status><!-- <node_state id='9'/> -->"),
    STATUS.replace("</status>", "<tickets><ticket_state id='t' granted='true'/></tickets></status>"),
    STATUS.replace('<node_state id="2" uname="b" in_ccm="true" crmd="online"/>', "text <node_state id='2'/>"),
    STATUS.replace("<status>", "<status/><x>").replace("</status>", "</x>"),
])
def test_what_cannot_be_split_safely_is_parsed_whole(text: str) -> None:
    assert split_status(text.encode()) is None
    _same(text, InputCache())


def test_a_node_state_inside_a_node_state_is_parsed_as_the_whole_parser_reads_it() -> None:
    nested = STATUS.replace('<lrm id="1">', '<node_state id="9" uname="z"><lrm id="9"/></node_state><lrm id="1">')
    _same(nested, InputCache())
    cache = InputCache()
    cache.parse(STATUS, "t")
    _same(nested, cache)


def test_a_malformed_section_reports_the_line_of_the_whole_document() -> None:
    bad = STATUS.replace('call-id="2"', 'call-id="2" call-id="3"')
    with pytest.raises(ConfigError) as whole:
        parse_xml(bad, "t")
    cache = InputCache()
    cache.parse(STATUS, "t")
    with pytest.raises(ConfigError) as split:
        cache.parse(bad, "t")
    assert str(split.value) == str(whole.value)


def test_the_daemon_decides_the_same_with_reused_sections() -> None:
    """A run of transitions (a node lost, its resources moved, the node back) scheduled by one
    warm core and by fresh cores: the same graphs."""
    lost = WARM_CIB  # node a lost, its address still in its history
    base = WARM_CIB.replace('uname="a" in_ccm="false" crmd="offline" join="down"',
                            'uname="a" in_ccm="true" crmd="online" join="member"')
    assert base != lost
    inputs = [base, lost, base, lost, lost]
    warm = PengineProcess(1, save=False)
    for i, cib in enumerate(inputs):
        graphs = []
        for core in (warm, PengineProcess(1, save=False)):
            out = core.step(1000 * i, Recv(b"c", PeSchedule(i, i, cib)))
            reply = next(e.msg for e in out if isinstance(e, Send))
            assert reply.ok, reply.error
            graphs.append(reply.result["graph"])
        assert graphs[0] == graphs[1]
    assert warm.inputs.counters["sections_reused"] > 0


def _lines(node) -> list[tuple[str, int]]:
    return [(n.tag, n.line) for n in node.iter()]


def test_the_configuration_is_reused_with_the_lines_of_the_whole_document() -> None:
    text = "\n\n" + STATUS.replace("<configuration>", "<configuration>\n  <crm_config/>\n  ")
    cache = InputCache()
    first = cache.parse(text, "t")
    again = cache.parse(text.replace('crmd="online"/>', 'crmd="offline"/>'), "t")
    assert cache.counters["config_reused"] == 1
    assert again.find("configuration") is first.find("configuration")
    whole = parse_xml(text, "t")
    assert _lines(again.find("configuration")) == _lines(whole.find("configuration"))
    # a changed configuration is parsed again
    cache.parse(text.replace('uname="b"/>', 'uname="c"/>'), "t")
    assert cache.counters["config_reused"] == 1


def _kept_lines(node) -> list[tuple[str, bool]]:
    return [(n.tag, n.line != 0) for n in node.iter()]


@pytest.mark.parametrize("path", CASES[:40], ids=lambda p: p.stem)
def test_pieces_keep_line_numbers_at_the_depths_of_the_whole_document(path: pathlib.Path) -> None:
    """Each piece is parsed with its depth in the whole document: its elements keep a line
    where the whole parse keeps one (above depth 6; history entries none), the configuration's
    the very lines of the whole document (warnings name them), also below depth 6."""
    text = path.read_text()
    whole = parse_xml(text, "t")
    cache = InputCache()
    for _ in range(2):  # parsed, then from cached sections
        split = cache.parse(text, "t")
        assert _kept_lines(split) == _kept_lines(whole)
        if split_status(text.encode()) is not None and split.find("configuration") is not None:
            assert _lines(split.find("configuration")) == _lines(whole.find("configuration"))


def test_a_deep_configuration_element_has_the_line_of_the_whole_document() -> None:
    deep = STATUS.replace("</nodes>", "</nodes><resources><clone id='c'><group id='g'>\n"
                          "<primitive id='p' class='ocf' provider='heartbeat' type='Dummy'>\n"
                          "<operations><op id='o' name='monitor' interval='10s'/></operations>"
                          "</primitive></group></clone></resources>")
    whole = parse_xml(deep, "t")
    split = InputCache().parse(deep, "t")
    assert _lines(split.find("configuration")) == _lines(whole.find("configuration"))
    assert [n.line for n in split.iter("op")] == [0]  # below depth 6, as in the whole parse


def test_equal_values_are_held_once_across_the_sections_of_an_input() -> None:
    """Every node's section is parsed on its own, but a resource's history head is the same on
    every node: its value tuple is shared within an input and its value strings across the
    process (the memory a warm daemon keeps: docs/pengine.md)."""
    two = STATUS.replace('<node_state id="2" uname="b" in_ccm="true" crmd="online"/>',
                         '<node_state id="2" uname="b" in_ccm="true" crmd="online"><lrm id="2">'
                         '<lrm_resources><lrm_resource id="r" class="ocf" provider="pacemaker" '
                         'type="Dummy"><lrm_rsc_op id="r_last_0" operation="stop" rc-code="0" '
                         'call-id="3"/></lrm_resource></lrm_resources></lrm></node_state>')
    cache = InputCache()
    heads = list(cache.parse(two, "t").iter("lrm_resource"))
    assert len(heads) == 2 and heads[0].vals is heads[1].vals
    ops = list(cache.parse(two.replace('crmd="online"/>', 'crmd="offline"/>'), "t")
               .iter("lrm_rsc_op"))
    assert ops[0].get("id") is ops[1].get("id")
    # a section parsed in a later input shares the strings of the kept ones
    later = cache.parse(two.replace('call-id="3"', 'call-id="4"'), "t")
    ops = list(later.iter("lrm_rsc_op"))
    assert cache.counters["sections_reused"] >= 1
    assert ops[0].get("id") is ops[1].get("id") and ops[1].get("call-id") == "4"


@pytest.mark.parametrize("trick", [
    '<?pi </node_state><node_state id="7"> ?>',
    '<![CDATA[ </node_state> ]]>',
])
def test_false_markers_inside_a_section_end_in_the_whole_parse(trick: str) -> None:
    text = STATUS.replace('<lrm id="1">', f'{trick}<lrm id="1">')
    cache = InputCache()
    cache.parse(STATUS, "t")
    try:
        whole = to_xml(parse_xml(text, "t"))
    except ConfigError:
        with pytest.raises(ConfigError):
            cache.parse(text, "t")
        return
    assert to_xml(cache.parse(text, "t")) == whole


def _decide(core: PengineProcess, i: int, cib: str) -> tuple:
    out = core.step(1000 * i, Recv(b"c", PeSchedule(i, i, cib)))
    reply = next(e.msg for e in out if isinstance(e, Send))
    if not reply.ok:
        return ("error", reply.error)
    return (reply.result["graph"], reply.result["summary"], reply.result["warnings"])


@pytest.mark.slow
def test_every_corpus_input_is_decided_the_same_by_a_warm_core() -> None:
    """What a warm core keeps between transitions (parsed sections, facts on their elements,
    the entry index of pengine/rscactions.py, the agent rules of the previous transition, the
    op configurations kept on <operations> elements by pengine/opconfig.py) must
    decide exactly as a fresh core: each corpus input is scheduled twice in a row by one warm
    core (the second time from reused sections, after the previous input's rules) and once by
    a fresh core, with the same graph, summary and warnings."""
    files = _corpus_xml_files()
    warm = PengineProcess(1, save=False)
    step = 0
    for path in files:
        text = path.read_text()
        # then the first member node lost, the other sections reused as on a failover
        lost = text.replace('in_ccm="true"', 'in_ccm="false"', 1)
        for cib in (text, lost) if lost != text else (text,):
            fresh = _decide(PengineProcess(1, save=False), step, cib)
            for _ in range(2):
                assert _decide(warm, step, cib) == fresh, path
            step += 1
    assert warm.inputs.counters["sections_reused"] > len(files)


@pytest.mark.parametrize("pair, expected", [
    ('<nvpair id="u" name="requires" value="unfencing"/>', True),
    ('<nvpair id="u" name="requires" value="quorum"/>', False),
])
def test_the_unfencing_scan_answers_the_same_from_an_entry_index(pair: str, expected: bool) -> None:
    """unpack_config looks for provides/requires=unfencing anywhere, the status included; a
    reused lrm_resources element answers from its EntryIndex once walked."""
    tree = parse_xml(STATUS.replace('<lrm_rsc_op id="r_last_0"', pair + '<lrm_rsc_op id="r_last_0"'), "t")
    rscs = next(tree.iter("lrm_resources"))
    assert _unfencing_pair_in(tree) is expected  # walked
    rscs.rec = EntryIndex(rscs.children)
    assert _unfencing_pair_in(tree) is expected  # walked, remembered
    assert rscs.rec.unfencing is expected
    assert _unfencing_pair_in(tree) is expected  # from the index


# op_config keeps results on the resource's <operations> element (pengine/opconfig.py); a result
# is reused for the same element only under the same stamp, and one that evaluated rules is not
# kept at all. Each case: the same parsed tree scheduled under two conditions, against a tree
# parsed anew for each.
OPS_CIB = """<cib epoch="1" have-quorum="1"><configuration><crm_config>{options}</crm_config>
<nodes><node id="1" uname="a"/></nodes>
<resources><primitive id="r" class="ocf" provider="pacemaker" type="Dummy"><operations>
<op id="r-mon" name="monitor" interval="10s"/><op id="r-stop" name="stop" interval="0"/>
<op id="r-start" name="start" interval="0" timeout="40s"/></operations></primitive></resources>
{op_defaults}</configuration><status/></cib>"""
DATED_TIMEOUT = """<cluster_property_set id="o" score="10"><rule id="o-r" score="0">
<date_expression id="o-d" operation="lt" end="2030-01-01"/></rule>
<nvpair id="o-t" name="default-action-timeout" value="30s"/></cluster_property_set>"""
DATED_DEFAULTS = """<op_defaults><meta_attributes id="od"><rule id="od-r" score="0">
<date_expression id="od-d" operation="lt" end="2030-01-01"/></rule>
<nvpair id="od-t" name="timeout" value="77s"/></meta_attributes></op_defaults>"""


def _op_configs(cib: XNode, year: int, stonith: Optional[bool] = None) -> list[tuple]:
    now = dates.from_epoch(int(dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc).timestamp()))
    ws = engine.unpack_cib(cib, now)
    if stonith is not None:
        ws.stonith_enabled = stonith
    rsc = ws.rsc_by_id["r"]
    out = []
    for key, task, interval in (("r_monitor_10000", "monitor", 10000), ("r_stop_0", "stop", 0),
                                ("r_start_0", "start", 0), ("r_monitor_0", "monitor", 0)):
        cfg = op_config(ws, rsc, key, task, interval)
        out.append((None if cfg.op_entry is None else cfg.op_entry.get("id"), dict(cfg.meta),
                    cfg.on_fail, cfg.fail_role, cfg.needs))
    return out


@pytest.mark.parametrize("options, op_defaults, first, then", [
    # a stop's on-fail follows stonith-enabled, read from the working set each run
    ("", "", {"stonith": True}, {"stonith": False}),
    # default-action-timeout from a crm_config rule that the time changes
    (DATED_TIMEOUT, "", {"year": 2029}, {"year": 2031}),
    # an op_defaults set with a date rule: not kept
    ("", DATED_DEFAULTS, {"year": 2029}, {"year": 2031}),
])
def test_a_kept_op_config_is_the_one_computed_afresh(options: str, op_defaults: str, first: dict,
                                                     then: dict) -> None:
    text = OPS_CIB.format(options=options, op_defaults=op_defaults)
    kept = parse_xml(text, "t")
    results = []
    for cond in (first, then, first):
        year = cond.get("year", 2026)
        fresh = _op_configs(parse_xml(text, "t"), year, cond.get("stonith"))
        assert _op_configs(kept, year, cond.get("stonith")) == fresh
        results.append(fresh)
    assert results[0] != results[1]  # the condition matters
    ops = next(kept.iter("operations"))
    assert ops.rec.configs or op_defaults  # kept unless rules were evaluated
    if op_defaults:
        assert not ops.rec.configs


@pytest.mark.parametrize("pair, expected", [
    ('<nvpair id="u" name="provides" value="unfencing"/>', True),
    ('<nvpair id="u" name="provides" value="fencing"/>', False),
])
def test_the_first_unfencing_scan_is_kept_for_the_entry_index(pair: str, expected: bool) -> None:
    """The first transition walks an element before it has an entry index: the answer is kept
    (UnfencingScan) and the index built later takes it over, so that the next transition does
    not walk the element again; an element changed since is walked again."""
    tree = parse_xml(STATUS.replace('<lrm_rsc_op id="r_last_0"', pair + '<lrm_rsc_op id="r_last_0"'), "t")
    rscs = next(tree.iter("lrm_resources"))
    assert _unfencing_pair_in(tree) is expected
    assert isinstance(rscs.rec, UnfencingScan) and rscs.rec.unfencing is expected
    index = new_index(rscs)
    assert index.unfencing is expected
    rscs.rec = index
    assert _unfencing_pair_in(tree) is expected  # from the index
    # a scan of other children (an entry added since) is not taken over
    rscs.rec = UnfencingScan(rscs.children, not expected)
    rscs.children = list(rscs.children)
    assert new_index(rscs).unfencing is None
    rscs.rec = UnfencingScan(rscs.children, not expected)
    rscs.children.append(parse_xml('<lrm_resource id="x"/>'))
    assert new_index(rscs).unfencing is None
    assert _unfencing_pair_in(tree) is expected  # walked again


# pengine/rscsettings.py: a resource's meta-attributes and settings are kept on its element under
# a stamp of what else they read. The same parsed tree is unpacked under conditions that change
# one part of the stamp each (cluster options under date rules, the parent's meta-attributes,
# unfencing found in the status) and compared with a tree parsed anew; a result that evaluated a
# rule or an id-ref is not kept at all.
SETTINGS_CIB = """<cib epoch="1" have-quorum="{quorum}"><configuration><crm_config>
<cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="{stonith}"/>
</cluster_property_set>{options}</crm_config>
<nodes><node id="1" uname="a"/><node id="2" uname="b"/></nodes>
<resources><group id="g">{group_meta}
<primitive id="g1" class="ocf" provider="pacemaker" type="Dummy"/>
<primitive id="g2" class="ocf" provider="pacemaker" type="Dummy">{own_meta}</primitive></group>
<clone id="c"><primitive id="d" class="ocf" provider="pacemaker" type="Stateful"/></clone>
<primitive id="f" class="stonith" type="fence_dummy"/></resources>
{rsc_defaults}</configuration><status>{status}</status></cib>"""


def _dated(ident: str, tag: str, name: str, value: str, end: int = 2030) -> str:
    """A set that applies before the year `end` only."""
    return (f'<{tag} id="{ident}"><rule id="{ident}-r" score="0"><date_expression id="{ident}-d" '
            f'operation="lt" end="{end}-01-01"/></rule><nvpair id="{ident}-n" name="{name}" '
            f'value="{value}"/></{tag}>')


_RSC_DEFAULTS = ('<rsc_defaults><meta_attributes id="rd0"><nvpair id="rd0-s" '
                 'name="resource-stickiness" value="1"/></meta_attributes></rsc_defaults>')
UNFENCING_STATUS = """<node_state id="1" uname="a" in_ccm="true" crmd="online" join="member"
expected="member"><transient_attributes id="1"><instance_attributes id="s-1">
<nvpair id="s-1-u" name="requires" value="unfencing"/></instance_attributes>
</transient_attributes></node_state>"""


def _settings(cib: XNode, year: int, keep: bool = True) -> tuple:
    """What unpack_resources made of every resource, and what it reported (`keep`: as the
    daemon unpacks, keeping and reusing what rscsettings.py keeps; else nothing kept)."""
    now = dates.from_epoch(int(dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc).timestamp()))
    ws = engine.unpack_cib(cib, now, keep_derived=keep)
    out = []
    for top in ws.resources:
        for rsc in all_resources(top):
            out.append((rsc.id, list(rsc.meta.items()), read_settings(rsc)))
    return out, list(ws.warnings), list(ws.unsupported), ws.have_stonith_resource


def _kept_ids(cib: XNode) -> set[str]:
    return {node.get("id") or "" for node in cib.iter()
            if isinstance(node.rec, KeptSettings) and node.rec.by_stamp}


@pytest.mark.parametrize("fields, first, then, kept", [
    # cluster options that a date rule changes while the configuration's text stays the same
    ({"options": _dated("m", "cluster_property_set", "maintenance-mode", "true")},
     {"year": 2029}, {"year": 2031}, {"g", "g1", "g2", "c", "d", "f"}),
    ({"options": _dated("m", "cluster_property_set", "is-managed-default", "false")},
     {"year": 2029}, {"year": 2031}, {"g", "g1", "g2", "c", "d", "f"}),
    ({"options": _dated("m", "cluster_property_set", "stonith-enabled", "false")},
     {"year": 2029}, {"year": 2031}, {"g", "g1", "g2", "c", "d", "f"}),
    # (what a resource requires follows no-quorum-policy without fencing)
    ({"options": _dated("m", "cluster_property_set", "no-quorum-policy", "ignore"),
      "stonith": "false"}, {"year": 2029}, {"year": 2031}, {"g", "g1", "g2", "c", "d", "f"}),
    # unfencing required by an nvpair of the status: the configuration is the same tree
    ({}, {"status": UNFENCING_STATUS}, {"status": ""}, {"g", "g1", "g2", "c", "d", "f"}),
    # the parent's meta-attributes with a rule, read again for each member (an rsc_expression
    # there sees the member's agent, so the parent's meta does not stand for them): kept
    # neither for it nor for them
    ({"group_meta": _dated("gm", "meta_attributes", "target-role", "Stopped")},
     {"year": 2029}, {"year": 2031}, {"c", "d", "f"}),
    # a rule in the resource's own set, in rsc_defaults: not kept
    ({"own_meta": _dated("om", "meta_attributes", "is-managed", "false")},
     {"year": 2029}, {"year": 2031}, {"g", "g1", "c", "d", "f"}),
    ({"rsc_defaults": "<rsc_defaults>" + _dated("rd", "meta_attributes", "resource-stickiness",
                                                 "7") + "</rsc_defaults>"},
     {"year": 2029}, {"year": 2031}, set()),
    # an id-ref, here to a set elsewhere whose rule the time changes: not kept
    ({"own_meta": '<meta_attributes id-ref="om"/>',
      "rsc_defaults": _RSC_DEFAULTS + "<op_defaults>"
                      + _dated("om", "meta_attributes", "is-managed", "false") + "</op_defaults>"},
     {"year": 2029}, {"year": 2031}, {"g", "g1", "c", "d", "f"}),
])
def test_kept_resource_settings_are_the_ones_computed_afresh(fields: dict, first: dict,
                                                              then: dict, kept: set) -> None:
    base = {"quorum": "1", "stonith": "true", "options": "", "group_meta": "", "own_meta": "",
            "rsc_defaults": _RSC_DEFAULTS,
            "status": ""}
    base.update(fields)

    def text_for(cond: dict) -> str:
        return SETTINGS_CIB.format(**{**base, **{k: v for k, v in cond.items() if k != "year"}})

    kept_tree = parse_xml(text_for(first), "t")
    config = kept_tree.find("configuration")
    results = []
    for cond in (first, then, first, then):
        fresh = _settings(parse_xml(text_for(cond), "t"), cond.get("year", 2026), keep=False)
        # the kept tree's configuration (as the daemon reuses it) under this input's root
        reused = parse_xml(text_for(cond), "t")
        reused.children[[c.tag for c in reused.children].index("configuration")] = config
        assert _settings(reused, cond.get("year", 2026)) == fresh
        results.append(fresh)
    assert results[0] != results[1]  # the condition matters
    assert _kept_ids(config) == kept


def test_kept_resource_settings_follow_the_rsc_defaults_element() -> None:
    """A kept result holds the rsc_defaults element it read: under another one (a tree put
    together from pieces), the settings are computed again."""
    def text_for(stickiness: str) -> str:
        return SETTINGS_CIB.format(quorum="1", stonith="true", options="", group_meta="",
                                   own_meta="", status="",
                                   rsc_defaults=_RSC_DEFAULTS.replace('value="1"',
                                                                      f'value="{stickiness}"'))
    tree = parse_xml(text_for("1"), "t")
    assert _settings(tree, 2026)[0][0][2][SETTINGS.index("stickiness")] == 1
    config = tree.find("configuration")
    other = parse_xml(text_for("5"), "t").find("configuration").find("rsc_defaults")
    config.children[[c.tag for c in config.children].index("rsc_defaults")] = other
    once = parse_xml(text_for("5"), "t")
    fresh = _settings(once, 2026, keep=False)
    assert not _kept_ids(once)  # a run that parses its input once (hb simulate) keeps nothing
    assert _settings(tree, 2026) == fresh
    assert fresh[0][0][2][SETTINGS.index("stickiness")] == 5


def test_a_warm_core_decides_as_a_fresh_one_when_what_kept_settings_read_changes() -> None:
    """The daemon reuses the configuration's elements while its text is the same: a run of
    inputs with one configuration whose steps change, one at a time, what the kept resource
    settings depend on (the time, for options under date rules; unfencing required from the
    status; quorum) is decided by one warm core as by fresh cores."""
    # before 2030 in maintenance, before 2032 ignoring quorum, before 2034 without fencing
    # (what a resource requires follows the quorum policy then): each year below changes one
    options = "".join(_dated(f"m{i}", "cluster_property_set", name, value, end)
                      for i, (name, value, end) in enumerate((
                          ("maintenance-mode", "true", 2030), ("no-quorum-policy", "ignore", 2032),
                          ("stonith-enabled", "false", 2034))))
    node = ('<node_state id="2" uname="b" in_ccm="true" crmd="online" join="member" '
            'expected="member"/>')

    def text_for(quorum: str, status: str) -> str:
        return SETTINGS_CIB.format(quorum=quorum, stonith="true", options=options,
                                   group_meta="", own_meta="", rsc_defaults=_RSC_DEFAULTS,
                                   status=status + node)
    year_ms = {year: int(dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc).timestamp()) * 1000
               for year in (2029, 2031, 2033, 2035)}
    steps = [(2029, text_for("0", "")), (2031, text_for("0", "")), (2033, text_for("0", "")),
             (2035, text_for("0", "")), (2033, text_for("0", "")), (2031, text_for("0", "")),
             (2031, text_for("1", "")), (2031, text_for("1", UNFENCING_STATUS)),
             (2035, text_for("1", UNFENCING_STATUS)), (2035, text_for("1", ""))]
    warm = PengineProcess(1, save=False)
    decisions = []
    for i, (year, cib) in enumerate(steps):
        got = [core.step(year_ms[year] + i, Recv(b"c", PeSchedule(i, i, cib)))
               for core in (warm, PengineProcess(1, save=False))]
        replies = [next(e.msg for e in out if isinstance(e, Send)) for out in got]
        assert replies[0].ok, replies[0].error
        assert (replies[0].result["graph"], replies[0].result["summary"],
                replies[0].result["warnings"]) == \
            (replies[1].result["graph"], replies[1].result["summary"],
             replies[1].result["warnings"]), (i, year)
        decisions.append(replies[0].result["summary"])
    assert warm.inputs.counters["config_reused"] == len(steps) - 1
    assert len({tuple(d) for d in decisions}) > 2  # the steps decide differently


PARAMS_CIB = """<cib epoch="1" have-quorum="1"><configuration><crm_config/>
<nodes><node id="1" uname="a"><instance_attributes id="na"><nvpair id="na-z" name="zone"
value="{zone}"/></instance_attributes></node></nodes>
<resources><primitive id="r" class="ocf" provider="pacemaker" type="Dummy">{params}</primitive>
</resources></configuration><status/></cib>"""
STATIC_PARAMS = ('<instance_attributes id="p"><nvpair id="p-a" name="a" value="1"/>'
                 '</instance_attributes><instance_attributes id="q" score="5"><nvpair id="q-a" '
                 'name="a" value="2"/></instance_attributes>')
ZONED_PARAMS = ('<instance_attributes id="p"><rule id="p-r" score="0"><expression id="p-e" '
                'attribute="zone" operation="eq" value="east"/></rule><nvpair id="p-a" name="a" '
                'value="east"/></instance_attributes>')


@pytest.mark.parametrize("params, first, then, kept", [
    (STATIC_PARAMS, "east", "west", True),  # the same whatever the node: kept
    (ZONED_PARAMS, "east", "west", False),  # a rule on a node attribute: not kept
    ('<instance_attributes id-ref="na"/>', "east", "west", False),  # an id-ref: not kept
])
def test_kept_instance_attributes_are_the_ones_computed_afresh(params: str, first: str, then: str,
                                                                kept: bool) -> None:
    """digest.rsc_params keeps a resource's instance attributes on its element only when no
    set has a rule or an id-ref; under the same configuration tree with a node attribute that
    changes, what is kept or computed is what a tree parsed anew gives."""
    def params_of(tree: XNode, keep: bool = True) -> dict[str, str]:
        ws = engine.unpack_cib(tree, dates.from_epoch(0), keep_derived=keep)
        return dict(rsc_params(ws, ws.rsc_by_id["r"], ws.nodes[0]))

    kept_tree = parse_xml(PARAMS_CIB.format(zone=first, params=params), "t")
    primitive = next(kept_tree.iter("primitive"))
    results = []
    for zone in (first, then, first):
        text = PARAMS_CIB.format(zone=zone, params=params)
        fresh = params_of(parse_xml(text, "t"), keep=False)
        # the kept tree's resources under this input's nodes (their attributes changed)
        reused = parse_xml(text, "t")
        config = reused.find("configuration")
        config.children[[c.tag for c in config.children].index("resources")] = \
            kept_tree.find("configuration").find("resources")
        assert params_of(reused) == fresh
        results.append(fresh)
    assert (results[0] == results[1]) is kept
    assert (isinstance(primitive.rec, KeptSettings) and primitive.rec.params is not None) is kept


DIGEST_CIB = """<cib epoch="1" have-quorum="1"><configuration><crm_config/>
<nodes><node id="1" uname="a"><instance_attributes id="na"><nvpair id="na-z" name="zone"
value="east"/></instance_attributes></node><node id="2" uname="b"><instance_attributes id="nb">
<nvpair id="nb-z" name="zone" value="west"/></instance_attributes></node></nodes>
<resources><primitive id="r" class="ocf" provider="pacemaker" type="Dummy">{params}<operations>
<op id="r-mon" name="monitor" interval="10s" timeout="30s">{op_params}</op>
<op id="r-start" name="start" interval="0">{op_params}</op></operations></primitive>
</resources></configuration><status/></cib>"""


@pytest.mark.parametrize("params, op_params, kept", [
    (STATIC_PARAMS, '<instance_attributes id="o"><nvpair id="o-x" name="x" value="1"/>'
                    '</instance_attributes>', True),
    # the resource's parameters differ by node: one kept set per node's parameters
    (ZONED_PARAMS, "", True),
    # the op's own parameters under a date rule: not kept
    (STATIC_PARAMS, _dated("o", "instance_attributes", "x", "2"), False),
])
def test_kept_digest_parameters_are_the_ones_computed_afresh(params: str, op_params: str,
                                                              kept: bool) -> None:
    """digest._digest_params keeps an action's digest parameters on its OpConfig by the
    resource's parameters, unless the op's own instance attributes have a rule or an id-ref:
    under one configuration tree, over the years and nodes, every digest is the one computed
    afresh."""
    text = DIGEST_CIB.format(params=params, op_params=op_params)

    def digests(tree: XNode, year: int, keep: bool = True) -> list[str]:
        now = dates.from_epoch(int(dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc).timestamp()))
        ws = engine.unpack_cib(tree, now, keep_derived=keep)
        rsc = ws.rsc_by_id["r"]
        return [compute_digest(ws, rsc, node, task, interval) for node in ws.nodes
                for task, interval in (("monitor", 10000), ("start", 0))]

    kept_tree = parse_xml(text, "t")
    results = []
    for year in (2029, 2031, 2029):
        fresh = digests(parse_xml(text, "t"), year, keep=False)  # nothing kept
        assert digests(kept_tree, year) == fresh
        results.append(fresh)
    assert (results[0] == results[1]) is kept  # (a dated op parameter changes them)
    assert len(set(results[0])) == 4 or params == STATIC_PARAMS  # zoned: per node
    configs = next(kept_tree.iter("operations")).rec.configs.values()
    assert any(cfg.digests for cfg in configs) is kept


def test_a_primed_input_is_only_parsed_and_the_next_schedule_reuses_it():
    """pe.prime (a member's quiet replica): nothing answered, saved or scheduled; the sections
    are in the cache for the schedule that follows; an unreadable one is counted, not fatal."""
    core = PengineProcess(1, save=False)
    assert core.step(0, Recv(b"crmd", PePrime("<cib><configuration>"))) == []
    assert core.counters["prime_errors"] == 1
    assert core.step(0, Recv(b"crmd", PePrime(WARM_CIB))) == []
    assert core.counters["primed"] == 1 and core.counters["scheduled"] == 0
    reused = core.inputs.counters["config_reused"]
    out = core.step(1000, Recv(b"crmd", PeSchedule(7, 1, WARM_CIB)))
    assert any(isinstance(e, Send) for e in out) and core.counters["scheduled"] == 1
    assert core.inputs.counters["config_reused"] == reused + 1


def _history(rsc: str, node: str, op: str, rc: int, call: int, interval: int = 0) -> str:
    key = f"{rsc}_{op}_{interval}"
    return (f'<lrm_rsc_op id="{key}" operation_key="{key}" operation="{op}" '
            f'transition-key="{call}:1:7:x" transition-magic="0:{rc};{call}:1:7:x" on_node="{node}" '
            f'call-id="{call}" rc-code="{rc}" op-status="0" interval="{interval}" '
            f'last-rc-change="1" exec-time="1" queue-time="0" op-digest="0"/>')


def _probed_cib(failed: str, duplicate: bool) -> str:
    """Three nodes; r failed to start on node `failed` (on-fail=stop: the next role stopped,
    which a probe-only entry read after it sets back) and probed not running on the others;
    s and t probed everywhere; with `duplicate`, a second entry of t on node c."""
    def entry(rsc: str, ops: str) -> str:
        return (f'<lrm_resource id="{rsc}" type="Dummy" class="ocf" provider="pacemaker">{ops}'
                '</lrm_resource>')
    states = []
    for call, node in enumerate("abc", 10):
        entries = [entry("r", _history("r", node, "monitor", 7, call) if node != failed else
                         _history("r", node, "start", 1, call)),
                   entry("s", _history("s", node, "monitor", 7, call + 10)),
                   entry("t", _history("t", node, "monitor", 7, call + 20))]
        if duplicate and node == "c":
            entries.append(entry("t", _history("t", node, "monitor", 7, call + 30)))
        states.append(f'<node_state id="{node}" uname="{node}" in_ccm="true" crmd="online" '
                      f'join="member" expected="member"><lrm id="{node}"><lrm_resources>'
                      + "".join(entries) + '</lrm_resources></lrm></node_state>')
    prims = "".join(
        f'<primitive id="{rsc}" class="ocf" provider="pacemaker" type="Dummy"><operations>'
        f'<op id="{rsc}-start" name="start" interval="0" on-fail="stop"/></operations></primitive>'
        for rsc in "rst")
    return ('<cib admin_epoch="0" epoch="1" num_updates="1" have-quorum="1" dc-uuid="a">'
            '<configuration><crm_config><cluster_property_set id="o">'
            '<nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set>'
            '</crm_config><nodes><node id="a" uname="a"/><node id="b" uname="b"/>'
            f'<node id="c" uname="c"/></nodes><resources>{prims}</resources><constraints/>'
            '</configuration><status>' + "".join(states) + '</status></cib>')


@pytest.mark.parametrize("failed, duplicate", [("b", False), ("b", True), ("c", False)])
def test_probe_only_entries_applied_per_resource_decide_as_in_document_order(
        failed: str, duplicate: bool) -> None:
    """A reused section's probe-only entries are applied per resource (status._unpack_reused),
    not in place: a resource's entry read in full among them (r's failed start, whose
    on-fail=stop a probe-only entry read after it overrides) sees and leaves the same state,
    so a warm core decides as a fresh one. A section where an id of a probe-only entry
    occurs twice gets no such shortcut (its index has no fast_ids)."""
    cib = _probed_cib(failed, duplicate)
    warm = PengineProcess(1, save=False)
    for step in range(3):
        fresh = _decide(PengineProcess(1, save=False), step, cib)
        assert fresh[0] != "error", fresh
        assert _decide(warm, step, cib) == fresh
    status = warm.inputs.parse(cib, "<t>").find("status")
    indexes = {state.get("uname"): state.find("lrm").find("lrm_resources").rec
               for state in status.children}
    assert all(isinstance(index, EntryIndex) for index in indexes.values())
    for node, index in indexes.items():
        if node == "c" and duplicate:
            assert index.fast_ids is None
        elif node == failed:
            assert index.fast_ids == ("s", "t") and index.others == (0,)
        else:
            assert index.fast_ids == ("r", "s", "t") and index.others == ()


# the input as received: UTF-8 bytes (PeSchedule.cib), cut, hashed, parsed and saved as such

_NON_ASCII = WARM_CIB.replace('<nodes><node id="a" uname="a"/>',
                              '<nodes><node id="a" uname="a" description="n\u0153ud \u00e9t\u00e9"/>')


def _decision(core: PengineProcess, i: int, cib: str | bytes) -> tuple:
    out = core.step(1000 * i, Recv(b"c", PeSchedule(i, i, cib)))
    reply = next(e.msg for e in out if isinstance(e, Send))
    saved = [e.xml for e in out if type(e).__name__ == "SaveInput"]
    return reply.ok, reply.error, reply.result and {k: v for k, v in reply.result.items()}, saved


@pytest.mark.parametrize("text", [WARM_CIB, _NON_ASCII, "<!-- whole -->\n" + _NON_ASCII],
                         ids=["split", "non-ascii", "parsed-whole"])
def test_a_bytes_input_is_decided_and_saved_as_its_text(text: str) -> None:
    """The same decision from the bytes as from the text, fresh and warm (the sections then
    reused, their byte offsets past non-ASCII characters), and the saved input the text's
    own bytes (its new root start tag included)."""
    by_text, by_bytes = PengineProcess(1), PengineProcess(1)
    for i in (1, 2):
        ok, error, result, saved = _decision(by_text, i, text)
        got = _decision(by_bytes, i, text.encode())
        assert ok and got[:3] == (ok, error, result)
        assert got[3] == [saved[0].encode()] and isinstance(got[3][0], bytes)
    assert by_bytes.inputs.counters == by_text.inputs.counters


def test_a_declared_encoding_other_than_utf8_is_still_read_as_utf8() -> None:
    """The input was a str, which expat reads as UTF-8 whatever the declaration says; its
    bytes are too (parsed whole: a piece cut from it would lose the declaration)."""
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>\n' + _NON_ASCII
    cache = InputCache()
    tree = cache.parse(text.encode(), "t")
    assert to_xml(tree) == to_xml(parse_xml(text, "t"))
    assert cache.counters["split"] == 0


@pytest.mark.parametrize("text", ['<cib><configuration><nodes><node id="\u00e9" x="1" x="2"/>'
                                  '</nodes></configuration><status/></cib>',
                                  _NON_ASCII.replace("</lrm_resources></lrm></node_state>",
                                                     "</lrm></node_state>", 1)])
def test_a_malformed_bytes_input_gets_the_error_of_its_text(text: str) -> None:
    with pytest.raises(ConfigError) as by_text:
        parse_xml(text, "t")
    with pytest.raises(ConfigError) as by_bytes:
        InputCache().parse(text.encode(), "t")
    assert str(by_bytes.value) == str(by_text.value)


# a large input handed over by file (core/spool.py): mapped, read front to back, each part
# given back once read, so that the 175 MB input at 32 nodes / 10,000 resources is never
# resident whole in the daemon

class _Released(bytes):
    """Bytes that record what a reader gives back (`Mapped.release_below`'s calls)."""

    calls: list[int]

    def release_below(self, offset: int) -> None:
        self.calls.append(offset)


def _released(text: str) -> _Released:
    data = _Released(text.encode())
    data.calls = []
    return data


def test_a_mapped_input_is_given_back_section_by_section() -> None:
    text = _NON_ASCII
    data = _released(text)
    cache = InputCache()
    assert to_xml(cache.parse(data, "t")) == to_xml(parse_xml(text, "t"))
    spans = split_status(bytes(data))
    assert spans is not None and len(spans[2]) == 2
    # the skeleton and configuration once read, then each node_state, then the whole at the end
    assert data.calls == [spans[0]] + [end for _, _, end in spans[2]] + [len(data)]
    again = _released(text)
    assert to_xml(cache.parse(again, "t")) == to_xml(parse_xml(text, "t"))  # (reused sections)
    assert again.calls == data.calls and cache.counters["sections_reused"] == 2


def test_a_mapped_input_that_cannot_be_cut_is_parsed_whole_and_given_back() -> None:
    text = _NON_ASCII.replace("</node_state>\n<node_state", "</node_state><!-- x -->\n<node_state")
    assert text != _NON_ASCII
    data = _released(text)
    cache = InputCache()
    assert to_xml(cache.parse(data, "t")) == to_xml(parse_xml(text, "t"))
    assert cache.counters["split"] == 0 and data.calls[-1] == len(data)


def test_a_spooled_input_is_decided_and_saved_as_its_bytes(tmp_path: pathlib.Path) -> None:
    """A CIB handed over by file (the field a core.spool.Mapped) gives the decision and the
    saved file its bytes give, fresh and warm, and the saved file is written from the mapping
    by the shell (pengine/daemon.py) as the bytes' is."""
    writer = spool.Spool(str(tmp_path / "spool"), "crmd")
    by_bytes, by_file = PengineProcess(1), PengineProcess(1)
    for i in (1, 2):
        data = _NON_ASCII.encode()
        mapped = spool.open_mapped(str(tmp_path / "spool"), writer.write(data), len(data))
        assert isinstance(mapped, spool.Mapped)
        want, got = (core.step(1000 * i, Recv(b"c", PeSchedule(i, i, cib)))
                     for core, cib in ((by_bytes, data), (by_file, mapped)))
        assert [e for e in want if isinstance(e, Send)] == [e for e in got if isinstance(e, Send)]
        files = []
        for name, out in (("bytes", want), ("file", got)):
            shell = SimpleNamespace(directory=str(tmp_path / name))
            os.makedirs(shell.directory, exist_ok=True)
            PengineService.save(shell, next(e for e in out if type(e).__name__ == "SaveInput"))
            files.append((tmp_path / name / f"pe-input-{i}.xml").read_bytes())
        assert files[0] == files[1] and b'execution-date="' in files[1][:200]
    assert by_file.inputs.counters == by_bytes.inputs.counters


def test_kept_settings_are_written_back_each_on_its_name() -> None:
    """rscsettings.write_settings (a kept result applied in one assignment) is read_settings'
    inverse: each of SETTINGS' values lands on its own name (a name missing, misspelt or out
    of order fails)."""
    target = SimpleNamespace()
    values = tuple(f"value of {name}" for name in rscsettings.SETTINGS)
    rscsettings.write_settings(target, values)
    assert vars(target) == dict(zip(rscsettings.SETTINGS, values))
    assert rscsettings.read_settings(target) == values


def _states(*contents: str) -> str:
    """A document whose status holds one node_state per content, in order."""
    states = "".join(f'<node_state id="{i}" uname="n{i}" in_ccm="true" crmd="online">'
                     f'{content}</node_state>' for i, content in enumerate(contents, 1))
    return f'<cib epoch="1"><configuration/><status>{states}</status></cib>'


def _attrs(ident: str, value: str) -> str:
    return (f'<transient_attributes id="{ident}"><instance_attributes id="{ident}-i">'
            f'<nvpair id="{ident}-n" name="a" value="{value}"/></instance_attributes>'
            f'</transient_attributes>')


def test_a_reused_section_found_where_the_last_input_had_it_is_cut_there() -> None:
    """The end of a section is taken without a search where the last input's section at the
    same place ended, when its content there is a kept section's (InputCache._known_close):
    the same tree as a whole parse, each section reused."""
    first, second = _attrs("1", "x"), _attrs("2", "y")
    cache = InputCache()
    cache.parse(_states(first, second), "t")
    text = _states(first, second).replace('crmd="online"', 'crmd="offline"', 1)
    assert to_xml(cache.parse(text, "t")) == to_xml(parse_xml(text, "t"))
    assert cache.counters["sections_reused"] == 2 and cache.counters["split"] == 2
    assert cache._proven is not None  # (the last section's end was taken, not searched for)


def test_a_changed_section_whose_old_length_ends_at_a_later_close_is_cut_at_its_own() -> None:
    """A section that shrank so that its old length ends exactly at the next section's
    `</node_state>`: the content up to there is no kept section's, so the end is searched for
    (without that check the cut would hold two sections, and the whole document be parsed)."""
    later = _attrs("2", "y")
    shrunk = _attrs("1", "x")
    tail = '</node_state><node_state id="2" uname="n2" in_ccm="true" crmd="online">' + later
    padded = _attrs("1", "x" * (len(shrunk) + len(tail) - len(_attrs("1", ""))))
    assert len(padded) == len(shrunk) + len(tail)
    cache = InputCache()
    cache.parse(_states(padded, later), "t")
    text = _states(shrunk, later)
    assert text.index("<transient_attributes") + len(padded) == text.rindex("</node_state>")
    assert to_xml(cache.parse(text, "t")) == to_xml(parse_xml(text, "t"))
    assert cache.counters["split"] == 2  # cut at its sections, not parsed whole
    assert cache.counters["sections_reused"] == 1 and cache.counters["sections_parsed"] == 3
