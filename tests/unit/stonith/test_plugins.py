"""How fence device programs are called, and what their answers mean (stonithd.plugins)."""

from __future__ import annotations

import pytest

from stonithd import plugins
from stonithd.plugins import EXTERNAL, FENCE, Plugin

SSH = Plugin("external/ssh", EXTERNAL, "/usr/lib/stonith/plugins/external/ssh")
IPMI = Plugin("fence_ipmilan", FENCE, "/usr/sbin/fence_ipmilan")


def test_types_this_stack_runs():
    assert plugins.kind_of("external/ssh") == EXTERNAL
    assert plugins.kind_of("fence_ipmilan") == FENCE
    assert plugins.kind_of("apcmaster") is None  # cluster-glue's compiled-in plugins
    assert plugins.kind_of("external/../../bin/sh") is None
    assert plugins.kind_of("fence_a b") is None


def test_an_external_plugin_gets_the_operation_and_host_as_arguments_and_parameters_in_its_environment():
    inv = plugins.invocation(SSH, "reset", {"hostlist": "a b", "pcmk_host_list": "a"}, "a")
    assert inv.argv == [SSH.path, "reset", "a"] and inv.stdin is None
    assert inv.env == {"hostlist": "a b"}, "pacemaker's own pcmk_* parameters are not the device's"
    assert plugins.invocation(SSH, "metadata", {}).argv == [SSH.path, "getinfo-xml"]
    assert plugins.invocation(SSH, "gethosts", {}).argv == [SSH.path, "gethosts"]


def test_a_fence_agent_gets_everything_on_stdin_with_the_target_as_nodename_and_port():
    inv = plugins.invocation(IPMI, "reset", {"ip": "10.0.0.1", "pcmk_delay_max": "5"}, "node1",
                             agent_params=["ip", "port", "plug"])
    assert inv.argv == [IPMI.path] and inv.env == {}
    assert inv.stdin.splitlines() == ["action=reboot", "nodename=node1", "ip=10.0.0.1", "port=node1"]
    plug_only = plugins.invocation(IPMI, "off", {}, "n2", agent_params=["plug"])
    assert plug_only.stdin.splitlines() == ["action=off", "nodename=n2", "plug=n2"]
    neither = plugins.invocation(IPMI, "on", {}, "n3", agent_params=["ip"])
    assert neither.stdin.splitlines() == ["action=on", "nodename=n3"]
    chosen = plugins.invocation(IPMI, "on", {"pcmk_host_argument": "uuid"}, "n3", agent_params=["port"])
    assert chosen.stdin.splitlines() == ["action=on", "nodename=n3", "uuid=n3"]
    given = plugins.invocation(IPMI, "off", {"port": "outlet7"}, "n4", agent_params=["port"])
    assert given.stdin.splitlines() == ["action=off", "nodename=n4", "port=outlet7"], "a configured port stays"
    assert plugins.invocation(IPMI, "status", {}).stdin == "action=monitor\n"
    assert plugins.invocation(IPMI, "gethosts", {}).stdin == "action=list\n"


def test_wrong_calls_are_our_bugs():
    with pytest.raises(ValueError):
        plugins.invocation(SSH, "reset", {})  # no target
    with pytest.raises(ValueError):
        plugins.invocation(SSH, "status", {}, "a")
    with pytest.raises(ValueError):
        plugins.invocation(SSH, "target-status", {}, "a")
    with pytest.raises(ValueError):
        plugins.invocation(SSH, "explode", {})


def test_answers():
    assert plugins.interpret(SSH, "gethosts", 0, "a\nb c\n").hosts == ["a", "b", "c"]
    assert plugins.interpret(IPMI, "gethosts", 0, "1,node1\n2,node2\n\n").hosts == ["1", "2"]
    assert plugins.interpret(SSH, "getconfignames", 0, "hostname ipaddr\n").names == ["hostname", "ipaddr"]
    assert not plugins.interpret(SSH, "reset", 1, "").ok
    on, off, bad = (plugins.interpret(IPMI, "target-status", rc, "") for rc in (0, 2, 1))
    assert (on.ok, on.power) == (True, "on") and (off.ok, off.power) == (True, "off") and not bad.ok


def test_a_fence_agents_parameter_names_come_from_its_metadata():
    xml = """<resource-agent name="fence_x"><parameters>
      <parameter name="action" required="1"/><parameter name="ip" required="1"/>
      <parameter name="ipaddr" deprecated="1"/><parameter name="port"/><parameter name="verbose"/>
      <parameter name="ip"/></parameters></resource-agent>"""
    assert plugins.metadata_params(xml) == ["ip", "port"]
    assert plugins.metadata_params("not xml <") == []


def test_positional_parameters_in_config_name_order_the_last_taking_the_rest():
    assert plugins.positional_params(["hostlist"], ["a", "b"]) == {"hostlist": "a b"}
    assert plugins.positional_params(["ip", "user", "hosts"], ["1.2.3.4", "root", "n1", "n2"]) == \
        {"ip": "1.2.3.4", "user": "root", "hosts": "n1 n2"}
    with pytest.raises(ValueError):
        plugins.positional_params(["ip", "user"], ["1.2.3.4"])
