"""Unpack a CIB into a WorkingSet: cluster options, nodes, resources and constraints.

Follows Pacemaker 2.1.5's lib/pengine unpack.c/complex.c and lib/pacemaker's constraint
unpacking, so that every default and precedence rule matches (own meta-attributes beat the
parent's, which beat rsc_defaults; sets are applied highest score first; ...). What we do not
implement (bundles, remote/guest nodes) is recorded in `ws.unsupported` rather than silently ignored.
"""

from __future__ import annotations

from core import lazyre as re
from core.cib.dates import to_epoch
from core.cib.durations import interval_ms as parse_interval_ms
from core.cib.durations import duration_seconds
from core.cib.durations import msec as parse_msec
from core.cib.posixre import translate_ere
from core.cib.rules import (IdIndex, RuleContext, RuleEvaluator, _expand_submatches,
                            compare_versions, first_rule_score, unpack_nvpairs)
from core.cib.scores import INFINITY, add_scores
from core.cib.status import op_key
from core.cib.xmltree import XNode
from pengine import actions as act
from pengine import model as m
from pengine import rscsettings, templates
from pengine.digest import rsc_params
from pengine.entryindex import EntryIndex, UnfencingScan
from pengine.model import (A_REQUIRES_ANY, CLONE, GROUP, PRIMITIVE, Colocation, Location, Node,
                           Resource, WorkingSet, cmp_dependent, cmp_primary)
from pengine.values import _int_or_zero, insert_sorted, is_true, numeric_key, to_bool

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Callable, Optional

CLUSTER_DEFAULTS = {
    "stonith-enabled": "true",
    "stonith-action": "reboot",
    "stonith-timeout": "60s",
    "symmetric-cluster": "true",
    "maintenance-mode": "false",
    "start-failure-is-fatal": "true",
    "stop-orphan-resources": "true",
    "stop-orphan-actions": "true",
    "remove-after-stop": "false",
    "stop-all-resources": "false",
    "startup-fencing": "true",
    "enable-startup-probes": "true",
    "concurrent-fencing": "false",
    "no-quorum-policy": "stop",
    "placement-strategy": "default",
    "node-health-strategy": "none",
    "cluster-delay": "60s",
    "batch-limit": "0",
    "migration-limit": "-1",
    "is-managed-default": "true",
    "shutdown-lock": "false",
    "shutdown-lock-limit": "0",
    "priority-fencing-delay": "0",
    "default-action-timeout": "20s",
}


_BOOLEAN_OPTIONS = ("symmetric-cluster", "maintenance-mode", "start-failure-is-fatal",
                    "enable-startup-probes", "shutdown-lock", "stonith-enabled", "have-watchdog",
                    "concurrent-fencing", "startup-fencing", "stop-all-resources",
                    "stop-orphan-resources", "stop-orphan-actions", "remove-after-stop")
_INTERVAL_OPTIONS = ("shutdown-lock-limit", "stonith-timeout", "priority-fencing-delay",
                     "cluster-delay")
_NUMBER_OPTIONS = ("batch-limit", "migration-limit", "node-health-base", "node-health-green",
                   "node-health-yellow", "node-health-red")


def _option_is_valid(name: str, value: str) -> bool:
    """The validators of Pacemaker 2.1.5's scheduler options (lib/pengine/common.c)."""
    if name in _BOOLEAN_OPTIONS:
        return to_bool(value) is not None
    if name == "no-quorum-policy":
        return value.lower() in ("stop", "freeze", "ignore", "demote", "suicide")
    if name == "stonith-action":
        return value in ("off", "reboot", "poweroff")  # pcmk__is_fencing_action: exact case
    if name in _INTERVAL_OPTIONS:  # pcmk__valid_interval_spec
        if value.startswith("P"):
            return duration_seconds(value) is not None
        return parse_msec(value) is not None
    if name in _NUMBER_OPTIONS:
        digits = value.strip()
        if digits[:1] in ("+", "-"):
            digits = digits[1:]
        if digits.isdecimal():
            return True  # a number: the expression below (and `re`) is for INFINITY's spellings
        return re.fullmatch(r"\s*([-+]?\d+|[-+]?INFINITY)\s*", value, re.IGNORECASE) is not None
    if name == "placement-strategy":
        return value.lower() in ("default", "utilization", "minimal", "balanced")
    return True


def cluster_option(ws: WorkingSet, name: str) -> str:
    """pe_pref: a cluster option's value as the scheduler uses it, an invalid one replaced by
    its documented default (unpack_config warned about it already)."""
    value = ws.config.get(name)
    if value is not None and not _option_is_valid(name, value):
        value = None
    return CLUSTER_DEFAULTS.get(name, "") if value is None else value


def section(cib: XNode, name: str) -> Optional[XNode]:
    config = cib.find("configuration")
    return None if config is None else config.find(name)


# ------------------------------------------------------------------------------------------------
# cluster options

def unpack_config(ws: WorkingSet) -> None:
    cib = ws.cib
    # id-refs point into the configuration; indexing the status section too (hundreds of
    # thousands of history entries) would only cost time
    config = cib.find("configuration")
    ws.ids = IdIndex(config if config is not None else cib)
    crm_config = section(cib, "crm_config")
    ctx = RuleContext(now=ws.now, next_change=ws.next_change)
    options = unpack_nvpairs(crm_config, "cluster_property_set", ctx, ws.ids,
                             first_id="cib-bootstrap-options")
    ws.config = options

    def opt(name: str) -> str:
        value = options.get(name)
        if value is not None and not _option_is_valid(name, value):
            # cluster_option_value: an invalid value is a configuration error, and the
            # documented default applies (cluster_option)
            ws.warnings.append(f"using default value for cluster option '{name}' because "
                               f"'{value}' is invalid")
        return cluster_option(ws, name)

    ws.dc_uuid = cib.get("dc-uuid")
    quorum = cib.get("have-quorum")
    ws.have_quorum = is_true(quorum)
    ws.stonith_enabled = to_bool(opt("stonith-enabled")) is not False
    action = opt("stonith-action")
    ws.stonith_action = "off" if action == "poweroff" else action
    ws.stonith_timeout = opt("stonith-timeout")
    if is_true(opt("have-watchdog")):
        # the controller says every node runs a watchdog: watchdog-based self-fencing counts as a
        # fencing device (Pacemaker 2.1's unpack_config)
        ws.have_stonith_resource = True
    ws.symmetric = to_bool(opt("symmetric-cluster")) is not False
    ws.maintenance_mode = is_true(opt("maintenance-mode"))
    ws.start_failure_fatal = to_bool(opt("start-failure-is-fatal")) is not False
    ws.stop_rsc_orphans = to_bool(opt("stop-orphan-resources")) is not False
    ws.stop_action_orphans = to_bool(opt("stop-orphan-actions")) is not False
    ws.remove_after_stop = is_true(opt("remove-after-stop"))
    ws.stop_everything = is_true(opt("stop-all-resources"))
    # startup-fencing is only honoured when fencing is enabled ("blind faith" otherwise)
    ws.startup_fencing = ws.stonith_enabled and to_bool(opt("startup-fencing")) is not False
    ws.startup_probes = to_bool(opt("enable-startup-probes")) is not False
    ws.concurrent_fencing = is_true(opt("concurrent-fencing"))
    ws.is_managed_default = to_bool(opt("is-managed-default")) is not False
    ws.placement_strategy = opt("placement-strategy")
    ws.node_health_strategy = opt("node-health-strategy")
    if is_true(opt("shutdown-lock")):
        ws.shutdown_lock = True
        ws.shutdown_lock_limit = parse_interval_ms(opt("shutdown-lock-limit")) // 1000
    nqp = opt("no-quorum-policy").lower()
    policy = {"ignore": m.NQ_IGNORE, "freeze": m.NQ_FREEZE, "stop": m.NQ_STOP,
              "demote": m.NQ_DEMOTE, "suicide": m.NQ_SUICIDE}.get(nqp, m.NQ_STOP)
    if policy == m.NQ_SUICIDE and not ws.stonith_enabled:
        policy = m.NQ_STOP
    elif policy == m.NQ_SUICIDE and not ws.have_quorum and not _int_or_zero(
            cib.get("no-quorum-panic")):
        # a cluster that has never had quorum has nothing to commit suicide over: stop
        # (the controller sets no-quorum-panic once quorum has been lost, not just lacked)
        policy = m.NQ_STOP
    ws.no_quorum_policy = policy
    delay = parse_msec(opt("priority-fencing-delay"))
    ws.priority_fencing_delay = (delay or 0) // 1000
    version = cib.get("crm_feature_set")
    ws.legacy_failcounts = version is None or compare_versions(version, "3.0.13") < 0
    # unfencing is in use if any device provides it or any resource requires it
    if _unfencing_pair_in(cib):
        ws.enable_unfencing = True
    ws.rsc_defaults = section(cib, "rsc_defaults")
    ws.op_defaults = section(cib, "op_defaults")


