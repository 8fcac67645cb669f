"""Clone notifications and a live migration on a real 2-node CIB-mode cluster in namespaces.

A notify clone and a migratable primitive of a shell OCF agent that writes down the
`OCF_RESKEY_CRM_meta_notify_*` / `_migrate_*` environment it gets: both instances are told about
the starts after they happen; moving the primitive migrates it (migrate_to on node1,
migrate_from on node2, then the stop on node1) instead of a stop and start, and the cluster's
own history then leaves the policy engine nothing to do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from crmlab import ops, wait_idle
from labs import running_lab
from lab import plan
from lab.lab import Lab, wait_until
from lab.plan import LabSpec
from tools import crmclient

pytestmark = [pytest.mark.lab]
if os.geteuid() != 0:
    if os.environ.get("CI"):
        raise RuntimeError("CI runs as root: the namespace lab tests must run there")
    pytestmark.append(pytest.mark.skip(reason="the namespace lab needs root"))

AGENT = r"""#!/bin/sh
node="$OCF_RESKEY_CRM_meta_on_node"
state="$OCF_RESKEY_dir/$OCF_RESOURCE_INSTANCE.$node.state"
log_env() {
    { echo "== $1 $OCF_RESOURCE_INSTANCE"; env | grep -E '^OCF_RESKEY_CRM_meta_(notify|migrate_|clone)' | sort; } \
        >> "$OCF_RESKEY_dir/$node.log"
}
case "$1" in
    meta-data) echo '<resource-agent name="rec"><parameters/><actions/></resource-agent>'; exit 0 ;;
    start) echo started > "$state"; exit 0 ;;
    stop) rm -f "$state"; exit 0 ;;
    monitor) [ -f "$state" ] && exit 0; exit 7 ;;
    notify) log_env notify; exit 0 ;;
    migrate_to) log_env migrate_to; rm -f "$state"
        echo started > "$OCF_RESKEY_dir/$OCF_RESOURCE_INSTANCE.$OCF_RESKEY_CRM_meta_migrate_target.state"
        exit 0 ;;
    migrate_from) log_env migrate_from; [ -f "$state" ] && exit 0; exit 1 ;;
    *) exit 3 ;;
esac
"""

CIB = """<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0" crm_feature_set="3.16.2">
 <configuration>
  <crm_config><cluster_property_set id="opts">
   <nvpair id="o1" name="stonith-enabled" value="false"/>
   <nvpair id="o2" name="no-quorum-policy" value="stop"/>
  </cluster_property_set></crm_config>
  <nodes/>
  <resources>
   <clone id="rec-clone">
    <meta_attributes id="rec-clone-meta"><nvpair id="rec-clone-notify" name="notify" value="true"/></meta_attributes>
    <primitive id="rec" class="ocf" provider="lrtest" type="rec">
     <instance_attributes id="rec-ia"><nvpair id="rec-dir" name="dir" value="{data}"/></instance_attributes>
    </primitive>
   </clone>
   <primitive id="vm" class="ocf" provider="lrtest" type="rec">
    <meta_attributes id="vm-meta"><nvpair id="vm-am" name="allow-migrate" value="true"/></meta_attributes>
    <instance_attributes id="vm-ia"><nvpair id="vm-dir" name="dir" value="{data}"/></instance_attributes>
   </primitive>
  </resources>
  <constraints><rsc_location id="vm-pref" rsc="vm" node="node1" score="100"/></constraints>
 </configuration>
 <status/>
