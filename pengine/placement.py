"""What a scheduled working set says about where resources run, for `hb simulate --json` and for
the simulator's check that a settled cluster runs exactly what the policy engine computes."""

from __future__ import annotations

from pengine.model import A_PSEUDO, CLONE, PRIMITIVE, WorkingSet


def placement(ws: WorkingSet) -> dict[str, object]:
    """Where each primitive runs (the revised state): node, null, or sorted list for clones."""
    out: dict[str, object] = {}

    def visit(rsc, cloned: bool) -> None:
        if rsc.variant == PRIMITIVE:
            ident = rsc.xml.get("id") or rsc.id
            nodes = [n.uname for n in rsc.running_on]
            if cloned:
                current = out.get(ident) or []
                assert isinstance(current, list)
                out[ident] = sorted(set(current) | set(nodes))
            elif ident in out and out[ident] is not None:
                pass
            else:
                out[ident] = (nodes[0] if len(nodes) == 1 else
                              (sorted(nodes) if nodes else None))
            return
        for child in rsc.children:
            visit(child, cloned or rsc.variant == CLONE)
    for rsc in ws.resources:
        if rsc.orphan:
            continue
        visit(rsc, False)
    return out


def transition_actions(ws: WorkingSet) -> list[str]:
    keep = {"start", "stop", "promote", "demote", "migrate_to", "migrate_from"}
    out = []
    assert ws.graph is not None
    for syn in ws.graph.synapses:
        action = syn.action
        if action.rsc is None or action.node is None or action.flags & A_PSEUDO:
            continue
        if action.task not in keep:
            continue
        ident = action.rsc.xml.get("id") or action.rsc.id
        out.append(f"{ident}_{action.task}_{action.node.uname}")
    return sorted(out)
