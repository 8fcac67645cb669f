"""Generate the project's own scheduler regression cases with Pacemaker's crm_simulate as oracle.

    python tests/pengine/make_cases.py            # (re)writes tests/pengine/cases/

Each case is a CIB this script writes (configuration, nodes up, a fixed execution-date), brought
into a running state by crm_simulate itself (`-S -O`, optionally with injected failures or node
events along the way), and then a final crm_simulate run whose arguments are recorded in
`cases.tsv`. The stored files are NAME.xml (the input) and NAME.summary (crm_simulate -S ARGS,
with the same Master/Slave -> Promoted/Unpromoted rewriting Pacemaker's own runner applies).
`test_cases.py` runs `hb simulate` on the same input and arguments and compares.

The inputs and outputs are made by this project (Pacemaker is only the oracle that computed
them), so the repository keeps them.
"""

from __future__ import annotations

import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import Callable, Optional

HERE = pathlib.Path(__file__).resolve().parent
CASES = HERE / "cases"
EXEC_DATE = "1700000000"  # 2023-11-14 22:13:20Z; pins "now" for failure timeouts


def dummy(rid: str, monitor: str = "10s", meta: Optional[dict[str, str]] = None,
          agent: str = "Dummy", extra_ops: str = "") -> str:
    meta_xml = ""
    if meta:
        meta_xml = f'<meta_attributes id="{rid}-meta">' + "".join(
            f'<nvpair id="{rid}-meta-{k}" name="{k}" value="{v}"/>' for k, v in meta.items()
        ) + "</meta_attributes>"
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="{agent}">{meta_xml}'
            f'<operations><op id="{rid}-monitor-{monitor}" name="monitor" interval="{monitor}"'
            f' timeout="20s"/>{extra_ops}</operations></primitive>')


def stateful(rid: str) -> str:
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Stateful"><operations>'
            f'<op id="{rid}-mon-p" name="monitor" interval="10s" role="Promoted" timeout="20s"/>'
            f'<op id="{rid}-mon-u" name="monitor" interval="11s" role="Unpromoted" timeout="20s"/>'
            f'</operations></primitive>')


FENCE = '<primitive id="fencer" class="stonith" type="fence_dummy"/>'


def cib(nodes: int, resources: str, constraints: str = "", props: Optional[dict[str, str]] = None,
        defaults: Optional[dict[str, str]] = None, node_attrs: Optional[dict[int, dict]] = None,
        down: tuple[int, ...] = ()) -> str:
    props = {"stonith-enabled": "false", **(props or {})}
    prop_xml = "".join(f'<nvpair id="opt-{k}" name="{k}" value="{v}"/>' for k, v in props.items())
    node_xml = ""
    for n in range(1, nodes + 1):
        attrs = (node_attrs or {}).get(n, {})
        inner = ""
        if attrs:
            inner = f'<instance_attributes id="node{n}-attrs">' + "".join(
                f'<nvpair id="node{n}-{k}" name="{k}" value="{v}"/>' for k, v in attrs.items()
            ) + "</instance_attributes>"
        node_xml += f'<node id="{n}" uname="node{n}">{inner}</node>'
    defaults_xml = ""
    if defaults:
        defaults_xml = '<rsc_defaults><meta_attributes id="rsc-defaults">' + "".join(
            f'<nvpair id="rd-{k}" name="{k}" value="{v}"/>' for k, v in defaults.items()
        ) + "</meta_attributes></rsc_defaults>"
    states = "".join(
        f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online" join="member" '
        f'expected="member"/>' for n in range(1, nodes + 1) if n not in down)
    return (f'<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.7" '
            f'have-quorum="1" dc-uuid="1" execution-date="{EXEC_DATE}"><configuration>'
            f'<crm_config><cluster_property_set id="opts">{prop_xml}</cluster_property_set>'
            f'</crm_config><nodes>{node_xml}</nodes><resources>{resources}</resources>'
            f'<constraints>{constraints}</constraints>{defaults_xml}</configuration>'
            f'<status>{states}</status></cib>')


