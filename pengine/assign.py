"""Placement: node scores per resource and the choice of one node each (Pacemaker's "assign").

Order of work, as in Pacemaker 2.1.5: location constraints, stickiness of active resources,
bans for reached migration thresholds; then each top-level resource (priority order) is assigned,
first pulling in the resources it is colocated with, then merging the scores of resources
colocated with it (scaled by score/INFINITY, "rolled back" if that would leave it nowhere to
run), and finally taking the best available node -- ties broken by fewest assigned resources,
then the current node, then node name.
"""

from __future__ import annotations

from core.cib.scores import INFINITY, add_scores, score_text
from core.ocfcodes import OCF_NOT_RUNNING
from pengine import actions as act
from pengine import capacity
from pengine import model as m
from pengine.model import (CLONE, GROUP, PRIMITIVE, Colocation, Location, Node, Resource,
                           WorkingSet, cmp_dependent, cmp_primary)
from pengine.unpack import resource_location
from pengine.values import insert_sorted
from pengine.instances import is_set_recursive, location_one, rsc_state
from pengine.nodegroups import value_groups
from pengine.status import _failure_attrs, get_failcount

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

# merge flags (pe_weights_*)
W_INIT = 0x1
W_FORWARD = 0x4
W_POSITIVE = 0x8
W_ROLLBACK = 0x10


# ------------------------------------------------------------------------------------------------
# location, stickiness, failure thresholds

def apply_location(rsc: Resource, location: Location,
                   nodes: Optional[list[tuple[Node, int]]] = None) -> None:
    """pcmk__apply_location for one resource (nodes default to the constraint's)."""
    if location.role_filter > m.ROLE_UNKNOWN and location.role_filter != rsc.next_role:
        return
    entries = location.nodes if nodes is None else nodes
    if not entries:
        return
    allowed = rsc.allowed
    for node, score in entries:
        current = allowed.get(node)
        if current is None:
            allowed[node] = score
        else:
            allowed[node] = add_scores(current, score)
        mode = rsc.discover_mode.get(node, m.DISCOVER_ALWAYS)
        if mode < location.discover_mode:
            if location.discover_mode == m.DISCOVER_EXCLUSIVE:
                rsc.exclusive_discover = True
            rsc.discover_mode[node] = location.discover_mode


def apply_location_to(rsc: Resource, location: Location) -> None:
    """rsc->cmds->rsc_location."""
    rsc.methods.apply_location(rsc, location)


def group_apply_location(rsc: Resource, location: Location) -> None:
    apply_location(rsc, location)
    entries = location.nodes
    zero = [(node, 0) for node, _ in entries]
    reset = rsc.colocated_group
    for child in rsc.children:
        apply_location_to_child(child, location, entries)
        if reset:
            reset = False
            entries = zero


def apply_location_to_child(rsc: Resource, location: Location,
                            entries: list[tuple[Node, int]]) -> None:
    if rsc.variant == PRIMITIVE:
        apply_location(rsc, location, entries)
    else:
        saved = location.nodes
        location.nodes = entries
        try:
            apply_location_to(rsc, location)
        finally:
            location.nodes = saved


def apply_locations(ws: WorkingSet) -> None:
    for location in ws.locations:
        apply_location_to(location.rsc, location)


def apply_stickiness(ws: WorkingSet, rsc: Resource) -> None:
    if rsc.children:
        for child in rsc.children:
            apply_stickiness(ws, child)
        return
    if not rsc.managed or rsc.stickiness < 1 or len(rsc.running_on) != 1:
        return
    node = rsc.running_on[0]
    if not ws.symmetric and node not in rsc.allowed:
        return
    resource_location(ws, rsc, node, rsc.stickiness, "stickiness")


def _failcount_clear_exists(rsc: Resource, node: Node) -> bool:
    key = f"{rsc.id}_clear_failcount_0"
    return any(a.node is node for a in rsc.actions.by_key.get(key, ()))


def threshold_reached(ws: WorkingSet, rsc: Resource, node: Node) -> Optional[Resource]:
    """pcmk__threshold_reached: the resource to ban from node, if any."""
    if rsc.migration_threshold == 0 or rsc.failure_ignored:
        return None
    failcount = _failcount_with_fillers(ws, node, rsc)
    if failcount <= 0:
        return None
    ban = rsc if rsc.unique else rsc.top
    if rsc.migration_threshold - failcount <= 0:
        ws.warnings.append(f"{ban.id} cannot run on {node.uname} due to reaching migration "
                           f"threshold (clean up resource to allow again)")
        return ban
    return None


