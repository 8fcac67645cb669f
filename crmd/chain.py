"""The chained actions a node holds for its DC's transition engine (tengine/machine.py, "Chains").

With an action, the DC may send the actions of the same transition that wait only for it and for
each other on this node. The node runs each as soon as everything it waits for has succeeded
here, judged as the engine judges (`core.graph.result_confirms`), instead of waiting for the DC to
hear the result and send the next one. This book is pure bookkeeping: the crmd core runs what it
returns and reports as it always does.

- `hold` records a chain when its first action is sent to the lrmd;
- `result` takes the result of any action of a held chain and returns the held actions whose
  inputs have now all succeeded, in the order the engine listed them; an action that did not
  succeed drops everything held behind it, directly or not (returned apart: the DC is told they
  will not run, as the engine decides on its own);
- `recall` drops held actions the engine recalls (its graph was aborted) and says which it
  dropped: those already begun report as usual;
- a recall from a view the node has not installed yet may come before the action that carries
  the chain (held for that view, read once the node installs it): what it found nothing of is
  kept (`recall(..., ahead_view=V)`) and `hold` leaves it out, saying which; `forget_early`
  drops what is kept once that view has been installed and its held messages read;
- a chain belongs to the DC that sent it: when the node follows another DC it is void.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from core.graph import result_confirms


@dataclass
class Held:
    action_id: int
    key: str  # the transition key its result must carry
    action: dict[str, Any]  # the graph action, as the wire carries it
    after: frozenset[int]  # the actions of the chain it waits for


@dataclass
class Chain:
    dc: str
    on_fail: dict[int, str]  # every action of the chain (the first one included) -> its on-fail
    held: list[Held] = field(default_factory=list)
    done: dict[int, bool] = field(default_factory=dict)  # action id -> it succeeded


class ChainError(ValueError):
    """A chain as the DC sent it is malformed (counted and dropped by the crmd)."""


def parse_then(then: Any) -> list[tuple[int, dict[str, Any], str, frozenset[int], str]]:
    """`LrmInvoke.then` -> [(action id, wire action, key, after, on-fail)]; ChainError if malformed."""
    out = []
    try:
        for item in then or ():
            action = dict(item["action"])
            attrs = dict(action.get("attrs") or {})
            out.append((int(action["id"]), action, str(item.get("key") or ""),
                        frozenset(int(a) for a in item["after"]), str(attrs.get("CRM_meta_on_fail", ""))))
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainError(f"malformed chain: {exc!r}") from None
    return out


class Chains:
    def __init__(self) -> None:
        self.by_transition: dict[int, Chain] = {}
        # recalled before their chain arrived: (DC, the recall's view, transition) -> action ids
        self.early: dict[tuple[str, int, int], set[int]] = {}

    def __len__(self) -> int:
        return sum(len(c.held) for c in self.by_transition.values())

    def hold(self, dc: str, tid: int, head_id: int, head_on_fail: str,
             items: list[tuple[int, dict[str, Any], str, frozenset[int], str]]) -> list[int]:
        """Hold the chain sent with action head_id of transition tid (items as parse_then gives);
        returns the ids left out because their DC recalled them before the chain came."""
        recalled: set[int] = set()
        for (early_dc, _view, early_tid), ids in self.early.items():
            if early_dc == dc and early_tid == tid:
                recalled |= ids
        gone = sorted(item[0] for item in items if item[0] in recalled)
        if gone:
            items = [item for item in items if item[0] not in recalled]
        chain = self.by_transition.get(tid)
        if chain is None or chain.dc != dc:
            chain = Chain(dc, {})
            self.by_transition[tid] = chain
        chain.on_fail[head_id] = head_on_fail
        for action_id, action, key, after, on_fail in items:
            chain.on_fail[action_id] = on_fail
            chain.held.append(Held(action_id, key, action, after))
        return gone

    def result(self, dc: Optional[str], tid: int, action_id: int, rc: int, op_status: int,
               target_rc: int) -> tuple[list[Held], list[int]]:
        """The result of an action of transition tid: (held actions to run now, held action ids
        dropped because this one did not succeed)."""
        chain = self.by_transition.get(tid)
        if chain is None or action_id not in chain.on_fail or action_id in chain.done:
            return [], []
        if chain.dc != dc:
            del self.by_transition[tid]  # we follow another DC: its engine no longer waits
            return [], []
        ok = result_confirms(chain.on_fail[action_id], rc, op_status, target_rc)
        chain.done[action_id] = ok
        ready: list[Held] = []
        dropped: list[int] = []
        if ok:
            ready = [h for h in chain.held if all(chain.done.get(a) is True for a in h.after)]
            chain.held = [h for h in chain.held if h not in ready]
        else:
            gone = {action_id}
            changed = True
            while changed:
                changed = False
                for h in list(chain.held):
                    if h.after & gone:
                        gone.add(h.action_id)
                        chain.held.remove(h)
                        dropped.append(h.action_id)
                        changed = True
        if not chain.held:
            del self.by_transition[tid]
        return ready, dropped

    def recall(self, dc: Optional[str], tid: int, action_ids: tuple[int, ...],
               ahead_view: Optional[int] = None) -> list[int]:
        """Drop these held actions of transition tid (not begun yet); returns those dropped. With
        `ahead_view` (the recall's view, not installed here yet) the others are kept for a chain
        that comes later (`hold`)."""
        chain = self.by_transition.get(tid)
        if ahead_view is not None and dc is not None:
            held = {h.action_id for h in chain.held} if chain is not None and chain.dc == dc else set()
            missing = set(action_ids) - held
            if missing:
                self.early.setdefault((dc, ahead_view, tid), set()).update(missing)
        if chain is None or chain.dc != dc:
            return []
        wanted = set(action_ids)
        dropped = [h.action_id for h in chain.held if h.action_id in wanted]
        chain.held = [h for h in chain.held if h.action_id not in wanted]
        if not chain.held:
            del self.by_transition[tid]
        return dropped

    def void_other_dcs(self, dc: Optional[str]) -> int:
        """Forget the chains of every DC but dc (the node follows dc now); returns how many held
        actions went with them."""
        for key in [k for k in self.early if k[0] != dc]:
            del self.early[key]
        gone = [tid for tid, c in self.by_transition.items() if c.dc != dc]
        count = sum(len(self.by_transition[tid].held) for tid in gone)
        for tid in gone:
            del self.by_transition[tid]
        return count

    def forget_early(self, view: int) -> None:
        """The node installed `view` and read what was held for it: recalls kept for a chain of
        that view or an older one have met it, or it never comes."""
        for key in [k for k in self.early if k[1] <= view]:
            del self.early[key]
