"""Node health: node attributes named "#health..." (set by health agents such as
ocf:pacemaker:HealthCPU) turned into location scores by `node-health-strategy`.

- none: health attributes mean nothing;
- migrate-on-red: a red attribute scores -INFINITY (resources leave the node), others 0;
- only-green: red and yellow score -INFINITY;
- progressive / custom: the colours score node-health-red/-yellow/-green, integers count as
  themselves, and (progressive only) node-health-base is added.

A node's summed score, when not 0, becomes a location constraint of every resource on it
(but a negative one spares resources with allow-unhealthy-nodes=true). The status display
marks nodes with a red or yellow attribute. A port of Pacemaker 2.1.5's lib/pengine/pe_health.c,
pcmk__parse_health_strategy (lib/common/health.c) and pcmk__apply_node_health
(lib/pacemaker/pcmk_sched_nodes.c).
"""

from __future__ import annotations

from core import lazyre as re
from core.cib.scores import INFINITY, add_scores, parse_score
from pengine import model as m
from pengine.model import Node, WorkingSet
from pengine.unpack import is_true, new_location

NONE, NO_RED, ONLY_GREEN, PROGRESSIVE, CUSTOM = ("none", "migrate-on-red", "only-green",
                                                  "progressive", "custom")
_STRATEGIES = (NONE, NO_RED, ONLY_GREEN, PROGRESSIVE, CUSTOM)
# patterns as text, compiled by re (and cached there) on first use: most runs of hb simulate
# never use them, and compiling them all at import cost 0.1 ms
_NUMBER = r"\s*([-+]?\d+|[-+]?INFINITY)\s*"


def strategy(ws: WorkingSet) -> str:
    """pcmk__parse_health_strategy (case-insensitive; an unknown value means none)."""
    value = (ws.node_health_strategy or NONE).lower()
    return value if value in _STRATEGIES else NONE


def check_strategy(ws: WorkingSet) -> None:
    """The configuration error pcmk__parse_health_strategy logs for an unknown strategy."""
    value = ws.node_health_strategy or NONE
    if value.lower() not in _STRATEGIES:
        ws.warnings.append(f'Using default of "none" for node-health-strategy because '
                           f"'{value}' is not a valid value")


def _option_score(ws: WorkingSet, name: str, default: str, colours: tuple[int, int, int]) -> int:
    """pe__health_score: char2score of a cluster option (pcmk__valid_number, else default)."""
    value = ws.config.get(name)
    if value is None or re.fullmatch(_NUMBER, value, re.IGNORECASE) is None:
        value = default
    return parse_score(value, *colours)


def colour_scores(ws: WorkingSet) -> tuple[int, int, int]:
    """pe__unpack_node_health_scores: the scores of red, yellow and green."""
    kind = strategy(ws)
    if kind == NONE:
        return 0, 0, 0
    if kind == NO_RED:
        return -INFINITY, 0, 0
    if kind == ONLY_GREEN:
        return -INFINITY, -INFINITY, 0
    # progressive or custom; Pacemaker reads these with the colour scores still at 0
    zero = (0, 0, 0)
    return (_option_score(ws, "node-health-red", "-INFINITY", zero),
            _option_score(ws, "node-health-yellow", "0", zero),
            _option_score(ws, "node-health-green", "0", zero))


def sum_node_health(node: Node, base: int, colours: tuple[int, int, int]) -> int:
    """pe__sum_node_health_scores."""
    total = base
    for name, value in node.attrs.items():
        if name.startswith("#health"):
            total = add_scores(parse_score(value, *colours), total)
    return total


def node_health(ws: WorkingSet, node: Node) -> int:
    """pe__node_health: -1 (red), 0 (yellow) or 1 (green, or no strategy)."""
    if strategy(ws) == NONE:
        return 1
    red, yellow, green = colours = colour_scores(ws)
    result = 1
    for name, value in node.attrs.items():
        if not name.startswith("#health"):
            continue
        low = value.lower()
        if low == "red":
            return -1
        if low == "yellow":
            result = 0
            continue
        score = parse_score(value, *colours)
        if score <= red:
            return -1
        if score <= yellow and yellow != green:
            result = 0
    return result


def apply_node_health(ws: WorkingSet) -> None:
    """pcmk__apply_node_health: each node's health score as a location score of every
    resource (after unpacking, before the configured constraints)."""
    check_strategy(ws)
    kind = strategy(ws)
    if kind == NONE:
        return
    colours = colour_scores(ws)
    base = _option_score(ws, "node-health-base", "0", colours) if kind == PROGRESSIVE else 0
    for node in ws.nodes:
        health = sum_node_health(node, base, colours)
        if health == 0:
            continue
        for rsc in ws.resources:
            if health < 0 and is_true(rsc.meta.get("allow-unhealthy-nodes")):
                continue
            new_location(ws, ws.node_health_strategy, rsc, health, m.DISCOVER_ALWAYS, node)