def _failcount_with_fillers(ws: WorkingSet, node: Node, rsc: Resource,
                            seen: Optional[set[int]] = None) -> int:
    """pe_get_failcount with pe_fc_fillers: a container's failures are its own plus those of
    the resources inside it, theirs counted the same way (a filler that is itself a
    container brings its own fillers' failures). Containers that name each other are
    counted once each (Pacemaker would recurse without end)."""
    failcount = get_failcount(ws, node, rsc, True)[0]
    if not rsc.fillers:  # (nearly every resource: no set made for it)
        return failcount
    seen = set() if seen is None else seen
    seen.add(id(rsc))
    for filler in rsc.fillers:
        if id(filler) not in seen:
            failcount += _failcount_with_fillers(ws, node, filler, seen)
    return failcount


def check_failure_threshold(ws: WorkingSet, rsc: Resource, node: Node) -> None:
    if rsc.children:
        for child in rsc.children:
            check_failure_threshold(ws, child, node)
        return
    if _failcount_clear_exists(rsc, node):
        return
    failed = threshold_reached(ws, rsc, node)
    if failed is not None:
        resource_location(ws, failed, node, -INFINITY, "__fail_limit__")


def apply_exclusive_discovery(rsc: Resource, node: Node) -> None:
    if rsc.exclusive_discover or rsc.top.exclusive_discover:
        for child in rsc.children:
            apply_exclusive_discovery(child, node)
        if node in rsc.allowed and rsc.discover_mode.get(node) != m.DISCOVER_EXCLUSIVE:
            rsc.allowed[node] = -INFINITY


def _shutdown_time(ws: WorkingSet, node: Node) -> int:
    value = node.attrs.get("shutdown")
    try:
        result = int(value) if value is not None else 0
    except ValueError:
        result = 0
    return result if result != 0 else ws.now_epoch


def shutdown_lock(ws: WorkingSet, rsc: Resource) -> None:
    """pcmk__primitive_shutdown_lock: keep a cleanly stopped resource on its node (a group's
    members each; pcmk__clone_shutdown_lock does nothing: clones are never locked, though an
    instance keeps a lock its history records)."""
    if rsc.variant == CLONE:
        return
    if rsc.children:
        for child in rsc.children:
            shutdown_lock(ws, child)
        return
    cls = rsc.xml.get("class")
    if cls is None or cls == "stonith":
        return
    if rsc.lock_node is not None:
        if rsc.running_on:
            # started elsewhere although locked: the lock is cancelled and its node's history
            # of the resource cleared (pe__clear_resource_history: an lrm_delete there)
            act.custom_action(ws, rsc, f"{rsc.id}_lrm_delete_0", "lrm_delete", rsc.lock_node,
                              False, True)
            rsc.lock_node = None
            rsc.lock_time = 0
    elif len(rsc.running_on) == 1:
        node = rsc.running_on[0]
        if node.shutdown and not node.unclean:
            rsc.lock_node = node
            rsc.lock_time = _shutdown_time(ws, node)
    if rsc.lock_node is None:
        return
    if ws.shutdown_lock_limit > 0:
        ws.update_recheck(rsc.lock_time + ws.shutdown_lock_limit + 1)  # only a future time
    for node in ws.nodes:
        if node.uname != rsc.lock_node.uname:
            resource_location(ws, rsc, node, -INFINITY, "shutdown-lock")


def apply_node_criteria(ws: WorkingSet) -> None:
    if ws.shutdown_lock:
        for rsc in ws.resources:
            shutdown_lock(ws, rsc)
    apply_locations(ws)
    for rsc in ws.resources:
        apply_stickiness(ws, rsc)
    exclusive = [rsc for rsc in ws.resources if _any_exclusive(rsc)]
    for node in ws.nodes:
        # without fail-count attributes on a node, no threshold can be reached there
        if _failure_attrs(node):
            for rsc in ws.resources:
                check_failure_threshold(ws, rsc, node)
        for rsc in exclusive:
            apply_exclusive_discovery(rsc, node)


def _any_exclusive(rsc: Resource) -> bool:
    return rsc.exclusive_discover or any(_any_exclusive(c) for c in rsc.children)


# ------------------------------------------------------------------------------------------------
# score output

def show_scores(ws: WorkingSet, rsc: Resource, function: str,
                nodes: Optional[dict[Node, int]] = None) -> None:
    if not ws.show_scores or rsc.orphan:
        return
    table = rsc.allowed if nodes is None else nodes
    for node in sorted(table, key=lambda n: n.sort_key):
        ws.score_lines.append(f"{function}: {rsc.id} allocation score on {node.uname}: "
                              f"{score_text(table[node])}")
    for child in rsc.children:
        show_scores(ws, child, function)


