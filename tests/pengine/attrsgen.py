"""A seeded generator of random CIBs dense in attribute sets, defaults, operation definitions
and pattern-matched constraints.

Why: tests/pengine/cibgen.py gives each primitive one instance and one meta attribute set, one
monitor written `interval="10s" timeout="20s"`, and `rsc_defaults`/`op_defaults` of one
unconditional value. Real configurations layer them: several scored attribute sets where the
first set to name a value wins, sets that hold only on some nodes (the parameters an agent gets
and the digests that decide restarts are then per node), defaults that apply only to some agents
(`rsc_expression`) or operations (`op_expression`), operations written with every duration
syntax, a second monitor at another depth (`OCF_CHECK_LEVEL`), `start-delay`, an operation's own
meta attributes, legacy role names; and constraints naming resources by a regular expression
(`rsc-pattern`, its submatches in a rule) or colocating by a node attribute (`node-attribute`).
This generator reuses cibgen's model and adds:

- per primitive (not templated): 1-2 more instance attribute sets with a score and a rule on
  `#uname` or the node's `site` (tag `ia-rule`, `ia-score`), histories whose digests were taken
  with the parameters the node sees or with others (tag `ia-digest-node`);
- 1-2 more meta attribute sets with a score, some with a rule (a date far from today, `#uname`,
  `site`), setting stickiness, priority, migration-threshold, target-role or is-managed
  (tags `meta-sets`, `meta-rule`);
- the monitor's interval and timeout in other spellings (`10`, `10000ms`, `PT10S`, `1m`, tag
  `op-syntax`), sometimes another interval (tag `op-interval-changed`), `start-delay`
  (`op-start-delay`), a timeout in the operation's meta attributes (`op-meta`), a second monitor
  with `OCF_CHECK_LEVEL` and a history entry for it (`op-check-level`), `Master`/`Slave`
  roles (`op-legacy-role`);
- `rsc_defaults` with 1-3 scored sets, some only for one agent class/provider/type
  (`rsc-defaults-sets`, `rsc-expression`); `op_defaults` with sets only for one operation name
  and interval (`op-defaults-sets`, `op-expression`) setting timeout, on-fail or record-pending;
- `rsc_location` by `rsc-pattern` (anchored, inverted, POSIX classes, submatches used in the
  rule's attribute names and `score-attribute`, tags `rsc-pattern`, `rsc-pattern-submatch`,
  `rsc-pattern-class`, `rsc-pattern-invert`), `rsc_colocation` with `node-attribute`
  (`coloc-node-attribute`), the nodes carrying `site` and `pref-*` attributes.

Half the cases are calm (every node online but one lost at most, tag `calm`).
`generate(seed)` is pure and deterministic like cibgen's, with its own seed space.

    python tests/pengine/attrsgen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import sys
from dataclasses import dataclass, field
from typing import Optional
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from notifymigrategen import cibgen  # noqa: E402  (cibgen loaded once, as "pengine_cibgen")

# (text, milliseconds) of the spellings of the monitor's interval and timeout
_INTERVALS_10S = (("10s", 10000), ("10", 10000), ("10000ms", 10000), ("PT10S", 10000),
                  ("10sec", 10000))
_OTHER_INTERVALS = (("20s", 20000), ("1m", 60000), ("PT1M", 60000))
_TIMEOUTS = (("20s", 20000), ("20", 20000), ("20000ms", 20000), ("PT20S", 20000), ("1m", 60000),
             ("90s", 90000), ("1min", 60000))


def _one_pair_set(set_id: str, score: str, rule: str, name: str, value: str) -> str:
    """A defaults set of one value (`score`: the attribute text or empty, `rule` its XML)."""
    return (f'<meta_attributes id="{set_id}"{score}>{rule}<nvpair id="{set_id}-v" '
            f'name="{name}" value="{value}"/></meta_attributes>')


@dataclass
class _Extra:
    """What this generator adds to one primitive."""
    # (set id suffix, score or None, rule xml or None, node the params hold on or None, params)
    ia_sets: list[tuple[str, Optional[str], str, list[str], dict[str, str]]] = field(
        default_factory=list)
    meta_sets: list[tuple[Optional[str], str, dict[str, str]]] = field(default_factory=list)
    interval: tuple[str, int] = ("10s", 10000)
    timeout: tuple[str, int] = ("20s", 20000)
    start_delay: Optional[str] = None
    op_meta_timeout: Optional[str] = None
    check_level: bool = False
    legacy_roles: bool = False
    digest_node: bool = False


class _AttrsGen(cibgen._Gen):
    """cibgen's model plus layered attribute sets, defaults, operation syntax, rsc-pattern and
    node-attribute constraints."""

    CALM_CASES = True

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.extra: dict[str, _Extra] = {}
        self.site: dict[str, str] = {}
        self.pref: dict[str, dict[str, str]] = {}
        self.history_node: Optional[str] = None

    # ---- nodes -----------------------------------------------------------------------------

    def make_nodes(self) -> None:
        super().make_nodes()
        r = self.rnd
        for node in self.nodes:
            if r.random() < 0.85:
                self.site[node] = r.choice(["a", "b"])
            self.pref[node] = {f"pref-{k}": r.choice(["10", "100", "-100", "INFINITY", "junk"])
                               for k in r.sample(["0", "1", "2", "3", "g", "p", "c", "m"],
                                                 r.randint(0, 4))}

    def xml_nodes(self) -> str:
        text = super().xml_nodes()
        for i, node in enumerate(self.nodes, 1):
            attrs = dict(self.pref[node])
            if node in self.site:
                attrs["site"] = self.site[node]
            if not attrs:
                continue
            pairs = "".join(f'<nvpair id="n{i}-aa-{k}" name="{k}" value={quoteattr(v)}/>'
                            for k, v in attrs.items())
            head = f'<node id="{i}" uname="{node}">'
            text = text.replace(head, f'{head}<instance_attributes id="n{i}-aa">{pairs}'
                                "</instance_attributes>", 1)
        return text

    # ---- primitives ------------------------------------------------------------------------

    def node_rule(self, rid: str) -> tuple[str, list[str]]:
        """A rule on #uname or site, and the nodes where it holds."""
        r = self.rnd
        if self.site and r.random() < 0.4:
            site = r.choice(["a", "b"])
            op = r.choice(["eq", "ne"])
            holds = [n for n in self.nodes if (self.site.get(n) == site) == (op == "eq")
                     and (op == "eq" or n in self.site)]
            return (f'<rule id="{rid}"><expression id="{rid}-e" attribute="site" '
                    f'operation="{op}" value="{site}"/></rule>', holds)
        node = r.choice(self.nodes)
        return (f'<rule id="{rid}"><expression id="{rid}-e" attribute="#uname" operation="eq" '
                f'value="{node}"/></rule>', [node])

    def meta_rule(self, rid: str) -> str:
        r = self.rnd
        draw = r.randint(0, 3)
        if draw == 0:
            return (f'<rule id="{rid}"><date_expression id="{rid}-d" operation="lt" '
                    f'end="{r.choice(["2001-01-01", "2090-06-01"])}"/></rule>')
        if draw == 1:
            return (f'<rule id="{rid}"><date_expression id="{rid}-d" operation="gt" '
                    f'start="{r.choice(["2001-01-01", "2090-06-01"])}"/></rule>')
        return self.node_rule(rid)[0]

    def primitive(self, rid: str, stateful: bool = False) -> cibgen.Prim:
        p = super().primitive(rid, stateful)
        r = self.rnd
        extra = _Extra()
        if self.chance(0.45, "ia-rule"):
            for k in range(r.choice([1, 1, 2])):
                rule, holds = self.node_rule(f"{rid}-ia{k}-r")
                score = str(r.choice([10, 100, -5, 0])) if self.chance(0.5, "ia-score") else None
                extra.ia_sets.append((f"ia{k}", score, rule, holds,
                                      {"fake": r.choice(["n1", "n2", "abc"])}))
            if r.random() < 0.5:
                p.params.setdefault("fake", r.choice(["1", "abc"]))
            extra.digest_node = self.chance(0.6, "ia-digest-node")
        if self.chance(0.4, "meta-sets"):
            for _ in range(r.choice([1, 1, 2])):
                score = str(r.choice([10, 100, -5, 0, 1000])) if r.random() < 0.7 else None
                rule = self.meta_rule(f"{rid}-ms{len(extra.meta_sets)}-r") \
                    if self.chance(0.5, "meta-rule") else None
                name, value = r.choice([
                    ("resource-stickiness", r.choice(["0", "100", "INFINITY", "-50"])),
                    ("priority", r.choice(["5", "50", "-10"])),
                    ("migration-threshold", r.choice(["1", "3"])),
                    ("target-role", r.choice(["Stopped", "Started", "Unpromoted"])),
                    ("is-managed", r.choice(["false", "true"])),
                ])
                extra.meta_sets.append((score, rule or "", {name: value}))
        if self.chance(0.4, "op-syntax"):
            extra.interval = r.choice(_INTERVALS_10S)
            extra.timeout = r.choice(_TIMEOUTS)
            p.monitor_timeout_ms = extra.timeout[1]
        if self.chance(0.08, "op-interval-changed"):
            extra.interval = r.choice(_OTHER_INTERVALS)
        if self.chance(0.12, "op-start-delay"):
            extra.start_delay = r.choice(["5s", "0", "1m", "junk"])
        if self.chance(0.1, "op-meta"):
            extra.op_meta_timeout = r.choice(["40s", "2m"])
        if not stateful and self.chance(0.2, "op-check-level"):
            extra.check_level = True
        if stateful and self.chance(0.3, "op-legacy-role"):
            extra.legacy_roles = True
        self.extra[rid] = extra
        return p

    def xml_prim(self, p: cibgen.Prim) -> str:
        extra = self.extra.get(p.rid)
        if extra is None or p.template:
            return super().xml_prim(p)
        sets = ""
        if p.params:
            sets = f'<instance_attributes id="{p.rid}-ia">' + "".join(
                f'<nvpair id="{p.rid}-ia-{k}" name="{k}" value={quoteattr(v)}/>'
                for k, v in p.params.items()) + "</instance_attributes>"
        for suffix, score, rule, _holds, params in extra.ia_sets:
            scored = f' score="{score}"' if score is not None else ""
            sets += (f'<instance_attributes id="{p.rid}-{suffix}"{scored}>{rule}' + "".join(
                f'<nvpair id="{p.rid}-{suffix}-{k}" name="{k}" value={quoteattr(v)}/>'
                for k, v in params.items()) + "</instance_attributes>")
        sets += self.xml_meta(p.rid, p.meta)
        for k, (score, rule, meta) in enumerate(extra.meta_sets):
            scored = f' score="{score}"' if score is not None else ""
            sets += (f'<meta_attributes id="{p.rid}-ms{k}"{scored}>{rule}' + "".join(
                f'<nvpair id="{p.rid}-ms{k}-{n}" name="{n}" value={quoteattr(v)}/>'
                for n, v in meta.items()) + "</meta_attributes>")
        if p.utilization:
            sets += f'<utilization id="{p.rid}-util">' + "".join(
                f'<nvpair id="{p.rid}-util-{k}" name="{k}" value="{v}"/>'
                for k, v in p.utilization.items()) + "</utilization>"
        mon = f' timeout="{extra.timeout[0]}"'
        if p.on_fail:
            mon += f' on-fail="{p.on_fail}"'
        if p.monitor_enabled:
            mon += f' enabled="{p.monitor_enabled}"'
        if extra.start_delay is not None:
            mon += f' start-delay="{extra.start_delay}"'
        inner = ""
        if extra.op_meta_timeout:
            inner = (f'<meta_attributes id="{p.rid}-mon-meta"><nvpair id="{p.rid}-mon-meta-t" '
                     f'name="timeout" value="{extra.op_meta_timeout}"/></meta_attributes>')
        ops = ""
        if p.start_on_fail:
            ops += (f'<op id="{p.rid}-start" name="start" interval="0" timeout="20s" '
                    f'on-fail="{p.start_on_fail}"/>')
        if p.stateful:
            promoted, unpromoted = ("Master", "Slave") if extra.legacy_roles else \
                ("Promoted", "Unpromoted")
            ops += (f'<op id="{p.rid}-mon-p" name="monitor" interval="10s" role="{promoted}" '
                    f'timeout="{extra.timeout[0]}">{inner}</op><op id="{p.rid}-mon-u" '
                    f'name="monitor" interval="11s" role="{unpromoted}"{mon}/>')
            agent = 'type="Stateful"'
        else:
            ops += (f'<op id="{p.rid}-mon" name="monitor" interval="{extra.interval[0]}"{mon}>'
                    f'{inner}</op>')
            agent = 'type="Dummy"'
        if extra.check_level:
            ops += (f'<op id="{p.rid}-mon-deep" name="monitor" interval="30s" timeout="40s">'
                    f'<instance_attributes id="{p.rid}-mon-deep-ia"><nvpair '
                    f'id="{p.rid}-mon-deep-level" name="OCF_CHECK_LEVEL" value="10"/>'
                    "</instance_attributes></op>")
        return (f'<primitive id="{p.rid}" class="ocf" provider="pacemaker" {agent}>{sets}'
                f"<operations>{ops}</operations></primitive>")

    # ---- status ----------------------------------------------------------------------------

    def node_params(self, p: cibgen.Prim, node: str) -> dict[str, str]:
        """The parameters p's agent sees on node: the sets whose rule holds there, the
        highest score first (unscored sets count 0, document order among equals), the first
        set naming a value giving it."""
        extra = self.extra.get(p.rid)
        params = dict(p.params)
        if extra is None or p.template:
            return params
        ranked = [(0, "base", params)] if params else []
        ranked += [(int(score or 0), suffix, values)
                   for suffix, score, _rule, holds, values in extra.ia_sets if node in holds]
        ranked.sort(key=lambda each: -each[0])
        merged: dict[str, str] = {}
        for _score, _suffix, values in ranked:
            for k, v in values.items():
                merged.setdefault(k, v)
        return merged

    def op(self, p: cibgen.Prim, key_id: str, task: str, interval_ms: int, rc: int, target: int,
           call: int, status: int = 0, digest: bool = True) -> str:
        extra = self.extra.get(p.rid)
        node = self.history_node
        if extra is None or not extra.digest_node or node is None:
            return super().op(p, key_id, task, interval_ms, rc, target, call, status, digest)
        saved = p.params
        p.params = self.node_params(p, node)
        try:
            return super().op(p, key_id, task, interval_ms, rc, target, call, status, digest)
        finally:
            p.params = saved

    def history(self, p: cibgen.Prim, node: str, fails: dict[str, str]) -> str:
        self.history_node = node
        try:
            text = super().history(p, node, fails)
        finally:
            self.history_node = None
        extra = self.extra.get(p.rid)
        if extra is None or not extra.check_level or f'"{p.rid}_monitor_10000"' not in text:
            return text
        # the deep monitor ran too: its digest with the check level (or, once in three,
        # without: as recorded before the level was configured)
        params = dict(self.node_params(p, node) if extra.digest_node else p.params)
        params["CRM_meta_timeout"] = "40000"
        if self.rnd.random() < 0.67:
            params["OCF_CHECK_LEVEL"] = "10"
        tkey = f"9:-1:0:{cibgen._UUID}"
        deep = (f'<lrm_rsc_op id="{p.rid}_monitor_30000" operation_key="{p.rid}_monitor_30000" '
                f'operation="monitor" crm-debug-origin="gen" crm_feature_set="3.16.1" '
                f'transition-key="{tkey}" transition-magic="0:0;{tkey}" exit-reason="" '
                f'call-id="9" rc-code="0" op-status="0" interval="30000" '
                f'last-rc-change="{cibgen._STAMP}" exec-time="0" queue-time="0" '
                f'op-digest="{cibgen._digest(params)}"/>')
        return text.replace("</lrm_resource>", deep + "</lrm_resource>", 1)

    # ---- defaults --------------------------------------------------------------------------

    def rsc_defaults_sets(self) -> str:
        r = self.rnd
        out = []
        for k in range(r.randint(1, 3)):
            score = f' score="{r.choice([1, 10, 100, -1])}"' if r.random() < 0.6 else ""
            rule = ""
            if self.chance(0.6, "rsc-expression"):
                attrs = r.choice([' class="ocf"', ' class="ocf" provider="pacemaker"',
                                  ' type="Stateful"', ' type="Dummy"', ' provider="heartbeat"',
                                  ' class="stonith"'])
                rule = (f'<rule id="rd{k}-r"><rsc_expression id="rd{k}-r-e"{attrs}/></rule>')
            name, value = r.choice([("resource-stickiness", r.choice(["0", "50", "INFINITY"])),
                                    ("migration-threshold", r.choice(["1", "2"])),
                                    ("priority", r.choice(["3", "-3"])),
                                    ("failure-timeout", r.choice(["3650d", "60s"])),
                                    ("is-managed", "false")])
            out.append(_one_pair_set(f"rd{k}", score, rule, name, value))
        self.features.add("rsc-defaults-sets")
        return "".join(out)

    def op_defaults_sets(self) -> str:
        r = self.rnd
        out = []
        for k in range(r.randint(1, 3)):
            score = f' score="{r.choice([1, 10, 100])}"' if r.random() < 0.5 else ""
            rule = ""
            if self.chance(0.7, "op-expression"):
                if r.random() < 0.7:
                    interval = r.choice(["", ' interval="10s"', ' interval="0"',
                                         ' interval="11s"', ' interval="30s"'])
                    expr = (f'<op_expression id="od{k}-r-e" name="{r.choice(["monitor", "start", "stop", "promote"])}"'
                            f'{interval}/>')
                else:
                    expr = f'<rsc_expression id="od{k}-r-e" type="{r.choice(["Dummy", "Stateful"])}"/>'
                rule = f'<rule id="od{k}-r">{expr}</rule>'
            name, value = r.choice([("timeout", r.choice(["30s", "45s", "2m"])),
                                    ("on-fail", r.choice(["block", "stop", "ignore", "restart"])),
                                    ("record-pending", "false"),
                                    ("timeout", "15s")])
            out.append(_one_pair_set(f"od{k}", score, rule, name, value))
        self.features.add("op-defaults-sets")
        return "".join(out)

    def build(self) -> str:
        text = super().build()
        if self.chance(0.6):
            sets = self.rsc_defaults_sets()
            if "<rsc_defaults>" in text:
                text = text.replace("<rsc_defaults>", "<rsc_defaults>" + sets, 1)
            else:
                text = text.replace("</configuration>", f"<rsc_defaults>{sets}</rsc_defaults>"
                                    "</configuration>", 1)
        if self.chance(0.5):
            sets = self.op_defaults_sets()
            if "<op_defaults>" in text:
                text = text.replace("<op_defaults>", "<op_defaults>" + sets, 1)
            else:
                text = text.replace("</configuration>", f"<op_defaults>{sets}</op_defaults>"
                                    "</configuration>", 1)
        return text

    # ---- constraints -----------------------------------------------------------------------

    def pattern(self) -> tuple[str, bool]:
        """An rsc-pattern over the generated ids (p0, g1, g1m0, c2p, ...), and whether it has
        submatches."""
        r = self.rnd
        choices = [("^p", False), ("^g[0-9]$", False), ("m[0-9]$", False), ("p$", False),
                   ("^[cm][0-9]+$", False), ("^([a-z])([0-9]+)$", True),
                   ("^(g|p)([0-9])", True), ("([a-z])$", True),
                   ("^[[:alpha:]][[:digit:]]$", False), ("[[:digit:]]m", False),
                   ("^[^[:digit:]]+[0-9]p$", False), ("!^p", False), ("!m", False)]
        pattern, subs = r.choice(choices)
        if "[:" in pattern:
            self.features.add("rsc-pattern-class")
        if pattern.startswith("!"):
            self.features.add("rsc-pattern-invert")
        return pattern, subs

    def xml_constraints(self) -> str:
        text = super().xml_constraints()
        r = self.rnd
        out = []
        for n in range(r.randint(0, 2)):
            pattern, subs = self.pattern()
            self.features.add("rsc-pattern")
            cid = f"pat{n}"
            if subs and self.chance(0.7, "rsc-pattern-submatch"):
                group = r.choice(["%1", "%2"])
                if r.random() < 0.5:
                    rule = (f'<rule id="{cid}-r" score-attribute="pref-{group}"><expression '
                            f'id="{cid}-r-e" attribute="pref-{group}" operation="defined"/></rule>')
                else:
                    rule = (f'<rule id="{cid}-r" score="{self.score()}"><expression id="{cid}-r-e" '
                            f'attribute="pref-{group}" operation="gt" type="integer" '
                            f'value="{r.choice(["0", "50"])}"/></rule>')
                out.append(f'<rsc_location id="{cid}" rsc-pattern="{pattern}">{rule}'
                           "</rsc_location>")
            else:
                out.append(f'<rsc_location id="{cid}" rsc-pattern="{pattern}" '
                           f'node="{r.choice(self.nodes)}" score="{self.score()}"/>')
        if len(self.top) >= 2 and self.chance(0.5, "coloc-node-attribute"):
            for n in range(r.randint(1, 2)):
                a, b = r.sample(self.top, 2)
                score = r.choice(["INFINITY", "-INFINITY", "100", "-100"])
                attr = r.choice(["site", "site", "#uname", "missing"])
                out.append(f'<rsc_colocation id="nacol{n}" rsc="{a}" with-rsc="{b}" '
                           f'score="{score}" node-attribute="{attr}"/>')
        return text + "".join(out)


generate = cibgen.generator(_AttrsGen)


if __name__ == "__main__":
    sys.exit(cibgen.main(sys.argv[1:], generate, __doc__))