def _is_unfencing_pair(pair: XNode) -> bool:
    return (pair.get("name"), pair.get("value")) in (("provides", "unfencing"),
                                                     ("requires", "unfencing"))


def _unfencing_pair_in(cib: XNode) -> bool:
    """Whether an nvpair anywhere in the document, the status included (Pacemaker's XPath
    `//nvpair`), says provides=unfencing or requires=unfencing. A reused `lrm_resources`
    element answers from its entry index once it has been walked (a warm daemon's failover
    would otherwise walk 900,000 history elements at 32/10000 for this, 0.1 s)."""
    stack = [cib]
    while stack:
        node = stack.pop()
        if node.tag == "nvpair" and _is_unfencing_pair(node):
            return True
        children = node.children
        if not children:
            continue
        if node.tag == "lrm_resources":
            index = node.rec
            if (index.__class__ is EntryIndex or index.__class__ is UnfencingScan) and \
                    index.valid_for(node):
                if index.unfencing is None:
                    index.unfencing = any(_is_unfencing_pair(pair) for pair in node.iter("nvpair"))
                if index.unfencing:
                    return True
                continue
            if index is None:  # walked once, remembered until the entry index takes it over
                found = any(_is_unfencing_pair(pair) for pair in node.iter("nvpair"))
                node.rec = UnfencingScan(children, found)
                if found:
                    return True
                continue
        stack.extend(children)
    return False


# ------------------------------------------------------------------------------------------------
# nodes

def add_node_attrs(ws: WorkingSet, xml: Optional[XNode], node: Node, overwrite: bool) -> None:
    attrs = node.attrs
    attrs["#uname"] = node.uname
    attrs["#id"] = node.id
    if ws.dc_uuid is not None and node.id == ws.dc_uuid:
        ws.dc_node = node
        node.is_dc = True
        attrs["#is_dc"] = "true"
    else:
        attrs["#is_dc"] = "false"
    cluster_name = ws.config.get("cluster-name")
    if cluster_name:
        attrs["#cluster-name"] = cluster_name
    if xml is not None:
        unpack_nvpairs(xml, "instance_attributes",
                       RuleContext(now=ws.now, next_change=ws.next_change), ws.ids,
                       into=attrs, overwrite=overwrite)
    if "#site-name" not in attrs:
        site = attrs.get("site-name")
        if site:
            attrs["#site-name"] = site
        elif cluster_name:
            attrs["#site-name"] = cluster_name


def unpack_nodes(ws: WorkingSet) -> None:
    nodes_xml = section(ws.cib, "nodes")
    if nodes_xml is None:
        return
    for xml in nodes_xml.children:
        if xml.tag != "node":
            continue
        ident, uname = xml.get("id"), xml.get("uname")
        if ident is None or uname is None:
            ws.warnings.append(f"ignoring node without id/uname (line {xml.line})")
            continue
        node_type = (xml.get("type") or "member").lower()
        if node_type == "remote":
            ws.unsupported_feature("Pacemaker Remote nodes")
        if node_type == "normal":
            node_type = "member"
        node = Node(ident, uname, node_type, ws.score(xml.get("score")))
        node.xml = xml
        node.attrs["#kind"] = "remote" if node_type == "remote" else "cluster"
        node.unclean = ws.startup_fencing
        node.unseen = True
        add_node_attrs(ws, xml, node, False)
        unpack_nvpairs(xml, "utilization", RuleContext(now=ws.now, next_change=ws.next_change),
                       ws.ids,
                       into=node.utilization)
        ws.nodes.append(node)
        ws.node_by_id.setdefault(ident, node)
        ws.node_by_uname.setdefault(uname, node)
    ws.nodes.sort(key=lambda n: numeric_key(n.uname))
    for index, node in enumerate(ws.nodes):
        node.index = index
        node.sort_key = numeric_key(node.uname)


def find_node(ws: WorkingSet, ident: Optional[str], uname: Optional[str]) -> Optional[Node]:
    """pe_find_node_any: by id first, then by name."""
    if ident is not None and ident in ws.node_by_id:
        return ws.node_by_id[ident]
    if uname is not None:
        return ws.node_by_uname.get(uname)
    return None


# ------------------------------------------------------------------------------------------------
# resources

RESOURCE_TAGS = {"primitive": PRIMITIVE, "group": GROUP, "clone": CLONE, "master": CLONE,
                 "bundle": m.BUNDLE}


def rule_ctx_for(ws: WorkingSet, rsc_xml: XNode, node: Optional[Node] = None) -> RuleContext:
    """The rules' context of a resource's meta attributes (get_meta_attributes): the only
    reading of a resource's sets where an `rsc_expression` can hold."""
    return RuleContext(now=ws.now, next_change=ws.next_change,
                       node_attrs=None if node is None else node.attrs, rsc_known=True,
                       rsc_class=rsc_xml.get("class"), rsc_provider=rsc_xml.get("provider"),
                       rsc_type=rsc_xml.get("type"))


def resource_location(ws: WorkingSet, rsc: Resource, node: Optional[Node], score: int,
                      tag: str) -> None:
    """Pacemaker's resource_location(): add `score` on one node or on all cluster nodes."""
    if node is not None:
        _resource_node_score(rsc, node, score, tag)
    elif score == 0 and tag == "symmetric_default":
        _symmetric_default(rsc, ws.nodes)
    else:
        for each in ws.nodes:
            _resource_node_score(rsc, each, score, tag)
    if node is None and score <= -INFINITY and rsc.allocated_to is not None:
        rsc.allocated_to = None


def _symmetric_default(rsc: Resource, nodes: list[Node]) -> None:
    """resource_location(rsc, all nodes, 0, "symmetric_default") without the general path's
    per-node calls (adding 0 only creates missing entries); like it, a resource with exclusive
    discovery, or a node where discovery is "never", is skipped with everything below."""
    if rsc.exclusive_discover:
        return
    if rsc.discover_mode:
        nodes = [n for n in nodes if rsc.discover_mode.get(n) != m.DISCOVER_NEVER]
    for child in rsc.children:
        _symmetric_default(child, nodes)
    allowed = rsc.allowed
    if not allowed:  # (the same entries in the same order, in one comprehension)
        allowed.update({node: node.weight for node in nodes})
        return
    for node in nodes:
        if node not in allowed:
            allowed[node] = node.weight


def _resource_node_score(rsc: Resource, node: Node, score: int, tag: str) -> None:
    if tag == "symmetric_default" and (
            rsc.exclusive_discover or rsc.discover_mode.get(node) == m.DISCOVER_NEVER):
        return
    for child in rsc.children:
        _resource_node_score(child, node, score, tag)
    current = rsc.allowed.get(node)
    if current is None:
        current = node.weight
    rsc.allowed[node] = add_scores(current, score)


