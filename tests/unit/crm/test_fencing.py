"""What crmd tells stonithd (the CIB's devices and levels) and writes for a fenced node; the
haresources CIB with ha.cf devices; the lab's fencing configuration."""

from __future__ import annotations

import pytest

from core.cib.xmltree import parse_xml
from core.config import parse_hacf
from core.config.haresources import parse_haresources
from core.config.stonith import hacf_device_ids
from crmd import fencing
from crmd.cib import Cib
from crmd.derive import from_haresources
from lab import plan
from lab.plan import LabError, LabSpec
from stonithd.devices import Device, from_hacf

CIB = """<cib admin_epoch="0" epoch="3" num_updates="0">
 <configuration>
  <crm_config><cluster_property_set id="o">
   <nvpair id="o1" name="stonith-timeout" value="90s"/>
   <nvpair id="o2" name="stonith-watchdog-timeout" value="10s"/>
  </cluster_property_set></crm_config>
  <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
  <resources>
   <primitive id="ipmi" class="stonith" type="fence_ipmilan">
    <instance_attributes id="ia"><nvpair id="a1" name="ip" value="10.0.0.9"/>
     <nvpair id="a2" name="pcmk_host_list" value="n2"/></instance_attributes>
   </primitive>
   <group id="g"><primitive id="ssh" class="stonith" type="external/ssh"/></group>
   <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
  </resources>
  <fencing-topology>
   <fencing-level id="l1" target="n2" index="1" devices="ipmi"/>
   <fencing-level id="l2" target="n2" index="2" devices="ssh,ipmi"/>
   <fencing-level id="l3" target-pattern="n.*" index="1" devices="ssh"/>
  </fencing-topology>
 </configuration>
 <status>
  <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">
   <transient_attributes id="2"><instance_attributes id="status-2"/></transient_attributes>
   <lrm id="2"><lrm_resources/></lrm>
  </node_state>
 </status>
</cib>"""


def cib() -> Cib:
    return Cib(parse_xml(CIB, "<cib>"))


def test_devices_levels_and_options_for_stonithd():
    conf = fencing.devices_of(cib())
    assert [(d["id"], d["type"]) for d in conf["devices"]] == [("ipmi", "fence_ipmilan"), ("ssh", "external/ssh")]
    assert conf["devices"][0]["params"] == {"ip": "10.0.0.9", "pcmk_host_list": "n2"}
    assert conf["levels"] == [{"target": "n2", "index": 1, "devices": ["ipmi"], "pattern": False},
                              {"target": "n2", "index": 2, "devices": ["ssh", "ipmi"], "pattern": False},
                              {"target": "n.*", "index": 1, "devices": ["ssh"], "pattern": True}]
    assert conf["options"] == {"stonith_timeout_ms": 90_000, "enabled": True, "watchdog_timeout_ms": 10_000}


def test_a_fenced_node_is_down_and_forgets_what_it_ran():
    c = cib()
    c.apply(fencing.fenced_edits(c, "n2", "2"))
    state = c.root.find("status").find("node_state")
    assert (state.get("join"), state.get("expected"), state.get("in_ccm"), state.get("crmd")) == \
        ("down", "down", "false", "offline")
    assert state.find("lrm") is None and state.find("transient_attributes") is None


def test_haresources_with_hacf_devices_fences_and_keeps_two_node_quorum():
    config = parse_hacf("node n1 n2\nbcast lo\nstonith_host * external/ssh hostlist=n1,n2\n", node_name="n1")
    ids = hacf_device_ids(config)
    assert ids == [("stonith_host-1", "external/ssh")]
    assert [d.id for d in from_hacf(config.stonith, config.stonith_hosts, lambda p: "")] == ["stonith_host-1"]
    groups = parse_haresources("n1 IPaddr::10.0.0.1\n", "haresources", ("n1", "n2"))
    root, _, _ = from_haresources(groups, "on", ["n1", "n2"], stonith_devices=ids)
    opts = {nv.get("name"): nv.get("value") for nv in root.iter("nvpair")}
    assert opts["stonith-enabled"] == "true" and opts["no-quorum-policy"] == "stop"
    c = Cib(root)
    assert fencing.devices_of(c)["devices"] == []  # stonithd reads ha.cf's devices itself


def test_the_lab_cib_gets_the_power_switch_and_fencing_on():
    spec = plan.validate(LabSpec(name="t", nodes=2, crm=True, cib="x.xml", stonith="lab"))
    text = plan.with_stonith(spec, '<cib><configuration><crm_config><cluster_property_set id="o">'
                                   '<nvpair id="s" name="stonith-enabled" value="false"/></cluster_property_set>'
                                   '</crm_config><resources/></configuration><status/></cib>')
    root = parse_xml(text, "<cib>")
    opts = [(nv.get("name"), nv.get("value")) for nv in root.iter("nvpair") if nv.get("name") == "stonith-enabled"]
    assert opts == [("stonith-enabled", "true")]
    dev = next(root.iter("primitive"))
    assert (dev.get("class"), dev.get("type")) == ("stonith", "external/lab")
    params = {nv.get("name"): nv.get("value") for nv in dev.iter("nvpair")}
    assert params["hostlist"] == "node1,node2" and params["lab_root"] == spec.root
    assert Device("x", "external/lab", params).delay_range_ms("node2") == (1000, 1000)
    assert Device("x", "external/lab", params).delay_range_ms("node1") == (0, 0)


