"""A seeded generator of random CIBs dense in clone notifications and live migration.

Why: tests/pengine/cibgen.py deliberately never sets `notify` or `allow-migrate`, so the two
features the issue names first (pre/post notify actions around clone starts, stops, promotions
and demotions; migrate_to/migrate_from pairs, partial and dangling migrations, migration-limit)
would be judged by the visible corpus alone. This generator reuses cibgen's whole model (nodes
in every membership state, constraints, histories, quorum and fencing options) and adds:

- notify=true on most clones and promotable clones, with interleave and ordered drawn on or off
  (tag `notify`, `notify-interleave`, `notify-ordered`);
- allow-migrate=true on primitives and group members (tag `allow-migrate`, `migrate-group`)
  and, for some of them, a history that spans two nodes (source S, target T) planned before
  the status section is written, often with a location preference for T:
  `hist-move` (running on S: a live migration when nothing prevents it),
  `hist-migrated` (migrate_to on S, migrate_from on T, then stop on S: a finished migration),
  `hist-partial-migration` (migrate_to on S, nothing yet on T),
  `hist-dangling-migration` (migrate_to on S and migrate_from on T, S never stopped),
  `hist-failed-migrate-to` (migrate_to failed on S), `hist-failed-migrate-from` (migrate_to on
  S, migrate_from failed on T), `hist-migrate-from-only` (migrate_from on T, no migrate_to on S);
  S and T are usually online, sometimes lost (unclean) or cleanly down;
- the `migration-limit` cluster option (tag `migration-limit`).

`generate(seed)` is pure and deterministic like cibgen's, with its own seed space: seed N here
and seed N of cibgen give different CIBs, and cibgen's own seeds are unaffected.

    python tests/pengine/notifymigrategen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from typing import Optional

_HERE = pathlib.Path(__file__).resolve().parent


def _load_cibgen():
    """cibgen as a module (tests/pengine is not a package; the bench loads it the same way)."""
    name = "pengine_cibgen"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _HERE / "cibgen.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cibgen = _load_cibgen()
Prim = cibgen.Prim

# the migration histories this generator plans, with their relative weights
_MIGRATIONS = {"move": 4, "migrated": 3, "partial-migration": 3, "dangling-migration": 3,
               "failed-migrate-to": 2, "failed-migrate-from": 2, "migrate-from-only": 1}


class _NotifyMigrateGen(cibgen._Gen):
    """cibgen's model plus notify clones and migratable primitives with migration histories."""

    CALM_CASES = True

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.clone_extra: dict[str, dict[str, str]] = {}
        self.migratable: set[str] = set()
        # primitive id -> (scenario, source node, target node)
        self.plan: dict[str, tuple[str, str, str]] = {}

    def options(self) -> list[tuple[str, str]]:
        opts = super().options()
        if self.chance(0.25, "migration-limit"):
            opts.append(("migration-limit", self.rnd.choice(["1", "2", "0", "-1"])))
        return opts

    def make_resources(self) -> None:
        super().make_resources()
        r = self.rnd
        for name in self.top:
            kind = self.kind[name]
            if kind in ("clone", "promotable"):
                if self.chance(0.75, "notify"):
                    extra = {"notify": "true"}
                    if self.chance(0.4, "notify-interleave"):
                        extra["interleave"] = "true"
                    if self.chance(0.15, "notify-ordered"):
                        extra["ordered"] = "true"
                    self.clone_extra[name] = extra
            elif self.chance(0.7 if kind == "primitive" else 0.4, "allow-migrate"):
                if kind == "group":
                    self.features.add("migrate-group")
                for p in self.members[name]:
                    p.meta["allow-migrate"] = "true"
                    self.migratable.add(p.rid)
        self.plan_migrations()

    def plan_migrations(self) -> None:
        r = self.rnd
        if len(self.nodes) < 2:
            return
        for rid in sorted(self.migratable):
            if r.random() >= 0.6:
                continue
            scenario = r.choices(list(_MIGRATIONS), weights=list(_MIGRATIONS.values()))[0]
            # mostly between online nodes (where a migration can run); sometimes the source
            # or the target is lost or down
            online = [n for n in self.nodes if self.state[n] == "online"]
            pool = online if len(online) >= 2 and r.random() < 0.8 else self.nodes
            source, target = r.sample(pool, 2)
            self.plan[rid] = (scenario, source, target)
            self.features.add(f"hist-{scenario}")

    def xml_constraints(self) -> str:
        out = super().xml_constraints()
        # a preference for the target makes the planned histories move (a live migration when
        # nothing prevents it)
        n = 0
        for rid, (scenario, _, target) in sorted(self.plan.items()):
            if scenario == "move" or self.rnd.random() < 0.3:
                n += 1
                score = self.rnd.choice(["INFINITY", "INFINITY", "200", "1000"])
                out += (f'<rsc_location id="mig{n}" rsc="{self.top_of(rid)}" node="{target}" '
                        f'score="{score}"/>')
        return out

    def top_of(self, rid: str) -> str:
        """The top-level resource holding primitive rid (itself or its group)."""
        return next(name for name in self.top if any(p.rid == rid for p in self.members[name]))

    def xml_meta(self, owner: str, meta: dict[str, str]) -> str:
        if owner in self.clone_extra:
            meta = {**meta, **self.clone_extra[owner]}
        return cibgen._Gen.xml_meta(owner, meta)

    def forced_history(self, p: Prim, node: str) -> bool:
        planned = self.plan.get(p.rid)
        return planned is not None and node in planned[1:]

    def migrate_op(self, p: Prim, key_id: str, task: str, rc: int, call: int, source: str,
                   target: str) -> str:
        """A migrate_to/migrate_from record: an ordinary operation plus the two node names."""
        text = self.op(p, key_id, task, 0, rc, 0, call)
        return text.replace(" exit-reason=",
                            f' migrate_source="{source}" migrate_target="{target}" exit-reason=',
                            1)

    def history(self, p: Prim, node: str, fails: dict[str, str]) -> str:
        planned = self.plan.get(p.rid)
        if planned is None or node not in planned[1:]:
            if self.calm:
                return self.calm_history(p)
            return super().history(p, node, fails)
        scenario, source, target = planned
        ops: list[str] = []
        last, fail = f"{p.rid}_last_0", f"{p.rid}_last_failure_0"
        mon = lambda call: self.op(p, f"{p.rid}_monitor_10000", "monitor", 10000, 0, 0, call)
        if node == source:
            if scenario == "move":
                ops.append(self.op(p, last, "start", 0, 0, 0, 2))
                ops.append(mon(3))
            elif scenario == "migrate-from-only":
                ops.append(self.op(p, last, "stop", 0, 0, 0, 5))
            elif scenario == "migrated":
                ops.append(self.migrate_op(p, f"{p.rid}_migrate_to_0", "migrate_to", 0, 4,
                                           source, target))
                ops.append(self.op(p, last, "stop", 0, 0, 0, 6))
            elif scenario == "failed-migrate-to":
                ops.append(self.op(p, f"{p.rid}_start_0", "start", 0, 0, 0, 2))
                failed = self.migrate_op(p, last, "migrate_to", 1, 4, source, target)
                ops.append(failed)
                ops.append(failed.replace(f'id="{last}"', f'id="{fail}"', 1))
                if self.rnd.random() < 0.8:
                    fails["migrate_to_0"] = self.rnd.choice(["1", "INFINITY"])
            else:  # partial, dangling, failed-migrate-from: migrate_to succeeded here
                ops.append(self.op(p, f"{p.rid}_start_0", "start", 0, 0, 0, 2))
                ops.append(mon(3))
                ops.append(self.migrate_op(p, last, "migrate_to", 0, 4, source, target))
        else:  # the target
            if scenario in ("migrated", "dangling-migration", "migrate-from-only"):
                ops.append(self.migrate_op(p, last, "migrate_from", 0, 5, source, target))
                ops.append(mon(6))
            elif scenario == "failed-migrate-from":
                failed = self.migrate_op(p, last, "migrate_from", 1, 5, source, target)
                ops.append(failed)
                ops.append(failed.replace(f'id="{last}"', f'id="{fail}"', 1))
                if self.rnd.random() < 0.8:
                    fails["migrate_from_0"] = "1"
            else:  # move, partial or failed migrate_to: at most a probe on the target
                if self.rnd.random() < 0.5:
                    ops.append(self.op(p, last, "monitor", 0, 7, 7, 1))
        agent = "Stateful" if p.stateful else "Dummy"
        return (f'<lrm_resource id="{p.rid}" class="ocf" provider="pacemaker" type="{agent}">'
                f'{"".join(ops)}</lrm_resource>')


    def calm_history(self, p: Prim) -> str:
        """A history without failures: probed stopped, running, promoted or cleanly stopped."""
        state = self.rnd.choice(["probed-stopped", "running", "running", "stopped"]
                                + (["promoted", "promoted"] if p.stateful else []))
        self.features.add(f"hist-{state}")
        last = f"{p.rid}_last_0"
        if state == "probed-stopped":
            ops = [self.op(p, last, "monitor", 0, 7, 7, 1)]
        elif state == "stopped":
            ops = [self.op(p, last, "stop", 0, 0, 0, 4)]
        elif state == "running":
            interval = 11000 if p.stateful else 10000
            ops = [self.op(p, last, "start", 0, 0, 0, 2),
                   self.op(p, f"{p.rid}_monitor_{interval}", "monitor", interval, 0, 0, 3)]
        else:
            ops = [self.op(p, last, "promote", 0, 0, 0, 3),
                   self.op(p, f"{p.rid}_monitor_10000", "monitor", 10000, 8, 8, 4)]
        agent = "Stateful" if p.stateful else "Dummy"
        return (f'<lrm_resource id="{p.rid}" class="ocf" provider="pacemaker" type="{agent}">'
                f'{"".join(ops)}</lrm_resource>')


generate = cibgen.generator(_NotifyMigrateGen)


def main(argv: list[str]) -> int:
    return cibgen.main(argv, generate, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