def _meta_for(ws: WorkingSet, xml: XNode, parent: Optional[Resource]) -> dict[str, str]:
    """get_meta_attributes: the element's attributes, its own sets, the sets its ancestors
    configure themselves (nearest first, evaluated for this resource: an `rsc_expression`
    there sees this resource's agent), rsc_defaults (evaluated for this resource too), then
    whatever else the parent's meta holds; the first to give a value keeps it. So a default
    that holds for a group's member but not for the group is the member's, even where the
    group took another default."""
    meta: dict[str, str] = dict(zip(xml.idx, xml.vals))  # (an element's names are unique)
    defaults = ws.rsc_defaults
    if defaults is not None and defaults.find("meta_attributes") is None:
        defaults = None
    own = xml.find("meta_attributes") is not None
    ancestors = []
    above = parent
    while above is not None:
        if above.xml.find("meta_attributes") is not None:
            ancestors.append(above.xml)
        above = above.parent
    # the rule context only for sets to evaluate: most resources have none
    ctx = rule_ctx_for(ws, xml) if own or defaults is not None or ancestors else None
    if own:
        unpack_nvpairs(xml, "meta_attributes", ctx, ws.ids, into=meta)
    if ancestors:
        fixed: dict[str, str] = {}
        for ancestor in ancestors:
            unpack_nvpairs(ancestor, "meta_attributes", ctx, ws.ids, into=fixed)
        for key, value in fixed.items():
            meta.setdefault(key, value)
    if defaults is not None:
        unpack_nvpairs(defaults, "meta_attributes", ctx, ws.ids, into=meta)
    if parent is not None:
        for key, value in parent.meta.items():
            meta.setdefault(key, value)
    return meta


def _requires(ws: WorkingSet, rsc: Resource, value: Optional[str]) -> None:
    low = None if value is None else value.lower()
    if low == "nothing":
        return
    if low == "quorum":
        rsc.needs_quorum = True
        return
    if low == "fencing":
        rsc.needs_fencing = True
        return
    if low == "unfencing":
        if rsc.fence_device or not ws.stonith_enabled:
            rsc.needs_quorum = True
        else:
            rsc.needs_fencing = True
            rsc.needs_unfencing = True
        return
    if rsc.fence_device:
        chosen = "quorum"
    elif ws.enable_unfencing:
        chosen = "unfencing"
    elif ws.stonith_enabled:
        chosen = "fencing"
    elif ws.no_quorum_policy == m.NQ_IGNORE:
        chosen = "nothing"
    else:
        chosen = "quorum"
    if value is not None:
        ws.warnings.append(f"resetting 'requires' for {rsc.id} to '{chosen}' "
                           f"because '{value}' is not valid")
    _requires(ws, rsc, chosen)


def get_target_role(rsc: Resource) -> Optional[int]:
    value = rsc.meta.get("target-role")
    if value is None or value.lower() in ("started", "default"):
        return None
    role = m.text2role(value)
    if role == m.ROLE_UNKNOWN:
        rsc.ws.warnings.append(f"ignoring target-role '{value}' for {rsc.id}: not valid")
        return None
    if role > m.ROLE_STARTED:
        if rsc.top.promotable:
            if role > m.ROLE_UNPROMOTED:
                return None
        else:
            rsc.ws.warnings.append(f"ignoring target-role '{value}' for {rsc.id}: "
                                   "only valid for promotable clones")
            return None
    return role


_RECOVERY_TYPES = {"stop_only": m.RECOVERY_STOP_ONLY, "block": m.RECOVERY_BLOCK,
                   "stop_unexpected": m.RECOVERY_STOP_UNEXPECTED}  # multiple-active


def unpack_resource(ws: WorkingSet, xml: XNode, parent: Optional[Resource],
                    incarnation: Optional[str] = None) -> Optional[Resource]:
    """common_unpack + the variant's unpack. A clone instance (and each member of a cloned
    group) is unpacked from the clone's child definition with an `incarnation` number: its id
    becomes "<id>:<n>" while its XML (and so its printable name) stays the configured one."""
    tag = xml.tag
    variant = RESOURCE_TAGS.get(tag)
    ident = xml.get("id")
    if ident is None:
        ws.warnings.append(f"ignoring <{tag}> without id (line {xml.line})")
        return None
    if variant is None:
        ws.unsupported_feature(f"resource element <{tag}> ({ident})")
        return None
    if variant == m.BUNDLE:
        ws.unsupported_feature(f"bundle {ident}")
        return None
    configured = xml
    if tag == "primitive" and xml.get("template") is not None:
        expanded = templates.expand_primitive(ws, xml, section(ws.cib, "resources"))
        if expanded is None:
            return None
        xml = expanded
    rsc = Resource(ws, xml, variant, parent)
    if incarnation is not None:
        rsc.id = f"{ident}:{incarnation}"
        rsc.incarnation = incarnation
    rsc.index = len(ws.rsc_by_id)
    if ws.keep_derived:
        _kept_or_unpacked_settings(ws, rsc, xml, configured, tag, parent, incarnation)
    else:
        _unpack_settings(ws, rsc, xml, tag, parent, incarnation)
    if rsc.variant == PRIMITIVE:
        ops = xml.find("operations")
        rsc.ops_xml = None if ops is None else ws.ids.resolve(ops)
    known = len(ws.rsc_by_id)
    ws.rsc_by_id.setdefault(rsc.id, rsc)
    if not rsc.methods.unpack(ws, rsc):
        # common_unpack frees a resource its variant could not unpack: neither it nor what it
        # registered of its children can be found by a constraint (pe_find_resource searches
        # the resources that exist); a history of it reads as an orphan
        for added in list(ws.rsc_by_id)[known:]:
            del ws.rsc_by_id[added]
        return None
    if ws.symmetric:
        resource_location(ws, rsc, None, 0, "symmetric_default")
    return rsc


def _kept_or_unpacked_settings(ws: WorkingSet, rsc: Resource, xml: XNode, configured: XNode,
                               tag: str, parent: Optional[Resource],
                               incarnation: Optional[str]) -> None:
    """_unpack_settings, or its result kept on the element by an earlier run over the same
    element under the same stamp (pengine/rscsettings.py); a new result is kept when it
    depends on nothing but the element and the stamp."""
    top = parent.top if parent is not None else None
    # everything else _unpack_settings reads: with the same element and rsc_defaults element,
    # the same stamp gives the same result
    stamp = (incarnation, None if parent is None else tuple(parent.meta.items()),
             top is not None and top.variant == CLONE, top is not None and top.promotable,
             ws.is_managed_default, ws.maintenance_mode, ws.stonith_enabled,
             ws.enable_unfencing, ws.no_quorum_policy, ws.score_colours)
    defaults = ws.rsc_defaults
    known = rscsettings.kept(xml, defaults, stamp)
    if known is not None:
        rsc.meta = dict(known[0])
        rscsettings.write_settings(rsc, known[1])
        if rsc.fence_device:
            ws.have_stonith_resource = True
        return
    warned = len(ws.warnings)
    unsupported = _unpack_settings(ws, rsc, xml, tag, parent, incarnation)
    if xml is configured and not unsupported and len(ws.warnings) == warned and \
            rscsettings.sets_are_static(xml, "meta_attributes") and \
            rscsettings.sets_are_static(defaults, "meta_attributes") and \
            _ancestor_sets_are_static(parent):
        rscsettings.keep(xml, defaults, stamp, rsc.meta, rscsettings.read_settings(rsc))


def _ancestor_sets_are_static(parent: Optional[Resource]) -> bool:
    """Whether the ancestors' own meta sets, which _meta_for evaluates for each member, give
    the same for every member (no rule, no id-ref): then the parent's meta in the stamp
    stands for them."""
    while parent is not None:
        if not rscsettings.sets_are_static(parent.xml, "meta_attributes"):
            return False
        parent = parent.parent
    return True


