"""The crmd applies the CIB ACLs to what a non-root tool asks (the socket has put the user's name
and groups in the request): a member's replica filters queries, a change travels to the DC with
its user and the DC refuses what the ACLs do not allow, root's requests are not touched."""

from __future__ import annotations

from core import wire
from core.messages import crm
from core.messages.common import Reply
from core.messages.hbapi import ClusterMessage, SendCluster
from core.sansio import Recv, Send
from crmd.cib import Cib
from crmd.machine import MSGTYPE, CrmdConfig, CrmdMachine, View
from sim.cluster import SubRng

CIB = """<cib epoch="2" num_updates="0" admin_epoch="0"><configuration><crm_config>
<cluster_property_set id="o"><nvpair id="o-acl" name="enable-acl" value="{acl}"/></cluster_property_set></crm_config>
<nodes/><resources><primitive id="d1" class="ocf" provider="pyheartbeat" type="Dummy">
<instance_attributes id="d1-p"><nvpair id="d1-s" name="secret" value="hunter2"/></instance_attributes>
<meta_attributes id="d1-m"><nvpair id="d1-r" name="target-role" value="Started"/></meta_attributes>
</primitive></resources><constraints/><acls>
<acl_group id="ops"><role id="r"/></acl_group>
<acl_role id="r"><acl_permission id="p1" kind="read" xpath="/cib"/>
<acl_permission id="p2" kind="write" xpath="//nvpair[@name='target-role']"/>
<acl_permission id="p3" kind="deny" reference="d1-p"/></acl_role></acls></configuration><status/></cib>"""


def machine(node: str, role: str, acl: str = "true") -> CrmdMachine:
    m = CrmdMachine(CrmdConfig(node=node, nodes=("node1", "node2"), pid=1, cib=Cib.from_xml(CIB.format(acl=acl))),
                    SubRng(3))
    m.role = role
    m.view = View(5, ("node1", "node2"), True)
    m.messaging.connected(0, 1)  # (signed on: a member forwards changes to the DC)
    if role == "dc":
        m.joined_nodes["node2"] = 1
    else:
        m.joined = True  # the view's first member, node1, is the DC
    return m


def replies(effects: list[object]) -> list[Reply]:
    return [e.msg for e in effects if isinstance(e, Send) and isinstance(e.msg, Reply)]


def acked(dc: CrmdMachine) -> list[object]:
    """node2 acknowledges the DC's last diff: a change of the configuration is answered once a
    majority holds it (both nodes of two)."""
    ack = crm.CibAck("node2", list(dc.cib.version))
    return dc.step(0, Recv("messaging", ClusterMessage(MSGTYPE, "node2", wire.encode(ack), "node1")))


def to_dc(effects: list[object]) -> list[crm.CibRequest]:
    out = []
    for e in effects:
        if isinstance(e, Send) and isinstance(e.msg, SendCluster):
            msg = wire.decode(e.msg.payload)
            if isinstance(msg, crm.CibRequest):
                out.append(msg)
    return out


def test_a_members_query_is_filtered_by_the_acls_of_its_groups():
    m = machine("node2", "member")
    got = replies(m.step(0, Recv(b"tool", crm.CibQuery(1, None, "carol", ["users", "ops"]))))
    assert got[0].ok and "hunter2" not in got[0].result["xml"] and 'value="Started"' in got[0].result["xml"]
    root = replies(m.step(0, Recv(b"tool", crm.CibQuery(2))))
    assert "hunter2" in root[0].result["xml"]
    stranger = replies(m.step(0, Recv(b"tool", crm.CibQuery(3, "resources", "dave", ["users"]))))
    assert not stranger[0].ok and stranger[0].error == (
        "permission denied: user dave has no ACLs (no acl_target or acl_group gives it a role)")


def test_a_change_carries_its_user_to_the_dc_which_refuses_what_the_acls_do_not_allow():
    member, dc = machine("node2", "member"), machine("node1", "dc")
    bad = crm.CibUpdate(1, "modify", '<primitive id="d1" description="x"/>', None, "t.xml", "carol", ["ops"])
    good = crm.CibUpdate(2, "modify", '<nvpair id="d1-r" name="target-role" value="Stopped"/>', None, "t.xml",
                         "carol", ["ops"])
    for tool_request, ok in ((bad, False), (good, True)):
        forwarded = to_dc(member.step(0, Recv(b"tool", tool_request)))
        assert len(forwarded) == 1 and forwarded[0].args["user"] == "carol" and forwarded[0].args["groups"] == ["ops"]
        effects = dc.step(0, Recv("messaging", ClusterMessage(MSGTYPE, "node2", wire.encode(forwarded[0]), "node1")))
        if ok:
            effects += acked(dc)
        answers = [e.msg for e in effects if isinstance(e, Send) and isinstance(e.msg, SendCluster)
                   and isinstance(wire.decode(e.msg.payload), crm.CibReply)]
        answer = wire.decode(answers[0].payload)
        assert answer.ok is ok, answer
        if not ok:
            assert answer.error == ("permission denied: user carol may not change description of "
                                    "/cib/configuration/resources/primitive[@id='d1']")
    assert 'value="Stopped"' in dc.cib.xml() and 'description="x"' not in dc.cib.xml()
    assert dc.counters.get("acl_refused") == 1


def test_with_acls_disabled_a_non_root_change_is_refused_where_it_arrives():
    m = machine("node1", "dc", acl="false")
    upd = crm.CibUpdate(1, "modify", '<nvpair id="d1-r" name="target-role" value="Stopped"/>', None, "", "carol",
                        ["ops"])
    got = replies(m.step(0, Recv(b"tool", upd)))
    assert not got[0].ok and "ACLs are disabled (enable-acl is not true), so changes need root" in got[0].error
    assert 'value="Started"' in m.cib.xml()
    as_root = crm.CibUpdate(2, "modify", '<nvpair id="d1-r" name="target-role" value="Stopped"/>', None, "", "root")
    assert not replies(m.step(0, Recv(b"tool", as_root)))  # (answered once node2 holds it too)
    assert replies(acked(m))[0].ok  # CIB_user=root: no ACLs, as Pacemaker
