"""The policy engine's working set: nodes, resources, actions, constraints for one run.

It mirrors Pacemaker's `pe_working_set_t` closely on purpose: the decisions must be the same as
Pacemaker 2.1.5's scheduler, and the easiest way to keep them so is to keep the same state with
the same meaning (flags, allowed-node scores, running_on lists, action flags and orderings).
Resource flags are plain booleans; action and ordering flags are bit masks because the
ordering code combines them constantly.
"""

from __future__ import annotations

from core import datetimes as _dt

from core.cib.rules import NO_INDEX, IdIndex
from core.cib.scores import INFINITY, parse_score
from core.cib.xmltree import XNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional, Sequence

    from pengine.graph import Graph

# Roles ------------------------------------------------------------------------------------------
ROLE_UNKNOWN, ROLE_STOPPED, ROLE_STARTED, ROLE_UNPROMOTED, ROLE_PROMOTED = range(5)
ROLE_NAMES = ("Unknown", "Stopped", "Started", "Unpromoted", "Promoted")
_ROLE_BY_TEXT = {"unknown": ROLE_UNKNOWN, "stopped": ROLE_STOPPED, "started": ROLE_STARTED,
                 "unpromoted": ROLE_UNPROMOTED, "slave": ROLE_UNPROMOTED,
                 "promoted": ROLE_PROMOTED, "master": ROLE_PROMOTED}


def text2role(text: Optional[str]) -> int:
    if text is None:
        return ROLE_UNKNOWN
    return _ROLE_BY_TEXT.get(text.lower(), ROLE_UNKNOWN)


def role2text(role: int) -> str:
    return ROLE_NAMES[role]


# Variants ---------------------------------------------------------------------------------------
PRIMITIVE, GROUP, CLONE, BUNDLE = range(4)

# Action flags (pe_action_flags) -----------------------------------------------------------------
A_PSEUDO = 0x1
A_RUNNABLE = 0x2
A_OPTIONAL = 0x4
A_PRINT_ALWAYS = 0x8
A_HAVE_NODE_ATTRS = 0x10
A_IMPLIED_BY_STONITH = 0x40
A_MIGRATE_RUNNABLE = 0x80
A_DUMPED = 0x100
A_PROCESSED = 0x200
A_DANGLE = 0x800
A_REQUIRES_ANY = 0x1000
A_RESCHEDULE = 0x2000
A_DEDUP = 0x8000
A_DC = 0x10000

# Ordering flags (pe_ordering) -------------------------------------------------------------------
O_NONE = 0x0
O_OPTIONAL = 0x1
O_APPLY_FIRST_NON_MIGRATABLE = 0x2
O_IMPLIES_FIRST = 0x10
O_IMPLIES_THEN = 0x20
O_PROMOTED_IMPLIES_FIRST = 0x40
O_IMPLIES_FIRST_MIGRATABLE = 0x80
O_RUNNABLE_LEFT = 0x100
O_PSEUDO_LEFT = 0x200
O_IMPLIES_THEN_ON_NODE = 0x400
O_PROBE = 0x800
O_RESTART = 0x1000
O_STONITH_STOP = 0x2000
O_SERIALIZE_ONLY = 0x4000
O_SAME_NODE = 0x8000
O_IMPLIES_FIRST_PRINTED = 0x10000
O_IMPLIES_THEN_PRINTED = 0x20000
O_ASYMMETRICAL = 0x100000
O_LOAD = 0x200000
O_ONE_OR_MORE = 0x400000
O_ANTI_COLOCATION = 0x800000
O_PRESERVE = 0x1000000
O_THEN_CANCELS_FIRST = 0x2000000

# Failure handling (action_fail_response), valued by severity as Pacemaker compares them ----------
F_IGNORE = 10
F_DEMOTE = 20
F_RECOVER = 30
F_RESET_REMOTE = 40
F_RESTART_CONTAINER = 50
F_MIGRATE = 60
F_BLOCK = 70
F_STOP = 80
F_STANDBY = 90
F_FENCE = 100

# What a start requires (rsc_start_requirement)
NEEDS_NOTHING, NEEDS_QUORUM, NEEDS_FENCING = range(3)

