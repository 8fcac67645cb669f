"""Two transition graphs compared as labelled graphs: the strict conformance judge's core.

Pacemaker's runner compares graph *text*; text equality also demands equal action and synapse
ids, which only say in which order the scheduler happened to create actions. Here a graph is
read as (graph attributes, actions, edges):

- an action is identified by its **label**: element kind (`rsc_op`, `pseudo_event`,
  `crm_event`), `operation`, `operation_key`, `internal_operation_key` (a clone instance's own
  key, when the graph shows its clone's name) and `on_node`. Action ids are ignored;
- an action's **facts** are compared whole: the other attributes of the action element
  (`on_node_uuid`, `router_node`, ...), its `<primitive>` (the element's name, id, long-id,
  class, provider, type),
  every entry of its `<attributes>` (resource parameters and every `CRM_meta_*` Pacemaker sets:
  timeout, interval, name, on_node, op_target_rc, clone and notify metadata, on_fail, role,
  record_pending, migrate_source/target, ...), the nodes of `<downed>` and its synapse's
  `priority` (it orders the transition engine's work);
- an **edge** is (input label, action label) for every trigger of a synapse, counted as a
  multiset (a trigger listed twice is a difference too).

Deliberately ignored, and why:

- action and synapse ids, and the graph's `transition_id`: numbering chosen by the writer;
- `crm_feature_set` and `batch-limit`: Pacemaker's runner deletes them before comparing (they
  describe the build, not the decision);
- whitespace inside values (Pacemaker's runner compares with `--ignore-all-space`; values are
  compared as whitespace-separated token lists, which is stricter than that);
- the encoding of parameters whose names are not XML names (heartbeat-class positional
  arguments `1`, `2`, ...): Pacemaker writes `<param name="1" value=...>` children, this project
  `_1="..."` (`core.graph` reads both). Both are read back to the parameter `1`.

The order of the tokens in a value (e.g. the `CRM_meta_notify_*_resource` lists) is compared:
Pacemaker sorts those lists, so an order difference is a real difference.

Every difference is reported as a `Difference(category, detail)`: `category` names the kind of
difference in words that do not depend on the case (e.g. "missing edge: probe -> start"), so
failures of many cases can be counted by rule; `detail` names the actions.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from typing import Optional

IGNORED_GRAPH_ATTRS = frozenset({"transition_id", "batch-limit", "crm_feature_set"})
IGNORED_ACTION_ATTRS = frozenset({"crm_feature_set"})
LABEL_ATTRS = ("operation", "operation_key", "internal_operation_key", "on_node")
ACTION_TAGS = ("rsc_op", "pseudo_event", "crm_event")


@dataclass(frozen=True, order=True)
class Label:
    """What identifies an action across two graphs (ids aside)."""

    kind: str
    operation: str
    key: str
    internal_key: str
    node: str

    def __str__(self) -> str:
        key = self.internal_key or self.key
        where = f" on {self.node}" if self.node else ""
        return f"{key}{where}" if self.kind == "rsc_op" else f"{self.kind} {key}{where}"


@dataclass(frozen=True)
class Facts:
    """Everything else the graph says about one action."""

    element: tuple[tuple[str, str], ...]
    primitive: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, str], ...]
    downed: tuple[str, ...]
    priority: str


@dataclass
class LabelledGraph:
    attrs: dict[str, str]
    actions: dict[Label, list[Facts]]
    edges: Counter  # Counter[(first Label, then Label)]


@dataclass(frozen=True)
class Difference:
    category: str
    detail: str


class GraphFormatError(Exception):
    """The text is not a transition graph (str() says where)."""


def _norm_value(value: str) -> str:
    return " ".join(value.split())


def _label(elem: ET.Element) -> Label:
    if elem.tag not in ACTION_TAGS:
        raise GraphFormatError(f"unknown action element <{elem.tag}>")
    get = elem.attrib.get
    return Label(elem.tag, get("operation", ""), get("operation_key", ""),
                 get("internal_operation_key", ""), get("on_node", ""))


def _attributes(elem: Optional[ET.Element]) -> tuple[tuple[str, str], ...]:
    if elem is None:
        return ()
    found: dict[str, str] = {}
    for name, value in elem.attrib.items():
        if name in IGNORED_ACTION_ATTRS:
            continue
        if name[:1] == "_" and name[1:].isdigit():  # this project's encoding of parameter "1"
            name = name[1:]
        found[name] = _norm_value(value)
    for param in elem.findall("param"):  # Pacemaker's encoding of the same
        found[param.attrib.get("name", "")] = _norm_value(param.attrib.get("value", ""))
    return tuple(sorted(found.items()))


def _facts(elem: ET.Element, priority: str) -> Facts:
    element = tuple(sorted((k, _norm_value(v)) for k, v in elem.attrib.items()
                           if k != "id" and k not in LABEL_ATTRS))
    # the resource: `<primitive>`, or the element of a group or clone acted on as a whole
    # (add_resource_details names it after the resource's own element)
    rsc = next((child for child in elem if child.tag not in ("attributes", "downed")), None)
    prim = () if rsc is None else tuple(sorted(rsc.attrib.items())) + (("<element>", rsc.tag),)
    downed = elem.find("downed")
    nodes = tuple(sorted(n.attrib.get("id", "") for n in downed.findall("node"))) \
        if downed is not None else ()
    return Facts(element, prim, _attributes(elem.find("attributes")), nodes, priority)


def read_graph(text: str) -> LabelledGraph:
    """Parse `<transition_graph>` XML into its labelled form."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise GraphFormatError(f"not XML: {exc}") from None
    if root.tag != "transition_graph":
        raise GraphFormatError(f"root element is <{root.tag}>, not <transition_graph>")
    attrs = {k: _norm_value(v) for k, v in root.attrib.items() if k not in IGNORED_GRAPH_ATTRS}
    actions: dict[Label, list[Facts]] = {}
    edges: Counter = Counter()
    for synapse in root.findall("synapse"):
        action_set = synapse.find("action_set")
        members = list(action_set) if action_set is not None else []
        if len(members) != 1:
            raise GraphFormatError(f"synapse {synapse.attrib.get('id')} holds {len(members)} "
                                   "actions, not 1")
        action = members[0]
        label = _label(action)
        actions.setdefault(label, []).append(_facts(action, synapse.attrib.get("priority", "0")))
        inputs = synapse.find("inputs")
        for trigger in inputs.findall("trigger") if inputs is not None else []:
            for first in trigger:
                edges[(_label(first), label)] += 1
    return LabelledGraph(attrs, actions, edges)


