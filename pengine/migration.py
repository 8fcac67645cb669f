"""Live migration (`allow-migrate=true`), scheduled as Pacemaker 2.1.5 does
(lib/pacemaker/pcmk_sched_migration.c).

A resource that may migrate and moves is not stopped and started: `migrate_to` runs on the
source, then `migrate_from` on the target, then the stop on the source; the start on the target
becomes a pseudo action (nothing runs) that still orders what depends on it. Both agent actions
carry `migrate_source` and `migrate_target` (the agent sees OCF_RESKEY_CRM_meta_migrate_*). A
partial migration (migrate_to done, migrate_from not yet) continues with only migrate_from if
the target is still the chosen node; a dangling one (both done, the stop on the source not)
gets that stop. Orderings between resources are copied onto the migration actions
(`order_migration_equivalents`, in pengine.actions next to `new_ordering`, which calls it for
every new ordering), so "A then B" still holds when either migrates.

Reading the history (completed, partial, dangling and failed migrations) is `pengine.status`.
"""

from __future__ import annotations

from core.cib.status import op_key
from pengine import actions as act
from pengine import model as m
from pengine.model import A_MIGRATE_RUNNABLE, A_PSEUDO, Action, Node, Resource, WorkingSet

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


def _add_migration_meta(action: Action, source: Node, target: Node) -> None:
    action.meta.setdefault("migrate_source", source.uname)
    action.meta.setdefault("migrate_target", target.uname)


def create_migration_actions(ws: WorkingSet, rsc: Resource, current: Node) -> None:
    """pcmk__create_migration_actions: migrate_to (unless already done) and migrate_from in
    place of the stop/start pair, which stay as orderings (the start as a pseudo action)."""
    target = rsc.allocated_to
    assert target is not None
    start = act.start_action(ws, rsc, target, True)
    stop = act.stop_action(ws, rsc, current, True)
    partial = rsc.partial_migration_target is not None
    migrate_to: Optional[Action] = None
    if not partial:
        migrate_to = act.custom_action(ws, rsc, op_key(rsc.id, "migrate_to", 0), "migrate_to",
                                       current, True, True)
    migrate_from = act.custom_action(ws, rsc, op_key(rsc.id, "migrate_from", 0), "migrate_from",
                                     target, True, True)
    start.flags |= A_MIGRATE_RUNNABLE
    stop.flags |= A_MIGRATE_RUNNABLE
    start.flags |= A_PSEUDO  # easier than taking it out of the graph
    migrate_from.flags |= A_MIGRATE_RUNNABLE
    if not partial:
        assert migrate_to is not None
        migrate_to.flags |= A_MIGRATE_RUNNABLE
        migrate_to.needs = start.needs
        # probe -> migrate_to -> migrate_from
        act.new_ordering(ws, rsc, op_key(rsc.id, "monitor", 0), None,
                         rsc, op_key(rsc.id, "migrate_to", 0), None, m.O_OPTIONAL)
        act.new_ordering(ws, rsc, op_key(rsc.id, "migrate_to", 0), None,
                         rsc, op_key(rsc.id, "migrate_from", 0), None,
                         m.O_OPTIONAL | m.O_IMPLIES_FIRST_MIGRATABLE)
    else:
        migrate_from.needs = start.needs
        # probe -> migrate_from (migrate_to already completed)
        act.new_ordering(ws, rsc, op_key(rsc.id, "monitor", 0), None,
                         rsc, op_key(rsc.id, "migrate_from", 0), None, m.O_OPTIONAL)
    # migrate_from before the stop and the (pseudo) start
    act.new_ordering(ws, rsc, op_key(rsc.id, "migrate_from", 0), None,
                     rsc, op_key(rsc.id, "stop", 0), None,
                     m.O_OPTIONAL | m.O_IMPLIES_FIRST_MIGRATABLE)
    act.new_ordering(ws, rsc, op_key(rsc.id, "migrate_from", 0), None,
                     rsc, op_key(rsc.id, "start", 0), None,
                     m.O_OPTIONAL | m.O_IMPLIES_FIRST_MIGRATABLE | m.O_PSEUDO_LEFT)
    if migrate_to is not None:
        _add_migration_meta(migrate_to, current, target)
        if not rsc.is_remote_node:
            # migrate_to can affect the target: record it while pending, in case the source
            # leaves the membership before it returns
            migrate_to.meta.setdefault("record-pending", "true")
    _add_migration_meta(migrate_from, current, target)


def abort_dangling_migration(ws: WorkingSet, rsc: Resource, source: Node,
                             schedule_cleanup) -> None:
    """pcmk__abort_dangling_migration: the stop on the source a completed migration left out."""
    stop = act.stop_action(ws, rsc, source, False)
    stop.flags |= m.A_DANGLE
    if ws.remove_after_stop:
        schedule_cleanup(ws, rsc, source, False)


def can_migrate(rsc: Resource, current: Optional[Node]) -> bool:
    """pcmk__rsc_can_migrate."""
    if not rsc.allow_migrate or not rsc.managed or rsc.failed or rsc.start_pending:
        return False
    if current is None or current.unclean:
        return False
    target = rsc.allocated_to
    return target is not None and not target.unclean