</cib>
"""


def logged(data: str, node: str) -> list[tuple[str, str, dict[str, str]]]:
    """(operation, resource, environment) of every notify/migrate run the agent wrote down."""
    path = os.path.join(data, f"{node}.log")
    out: list[tuple[str, str, dict[str, str]]] = []
    if not os.path.exists(path):
        return out
    for line in open(path, encoding="utf-8").read().splitlines():
        if line.startswith("== "):
            op, rsc = line[3:].split()
            out.append((op, rsc, {}))
        elif out:
            name, _, value = line.partition("=")
            out[-1][2][name] = value
    return out


def engine_has_nothing_to_do(lab: Lab, node: str, tmp_dir: str) -> bool:
    path = os.path.join(tmp_dir, "cib-now.xml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(crmclient.query_cib(lab.paths(node))["xml"])
    out = subprocess.run([sys.executable, "-m", "pengine.simulate", "-x", path, "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return not json.loads(out.stdout)["actions"]


def test_notifications_and_a_live_migration_on_a_real_cluster(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cib_file = tmp_path / "cib.xml"
    cib_file.write_text(CIB.format(data=data))
    # the stack starts once the agent is installed (a probe must find it)
    spec = LabSpec(name="tntfy", nodes=2, subnet="198.19.93.0/24", crm=True, cib=str(cib_file),
                   run_stack=False)
    with running_lab(spec) as lab:
        agent_dir = os.path.join(plan.ocf_root(lab.spec), "resource.d", "lrtest")
        os.makedirs(agent_dir, exist_ok=True)
        with open(os.path.join(agent_dir, "rec"), "w", encoding="ascii") as handle:
            handle.write(AGENT)
        os.chmod(os.path.join(agent_dir, "rec"), 0o755)
        nodes = ["node1", "node2"]
        for node in nodes:
            lab.start_node(node)
        wait_idle(lab, nodes, 60)

        # both instances started, then both were told, with Pacemaker's lists
        def told_of_starts(node: str) -> bool:
            return any(op == "notify" and env.get("OCF_RESKEY_CRM_meta_notify_type") == "post"
                       and env.get("OCF_RESKEY_CRM_meta_notify_operation") == "start"
                       for op, _, env in logged(str(data), node))
        wait_until(lambda: all(told_of_starts(n) for n in nodes), 30, "post-start notifications")
        for node in nodes:
            env = [e for op, _, e in logged(str(data), node) if op == "notify"][-1]
            assert env["OCF_RESKEY_CRM_meta_notify_all_uname"] == "node1 node2"
            assert env["OCF_RESKEY_CRM_meta_notify"] == "true"
            assert env["OCF_RESKEY_CRM_meta_clone_max"] == "2"
            started = env["OCF_RESKEY_CRM_meta_notify_start_uname"].split()
            active = env["OCF_RESKEY_CRM_meta_notify_active_uname"].split()
            assert sorted(started + active) == nodes, env  # each instance is starting or active
        assert os.path.exists(os.path.join(data, "vm.node1.state"))
        wait_idle(lab, nodes, 30)

        # move vm: a live migration, not a stop and start
        crmclient.update_cib(lab.paths("node1"), "modify",
                             '<rsc_location id="vm-pref" rsc="vm" node="node2" score="100"/>', "constraints")
        wait_until(lambda: os.path.exists(os.path.join(data, "vm.node2.state"))
                   and not os.path.exists(os.path.join(data, "vm.node1.state")), 30, "vm to migrate")
        wait_idle(lab, nodes, 30)
        for node, op in (("node1", "migrate_to"), ("node2", "migrate_from")):
            runs = [e for o, rsc, e in logged(str(data), node) if o == op and rsc == "vm"]
            assert len(runs) == 1, (node, op, logged(str(data), node))
            assert runs[0]["OCF_RESKEY_CRM_meta_migrate_source"] == "node1"
            assert runs[0]["OCF_RESKEY_CRM_meta_migrate_target"] == "node2"
        node2_ops = [op for _, rsc, op, _ in ops(lab, "node1", "node2") if rsc == "vm"]
        assert "migrate_from" in node2_ops and "start" not in node2_ops, node2_ops
        wait_until(lambda: engine_has_nothing_to_do(lab, "node2", str(tmp_path)), 20,
                   "the policy engine to have nothing left to do")