def loc(rsc: str, node: str, score: str, ident: Optional[str] = None) -> str:
    return f'<rsc_location id="{ident or f"loc-{rsc}-{node}"}" rsc="{rsc}" node="{node}" score="{score}"/>'


def col(rsc: str, with_rsc: str, score: str = "INFINITY", extra: str = "") -> str:
    return f'<rsc_colocation id="col-{rsc}-{with_rsc}" rsc="{rsc}" with-rsc="{with_rsc}" score="{score}"{extra}/>'


def order(first: str, then: str, kind: str = "Mandatory", extra: str = "") -> str:
    return f'<rsc_order id="ord-{first}-{then}" first="{first}" then="{then}" kind="{kind}"{extra}/>'


def add_constraints(xml: str) -> Callable[[str], str]:
    return lambda text: text.replace("</constraints>", xml + "</constraints>", 1)


def set_node_attr(node: int, name: str, value: str) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        attr = f'<nvpair id="node{node}-{name}" name="{name}" value="{value}"/>'
        head = f'<node id="{node}" uname="node{node}">'
        if head + "<instance_attributes" in text:
            return text.replace(head + f'<instance_attributes id="node{node}-attrs">',
                                head + f'<instance_attributes id="node{node}-attrs">' + attr, 1)
        short = f'<node id="{node}" uname="node{node}"/>'
        return text.replace(short, head + f'<instance_attributes id="node{node}-attrs">'
                            + attr + "</instance_attributes></node>", 1)
    return mutate


# name -> (description, CIB text, setup runs (each a crm_simulate arg list, run with -O),
#          final crm_simulate arguments[, change applied to the CIB after the setup runs])
Case = tuple


