"""Simulated execution of a transition graph against a CIB, as crm_simulate does it.

Every action "succeeds" (gets its expected result) unless the user asked for a failure; a
resource action is written into the CIB status as the history entry the cluster would record
(`<rsc>_last_0`, `<rsc>_monitor_10000`, ...), a fencing action takes the node down and clears its
history. Synapses fire in passes over the graph in order, each once all its inputs are
confirmed, which gives the same "Executing Cluster Transition" order as crm_simulate.
Also here: the requested modifications applied before scheduling (node up/down/fail, injected
operation results). Pure: the caller provides the CIB tree and "now".
"""

from __future__ import annotations

from core import lazyre as re
from core.cib.status import (FAKE_TE_ID, failcount_name, int_attr, last_failure_name, op_key,
                             parse_op_key, transition_key)
from core.cib.scores import INFINITY, parse_score
from core.cib.xmltree import XNode
from core.ocfcodes import OCF_NOT_RUNNING, OCF_SUCCESS
from pengine import model as m
from pengine.digest import compute_digest
from pengine.graph import Graph, graph_operation_key, graph_resource_ids
from pengine.model import A_PSEUDO, Action, WorkingSet
from pengine.status import find_resource

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

FEATURE_SET = "3.16.2"


def _child(parent: XNode, tag: str, attrs: Optional[dict[str, str]] = None) -> XNode:
    """parent's first `tag` child, made (with attrs) when there is none: how a CIB update
    merges into what is there."""
    found = parent.find(tag)
    return found if found is not None else parent.sub(tag, attrs)


def _status(cib: XNode) -> XNode:
    return _child(cib, "status")


def _node_id(cib: XNode, uname: str) -> str:
    config = cib.find("configuration")
    nodes = None if config is None else config.find("nodes")
    if nodes is not None:
        for node in nodes.children:
            if node.tag == "node" and node.get("uname") == uname:
                return node.get("id") or uname
    return uname


def find_node_state(cib: XNode, uname: str, create: bool = True) -> Optional[XNode]:
    status = _status(cib)
    for state in status.children:
        if state.tag == "node_state" and state.get("uname") == uname:
            return state
    if not create:
        return None
    return status.sub("node_state", {"id": _node_id(cib, uname), "uname": uname})


def node_state_update(cib: XNode, uname: str, up: bool) -> XNode:
    state = find_node_state(cib, uname)
    assert state is not None
    if up:
        values = {"in_ccm": "true", "crmd": "online", "join": "member", "expected": "member"}
    else:
        values = {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "down"}
    for key, value in values.items():
        state.set(key, value)
    state.set("crm-debug-origin", "crm_simulate")
    return state


def _remove_children(state: XNode, tag: str) -> None:
    state.children = [c for c in state.children if c.tag != tag]


def inject_transient_attr(state: XNode, name: str, value: str) -> None:
    """inject_transient_attr, merged as the CIB manager merges it: the node's first transient
    and instance attribute sets (made with the node's id when missing) get an nvpair whose
    id is the set's id and the name with `#` and `:` made `.` (crm_create_nvpair_xml); an
    nvpair of that id is updated, `value++` counted from its value (expand_plus_plus, at
    most INFINITY, written as a number), else a new one is added (`value++` is then 1), even
    beside another nvpair of the same name (which, first, keeps its say)."""
    node_id = state.get("id") or ""
    attrs = _child(state, "transient_attributes", {"id": node_id})
    inst = _child(attrs, "instance_attributes", {"id": node_id})
    pair_id = f"{inst.get('id') or 'nvpair'}-{name}".replace("#", ".").replace(":", ".")
    for pair in inst.children:
        if pair.tag == "nvpair" and pair.get("id") == pair_id:
            if value == "value++":
                old = pair.get("value")
                value = "1" if old is None else str(min(INFINITY, parse_score(old) + 1))
            pair.set("name", name)
            pair.set("value", value)
            return
    if value == "value++":
        value = "1"
    inst.sub("nvpair", {"id": pair_id, "name": name, "value": value})


