"""The transition as a dot(1) graph: `hb simulate -D FILE [-a]`, crm_simulate's `--save-dotfile`.

Users render it (`dot -Tsvg`) to see why an action waits for another. The text is Pacemaker
2.1.5's `write_sim_dotfile` (lib/pacemaker/pcmk_simulate.c), byte for byte, so that a file from
either tool reads the same and Pacemaker's own regression files compare:

- One node per action, newest first (the order of `data_set->actions`, which Pacemaker
  prepends to): bold green when in the graph, red/purple on an unmanaged resource, blue when
  optional, red when required but unrunnable; pseudo actions in an orange font. Without
  `--all-actions`, unmanaged and optional ones are left out.
- One edge per ordering input of each action, in the inputs' order once the graph was built
  (sorted by action id, merged: `pcmk__deduplicate_action_inputs`): bold when the graph holds
  it, dashed otherwise; an ordering the graph writer set aside (`pe_order_none`) is left out,
  and without `--all-actions` so is an optional one (not both ends written, or a load order).

Pacemaker marks every action it writes as dumped while writing, which decides whether an edge
between two written actions is optional; the set `written` plays that part here, so the
working set is left as the graph writer made it.
"""

from __future__ import annotations

from pengine import model as m
from pengine.model import A_DUMPED, A_OPTIONAL, A_PSEUDO, Action, WorkingSet


def action_name(action: Action) -> str:
    """create_action_name, not verbose: how an action is labelled in the dot graph."""
    host = action.node.uname if action.node is not None else (
        None if action.flags & A_PSEUDO else "<none>")
    prefix, task = "", action.task
    if action.task == "cancel":
        prefix, task = "Cancel ", action.cancel_task or ""
    clone_name = action.rsc.clone_name if action.rsc is not None else None
    if clone_name is not None:
        if action.task.lower() in ("notify", "notified"):
            key = (f"{clone_name}_{action.meta.get('notify_key_type')}_notify_"
                   f"{action.meta.get('notify_key_operation')}_0")
        else:
            interval = action.meta.get("interval", "0")
            key = f"{clone_name}_{task}_{int(interval) if interval.isdigit() else 0}"
        return f"{prefix}{key} {host}" if host is not None else f"{prefix}{key}"
    if action.task.lower() == "stonith":
        return f"{prefix}{action.task} '{action.meta.get('stonith_action', '(null)')}' {host or '(null)'}"
    if action.rsc is not None and host is not None:
        return f"{prefix}{action.uuid} {host}"
    if host is not None:
        return f"{prefix}{action.task} {host}"
    return action.uuid


def dot_text(ws: WorkingSet, all_actions: bool = False) -> str:
    """The dot file of a scheduled working set (after `create_graph`)."""
    lines = [' digraph "g" {']
    written: set[int] = set()
    newest_first = list(reversed(ws.actions))
    for action in newest_first:
        style, font, color = "dashed", "black", "black"
        if action.flags & A_PSEUDO:
            font = "orange"
        if action.flags & A_DUMPED:
            style, color = "bold", "green"
        elif action.rsc is not None and not action.rsc.managed:
            color, font = "red", "purple"
            if not all_actions:
                continue
        elif action.flags & A_OPTIONAL:
            color = "blue"
            if not all_actions:
                continue
        else:
            color = "red"  # required but unrunnable
        written.add(id(action))
        lines.append(f'"{action_name(action)}" [ style={style} color="{color}" fontcolor="{font}"]')
    for action in newest_first:
        for wrapper in action.before:
            first, otype = wrapper[0], wrapper[1]
            style, optional = "dashed", True
            if len(wrapper) > 2 and wrapper[2]:  # pe_link_dumped: the graph holds this input
                style, optional = "bold", False
            elif otype == m.O_NONE:
                continue
            elif id(first) in written and id(action) in written and otype != m.O_LOAD:
                optional = False
            if all_actions or not optional:
                lines.append(f'"{action_name(first)}" -> "{action_name(action)}" [ style = {style}]')
    lines.append("}")
    return "\n".join(lines) + "\n"
