"""A seeded generator of random CIBs dense in location rules over node attributes and dates.

Why: tests/pengine/cibgen.py writes a location rule only as `#uname eq NODE`. Real clusters place
resources by rules over node attributes: the classic Heartbeat 2 connectivity rule (`pingd`
not defined or `lte 0` gives -INFINITY, `score-attribute="pingd"` prefers the better connected
node), sites and racks, versions, and rules that hold only in a date range. Their evaluation
(attribute types and comparisons, a missing attribute, `boolean-op`, nested rules, a
`score-attribute` whose value is not a number, date expressions and `date_spec`) decides where
everything runs. This generator reuses cibgen's whole model and adds:

- node attributes on every node, configured (`site`, `rack`, `weight`, `version`) and transient
  in the status section (`pingd`, sometimes also a configured `weight` overridden), each
  sometimes missing (tag `node-attrs`, `transient-attrs`);
- `rsc_location` constraints with 1-2 rules of 1-3 expressions each: every comparison
  (`eq ne lt gt lte gte defined not_defined`), value types (`string integer number version`
  or none; `version` only over the `version` attribute, whose values are versions:
  crm_simulate 2.1.5 loops for ever comparing a letter as a version), `boolean-op` and/or, a nested rule, `score` or `score-attribute`, `role` for
  promotable resources (tags `rule-expr`, `rule-type-*`, `rule-op-*`, `rule-or`,
  `rule-nested`, `score-attribute`, `rule-role`, `multi-rule`);
- date expressions far from today, so that the answer does not depend on when the case runs
  (`in_range` with start and/or end or a duration, `gt`, `lt`, `date_spec` with years or
  months, tag `rule-date`);
- the classic connectivity rule itself (tag `pingd-rule`);
- node health in a case of three (tag `node-health`): `node-health-strategy` and its scores as
  cluster options, `#health-*` transient attributes (colours and numbers), and
  `allow-unhealthy-nodes` on some primitives.

`generate(seed)` is pure and deterministic like cibgen's, with its own seed space.

    python tests/pengine/rulesgen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import sys
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from notifymigrategen import cibgen  # noqa: E402  (cibgen loaded once, as "pengine_cibgen")

_OPS = ("eq", "ne", "lt", "gt", "lte", "gte", "defined", "not_defined")
_TYPES = (None, "string", "integer", "number", "version")


class _RulesGen(cibgen._Gen):
    """cibgen's model plus node attributes and rule-based location constraints."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.node_attrs: dict[str, dict[str, str]] = {}
        self.transient: dict[str, dict[str, str]] = {}
        self.health = self.chance(0.3, "node-health")

    def options(self) -> list[tuple[str, str]]:
        opts = super().options()
        r = self.rnd
        if self.health:
            opts.append(("node-health-strategy", r.choice(["migrate-on-red", "only-green",
                                                           "progressive", "custom", "none"])))
            for name in ("node-health-red", "node-health-yellow", "node-health-green",
                         "node-health-base"):
                if r.random() < 0.25:
                    opts.append((name, r.choice(["-INFINITY", "-100", "0", "10", "junk"])))
        return opts

    def primitive(self, rid: str, stateful: bool = False):
        p = super().primitive(rid, stateful)
        if self.health and self.chance(0.2, "allow-unhealthy-nodes"):
            p.meta["allow-unhealthy-nodes"] = "true"
        return p

    def make_nodes(self) -> None:
        super().make_nodes()
        r = self.rnd
        for node in self.nodes:
            attrs: dict[str, str] = {}
            if r.random() < 0.85:
                attrs["site"] = r.choice(["a", "b", "B", "c"])
            if r.random() < 0.7:
                attrs["rack"] = r.choice(["1", "2", "10", "03", "-1"])
            if r.random() < 0.6:
                attrs["weight"] = r.choice(["0", "5", "100", "-50", "1.5", "INFINITY", "-INFINITY",
                                            "junk", "+20"])
            if r.random() < 0.6:
                attrs["version"] = r.choice(["2.1.5", "2.10", "2.9.9", "3", "10.0"])
            self.node_attrs[node] = attrs
            self.features.add("node-attrs")
            transient: dict[str, str] = {}
            if r.random() < 0.7:
                transient["pingd"] = r.choice(["0", "100", "200", "1000", "-5"])
            if "weight" in attrs and r.random() < 0.2:
                transient["weight"] = r.choice(["7", "-7", "200"])
            if self.health and r.random() < 0.6:
                for attr in r.sample(["#health-disk", "#health-cpu", "#health_mem"], 2):
                    if r.random() < 0.7:
                        transient[attr] = r.choice(["red", "yellow", "green", "-10", "20",
                                                    "Red"])
            if transient:
                self.features.add("transient-attrs")
            self.transient[node] = transient

    def xml_nodes(self) -> str:
        text = super().xml_nodes()
        for i, node in enumerate(self.nodes, 1):
            pairs = "".join(f'<nvpair id="n{i}-ra-{k}" name="{k}" value={quoteattr(v)}/>'
                            for k, v in self.node_attrs[node].items())
            if not pairs:
                continue
            head = f'<node id="{i}" uname="{node}">'
            text = text.replace(head, f'{head}<instance_attributes id="n{i}-ra">{pairs}'
                                "</instance_attributes>", 1)
        return text

    def xml_status(self) -> str:
        text = super().xml_status()
        for i, node in enumerate(self.nodes, 1):
            transient = self.transient[node]
            if not transient:
                continue
            pairs = "".join(f'<nvpair id="status-{i}-ra-{k}" name="{k}" value="{v}"/>'
                            for k, v in transient.items())
            inner = f'<instance_attributes id="status-{i}">'
            start = text.find(f'<node_state id="{i}" ')
            if start < 0:
                continue  # a node never seen has no status entry
            end = text.index("</node_state>", start)
            section = text[start:end]
            if inner in section:
                section = section.replace(inner, inner + pairs, 1)
            else:
                head_end = section.index(">") + 1
                section = (section[:head_end] + f'<transient_attributes id="{i}">{inner}{pairs}'
                           "</instance_attributes></transient_attributes>" + section[head_end:])
            text = text[:start] + section + text[end:]
        return text

    # ---- rules -----------------------------------------------------------------------------

    def expression(self, eid: str) -> str:
        r = self.rnd
        if self.chance(0.12, "rule-date"):
            return self.date_expression(eid)
        attribute = r.choice(["site", "rack", "weight", "version", "pingd", "#uname", "#id",
                              "missing"])
        op = r.choice(_OPS)
        self.features.add("rule-expr")
        self.features.add(f"rule-op-{op}")
        if op in ("defined", "not_defined"):
            return f'<expression id="{eid}" attribute="{attribute}" operation="{op}"/>'
        kind = r.choice(_TYPES)
        if kind == "version" and attribute != "version":
            # crm_simulate 2.1.5 never returns from compare_version on a value that is not
            # a version (strtol stops at a letter and the loop does not advance)
            kind = "string"
        typed = ""
        if kind is not None:
            typed = f' type="{kind}"'
            self.features.add(f"rule-type-{kind}")
        value = {
            "site": lambda: r.choice(["a", "b", "A"]),
            "rack": lambda: r.choice(["1", "2", "3", "10"]),
            "weight": lambda: r.choice(["0", "5", "50", "1.5", "-10"]),
            "version": lambda: r.choice(["2.1", "2.9", "2.10.0", "3.0"]),
            "pingd": lambda: r.choice(["0", "100", "150"]),
            "#uname": lambda: r.choice(self.nodes),
            "#id": lambda: str(r.randint(1, len(self.nodes))),
            "missing": lambda: "x",
        }[attribute]()
        return (f'<expression id="{eid}" attribute="{attribute}" operation="{op}"'
                f'{typed} value="{value}"/>')

    def date_expression(self, eid: str) -> str:
        r = self.rnd
        draw = r.randint(0, 5)
        past, future = f"{r.randint(1990, 2015)}-0{r.randint(1, 9)}-1{r.randint(0, 9)}", \
            f"{r.randint(2040, 2090)}-1{r.randint(0, 2)}-2{r.randint(0, 8)}"
        if draw == 0:
            return (f'<date_expression id="{eid}" operation="in_range" start="{past}" '
                    f'end="{r.choice([past, future])}"/>')
        if draw == 1:
            return f'<date_expression id="{eid}" operation="in_range" start="{r.choice([past, future])}"/>'
        if draw == 2:
            return (f'<date_expression id="{eid}" operation="in_range" start="{past}">'
                    f'<duration id="{eid}-d" years="{r.choice(["1", "100"])}"/></date_expression>')
        if draw == 3:
            return f'<date_expression id="{eid}" operation="gt" start="{r.choice([past, future])}"/>'
        if draw == 4:
            return f'<date_expression id="{eid}" operation="lt" end="{r.choice([past, future])}"/>'
        years = r.choice(["2000-2100", "1990-2000", "2020-"])
        return (f'<date_expression id="{eid}" operation="date_spec"><date_spec id="{eid}-s" '
                f'years="{years}"/></date_expression>')

    def rule(self, rid: str, top: bool, name: str) -> str:
        r = self.rnd
        attrs = ""
        if top:
            if self.chance(0.25, "score-attribute"):
                attrs += f' score-attribute="{r.choice(["pingd", "weight", "rack", "missing"])}"'
            else:
                attrs += f' score="{self.score()}"'
            if self.kind.get(name) == "promotable" and self.chance(0.3, "rule-role"):
                attrs += f' role="{r.choice(["Promoted", "Unpromoted", "Started"])}"'
        count = r.randint(1, 3)
        if count > 1 and self.chance(0.4, "rule-or"):
            attrs += ' boolean-op="or"'
        elif count > 1 and r.random() < 0.3:
            attrs += ' boolean-op="and"'
        body = [self.expression(f"{rid}-e{k}") for k in range(count)]
        if top and self.chance(0.15, "rule-nested"):
            body.append(self.rule(f"{rid}-n", False, name))
        return f'<rule id="{rid}"{attrs}>{"".join(body)}</rule>'

    def pingd_rule(self, cid: str, name: str) -> str:
        """The connectivity rule of Heartbeat 2's documentation."""
        self.features.add("pingd-rule")
        if self.rnd.random() < 0.5:
            return (f'<rsc_location id="{cid}" rsc="{name}"><rule id="{cid}-r" score="-INFINITY" '
                    f'boolean-op="or"><expression id="{cid}-e1" attribute="pingd" '
                    f'operation="not_defined"/><expression id="{cid}-e2" attribute="pingd" '
                    f'operation="lte" value="0"/></rule></rsc_location>')
        return (f'<rsc_location id="{cid}" rsc="{name}"><rule id="{cid}-r" '
                f'score-attribute="pingd"><expression id="{cid}-e1" attribute="pingd" '
                f'operation="defined"/></rule></rsc_location>')

    def xml_constraints(self) -> str:
        text = super().xml_constraints()
        r = self.rnd
        out = []
        for n in range(r.randint(1, 4)):
            name = r.choice(self.top)
            cid = f"rloc{n}"
            if r.random() < 0.15:
                out.append(self.pingd_rule(cid, name))
                continue
            rules = [self.rule(f"{cid}-r{k}", True, name) for k in range(r.choice([1, 1, 2]))]
            if len(rules) > 1:
                self.features.add("multi-rule")
            out.append(f'<rsc_location id="{cid}" rsc="{name}">{"".join(rules)}</rsc_location>')
        return text + "".join(out)


generate = cibgen.generator(_RulesGen)


if __name__ == "__main__":
    sys.exit(cibgen.main(sys.argv[1:], generate, __doc__))