# ------------------------------------------------------------------------------------------------
# colocation scoring

def any_available(nodes: dict[Node, int]) -> bool:
    for node, score in nodes.items():
        if score >= 0 and node.available():
            return True
    return False


def colocation_has_influence(con: Colocation, rsc: Optional[Resource]) -> bool:
    if rsc is None:
        rsc = con.primary
    return con.influence or not rsc.running_on


AFFECTS_NOTHING, AFFECTS_LOCATION, AFFECTS_ROLE = range(3)


def colocation_affects(dependent: Resource, primary: Resource, con: Colocation,
                       preview: bool) -> int:
    if not preview and primary.provisional:
        return AFFECTS_NOTHING
    if (con.dependent_role >= m.ROLE_UNPROMOTED and dependent.parent is not None
            and dependent.parent.promotable and not dependent.provisional):
        return AFFECTS_ROLE
    if not preview and not dependent.provisional:
        return AFFECTS_NOTHING
    if (con.score > 0 and con.dependent_role != m.ROLE_UNKNOWN
            and con.dependent_role != dependent.next_role):
        return AFFECTS_NOTHING
    if (con.score > 0 and con.primary_role != m.ROLE_UNKNOWN
            and con.primary_role != primary.next_role):
        return AFFECTS_NOTHING
    if (con.score < 0 and con.dependent_role != m.ROLE_UNKNOWN
            and con.dependent_role == dependent.next_role):
        return AFFECTS_NOTHING
    if (con.score < 0 and con.primary_role != m.ROLE_UNKNOWN
            and con.primary_role == primary.next_role):
        return AFFECTS_NOTHING
    return AFFECTS_LOCATION


def node_attr(node: Node, attr: Optional[str]) -> Optional[str]:
    return node.attrs.get(attr or "#uname")


def apply_coloc_to_weights(dependent: Resource, primary: Resource, con: Colocation) -> None:
    """pcmk__apply_coloc_to_weights: the dependent's scores where the primary is placed (or,
    the primary unplaced, everywhere) changed by the colocation's score. The nodes sharing
    the primary's node's value are read from the run's index of values (nodegroups.py), not
    compared node by node (3,500 colocations of 32-node tables a transition at 32/10000);
    a mandatory colocation sets the others to -INFINITY, which adding -INFINITY gives."""
    attribute = con.node_attribute or "#id"
    score = con.score
    primary_node = primary.allocated_to
    value = None
    if primary_node is not None:
        value = primary_node.attrs.get(attribute)
    elif score < 0:
        return
    work = dict(dependent.allowed)
    if primary_node is None:
        for node in work:
            work[node] = add_scores(-score, work[node])
    else:
        lvalue = value.lower() if value is not None else None
        groups = value_groups(dependent.ws, attribute)
        # the nodes of the primary's node's value (without one: the nodes without one, as
        # pcmk__str_eq holds for two NULLs), or None where the index does not hold the
        # primary's node
        same = groups.get(primary_node)
        for node in work:
            if same is not None and node in groups:
                matches = node in same
            else:
                nval = node.attrs.get(attribute)
                matches = nval is None if lvalue is None else (
                    nval is not None and nval.lower() == lvalue)
            if matches:
                if score < INFINITY:
                    work[node] = add_scores(score, work[node])
            elif score >= INFINITY:
                work[node] = -INFINITY  # add_scores(-score, x): -INFINITY absorbs
    if score <= -INFINITY or score >= INFINITY or any_available(work):
        dependent.allowed = work


def apply_coloc_to_priority(dependent: Resource, primary: Resource, con: Colocation) -> None:
    """pcmk__apply_coloc_to_priority: a colocation with a promotable instance's role adjusts
    its promotion priority (where both are placed on matching nodes)."""
    if primary.allocated_to is None or dependent.allocated_to is None:
        return
    attribute = con.node_attribute or "#id"
    dependent_value = dependent.allocated_to.attrs.get(attribute)
    primary_value = primary.allocated_to.attrs.get(attribute)
    same = (dependent_value is None and primary_value is None) or (
        dependent_value is not None and primary_value is not None
        and dependent_value.lower() == primary_value.lower())
    if not same:
        if con.score == INFINITY and con.dependent_role == m.ROLE_PROMOTED:
            dependent.priority = -INFINITY
        return
    if con.primary_role != m.ROLE_UNKNOWN and con.primary_role != primary.next_role:
        return
    multiplier = -1 if con.dependent_role == m.ROLE_UNPROMOTED else 1
    dependent.priority = add_scores(multiplier * con.score, dependent.priority)