def _unpack_settings(ws: WorkingSet, rsc: Resource, xml: XNode, tag: str,
                     parent: Optional[Resource], incarnation: Optional[str]) -> bool:
    """common_unpack's reading of the configuration: the meta-attributes (the resource's own
    sets, its parent's, rsc_defaults) and the settings taken from them and from the cluster
    options (rscsettings.SETTINGS). What it reads is listed in pengine/rscsettings.py: a warm
    daemon keeps its result under that stamp. True when it reported an unsupported feature
    (a repeated report is not listed again, so the list's length does not tell)."""
    rsc.meta = _meta_for(ws, xml, parent)
    meta = rsc.meta
    if rsc.variant == CLONE and tag == "master":
        rsc.promotable = True
    if incarnation is not None:
        meta.setdefault("clone", incarnation)
    rsc.priority = ws.score(meta.get("priority"))
    rsc.critical = to_bool(meta.get("critical")) is not False
    rsc.notify = is_true(meta.get("notify"))
    if (xml.get("class") or "").lower() == "stonith":
        ws.have_stonith_resource = True
        rsc.fence_device = True
    managed = meta.get("is-managed")
    rsc.managed = ws.is_managed_default
    if managed is not None and managed.lower() != "default":
        rsc.managed = is_true(managed)
    if is_true(meta.get("maintenance")) or ws.maintenance_mode:
        rsc.managed = False
        rsc.maintenance = True
    top = parent.top if parent is not None else rsc
    if top.variant == CLONE:
        if is_true(meta.get("globally-unique")):
            rsc.unique = True
        if is_true(meta.get("promotable")) or top.promotable:
            rsc.promotable = True
    else:
        rsc.unique = True
    multiple = (meta.get("multiple-active") or "stop_start").lower()
    rsc.recovery_type = _RECOVERY_TYPES.get(multiple, m.RECOVERY_STOP_START)
    rsc.restart_type_restart = (meta.get("restart-type") or "").lower() == "restart"
    sticky = meta.get("resource-stickiness")
    if sticky is not None and sticky.lower() != "default":
        rsc.stickiness = ws.score(sticky)
    threshold = meta.get("migration-threshold")
    if threshold is not None and threshold.lower() != "default":
        rsc.migration_threshold = max(0, ws.score(threshold))
    _requires(ws, rsc, meta.get("requires"))
    timeout = meta.get("failure-timeout")
    if timeout is not None:
        rsc.failure_timeout = parse_interval_ms(timeout) // 1000
    ident = xml.get("id")
    unsupported = False
    if meta.get("remote-node") is not None:
        ws.unsupported_feature(f"guest node {ident}")
        unsupported = True
    if (xml.get("class") == "ocf" and xml.get("provider") == "pacemaker"
            and xml.get("type") == "remote"):
        ws.unsupported_feature(f"Pacemaker Remote connection {ident}")
        unsupported = True
    if is_true(meta.get("allow-migrate")):
        rsc.allow_migrate = True
    role = get_target_role(rsc)
    rsc.target_role = role
    if role is not None:
        rsc.next_role = role
    return unsupported


def unpack_primitive(ws: WorkingSet, rsc: Resource) -> bool:
    """native_unpack: a clone instance checks its agent; utilization is read."""
    xml = rsc.xml
    if rsc.parent is not None and rsc.top.variant == CLONE and \
            not _unpack_cloned_primitive(ws, rsc):
        return False
    if xml.find("utilization") is not None:
        unpack_nvpairs(xml, "utilization", RuleContext(now=ws.now, next_change=ws.next_change), ws.ids,
                       into=rsc.utilization)
    return True


def unpack_group(ws: WorkingSet, rsc: Resource) -> bool:
    _unpack_group(ws, rsc)
    return True


_UNIQUE_CLASSES = ("ocf", "stonith")


def _unpack_cloned_primitive(ws: WorkingSet, rsc: Resource) -> bool:
    """native_unpack's checks for a primitive inside a clone: agents of classes without
    unique instances make the clone anonymous; only OCF agents can be promotable."""
    cls = (rsc.xml.get("class") or "").lower()
    clone = rsc.top
    # pcmk_get_ra_caps: only ocf and stonith agents (any case) have unique instances; every
    # other class, an unknown one or none included, makes the clone anonymous
    if rsc.unique and cls not in _UNIQUE_CLASSES:
        ws.warnings.append(f"Ignoring globally-unique for {clone.id} because "
                           f"{rsc.xml.get('class')} resources such as {rsc.id} can be used "
                           "only as anonymous clones")
        clone.clone_node_max = 1
        clone.clone_max = min(clone.clone_max, len(ws.nodes))

        def clear(r: Resource) -> None:
            r.unique = False
            for child in r.children:
                clear(child)
        clear(clone)
        rsc.unique = False
    if rsc.promotable and cls != "ocf":
        ws.warnings.append(f"Resource {rsc.id} is of type {cls} and therefore cannot be used "
                           "as a promotable clone resource")
        return False
    return True


def _unpack_group(ws: WorkingSet, rsc: Resource) -> None:
    ordered = to_bool(rsc.meta.get("ordered"))
    colocated = to_bool(rsc.meta.get("collocated"))
    rsc.ordered_group = True if ordered is None else ordered
    rsc.colocated_group = True if colocated is None else colocated
    for child_xml in rsc.xml.children:
        if child_xml.tag != "primitive":
            if child_xml.tag in RESOURCE_TAGS:
                ws.unsupported_feature(f"<{child_xml.tag}> inside group {rsc.id}")
            continue
        child = unpack_resource(ws, child_xml, rsc, rsc.incarnation)
        if child is not None:
            rsc.children.append(child)


def unpack_resources(ws: WorkingSet) -> None:
    resources = section(ws.cib, "resources")
    if resources is None:
        return
    for xml in resources.children:
        if xml.tag == "template":
            templates.note_template(ws, xml)
            continue
        if xml.tag not in RESOURCE_TAGS:
            continue
        rsc = unpack_resource(ws, xml, None)
        if rsc is not None:
            ws.resources.append(rsc)
    for rsc in ws.resources:
        setup_container(ws, rsc)
    templates.unpack_tags(ws, ws.cib.find("configuration"))
    # stable sort by priority (highest first), as pe__cmp_rsc_priority
    ws.resources.sort(key=lambda r: -r.priority)
    if ws.stonith_enabled and not ws.have_stonith_resource:
        ws.warnings.append("Resource start-up disabled since no STONITH resources "
                           "have been defined")


def setup_container(ws: WorkingSet, rsc: Resource) -> None:
    """setup_container: a primitive whose `container` meta-attribute names another resource
    (a group's or clone's reaches its members and instances) runs inside it: it is placed
    with it and started after it, and its failure restarts the container (on-fail's default
    becomes restart-container). An unknown container is reported and ignored."""
    if rsc.children:
        for child in rsc.children:
            setup_container(ws, child)
        return
    ident = rsc.meta.get("container")
    if ident is None or ident.lower() == rsc.id.lower():
        return
    container = find_resource_or_instance(ws, ident)
    if container is None:
        ws.warnings.append(f"Resource {rsc.id}: Unknown resource container ({ident})")
        return
    add_filler(container, rsc)


def add_filler(container: Resource, rsc: Resource) -> None:
    """rsc runs inside container (rsc->container, container->fillers)."""
    rsc.container = container
    container.fillers = [*container.fillers, rsc]


def find_resource_or_instance(ws: WorkingSet, ident: str) -> Optional[Resource]:
    """pe_find_resource: a resource by id at any depth, or an instance by the configured name
    its history knows it under."""
    rsc = ws.rsc_by_id.get(ident)
    return rsc if rsc is not None else _find_renamed_instance(ws, ident)


