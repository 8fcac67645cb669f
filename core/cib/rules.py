"""CIB rules and name/value sets, evaluated as Pacemaker evaluates them.

A `rule` holds expressions (node attribute tests, date tests, resource/operation tests, nested
rules) joined by `boolean-op` (and by default). Sets of nvpairs (`meta_attributes`,
`instance_attributes`, `cluster_property_set`, ...) are applied highest `score` first, a set
applies only if its rule passes, and the first value set for a name wins unless the caller
asks for overwriting. `value="#default"` removes an earlier value. `id-ref` elements are
resolved against the whole document.
"""

from __future__ import annotations

from core.ctools import Record, field

from core import datetimes as _dt
from core import lazyre as re
from core.cib import dates
from core.cib.durations import parse_interval_spec
from core.cib.scores import leading_int, parse_score
from core.cib.xmltree import XNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Callable, Iterable, Optional

    Lookup = Callable[[str], Optional[str]]


class RuleContext:
    """What a rule may look at: node attributes, "now", the resource and operation at hand.

    `submatches` are the regular-expression groups of a location's rsc-pattern; `next_change`
    collects the earliest future times at which a date expression's outcome changes (recheck-by).
    `rsc_known` says the resource's class, provider and type were given (Pacemaker passes them
    only where meta attributes and operation settings are read: an `rsc_expression` anywhere
    else is false); an `op_expression` is false unless `op_name` is given.
    A plain slotted class, not a dataclass: importing dataclasses costs more than a small
    scheduling run.
    """

    __slots__ = ("now", "node_attrs", "role", "rsc_known", "rsc_class", "rsc_provider", "rsc_type",
                 "op_name", "op_interval_ms", "params", "meta", "submatches", "next_change")

    def __init__(self, *, now: Optional[_dt.datetime] = None,
                 node_attrs: Optional[dict[str, str]] = None, role: Optional[str] = None,
                 rsc_known: bool = False,
                 rsc_class: Optional[str] = None, rsc_provider: Optional[str] = None,
                 rsc_type: Optional[str] = None, op_name: Optional[str] = None,
                 op_interval_ms: Optional[int] = None, params: Optional[dict[str, str]] = None,
                 meta: Optional[dict[str, str]] = None,
                 submatches: Optional[tuple[str, ...]] = None,
                 next_change: Optional[list[_dt.datetime]] = None) -> None:
        self.now = now
        self.node_attrs = node_attrs
        self.role = role
        self.rsc_known = rsc_known
        self.rsc_class = rsc_class
        self.rsc_provider = rsc_provider
        self.rsc_type = rsc_type
        self.op_name = op_name
        self.op_interval_ms = op_interval_ms
        self.params = params
        self.meta = meta
        self.submatches = submatches
        self.next_change = next_change if next_change is not None else []


class IdIndex:
    """id -> element for `id-ref` resolution; built once per document."""

    def __init__(self, root: Optional[XNode]) -> None:
        self.by_id: dict[str, XNode] = {}
        if root is not None:
            for node in root.iter():
                ident = node.get("id")
                if ident is not None and ident not in self.by_id:
                    self.by_id[ident] = node

    def resolve(self, node: XNode) -> XNode:
        ref = node.get("id-ref")
        if ref is None:
            return node
        return self.by_id.get(ref, node)


# resolves nothing: the index of a working set before its configuration is unpacked
NO_INDEX = _NO_INDEX = IdIndex(None)