def coloc_rh(dependent: Resource, primary: Resource, con: Colocation) -> None:
    """primary->cmds->rsc_colocation_rh(dependent, primary, con)."""
    primary.methods.coloc_rh(dependent, primary, con)


def primitive_coloc_rh(dependent: Resource, primary: Resource, con: Colocation) -> None:
    affects = colocation_affects(dependent, primary, con, False)
    if affects == AFFECTS_ROLE:
        apply_coloc_to_priority(dependent, primary, con)
    elif affects == AFFECTS_LOCATION:
        apply_coloc_to_weights(dependent, primary, con)


def group_coloc_rh(dependent: Resource, primary: Resource, con: Colocation) -> None:
    if primary.provisional:
        return
    if primary.colocated_group:
        if not primary.children:
            return
        member = primary.children[-1] if con.score >= INFINITY else primary.children[0]
        coloc_rh(dependent, member, con)
        return
    if con.score >= INFINITY:
        dependent.ws.warnings.append(f"{dependent.id}: Cannot perform mandatory colocation "
                                     f"with non-colocated group {primary.id}")
        return
    for member in primary.children:
        coloc_rh(dependent, member, con)


def coloc_lh(dependent: Resource, primary: Resource, con: Colocation) -> None:
    """dependent->cmds->rsc_colocation_lh(dependent, primary, con) (a primitive's is coloc_rh:
    the primary decides)."""
    dependent.methods.coloc_lh(dependent, primary, con)


def group_coloc_lh(dependent: Resource, primary: Resource, con: Colocation) -> None:
    if dependent.colocated_group:
        if dependent.children:
            coloc_lh(dependent.children[0], primary, con)
        return
    if con.score >= INFINITY:
        dependent.ws.warnings.append(f"{dependent.id}: Cannot perform mandatory colocation "
                                     f"between non-colocated group and {primary.id}")
        return
    for member in dependent.children:
        coloc_lh(member, primary, con)


def _best_scores_by_value(rsc: Resource, attr: str) -> dict[Optional[str], int]:
    """For each (lower-cased) attribute value, the best score of rsc on an available node
    with that value (best_node_score_matching_attr for all values at once): what a merge
    reads for a node that the run's index of values (nodegroups.py) does not hold."""
    best: dict[Optional[str], int] = {}
    get = best.get
    floor = -INFINITY
    for node, score in rsc.allowed.items():
        if score > floor and node.available():
            value = node.attrs.get(attr)
            key = None if value is None else value.lower()
            if score > get(key, floor):
                best[key] = score
    return best


def _add_matching_scores(nodes: dict[Node, int], rsc: Resource, attr: Optional[str],
                         factor: float, only_positive: bool) -> None:
    """Add to each node of `nodes` rsc's best score on a node with the same value of attr,
    scaled by factor (the loop of pcmk__add_colocated_node_scores' init step, which rounds
    factor * score away from zero, never to 0 from a non-zero score). At 32 nodes / 10,000
    resources it runs 8,000 times a transition over 32 nodes (the chains of group members,
    whose colocations are mandatory): under a factor of 1 or -1 (a score of +-INFINITY) the
    rounding gives the score itself, +-, so that is what is taken, without floats; and a
    node at -INFINITY (all but one in a table that a mandatory colocation has pinned) stays
    there whatever is added, so it is not looked at. The best score for a node is read from
    the nodes sharing its value (`nodegroups.value_groups`: with #uname, the node alone), not
    from a table of every value of rsc's nodes built for each merge."""
    attr = attr or "#uname"
    groups = value_groups(rsc.ws, attr)
    allowed = rsc.allowed
    available = rsc.ws.assigning_available
    scanned: Optional[dict[Optional[str], int]] = None  # for a node the index does not hold
    hack = m.INFINITY_HACK
    floor = -INFINITY
    negative = factor < 0
    exact = factor == 1.0 or factor == -1.0  # scores are ints well below 2**52: exact
    # -INFINITY absorbs whatever is added (and INFINITY_HACK is kept): those are left out
    for node, weight_now in [(node, weight) for node, weight in nodes.items()
                             if weight != floor and weight != hack]:
        group = groups.get(node)
        if group is None:
            if scanned is None:
                scanned = _best_scores_by_value(rsc, attr)
            value = node.attrs.get(attr)
            score = scanned.get(None if value is None else value.lower(), floor)
        else:
            score = floor
            for other in group:
                candidate = allowed.get(other)
                if candidate is not None and candidate > score and (
                        other in available if available is not None else other.available()):
                    score = candidate
        if negative and score < 0:
            continue
        if exact:
            weight = -score if negative else score
        else:
            weight_f = factor * score
            weight = int(weight_f - 0.5) if weight_f < 0 else int(weight_f + 0.5)
            if weight == 0 and score != 0:
                if factor > 0.0:
                    weight = 1
                elif negative:
                    weight = -1
        # add_scores(weight, weight_now), written out (114,000 calls at 32/10000)
        if weight <= floor or weight_now <= floor:
            new = floor
        elif weight >= INFINITY or weight_now >= INFINITY:
            new = INFINITY
        else:
            new = weight + weight_now
            if new >= INFINITY:
                new = INFINITY
            elif new <= floor:
                new = floor
        if only_positive and new < 0:
            if weight_now > 0:
                nodes[node] = hack
                continue
            if weight_now == 0:
                continue
        nodes[node] = new