def inject_failcount(state: XNode, rsc: str, task: str, interval: int, rc: int,
                     now: int, lines: Optional[list[str]] = None) -> None:
    """Count a failure as the controller would (and say so, as crm_simulate does)."""
    if rc == OCF_SUCCESS or (rc == OCF_NOT_RUNNING and interval == 0):
        return
    for name, value in ((failcount_name(rsc, task, interval), "value++"),
                        (last_failure_name(rsc, task, interval), str(now))):
        if lines is not None:
            lines.append(f"Injecting attribute {name}={value} into /node_state "
                         f"'{state.get('id')}'")
        inject_transient_attr(state, name, value)


# the classes crm_simulate 2.1.5 writes a new history entry for (pcmk__inject_resource_history;
# compared case-insensitively). Its list leaves out heartbeat and nagios; this project runs
# heartbeat-class agents (haresources), so `hb simulate` simulates them too: the one deliberate
# difference (docs/pengine.md).
INJECTABLE_CLASSES = ("ocf", "stonith", "service", "upstart", "systemd", "lsb", "heartbeat")


class InjectionRefused(Exception):
    """crm_simulate cannot write a history entry for the action's resource: its message (on
    stderr), and the action fails to fire (simulate_resource_action's EINVAL)."""


def inject_resource_history(state: XNode, resource: str, lrm_name: str, rclass: Optional[str],
                            rtype: Optional[str], rprovider: Optional[str]) -> XNode:
    """The node's history entry of the resource, reused (by its shown name, then its
    configuration name, each only when exactly one entry matches, as crm_simulate's XPath
    lookup) or created; InjectionRefused where crm_simulate refuses to create one (under
    validate-with="none" a primitive may lack a class, type or provider, or name an unknown
    class: the scheduler plans its actions all the same)."""
    lrm = state.find("lrm")
    rscs = None if lrm is None else lrm.find("lrm_resources")
    if rscs is not None:
        rscs.rec = None  # an entry is about to change: what readers indexed of them is stale
        # as crm_simulate's XPath lookup: an entry is reused only if exactly one matches
        for name in (resource, lrm_name):
            found = [e for e in rscs.children if e.tag == "lrm_resource" and e.get("id") == name]
            if len(found) == 1:
                return found[0]
    if rclass is None or rtype is None:
        raise InjectionRefused(f"Resource {resource} not found in the status section of "
                               f"{state.get('id')}.  Please supply the class and type to continue")
    if rclass.lower() not in INJECTABLE_CLASSES:
        raise InjectionRefused(f"Invalid class for {resource}: {rclass}")
    if rclass.lower() == "ocf" and rprovider is None:
        raise InjectionRefused(f"Please specify the provider for resource {resource}")
    if lrm is None:
        lrm = state.sub("lrm", {"id": state.get("id") or ""})
    if rscs is None:
        rscs = lrm.find("lrm_resources") or lrm.sub("lrm_resources")
    attrs = {"id": lrm_name}
    if rclass is not None:
        attrs["class"] = rclass
    if rprovider is not None:
        attrs["provider"] = rprovider
    if rtype is not None:
        attrs["type"] = rtype
    return rscs.sub("lrm_resource", attrs)