def _scan_ll(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    return leading_int(text)


# (a pattern, compiled by its first use: a module-level re.compile would load `re` at start-up)
_STRTOD = (r"\s*([+-]?)(?:(0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?)"
           r"|([iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)"
           r"|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))")
_DBL_MIN = 2.2250738585072014e-308


def _scan_double(text: Optional[str]) -> Optional[float]:
    """pcmk__scan_double: what strtod reads at the start of the text (a sign, then a decimal
    or hexadecimal number, `inf`, `infinity` or `nan` in any case; what follows is ignored),
    None when it reads nothing or the value overflows or underflows (a comparison then falls
    back to comparing the texts). So a node attribute `-INFINITY` is minus infinity here."""
    if text is None:
        return None
    match = re.match(_STRTOD, text)
    if match is None:
        return None
    sign, hexa, word, decimal = match.groups()
    if hexa is not None:
        try:
            value = float.fromhex(hexa if "p" in hexa.lower() else hexa + "p0")
        except OverflowError:
            return None
    elif word is not None:
        value = float("nan") if word.lower().startswith("nan") else float("inf")
    else:
        value = float(decimal)
        if value == float("inf"):
            return None  # ERANGE: overflow
        if value != 0 and abs(value) <= _DBL_MIN:
            return None  # underflow
        if value == 0 and any(ch not in "0.eE+-" for ch in decimal):
            return None  # a non-zero text read as 0: underflow
    return -value if sign == "-" else value


def compare_versions(a: str, b: str) -> int:
    def parts(text: str) -> list[int]:
        out = []
        for word in text.split("."):
            number = _scan_ll(word)
            out.append(number if number is not None else 0)
        return out
    pa, pb = parts(a), parts(b)
    length = max(len(pa), len(pb))
    pa += [0] * (length - len(pa))
    pb += [0] * (length - len(pb))
    return (pa > pb) - (pa < pb)


def _compare(left: Optional[str], right: Optional[str], kind: Optional[str], op: str) -> int:
    if left is not None and right is not None:
        if kind is None:
            if op in ("lt", "lte", "gt", "gte"):
                kind = "number" if ("." in left or "." in right) else "integer"
            else:
                kind = "string"
        kind = kind.lower()
        if kind == "integer":
            a, b = _scan_ll(left), _scan_ll(right)
            if a is not None and b is not None:
                return (a > b) - (a < b)
            kind = "string"
        elif kind == "number":
            x, y = _scan_double(left), _scan_double(right)
            if x is not None and y is not None:
                return (x > y) - (x < y)
            kind = "string"
        elif kind == "version":
            return compare_versions(left, right)
        if kind == "string":
            a_low, b_low = left.lower(), right.lower()
            return (a_low > b_low) - (a_low < b_low)
        return 0
    if left is None and right is None:
        return 0
    return 1 if right is None else -1


def accept_attribute(left: Optional[str], right: Optional[str], kind: Optional[str],
                     op: str) -> bool:
    op = op.lower()
    if op == "defined":
        return left is not None
    if op == "not_defined":
        return left is None
    cmp = _compare(left, right, kind, op)
    if op == "eq":
        return cmp == 0
    if op == "ne":
        return cmp != 0
    if left is None or right is None:
        return False
    return {"lt": cmp < 0, "lte": cmp <= 0, "gt": cmp > 0, "gte": cmp >= 0}.get(op, False)


def _expand_submatches(text: str, submatches: Optional[tuple[str, ...]]) -> str:
    if not submatches or "%" not in text:
        return text

    def repl(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return submatches[index] if index < len(submatches) else ""
    return re.sub(r"%(\d)", repl, text)


class RuleEvaluator:
    """Evaluates rules against a RuleContext; unsupported expression kinds are collected."""

    def __init__(self, ids: IdIndex = _NO_INDEX) -> None:
        self.ids = ids
        self.unsupported: list[str] = []

    def rules_pass(self, parent: XNode, ctx: RuleContext) -> bool:
        """pe_eval_rules: no `rule` children passes; otherwise any passing rule passes."""
        found = False
        for child in parent.children:
            if child.tag != "rule":
                continue
            found = True
            if self.rule_passes(child, ctx):
                return True
        return not found

    def rule_passes(self, rule: XNode, ctx: RuleContext) -> bool:
        rule = self.ids.resolve(rule)
        do_and = (rule.get("boolean-op") or "and").lower() != "or"
        empty = True
        for expr in rule.children:
            empty = False
            passed = self._subexpr(expr, ctx)
            if passed and not do_and:
                return True
            if not passed and do_and:
                return False
        if empty:
            return do_and
        return do_and

    def _subexpr(self, expr: XNode, ctx: RuleContext) -> bool:
        tag = expr.tag
        if tag == "rule":
            return self.rule_passes(expr, ctx)
        if tag == "date_expression":
            return self._date(expr, ctx) == 0
        if tag == "rsc_expression":
            return self._rsc(expr, ctx)
        if tag == "op_expression":
            return self._op(expr, ctx)
        if tag != "expression":
            self.unsupported.append(f"rule element <{tag}>")
            return False
        attr = expr.get("attribute")
        if attr == "#role":
            return self._role(expr, ctx)
        return self._attr(expr, ctx)

    def _attr(self, expr: XNode, ctx: RuleContext) -> bool:
        attr = expr.get("attribute")
        op = expr.get("operation")
        if attr is None or op is None:
            return False
        attr = _expand_submatches(attr, ctx.submatches)
        value = expr.get("value")
        source = (expr.get("value-source") or "literal").lower()
        if not value:
            value = None
        elif source in ("param", "meta"):
            # the value names a resource parameter or meta-attribute; unknown -> no value
            table = ctx.params if source == "param" else ctx.meta
            value = None if table is None else table.get(value)
        if ctx.node_attrs is None:
            # pe_eval_subexpr: an attribute expression "can never succeed if there is no node
            # to compare with" (a resource's meta attributes, cluster options), even
            # `not_defined` or `ne`
            return False
        return accept_attribute(ctx.node_attrs.get(attr), value, expr.get("type"), op)

    def _role(self, expr: XNode, ctx: RuleContext) -> bool:
        op = (expr.get("operation") or "").lower()
        value = expr.get("value")
        if ctx.role is None:
            return False
        if op == "defined":
            return ctx.role != "Unknown"
        if op == "not_defined":
            return ctx.role == "Unknown"
        if op == "eq":
            return ctx.role == value
        if op == "ne":
            # Pacemaker: "ne" on a non-promotable resource's role is always false
            return ctx.role != "Unknown" and ctx.role != value
        return False

    def _rsc(self, expr: XNode, ctx: RuleContext) -> bool:
        """pe__eval_rsc_expr: class and type compared when given, the provider always (an
        expression without one matches only a resource without one: `class="ocf"` alone
        never matches an OCF agent)."""
        if not ctx.rsc_known:
            return False
        want = expr.get("class")
        if want is not None and want != ctx.rsc_class:
            return False
        if expr.get("provider") != ctx.rsc_provider:
            return False
        want = expr.get("type")
        return want is None or want == ctx.rsc_type

    def _op(self, expr: XNode, ctx: RuleContext) -> bool:
        """pe__eval_op_expr: the name compared always, the interval when given (one that does
        not parse fails the expression)."""
        if ctx.op_name is None or expr.get("name") != ctx.op_name:
            return False
        interval = expr.get("interval")
        if interval is not None:
            spec = parse_interval_spec(interval)
            if spec is None or spec != (ctx.op_interval_ms or 0):
                return False
        return True

    def _date(self, expr: XNode, ctx: RuleContext) -> int:
        """0 within range, -1 before, 1 after, 2 undetermined (all but 0 fail)."""
        now = ctx.now
        if now is None:
            return 2
        op = (expr.get("operation") or "in_range").lower()
        try:
            start = dates.parse_date(expr.get("start")) if expr.get("start") else None
            end = dates.parse_date(expr.get("end")) if expr.get("end") else None
            duration = expr.find("duration")
            if start is not None and end is None and duration is not None:
                fields = {k: _scan_ll(duration.get(k)) or 0
                          for k in ("years", "months", "weeks", "days", "hours", "minutes",
                                    "seconds")}
                end = dates.add_duration(start, **fields)
        except (dates.DateError, ValueError):
            return 2
        if op == "in_range":
            if start is None and end is None:
                return 2
            if start is not None and now < start:
                ctx.next_change.append(start)
                return -1
            if end is not None and now > end:
                return 1
            if end is not None:
                ctx.next_change.append(end + _dt.timedelta(seconds=1))
            return 0
        if op == "gt":
            if start is None:
                return 2
            if now > start:
                return 0
            ctx.next_change.append(start + _dt.timedelta(seconds=1))
            return -1
        if op == "lt":
            if end is None:
                return 2
            if now < end:
                ctx.next_change.append(end)
                return 0
            return 1
        if op == "date_spec":
            spec = expr.find("date_spec")
            return 2 if spec is None else cron_satisfied(now, spec)
        return 2


def _check_one(spec: XNode, name: str, value: int) -> int:
    text = spec.get(name)
    if text is None:
        return 0
    bounds = dates.parse_range(text)
    if bounds is None:
        return 2
    low, high = bounds
    if low == high or (low != -1 and high != -1):
        return -1 if value < low else 1 if value > high else 0
    if low == -1:
        return 0 if value <= high else 1
    return 0 if value >= low else -1


def cron_satisfied(now: _dt.datetime, spec: XNode) -> int:
    utc = now.astimezone(dates.UTC) if now.tzinfo else now
    iso_year, iso_week, iso_day = utc.isocalendar()
    checks = (("years", utc.year), ("months", utc.month), ("monthdays", utc.day),
              ("hours", utc.hour), ("minutes", utc.minute), ("seconds", utc.second),
              ("yeardays", utc.timetuple().tm_yday), ("weekyears", iso_year),
              ("weeks", iso_week), ("weekdays", iso_day), ("moon", dates.moon_phase(utc)))
    for name, value in checks:
        result = _check_one(spec, name, value)
        if result != 0:
            return result
    return 0


class NvSet(Record):
    """One set of nvpairs (`element`, id-ref resolved), its id and its score. (A named tuple
    without `collections`: core/ctools.py says why.)"""

    __slots__ = ()
    _fields = ("element", "ident", "score")

    def __new__(cls, element: XNode, ident: str, score: int) -> "NvSet":
        return tuple.__new__(cls, (element, ident, score))

    element = field(0, "the set's element, id-ref resolved")
    ident = field(1, "its id")
    score = field(2, "its score")


def collect_sets(parent: Optional[XNode], set_tag: str, ids: IdIndex,
                 first_id: Optional[str] = None) -> list[NvSet]:
    """The `set_tag` children of `parent`, id-refs resolved, sorted as Pacemaker sorts them."""
    if parent is None:
        return []
    sets: list[NvSet] = []
    for child in parent.children:
        if child.tag != set_tag:
            continue
        real = ids.resolve(child)
        sets.append(NvSet(real, real.get("id") or "", parse_score(real.get("score"))))
    # make_pairs prepends each set, then sorts stably: the `first_id` set first, then higher
    # score first, and among equal scores the LAST in document order first (so it wins)
    sets.reverse()
    sets.sort(key=lambda s: (0 if first_id is not None and s.ident == first_id else 1, -s.score))
    return sets


def unpack_nvpairs(parent: Optional[XNode], set_tag: str, ctx: Optional[RuleContext],
                   ids: IdIndex, into: Optional[dict[str, str]] = None,
                   overwrite: bool = False, first_id: Optional[str] = None,
                   evaluator: Optional[RuleEvaluator] = None) -> dict[str, str]:
    """Merge all applicable `set_tag` sets under `parent` into a dict (pe__unpack_dataset_nvpairs)."""
    result = {} if into is None else into
    if parent is None or parent.find(set_tag) is None:
        return result  # most elements have no such set: no evaluator, no sorting
    evaluator = evaluator or RuleEvaluator(ids)
    for nvset in collect_sets(parent, set_tag, ids, first_id):
        if ctx is not None and not evaluator.rules_pass(nvset.element, ctx):
            continue
        if ctx is None and nvset.element.find("rule") is not None:
            continue
        populate(nvset.element, result, overwrite, ids)
    return result


def populate(nvset: XNode, into: dict[str, str], overwrite: bool, ids: IdIndex) -> None:
    container = nvset
    if nvset.children and nvset.children[0].tag == "attributes":
        container = nvset.children[0]
    for pair in container.children:
        if pair.tag != "nvpair":
            continue
        ref = ids.resolve(pair)
        name = pair.get("name") or ref.get("name")
        value = pair.get("value")
        if value is None:
            value = ref.get("value")
        if name is None or value is None:
            continue
        if value.lower() == "#default":
            into.pop(name, None)
        elif name not in into or overwrite:
            into[name] = value


def first_rule_score(rule: XNode, node_attrs: Optional[dict[str, str]],
                     colours: tuple[int, int, int] = (0, 0, 0)) -> int:
    """Score of a location rule: `score`, or the node attribute named by `score-attribute`
    (`colours`: what red, yellow and green score, node-health-strategy's)."""
    if rule.get("score") is not None:
        return parse_score(rule.get("score"), *colours)
    attr = rule.get("score-attribute")
    if attr is not None and node_attrs is not None:
        return parse_score(node_attrs.get(attr), *colours)
    return 0


def iter_rules(parent: XNode) -> Iterable[XNode]:
    return (child for child in parent.children if child.tag == "rule")

