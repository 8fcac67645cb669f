"""Operation digests: has a resource's definition changed since an action ran?

The CIB history records an MD5 `op-digest` of the parameters an action ran with. Pacemaker
computes it from the resource parameters (rules evaluated for the node), the operation's own
instance attributes and, for recurring operations, `CRM_meta_timeout`, rendered as a sorted
`<parameters .../>` element with a leading space and trailing newline. Matching that byte for byte
is what lets a steady cluster stay untouched and a changed one restart or reload.
"""

from __future__ import annotations

try:
    # CPython's own MD5: hashlib would load OpenSSL first, 2-3 ms of every `hb simulate` start-up
    from _md5 import md5 as _md5
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import md5 as _md5

from core.cib.rules import RuleContext, compare_versions, unpack_nvpairs
from core.cib.status import op_record
from core.cib.xmltree import XNode
from pengine.opconfig import op_config
from pengine.model import Node, Resource, WorkingSet
from pengine import rscsettings

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

DIGEST_MATCH, DIGEST_ALL, DIGEST_RESTART, DIGEST_UNKNOWN = range(4)

_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                         "'": "&apos;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})

_FILTERED = {"id", "crm_feature_set", "op-digest", "on_node", "on_node_uuid",
             "pcmk_external_ip"}


def rsc_params(ws: WorkingSet, rsc: Resource, node: Optional[Node]) -> dict[str, str]:
    """pe_rsc_params: instance attributes evaluated for a node (cached for the run). The dict is
    shared by every caller: read it, never change it.

    As get_rsc_attributes (lib/pengine/complex.c) collects them: the resource's own sets, then
    its parent's (a group's or clone's instance attributes reach every member, so they are in
    the member's actions and digests), and at the top rsc_defaults' instance attributes; a
    name already set is kept (the nearest element wins)."""
    cache = ws.params_cache
    key = (id(rsc), None if node is None else node.id)
    got = cache.get(key)
    if got is not None:
        return got
    own = _own_params(ws, rsc, node)
    if rsc.parent is not None:
        inherited = rsc_params(ws, rsc.parent, node)
    else:
        inherited = _defaults_params(ws, node)
    if inherited:
        params = dict(inherited)
        params.update(own)
    else:
        params = own
    cache[key] = params
    return params


def _defaults_params(ws: WorkingSet, node: Optional[Node]) -> dict[str, str]:
    """rsc_defaults' instance attributes (rarely any), evaluated as a resource's own are."""
    key = ("rsc_defaults", None if node is None else node.id)  # once per node and run
    got = ws.params_cache.get(key)
    if got is not None:
        return got
    defaults = ws.rsc_defaults
    params: dict[str, str] = {}
    if defaults is not None and defaults.find("instance_attributes") is not None:
        ctx = RuleContext(now=ws.now, next_change=ws.next_change,
                          node_attrs=None if node is None else node.attrs)
        unpack_nvpairs(defaults, "instance_attributes", ctx, ws.ids, into=params)
    ws.params_cache[key] = params
    return params


def _own_params(ws: WorkingSet, rsc: Resource, node: Optional[Node]) -> dict[str, str]:
    """The instance attributes on the resource's own element."""
    xml = rsc.xml
    if xml.find("instance_attributes") is None:  # (most resources of a big cluster)
        params: dict[str, str] = {}
    else:
        # sets without rules or id-refs give the same for every node and transition: kept on
        # the element, which a warm daemon reuses while the configuration's text is unchanged
        kept = rscsettings.kept_params(xml) if ws.keep_derived else None
        if kept is not None:
            params = kept
        else:
            params = {}
            # get_rsc_attributes: no resource data (an rsc_expression here is false)
            ctx = RuleContext(now=ws.now, next_change=ws.next_change,
                              node_attrs=None if node is None else node.attrs)
            unpack_nvpairs(xml, "instance_attributes", ctx, ws.ids, into=params)
            if ws.keep_derived and rscsettings.sets_are_static(xml, "instance_attributes"):
                rscsettings.keep_params(xml, params)
    return params


def op_extra(ws: WorkingSet, rsc: Resource, op_entry: Optional[XNode]) -> dict[str, str]:
    if op_entry is None or op_entry.find("instance_attributes") is None:
        return {}
    extra: dict[str, str] = {}
    unpack_nvpairs(op_entry, "instance_attributes", RuleContext(now=ws.now, next_change=ws.next_change),
                   ws.ids, into=extra)
    return extra