def inject_action_result(entry: XNode, rsc_id: str, task: str, interval: int, rc: int,
                         target_rc: int, now: int, digest: Optional[str],
                         status: int = m.EXEC_DONE,
                         notify: Optional[tuple[str, str]] = None,
                         migration: Optional[tuple[str, str]] = None) -> XNode:
    """pcmk__create_history_xml for a finished action (returns the entry written last).
    A notify action (notify = (notify_type, notify_operation)) has its own entry, so it does
    not hide the start or promote before it, and its result is always taken as success."""
    entry.rec = None  # what pengine.status derived from the element and its entries is stale now
    call_id = 0
    for op in entry.children:
        if op.tag == "lrm_rsc_op":
            call_id = max(call_id, int_attr(op, "call-id"))
    call_id += 1
    if task in ("reload", "reload-agent"):
        # recorded as a start when it completed, as a monitor when it did not, to make the
        # scheduler's reading of the current state simple
        task = "start" if status == m.EXEC_DONE else "monitor"
    key = op_key(rsc_id, task, interval)
    if task == "notify" and notify is not None:
        rc, status = OCF_SUCCESS, m.EXEC_DONE
    failed = status != m.EXEC_DONE or rc != target_rc
    if task == "notify" and notify is not None:
        ids = [f"{rsc_id}_{notify[0]}_notify_{notify[1]}_0"]
    elif task in ("migrate_to", "migrate_from"):
        ids = [key]
    elif failed:
        ids = [f"{rsc_id}_last_failure_0"] + ([f"{rsc_id}_last_0"] if interval == 0 else [])
    elif interval > 0:
        ids = [key]
    else:
        ids = [f"{rsc_id}_last_0"]
    tkey = transition_key(call_id, -1, target_rc, FAKE_TE_ID)
    written = entry
    for op_id in ids:
        op = None
        for child in entry.children:
            if child.tag == "lrm_rsc_op" and child.get("id") == op_id:
                op = child
                break
        if op is None:
            op = entry.sub("lrm_rsc_op", {"id": op_id})
        values = {
            "operation_key": key, "operation": task, "crm-debug-origin": "crm_simulate",
            "crm_feature_set": FEATURE_SET, "transition-key": tkey,
            "transition-magic": f"{status}:{rc};{tkey}", "exit-reason": "",
            "call-id": str(call_id), "rc-code": str(rc), "op-status": str(status),
            "interval": str(interval), "last-rc-change": str(now), "exec-time": "0",
            "queue-time": "0",
        }
        if digest is not None:
            values["op-digest"] = digest
        if task in ("migrate_to", "migrate_from"):  # always recorded, for the next transition
            values["migrate_source"], values["migrate_target"] = migration or ("", "")
        for name, value in values.items():
            op.set(name, value)
        for stale in ("op-restart-digest", "op-force-restart", "op-secure-digest",
                      "op-secure-params", "last-run", "on_node"):
            if stale not in values:
                op.set(stale, None)
        written = op
    return written


# ------------------------------------------------------------------------------------------------
# requested modifications (before scheduling)

def set_ticket_state(cib: XNode, ticket: str, name: str, value: bool) -> None:
    """set_ticket_state_attr: the ticket's state entry (made under status/tickets when there
    is none) gets `name` as a boolean."""
    tickets = _child(_status(cib), "tickets")
    for state in tickets.children:
        if state.tag == "ticket_state" and state.get("id") == ticket:
            break
    else:
        state = tickets.sub("ticket_state", {"id": ticket})
    state.set(name, "true" if value else "false")


def set_watchdog(cib: XNode, value: str) -> None:
    """cib__update_node_attr on crm_config: the one `have-watchdog` nvpair gets the value, or
    the cib-bootstrap-options set a new one (crm_simulate asserts on two of them)."""
    crm_config = _child(_child(cib, "configuration"), "crm_config")
    pairs = [pair for pair in crm_config.iter("nvpair") if pair.get("name") == "have-watchdog"]
    if len(pairs) > 1:
        raise ValueError("have-watchdog is set more than once in crm_config")
    if pairs:
        pairs[0].set("value", value)
        return
    for props in crm_config.children:
        if props.tag == "cluster_property_set" and props.get("id") == "cib-bootstrap-options":
            break
    else:
        props = crm_config.sub("cluster_property_set", {"id": "cib-bootstrap-options"})
    props.sub("nvpair", {"id": "cib-bootstrap-options-have-watchdog", "name": "have-watchdog",
                         "value": value})


