"""A seeded generator of random CIBs over the features the policy engine supports.

Why: the visible corpus is small enough to be fitted case by case; random CIBs scored against
Pacemaker 2.1.5's `crm_simulate` show whether the engine implements the rules. Each case mixes
node membership states (online, clean offline, unclean, pending, never seen, standby), primitives,
groups, anonymous and promotable clones, scored location/colocation/order constraints,
stickiness, an operation history (probes, starts, promotions, failed starts/monitors/stops/
demotes, fail-counts, migration-threshold), cluster options (no-quorum-policy, stonith-enabled,
startup-fencing, symmetric-cluster, have-quorum), placement strategies with node and resource
utilization, resource templates and tags named by constraints, tickets (rsc_ticket with each
loss-policy; ticket states granted, revoked, standby, never granted) and deliberately invalid or
unknown values.

`generate(seed)` is pure (a `random.Random(seed)` drives everything) and returns the CIB text and
the set of feature tags the case exercises, so a harness can report agreement per feature.
Clone notifications and live migration are deliberately not generated (`notify`/`allow-migrate`
are never set): they are judged elsewhere.

    python tests/pengine/cibgen.py SEED [OUT.xml]    # print the features, write the CIB
"""

from __future__ import annotations

import hashlib
import random
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional
from xml.sax.saxutils import quoteattr

_UUID = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
_STAMP = 1700000000

# (in_ccm, crmd, join, expected) of each membership state the generator uses
_MEMBERSHIP = {
    "online": ("true", "online", "member", "member"),
    "offline": ("false", "offline", "down", "down"),
    "unclean": ("false", "offline", "member", "member"),
    "pending": ("true", "online", "pending", "member"),
    "ccm-only": ("true", "offline", "down", "member"),
    "banned": ("true", "online", "banned", "member"),
    "leaving": ("false", "online", "member", "down"),
}


def _digest(params: dict[str, str]) -> str:
    """The op-digest Pacemaker records: MD5 of the sorted parameters as an XML element."""
    attrs = "".join(f' {k}="{params[k]}"' for k in sorted(params))
    return hashlib.md5(f" <parameters{attrs}/>\n".encode()).hexdigest()


@dataclass
class Prim:
    """One primitive of the configuration (possibly inside a group or clone)."""
    rid: str
    stateful: bool = False
    params: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    on_fail: Optional[str] = None
    monitor_timeout_ms: int = 20000
    start_on_fail: Optional[str] = None
    monitor_enabled: Optional[str] = None
    template: Optional[str] = None
    utilization: dict[str, str] = field(default_factory=dict)