def _find_renamed_instance(ws: WorkingSet, ident: str) -> Optional[Resource]:
    """The first clone instance (in configuration order) its history knows as `ident`."""
    for each in ws.resources:
        found = _find_renamed(each, ident)
        if found is not None:
            return found
    return None


def all_resources(rsc: Resource) -> list[Resource]:
    out = [rsc]
    for child in rsc.children:
        out.extend(all_resources(child))
    return out


def find_rsc(ws: WorkingSet, ident: Optional[str]) -> Optional[Resource]:
    """pcmk__find_constraint_resource: a configured resource by id (clones by their id)."""
    if ident is None:
        return None
    rsc = ws.rsc_by_id.get(ident)
    if rsc is not None:
        return rsc
    # an instance known under its configured name from history: the constraint means the clone
    found = _find_renamed_instance(ws, ident)
    return found.top if found is not None else None


def _find_renamed(rsc: Resource, ident: str) -> Optional[Resource]:
    if rsc.clone_name == ident:
        return rsc
    for child in rsc.children:
        found = _find_renamed(child, ident)
        if found is not None:
            return found
    return None


# ------------------------------------------------------------------------------------------------
# constraints

def unpack_constraints(ws: WorkingSet,
                       unpack_ticket: Optional[Callable[[WorkingSet, XNode], None]] = None
                       ) -> None:
    """pcmk__unpack_constraints: every constraint in document order, an rsc_ticket among the
    others (unpack_ticket, pengine.tickets.unpack_rsc_ticket, which imports this module): a
    ticket lost with loss-policy=fence schedules its fencing as it is unpacked, so the fencing
    action's id falls between those of the pseudo actions the constraints around it create.
    Without unpack_ticket (a caller that only reads locations) rsc_ticket is skipped."""
    cons = section(ws.cib, "constraints")
    if cons is None:
        return
    for xml in cons.children:
        ident = xml.get("id")
        if ident is None:
            ws.warnings.append(f"ignoring <{xml.tag}> constraint without id (line {xml.line})")
            continue
        lifetime = xml.find("lifetime")
        if lifetime is not None:
            evaluator = RuleEvaluator(ws.ids)
            if not evaluator.rules_pass(lifetime,
                                        RuleContext(now=ws.now, next_change=ws.next_change)):
                continue
        tag = xml.tag.lower()
        if tag == "rsc_ticket":
            if unpack_ticket is not None:
                unpack_ticket(ws, xml)
            continue
        expanded = templates.expand_constraint(ws, xml, find_rsc)
        if expanded is None:
            continue
        xml = expanded
        if tag == "rsc_order":
            unpack_ordering(ws, xml)
        elif tag == "rsc_colocation":
            unpack_colocation(ws, xml)
        elif tag == "rsc_location":
            unpack_location(ws, xml)
        else:
            ws.unsupported_feature(f"constraint element <{xml.tag}> ({ident})")


def _discovery_mode(ws: WorkingSet, ident: str, text: Optional[str]) -> int:
    if text is None or text.lower() == "always":
        return m.DISCOVER_ALWAYS
    if text.lower() == "never":
        return m.DISCOVER_NEVER
    if text.lower() == "exclusive":
        return m.DISCOVER_EXCLUSIVE
    # pcmk__new_location logs the value and keeps the constraint: its mode is calloc's zero,
    # pe_discover_always
    ws.warnings.append(f"Invalid resource-discovery value {text} in location constraint {ident}")
    return m.DISCOVER_ALWAYS


def new_location(ws: WorkingSet, ident: str, rsc: Resource, score: int,
                 discover: int, node: Optional[Node]) -> Location:
    nodes: list[tuple[Node, int]] = []
    if node is not None:
        nodes.append((node, score))
    location = Location(ident, rsc, nodes, m.ROLE_UNKNOWN, discover)
    if discover == m.DISCOVER_EXCLUSIVE:
        # pcmk__new_location: the resource is discovered only where some constraint says so,
        # even when this constraint itself never applies (a role filter that is not met)
        rsc.exclusive_discover = True
    ws.locations.append(location)
    rsc.rsc_location.append(location)
    return location


def unpack_location(ws: WorkingSet, xml: XNode) -> None:
    ident = xml.get("id") or ""
    sets = xml.findall("resource_set")
    if xml.get("rsc-pattern") is not None:
        pattern = xml.get("rsc-pattern") or ""
        invert = pattern.startswith("!")  # "!re": every resource the expression misses
        if invert:
            pattern = pattern[1:]
        # regcomp(REG_EXTENDED): POSIX syntax, written as Python's
        translated = translate_ere(pattern)
        try:
            regex = re.compile(translated) if translated is not None else None
        except re.error:
            regex = None
        if regex is None:
            ws.warnings.append(f"ignoring {ident}: invalid rsc-pattern")
            return
        for rsc in ws.resources:
            match = regex.search(rsc.id)
            if invert:
                if match is None:
                    _unpack_simple_location(ws, xml, ident, rsc)
            elif match is not None:
                subs = (match.group(0),) + match.groups()
                _unpack_simple_location(ws, xml, ident, rsc, submatches=tuple(
                    s or "" for s in subs))
        return
    if sets:
        for rset in sets:
            rset = ws.ids.resolve(rset)
            role = rset.get("role")
            for ref in rset.findall("resource_ref"):
                member = find_rsc(ws, ref.get("id"))
                if member is None:
                    ws.warnings.append(f"{ident}: no resource found for {ref.get('id')}")
                    return
                _unpack_simple_location(ws, xml, ident, member, role_override=role,
                                        score_override=rset.get("score"))
        return
    named = find_rsc(ws, xml.get("rsc"))
    if named is None:
        if xml.get("rsc") is not None and xml.get("rsc") not in ws.rsc_by_id:
            ws.warnings.append(f"ignoring constraint '{ident}' because resource "
                               f"'{xml.get('rsc')}' does not exist")
        return
    _unpack_simple_location(ws, xml, ident, named)


def _unpack_simple_location(ws: WorkingSet, xml: XNode, ident: str, rsc: Resource,
                            submatches: Optional[tuple[str, ...]] = None,
                            role_override: Optional[str] = None,
                            score_override: Optional[str] = None) -> None:
    node_name = xml.get("node")
    score_text = score_override if score_override is not None else xml.get("score")
    discover = _discovery_mode(ws, ident, xml.get("resource-discovery"))
    if node_name is not None and score_text is not None:
        node = ws.node_by_uname.get(node_name)
        if node is None:
            return
        location = new_location(ws, ident, rsc, ws.score(score_text),
                                discover, node)
        # unpack_rsc_location: the role is read once the constraint exists. A role it cannot
        # read (text2role's Unknown, "Unknown" itself included) is reported and the
        # constraint stays, for every role; Started and Unpromoted apply to every role too
        # (an instance is unpromoted before it can be promoted)
        role_text = role_override if role_override is not None else xml.get("role")
        if role_text is not None:
            role = m.text2role(role_text)
            if role == m.ROLE_UNKNOWN:
                ws.warnings.append(f"Invalid constraint {ident}: Bad role {role_text}")
            elif role not in (m.ROLE_STARTED, m.ROLE_UNPROMOTED):
                location.role_filter = role
        return
    evaluator = RuleEvaluator(ws.ids)
    next_change: list = []
    for rule in xml.findall("rule"):
        rule = ws.ids.resolve(rule)
        _location_rule(ws, evaluator, rule, ident, rsc, discover, submatches, next_change)
    if next_change:
        # a rule's outcome changes at a future time: the scheduler must run again by then
        ws.update_recheck(to_epoch(min(next_change)))
    ws.unsupported.extend(u for u in evaluator.unsupported if u not in ws.unsupported)