def merge_weights(rsc: Resource, primary_id: str, nodes: Optional[dict[Node, int]],
                  attr: Optional[str], factor: float, flags: int) -> Optional[dict[Node, int]]:
    """rsc->cmds->merge_weights."""
    return rsc.methods.merge_weights(rsc, primary_id, nodes, attr, factor, flags)


def _group_merge_weights(rsc: Resource, primary_id: str, nodes: Optional[dict[Node, int]],
                         attr: Optional[str], factor: float,
                         flags: int) -> Optional[dict[Node, int]]:
    """A group's cmds->merge_weights: Pacemaker 2.1.5 has one function for every variant
    (pcmk__add_colocated_node_scores, whose group branch is init_group_colocated_nodes), so
    this is native_merge_weights, which holds that branch."""
    return native_merge_weights(rsc, primary_id, nodes, attr, factor, flags)


def _init_colocated_nodes(rsc: Resource, primary_id: str, nodes: Optional[dict[Node, int]],
                          attr: Optional[str], factor: float,
                          flags: int) -> Optional[dict[Node, int]]:
    """init_group_colocated_nodes / init_nongroup_colocated_nodes: the table to continue
    from. Without a table (only the resource sort asks so) it is the resource's own scores
    (a group's: its last member's); with one, a group merges its first member, which brings
    in the others through the internal colocations at full strength, and any other resource
    adds its best matching scores scaled by factor. None: ignore the resource (an empty
    group)."""
    if rsc.variant == GROUP:
        if not rsc.children:
            return None
        member = rsc.children[-1] if nodes is None else rsc.children[0]
        work = None if nodes is None else dict(nodes)
        return merge_weights(member, primary_id, work, attr, factor, flags)
    if nodes is None:
        return dict(rsc.allowed)
    work = dict(nodes)
    _add_matching_scores(work, rsc, attr, factor, bool(flags & W_POSITIVE))
    return work


def native_merge_weights(rsc: Resource, primary_id: str, nodes: Optional[dict[Node, int]],
                         attr: Optional[str], factor: float,
                         flags: int) -> Optional[dict[Node, int]]:
    """pcmk__add_colocated_node_scores (Pacemaker 2.1.5): nodes updated with rsc's scores
    and, if any node stays available, with those of the resources colocated with rsc
    ("this with" ones under W_FORWARD, else the influential "with this" ones -- for a group
    those of its last member), each scaled by its score/INFINITY with the sign of factor.
    Under W_ROLLBACK a table that leaves no node available is dropped (nodes returned as
    given). nodes=None starts from rsc's own scores (W_INIT is that request's name)."""
    if rsc.merging:
        return nodes
    rsc.merging = True
    if flags & W_INIT:
        nodes = None
        flags &= ~W_INIT
    work = _init_colocated_nodes(rsc, primary_id, nodes, attr, factor, flags)
    if work is None:
        rsc.merging = False
        return nodes
    if any_available(work):
        multiplier = -1 if factor < 0 else 1
        if flags & W_FORWARD:
            cons = list(rsc.rsc_cons)
        elif rsc.variant == GROUP:
            cons = list(rsc.children[-1].rsc_cons_lhs)
        else:
            cons = list(rsc.rsc_cons_lhs)
        for con in cons:
            if flags & W_FORWARD:
                other = con.primary
            elif not colocation_has_influence(con, None):
                continue
            else:
                other = con.dependent
            merged = merge_weights(other, primary_id, work, con.node_attribute,
                                   multiplier * con.score / INFINITY, flags | W_ROLLBACK)
            assert merged is not None
            work = merged
    elif flags & W_ROLLBACK:
        rsc.merging = False
        return nodes
    if flags & W_POSITIVE:
        for node in work:
            if work[node] == m.INFINITY_HACK:
                work[node] = 1
    rsc.merging = False
    return work