class _Gen:
    """Builds one CIB; every choice goes through self.rnd so a seed reproduces it."""

    # a generator for one feature area sets this: half of its cases are then calm (make_calm;
    # notifymigrategen also writes failure-free histories there), so that recoveries do not
    # drown what it judges
    CALM_CASES = False

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.features: set[str] = set()
        self.nodes: list[str] = []
        self.state: dict[str, str] = {}
        self.prims: list[Prim] = []
        self.top: list[str] = []          # top-level resource ids (constraint targets)
        self.kind: dict[str, str] = {}    # top id -> primitive/group/clone/promotable
        self.members: dict[str, list[Prim]] = {}
        self.clone_max: dict[str, int] = {}
        self.large = False
        self.placement = "default"        # placement-strategy
        self.tickets: dict[str, tuple[str, str]] = {}  # ticket -> (granted, standby)
        self.templated: list[str] = []    # primitives derived from the template
        self.tags: dict[str, list[str]] = {}
        self.calm = self.CALM_CASES and self.chance(0.5, "calm")

    def chance(self, p: float, tag: Optional[str] = None) -> bool:
        hit = self.rnd.random() < p
        if hit and tag:
            self.features.add(tag)
        return hit

    def score(self) -> str:
        # constraint scores are typed by the schema (crm_simulate rejects the whole CIB when
        # one is not a score), so invalid values are generated only where nvpairs allow text
        choices = ["INFINITY", "-INFINITY", "100", "50", "-100", "200", "0", "+INFINITY", "10"]
        return self.rnd.choice(choices)

    # ---- configuration -------------------------------------------------------------------

    def options(self) -> list[tuple[str, str]]:
        r, opts = self.rnd, []
        stonith = r.random() < 0.45
        if stonith:
            opts.append(("stonith-enabled", "true"))
            self.features.add("stonith")
        else:
            opts.append(("stonith-enabled", r.choice(["false", "false", "false", "no", "0"])))
        if self.chance(0.04, "invalid-value"):
            opts[-1] = ("stonith-enabled", r.choice(["maybe", "2", ""]))
        if self.chance(0.6, "no-quorum-policy"):
            nqp = r.choice(["stop", "freeze", "ignore", "demote", "suicide", "stop"])
            if self.chance(0.05, "invalid-value"):
                nqp = "bogus"
            opts.append(("no-quorum-policy", nqp))
            self.features.add(f"nqp-{nqp}")
        if self.chance(0.2, "startup-fencing"):
            opts.append(("startup-fencing", r.choice(["true", "false"])))
        if self.chance(0.12, "asymmetric"):
            opts.append(("symmetric-cluster", "false"))
        if self.chance(0.05, "stop-all-resources"):
            opts.append(("stop-all-resources", "true"))
        if self.chance(0.04, "maintenance-mode"):
            opts.append(("maintenance-mode", "true"))
        if self.chance(0.04, "invalid-value"):
            opts.append((r.choice(["symmetric-cluster", "startup-fencing", "stop-orphan-resources",
                                   "start-failure-is-fatal"]), "junk"))
        if self.chance(0.06, "stonith-action"):
            opts.append(("stonith-action", r.choice(["poweroff", "off", "reboot", "junk"])))
        if self.chance(0.05, "start-failure-not-fatal"):
            opts.append(("start-failure-is-fatal", "false"))
        if self.chance(0.3, "placement-strategy"):
            self.placement = r.choice(["utilization", "minimal", "balanced", "default"])
            self.features.add(f"placement-{self.placement}")
            opts.append(("placement-strategy", self.placement))
        if self.chance(0.05, "unknown-option"):
            opts.append(("made-up-option", "42"))
        return list(dict(opts).items())  # one nvpair per name (ids must be unique)

    def make_nodes(self) -> None:
        r = self.rnd
        # one case in five is larger: more nodes and resources make more equal-score ties
        self.large = self.chance(0.2, "large")
        count = r.randint(4, 8) if self.large else r.randint(2, 5)
        self.nodes = [f"node{i}" for i in range(1, count + 1)]
        for node in self.nodes:
            state = r.choices(["online", "offline", "unclean", "pending", "never", "ccm-only",
                               "banned", "leaving"],
                              weights=[70, 8, 8, 3, 4, 3, 2, 2])[0]
            self.state[node] = state
            if state != "online":
                self.features.add(f"node-{state}")
        if all(s != "online" for s in self.state.values()):
            self.state[self.nodes[0]] = "online"
        if self.calm:
            self.make_calm()

    def make_calm(self) -> None:
        """Every node online but one lost at most: the calm case of a generator built on this
        model for one feature area, so that recoveries do not drown what it judges."""
        lost = self.rnd.choice(self.nodes) if self.rnd.random() < 0.3 else None
        for node in self.nodes:
            if node != lost:
                self.state[node] = "online"

    def primitive(self, rid: str, stateful: bool = False) -> Prim:
        r = self.rnd
        p = Prim(rid, stateful)
        if self.chance(0.15, "params"):
            p.params["fake"] = r.choice(["1", "abc"])
        if self.chance(0.12, "stickiness"):
            p.meta["resource-stickiness"] = r.choice(["0", "100", "INFINITY", "50"])
        if self.chance(0.12, "migration-threshold"):
            p.meta["migration-threshold"] = r.choice(["1", "2", "3", "0"])
        if self.chance(0.08, "target-role"):
            p.meta["target-role"] = r.choice(["Stopped", "Started", "Unpromoted", "Promoted"])
        if self.chance(0.05, "unmanaged"):
            p.meta["is-managed"] = "false"
        if self.chance(0.04, "invalid-value"):
            p.meta[r.choice(["resource-stickiness", "migration-threshold", "target-role",
                             "is-managed", "multiple-active", "failure-timeout"])] = "junk"
        if self.chance(0.05, "requires"):
            p.meta["requires"] = r.choice(["nothing", "quorum", "fencing", "junk"])
        if self.chance(0.05, "priority"):
            p.meta["priority"] = r.choice(["10", "-5", "junk"])
        if self.chance(0.04, "start-op"):
            p.start_on_fail = r.choice(["block", "stop", "ignore", "fence", "standby", "restart"])
        if self.chance(0.03, "monitor-disabled"):
            p.monitor_enabled = "false"
        if self.chance(0.05, "failure-timeout"):
            p.meta["failure-timeout"] = r.choice(["60s", "3650d"])
        if self.chance(0.05, "multiple-active"):
            p.meta["multiple-active"] = r.choice(["stop_only", "block", "stop_start"])
        if self.chance(0.1, "on-fail"):
            p.on_fail = r.choice(["restart", "stop", "block", "ignore", "fence", "standby"])
        if self.placement != "default" and self.chance(0.7, "utilization"):
            p.utilization["cpu"] = r.choice(["1", "2", "3"])
            if r.random() < 0.5:
                p.utilization["mem"] = r.choice(["512", "1024", "2048"])
        self.prims.append(p)
        return p

    def make_resources(self) -> None:
        r = self.rnd
        count = r.randint(6, 12) if self.large else r.randint(1, 6)
        for i in range(count):
            kind = r.choices(["primitive", "group", "clone", "promotable"],
                             weights=[50, 20, 15, 15])[0]
            self.features.add(kind)
            name = f"{kind[0]}{i}"
            if kind == "primitive":
                self.members[name] = [self.primitive(name)]
                if self.chance(0.25, "template"):
                    self.members[name][0].template = "tmpl"
                    self.templated.append(name)
            elif kind == "group":
                self.members[name] = [self.primitive(f"{name}m{j}")
                                      for j in range(r.randint(2, 3))]
            else:
                self.members[name] = [self.primitive(f"{name}p", kind == "promotable")]
                self.clone_max[name] = r.choice([len(self.nodes), len(self.nodes), 1, 2])
            self.top.append(name)
            self.kind[name] = kind
        if "stonith" in self.features and r.random() < 0.85:
            self.kind["fencer"] = "stonith"
            self.features.add("fence-device")

    def xml_prim(self, p: Prim) -> str:
        attrs = ""
        if p.params:
            attrs = f'<instance_attributes id="{p.rid}-ia">' + "".join(
                f'<nvpair id="{p.rid}-ia-{k}" name="{k}" value={quoteattr(v)}/>'
                for k, v in p.params.items()) + "</instance_attributes>"
        meta = self.xml_meta(p.rid, p.meta)
        if p.utilization:
            meta += f'<utilization id="{p.rid}-util">' + "".join(
                f'<nvpair id="{p.rid}-util-{k}" name="{k}" value="{v}"/>'
                for k, v in p.utilization.items()) + "</utilization>"
        onfail = f' on-fail="{p.on_fail}"' if p.on_fail else ""
        if p.monitor_enabled:
            onfail += f' enabled="{p.monitor_enabled}"'
        start_op = ""
        if p.start_on_fail:
            start_op = (f'<op id="{p.rid}-start" name="start" interval="0" timeout="20s" '
                        f'on-fail="{p.start_on_fail}"/>')
        if p.stateful:
            ops = (f'<op id="{p.rid}-mon-p" name="monitor" interval="10s" role="Promoted" '
                   f'timeout="20s"{onfail}/><op id="{p.rid}-mon-u" name="monitor" interval="11s" '
                   f'role="Unpromoted" timeout="20s"{onfail}/>')
            agent = 'type="Stateful"'
        else:
            ops = (f'<op id="{p.rid}-mon" name="monitor" interval="10s" timeout="20s"'
                   f'{onfail}/>')
            agent = 'type="Dummy"'
        if p.template:  # the template supplies class, provider and type (Dummy)
            return (f'<primitive id="{p.rid}" template="{p.template}">{attrs}{meta}'
                    f"<operations>{start_op}{ops}</operations></primitive>")
        return (f'<primitive id="{p.rid}" class="ocf" provider="pacemaker" {agent}>{attrs}{meta}'
                f"<operations>{start_op}{ops}</operations></primitive>")

    @staticmethod
    def xml_meta(owner: str, meta: dict[str, str]) -> str:
        if not meta:
            return ""
        return f'<meta_attributes id="{owner}-meta">' + "".join(
            f'<nvpair id="{owner}-meta-{k}" name="{k}" value={quoteattr(v)}/>'
            for k, v in meta.items()) + "</meta_attributes>"

    def xml_resources(self) -> str:
        out = []
        if self.kind.get("fencer") == "stonith":
            out.append('<primitive id="fencer" class="stonith" type="fence_dummy"><operations>'
                       '<op id="fencer-mon" name="monitor" interval="60s"/></operations>'
                       "</primitive>")
        r = self.rnd
        if self.templated:
            # template operations are merged in where the primitive has none of the same name
            # and role; its meta-attributes come before the primitive's own
            stick = r.choice(["0", "100", "INFINITY"])
            util = ""
            if self.placement != "default" and r.random() < 0.5:
                util = ('<utilization id="tmpl-util"><nvpair id="tmpl-util-cpu" name="cpu" '
                        'value="1"/></utilization>')
            out.append('<template id="tmpl" class="ocf" provider="pacemaker" type="Dummy">'
                       '<meta_attributes id="tmpl-meta"><nvpair id="tmpl-meta-stick" '
                       f'name="resource-stickiness" value="{stick}"/></meta_attributes>{util}'
                       '<operations><op id="tmpl-mon" name="monitor" interval="10s" '
                       'timeout="20s"/><op id="tmpl-mon-p" name="monitor" interval="15s" '
                       'role="Promoted" timeout="20s"/></operations></template>')
        for name in self.top:
            kind = self.kind[name]
            inner = "".join(self.xml_prim(p) for p in self.members[name])
            if kind == "primitive":
                out.append(inner)
            elif kind == "group":
                meta = {}
                if self.chance(0.1, "target-role"):
                    meta["target-role"] = "Stopped"
                if self.chance(0.1, "stickiness"):
                    meta["resource-stickiness"] = r.choice(["0", "100"])
                out.append(f'<group id="{name}">{self.xml_meta(name, meta)}{inner}</group>')
            else:
                meta = {"clone-max": str(self.clone_max[name])}
                if kind == "promotable":
                    meta["promotable"] = "true"
                    if self.chance(0.3, "promoted-max"):
                        meta["promoted-max"] = r.choice(["1", "2", "0"])
                if self.chance(0.15, "clone-node-max"):
                    meta["clone-node-max"] = "2"
                if self.chance(0.15, "interleave"):
                    meta["interleave"] = "true"
                if self.chance(0.08, "globally-unique"):
                    meta["globally-unique"] = "true"
                if self.chance(0.08, "ordered"):
                    meta["ordered"] = "true"
                if self.chance(0.05, "invalid-value"):
                    meta[r.choice(["clone-max", "clone-node-max", "promoted-max"])] = "lots"
                out.append(f'<clone id="{name}">{self.xml_meta(name, meta)}{inner}</clone>')
        return "".join(out)

    def xml_constraints(self) -> str:
        r, out = self.rnd, []
        n = 0
        # names a constraint may use for several resources: the template, a tag
        groups: list[str] = []
        if self.templated:
            groups.append("tmpl")
        if len(self.top) >= 2 and self.chance(0.15, "tag"):
            self.tags["tag1"] = r.sample(self.top, r.randint(1, min(3, len(self.top))))
            groups.append("tag1")
        for name in groups:
            if r.random() < 0.6:
                n += 1
                out.append(f'<rsc_location id="loc{n}" rsc="{name}" '
                           f'node="{r.choice(self.nodes)}" score="{self.score()}"/>')
            # never with one of its own members: Pacemaker asserts on a resource ordered or
            # colocated with itself
            members = self.templated if name == "tmpl" else self.tags.get(name, [])
            outside = [each for each in self.top if each not in members]
            if outside and r.random() < 0.4:
                n += 1
                other = r.choice(outside)
                if r.random() < 0.5:
                    out.append(f'<rsc_colocation id="col{n}" rsc="{name}" with-rsc="{other}" '
                               f'score="{self.score()}"/>')
                else:
                    out.append(f'<rsc_order id="ord{n}" first="{other}" then="{name}" '
                               'kind="Mandatory"/>')
        if self.chance(0.2, "ticket"):
            for t in range(r.randint(1, 2)):
                ticket = f"ticket{t}"
                self.tickets[ticket] = r.choice([("true", "false"), ("false", "false"),
                                                 ("true", "true"), ("", "")])
                names = r.sample(self.top + groups, r.randint(1, min(2, len(self.top))))
                policy = ""
                if self.chance(0.7, "loss-policy"):
                    policy = f' loss-policy="{r.choice(["stop", "demote", "fence", "freeze"])}"'
                if len(names) == 2 and self.chance(0.3, "ticket-set"):
                    # one constraint over a resource set (a template or tag expands in place)
                    n += 1
                    refs = "".join(f'<resource_ref id="{name}"/>' for name in names)
                    out.append(f'<rsc_ticket id="tk{n}" ticket="{ticket}"{policy}>'
                               f'<resource_set id="tk{n}-set">{refs}</resource_set></rsc_ticket>')
                    continue
                for name in names:
                    n += 1
                    extra = policy
                    if self.kind.get(name) == "promotable" and self.chance(0.5, "ticket-role"):
                        extra += ' rsc-role="Promoted"'
                    out.append(f'<rsc_ticket id="tk{n}" rsc="{name}" ticket="{ticket}"{extra}/>')
        for name in self.top:
            if self.chance(0.45, "location"):
                n += 1
                role = ""
                if self.kind[name] == "promotable" and self.chance(0.4, "location-role"):
                    role = ' role="Promoted"'
                if self.chance(0.08, "resource-discovery"):
                    role += f' resource-discovery="{r.choice(["never", "exclusive", "always"])}"'
                out.append(f'<rsc_location id="loc{n}" rsc="{name}" '
                           f'node="{r.choice(self.nodes)}" score="{self.score()}"{role}/>')
            if self.chance(0.08, "location-rule"):
                n += 1
                out.append(f'<rsc_location id="loc{n}" rsc="{name}"><rule id="loc{n}-r" '
                           f'score="{self.score()}"><expression id="loc{n}-e" attribute="#uname" '
                           f'operation="eq" value="{r.choice(self.nodes)}"/></rule></rsc_location>')
        if len(self.top) >= 2:
            for _ in range(r.randint(0, 3)):
                a, b = r.sample(self.top, 2)
                n += 1
                if r.random() < 0.55:
                    self.features.add("colocation")
                    roles = ""
                    if self.kind[b] == "promotable" and self.chance(0.5, "colocation-role"):
                        roles = f' with-rsc-role="{r.choice(["Promoted", "Unpromoted"])}"'
                    if self.kind[a] == "promotable" and self.chance(0.4, "colocation-role"):
                        roles += ' rsc-role="Promoted"'
                    out.append(f'<rsc_colocation id="col{n}" rsc="{a}" with-rsc="{b}" '
                               f'score="{self.score()}"{roles}/>')
                else:
                    self.features.add("order")
                    kind = r.choice(["Mandatory", "Mandatory", "Optional", "Serialize"])
                    extra = ""
                    if self.chance(0.2, "order-symmetrical"):
                        extra += ' symmetrical="false"'
                    if self.kind[a] == "promotable" and self.chance(0.4, "order-promote"):
                        extra += ' first-action="promote" then-action="start"'
                    out.append(f'<rsc_order id="ord{n}" first="{a}" then="{b}" kind="{kind}"'
                               f'{extra}/>')
        return "".join(out)

    def xml_nodes(self) -> str:
        out = []
        for i, node in enumerate(self.nodes, 1):
            attrs = {}
            if self.chance(0.1, "standby"):
                attrs["standby"] = self.rnd.choice(["on", "true", "on", "off", "junk"])
            if self.chance(0.03, "node-maintenance"):
                attrs["maintenance"] = "true"
            util = ""
            if self.placement != "default" and self.rnd.random() < 0.9:
                util = (f'<utilization id="n{i}-util"><nvpair id="n{i}-util-cpu" name="cpu" '
                        f'value="{self.rnd.choice(["1", "2", "4", "8"])}"/><nvpair '
                        f'id="n{i}-util-mem" name="mem" '
                        f'value="{self.rnd.choice(["1024", "4096"])}"/></utilization>')
            for name in self.top:
                if self.kind[name] == "promotable" and self.rnd.random() < 0.5:
                    self.features.add("promotion-score")
                    attrs[f"master-{name}p"] = self.rnd.choice(["5", "10", "100", "-INFINITY"])
            body = ""
            if attrs:
                body = f'<instance_attributes id="n{i}-ia">' + "".join(
                    f'<nvpair id="n{i}-ia-{k}" name="{k}" value="{v}"/>' for k, v in attrs.items()
                ) + "</instance_attributes>"
            out.append(f'<node id="{i}" uname="{node}">{body}{util}</node>')
        return "".join(out)

    # ---- status ----------------------------------------------------------------------------

    def op(self, p: Prim, key_id: str, task: str, interval_ms: int, rc: int, target: int,
           call: int, status: int = 0, digest: bool = True) -> str:
        params = dict(p.params)
        if interval_ms:
            params["CRM_meta_timeout"] = str(p.monitor_timeout_ms)
        dig = ""
        if digest and task not in ("stop",):
            value = _digest(params)
            if self.chance(0.03, "changed-params"):
                value = _digest({"fake": "old"})
            dig = f' op-digest="{value}"'
        tkey = f"{call}:-1:{target}:{_UUID}"
        return (f'<lrm_rsc_op id="{key_id}" operation_key="{p.rid}_{task}_{interval_ms}" '
                f'operation="{task}" crm-debug-origin="gen" crm_feature_set="3.16.1" '
                f'transition-key="{tkey}" transition-magic="{status}:{rc};{tkey}" exit-reason="" '
                f'call-id="{call}" rc-code="{rc}" op-status="{status}" interval="{interval_ms}" '
                f'last-rc-change="{_STAMP}" exec-time="0" queue-time="0"{dig}/>')

    def history(self, p: Prim, node: str, fails: dict[str, str]) -> str:
        """One lrm_resource: a plausible sequence of operations ending in a chosen state."""
        r = self.rnd
        states = ["probed-stopped", "running", "running", "failed-monitor", "failed-start",
                  "failed-stop", "stopped"]
        states += ["probe-running", "probe-not-installed", "probe-error", "restarted",
                   "pending-start", "monitor-timeout", "start-timeout"]
        if p.stateful:
            states += ["promoted", "promoted", "failed-demote", "failed-promote",
                       "probe-promoted"]
        state = r.choice(states)
        self.features.add(f"hist-{state}")
        ops = []
        mon_int = 10000 if not p.stateful else 11000
        if state == "probed-stopped":
            ops.append(self.op(p, f"{p.rid}_last_0", "monitor", 0, 7, 7, 1))
        elif state == "stopped":
            ops.append(self.op(p, f"{p.rid}_last_0", "stop", 0, 0, 0, 4))
        elif state in ("running", "failed-monitor"):
            ops.append(self.op(p, f"{p.rid}_last_0", "start", 0, 0, 0, 2))
            rc = 0 if state == "running" else r.choice([7, 1])
            mon = self.op(p, f"{p.rid}_monitor_{mon_int}", "monitor", mon_int, rc, 0, 3)
            ops.append(mon)
            if state == "failed-monitor":
                ops.append(mon.replace(f'id="{p.rid}_monitor_{mon_int}"',
                                       f'id="{p.rid}_last_failure_0"', 1))
                fails[f"monitor_{mon_int}"] = str(r.choice([1, 1, 2, 3]))
        elif state == "failed-start":
            start = self.op(p, f"{p.rid}_last_0", "start", 0, r.choice([1, 5, 6]), 0, 2)
            ops.append(start)
            ops.append(start.replace(f'id="{p.rid}_last_0"', f'id="{p.rid}_last_failure_0"', 1))
            fails["start_0"] = r.choice(["1", "INFINITY"])
        elif state == "failed-stop":
            # a hard failure (not installed, invalid or insufficient privileges) cannot be
            # retried: without fencing the resource is blocked
            rc = r.choice([1, 1, 5, 2, 4])
            stop = self.op(p, f"{p.rid}_last_0", "stop", 0, rc, 0, 4,
                           status=r.choice([0, 2, 4]) if rc == 1 else 0)
            ops.append(stop)
            ops.append(stop.replace(f'id="{p.rid}_last_0"', f'id="{p.rid}_last_failure_0"', 1))
            fails["stop_0"] = "INFINITY"
        elif state == "promoted":
            ops.append(self.op(p, f"{p.rid}_last_0", "promote", 0, 0, 0, 3))
            ops.append(self.op(p, f"{p.rid}_monitor_10000", "monitor", 10000, 8, 8, 4))
        elif state == "failed-demote":
            dem = self.op(p, f"{p.rid}_last_0", "demote", 0, 1, 0, 5)
            ops.append(dem)
            ops.append(dem.replace(f'id="{p.rid}_last_0"', f'id="{p.rid}_last_failure_0"', 1))
            fails["demote_0"] = "1"
        elif state in ("probe-running", "probe-promoted", "probe-not-installed", "probe-error"):
            rc = {"probe-running": 0, "probe-promoted": 8, "probe-not-installed": 5,
                  "probe-error": 1}[state]
            ops.append(self.op(p, f"{p.rid}_last_0", "monitor", 0, rc, 7, 1))
            if rc in (5, 1):
                ops.append(self.op(p, f"{p.rid}_last_failure_0", "monitor", 0, rc, 7, 1))
        elif state == "restarted":
            ops.append(self.op(p, f"{p.rid}_last_0", "start", 0, 0, 0, 6))
            ops.append(self.op(p, f"{p.rid}_monitor_{mon_int}", "monitor", mon_int, 0, 0, 7))
        elif state == "pending-start":
            ops.append(self.op(p, f"{p.rid}_last_0", "start", 0, 193, 0, 2, status=-1))
        elif state in ("monitor-timeout", "start-timeout"):
            task, interval = (("monitor", mon_int) if state == "monitor-timeout"
                              else ("start", 0))
            if task == "monitor":
                ops.append(self.op(p, f"{p.rid}_last_0", "start", 0, 0, 0, 2))
            failed = self.op(p, f"{p.rid}_last_failure_0", task, interval, 1, 0, 3, status=2)
            ops.append(failed)
            if task == "start":
                ops.append(failed.replace(f'id="{p.rid}_last_failure_0"',
                                          f'id="{p.rid}_last_0"', 1))
            fails[f"{task}_{interval}"] = "1"
        elif state == "failed-promote":
            pro = self.op(p, f"{p.rid}_last_0", "promote", 0, 1, 0, 3)
            ops.append(pro)
            ops.append(pro.replace(f'id="{p.rid}_last_0"', f'id="{p.rid}_last_failure_0"', 1))
            fails["promote_0"] = "1"
        cls = 'class="ocf" provider="pacemaker"'
        agent = "Stateful" if p.stateful else "Dummy"
        return f'<lrm_resource id="{p.rid}" {cls} type="{agent}">{"".join(ops)}</lrm_resource>'

    def forced_history(self, p: Prim, node: str) -> bool:
        """Whether p must have a history on node whatever the draw (a subclass plans
        histories that span nodes, such as a migration's source and target)."""
        return False

    def xml_status(self) -> str:
        r, out = self.rnd, []
        for i, node in enumerate(self.nodes, 1):
            state = self.state[node]
            if state == "never":
                continue
            in_ccm, crmd, join, expected = _MEMBERSHIP[state]
            rscs, transient = [], {}
            has_history = state == "online" or r.random() < 0.6
            if has_history:
                self.features.add("history")
                if self.kind.get("fencer") and r.random() < 0.5:
                    fp = Prim("fencer")
                    rscs.append('<lrm_resource id="fencer" class="stonith" type="fence_dummy">'
                                + self.op(fp, "fencer_last_0", "start", 0, 0, 0, 2, digest=False)
                                + "</lrm_resource>")
                for p in self.prims:
                    # the draw comes first so a subclass's forced histories leave the
                    # random stream (and every existing seed's CIB) unchanged
                    if r.random() < 0.45 or self.forced_history(p, node):
                        fails: dict[str, str] = {}
                        rscs.append(self.history(p, node, fails))
                        for opkey, count in fails.items():
                            if r.random() < 0.85:
                                self.features.add("fail-count")
                                transient[f"fail-count-{p.rid}#{opkey}"] = count
                                transient[f"last-failure-{p.rid}#{opkey}"] = str(_STAMP)
            for p in self.prims:
                if p.stateful and r.random() < 0.3:
                    self.features.add("promotion-score")
                    transient[f"master-{p.rid}"] = r.choice(["5", "10", "20"])
            if self.chance(0.03, "transient-standby"):
                transient["standby"] = "on"
            body = ""
            if transient:
                body += (f'<transient_attributes id="{i}"><instance_attributes id="status-{i}">'
                         + "".join(f'<nvpair id="status-{i}-{k}" name="{k}" value="{v}"/>'
                                   for k, v in transient.items())
                         + "</instance_attributes></transient_attributes>")
            if rscs:
                body += f'<lrm id="{i}"><lrm_resources>{"".join(rscs)}</lrm_resources></lrm>'
            out.append(f'<node_state id="{i}" uname="{node}" in_ccm="{in_ccm}" crmd="{crmd}" '
                       f'crm-debug-origin="gen" join="{join}" expected="{expected}">{body}'
                       "</node_state>")
        return "".join(out)

    def build(self) -> str:
        self.make_nodes()
        opts = self.options()
        self.make_resources()
        quorum = "1"
        if self.chance(0.3, "no-quorum"):
            quorum = "0"
            if self.chance(0.3, "quorum-lost"):
                quorum = '0" no-quorum-panic="1'   # quorum was had and lost
        defaults = ""
        if self.chance(0.5, "rsc-defaults"):
            value = self.rnd.choice(["100", "0", "INFINITY", "50"])
            defaults = ('<rsc_defaults><meta_attributes id="rsc-options"><nvpair '
                        f'id="rsc-options-stickiness" name="resource-stickiness" value="{value}"/>'
                        "</meta_attributes></rsc_defaults>")
        if self.chance(0.05, "op-defaults"):
            defaults += ('<op_defaults><meta_attributes id="op-options"><nvpair id="op-options-t" '
                         'name="timeout" value="30s"/></meta_attributes></op_defaults>')
        props = "".join(f'<nvpair id="opt-{k}" name="{k}" value={quoteattr(v)}/>' for k, v in opts)
        nodes = self.xml_nodes()
        resources = self.xml_resources()
        constraints = self.xml_constraints()
        status = self.xml_status()
        return ('<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" '
                f'num_updates="0" admin_epoch="0" have-quorum="{quorum}" dc-uuid="1">'
                '<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">'
                f"{props}</cluster_property_set></crm_config><nodes>{nodes}</nodes>"
                f"<resources>{resources}</resources><constraints>{constraints}</constraints>"
                f"{defaults}{self.xml_tags()}</configuration><status>{status}"
                f"{self.xml_tickets()}</status></cib>\n")

    def xml_tags(self) -> str:
        if not self.tags:
            return ""
        return "<tags>" + "".join(
            f'<tag id="{tag}">' + "".join(f'<obj_ref id="{ref}"/>' for ref in refs) + "</tag>"
            for tag, refs in self.tags.items()) + "</tags>"

    def xml_tickets(self) -> str:
        states = []
        for ticket, (granted, standby) in self.tickets.items():
            if not granted:
                continue  # never granted: no ticket_state at all
            states.append(f'<ticket_state id="{ticket}" granted="{granted}" standby="{standby}" '
                          f'last-granted="{_STAMP}"/>')
        return f"<tickets>{''.join(states)}</tickets>" if states else ""