def cases() -> dict[str, Case]:
    out: dict[str, Case] = {}
    three = [dummy("A"), dummy("B"), dummy("C")]
    out["stickiness-beats-location"] = (
        "a running resource stays where it is when stickiness outweighs its location preference",
        cib(3, dummy("A"), loc("A", "node1", "100"), defaults={"resource-stickiness": "200"},
            down=(1,)),
        [["-S"]], ["-u", "node1"])
    out["location-beats-stickiness"] = (
        "a running resource moves back when its location preference outweighs stickiness",
        cib(3, dummy("A"), loc("A", "node1", "100"), defaults={"resource-stickiness": "50"},
            down=(1,)),
        [["-S"]], ["-u", "node1"])
    out["colocation-chain-ban"] = (
        "C with B with A, running on node1: a new ban of C from node1 moves the whole chain",
        cib(3, "".join(three), col("B", "A") + col("C", "B") + loc("A", "node1", "50")),
        [["-S"]], [], add_constraints(loc("C", "node1", "-INFINITY")))
    out["anti-colocation"] = (
        "B kept away from A by a -INFINITY colocation; A's node fails and A avoids B's node",
        cib(3, dummy("A") + dummy("B"), col("B", "A", "-INFINITY") + loc("A", "node1", "10")
            + loc("B", "node2", "10"), defaults={"resource-stickiness": "100"}),
        [["-S"]], ["-f", "node1"])
    out["group-member-fails"] = (
        "a failed monitor of a group's middle member restarts it and the members after it",
        cib(2, '<group id="G">' + "".join(three) + "</group>", loc("G", "node1", "100")),
        [["-S"]], ["-i", "B_monitor_10000@node1=1"])
    out["group-member-threshold"] = (
        "a group member reaching migration-threshold moves the whole group",
        cib(2, '<group id="G">' + "".join(three) + "</group>", loc("G", "node1", "100"),
            defaults={"migration-threshold": "1"}),
        [["-S"], ["-S", "-i", "C_monitor_10000@node1=1"]], [])
    out["standby-node"] = (
        "putting a node in standby moves its resources away",
        cib(3, dummy("A") + dummy("B"), loc("A", "node1", "100") + loc("B", "node1", "100"),
            node_attrs={1: {"standby": "on"}}, defaults={"resource-stickiness": "100"}),
        [], [])
    out["unclean-node-fenced"] = (
        "a lost node is fenced before its resources are recovered elsewhere",
        cib(3, FENCE + dummy("A") + dummy("B"), loc("A", "node2", "100") + loc("B", "node2", "50")
            + loc("fencer", "node2", "-INFINITY"),
            props={"stonith-enabled": "true"}),
        [["-S"]], ["-f", "node2"])
    for policy in ("stop", "ignore", "freeze"):
        out[f"no-quorum-{policy}"] = (
            f"losing quorum with no-quorum-policy={policy}",
            cib(3, dummy("A") + dummy("B") + dummy("C"),
                loc("A", "node1", "10") + loc("B", "node2", "10") + loc("C", "node3", "10"),
                props={"no-quorum-policy": policy}),
            [["-S"]], ["-d", "node3", "-q", "false"])
    out["mandatory-order-failed-first"] = (
        "B must start after A; A cannot run anywhere after failures, so B stops too",
        cib(2, dummy("A") + dummy("B"), order("A", "B") + loc("A", "node1", "10"),
            defaults={"migration-threshold": "1"}),
        [["-S"], ["-S", "-i", "A_monitor_10000@node1=1"]], ["-i", "A_monitor_10000@node2=1"])
    out["optional-order-restart"] = (
        "an optional order does not restart the dependent when the first restarts",
        cib(2, dummy("A") + dummy("B"), order("A", "B", "Optional") + loc("A", "node1", "10")),
        [["-S"]], ["-i", "A_monitor_10000@node1=1"])
    out["clone-with-group"] = (
        "a group colocated with and ordered after an anonymous clone; a clone instance fails",
        cib(3, '<clone id="base-clone">' + dummy("base") + "</clone>"
            + '<group id="app">' + dummy("web") + dummy("db") + "</group>",
            col("app", "base-clone") + order("base-clone", "app") + loc("app", "node2", "50")),
        [["-S"]], ["-i", "base_monitor_10000@node2=1"])
    out["promotable-scores"] = (
        "a promotable clone promotes the instance with the best promotion score",
        cib(3, '<clone id="ms"><meta_attributes id="ms-meta">'
               '<nvpair id="ms-promotable" name="promotable" value="true"/></meta_attributes>'
            + stateful("st") + "</clone>" + dummy("vip"),
            col("vip", "ms", extra=' rsc-role="Started" with-rsc-role="Promoted"')
            + order("ms", "vip", extra=' first-action="promote" then-action="start"'),
            node_attrs={2: {"master-st": "10"}}),
        [], [])
    out["promoted-node-fails"] = (
        "the node of the promoted instance fails: another instance is promoted",
        cib(3, FENCE + '<clone id="ms"><meta_attributes id="ms-meta">'
                       '<nvpair id="ms-promotable" name="promotable" value="true"/>'
                       '</meta_attributes>' + stateful("st") + "</clone>",
            loc("fencer", "node1", "-INFINITY"), props={"stonith-enabled": "true"}),
        [["-S"]], ["-f", "node2"])
    out["failure-timeout-expired"] = (
        "a failure older than failure-timeout no longer bans the resource: it moves back",
        cib(2, dummy("A", meta={"failure-timeout": "60s", "migration-threshold": "1"}),
            loc("A", "node1", "100")),
        [["-S"], ["-S", "-i", "A_monitor_10000@node1=1"]], ["-t", "2023-11-14 23:00:00Z"])
    out["failure-timeout-pending"] = (
        "a failure younger than failure-timeout still keeps the resource away",
        out["failure-timeout-expired"][1], out["failure-timeout-expired"][2],
        ["-t", "2023-11-14 22:13:50Z"])
    out["target-role-stopped-member"] = (
        "a group member with target-role Stopped stops itself and the members after it",
        cib(2, '<group id="G">' + dummy("A") + dummy("B", meta={"target-role": "Stopped"})
            + dummy("C") + "</group>"),
        [], [])
    out["asymmetric-rules"] = (
        "an opt-in cluster places resources only where rules on node attributes allow",
        cib(3, dummy("A") + dummy("B"),
            '<rsc_location id="loc-A-rule" rsc="A"><rule id="r1" score="100">'
            '<expression id="e1" attribute="kind" operation="eq" value="db"/></rule>'
            '</rsc_location>'
            '<rsc_location id="loc-B-rule" rsc="B"><rule id="r2" score="50" boolean-op="or">'
            '<expression id="e2" attribute="rack" operation="lt" value="3" type="number"/>'
            '<expression id="e3" attribute="#uname" operation="eq" value="node3"/></rule>'
            '</rsc_location>',
            props={"symmetric-cluster": "false"},
            node_attrs={1: {"kind": "web", "rack": "1"}, 2: {"kind": "db", "rack": "5"},
                        3: {"kind": "db", "rack": "4"}}),
        [], [])
    out["ordered-set"] = (
        "a sequential ordered resource set with a failed middle member",
        cib(2, "".join(three),
            '<rsc_order id="set-order" kind="Mandatory"><resource_set id="s1" sequential="true">'
            '<resource_ref id="A"/><resource_ref id="B"/><resource_ref id="C"/></resource_set>'
            '</rsc_order>' + col("B", "A") + col("C", "B")),
        [["-S"]], ["-i", "B_monitor_10000@node1=1", "-i", "B_monitor_10000@node2=1"])
    out["maintenance-node"] = (
        "a resource on a node in maintenance is left alone (even failed); others still move",
        cib(3, dummy("A") + dummy("B"), loc("A", "node1", "100") + loc("B", "node2", "100")),
        [["-S"]], ["-f", "node2", "-i", "A_monitor_10000@node1=1"],
        set_node_attr(1, "maintenance", "true"))
    return out