# ------------------------------------------------------------------------------------------------
# assignment

def current_node(rsc: Resource) -> Optional[Node]:
    """pe__current_node (pe__find_active_on without counting)."""
    active = None
    for node in rsc.running_on:
        keep_looking = False
        happy = node.online and not node.unclean
        if rsc.partial_migration_source is not None:
            if node is rsc.partial_migration_source:
                active = node
            else:
                keep_looking = True
        elif not rsc.needs_fencing:
            if happy and (active is None or not active.online or active.unclean):
                active = node
            else:
                keep_looking = True
        if active is None:
            active = node
        if not keep_looking:
            break
    return active


def sort_nodes(ws: WorkingSet, nodes: list[tuple[Node, int]],
               preferred: Optional[Node], table: bool = True) -> list[tuple[Node, int]]:
    """pcmk__sort_nodes on an allowed-node table (table=True: the list as
    g_hash_table_get_values gives it) or on a list of nodes as given: best effective score
    first, then fewer resources assigned, the preferred node, the name."""
    if ws.placement_strategy.lower() == "balanced":
        return capacity.sort_nodes_balanced(capacity.table_values(nodes) if table else nodes,
                                            preferred)
    keyed = _sort_keys(ws, nodes, preferred)
    keyed.sort()
    return [(entry[5], entry[6]) for entry in keyed]


def _sort_keys(ws: WorkingSet, nodes: list[tuple[Node, int]],
               preferred: Optional[Node]) -> list[tuple]:
    """Each (node, score) decorated with its pcmk__sort_nodes key (an unavailable node's score
    counts as -INFINITY; placement-strategy=minimal ignores the resource counts and the
    preferred node), then its position, which breaks ties as a stable sort does."""
    if ws.placement_strategy == "minimal":
        return [(-score if node.available() else INFINITY, 0, 0, node.name_key, pos, node, score)
                for pos, (node, score) in enumerate(nodes)]
    return [(-score if node.available() else INFINITY, node.num_resources,
             0 if node is preferred else 1, node.name_key, pos, node, score)
            for pos, (node, score) in enumerate(nodes)]


def _first_sorted(ws: WorkingSet, items: list[tuple[Node, int]],
                  preferred: Optional[Node]) -> Optional[tuple[Node, int]]:
    """The first (node, score) of sort_nodes' order (not balanced), which is all that
    assign_best_node reads of it: 10,000 times a transition over 32 nodes at 32 nodes /
    10,000 resources. The key's first part (the score, an unavailable node's as -INFINITY)
    is taken for every node; the whole key (`_sort_keys`) only for the nodes tied on the
    best one, and the least of those keys is the least of all keys as tuples compare."""
    if not items:
        return None
    available = ws.assigning_available
    if available is None:
        available = frozenset(node for node, _ in items if node.available())
    firsts = [-score if node in available else INFINITY for node, score in items]
    least = min(firsts)
    if firsts.count(least) == 1:
        return items[firsts.index(least)]
    tied = [pair for pair, first in zip(items, firsts) if first == least]
    key = min(_sort_keys(ws, tied, preferred))
    return key[5], key[6]


def assign_to(ws: WorkingSet, rsc: Resource, chosen: Optional[Node], force: bool) -> bool:
    """pcmk__finalize_assignment."""
    if not force and chosen is not None:
        score = rsc.allowed.get(chosen, chosen.weight)
        if score < 0 or not chosen.available(True, score):
            rsc.next_role = m.ROLE_STOPPED
            chosen = None
    unassign(rsc)
    rsc.provisional = False
    if chosen is None:
        rsc.next_role = m.ROLE_STOPPED
        for op in rsc.actions:
            if op.task == "stop":
                op.flags &= ~m.A_OPTIONAL
            elif op.task == "start":
                op.flags &= ~m.A_RUNNABLE
            else:
                interval = op.meta.get("interval")
                if interval is not None and interval != "0" and \
                        op.meta.get("op_target_rc") != str(OCF_NOT_RUNNING):
                    op.flags &= ~m.A_RUNNABLE
        return False
    rsc.allocated_to = chosen
    rsc.allocated_weight = rsc.allowed.get(chosen, chosen.weight)
    chosen.allocated_rsc.append(rsc)
    chosen.num_resources += 1
    chosen.count += 1
    capacity.on_assigned(ws, rsc, chosen)
    return True