# Multiple-active recovery
RECOVERY_STOP_START, RECOVERY_STOP_ONLY, RECOVERY_BLOCK, RECOVERY_STOP_UNEXPECTED = range(4)

# no-quorum-policy
NQ_FREEZE, NQ_STOP, NQ_IGNORE, NQ_SUICIDE, NQ_DEMOTE = range(5)

# resource-discovery
DISCOVER_ALWAYS, DISCOVER_NEVER, DISCOVER_EXCLUSIVE = range(3)

INFINITY_HACK = INFINITY * -100

# OCF exit codes: core/ocfcodes.py (one set for the lrmd, the agents and the pengine)

# Execution status (op-status)
EXEC_PENDING, EXEC_DONE, EXEC_CANCELLED, EXEC_TIMEOUT, EXEC_NOT_SUPPORTED = -1, 0, 1, 2, 3
EXEC_ERROR, EXEC_ERROR_HARD, EXEC_ERROR_FATAL, EXEC_NOT_INSTALLED = 4, 5, 6, 7
EXEC_NOT_CONNECTED, EXEC_INVALID, EXEC_NO_FENCE_DEVICE, EXEC_NO_SECRETS = 8, 9, 10, 11


class Node:
    """A cluster node (Pacemaker's node details); per-resource scores live in Resource.allowed."""

    __slots__ = ("id", "uname", "type", "weight", "online", "unclean", "unseen", "shutdown",
                 "standby", "standby_onfail", "maintenance", "pending", "expected_up",
                 "is_dc", "unpacked", "attrs", "utilization", "running_rsc", "allocated_rsc",
                 "num_resources", "rsc_discovery_enabled", "remote_rsc", "remote_requires_reset",
                 "remote_was_fenced", "priority", "xml", "index", "sort_key", "count", "name_key")

    def __init__(self, ident: str, uname: str, node_type: str = "member", weight: int = 0) -> None:
        self.id = ident
        self.uname = uname
        self.name_key = uname.encode()  # the name as pcmk__sort_nodes compares it (strcmp)
        self.type = node_type
        self.weight = weight
        self.online = False
        self.unclean = False
        self.unseen = False
        self.shutdown = False
        self.standby = False
        self.standby_onfail = False
        self.maintenance = False
        self.pending = False
        self.expected_up = False
        self.is_dc = False
        self.unpacked = False
        self.attrs: dict[str, str] = {}
        self.utilization: dict[str, str] = {}
        self.running_rsc: list[Resource] = []
        self.allocated_rsc: list[Resource] = []
        self.num_resources = 0
        self.rsc_discovery_enabled = True
        self.remote_rsc: Optional[Resource] = None
        self.remote_requires_reset = False
        self.remote_was_fenced = False
        self.priority = 0
        self.xml: Optional[XNode] = None
        self.index = 0
        self.sort_key: tuple = ()
        self.count = 0

    def available(self, consider_score: bool = False, score: int = 0) -> bool:
        """pcmk__node_available: can run resources (and, if asked, score is not negative)."""
        if (not self.online or self.shutdown or self.unclean or self.standby
                or self.maintenance):
            return False
        if consider_score and score < 0:
            return False
        return True

    def __repr__(self) -> str:
        return f"Node({self.uname})"


class ActionList(list):
    """A resource's actions in creation order, indexed by key and by task for fast lookups
    (Pacemaker scans its lists; with thousands of probes that would be quadratic here)."""

    __slots__ = ("by_key", "by_task", "by_key_node")

    def __init__(self) -> None:
        super().__init__()
        self.by_key: dict[str, list[Action]] = {}
        self.by_task: dict[str, list[Action]] = {}
        self.by_key_node: dict[tuple[str, Optional[Node]], list[Action]] = {}

    def add(self, action: "Action") -> None:
        self.append(action)
        # (a list made only for a new key: setdefault would make one for every action,
        # 33,000 a transition at 32/10000, and most keys have one action)
        key = action.uuid
        found = self.by_key.get(key)
        if found is None:
            self.by_key[key] = [action]
        else:
            found.append(action)
        found = self.by_task.get(action.task)
        if found is None:
            self.by_task[action.task] = [action]
        else:
            found.append(action)
        pair = (key, action.node)
        found = self.by_key_node.get(pair)
        if found is None:
            self.by_key_node[pair] = [action]
        else:
            found.append(action)

    def assign_node(self, action: "Action", node: "Node") -> None:
        """Give a node-less action its node (find_actions does this) and keep the index."""
        self.by_key_node[(action.uuid, None)].remove(action)
        action.node = node
        self.by_key_node.setdefault((action.uuid, node), []).append(action)