def test_the_lab_hacf_declares_the_switch_and_the_watchdog():
    spec = plan.validate(LabSpec(name="t", nodes=2, stonith="lab", watchdog_ms=1500))
    text = plan.render_hacf(spec, "node1")
    assert "stonith_host * external/lab hostlist=node1,node2" in text
    assert f"watchdog {plan.watchdog_path(spec, 'node1')}" in text
    with pytest.raises(LabError):
        plan.validate(LabSpec(name="t", nodes=2, mode="loopback", media="ucast", stonith="lab"))


def test_a_compiled_in_cluster_glue_plugin_is_a_configuration_error():
    from core.errors import ConfigError

    config = parse_hacf("node n1 n2\nbcast lo\nstonith_host * apcmaster 10.0.0.9 apc apc\n", node_name="n1")
    with pytest.raises(ConfigError, match="apcmaster"):
        hacf_device_ids(config, "/etc/ha.d/ha.cf")
    ok = parse_hacf("node n1 n2\nbcast lo\nstonith_host n1 fence_ipmilan ip=10.0.0.9\nstonith meatware meat.cfg\n",
                    node_name="n1")
    assert hacf_device_ids(ok) == [("stonith_host-1", "fence_ipmilan"), ("stonith-1", "meatware")]


def test_a_node_fenced_while_the_view_still_lists_it_is_out_of_the_membership_at_once():
    """A hung holder ran again for a moment just before its power went off: the view still lists
    it (messaging declares it dead only a deadtime later). Fenced is down: the DC records it out
    of the membership and offline at once (Pacemaker's send_stonith_update), so the policy engine
    recovers its resources now, not when the rebooted node has joined again (the campaign saw a
    hang end on the fencing add 430 ms to the failover)."""
    from core.messages import stonith as st
    from core.sansio import Recv
    from crmd.cib import Cib, empty_cib
    from crmd.machine import CrmdConfig, CrmdMachine, View
    from sim.cluster import SubRng

    m = CrmdMachine(CrmdConfig(node="n1", nodes=("n1", "n2"), pid=1, cib=Cib(empty_cib())), SubRng(7))
    m.role = "dc"
    m.view = View(12, ("n1", "n2"), True)
    m.joined_nodes["n2"] = 1
    m.step(1000, Recv("stonithd", st.StNotify({"id": "op1", "target": "n2", "action": "reboot", "state": "done",
                                                "final": True, "device": "pdu", "executor": "n1"})))
    state = next(s for s in m.cib.root.find("status").iter("node_state") if s.get("uname") == "n2")
    assert (state.get("in_ccm"), state.get("crmd"), state.get("join"), state.get("expected")) == \
        ("false", "offline", "down", "down")


def test_a_node_heard_again_in_the_same_generation_is_the_life_its_fencing_ended():
    """The hung holder resumed just before its fencing's delay ran out: messaging had declared it
    dead and hears it again, in the same generation, a moment before the device began. That is
    the life the device ended (dated from its first hearing, not from its return): the DC
    records it down at once instead of keeping its resources on it until it has rebooted
    (hb cts --mode haresources --nodes 2 --faults 10 --seed 24103: 394 ms late)."""
    from core.messages import stonith as st
    from core.messages.hbapi import NodeStatusEvent
    from core.sansio import Recv
    from crmd.cib import Cib, empty_cib
    from crmd.machine import CrmdConfig, CrmdMachine, View
    from sim.cluster import SubRng

    m = CrmdMachine(CrmdConfig(node="n1", nodes=("n1", "n2"), pid=1, cib=Cib(empty_cib())), SubRng(7))
    m.role = "dc"
    m.view = View(12, ("n1", "n2"), True)
    m.member_incarnations = {"n1": 1, "n2": 1}
    m.joined_nodes["n2"] = 1
    m.step(0, Recv("messaging", NodeStatusEvent("n2", "active", "normal", 3)))
    m.step(1000, Recv("messaging", NodeStatusEvent("n2", "dead", "normal", 3)))
    m.step(2000, Recv("messaging", NodeStatusEvent("n2", "active", "normal", 3)))  # resumed
    rec = {"id": "op1", "target": "n2", "action": "reboot", "state": "done", "final": True, "device": "pdu",
           "executor": "n1", "device_ms": 110, "completed_ms": 2100}  # the device began at 1990
    assert m._life_since_fencing(2100, "n2", rec) is False
    m.step(2100, Recv("stonithd", st.StNotify(rec)))
    state = next(s for s in m.cib.root.find("status").iter("node_state") if s.get("uname") == "n2")
    assert (state.get("crmd"), state.get("join")) == ("offline", "down")