def assign_resource(ws: WorkingSet, rsc: Resource, node: Optional[Node], force: bool) -> bool:
    """pcmk__assign_resource: assign rsc (each primitive in it) to node; True if an existing
    assignment was replaced."""
    if not rsc.children:
        changed = rsc.allocated_to is not None
        assign_to(ws, rsc, node, force)
        return changed
    changed = False
    for child in rsc.children:
        changed |= assign_resource(ws, child, node, force)
    return changed


def unassign(rsc: Resource) -> None:
    node = rsc.allocated_to
    if node is None:
        return
    rsc.allocated_to = None
    if rsc in node.allocated_rsc:
        node.allocated_rsc.remove(rsc)
    node.num_resources -= 1
    node.count -= 1
    capacity.release(node.utilization, rsc)


def assign_best_node(ws: WorkingSet, rsc: Resource, prefer: Optional[Node]) -> bool:
    most_free = capacity.ban_insufficient_capacity(ws, rsc, colocation_affects,
                                                   AFFECTS_LOCATION)
    if prefer is None:
        prefer = most_free
    if not rsc.provisional:
        return rsc.allocated_to is not None
    running = current_node(rsc)
    items = list(rsc.allowed.items())
    nodes: Optional[list[tuple[Node, int]]] = None
    if ws.placement_strategy.lower() == "balanced":
        nodes = capacity.sort_nodes_balanced(capacity.table_values(items), running)
        best = nodes[0] if nodes else None
    else:
        best = _first_sorted(ws, items, running)
    chosen = None
    if prefer is not None and best is not None:
        score = rsc.allowed.get(prefer)
        if score is None:
            chosen = None
        elif score < best[1]:
            chosen = None
        elif not prefer.available(True, score):
            chosen = None
        else:
            chosen = prefer
    if chosen is None and best is not None:
        chosen, chosen_score = best
        unique_clone = (rsc.parent is not None and rsc.parent.variant == CLONE
                        and rsc.parent.unique)
        if not unique_clone and chosen_score > 0 and chosen.available():
            if running is not None and running.available(True, running.weight):
                if nodes is None:
                    # Pacemaker walks the sorted nodes after the best while their score is
                    # the best one and takes the running node if it meets it. Sorted by a
                    # key whose first part is the score (-INFINITY for an unavailable node),
                    # the running node, available, is met exactly when its score is the best
                    # one: every node sorted between has that score.
                    if rsc.allowed.get(running) == chosen_score:
                        chosen = running
                else:  # (the balanced order's capacity step is pairwise: walked as is)
                    for node, score in nodes[1:]:
                        if score != chosen_score:
                            break
                        if node is running:
                            chosen = node
    return assign_to(ws, rsc, chosen, False)


def assign(ws: WorkingSet, rsc: Resource, prefer: Optional[Node] = None) -> Optional[Node]:
    """rsc->cmds->allocate."""
    return rsc.methods.assign(ws, rsc, prefer)


def assign_primitive(ws: WorkingSet, rsc: Resource, prefer: Optional[Node]) -> Optional[Node]:
    if rsc.parent is not None and not rsc.parent.allocating:
        assign(ws, rsc.parent, prefer)
    if not rsc.provisional:
        return rsc.allocated_to
    if rsc.allocating:
        return None
    rsc.allocating = True
    for con in list(rsc.rsc_cons):
        archive = None
        if con.dependent_role >= m.ROLE_PROMOTED or (-INFINITY < con.score < 0):
            archive = dict(rsc.allowed)
        assign(ws, con.primary, None)
        coloc_lh(rsc, con.primary, con)
        if archive is not None and not any_available(rsc.allowed):
            rsc.allowed = archive
    for con in list(rsc.rsc_cons_lhs):
        if not colocation_has_influence(con, None):
            continue
        merged = merge_weights(con.dependent, rsc.id, rsc.allowed, con.node_attribute,
                               con.score / INFINITY, W_ROLLBACK)
        if merged is not None:
            rsc.allowed = merged
    if rsc.next_role == m.ROLE_STOPPED:
        resource_location(ws, rsc, None, -INFINITY, "target-role")
    elif (rsc.next_role > rsc.role and not ws.have_quorum
          and ws.no_quorum_policy == m.NQ_FREEZE):
        rsc.next_role = rsc.role
    show_scores(ws, rsc, "pcmk__primitive_assign")
    if ws.stonith_enabled and not ws.have_stonith_resource:
        rsc.managed = False
    if not rsc.managed:
        rsc.next_role = rsc.role
        running = current_node(rsc)
        if assign_to(ws, rsc, running, True):
            assert running is not None
            # pcmk__finalize_assignment copies the node it is given, here the running node
            # (pe__current_node), not rsc's allowed-table entry: the assigned weight that a
            # mandatory colocation with a promotable clone adds (node_list_exclude) is the
            # node's own weight
            rsc.allocated_weight = running.weight
    elif ws.stop_everything:
        assign_to(ws, rsc, None, True)
    elif rsc.provisional and assign_best_node(ws, rsc, prefer):
        pass
    rsc.allocating = False
    return rsc.allocated_to