class Resource:
    """A primitive, group or clone with Pacemaker's resource state."""

    # Slots because a plain instance dict with this many attributes is not key-shared: 3.3 KB
    # per resource (35 MB for 10,000 resources) instead of 0.8 KB. "__dict__" stays so that an
    # attribute not listed here still works (kept in a dict made only for such instances).
    __slots__ = ("ws", "xml", "id", "variant", "parent", "children", "meta", "params_xml",
                "ops_xml", "clone_name", "incarnation", "priority", "stickiness",
                "migration_threshold", "failure_timeout", "remote_reconnect_ms", "recovery_type",
                "restart_type_restart", "role", "next_role", "target_role", "allowed",
                "discover_mode", "exclusive_discover", "known_on", "running_on", "allocated_to",
                "pending_task", "pending_node", "lock_node", "lock_time",
                "partial_migration_source", "partial_migration_target", "dangling_migrations",
                "notifications", "container", "fillers", "orphan_container_filler", "actions",
                "rsc_cons", "rsc_cons_lhs",
                "rsc_location", "rsc_tickets", "is_remote_node", "utilization", "orphan",
                "managed", "blocked", "notify", "unique", "fence_device", "promotable",
                "provisional", "allocating", "merging", "restarting", "stop_flag", "reload",
                "critical", "failed", "start_pending", "starting", "stopping", "stop_unexpected",
                "allow_migrate", "failure_ignored", "maintenance", "needs_quorum", "needs_fencing",
                "needs_unfencing", "stop_if_failed", "colocated_group", "ordered_group",
                "clone_max", "clone_node_max", "promoted_max", "promoted_node_max", "interleave",
                "ordered_clone", "clone_min", "total_instances", "promotion_priority",
                "clone_child_xml", "node_counts", "promotion_added", "promotion_constrained",
                "allocated_weight", "sort_index", "weight", "count", "index", "__dict__")

    def __init__(self, ws: "WorkingSet", xml: XNode, variant: int,
                 parent: Optional["Resource"]) -> None:
        self.ws = ws
        self.xml = xml
        self.id: str = xml.get("id") or ""
        self.variant = variant
        # rsc->fns/rsc->cmds: the variant's method table (pengine.methods), set by the engine
        self.methods = ws.variant_methods[variant]
        self.parent = parent
        self.children: list[Resource] = []
        self.meta: dict[str, str] = {}
        self.params_xml: Optional[XNode] = None
        self.ops_xml: Optional[XNode] = None
        self.clone_name: Optional[str] = None
        self.incarnation: Optional[str] = None  # clone instance number (also on group members)
        self.priority = 0
        self.stickiness = 0
        self.migration_threshold = INFINITY
        self.failure_timeout = 0
        self.remote_reconnect_ms = 0
        self.recovery_type = RECOVERY_STOP_START
        self.restart_type_restart = False
        self.role = ROLE_STOPPED
        self.next_role = ROLE_UNKNOWN
        self.target_role: Optional[int] = None
        self.allowed: dict[Node, int] = {}
        self.discover_mode: dict[Node, int] = {}
        self.exclusive_discover = False
        self.known_on: dict[Node, bool] = {}
        self.running_on: list[Node] = []
        self.allocated_to: Optional[Node] = None
        self.pending_task: Optional[str] = None
        self.pending_node: Optional[Node] = None
        self.lock_node: Optional[Node] = None
        self.lock_time = 0
        self.partial_migration_source: Optional[Node] = None
        self.partial_migration_target: Optional[Node] = None
        self.dangling_migrations: list[Node] = []
        self.notifications: dict = {}  # clone: task -> notify.NotifyData, until graph time
        # the `container` meta-attribute (setup_container): the resource this one runs inside,
        # which is restarted when this one fails; its fillers are those it contains
        self.container: Optional[Resource] = None
        self.fillers: Sequence[Resource] = ()  # a list once it has one (unpack.add_filler)
        self.orphan_container_filler = False  # an orphan whose history names its container
        self.actions: ActionList = ActionList()
        self.rsc_cons: list[Colocation] = []       # this with others
        self.rsc_cons_lhs: list[Colocation] = []   # others with this
        self.rsc_location: list[Location] = []
        self.rsc_tickets: list = []
        self.is_remote_node = False
        self.utilization: dict[str, str] = {}
        # flags
        self.orphan = False
        self.managed = True
        self.blocked = False
        self.notify = False
        self.unique = False
        self.fence_device = False
        self.promotable = False
        self.provisional = True
        self.allocating = False
        self.merging = False
        self.restarting = False
        self.stop_flag = False
        self.reload = False
        self.critical = True
        self.failed = False
        self.start_pending = False
        self.starting = False
        self.stopping = False
        self.stop_unexpected = False
        self.allow_migrate = False
        self.failure_ignored = False
        self.maintenance = False
        self.needs_quorum = False
        self.needs_fencing = False
        self.needs_unfencing = False
        self.stop_if_failed = True
        # group/clone settings
        self.colocated_group = True
        self.ordered_group = True
        self.clone_max = 0
        self.clone_node_max = 1
        self.promoted_max = 1
        self.promoted_node_max = 1
        self.interleave = False
        self.ordered_clone = False
        self.clone_min = 0
        self.total_instances = 0
        self.promotion_priority = 0
        self.clone_child_xml: Optional[XNode] = None  # the primitive/group a clone copies
        self.node_counts: dict[Node, int] = {}         # clone: instances placed per node
        self.promotion_added = False
        self.promotion_constrained = False
        self.allocated_weight = 0  # score of allocated_to in allowed when assigned
        self.sort_index = 0
        self.weight = 0
        self.count = 0
        self.index = 0  # position in the configuration, for deterministic iteration

    # -------------------------------------------------------------------------------------------
    @property
    def top(self) -> "Resource":
        rsc = self
        while rsc.parent is not None:
            rsc = rsc.parent
        return rsc

    def is_clone_instance(self) -> bool:
        return self.parent is not None and self.parent.variant == CLONE

    def leaves(self) -> list["Resource"]:
        if self.variant == PRIMITIVE:
            return [self]
        out: list[Resource] = []
        for child in self.children:
            out.extend(child.leaves())
        return out

    def __repr__(self) -> str:
        return f"Resource({self.id})"