def render(params: dict[str, str]) -> str:
    attrs = "".join(f' {k}="{params[k].translate(_ESCAPE)}"' for k in sorted(params))
    return f" <parameters{attrs}/>\n"


def md5(text: str) -> str:
    """The hex MD5 of a rendered parameter set, remembered: most resources of a cluster render
    the same few sets (no parameters, or only the timeout of a recurring monitor), and the
    configuration check asks for one per history entry of every active resource."""
    digest = _MD5_SEEN.get(text)
    if digest is None:
        if len(_MD5_SEEN) >= _MD5_SEEN_MAX:
            _MD5_SEEN.clear()  # (a bound: a pure function's memo, any subset of it is exact)
        digest = _MD5_SEEN[text] = _md5(text.encode()).hexdigest()
    return digest


_MD5_SEEN: dict[str, str] = {}
_MD5_SEEN_MAX = 4096


def _all_params(ws: WorkingSet, rsc: Resource, node: Node, task: str,
                interval_ms: int) -> tuple[dict[str, str], bool]:
    params, forces_restart, _ = _digest_params(ws, rsc, node, task, interval_ms)
    return params, forces_restart


def _digest_params(ws: WorkingSet, rsc: Resource, node: Node, task: str,
                   interval_ms: int) -> tuple[dict[str, str], bool, str]:
    """(the parameters an action's digest covers, whether its own instance attributes force a
    restart, the MD5 of all of them). Shared by callers: read, never change.

    Kept on the action's OpConfig by the resource's parameters (their items, in order): with
    the same OpConfig (the same op entry and timeout; a warm daemon keeps it from one
    transition to the next, pengine/opconfig.py) and the same resource parameters, the result
    is the same, unless the op entry's own instance attributes have a rule or an id-ref
    (the time, the document), in which case nothing is kept. Why: the configuration check
    compares the digests of every active resource's history entries on every transition."""
    key = f"{rsc.id}_{task}_{interval_ms}"
    cfg = op_config(ws, rsc, key, task, interval_ms)
    rsc_values = rsc_params(ws, rsc, node)
    keep = ws.keep_derived
    memo_key = tuple(rsc_values.items()) if keep else ()
    memo = cfg.digests
    if keep and memo is not None:
        got = memo.get(memo_key)
        if got is not None:
            return got
    params = dict(rsc_values)
    extra = op_extra(ws, rsc, cfg.op_entry)
    params.update(extra)
    out = {k: v for k, v in params.items()
           if not k.startswith("CRM_meta_") and k not in _FILTERED}
    if interval_ms != 0:
        timeout = cfg.meta.get("timeout")
        if timeout is not None:
            out["CRM_meta_timeout"] = timeout
    result = (out, interval_ms == 0 and bool(extra), md5(render(out)))
    if keep and (cfg.op_entry is None
                 or rscsettings.sets_are_static(cfg.op_entry, "instance_attributes")):
        if memo is None or len(memo) >= _DIGESTS_KEPT:
            memo = cfg.digests = {}
        memo[memo_key] = result
    return result


_DIGESTS_KEPT = 64  # parameter sets per OpConfig (one per node when rules differ by node)


def compute_digest(ws: WorkingSet, rsc: Resource, node: Node, task: str,
                   interval_ms: int) -> str:
    """The op-digest an action would record now (used when injecting simulated results)."""
    return _digest_params(ws, rsc, node, task, interval_ms)[2]


def digest_compare(ws: WorkingSet, rsc: Resource, node: Node, op: XNode) -> int:
    """rsc_action_digest_cmp -> DIGEST_MATCH / ALL / RESTART / UNKNOWN."""
    rec = op_record(op)  # (the entry's task and interval as status unpacking parsed them)
    task = rec.task or ""
    interval = rec.interval
    params, extra_forces_restart, calc = _digest_params(ws, rsc, node, task, interval)
    digest_all = op.get("op-digest")
    digest_restart = op.get("op-restart-digest")
    if (id(rsc), node.id, op.get("id")) in ws.reschedule:
        # this very history entry had its restart digest replaced (see status.py)
        digest_restart = "calculated-failure-timeout"
        if digest_restart is not None:
            return DIGEST_RESTART
    if digest_restart is not None:
        force = op.get("op-force-restart")
        if force is None:
            # the restart digest covers all the parameters: it is `calc`, already rendered
            # and hashed (9,700 start entries a transition at 32/10000 rendered it again)
            restart = calc
        else:
            restart = md5(render({k: v for k, v in params.items() if f" {k} " in force}))
        if restart != digest_restart:
            return DIGEST_RESTART
    if digest_all is None:
        return DIGEST_UNKNOWN
    if calc != digest_all:
        secure = op.get("op-secure-digest")
        if secure is not None and md5(render(_secure_params(ws, rsc, node, op, params))) == secure:
            return DIGEST_MATCH
        return DIGEST_RESTART if extra_forces_restart else DIGEST_ALL
    return DIGEST_MATCH


