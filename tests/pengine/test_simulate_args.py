"""`hb simulate`'s command line: parsed by pengine/simulate.py's own GNU-style option reader (it
replaced getopt, whose imports cost more than a small run). It must read every command line
the way getopt.gnu_getopt does, so it is compared with it on many generated command lines."""

from __future__ import annotations

import getopt
import itertools

import pytest

from pengine.simulate import _OPTIONS, UsageError, _option_pairs, parse_args

SHORTS = "".join(s + (":" if v else "") for s, _, v, _, _ in _OPTIONS if s) + "h"
LONGS = [name + ("=" if v else "") for _, name, v, _, _ in _OPTIONS] + ["help"]
LONG_OF = {"-" + s: name for s, name, _, _, _ in _OPTIONS if s} | {"-h": "help"}


def _with_getopt(argv: list[str]):
    """What getopt makes of argv, in _option_pairs' terms; None when it refuses the line."""
    try:
        pairs, rest = getopt.gnu_getopt(argv, SHORTS, LONGS)
    except getopt.GetoptError:
        return None
    if rest:
        return None
    takes = {name: v for _, name, v, _, _ in _OPTIONS} | {"help": False}
    found = []
    for flag, value in pairs:
        name = flag[2:] if flag.startswith("--") else LONG_OF[flag]
        found.append((name, value if takes[name] else None))
    return found


def _with_ours(argv: list[str]):
    try:
        return _option_pairs(argv)
    except UsageError:
        return None


WORDS = ["-x", "cib.xml", "-xcib.xml", "-sSQ", "-SQx", "-Rq", "true", "--xml-file=a.xml",
         "--xml-file", "--xml", "--save-graph=g", "--save", "--s", "--json", "--json=1",
         "--node-fail", "node2", "-fnode3", "-u", "--", "-", "extra", "-z", "--nope", "-h",
         "--he", "--quorum=", "-i", "r_monitor_0@n1=7", "--op-inject=r_start_0@n2=1"]


def test_every_short_line_is_read_as_getopt_reads_it():
    checked = 0
    for length in range(1, 4):
        for argv in itertools.product(WORDS, repeat=length):
            argv = list(argv)
            assert _with_ours(argv) == _with_getopt(argv), argv
            checked += 1
    assert checked == len(WORDS) + len(WORDS) ** 2 + len(WORDS) ** 3


def test_parse_args_fills_every_option():
    args = parse_args(["-sSQx", "cib.xml", "-f", "n1", "--node-fail=n2", "--save-g", "g.xml",
                       "-q", "false", "--json"])
    assert args.xml_file == "cib.xml" and args.show_scores and args.simulate and args.quiet
    assert args.node_fail == ["n1", "n2"] and args.save_graph == "g.xml"
    assert args.quorum == "false" and args.json and not args.run and args.node_up == []


@pytest.mark.parametrize("argv, message", [
    ([], "-x/--xml-file, -p/--xml-pipe or -L/--live-check is required"),
    (["-x", "a", "-p"], "-x/--xml-file, -p/--xml-pipe and -L/--live-check are exclusive"),
    (["-L", "-x", "a"], "-x/--xml-file, -p/--xml-pipe and -L/--live-check are exclusive"),
    (["-x"], "option -x requires argument"),
    (["-x", "a", "b"], "unexpected argument 'b'"),
    (["-x", "a", "--s"], "option --s not a unique prefix"),
    (["-x", "a", "--zzz"], "option --zzz not recognized"),
    (["-x", "a", "-Qz"], "option -z not recognized"),
    (["-x", "a", "--json=yes"], "option --json must not have an argument"),
])
def test_bad_lines_say_what_is_wrong(argv, message):
    with pytest.raises(UsageError) as caught:
        parse_args(argv)
    assert str(caught.value) == message


TICKET_CIB = """<cib validate-with="pacemaker-3.9" admin_epoch="0" epoch="1" num_updates="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="n1" uname="node1"/></nodes>
    <resources><primitive id="web" class="ocf" provider="pacemaker" type="Dummy"/></resources>
    <constraints><rsc_ticket id="web-t" rsc="web" ticket="site-a"/></constraints>
  </configuration>
  <status>
    <node_state id="n1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>
"""


def test_a_cib_from_standard_input_and_the_input_saved_after_the_modifications(
        tmp_path, monkeypatch):
    """-p reads the CIB from standard input as -x reads a file; -I saves the CIB that was
    scheduled: the ticket granted and the watchdog set are in it."""
    import io
    import sys

    from core.cib.xmltree import parse_xml
    from pengine.simulate import run

    path = tmp_path / "cib.xml"
    path.write_text(TICKET_CIB)
    from_file = io.StringIO()
    assert run(["-x", str(path), "-S", "-g", "site-a", "-w", "true"], stdout=from_file) == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TICKET_CIB.encode())))
    from_pipe = io.StringIO()
    saved = tmp_path / "input.xml"
    assert run(["-p", "-S", "-g", "site-a", "-w", "true", "-I", str(saved)],
               stdout=from_pipe) == 0
    assert from_pipe.getvalue() == from_file.getvalue()
    assert "  * Granting ticket site-a" in from_file.getvalue()
    assert "  * Setting watchdog: true" in from_file.getvalue()
    assert "Start      web     ( node1 )" in from_file.getvalue()
    cib = parse_xml(saved.read_text(), "input.xml")
    state = next(cib.find("status").find("tickets").iter("ticket_state"))
    assert (state.get("id"), state.get("granted")) == ("site-a", "true")
    pair = next(p for p in cib.iter("nvpair") if p.get("name") == "have-watchdog")
    assert (pair.get("id"), pair.get("value")) == ("cib-bootstrap-options-have-watchdog", "true")


@pytest.mark.parametrize("spec, message", [
    ("bogus", "Invalid operation spec: bogus.  Only found 1 fields"),
    ("nosuch_start_0@node1=1", "Invalid resource name: nosuch"),
    ("web_start_0@node1=x", "Invalid operation spec: web_start_0@node1=x.  Only found 2 fields"),
])
def test_an_injection_it_cannot_read_is_reported_and_the_rest_goes_on(tmp_path, capsys, spec,
                                                                       message):
    """inject_action: a spec that does not parse or names no resource is reported on stderr
    and skipped; the run goes on (crm_simulate exits 0 too)."""
    import io

    from pengine.simulate import run

    path = tmp_path / "cib.xml"
    path.write_text(TICKET_CIB)
    out = io.StringIO()
    assert run(["-x", str(path), "-S", "-i", spec, "-g", "site-a"], stdout=out) == 0
    assert message in capsys.readouterr().err.splitlines()
    assert "Start      web     ( node1 )" in out.getvalue()
