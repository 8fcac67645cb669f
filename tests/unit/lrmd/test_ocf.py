"""Pure OCF helpers: environment building, argument parsing, exit-code mapping (with properties)."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from lrmd import ocf
from lrmd.cli import parser as cli_parser
from lrmd.ocf import AgentExit, AgentContext

CTX = AgentContext(ocf_root="/usr/lib/ocf", rsctmp="/run/resource-agents", node_name="n1",
                   extra=(("HA_LOGFILE", "/var/log/ha.log"),))

names = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=20).filter(
    lambda n: not n[0].isdigit() and not n.startswith("CRM_meta_"))
values = st.text(max_size=40).filter(lambda v: "\0" not in v)


@settings(deadline=None)
@given(st.dictionaries(names, values, max_size=8), st.dictionaries(names, values, max_size=5),
       st.integers(0, 10**7), st.integers(1, 10**7))
def test_env_carries_every_param_and_the_op_meta(params, meta, interval, timeout):
    env = ocf.build_env(CTX, "rsc:1", "ocf", "heartbeat", "Dummy", "monitor", params, interval, timeout, meta)
    for key, value in params.items():
        assert env[f"OCF_RESKEY_{key}"] == value
    assert env["OCF_RESKEY_CRM_meta_interval"] == str(interval)
    assert env["OCF_RESKEY_CRM_meta_timeout"] == str(timeout)
    assert env["OCF_RESKEY_CRM_meta_name"] == "monitor"
    for key, value in meta.items():
        if key not in ("interval", "timeout", "name"):
            assert env[f"OCF_RESKEY_CRM_meta_{key}"] == value
    assert env["OCF_RESOURCE_INSTANCE"] == "rsc:1"
    assert (env["OCF_RESOURCE_TYPE"], env["OCF_RESOURCE_PROVIDER"]) == ("Dummy", "heartbeat")
    assert env["OCF_ROOT"] == "/usr/lib/ocf" and env["HA_RSCTMP"] == "/run/resource-agents"
    assert env["OCF_RA_VERSION_MAJOR"] == "1" and env["LC_ALL"] == "C"
    assert env["HA_LOGFILE"] == "/var/log/ha.log"
    for key, value in env.items():  # everything is a valid execve environment entry
        assert key and "=" not in key and "\0" not in key and "\0" not in value


@settings(deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=6))
def test_env_never_contains_unusable_names(params):
    env = ocf.build_env(CTX, "r", "ocf", "p", "t", "start", params, 0, 1000, {})
    for key in env:
        assert "=" not in key and "\0" not in key and key.isprintable()


def test_lsb_and_heartbeat_scripts_get_no_ocf_instance_variables():
    for cls in ("lsb", "heartbeat"):
        env = ocf.build_env(CTX, "r", cls, "", "x", "start", {"1": "a"}, 0, 1000, {})
        assert "OCF_RESOURCE_INSTANCE" not in env and "OCF_RA_VERSION_MAJOR" not in env


@settings(deadline=None)
@given(st.lists(st.text(min_size=0, max_size=12).filter(lambda a: "::" not in a and ":" not in a[-1:]),
                max_size=5), st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True))
def test_heartbeat_spec_round_trips_positional_args(args, name):
    text = "::".join([name, *args])
    parsed_name, params = ocf.parse_heartbeat_spec(text)
    if args or not ocf._looks_like_ip(name):
        assert parsed_name == name
        assert ocf.heartbeat_args(params) == args


def test_heartbeat_spec_examples():
    assert ocf.parse_heartbeat_spec("IPaddr::192.168.60.200/24/eth0") == ("IPaddr", {"1": "192.168.60.200/24/eth0"})
    assert ocf.parse_heartbeat_spec("192.168.60.200") == ("IPaddr", {"1": "192.168.60.200"})
    assert ocf.parse_heartbeat_spec("Filesystem::/dev/sdb1::/data::ext4")[1] == {
        "1": "/dev/sdb1", "2": "/data", "3": "ext4"}
    assert ocf.heartbeat_args({"10": "j", "2": "b", "1": "a"}) == ["a", "b", "j"]


@settings(deadline=None)
@given(names, st.text(max_size=30))
def test_param_parsing_splits_at_the_first_equals(name, value):
    assert ocf.parse_param(f"{name}={value}") == (name, value)


@settings(deadline=None)
@given(st.lists(st.tuples(names, st.text(alphabet=string.printable.replace("\n", ""), max_size=15)),
                max_size=5), st.integers(0, 10**6), st.integers(1, 10**6))
def test_cli_exec_arguments_parse(pairs, interval, timeout):
    argv = ["exec", "r1", "monitor", "--class", "ocf", "--provider", "heartbeat", "--type", "Dummy",
            "--interval", str(interval), "--timeout", str(timeout)]
    for name, value in pairs:
        argv += ["--param", f"{name}={value}"]
    args = cli_parser().parse_args(argv)
    assert (args.rsc_id, args.operation, args.interval, args.timeout) == ("r1", "monitor", interval, timeout)
    assert [ocf.parse_param(p) for p in args.param or []] == pairs


def test_ocf_exit_codes_map_to_results():
    assert ocf.map_exit("ocf", "monitor", AgentExit(exit_code=7)) == ocf.Mapped(7, "done", "")
    assert ocf.map_exit("ocf", "start", AgentExit(exit_code=3)).status == "not_supported"
    assert ocf.map_exit("ocf", "monitor", AgentExit(exit_code=190)).rc == 0
    assert ocf.map_exit("ocf", "monitor", AgentExit(exit_code=191)).rc == 8
    bad = ocf.map_exit("ocf", "start", AgentExit(exit_code=77))
    assert (bad.rc, bad.status) == (1, "error") and "77" in bad.reason
    killed = ocf.map_exit("ocf", "start", AgentExit(signal=9))
    assert (killed.rc, killed.status) == (1, "error") and "signal 9" in killed.reason
    reason = ocf.map_exit("ocf", "start", AgentExit(exit_code=6, stderr="x\nocf-exit-reason:bad ip\n"))
    assert reason == ocf.Mapped(6, "done", "bad ip")
    assert ocf.map_exit("ocf", "start", AgentExit(timed_out=True, exit_code=0)).status == "timeout"
    missing = ocf.map_exit("ocf", "monitor", AgentExit(exec_error="gone", exec_errno_class="missing"))
    assert missing.rc == 5 and missing.status == "done"
    perm = ocf.map_exit("ocf", "start", AgentExit(exec_error="no x bit", exec_errno_class="permission"))
    assert (perm.rc, perm.status) == (4, "error")


@settings(deadline=None)
@given(st.integers(0, 255))
def test_every_exit_code_maps_to_a_known_rc_and_status(code):
    for cls in ("ocf", "lsb", "heartbeat", "service"):
        for op in ("start", "stop", "monitor"):
            res = ocf.map_exit(cls, op, AgentExit(exit_code=code))
            assert 0 <= res.rc <= 9
            assert res.status in ("done", "error", "not_supported")


def test_lsb_status_codes():
    assert [ocf.lsb_rc("monitor", c)[0] for c in range(6)] == [0, 7, 7, 7, 1, 5]
    assert ocf.lsb_rc("start", 1)[0] == 1 and ocf.lsb_rc("start", 150)[0] == 1


def test_heartbeat_status_words():
    rc = ocf.heartbeat_status_rc
    assert rc("INFO:  Running OK") == 0
    assert rc("running") == 0
    assert rc("INFO:  Resource is stopped") == 7
    assert rc("daemon is not running") == 7
    assert rc("something else") == 7
    assert rc("") == 7
    assert ocf.map_exit("heartbeat", "monitor", AgentExit(exit_code=0, stdout="stopped")).rc == 7
    assert ocf.map_exit("heartbeat", "start", AgentExit(exit_code=3)).rc == 1


def test_lsb_metadata_comes_from_the_init_info_header():
    script = ("#!/bin/sh\n### BEGIN INIT INFO\n# Provides: web\n# Short-Description: Web server\n"
              "# Description: Serves <pages> &\n#  more text\n### END INIT INFO\n")
    xml = ocf.synthesized_metadata("lsb", "web", script)
    assert "<shortdesc lang=\"en\">Web server</shortdesc>" in xml
    assert "Serves &lt;pages&gt; &amp; more text" in xml


def test_check_resource():
    assert ocf.check_resource("r", "ocf", "heartbeat", "Dummy", {"a": "1"}) is None
    assert ocf.check_resource("bad id", "ocf", "heartbeat", "Dummy", {})
    assert ocf.check_resource("r", "ocf", "heartbeat", "../x", {})
    assert ocf.check_resource("r", "ocf", "heartbeat", "Dummy", {"a-b": "1"})
    assert ocf.check_resource("r", "ocf", "heartbeat", "Dummy", {"a": "x\0"})
    assert ocf.check_resource("r", "service", "", "/usr/sbin/httpd -X", {}) is None


def test_names_ending_in_a_newline_are_refused():
    """`$` in a regular expression also matches before a final newline: every name check must
    refuse "name\\n" (found by the property test above: OCF_RESKEY_A\\n in an agent's environment)."""
    assert ocf.check_param_name("A\n") is not None and ocf.check_param_name("A") is None
    assert ocf.check_resource("r1\n", "ocf", "heartbeat", "Dummy", {}) is not None
    assert ocf.check_resource("r1", "ocf", "heartbeat", "Dummy\n", {}) is not None
    assert ocf.check_resource("r1", "ocf", "heartbeat", "Dummy", {}) is None