def apply_modifications(cib: XNode, ws: WorkingSet, node_up: list[str], node_down: list[str],
                        node_fail: list[str], op_inject: list[str], now: int,
                        quorum: Optional[str], watchdog: Optional[str],
                        tickets: list[tuple[str, str]], errors: list[str]) -> list[str]:
    """pcmk__inject_scheduler_input, in its order: quorum, watchdog, nodes up, down and
    failed, tickets (`tickets`: (grant|revoke|standby|activate, ticket) in that order of
    kinds), operation results. What crm_simulate reports on stderr and goes on from (an
    operation spec or resource it cannot read) is added to `errors`. `ws`, the input as
    unpacked before these changes, names the resources an injected result may be for (by
    id or history name, pe_find_resource)."""
    lines: list[str] = []
    if quorum is not None:
        cib.set("have-quorum", quorum)
        lines.append(f"Setting quorum: {quorum}")
    if watchdog is not None:
        set_watchdog(cib, watchdog)
        lines.append(f"Setting watchdog: {watchdog}")
    for node in node_up:
        lines.append(f"Bringing node {node} online")
        node_state_update(cib, node, True)
    for node in node_down:
        lines.append(f"Taking node {node} offline")
        state = node_state_update(cib, node, False)
        _remove_children(state, "lrm")
        _remove_children(state, "transient_attributes")
    for node in node_fail:
        lines.append(f"Failing node {node}")
        state = node_state_update(cib, node, True)
        state.set("in_ccm", "false")
    for kind, ticket in tickets:
        if kind == "grant":
            lines.append(f"Granting ticket {ticket}")
            set_ticket_state(cib, ticket, "granted", True)
        elif kind == "revoke":
            lines.append(f"Revoking ticket {ticket}")
            set_ticket_state(cib, ticket, "granted", False)
        elif kind == "standby":
            lines.append(f"Making ticket {ticket} standby")
            set_ticket_state(cib, ticket, "standby", True)
        else:
            lines.append(f"Activating ticket {ticket}")
            set_ticket_state(cib, ticket, "standby", False)
    for spec in op_inject:
        lines.append(f"Injecting {spec} into the configuration")
        # inject_action: a spec or resource it cannot read is reported and skipped
        match = re.match(r"^([^@]+)@([^=]+)=(-?\d+)", spec)
        if match is None:
            found = 0 if not re.match(r"^[^@]+", spec) else \
                1 if not re.match(r"^[^@]+@[^=]+", spec) else 2
            errors.append(f"Invalid operation spec: {spec}.  Only found {found} fields")
            continue
        key, node, outcome = match.group(1), match.group(2), int(match.group(3))
        parsed = parse_op_key(key)
        found = None if parsed is None else _find_resource(ws.resources, parsed[0])
        if parsed is None or found is None:
            errors.append(f"Invalid resource name: {'(null)' if parsed is None else parsed[0]}")
            continue
        rsc_id, task, interval = parsed
        agent = found.xml  # a templated primitive's element as expanded: the template's agent
        state = find_node_state(cib, node)
        assert state is not None
        inject_failcount(state, rsc_id, task, interval, outcome, now, lines)
        try:  # crm_simulate asserts here (modify_configuration): refused, exit 2
            entry = inject_resource_history(state, rsc_id, rsc_id, agent.get("class"),
                                            agent.get("type"), agent.get("provider"))
        except InjectionRefused as exc:
            raise ValueError(f"cannot inject {spec}: {exc}") from None
        inject_action_result(entry, rsc_id, task, interval, outcome, 0, now, None)
    return lines


def _find_resource(resources: list, rsc_id: str):
    """pe_find_resource (pe_find_renamed): the first resource, depth first in the working
    set's order, whose id or name in the history (an anonymous instance's) is rsc_id; a
    group or clone too, whose element names no agent."""
    for rsc in resources:
        if rsc.id == rsc_id or rsc.clone_name == rsc_id:
            return rsc
        found = _find_resource(rsc.children, rsc_id)
        if found is not None:
            return found
    return None


# ------------------------------------------------------------------------------------------------
# executing the graph

def _resource_names(ws: WorkingSet, action: Action) -> tuple[str, str]:
    """(name shown and used first, configuration name), looked up as crm_simulate does with
    the graph's resource id and long-id."""
    rsc = action.rsc
    assert rsc is not None
    config, long_id = graph_resource_ids(rsc)
    resource = config
    if find_resource(ws, config) is None and long_id is not None \
            and find_resource(ws, long_id) is not None:
        resource = long_id
    return resource, config


class InfoLine(str):
    """An executed-transition line crm_simulate prints as information (`out->info`), on its
    own rather than as an item of the list."""


class Execution(list):
    """The executed-action lines of a simulated transition, and whether it terminated: some
    synapse could never fire although no action failed (pcmk__execute_graph's "Terminated",
    which makes crm_simulate report an invalid transition and exit with an error)."""

    terminated: bool = False

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []  # crm_simulate's messages on stderr, in order