def _location_rule(ws: WorkingSet, evaluator: RuleEvaluator, rule: XNode, ident: str,
                   rsc: Resource, discover: int,
                   submatches: Optional[tuple[str, ...]], next_change: list) -> None:
    """generate_location_rule: one Location with every node the rule accepts (collecting in
    next_change when a date expression's outcome will change)."""
    # generate_location_rule: a rule whose role text2role cannot read is ignored; a rule's
    # Unpromoted applies to every role, its Started (unlike a constraint's) filters on
    # Started like any other role (the constraint's own role is not read for rules)
    role_text = rule.get("role")
    role = m.ROLE_UNKNOWN
    if role_text is not None:
        role = m.text2role(role_text)
        if role == m.ROLE_UNKNOWN:
            ws.warnings.append(f"Bad role specified for {rule.get('id')}: {role_text}")
            return
        if role == m.ROLE_UNPROMOTED:
            role = m.ROLE_UNKNOWN
    score_attr = rule.get("score-attribute")
    raw_score = 0
    if rule.get("score") is not None:
        raw_score = ws.score(rule.get("score"))
    elif score_attr is None:
        raw_score = 0
    do_and = (rule.get("boolean-op") or "and").lower() != "or"
    location = Location(rule.get("id") or ident, rsc, [], role, discover)
    if discover == m.DISCOVER_EXCLUSIVE:
        rsc.exclusive_discover = True
    accept_any_positive = score_attr is not None
    for node in ws.nodes:
        # value-source="param" compares with the resource's parameters as on that node
        # (no resource data: an rsc_expression or op_expression in a location rule is false)
        ctx = RuleContext(now=ws.now, node_attrs=node.attrs, submatches=submatches,
                          params=rsc_params(ws, rsc, node),
                          meta=rsc.meta, next_change=next_change)
        if evaluator.rule_passes(rule, ctx):
            score = raw_score if not accept_any_positive else \
                first_rule_score(rule, node.attrs, ws.score_colours)
            if accept_any_positive and score_attr is not None:
                attr = score_attr
                if submatches:
                    attr = _expand_submatches(score_attr, submatches)
                value = node.attrs.get(attr)
                # get_node_score: a node without the attribute gets -INFINITY
                score = -INFINITY if value is None else ws.score(value)
            if not do_and:
                # an "or" rule adds the score to a copy of the cluster's node, whose weight
                # is -INFINITY when it is offline or shutting down (determine_online_status);
                # an "and" rule sets it
                score = add_scores(node.weight, score)
            location.nodes.append((node, score))
    ws.locations.append(location)
    rsc.rsc_location.append(location)


def add_colocation(ws: WorkingSet, ident: str, node_attr: Optional[str], score: int,
                   dependent: Optional[Resource], primary: Optional[Resource],
                   dependent_role: Optional[str], primary_role: Optional[str],
                   influence: bool, explicit: bool = True) -> None:
    """pcmk__new_colocation."""
    if score == 0:
        return
    if dependent is None or primary is None:
        ws.warnings.append(f"ignoring colocation '{ident}' because resource does not exist")
        return
    if dependent_role is None or dependent_role.lower() == "started":
        d_role = m.ROLE_UNKNOWN
    else:
        d_role = m.text2role(dependent_role)
    if primary_role is None or primary_role.lower() == "started":
        p_role = m.ROLE_UNKNOWN
    else:
        p_role = m.text2role(primary_role)
    con = Colocation(ident, dependent, primary, score, d_role, p_role, node_attr, influence,
                     explicit)
    insert_sorted(dependent.rsc_cons, con, cmp_primary)
    insert_sorted(primary.rsc_cons_lhs, con, cmp_dependent)
    ws.colocations.append(con)
    if score <= -INFINITY:
        anti_colocation_order(ws, dependent, d_role, primary, p_role)
        anti_colocation_order(ws, primary, p_role, dependent, d_role)


def _influence(ws: WorkingSet, ident: str, rsc: Resource, text: Optional[str]) -> bool:
    if text is not None:
        value = to_bool(text)
        if value is not None:
            return value
        ws.warnings.append(f"constraint '{ident}' has invalid value for influence")
    return rsc.critical


def unpack_colocation(ws: WorkingSet, xml: XNode) -> None:
    ident = xml.get("id") or ""
    score_text = xml.get("score")
    score = ws.score(score_text)
    influence_s = xml.get("influence")
    sets = [ws.ids.resolve(s) for s in xml.findall("resource_set")]
    if not sets:
        _unpack_simple_colocation(ws, xml, ident, score, influence_s)
        return
    last = None
    for rset in sets:
        _unpack_colocation_set(ws, rset, score, ident, influence_s)
        if last is not None:
            _colocate_rsc_sets(ws, ident, last, rset, score, influence_s)
        last = rset


def _unpack_simple_colocation(ws: WorkingSet, xml: XNode, ident: str, score: int,
                              influence_s: Optional[str]) -> None:
    dep_id, prim_id = xml.get("rsc"), xml.get("with-rsc")
    if dep_id is None or prim_id is None:
        ws.warnings.append(f"ignoring constraint '{ident}': missing rsc or with-rsc")
        return
    dependent, primary = find_rsc(ws, dep_id), find_rsc(ws, prim_id)
    if dependent is None:
        ws.warnings.append(f"ignoring constraint '{ident}' because resource '{dep_id}' "
                           "does not exist")
        return
    if primary is None:
        ws.warnings.append(f"ignoring constraint '{ident}' because resource '{prim_id}' "
                           "does not exist")
        return
    if xml.get("rsc-instance") is not None or xml.get("with-rsc-instance") is not None:
        ws.unsupported_feature(f"colocation with clone instance numbers ({ident})")
        return
    node_attr = xml.get("node-attribute")
    add_colocation(ws, ident, node_attr, score, dependent, primary, xml.get("rsc-role"),
                   xml.get("with-rsc-role"), _influence(ws, ident, dependent, influence_s))


def set_resources(ws: WorkingSet, rset: XNode) -> Optional[list[Resource]]:
    """The resources a `resource_set` names, in order; None (and a warning) if one is unknown."""
    out = []
    for ref in rset.findall("resource_ref"):
        rsc = find_rsc(ws, ref.get("id"))
        if rsc is None:
            ws.warnings.append(f"{rset.get('id')}: no resource found for {ref.get('id')}")
            return None
        out.append(rsc)
    return out


def _set_member(ws: WorkingSet, where: str, ref_id: Optional[str]) -> Optional[Resource]:
    """EXPAND_CONSTRAINT_IDREF: the resource a set's reference names, or None (and the
    configuration error) when there is none; the caller then returns at once, keeping the
    colocations it made before that reference."""
    rsc = find_rsc(ws, ref_id) if ref_id is not None else None
    if rsc is None:
        ws.warnings.append(f"{where}: no resource found for {ref_id}")
    return rsc


def _unpack_colocation_set(ws: WorkingSet, rset: XNode, score: int, ident: str,
                           influence_s: Optional[str]) -> None:
    """unpack_colocation_set: the colocations inside one set, reference by reference; an unknown
    reference ends the set where it stands (the colocations before it stay)."""
    set_id = rset.get("id") or ident
    role = rset.get("role")
    ordering = (rset.get("ordering") or "group").lower()
    local = ws.score(rset.get("score")) if rset.get("score") is not None \
        else score
    if local == 0:
        return
    sequential = to_bool(rset.get("sequential"))
    if sequential is False:
        return
    refs = [ref.get("id") for ref in rset.findall("resource_ref")]
    if local > 0 and ordering == "group":
        with_rsc = None
        for ref_id in refs:
            rsc = _set_member(ws, set_id, ref_id)
            if rsc is None:
                return
            if with_rsc is not None:
                add_colocation(ws, set_id, None, local, rsc, with_rsc, role, role,
                               _influence(ws, ident, rsc, influence_s))
            with_rsc = rsc
    elif local > 0:
        last = None
        for ref_id in refs:
            rsc = _set_member(ws, set_id, ref_id)
            if rsc is None:
                return
            if last is not None:
                add_colocation(ws, set_id, None, local, last, rsc, role, role,
                               _influence(ws, ident, last, influence_s))
            last = rsc
    else:
        # anti-colocating each with every reference before its own id (compared case-
        # insensitively, so a repeated reference stops at its first place) is the only way to
        # keep every member of the set apart from every other one
        for ref_id in refs:
            rsc = _set_member(ws, set_id, ref_id)
            if rsc is None:
                return
            influence = _influence(ws, ident, rsc, influence_s)
            for with_id in refs:
                if with_id is not None and rsc.id.lower() == with_id.lower():
                    break
                with_rsc = _set_member(ws, set_id, with_id)
                if with_rsc is None:
                    return
                add_colocation(ws, set_id, None, local, rsc, with_rsc, role, role, influence)


