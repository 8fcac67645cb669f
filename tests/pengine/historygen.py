"""A seeded generator of random CIBs dense in operation histories and orphans.

Why: tests/pengine/cibgen.py writes each history as one of about twenty plausible endings with
the common exit codes (0, 1, 5, 7, 8) and execution statuses (done, timed out, error, pending).
A real cluster's status section holds more: every OCF exit code an agent may return
(invalid arguments, unimplemented, insufficient privileges, not configured, degraded, failed
promoted), every execution status the executor records (cancelled, not supported, hard and
fatal errors, not installed, not connected), histories whose last operation is not the last
failure, recurring monitors no longer configured, resources removed from the configuration
while their history stays (orphans, among them a fence device and clone instances beyond
clone-max), and the options that decide what happens to them. This generator reuses cibgen's
model and adds:

- for half the histories, a sequence of 1-4 operations (probe, start, stop, promote, demote,
  monitor) with exit codes and execution statuses drawn from all of the above, written as
  the executor keeps them: the last operation (`_last_0`), the last failure
  (`_last_failure_0`) and the last run of each recurring monitor, with fail-counts for the
  failures (tags `rich-history`, `rc-N`, `op-status-N`, `hist-orphan-monitor`);
- orphans: histories of primitives not configured, running or stopped, of a fence device no
  longer configured, and of unique clone instances beyond clone-max (tags `orphan`,
  `orphan-stonith`, `orphan-instance`), with `stop-orphan-resources` and
  `stop-orphan-actions` drawn (tags of the same names);
- `enable-startup-probes=false`, `on-fail=demote` on promoted monitors, resource-level
  `maintenance` and `is-managed` on groups and clones, `clone-min` (tags of the same names).

Half the cases are calm (every node online but one lost at most, tag `calm`).
`generate(seed)` is pure and deterministic like cibgen's, with its own seed space.

    python tests/pengine/historygen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from notifymigrategen import cibgen  # noqa: E402  (cibgen loaded once, as "pengine_cibgen")

# (exit code, weight) of each task; the expected code is 7 for a probe, else 0 (8 promoted)
_PROBE_RCS = ((7, 8), (0, 4), (8, 2), (5, 1), (1, 1), (2, 1), (6, 1), (3, 1), (4, 1), (190, 1),
              (191, 1))
_START_RCS = ((0, 8), (1, 2), (5, 1), (6, 1), (2, 1), (4, 1), (190, 1))
_MONITOR_RCS = ((0, 6), (7, 2), (1, 2), (190, 1), (9, 1), (6, 1))
_STOP_RCS = ((0, 8), (1, 2), (5, 1), (6, 1))
_ROLE_RCS = ((0, 6), (1, 2), (7, 1), (9, 1))
# (execution status, weight): done, cancelled, timed out, not supported, error, hard and
# fatal error, not installed, not connected
_STATUSES = ((0, 30), (1, 1), (2, 2), (3, 1), (4, 2), (5, 1), (6, 1), (7, 1), (8, 1))


class _HistoryGen(cibgen._Gen):
    """cibgen's model plus rich operation histories and orphans."""

    CALM_CASES = True

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.hist_clone_meta: dict[str, dict[str, str]] = {}
        self.hist_group_meta: dict[str, dict[str, str]] = {}
        self.demote_on_fail: set[str] = set()

    def options(self) -> list[tuple[str, str]]:
        opts = super().options()
        r = self.rnd
        if self.chance(0.3, "stop-orphan-resources"):
            opts.append(("stop-orphan-resources", r.choice(["false", "true"])))
        if self.chance(0.3, "stop-orphan-actions"):
            opts.append(("stop-orphan-actions", r.choice(["false", "true"])))
        if self.chance(0.12, "enable-startup-probes"):
            opts.append(("enable-startup-probes", "false"))
        return list(dict(opts).items())

    def primitive(self, rid: str, stateful: bool = False) -> cibgen.Prim:
        p = super().primitive(rid, stateful)
        r = self.rnd
        if stateful and self.chance(0.25, "on-fail-demote"):
            self.demote_on_fail.add(rid)
        if self.chance(0.06, "maintenance"):
            p.meta["maintenance"] = r.choice(["true", "false"])
        return p

    def make_resources(self) -> None:
        super().make_resources()
        r = self.rnd
        for name in self.top:
            kind = self.kind[name]
            if kind in ("clone", "promotable"):
                meta: dict[str, str] = {}
                if self.chance(0.25, "clone-min"):
                    meta["clone-min"] = r.choice(["1", "2", "3"])
                if self.chance(0.08, "is-managed"):
                    meta["is-managed"] = "false"
                if self.chance(0.06, "maintenance"):
                    meta["maintenance"] = "true"
                self.hist_clone_meta[name] = meta
            elif kind == "group":
                meta = {}
                if self.chance(0.08, "is-managed"):
                    meta["is-managed"] = "false"
                if self.chance(0.06, "maintenance"):
                    meta["maintenance"] = "true"
                self.hist_group_meta[name] = meta

    def xml_prim(self, p: cibgen.Prim) -> str:
        text = super().xml_prim(p)
        if p.rid in self.demote_on_fail:
            head = 'role="Promoted" timeout="20s"'
            at = text.find(head)
            if at >= 0 and "on-fail=" not in text[at:text.index(">", at)]:
                text = text.replace(head, head + ' on-fail="demote"', 1)
        return text

    def xml_resources(self) -> str:
        text = super().xml_resources()
        for tag, table in (("clone", self.hist_clone_meta), ("group", self.hist_group_meta)):
            for name, meta in table.items():
                head = f'<{tag} id="{name}">'
                if head not in text:
                    continue  # written otherwise by another generator (mixgen)
                start = text.index(head) + len(head)
                pairs = "".join(f'<nvpair id="{name}-hm-{k}" name="{k}" value="{v}"/>'
                                for k, v in meta.items())
                if not pairs:
                    continue
                # a set of its own, after cibgen's (the first set naming a value keeps it)
                text = (text[:start] + f'<meta_attributes id="{name}-hm">{pairs}'
                        "</meta_attributes>" + text[start:])
        return text

    # ---- status ----------------------------------------------------------------------------

    def draw(self, table: tuple[tuple[int, int], ...]) -> int:
        values, weights = zip(*table)
        return self.rnd.choices(values, weights=weights)[0]

    def history(self, p: cibgen.Prim, node: str, fails: dict[str, str]) -> str:
        r = self.rnd
        if r.random() < 0.5:
            return super().history(p, node, fails)
        self.features.add("rich-history")
        mon_int = 11000 if p.stateful else 10000
        tasks = ["probe"] + [r.choice(["start", "start", "monitor", "stop", "promote", "demote"]
                                      if p.stateful else ["start", "start", "monitor", "stop"])
                             for _ in range(r.randint(0, 3))]
        if r.random() < 0.3:
            tasks = tasks[1:]  # the probe's entry replaced long ago
        last: str = ""
        last_failure: str = ""
        recurring: dict[int, str] = {}
        call = 0
        for task in tasks:
            call += 1
            if task == "probe":
                rc = self.draw(_PROBE_RCS)
                name, interval, target = "monitor", 0, 7
            elif task == "monitor":
                rc = self.draw(_MONITOR_RCS)
                if p.stateful and r.random() < 0.4:
                    interval, target = 10000, 8
                    rc = {0: 8, 9: 9}.get(rc, rc)
                else:
                    interval, target = mon_int, 0
                if r.random() < 0.1:
                    interval = 30000  # a monitor no longer configured
                    self.features.add("hist-orphan-monitor")
                name = "monitor"
            else:
                table = {"start": _START_RCS, "stop": _STOP_RCS}.get(task, _ROLE_RCS)
                rc = self.draw(table)
                name, interval, target = task, 0, 0
            status = self.draw(_STATUSES) if r.random() < 0.3 else 0
            if task == "stop" and r.random() < 0.05:
                status, rc = -1, 193  # pending
            self.features.add(f"rc-{rc}")
            self.features.add(f"op-status-{status}")
            key = f"{p.rid}_monitor_{interval}" if interval else f"{p.rid}_last_0"
            entry = self.op(p, key, name, interval, rc, target, call, status=status)
            if interval:
                recurring[interval] = entry
            else:
                last = entry
            if status not in (0, -1, 1) or rc != target:
                last_failure = entry.replace(f'id="{key}"', f'id="{p.rid}_last_failure_0"', 1)
                if r.random() < 0.85:
                    fails[f"{name}_{interval}"] = r.choice(["1", "2", "INFINITY"])
        ops = [op for op in [last, *recurring.values(), last_failure] if op]
        cls = 'class="ocf" provider="pacemaker"'
        agent = "Stateful" if p.stateful else "Dummy"
        return f'<lrm_resource id="{p.rid}" {cls} type="{agent}">{"".join(ops)}</lrm_resource>'

    def orphan_history(self, rid: str, running: bool, call: int) -> str:
        p = cibgen.Prim(rid)
        if running:
            ops = (self.op(p, f"{rid}_last_0", "start", 0, 0, 0, call)
                   + self.op(p, f"{rid}_monitor_10000", "monitor", 10000, 0, 0, call + 1))
        else:
            ops = self.op(p, f"{rid}_last_0", self.rnd.choice(["stop", "monitor"]), 0,
                          0 if self.rnd.random() < 0.5 else 7, 0, call)
        return (f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" type="Dummy">{ops}'
                "</lrm_resource>")

    def xml_status(self) -> str:
        text = super().xml_status()
        r = self.rnd
        orphans: list[tuple[str, str]] = []  # (node id, lrm_resource)
        present = [i for i, node in enumerate(self.nodes, 1)
                   if f'<node_state id="{i}" ' in text]
        if present and self.chance(0.5, "orphan"):
            for k in range(r.randint(1, 2)):
                for i in r.sample(present, r.randint(1, min(2, len(present)))):
                    orphans.append((str(i), self.orphan_history(f"gone{k}", r.random() < 0.6,
                                                                20 + k)))
        if present and self.chance(0.15, "orphan-stonith"):
            i = r.choice(present)
            p = cibgen.Prim("oldfence")
            orphans.append((str(i), '<lrm_resource id="oldfence" class="stonith" '
                            'type="fence_dummy">' + self.op(p, "oldfence_last_0", "start", 0,
                                                            0, 0, 30, digest=False)
                            + "</lrm_resource>"))
        unique = [n for n in self.top if self.kind[n] in ("clone", "promotable")
                  and self.clone_max.get(n, 0) >= 1]
        if present and unique and self.chance(0.2, "orphan-instance"):
            name = r.choice(unique)
            prim = self.members[name][0]
            i = r.choice(present)
            rid = f"{prim.rid}:{self.clone_max[name] + r.randint(0, 3)}"
            p = cibgen.Prim(rid, prim.stateful)
            ops = self.op(p, f"{rid}_last_0", "start", 0, 0, 0, 40)
            agent = "Stateful" if prim.stateful else "Dummy"
            orphans.append((str(i), f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" '
                            f'type="{agent}">{ops}</lrm_resource>'))
        for node_id, entry in orphans:
            text = cibgen.add_history_entry(text, node_id, entry)
        return text


generate = cibgen.generator(_HistoryGen)


if __name__ == "__main__":
    sys.exit(cibgen.main(sys.argv[1:], generate, __doc__))