class Action:
    """One scheduled action (pe_action_t)."""

    __slots__ = ("id", "uuid", "task", "rsc", "node", "flags", "meta", "extra", "reason",
                 "before", "after", "needs", "on_fail", "fail_role", "interval_ms",
                 "op_entry", "runnable_before", "required_runnable_before", "priority",
                 "seen_count", "cancel_task", "synapse")

    def __init__(self, uuid: str, task: str, rsc: Optional[Resource], node: Optional[Node],
                 flags: int) -> None:
        self.id = -1
        self.uuid = uuid
        self.task = task
        self.rsc = rsc
        self.node = node
        self.flags = flags
        self.meta: dict[str, str] = {}
        self.extra: dict[str, str] = {}
        self.reason: Optional[str] = None
        # lists of [action, type] pairs (mutable, like Pacemaker's wrappers), newest last
        self.before: list[list] = []
        self.after: list[list] = []
        self.needs = NEEDS_NOTHING
        self.on_fail = F_RECOVER
        self.fail_role = ROLE_UNKNOWN
        self.interval_ms = 0
        self.op_entry: Optional[XNode] = None
        self.runnable_before = 0
        self.required_runnable_before = 0
        self.priority = 0
        self.seen_count = 0
        self.cancel_task: Optional[str] = None
        self.synapse = -1

    def __repr__(self) -> str:
        where = f" on {self.node.uname}" if self.node else ""
        return f"Action({self.id}:{self.uuid}{where} {self.flags:#x})"


class Colocation:
    __slots__ = ("id", "dependent", "primary", "score", "dependent_role", "primary_role",
                 "node_attribute", "influence", "explicit")

    def __init__(self, ident: str, dependent: Resource, primary: Resource, score: int,
                 dependent_role: int, primary_role: int, node_attribute: Optional[str],
                 influence: bool, explicit: bool = True) -> None:
        self.id = ident
        self.dependent = dependent
        self.primary = primary
        self.score = score
        self.dependent_role = dependent_role
        self.primary_role = primary_role
        self.node_attribute = node_attribute
        self.influence = influence
        self.explicit = explicit