def _colocate_rsc_sets(ws: WorkingSet, ident: str, set1: XNode, set2: XNode, score: int,
                       influence_s: Optional[str]) -> None:
    """colocate_rsc_sets: (the first of) set1 with (the last of) set2, as 2.1.5 does, reading
    the references in its order: an unknown one ends the constraint where it stands."""
    if score == 0:
        return
    role1, role2 = set1.get("role"), set2.get("role")
    refs1 = [ref.get("id") for ref in set1.findall("resource_ref")]
    refs2 = [ref.get("id") for ref in set2.findall("resource_ref")]
    rsc_1 = rsc_2 = None
    if to_bool(set1.get("sequential")) is not False and refs1:  # (unreadable: sequential)
        rsc_1 = _set_member(ws, ident, refs1[0])
        if rsc_1 is None:
            return
    if to_bool(set2.get("sequential")) is not False:
        rsc_2 = _set_member(ws, ident, refs2[-1] if refs2 else None)
        if rsc_2 is None:
            return
    if rsc_1 is not None and rsc_2 is not None:
        add_colocation(ws, ident, None, score, rsc_1, rsc_2, role1, role2,
                       _influence(ws, ident, rsc_1, influence_s))
    elif rsc_1 is not None:
        influence = _influence(ws, ident, rsc_1, influence_s)
        for ref_id in refs2:
            other = _set_member(ws, ident, ref_id)
            if other is None:
                return
            add_colocation(ws, ident, None, score, rsc_1, other, role1, role2, influence)
    elif rsc_2 is not None:
        for ref_id in refs1:
            rsc = _set_member(ws, ident, ref_id)
            if rsc is None:
                return
            add_colocation(ws, ident, None, score, rsc, rsc_2, role1, role2,
                           _influence(ws, ident, rsc, influence_s))
    else:
        for ref_id in refs1:
            rsc = _set_member(ws, ident, ref_id)
            if rsc is None:
                return
            influence = _influence(ws, ident, rsc, influence_s)
            for other_id in refs2:
                other = _set_member(ws, ident, other_id)
                if other is None:
                    return
                add_colocation(ws, ident, None, score, rsc, other, role1, role2, influence)


# ------------------------------------------------------------------------------------------------
# unpacking rsc_order

KIND_OPTIONAL, KIND_MANDATORY, KIND_SERIALIZE = range(3)
ASYMMETRIC, SYMMETRIC, SYMMETRIC_INVERSE = range(3)

_INVERT = {"start": "stop", "stop": "start", "promote": "demote", "demote": "promote",
           "promoted": "demoted", "demoted": "promoted", "running": "stopped",
           "stopped": "running"}


def _action_name(ws: WorkingSet, action: str) -> str:
    """An order's action as written; one in another case than actions are named makes the
    orderings find their actions case-insensitively (WorkingSet.odd_case_actions)."""
    if action != action.lower():
        ws.odd_case_actions = True
    return action


def invert_action(action: str) -> Optional[str]:
    """invert_action: the inverse of an order's action, compared case-insensitively; None
    for an action it does not know."""
    return _INVERT.get(action.lower())


def _kind(ws: WorkingSet, xml: XNode) -> int:
    kind = xml.get("kind")
    if kind is None:
        score = xml.get("score")
        if score is not None and ws.score(score) == 0:
            return KIND_OPTIONAL
        return KIND_MANDATORY
    # get_ordering_type compares with pcmk__str_casei: "optional" is Optional
    low = kind.lower()
    if low == "mandatory":
        return KIND_MANDATORY
    if low == "optional":
        return KIND_OPTIONAL
    if low == "serialize":
        return KIND_SERIALIZE
    ws.warnings.append(f"resetting kind for constraint {xml.get('id')} to Mandatory because "
                       f"'{kind}' is not valid")
    return KIND_MANDATORY


def _symmetry(ws: WorkingSet, xml: XNode, parent_kind: int,
              parent_symmetrical: Optional[str]) -> int:
    kind = parent_kind
    if xml.get("kind") is not None or xml.get("score") is not None:
        kind = _kind(ws, xml)
    symmetric = to_bool(xml.get("symmetrical"))
    if symmetric is None and parent_symmetrical is not None:
        symmetric = to_bool(parent_symmetrical) is True
    if symmetric is not None:
        if symmetric and kind != KIND_SERIALIZE:
            return SYMMETRIC
        return ASYMMETRIC
    return ASYMMETRIC if kind == KIND_SERIALIZE else SYMMETRIC


def _flags_for_kind(kind: int, first_task: str, symmetry: int) -> int:
    # ordering_flags_for_kind: every kind is at least optional (so a later ordering between
    # the same two actions that shares that bit is dropped by order_actions)
    flags = m.O_OPTIONAL
    if kind == KIND_OPTIONAL:
        pass
    elif kind == KIND_SERIALIZE:
        flags |= m.O_SERIALIZE_ONLY
    else:
        if symmetry == ASYMMETRIC:
            flags |= m.O_ASYMMETRICAL
        elif symmetry == SYMMETRIC:
            flags |= m.O_IMPLIES_THEN
            if first_task.lower() in ("start", "promote"):  # pcmk__strcase_any_of
                flags |= m.O_RUNNABLE_LEFT
        else:
            flags |= m.O_IMPLIES_FIRST
    return flags


def unpack_ordering(ws: WorkingSet, xml: XNode) -> None:
    ident = xml.get("id") or ""
    kind = _kind(ws, xml)
    invert = xml.get("symmetrical")
    symmetry = _symmetry(ws, xml, kind, None)
    last = None
    for rset in xml.findall("resource_set"):
        rset = ws.ids.resolve(rset)
        if not _unpack_order_set(ws, rset, kind, invert):
            return
        if last is not None:
            if not _order_rsc_sets(ws, ident, last, rset, kind, symmetry):
                return
            if symmetry == SYMMETRIC and not _order_rsc_sets(ws, ident, rset, last, kind,
                                                             SYMMETRIC_INVERSE):
                return
        last = rset
    if last is not None:
        return
    first_id, then_id = xml.get("first"), xml.get("then")
    if first_id is None or then_id is None:
        ws.warnings.append(f"ignoring constraint '{ident}' without first/then")
        return
    first, then = find_rsc(ws, first_id), find_rsc(ws, then_id)
    if first is None or then is None:
        missing = first_id if first is None else then_id
        ws.warnings.append(f"ignoring constraint '{ident}' because resource '{missing}' "
                           "does not exist")
        return
    if xml.get("first-instance") is not None or xml.get("then-instance") is not None:
        ws.unsupported_feature(f"ordering with clone instance numbers ({ident})")
        return
    # unpack_simple_rsc_order: only a missing action defaults (an empty one names no action).
    # The names keep their case: actions are found case-insensitively (find_actions), and
    # add_probe_orderings_for_stops reads "_stop_0" case-sensitively
    action_first = xml.get("first-action")
    action_first = "start" if action_first is None else _action_name(ws, action_first)
    action_then = xml.get("then-action")
    action_then = action_first if action_then is None else _action_name(ws, action_then)
    flags = _flags_for_kind(kind, action_first, symmetry)
    if kind == KIND_OPTIONAL and then.restart_type_restart:
        flags |= m.O_IMPLIES_THEN
    min_before = _minimum_first_instances(first, xml)
    if min_before > 0:
        _clone_min_ordering(ws, ident, first, action_first, then, action_then, flags, min_before)
    else:
        act.order_resource_actions(ws, first, action_first, then, action_then, flags)
    if symmetry == SYMMETRIC:
        inv_then, inv_first = invert_action(action_then), invert_action(action_first)
        if inv_then is None or inv_first is None:
            ws.warnings.append(f"cannot invert constraint '{ident}' (please specify inverse "
                               "manually)")
        else:
            flags = _flags_for_kind(kind, inv_first, SYMMETRIC_INVERSE)
            if kind == KIND_OPTIONAL and then.restart_type_restart:
                flags |= m.O_IMPLIES_FIRST
            act.order_resource_actions(ws, then, inv_then, first, inv_first, flags)


