"""Clone notifications and live migration end to end without a cluster: the policy engine plans
a transition, its graph is read back as the transition engine reads it (`core.graph`), every
resource action runs through a real lrmd per node on a real shell OCF agent, each result is
recorded as the node's crmd records it (`crmd.lrmstate`), and the next transition is planned
from that history.

The agent writes down the `OCF_RESKEY_CRM_meta_*` environment of every notify and migrate
operation: what a DRBD-style or a live-migrating agent decides on. No root, no namespaces; every
lrmd started here is stopped by pid.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from core.cib.status import transition_key
from core.cib.xmltree import parse_xml, to_xml
from core.graph import parse_graph
from crmd.lrmstate import OP_STATUS, LocalLrm, OpRecord, hint_of, history_hint, params_digest, user_data
from lrmd.testing import LrmdProcess
from pengine.engine import schedule
from pengine.graph import graph_xml

# Records its state in $OCF_RESKEY_dir/<node>.state and every notify/migrate environment in
# $OCF_RESKEY_dir/<node>.log ("== op" then one name=value line per variable).
AGENT = r"""#!/bin/sh
node="$OCF_RESKEY_CRM_meta_on_node"
state="$OCF_RESKEY_dir/$node.state"
log_env() {
    { echo "== $1"; env | grep -E '^OCF_RESKEY_CRM_meta_(notify|migrate_|clone)' | sort; } \
        >> "$OCF_RESKEY_dir/$node.log"
}
case "$1" in
    meta-data) echo '<resource-agent name="rec"><parameters/><actions/></resource-agent>'; exit 0 ;;
    start) echo started > "$state"; exit 0 ;;
    stop) rm -f "$state"; exit 0 ;;
    monitor) [ -f "$state" ] && exit 0; exit 7 ;;
    notify) log_env notify; exit 0 ;;
    migrate_to) log_env migrate_to; rm -f "$state"
        echo started > "$OCF_RESKEY_dir/$OCF_RESKEY_CRM_meta_migrate_target.state"; exit 0 ;;
    migrate_from) log_env migrate_from; [ -f "$state" ] && exit 0; exit 1 ;;
    *) exit 3 ;;
esac
"""

NODES = {"n1": "1", "n2": "2"}

CIB = """<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1" dc-uuid="1"
  validate-with="pacemaker-3.0">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes>
      <node id="1" uname="n1"/>
      <node id="2" uname="n2">{n2_attrs}</node>
    </nodes>
    <resources>{resources}</resources>
    <constraints>{constraints}</constraints>
  </configuration>
  <status>{status}</status>
</cib>"""

CLONE = """<clone id="rec-clone">
  <meta_attributes id="rec-clone-meta">
    <nvpair id="rec-clone-notify" name="notify" value="true"/>
    <nvpair id="rec-clone-max" name="clone-max" value="2"/>
  </meta_attributes>
  <primitive id="rec" class="ocf" provider="lrtest" type="rec">
    <instance_attributes id="rec-params"><nvpair id="rec-dir" name="dir" value="{dir}"/></instance_attributes>
  </primitive>
</clone>"""

VM = """<primitive id="vm" class="ocf" provider="lrtest" type="rec">
  <meta_attributes id="vm-meta"><nvpair id="vm-am" name="allow-migrate" value="true"/></meta_attributes>
  <instance_attributes id="vm-params"><nvpair id="vm-dir" name="dir" value="{dir}"/></instance_attributes>