class Location:
    __slots__ = ("id", "rsc", "nodes", "role_filter", "discover_mode")

    def __init__(self, ident: str, rsc: Resource, nodes: list[tuple[Node, int]],
                 role_filter: int = ROLE_UNKNOWN, discover_mode: int = DISCOVER_ALWAYS) -> None:
        self.id = ident
        self.rsc = rsc
        self.nodes = nodes  # (node, score) pairs
        self.role_filter = role_filter
        self.discover_mode = discover_mode


class Ordering:
    """A not-yet-applied ordering (pe__ordering_t): resource + task or a concrete action."""

    __slots__ = ("id", "first_rsc", "first_task", "first_action", "then_rsc", "then_task",
                 "then_action", "flags")

    def __init__(self, ident: int, first_rsc: Optional[Resource], first_task: Optional[str],
                 first_action: Optional[Action], then_rsc: Optional[Resource],
                 then_task: Optional[str], then_action: Optional[Action], flags: int) -> None:
        self.id = ident
        self.first_rsc = first_rsc
        self.first_task = first_task
        self.first_action = first_action
        self.then_rsc = then_rsc
        self.then_task = then_task
        self.then_action = then_action
        self.flags = flags


class WorkingSet:
    """Everything one scheduler run knows; built by `pengine.engine.unpack_cib`."""

    def __init__(self, cib: XNode, now: _dt.datetime) -> None:
        self.cib = cib
        self.now = now
        self.now_epoch = int(now.timestamp())
        self.config: dict[str, str] = {}
        self.nodes: list[Node] = []
        self.node_by_id: dict[str, Node] = {}
        self.node_by_uname: dict[str, Node] = {}
        self.resources: list[Resource] = []          # top level, priority order
        self.rsc_by_id: dict[str, Resource] = {}     # every resource, any depth
        # variant -> VariantMethods (pengine.variants.VARIANT_METHODS; the engine sets it)
        self.variant_methods: dict = {}
        self.actions: list[Action] = []
        self.singletons: dict[str, Action] = {}
        self.action_id = 1  # set_working_set_defaults: the first action is 1
        # bumped whenever an action enters a resource's ActionList or an indexed action's task
        # changes: the stamp of the group member-action index (ordering._member_actions)
        self.action_changes = 0
        self.member_actions: dict = {}  # (group, task, remap) -> (stamp, member actions)
        self.orderings: list[Ordering] = []
        self.order_id = 0
        self.colocations: list[Colocation] = []
        self.locations: list[Location] = []
        self.tags: dict[str, list[str]] = {}           # tag id -> tagged ids (templates.py)
        self.template_rscs: dict[str, list[str]] = {}  # template id -> derived primitive ids
        self.tickets: dict = {}                         # ticket id -> tickets.Ticket
        self.ticket_constraints: list = []              # tickets.RscTicket
        self.dc_node: Optional[Node] = None
        self.dc_uuid: Optional[str] = None
        # flags
        self.have_quorum = False
        self.symmetric = True
        self.stonith_enabled = True
        self.have_stonith_resource = False
        self.maintenance_mode = False
        self.stop_everything = False
        self.start_failure_fatal = True
        self.stop_rsc_orphans = True
        self.stop_action_orphans = True
        self.remove_after_stop = False
        self.startup_fencing = True
        self.startup_probes = True
        self.concurrent_fencing = False
        self.enable_unfencing = False
        self.is_managed_default = True
        self.shutdown_lock = False
        self.shutdown_lock_limit = 0  # seconds, 0 = no limit
        self.have_remote_nodes = False
        self.no_quorum_policy = NQ_STOP
        self.stonith_action = "reboot"
        self.stonith_timeout = "60s"
        self.placement_strategy = "default"
        self.priority_fencing_delay = 0
        self.node_health_strategy = "none"
        # what char2score reads "red", "yellow" and "green" as: Pacemaker's globals, set from
        # node-health-strategy when the configuration is unpacked (pe__unpack_node_health_scores)
        # and used by every score read after it; 0 without a strategy
        self.score_colours: tuple[int, int, int] = (0, 0, 0)
        self.show_scores = False
        self.show_utilization = False  # crm_simulate -U (pengine/utilization.py)
        self.show_pending = False  # display: show pending actions (current status only)
        self.recheck_by = 0
        # when rules evaluated while unpacking (attribute sets, lifetimes) change outcome
        self.next_change: list = []
        self.legacy_failcounts = False
        # collected for the caller
        self.failed_ops: list[tuple[XNode, Node, Resource]] = []
        self.unsupported: list[str] = []
        self.warnings: list[str] = []
        # an order names an action in another case than its actions' (first-action="Start"):
        # Pacemaker finds actions by key case-insensitively, so such keys are looked up so too
        self.odd_case_actions = False
        self.score_lines: list[str] = []
        self.param_checks: list = []
        # per-run caches and bookkeeping
        self.history: dict = {}          # (rsc, node) -> (lrm_resource xml, sorted OpRecs)
        self.reschedule: set = set()      # (id(rsc), node id, history entry id) to reschedule
        self.fail_regexes: dict = {}
        self.node_fail_attrs: dict = {}
        self.op_configs: dict = {}
        self.fast_probe: dict = {}        # id(rsc) -> agent tuple, or False (status.py)
        self.orphan_fillers_found = False  # the node's history has an orphaned container filler
        self.probe_targets: dict = {}     # resource id -> Resource, or False (status.py)
        # attribute -> node -> the nodes sharing its lower-cased value (nodegroups.py)
        self.node_value_groups: dict = {}
        # the available nodes while resources are assigned (assign.assign_resources), else None
        self.assigning_available: Optional[frozenset] = None
        # what a warm core (pengine/process.py) carries from one run to the next, equal
        # results reused by identity (rscactions.handle_config_changes); empty elsewhere
        self.carry: dict[str, object] = {}
        # whether unpacking keeps what it derives from configuration elements on them, for a
        # later run over the same elements (a warm daemon reuses its configuration's tree:
        # pengine/rscsettings.py); a run that parses its input once (hb simulate) would only
        # pay for keeping it
        self.keep_derived = False
        self.params_cache: dict = {}
        self.op_defaults: Optional[XNode] = None
        self.rsc_defaults: Optional[XNode] = None
        self.ids: IdIndex = NO_INDEX  # the configuration's, once unpack_config has built it
        self.transition_id = 0
        self.graph: Optional[Graph] = None  # engine.schedule's result
        # the Transition Summary's items as engine.schedule logs them before the graph is made
        # (summary.collect: its look-ups give node-less actions their node, as Pacemaker's do)
        self.summary_items: Optional[list] = None
        self.lrm_index: Optional[dict] = None  # (node name, rsc id) -> lrm_resources (migrations)


    def score(self, text: Optional[str]) -> int:
        """char2score as the scheduler reads a score once the configuration is unpacked: red,
        yellow and green are what node-health-strategy makes them (`score_colours`)."""
        return parse_score(text, *self.score_colours)

    def update_recheck(self, recheck: int) -> None:
        """pe__update_recheck_time: the graph asks to be recomputed by the earliest future
        time (epoch seconds) at which something scheduled now would change."""
        if recheck > self.now_epoch and (self.recheck_by == 0 or self.recheck_by > recheck):
            self.recheck_by = recheck

    def unsupported_feature(self, what: str) -> None:
        if what not in self.unsupported:
            self.unsupported.append(what)


def cmp_primary(a: Colocation, b: Colocation) -> int:
    return _cmp_rsc(a.primary, b.primary)


def cmp_dependent(a: Colocation, b: Colocation) -> int:
    return _cmp_rsc(a.dependent, b.dependent)


def _cmp_rsc(r1: Resource, r2: Resource) -> int:
    if r1.priority != r2.priority:
        return -1 if r1.priority > r2.priority else 1
    if r1.variant != r2.variant:
        return -1 if r1.variant > r2.variant else 1
    if r1.variant == CLONE and r1.promotable != r2.promotable:
        return -1 if r1.promotable else 1
    if r1.id == r2.id:
        return 0
    # strcmp on bytes
    return -1 if r1.id.encode() < r2.id.encode() else 1