def _is_fence_param(name: str) -> bool:
    """pcmk_stonith_param: parameters Pacemaker adds for fence devices."""
    if name in ("provides", "stonith-timeout"):
        return True
    if not name.startswith("pcmk_"):
        return False
    if name in ("pcmk_action_limit", "pcmk_delay_base", "pcmk_delay_max", "pcmk_host_argument",
                "pcmk_host_check", "pcmk_host_list", "pcmk_host_map"):
        return True
    rest = name[5:]
    idx = rest.find("_")
    return idx >= 0 and rest[idx:] in ("_action", "_timeout", "_retries")


def _secure_params(ws: WorkingSet, rsc: Resource, node: Node, op: XNode,
                   params_all: dict[str, str]) -> dict[str, str]:
    """calculate_secure_digest: parameters minus the private ones (as crm_report masks them)."""
    version = op.get("crm_feature_set") or ""
    old = compare_versions(version, "3.16.0") < 0
    private = op.get("op-secure-params") or ""
    if old:
        base = dict(rsc_params(ws, rsc, node))
    else:
        base = dict(params_all)
    out = {k: v for k, v in base.items() if f" {k} " not in private}
    if old and (rsc.xml.get("class") or "") == "stonith":
        out = {k: v for k, v in out.items() if not _is_fence_param(k)}
    out = {k: v for k, v in out.items()
           if not k.startswith("CRM_meta_") and k not in _FILTERED}
    if not old and "CRM_meta_timeout" in params_all:
        out["CRM_meta_timeout"] = params_all["CRM_meta_timeout"]
    return out


def digest_mismatch(ws: WorkingSet, rsc: Resource, node: Node, op: XNode) -> Optional[bool]:
    """True if parameters changed, False if not, None if there is no digest to compare."""
    result = digest_compare(ws, rsc, node, op)
    if result == DIGEST_UNKNOWN:
        return None
    return result != DIGEST_MATCH


STONITH_DIGEST_TASK = "stonith-on"
CRM_FEATURE_SET = "3.16.2"  # Pacemaker 2.1.5's, when the CIB names none
_DEFAULT_SECURE_LIST = " passwd password user "


def fencing_digests(ws: WorkingSet, rsc: Resource, node: Node) -> tuple[str, str]:
    """pe__calculate_digests(rsc, "stonith-on", 0, node, no history, secure): a fence device's
    (all, secure) parameter digests, which unfencing records per node to notice a device whose
    definition changed. Without a history entry the private parameters are the default list
    and the feature set is the CIB's (an older one leaves meta-attributes and fencing
    parameters out of the secure digest, as older controllers did)."""
    params_all, _ = _all_params(ws, rsc, node, STONITH_DIGEST_TASK, 0)
    version = ws.cib.get("crm_feature_set") or CRM_FEATURE_SET
    old = compare_versions(version, "3.16.0") < 0
    base = dict(rsc_params(ws, rsc, node)) if old else dict(params_all)
    secure = {k: v for k, v in base.items() if f" {k} " not in _DEFAULT_SECURE_LIST}
    if old and (rsc.xml.get("class") or "") == "stonith":
        secure = {k: v for k, v in secure.items() if not _is_fence_param(k)}
    secure = {k: v for k, v in secure.items()
              if not k.startswith("CRM_meta_") and k not in _FILTERED}
    return md5(render(params_all)), md5(render(secure))


def unfencing_devices(resources: list[Resource]) -> list[Resource]:
    """find_unfencing_devices: fence devices that require unfencing or provide it, depth
    first, in the order Pacemaker's list has them (each match put in front)."""
    matches: list[Resource] = []

    def walk(candidates: list[Resource]) -> None:
        for candidate in candidates:
            if candidate.children:
                walk(candidate.children)
            elif not candidate.fence_device:
                continue
            elif candidate.needs_unfencing or \
                    (candidate.meta.get("provides") or "").lower() == "unfencing":
                matches.insert(0, candidate)

    walk(resources)
    return matches