def add_history_entry(text: str, node_id: str, entry: str) -> str:
    """The status `text` with one more `<lrm_resource>` entry first in node `node_id`'s history
    (its `<lrm>` made when it has none): how area generators add entries cibgen does not draw,
    such as orphans."""
    start = text.index(f'<node_state id="{node_id}" ')
    end = text.index("</node_state>", start)
    section = text[start:end]
    if "<lrm_resources>" in section:
        section = section.replace("<lrm_resources>", "<lrm_resources>" + entry, 1)
    else:
        section += f'<lrm id="{node_id}"><lrm_resources>{entry}</lrm_resources></lrm>'
    return text[:start] + section + text[end:]


def generator(make: Callable[[int], _Gen]) -> Callable[[int], tuple[str, set[str]]]:
    """The `generate(seed)` of a generator built on this model (`make`: its class): the CIB of
    one seed and the feature tags it exercises."""
    def generate(seed: int) -> tuple[str, set[str]]:
        gen = make(seed)
        text = gen.build()
        return text, gen.features
    return generate


generate = generator(_Gen)


def main(argv: list[str], make: Optional[Callable[[int], tuple[str, set[str]]]] = None,
         doc: Optional[str] = None) -> int:
    """The command line of a generator (`make`, this one's `generate` by default): SEED [OUT]."""
    if not argv or len(argv) > 2:
        print((doc or __doc__ or "").strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    text, features = (make or generate)(int(argv[0]))
    if len(argv) == 2:
        with open(argv[1], "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    print(" ".join(sorted(features)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