def _minimum_first_instances(rsc: Resource, xml: XNode) -> int:
    if rsc.variant != CLONE:
        return 0
    clone_min = rsc.meta.get("clone-min")
    if clone_min is not None:
        try:
            return max(0, int(clone_min))
        except ValueError:
            return 0
    require_all = to_bool(xml.get("require-all"))
    if require_all is False:
        return 1
    return 0


def _clone_min_ordering(ws: WorkingSet, ident: str, first: Resource, action_first: str,
                        then: Resource, action_then: str, flags: int, clone_min: int) -> None:
    met = act.pseudo_op(ws, f"clone-one-or-more:{ident}")
    met.required_runnable_before = clone_min
    met.flags |= A_REQUIRES_ANY
    for child in first.children:
        act.new_ordering(ws, child, op_key(child.id, action_first, 0), None, None, None, met,
                         m.O_ONE_OR_MORE | m.O_IMPLIES_THEN_PRINTED)
    act.new_ordering(ws, None, None, met, then, op_key(then.id, action_then, 0), None,
                     flags | m.O_RUNNABLE_LEFT)


def _unpack_order_set(ws: WorkingSet, rset: XNode, parent_kind: int,
                      parent_symmetrical: Optional[str]) -> bool:
    action = rset.get("action")
    action = "start" if action is None else _action_name(ws, action)
    local_kind = _kind(ws, rset) if rset.get("kind") is not None else parent_kind
    sequential = is_true(rset.get("sequential") or "1")
    symmetry = _symmetry(ws, rset, parent_kind, parent_symmetrical)
    flags = _flags_for_kind(local_kind, action, symmetry)
    resources = set_resources(ws, rset)
    if resources is None:
        return False
    if len(resources) == 1:
        return True
    last = None
    for i, rsc in enumerate(resources):
        if local_kind == KIND_SERIALIZE:
            for then in resources[i + 1:]:
                act.new_ordering(ws, rsc, op_key(rsc.id, action, 0), None, then,
                                 op_key(then.id, action, 0), None, flags)
        elif sequential:
            if last is not None:
                act.order_resource_actions(ws, last, action, rsc, action, flags)
            last = rsc
    if symmetry == ASYMMETRIC:
        return True
    last = None
    action = invert_action(action) or action
    flags = _flags_for_kind(local_kind, action, SYMMETRIC_INVERSE)
    for rsc in resources:
        if sequential:
            if last is not None:
                act.order_resource_actions(ws, rsc, action, last, action, flags)
            last = rsc
    return True


def _order_rsc_sets(ws: WorkingSet, ident: str, set1: XNode, set2: XNode, kind: int,
                    symmetry: int) -> bool:
    action_1 = set1.get("action")
    action_1 = "start" if action_1 is None else _action_name(ws, action_1)
    action_2 = set2.get("action")
    action_2 = "start" if action_2 is None else _action_name(ws, action_2)
    require_all = to_bool(set1.get("require-all")) is not False
    if symmetry == SYMMETRIC_INVERSE:
        action_1 = invert_action(action_1) or action_1
        action_2 = invert_action(action_2) or action_2
    if action_1.lower() in ("stop", "demote"):  # (pcmk__str_casei: "Stop" under validate-with=none)
        require_all = True
    flags = _flags_for_kind(kind, action_2, symmetry)  # order_rsc_sets reads action_2 here
    # the references are read in order_rsc_sets' order: an unknown one ends the constraint where
    # it stands (EXPAND_CONSTRAINT_IDREF returns), the orderings made before it stay
    refs1 = [ref.get("id") for ref in set1.findall("resource_ref")]
    refs2 = [ref.get("id") for ref in set2.findall("resource_ref")]
    if not require_all:
        unordered = act.pseudo_op(ws, f"one-or-more:{set1.get('id')}")
        unordered.flags |= A_REQUIRES_ANY
        for ref_id in refs1:
            rsc = _set_member(ws, ident, ref_id)
            if rsc is None:
                return False
            act.new_ordering(ws, rsc, op_key(rsc.id, action_1, 0), None, None, None, unordered,
                             m.O_ONE_OR_MORE | m.O_IMPLIES_THEN_PRINTED)
        for ref_id in refs2:
            rsc = _set_member(ws, ident, ref_id)
            if rsc is None:
                return False
            act.new_ordering(ws, None, None, unordered, rsc, op_key(rsc.id, action_2, 0), None,
                             flags | m.O_RUNNABLE_LEFT)
        return True
    rsc_1 = rsc_2 = None
    inverse = symmetry == SYMMETRIC_INVERSE
    if is_true(set1.get("sequential")) and (refs1 or not inverse):
        # the last reference (the first when inverted); "the last" of no reference is unknown
        rsc_1 = _set_member(ws, ident, (refs1[0] if inverse else refs1[-1]) if refs1 else None)
        if rsc_1 is None:
            return False
    if is_true(set2.get("sequential")) and (refs2 or inverse):
        rsc_2 = _set_member(ws, ident, (refs2[-1] if inverse else refs2[0]) if refs2 else None)
        if rsc_2 is None:
            return False
    if rsc_1 is not None and rsc_2 is not None:
        act.order_resource_actions(ws, rsc_1, action_1, rsc_2, action_2, flags)
    elif rsc_1 is not None:
        for ref_id in refs2:
            rsc = _set_member(ws, ident, ref_id)
            if rsc is None:
                return False
            act.order_resource_actions(ws, rsc_1, action_1, rsc, action_2, flags)
    elif rsc_2 is not None:
        for ref_id in refs1:
            rsc = _set_member(ws, ident, ref_id)
            if rsc is None:
                return False
            act.order_resource_actions(ws, rsc, action_1, rsc_2, action_2, flags)
    else:
        for ref_id in refs1:
            first = _set_member(ws, ident, ref_id)
            if first is None:
                return False
            for other_id in refs2:
                then = _set_member(ws, ident, other_id)
                if then is None:
                    return False
                act.order_resource_actions(ws, first, action_1, then, action_2, flags)
    return True


def anti_colocation_order(ws: WorkingSet, first_rsc: Resource, first_role: int,
                          then_rsc: Resource, then_role: int) -> None:
    first_tasks = ["demote"] if first_role == m.ROLE_PROMOTED else (
        ["stop", "promote"] if first_role == m.ROLE_UNPROMOTED else ["stop"])
    then_tasks = ["promote"] if then_role == m.ROLE_PROMOTED else (
        ["start", "demote"] if then_role == m.ROLE_UNPROMOTED else ["start"])
    for ft in first_tasks:
        for tt in then_tasks:
            act.order_resource_actions(ws, first_rsc, ft, then_rsc, tt, m.O_ANTI_COLOCATION)