</primitive>"""

STANDBY = '<instance_attributes id="n2-attrs"><nvpair id="n2-standby" name="standby" value="on"/></instance_attributes>'


@pytest.fixture
def cluster(tmp_path):
    root = tmp_path / "ocf"
    provider = root / "resource.d" / "lrtest"
    provider.mkdir(parents=True)
    (provider / "rec").write_text(AGENT)
    (provider / "rec").chmod(0o755)
    data = tmp_path / "data"
    data.mkdir()
    lrmds: dict[str, LrmdProcess] = {}
    try:
        for node in NODES:
            lrmds[node] = LrmdProcess(str(tmp_path / node), ocf_roots=[str(root)], node=node).start()
        yield lrmds, str(data), {node: LocalLrm(node, ident) for node, ident in NODES.items()}
    finally:
        for proc in lrmds.values():
            proc.stop()


def _cib(resources: str, history: dict[str, LocalLrm], n2_attrs: str = "", constraints: str = ""):
    status = "".join(
        f'<node_state id="{ident}" uname="{node}" in_ccm="true" crmd="online" join="member" '
        f'expected="member">{to_xml(history[node].element(), indent=None)}</node_state>'
        for node, ident in NODES.items())
    return parse_xml(CIB.format(resources=resources, status=status, n2_attrs=n2_attrs,
                                constraints=constraints))


def _transition(lrmds, history: dict[str, LocalLrm], cib, number: int) -> list[tuple[str, str, str]]:
    """Plan, then run the graph in dependency order as the transition engine would; returns
    (node, operation, operation key) of every resource action run."""
    ws = schedule(cib, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    graph = parse_graph(graph_xml(ws, ws.graph))
    done: set[int] = set()
    ran: list[tuple[str, str, str]] = []
    pending = list(graph.synapses)
    for _ in range(len(pending) + 1):  # bounded: each round completes at least one synapse
        ready = [s for s in pending if all(i in done for i in s.inputs)]
        if not ready:
            break
        for syn in ready:
            pending.remove(syn)
            action = syn.action
            done.add(action.id)
            if action.kind != "rsc_op":
                continue
            node = action.on_node
            assert node in lrmds and action.rsc_id
            lrmd = lrmds[node]
            params = action.params()
            if action.operation == "stop":
                params = None  # as crmd: a stop runs with the parameters the resource started with
            else:
                lrmd.register(action.rsc_id, action.rsc_class or "", action.rsc_type or "",
                              action.rsc_provider or "", params)
            key = transition_key(action.id, number, action.target_rc, "test-te")
            digest = params_digest(action.attrs, action.interval_ms)
            res = lrmd.run(action.rsc_id, action.operation, interval_ms=action.interval_ms,
                           timeout_ms=action.timeout_ms, params=params, meta=action.meta(),
                           expected_rc=action.target_rc,
                           user_data=user_data(key, digest, history_hint(action.operation, action.meta())))
            assert res.status == "done" and res.rc == action.target_rc, (action.operation_key, res)
            ran.append((node, action.operation, action.operation_key))
            rec = OpRecord(res.rsc_id, res.operation, res.interval_ms, res.call_id, res.rc,
                           OP_STATUS[res.status], key, digest, 1)
            local = history[node]
            local.record(local.resource(res.rsc_id, action.rsc_class or "", action.rsc_provider or "",
                                        action.rsc_type or ""), rec, hint_of(res.user_data))
    assert not pending, f"graph did not complete: {[s.action.operation_key for s in pending]}"
    return ran


def _env_lines(data: str, node: str, op: str) -> list[dict[str, str]]:
    path = os.path.join(data, f"{node}.log")
    if not os.path.exists(path):
        return []
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in open(path).read().splitlines():
        if line.startswith("== "):
            current = {}
            if line[3:] == op:
                out.append(current)
        else:
            name, _, value = line.partition("=")
            current[name] = value
    return out


def _quiet(lrmds, history, cib) -> None:
    ran = _transition(lrmds, history, cib, 99)
    assert ran == [], f"the history left something to do: {ran}"


def test_notifications_reach_the_agent_with_pacemakers_environment(cluster):
    lrmds, data, history = cluster
    resources = CLONE.format(dir=data)
    ran = _transition(lrmds, history, _cib(resources, history), 1)
    assert {(node, op) for node, op, _ in ran} >= {("n1", "start"), ("n2", "start")}
    for node in NODES:
        assert os.path.exists(os.path.join(data, f"{node}.state"))
        post = _env_lines(data, node, "notify")
        # nothing was running: only the post-start notification, to both instances
        assert len(post) == 1, post
        env = post[0]
        assert env["OCF_RESKEY_CRM_meta_notify_type"] == "post"
        assert env["OCF_RESKEY_CRM_meta_notify_operation"] == "start"
        assert env["OCF_RESKEY_CRM_meta_notify_start_resource"] == "rec:0 rec:1"
        assert env["OCF_RESKEY_CRM_meta_notify_start_uname"] == "n1 n2"
        assert env["OCF_RESKEY_CRM_meta_notify_all_uname"] == "n1 n2"
        assert env["OCF_RESKEY_CRM_meta_notify_available_uname"] == "n1 n2"
        assert env["OCF_RESKEY_CRM_meta_notify_inactive_resource"] == "rec:0 rec:1"
        # what a DRBD-style agent checks before anything else
        assert env["OCF_RESKEY_CRM_meta_notify"] == "true"
        assert env["OCF_RESKEY_CRM_meta_clone_max"] == "2"
        assert env["OCF_RESKEY_CRM_meta_clone_node_max"] == "1"
        assert env["OCF_RESKEY_CRM_meta_clone"] == {"n1": "0", "n2": "1"}[node]
    # the notify results did not hide the starts: the next transition has nothing to do
    entries = history["n1"].resources["rec"].entries
    assert entries["rec_last_0"].task == "start"
    assert "rec_post_notify_start_0" in entries
    _quiet(lrmds, history, _cib(resources, history))

    # n2 goes to standby: both are told before the stop, only n1 after it
    cib = _cib(resources, history, n2_attrs=STANDBY)
    ran = _transition(lrmds, history, cib, 2)
    assert [(node, op) for node, op, _ in ran if op == "stop"] == [("n2", "stop")]
    pre = [e for e in _env_lines(data, "n2", "notify") if e["OCF_RESKEY_CRM_meta_notify_type"] == "pre"]
    assert len(pre) == 1 and pre[0]["OCF_RESKEY_CRM_meta_notify_operation"] == "stop"
    assert pre[0]["OCF_RESKEY_CRM_meta_notify_stop_uname"] == "n2"
    assert pre[0]["OCF_RESKEY_CRM_meta_notify_active_uname"] == "n1 n2"
    n1 = _env_lines(data, "n1", "notify")
    assert [(e["OCF_RESKEY_CRM_meta_notify_type"], e["OCF_RESKEY_CRM_meta_notify_operation"])
            for e in n1[1:]] == [("pre", "stop"), ("post", "stop")]
    assert all(e["OCF_RESKEY_CRM_meta_notify_stop_resource"] in ("rec:0", "rec:1") for e in n1[1:])
    assert len(_env_lines(data, "n2", "notify")) == 2, "n2 is not told after it stopped"
    assert not os.path.exists(os.path.join(data, "n2.state"))
    _quiet(lrmds, history, _cib(resources, history, n2_attrs=STANDBY))


def test_a_live_migration_runs_migrate_to_then_migrate_from_and_the_history_says_where(cluster):
    lrmds, data, history = cluster
    resources = VM.format(dir=data)
    prefer_n1 = '<rsc_location id="vm-on-n1" rsc="vm" node="n1" score="100"/>'
    ran = _transition(lrmds, history, _cib(resources, history, constraints=prefer_n1), 1)
    assert [(node, op) for node, op, _ in ran if op == "start"] == [("n1", "start")]
    _quiet(lrmds, history, _cib(resources, history, constraints=prefer_n1))

    prefer_n2 = '<rsc_location id="vm-on-n2" rsc="vm" node="n2" score="100"/>'
    ran = _transition(lrmds, history, _cib(resources, history, constraints=prefer_n2), 2)
    # no start on the target: the agent moves the resource itself, then the source is stopped
    assert [(node, op) for node, op, _ in ran if op != "monitor"] == [
        ("n1", "migrate_to"), ("n2", "migrate_from"), ("n1", "stop")]
    for node, op in (("n1", "migrate_to"), ("n2", "migrate_from")):
        (env,) = _env_lines(data, node, op)
        assert env["OCF_RESKEY_CRM_meta_migrate_source"] == "n1"
        assert env["OCF_RESKEY_CRM_meta_migrate_target"] == "n2"
    assert os.path.exists(os.path.join(data, "n2.state"))
    assert not os.path.exists(os.path.join(data, "n1.state"))
    entry = history["n2"].resources["vm"].entries["vm_migrate_from_0"]
    assert (entry.migrate_source, entry.migrate_target) == ("n1", "n2")
    assert history["n2"].active() == ["vm"] and history["n1"].active() == []
    # the next transition sees a completed migration: nothing left to do
    _quiet(lrmds, history, _cib(resources, history, constraints=prefer_n2))


def test_a_half_done_migration_is_finished_by_the_next_transition(cluster):
    """migrate_to succeeded but the transition stopped before migrate_from (the DC moved on):
    the next transition continues with migrate_from alone, then stops the source."""
    lrmds, data, history = cluster
    resources = VM.format(dir=data)
    prefer_n1 = '<rsc_location id="vm-on-n1" rsc="vm" node="n1" score="100"/>'
    _transition(lrmds, history, _cib(resources, history, constraints=prefer_n1), 1)
    prefer_n2 = '<rsc_location id="vm-on-n2" rsc="vm" node="n2" score="100"/>'
    cib = _cib(resources, history, constraints=prefer_n2)
    ws = schedule(cib, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    graph = parse_graph(graph_xml(ws, ws.graph))
    (migrate_to,) = [s.action for s in graph.synapses if s.action.operation == "migrate_to"]
    lrmd = lrmds["n1"]
    meta = migrate_to.meta()
    res = lrmd.run("vm", "migrate_to", params=migrate_to.params(), meta=meta,
                   user_data=user_data(transition_key(migrate_to.id, 2, 0, "test-te"), "",
                                       history_hint("migrate_to", meta)))
    assert res.rc == 0
    local = history["n1"]
    local.record(local.resource("vm", "ocf", "lrtest", "rec"),
                 OpRecord("vm", "migrate_to", 0, res.call_id, 0, 0,
                          transition_key(migrate_to.id, 2, 0, "test-te"), "", 1),
                 hint_of(res.user_data))
    ran = _transition(lrmds, history, _cib(resources, history, constraints=prefer_n2), 3)
    assert [(node, op) for node, op, _ in ran if op != "monitor"] == [
        ("n2", "migrate_from"), ("n1", "stop")]
    _quiet(lrmds, history, _cib(resources, history, constraints=prefer_n2))