def action_ids(text: str) -> Optional[frozenset]:
    """Each action of a graph text with its id, as (id, label): what the judge above ignores
    (ids are only numbers) but a reader of both graphs sees, and what crm_simulate's
    "Pretending action N failed" names. None when the text is not a graph."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    found = set()
    for synapse in root.findall("synapse"):
        for part in ("action_set", "inputs/trigger"):
            for holder in synapse.findall(part):
                for action in holder:
                    found.add((action.attrib.get("id"), _label(action)))
    return frozenset(found)


# ------------------------------------------------------------------------------------------------
# naming actions and attributes by kind, so that differences can be counted by rule

def action_class(label: Label, facts: Optional[Facts] = None) -> str:
    """The kind of an action in words: 'probe', 'monitor', 'start', 'pseudo running',
    'notify', 'stonith', ..."""
    op = label.operation
    if label.kind == "pseudo_event":
        if op.startswith("load_stopped_"):  # one per node: load_stopped_<uname>
            op = "load_stopped"
        return f"pseudo {op}"
    if label.kind == "crm_event":
        return op
    if op == "monitor":
        interval = "0"
        if facts is not None:
            interval = dict(facts.attributes).get("CRM_meta_interval", "0")
        else:
            match = re.search(r"_monitor_(\d+)$", label.internal_key or label.key)
            interval = match.group(1) if match else "0"
        return "probe" if interval == "0" else "monitor"
    return op


CLONE_META = frozenset(f"CRM_meta_{n}" for n in (
    "clone", "clone_max", "clone_node_max", "globally_unique", "notify", "promoted_max",
    "promoted_node_max", "master_max", "master_node_max"))


# what the scheduler itself sets on a fencing action; any other CRM_meta_* there is a node
# attribute of the target, which Pacemaker copies onto the action (add_action_attributes)
FENCING_META = frozenset(f"CRM_meta_{n}" for n in (
    "on_node", "on_node_uuid", "stonith_action", "digests_all", "digests_secure",
    "priority_fencing_delay", "timeout"))


def attribute_class(name: str, label: Optional[Label] = None) -> tuple[str, bool]:
    """(family of an `<attributes>` entry, whether the family is one rule for every kind of
    action). Families: what the clone adds to its instances' and its own actions
    (clone_append_meta and the instance number), the notification variables, the resource's
    parameters, the target's node attributes on a fencing action; any other CRM_meta_* name
    stands for itself."""
    if label is not None and label.kind == "crm_event" and label.operation == "stonith" \
            and name.startswith("CRM_meta_") and name not in FENCING_META:
        return "node attributes as CRM_meta_*", False
    if name in CLONE_META:
        return "clone meta-attributes (CRM_meta_clone*, globally_unique, notify, ...)", True
    if name.startswith("CRM_meta_notify_"):
        return "notification variables (CRM_meta_notify_*)", True
    if not name.startswith("CRM_meta_"):
        return "resource parameters", False
    return name, False


def action_kind(label: Label) -> str:
    return {"rsc_op": "resource actions", "pseudo_event": "pseudo actions",
            "crm_event": "cluster actions"}.get(label.kind, label.kind)


def _first_facts(graph: LabelledGraph, label: Label) -> Optional[Facts]:
    facts = graph.actions.get(label)
    return facts[0] if facts else None


def _compare_facts(label: Label, exp: Facts, got: Facts) -> list[Difference]:
    where = action_class(label, exp)
    out: list[Difference] = []
    if exp.element != got.element:
        out.append(Difference(f"action element attributes differ on {where}",
                              f"{label}: expected {dict(exp.element)} got {dict(got.element)}"))
    if exp.primitive != got.primitive:
        out.append(Difference(f"<primitive> differs on {where}",
                              f"{label}: expected {dict(exp.primitive)} got {dict(got.primitive)}"))
    if exp.downed != got.downed:
        out.append(Difference(f"<downed> differs on {where}",
                              f"{label}: expected {exp.downed} got {got.downed}"))
    if exp.priority != got.priority:
        out.append(Difference(f"synapse priority differs on {where}",
                              f"{label}: expected {exp.priority} got {got.priority}"))
    if exp.attributes != got.attributes:
        want, have = dict(exp.attributes), dict(got.attributes)
        seen: set[str] = set()
        for name in sorted(set(want) | set(have)):
            if want.get(name) == have.get(name):
                continue
            if name not in have:
                how = "missing"
            elif name not in want:
                how = "extra"
            elif sorted(want[name].split()) == sorted(have[name].split()):
                how = "order of values differs in"
            else:
                how = "value differs in"
            family, broad = attribute_class(name, label)
            category = f"{how} {family} on {action_kind(label) if broad else where}"
            if category in seen:
                continue
            seen.add(category)
            out.append(Difference(category, f"{label}: {name} expected {want.get(name)!r} "
                                            f"got {have.get(name)!r}"))
    return out


def compare_graphs(expected: LabelledGraph, actual: LabelledGraph) -> list[Difference]:
    """Every difference between two labelled graphs, as (category, detail); empty when equal."""
    out: list[Difference] = []
    for name in sorted(set(expected.attrs) | set(actual.attrs)):
        if expected.attrs.get(name) != actual.attrs.get(name):
            out.append(Difference(f"graph attribute {name} differs",
                                  f"expected {expected.attrs.get(name)!r} "
                                  f"got {actual.attrs.get(name)!r}"))
    exp_labels, got_labels = set(expected.actions), set(actual.actions)
    for label in sorted(exp_labels - got_labels):
        out.append(Difference(f"missing action: {action_class(label, _first_facts(expected, label))}",
                              str(label)))
    for label in sorted(got_labels - exp_labels):
        out.append(Difference(f"extra action: {action_class(label, _first_facts(actual, label))}",
                              str(label)))
    for label in sorted(exp_labels & got_labels):
        want, have = expected.actions[label], actual.actions[label]
        if len(want) != len(have):
            out.append(Difference(f"action listed {len(have)} times instead of {len(want)}",
                                  str(label)))
        if want == have:
            continue
        pairs = zip(sorted(want, key=repr), sorted(have, key=repr))
        for exp_facts, got_facts in pairs:
            out.extend(_compare_facts(label, exp_facts, got_facts))
    # edges between actions both graphs have (those of a missing action are implied by it)
    common = exp_labels & got_labels
    for (first, then), count in sorted(expected.edges.items()):
        if first in common and then in common and actual.edges.get((first, then), 0) < count:
            out.append(Difference(
                f"missing edge: {_edge_class(expected, first, then)}", f"{first} -> {then}"))
    for (first, then), count in sorted(actual.edges.items()):
        if first in common and then in common and expected.edges.get((first, then), 0) < count:
            out.append(Difference(
                f"extra edge: {_edge_class(actual, first, then)}", f"{first} -> {then}"))
    # an input naming an action the graph does not hold: Pacemaker 2.1.5 writes such inputs
    # too (an unrunnable input whose ordering can still change the action), so one is a
    # difference only when the expected graph does not have it
    for (first, then), count in sorted(actual.edges.items()):
        if first not in got_labels and expected.edges.get((first, then), 0) < count:
            out.append(Difference("input is not an action of the graph", f"{first} -> {then}"))
    for (first, then), count in sorted(expected.edges.items()):
        if first not in exp_labels and actual.edges.get((first, then), 0) < count:
            out.append(Difference("missing input that is not an action of the graph",
                                  f"{first} -> {then}"))
    return out


def _edge_class(graph: LabelledGraph, first: Label, then: Label) -> str:
    return (f"{action_class(first, _first_facts(graph, first))} -> "
            f"{action_class(then, _first_facts(graph, then))}")


def graph_differences(expected_text: str, actual_text: str) -> list[Difference]:
    """compare_graphs on two graph texts; a text that is not a graph is one difference."""
    try:
        expected = read_graph(expected_text)
    except GraphFormatError as exc:
        return [Difference("expected graph unreadable", str(exc))]
    try:
        actual = read_graph(actual_text)
    except GraphFormatError as exc:
        return [Difference("graph unreadable", str(exc))]
    return compare_graphs(expected, actual)
