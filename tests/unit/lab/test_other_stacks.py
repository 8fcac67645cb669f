"""The configurations bench/compare.py gives Pacemaker + Corosync and keepalived (lab/pacemaker.py,
lab/keepalived.py; pure renderers), and what it reads back from crm_mon."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lab import keepalived, pacemaker

NODES = [("node1", "198.18.202.11"), ("node2", "198.18.202.12")]


def test_corosync_defaults_are_left_to_corosync_and_fast_is_udpu_token_300():
    default = pacemaker.render_corosync_conf(NODES, pacemaker.Timings())
    assert "transport: knet" in default and "token:" not in default
    fast = pacemaker.render_corosync_conf(NODES, pacemaker.Timings.fast())
    assert "transport: udpu" in fast and "token: 300" in fast
    for text in (default, fast):
        assert "two_node: 1" in text
        assert "ring0_addr: 198.18.202.12" in text and "name: node2" in text and "nodeid: 2" in text
    assert "two_node" not in pacemaker.render_corosync_conf(NODES + [("node3", "198.18.202.13")], pacemaker.Timings())


def test_the_cib_is_valid_xml_with_the_group_fencing_off_and_the_constraints():
    constraint = '<rsc_location id="p" rsc="g_web" node="node1" score="500"/>'
    text = pacemaker.render_cib("198.18.202.100", 24, "eth0", "tcpsvc", pacemaker.Timings.fast(), constraints=constraint)
    root = ET.fromstring(text)
    props = {nv.get("name"): nv.get("value") for nv in root.iter("nvpair")}
    assert props["stonith-enabled"] == "false" and props["dc-deadtime"] == "2s"
    assert props["resource-stickiness"] == "100" and props["ip"] == "198.18.202.100"
    group = root.find("configuration/resources/group")
    assert group is not None and [p.get("id") for p in group] == ["vip", "svc"]
    assert group[1].get("class") == "lsb" and group[1].get("type") == "tcpsvc"
    assert root.find("configuration/constraints/rsc_location").get("score") == "500"
    assert "dc-deadtime" not in pacemaker.render_cib("198.18.202.100", 24, "eth0", "tcpsvc", pacemaker.Timings())


def test_the_lsb_wrapper_passes_the_port_then_the_action():
    text = pacemaker.render_lsb_wrapper("/tmp/x/svc/tcpsvc", 8080)
    assert text.startswith("#!/bin/sh") and 'exec /tmp/x/svc/tcpsvc 8080 "$@"' in text


CRM_MON = """<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml">
  <summary><current_dc present="true" name="node2" id="2" with_quorum="true"/></summary>
  <nodes>
    <node name="node1" id="1" online="true"/><node name="node2" id="2" online="true"/>
  </nodes>
  <resources>
    <group id="g_web" number_resources="2" managed="true" disabled="false">
      <resource id="vip" role="Started" active="true" failed="false" managed="true"><node name="node1" id="1"/></resource>
      <resource id="svc" role="Started" active="true" failed="false" managed="true"><node name="node1" id="1"/></resource>
    </group>
  </resources>
  <status code="0" message="OK"/>
</pacemaker-result>"""


def test_crm_mon_view_settled_only_with_both_online_and_the_whole_group_on_one_node():
    view = pacemaker.parse_crm_mon(CRM_MON)
    assert view.dc == "node2" and view.quorum and view.group_on == ("node1",)
    assert view.settled(["node1", "node2"])
    starting = pacemaker.parse_crm_mon(CRM_MON.replace('id="svc" role="Started" active="true"',
                                                       'id="svc" role="Starting" active="false"'))
    assert starting.group_on == () and starting.pending and not starting.settled(["node1", "node2"])
    one = pacemaker.parse_crm_mon(CRM_MON.replace('name="node2" id="2" online="true"', 'name="node2" id="2" online="false"'))
    assert not one.settled(["node1", "node2"])


def test_keepalived_v2_has_authentication_v3_has_none():
    v2 = keepalived.render_conf("node1", True, "198.18.203.100", 24, "eth0", keepalived.Timings())
    assert "vrrp_version 2" in v2 and "auth_type PASS" in v2 and "advert_int 1\n" in v2
    assert "state MASTER" in v2 and "priority 150" in v2
    v3 = keepalived.render_conf("node2", False, "198.18.203.100", 24, "eth0", keepalived.Timings.fast())
    assert "vrrp_version 3" in v3 and "authentication" not in v3 and "advert_int 0.01" in v3
    assert "state BACKUP" in v3 and "priority 100" in v3 and "198.18.203.100/24 dev eth0" in v3
