"""crm_mon without Pacemaker installed: our output against what the real crm_mon 2.1.5 printed for
this project's own CIBs (data/golden.json, made by make_golden.py), the JSON format against its
documentation and against the XML, the command line (options, exit codes, the refresh loop) and
the small C-compatible text helpers."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from tools import cibsource, ctext, crm_mon, monjson

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DATA = HERE / "data"

_spec = importlib.util.spec_from_file_location("crm_mon_make_golden", HERE / "make_golden.py")
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)
GOLDEN: dict[str, str] = json.loads((DATA / "golden.json").read_text())
INPUTS = {name: path for name, path, _ in make_golden.inputs()}


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The golden outputs were made with TZ=UTC; times are printed in local time."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("CIB_file", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def run(args: list[str], cib: pathlib.Path | None = None) -> tuple[int, str, str]:
    """main() in-process, as `crm_mon ARGS` with CIB_file=cib."""
    out, err = io.StringIO(), io.StringIO()
    if cib is not None:
        os.environ["CIB_file"] = str(cib)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = crm_mon.main(args)
    finally:
        os.environ.pop("CIB_file", None)
    return rc, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------------------------
# byte for byte against crm_mon 2.1.5

@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_output_matches_crm_mon(key):
    name, _, args = key.partition(" | ")
    rc, out, _err = run(args.split(), INPUTS[name])
    assert rc == 0
    assert make_golden.mask(out) == GOLDEN[key]


def test_golden_data_covers_every_input_and_the_main_sections():
    assert {key.partition(" | ")[0] for key in GOLDEN} == set(INPUTS)
    text = "".join(GOLDEN.values())
    for needle in ("Failed Resource Actions:", "Migration Summary:", "Node Attributes:",
                   "Operations:", "Negative Location Constraints:", "(promotable)",
                   "Resource Group:", "UNCLEAN (offline)", "standby", "Connectivity is degraded",
                   "*** Resource management is DISABLED ***", "Starting", "ORPHANED",
                   "<failures>", "<bans>", "<node_history>", "<crm_mon version=\"2.1.5\">"):
        assert needle in text, needle


# ------------------------------------------------------------------------------------------------
# JSON: documented, versioned, and in agreement with the XML

def _json(path: pathlib.Path) -> dict:
    rc, out, _ = run(["--output-as", "json"], path)
    assert rc == 0
    return json.loads(out)


def _xml(path: pathlib.Path) -> ET.Element:
    rc, out, _ = run(["--output-as", "xml"], path)
    assert rc == 0
    return ET.fromstring(out)


def _xml_resource(el: ET.Element) -> dict:
    if el.tag == "resource":
        return {"id": el.get("id"), "type": "primitive", "role": el.get("role"),
                "agent": el.get("resource_agent"), "active": el.get("active") == "true",
                "failed": el.get("failed") == "true", "managed": el.get("managed") == "true",
                "nodes": [n.get("name") for n in el.findall("node")]}
    return {"id": el.get("id"), "type": el.tag,
            "members": [_xml_resource(child) for child in el]}


def _json_resource(rsc: dict) -> dict:
    if rsc["type"] == "primitive":
        return {k: rsc[k] for k in ("id", "type", "role", "agent", "active", "failed",
                                    "managed", "nodes")}
    return {"id": rsc["id"], "type": rsc["type"],
            "members": [_json_resource(m) for m in rsc["members"]]}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_json_and_xml_say_the_same(name):
    doc, xml = _json(INPUTS[name]), _xml(INPUTS[name])
    assert doc["format_version"] == 1
    summary = xml.find("summary")
    assert doc["summary"]["stack"] == summary.find("stack").get("type")
    dc = summary.find("current_dc")
    assert (doc["summary"]["dc"] is None) == (dc.get("present") == "false")
    if doc["summary"]["dc"] is not None:
        assert doc["summary"]["dc"]["name"] == dc.get("name")
        assert doc["summary"]["quorum"] == (dc.get("with_quorum") == "true")
    counts = summary.find("resources_configured")
    assert doc["summary"]["counts"]["resource_instances"] == int(counts.get("number"))
    assert doc["summary"]["counts"]["disabled"] == int(counts.get("disabled"))
    xml_nodes = xml.find("nodes").findall("node")
    assert [n["name"] for n in doc["nodes"]] == [n.get("name") for n in xml_nodes]
    for jn, xn in zip(doc["nodes"], xml_nodes):
        for field in ("online", "standby", "maintenance", "unclean", "is_dc"):
            assert jn[field] == (xn.get(field) == "true"), (jn["name"], field)
        assert jn["resources_running"] == int(xn.get("resources_running"))
        assert len(jn["resources"]) == jn["resources_running"]
    resources = xml.find("resources")
    assert [_json_resource(r) for r in doc["resources"]] == \
        [_xml_resource(r) for r in (resources if resources is not None else [])]
    failures = xml.find("failures")
    assert [(f["op_key"], f["node"], f["exit_code"]) for f in doc["failures"]] == \
        [(f.get("op_key"), f.get("node"), int(f.get("exitcode")))
         for f in (failures if failures is not None else [])]
    history = xml.find("node_history")
    xml_counts = [(node.get("name"), rh.get("id"), int(rh.get("fail-count")))
                  for node in (history if history is not None else [])
                  for rh in node if rh.get("fail-count")]
    assert [(c["node"], c["resource"], c["fail_count"]) for c in doc["fail_counts"]] == xml_counts


def test_json_fields_present_with_their_types():
    doc = _json(DATA / "rich.xml")
    assert set(doc) == {"format_version", "last_update", "summary", "nodes", "resources",
                        "failures", "fail_counts", "history", "bans"}
    assert isinstance(doc["last_update"], int)
    assert set(doc["summary"]) == {"stack", "dc", "quorum", "last_change", "counts", "options"}
    node = doc["nodes"][0]
    assert set(node) == {"name", "id", "type", "online", "standby", "standby_onfail",
                         "maintenance", "pending", "unclean", "shutdown", "expected_up",
                         "is_dc", "health", "status", "resources_running", "resources",
                         "attributes"}
    assert node["attributes"] == {"master-db": "10", "pingd": "100", "rack": "r1"}
    kinds = {r["type"] for r in doc["resources"]}
    assert kinds == {"primitive", "group", "clone"}
    web = next(r for r in doc["resources"] if r["id"] == "web")
    assert web == {"id": "web", "type": "primitive", "agent": "ocf:heartbeat:apache",
                   "role": "Started", "target_role": None, "active": True, "failed": True,
                   "managed": True, "blocked": False, "orphaned": False,
                   "failure_ignored": False, "pending": None, "locked_to": None,
                   "nodes": ["node1"]}
    assert doc["fail_counts"] == [{"node": "node1", "resource": "web", "history_id": "web",
                                   "fail_count": 2, "migration_threshold": 3,
                                   "last_failure": 1700000000}]
    assert doc["failures"][0]["exit_reason"] == 'port <80> & "443" busy'
    assert doc["bans"][0] == {"id": "db-not-promoted-node4", "resource": "db-clone",
                              "node": "node4", "score": -1000000, "promoted_only": True}


def _json_keys(value, out: set[str]) -> set[str]:
    """Every field name in a document (node attribute names are data, not fields)."""
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            if k != "attributes":
                _json_keys(v, out)
    elif isinstance(value, list):
        for v in value:
            _json_keys(v, out)
    return out


def test_every_json_field_is_documented():
    keys: set[str] = set()
    for path in INPUTS.values():
        _json_keys(_json(path), keys)
    doc = (ROOT / "docs" / "crm_mon.md").read_text()
    for key in sorted(keys):
        assert f'"{key}"' in monjson.__doc__, f"{key} missing from tools/monjson.py"
        assert f"`{key}`" in doc, f"{key} missing from docs/crm_mon.md"


# ------------------------------------------------------------------------------------------------
# the command line

def test_usage_errors_exit_64():
    rc, out, err = run(["--bogus"])
    assert rc == 64 and out == "" and "--bogus" in err
    rc, _, err = run(["-1", "-I", "nonsense"], DATA / "rich.xml")
    assert rc == 64 and "--include options:" in err
    rc, _, err = run(["-i", "soon"])
    assert rc == 64 and "Invalid value for -i: soon" in err


def test_cib_file_problems_have_their_own_exit_codes(tmp_path):
    rc, _, err = run(["-1"], tmp_path / "missing.xml")
    assert rc == 66 and "cannot read the CIB" in err
    (tmp_path / "broken.xml").write_text("<cib")
    rc, _, err = run(["-1"], tmp_path / "broken.xml")
    assert rc == 65 and "broken.xml" in err
    (tmp_path / "other.xml").write_text("<other/>")
    rc, _, err = run(["-1"], tmp_path / "other.xml")
    assert rc == 78 and "not a <cib>" in err


def test_no_cluster_is_102_like_crm_mon(tmp_path):
    rc, out, err = run(["-1", "--rundir", str(tmp_path)])
    assert rc == 102 and out == ""
    assert "Connection to cluster failed" in err and "crmd is not running" in err
    rc, out, err = run(["--output-as", "xml", "--rundir", str(tmp_path)])
    assert rc == 102
    status = ET.fromstring(out).find("status")
    assert status.get("code") == "102" and status.get("message") == "Not connected"
    assert "crmd is not running" in status.find("errors/error").text


def test_xml_file_option_and_request_echo():
    rc, out, _ = run(["-x", str(DATA / "rich.xml"), "--output-as=xml"])
    assert rc == 0
    root = ET.fromstring(out)
    assert root.get("api-version") == "2.25"
    assert root.get("request") == f"crm_mon -x {DATA / 'rich.xml'} --output-as=xml"
    rc, out, _ = run(["-X"], DATA / "rich.xml")
    root = ET.fromstring(out)
    assert root.tag == "crm_mon" and root.get("version") == "2.1.5"
    assert root.find("status") is None


def test_sections_follow_include_and_exclude_in_order():
    opts = crm_mon.parse_args(["-1", "-U", "all", "-I", "nodes,failcounts"], environ={})
    assert opts.sections == {"nodes", "failcounts"}
    opts = crm_mon.parse_args(["-1", "-f", "-U", "failcounts", "-A"], environ={})
    assert "failcounts" not in opts.sections and "attributes" in opts.sections
    opts = crm_mon.parse_args(["-1", "-L", "ban-"], environ={})
    assert "bans" in opts.sections and opts.ban_prefix == "ban-"
    opts = crm_mon.parse_args(["--output-as", "xml"], environ={})
    assert opts.one_shot and opts.inactive and "options" in opts.sections
    opts = crm_mon.parse_args([], environ={"CIB_file": "/x.xml"})
    assert opts.one_shot and opts.cib_file == "/x.xml"
    assert not crm_mon.parse_args(["-i", "5"], environ={}).one_shot
    assert crm_mon.parse_args(["-i", "5"], environ={}).interval == 5.0
    assert crm_mon.parse_args(["-i", "1500ms"], environ={}).interval == 1.5


def test_only_cluster_summary_without_a_dc_when_everything_is_hidden():
    rc, out, _ = run(["-1", "-U", "all"], INPUTS["cases/no-quorum-stop.xml"])
    assert rc == 0 and out == ""
    rc, out, _ = run(["-1", "-D"], ROOT / "tests" / "pengine" / "cases" / "standby-node.xml")
    assert out.startswith("Node List:")


# ------------------------------------------------------------------------------------------------
# refreshing

class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _live(monkeypatch, text: str | None) -> list[int]:
    calls: list[int] = []

    def fetch(paths):
        calls.append(1)
        if text is None:
            raise RuntimeError("the crmd is not running here")
        return text
    monkeypatch.setattr(cibsource, "fetch_live_cib", fetch)
    return calls


def test_refresh_prints_snapshots_separated_by_blank_lines(monkeypatch):
    calls = _live(monkeypatch, (DATA / "rich.xml").read_text())
    opts = crm_mon.parse_args(["-i", "0.01", "--iterations", "3"], environ={})
    out = io.StringIO()
    assert crm_mon.watch(opts, out, io.StringIO()) == 0
    assert len(calls) == 3
    snapshots = out.getvalue().split("\n\nCluster Summary:")
    assert len(snapshots) == 3 and out.getvalue().count("Cluster Summary:") == 3
    assert crm_mon.CLEAR not in out.getvalue()
    assert make_golden.mask(snapshots[0] + "\n") == GOLDEN["data/rich.xml | -1"]
    assert make_golden.mask("Cluster Summary:" + snapshots[2]) == GOLDEN["data/rich.xml | -1"]


def test_refresh_on_a_terminal_redraws(monkeypatch):
    _live(monkeypatch, (DATA / "pending.xml").read_text())
    opts = crm_mon.parse_args(["-i", "0.01", "--iterations", "2", "-r"], environ={})
    out = _Tty()
    crm_mon.watch(opts, out, io.StringIO())
    text = out.getvalue()
    assert text.count(crm_mon.CLEAR) == 2 and text.startswith(crm_mon.CLEAR)
    assert "\n\n" + crm_mon.CLEAR not in text


def test_refresh_waits_for_the_cluster_and_stops_on_interrupt(monkeypatch):
    calls = _live(monkeypatch, None)
    opts = crm_mon.parse_args(["-i", "0.01"], environ={})
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt
    out = io.StringIO()
    assert crm_mon.watch(opts, out, io.StringIO(), sleep=sleep) == 0
    assert len(calls) == 2 and sleeps == [0.01, 0.01]
    assert out.getvalue().count("Waiting until cluster is available on this node ...") == 2


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("inherited", ["default", "ignored"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_refresh_process_ends_with_0_on_signal(tmp_path, sig, inherited):
    """Whatever it inherited: a shell without job control starts background commands with
    SIGINT ignored (the suite run as `make test &` did), and Pacemaker's crm_mon ends on it
    all the same."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CIB_file", None)
    proc = subprocess.Popen([sys.executable, "-m", "tools.crm_mon", "-i", "0.2", "--rundir",
                             str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ignore_sigint if inherited == "ignored" else None)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Waiting until cluster is available")
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------------
# Pacemaker's text conventions

def test_readable_interval():
    cases = {0: "0s", 500: "500ms", 1000: "1000ms", 1500: "1.500s", 60000: "60s",
             90500: "1m30.500s", 3600000: "60m", 3600001: "1h1ms",
             86400000 * 2 + 61500: "2d1m1.500s",
             86400000 * 2 + 61000: "2d1m1000ms"}  # Pacemaker's: a whole second is "1000ms"
    for ms, text in cases.items():
        assert ctext.readable_interval(ms) == text, ms


def test_times_in_local_time(monkeypatch):
    assert ctext.ctime(0) == "Thu Jan  1 00:00:00 1970"
    assert ctext.iso_with_zone(1700000000) == "2023-11-14 22:13:20Z"
    monkeypatch.setenv("TZ", "XYZ-1")
    time.tzset()
    assert ctext.ctime(1700000000) == "Tue Nov 14 23:13:20 2023"
    assert ctext.iso_with_zone(1700000000) == "2023-11-14 23:13:20 +01:00"


def test_integers_read_like_strtoll():
    assert ctext.strtoll(" 42abc") == 42
    assert ctext.strtoll("-7") == -7
    assert ctext.strtoll("abc") is None and ctext.strtoll(None) is None
    assert ctext.scan_min_int("-5", 0) == 0
    assert ctext.scan_min_int("99999999999", 0) == ctext.INT_MAX
    assert ctext.element_ms("-1") == 0 and ctext.element_ms("10000") == 10000


def test_exit_reason_escaping_quirks():
    assert ctext.xml_escape_c('a<b>&"\'\tc\nd') == "a&lt;b&gt;&amp;&quot;&apos;    c\\nd"
    # escaping stops at the first multi-byte character
    assert ctext.xml_escape_c("é<") == "é<"
    assert ctext.xml_escape_c("<é<") == "&lt;é<"


def test_command_line_quoting():
    assert ctext.quote_cmdline(["crm_mon", "-1"]) == "crm_mon -1"
    assert ctext.quote_cmdline(["crm_mon", "-x", "a b"]) == "crm_mon -x 'a b'"
    assert ctext.quote_cmdline(["crm_mon", "it's here"]) == "crm_mon 'it\\'s here'"


def test_attribute_columns_count_bytes():
    assert ctext.c_pad("é", 4) == "é  "
    assert re.fullmatch(r"x {31}", ctext.c_pad("x", 32))


def test_registered_as_hb_command_and_console_script():
    from core.cli import COMMANDS
    assert COMMANDS["crm_mon"][:2] == ("tools.crm_mon", "main")
    text = (ROOT / "pyproject.toml").read_text()
    assert 'crm_mon = "tools.crm_mon:main_console"' in text