def execute_graph(ws: WorkingSet, graph: Graph, cib: XNode, now: int,
                  op_fail: list[str]) -> Execution:
    lines = Execution()
    confirmed: set[int] = set()
    failed_actions: set[int] = set()
    done: set[int] = set()
    abort_priority = 0
    progress = True
    while progress:
        progress = False
        for syn in graph.synapses:
            if syn.id in done:
                continue
            ready = True
            for first in syn.inputs:
                # pcmk__update_graph: a failed action confirms its place as an input only
                # in the synapses of priority INFINITY (those then run on)
                if first.id not in confirmed or (first.id in failed_actions
                                                 and syn.priority != INFINITY):
                    ready = False
                    break
            if not ready:
                continue
            action = syn.action
            if not (action.flags & A_PSEUDO) and syn.priority < abort_priority:
                done.add(syn.id)
                continue
            done.add(syn.id)
            progress = True
            if _fire(ws, action, cib, now, op_fail, lines, compute_digest):
                failed_actions.add(action.id)
                abort_priority = INFINITY
            confirmed.add(action.id)
    lines.terminated = abort_priority <= 0 and len(done) < len(graph.synapses)
    return lines


def _fire(ws: WorkingSet, action: Action, cib: XNode, now: int, op_fail: list[str],
          lines: list[str], compute_digest) -> bool:
    """Run one action; True if it was made to fail."""
    node = action.node
    if action.flags & A_PSEUDO:
        suffix = f" on {node.uname}" if node is not None and action.task == "stonith" else ""
        lines.append(f"Pseudo action:   {graph_operation_key(action)}{suffix}")
        return False
    if action.task == "stonith":
        assert node is not None
        op = action.meta.get("stonith_action", "reboot")
        lines.append(f"Fencing {node.uname} ({op})")
        if op != "on":
            state = node_state_update(cib, node.uname, False)
            _remove_children(state, "lrm")
            _remove_children(state, "transient_attributes")
        return False
    if action.task == "probe_again":
        return False  # simulate_resource_action: confirmed, neither shown nor recorded
    if action.rsc is None or action.task in ("clear_failcount", "lrm_delete", "do_shutdown"):
        where = node.uname if node is not None else ""
        if action.rsc is not None:
            name = graph_resource_ids(action.rsc)[0]
            lines.append(f"Cluster action:  {action.task} for {name} on {where}")
        else:
            lines.append(f"Cluster action:  {action.task} on {where}")
        return False
    assert node is not None
    rsc = action.rsc
    shown, config_name = _resource_names(ws, action)
    task = action.task
    interval = action.interval_ms
    if task in ("delete", "meta-data"):
        lines.append(f"Resource action: {shown:<15} {task} on {node.uname}")
        return False
    state = find_node_state(cib, node.uname)
    assert state is not None
    try:  # the entry first: an action crm_simulate cannot record is not shown, and fails
        entry = inject_resource_history(state, shown, config_name, rsc.xml.get("class"),
                                        rsc.xml.get("type"), rsc.xml.get("provider"))
    except InjectionRefused as exc:
        if isinstance(lines, Execution):
            lines.errors.append(str(exc))
        return True
    if interval:
        lines.append(f"Resource action: {shown:<15} {task}={interval} on {node.uname}")
    else:
        lines.append(f"Resource action: {shown:<15} {task} on {node.uname}")
    target = int(action.meta.get("op_target_rc", "0") or 0)
    rc = target
    failed = False
    for spec in op_fail:
        for name in (shown, config_name):
            prefix = f"{name}_{task}_{interval}@{node.uname}="
            if spec.lower().startswith(prefix.lower()):
                try:
                    rc = int(spec.split("=", 1)[1])
                except ValueError:
                    continue
                failed = True
                lines.append(InfoLine(f"Pretending action {action.id} failed with rc={rc}"))
                state = find_node_state(cib, node.uname)
                assert state is not None
                inject_failcount(state, name, task, interval, rc, now, lines)
                break
        if failed:
            break
    digest = None
    if task not in ("cancel",):
        digest = compute_digest(ws, rsc, node, task, interval)
    notify = None
    if task == "notify":
        notify = (action.meta.get("notify_type", ""), action.meta.get("notify_operation", ""))
    migration = None
    if task in ("migrate_to", "migrate_from"):
        migration = (action.meta.get("migrate_source", ""), action.meta.get("migrate_target", ""))
    # the result is named after the graph's resource id (pcmk__event_from_graph_action: an
    # anonymous instance's configuration name), whatever the entry it goes into is named: an
    # older history entry "rsc:1" keeps its instance-named operations beside the new ones
    inject_action_result(entry, config_name, task, interval, rc, target, now, digest,
                         notify=notify, migration=migration)
    return failed