def _sed(text: str) -> str:
    """What Pacemaker's cts-scheduler pipes crm_simulate output through."""
    text = text.replace("ocf::", "ocf:")
    text = text.replace("Masters:", "Promoted:", 1).replace("Slaves:", "Unpromoted:", 1)
    text = re.sub(r" Master( |\[|$)", r" Promoted\1", text, flags=re.M)
    return text.replace(" Slave ", " Unpromoted ")


def _pin_times(text: str) -> str:
    """crm_simulate stamps injected history with the real clock: pin it to the CIB's date."""
    return re.sub(r'(last-rc-change|last-run|last-failure-[^"]*" value)="\d+"',
                  lambda mo: f'{mo.group(1)}="{EXEC_DATE}"', text)


def build(name: str, case: Case, crm_simulate: str, work: pathlib.Path) -> tuple[str, str]:
    description, text, setup, args = case[:4]
    mutate = case[4] if len(case) > 4 else None
    current = work / f"{name}.0.xml"
    current.write_text(text)
    for step, extra in enumerate(setup, start=1):
        nxt = work / f"{name}.{step}.xml"
        subprocess.run([crm_simulate, "-x", str(current), "-O", str(nxt), "-Q", *extra],
                       check=True, capture_output=True, text=True, timeout=120)
        nxt.write_text(_pin_times(nxt.read_text()))
        current = nxt
    if mutate is not None:
        current.write_text(mutate(current.read_text()))
    result = subprocess.run([crm_simulate, "-x", str(current), "-S", *args],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{name}: crm_simulate failed: {result.stderr}")
    return current.read_text(), _sed(result.stdout)


def main(argv: list[str]) -> int:
    crm_simulate = shutil.which("crm_simulate")
    if crm_simulate is None:
        print("crm_simulate not found (Debian package pacemaker-cli-utils)", file=sys.stderr)
        return 1
    CASES.mkdir(exist_ok=True)
    index = ["name\targs\tdescription"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in cases().items():
            if argv and name not in argv:
                continue
            xml, summary = build(name, case, crm_simulate, pathlib.Path(tmp))
            (CASES / f"{name}.xml").write_text(xml)
            (CASES / f"{name}.summary").write_text(summary)
            index.append(f"{name}\t{shlex.join(case[3])}\t{case[0]}")
            print(f"wrote {name}")
    if not argv:
        (CASES / "cases.tsv").write_text("\n".join(index) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