def expand_group_colocations(rsc: Resource) -> None:
    # every move goes through pcmk__add_this_with/pcmk__add_with_this, i.e. a sorted insertion
    # that puts a colocation before its ties: the order the scores are applied in matters
    # when a non-mandatory one would be rolled back after a mandatory one
    member = rsc.children[0]
    for con in rsc.rsc_cons:
        insert_sorted(member.rsc_cons, con, cmp_primary)
    any_unmanaged = not member.managed
    for member in rsc.children[1:]:
        if any_unmanaged:
            for con in rsc.rsc_cons:
                if con.score == INFINITY:
                    insert_sorted(member.rsc_cons, con, cmp_primary)
        elif not member.managed:
            any_unmanaged = True
    rsc.rsc_cons = []
    last = rsc.children[-1]
    for con in rsc.rsc_cons_lhs:
        insert_sorted(last.rsc_cons_lhs, con, cmp_dependent)
    rsc.rsc_cons_lhs = []


def assign_group(ws: WorkingSet, rsc: Resource, prefer: Optional[Node]) -> Optional[Node]:
    if not rsc.provisional:
        return rsc.allocated_to
    if rsc.allocating:
        return None
    if not rsc.children:
        rsc.provisional = False
        return None
    rsc.allocating = True
    first = rsc.children[0]
    rsc.role = first.role
    expand_group_colocations(rsc)
    show_scores(ws, rsc, "pcmk__group_assign")
    first_node = None
    for member in rsc.children:
        node = assign(ws, member, prefer)
        if first_node is None:
            first_node = node
    rsc.next_role = first.next_role
    rsc.allocating = False
    rsc.provisional = False
    return first_node if rsc.colocated_group else None


def assign_resources(ws: WorkingSet) -> None:
    """Each top-level resource in priority order. The available nodes are taken once for the
    whole step (`WorkingSet.assigning_available`): the choice of a node and the merges ask
    each of 32 nodes ~450,000 times a transition at 32 nodes / 10,000 resources, and no
    node's availability changes while resources are assigned (online, shutdown, unclean,
    standby and maintenance are set by unpacking and the tickets; a fencing decided later,
    for a stop that cannot run, is of a node that is not online, unavailable already)."""
    ws.assigning_available = frozenset(node for node in ws.nodes if node.available())
    try:
        for rsc in ws.resources:
            assign(ws, rsc, None)
    finally:
        ws.assigning_available = None


def is_child_compatible(child: Resource, local_node: Node, filter_role: int,
                        current: bool) -> bool:
    next_role = rsc_state(child, current)
    node = None
    if not is_set_recursive(child, "blocked", True):
        node = location_one(child, 1 if current else 0)
    if filter_role != m.ROLE_UNKNOWN and next_role != filter_role:
        return False
    return node is not None and node is local_node


def find_compatible_child_by_node(local_child: Resource, local_node: Optional[Node],
                                  rsc: Resource, filter_role: int,
                                  current: bool) -> Optional[Resource]:
    if local_node is None:
        return None
    for child in rsc.children:
        if is_child_compatible(child, local_node, filter_role, current):
            return child
    return None


def find_compatible_child(local_child: Resource, rsc: Resource, filter_role: int,
                          current: bool) -> Optional[Resource]:
    """The instance of clone rsc on the node where local_child is (or could best be)."""
    local_node = location_one(local_child, 1 if current else 0)
    if local_node is not None:
        return find_compatible_child_by_node(local_child, local_node, rsc, filter_role, current)
    for node, _ in sort_nodes(local_child.ws, list(local_child.allowed.items()), None):
        pair = find_compatible_child_by_node(local_child, node, rsc, filter_role, current)
        if pair is not None:
            return pair
    return None
