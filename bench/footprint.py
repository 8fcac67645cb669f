"""What the whole stack costs on one node: every daemon, `crm yes`, a group (IPaddr2 + a TCP
service) and a Dummy resource with monitors every 10 s, idle after it settled.

    .venv/bin/python bench/footprint.py                 # idle 60 s (the issue's figure)
    .venv/bin/python bench/footprint.py --idle-seconds 10

Printed: per process, CPU % over the idle period and RSS / PSS (proportional set size: shared
pages divided among the processes that map them, so the column adds up to what the node really
uses), and the stack's total PSS (the launcher and the daemons; the resources' own processes, the
TCP service here, are listed apart). PSS is sampled every second; the figure is the median of the
samples with their maximum.

Run as root for namespaces; without root the lab runs on loopback (no IPaddr2 then: a Dummy
stands in for the address). The sources are byte-compiled first (as `make` and any installed
package do): without bytecode on disk the launcher would compile every module before it forks,
and the compiler's garbage (about 7 MB) would stay in every daemon's share.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from detect import cpu_ticks  # noqa: E402
from lab import host  # noqa: E402
from lab.lab import Lab, auto_mode, wait_until  # noqa: E402
from lab.plan import LabSpec  # noqa: E402
from tools import crmclient  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
GOAL_MB = 80.0

ADDRESS = """<primitive id="vip" class="ocf" provider="pyheartbeat" type="IPaddr2">
     <instance_attributes id="vip-ia"><nvpair id="vip-ip" name="ip" value="{vip}"/>
      <nvpair id="vip-mask" name="cidr_netmask" value="24"/><nvpair id="vip-nic" name="nic" value="eth0"/>
     </instance_attributes>
     <operations><op id="vip-mon" name="monitor" interval="10s" timeout="20s"/></operations>
    </primitive>"""
NO_ADDRESS = """<primitive id="vip" class="ocf" provider="pyheartbeat" type="Dummy">
     <operations><op id="vip-mon" name="monitor" interval="10s" timeout="20s"/></operations>
    </primitive>"""

CIB = """<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0">
 <configuration>
  <crm_config><cluster_property_set id="opts">
   <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
   <nvpair id="opts-quorum" name="no-quorum-policy" value="ignore"/>
  </cluster_property_set></crm_config>
  <nodes/>
  <resources>
   <group id="web">
    {address}
    <primitive id="svc" class="heartbeat" type="tcpsvc">
     <instance_attributes id="svc-ia"><nvpair id="svc-1" name="1" value="8080"/></instance_attributes>
     <operations><op id="svc-mon" name="monitor" interval="10s" timeout="20s"/></operations>
    </primitive>
   </group>
   <primitive id="db" class="ocf" provider="pyheartbeat" type="Dummy">
    <operations><op id="db-mon" name="monitor" interval="10s" timeout="20s"/></operations>
   </primitive>
  </resources>
  <constraints/>
 </configuration>
 <status/>
</cib>
"""


def memory_kb(pid: int) -> Optional[tuple[int, int]]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        return None
    return rss, pss


def label(pid: int) -> str:
    """The daemon a process is (our daemons name themselves in comm), or its command."""
    try:
        with open(f"/proc/{pid}/comm", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return "?"


def is_stack(pid: int) -> bool:
    """The launcher and its daemons run our interpreter; a resource's process (socat) does not."""
    try:
        return os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(sys.executable)
    except OSError:
        return False


def settled(lab: Lab, node: str) -> bool:
    try:
        status = crmclient.status(lab.paths(node), timeout_ms=2000)
    except (crmclient.CrmUnavailable, crmclient.CrmError):
        return False
    if status.get("role") != "dc" or status.get("state") != "idle":
        return False
    root = crmclient.query_cib(lab.paths(node), timeout_ms=2000)["xml"]
    return root.count('operation="start"') >= 3 and 'rc-code="0"' in root


def measure(lab: Lab, node: str, seconds: float) -> None:
    procs = lab.processes(node)
    start = {pid: cpu_ticks(pid) for pid, _ in procs}
    samples: dict[int, list[tuple[int, int]]] = {pid: [] for pid, _ in procs}
    totals: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # bounded by the idle period
        total = 0
        for pid, started in procs:
            got = memory_kb(pid) if host.alive(pid, started) else None
            if got is not None:
                samples[pid].append(got)
                if is_stack(pid):
                    total += got[1]
        totals.append(total)
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))  # the sampling period
    rows = []
    for pid, started in procs:
        end = cpu_ticks(pid)
        if end is None or start.get(pid) is None or not samples[pid]:
            continue
        cpu = 100.0 * (end - start[pid]) / CLK_TCK / seconds
        rss = statistics.median(s[0] for s in samples[pid]) / 1024
        pss = statistics.median(s[1] for s in samples[pid]) / 1024
        rows.append((is_stack(pid), label(pid), pid, cpu, rss, pss))
    rows.sort(key=lambda r: (not r[0], r[1]))
    print(f"idle footprint of {node} alone, crm yes, 3 resources with monitors, over {seconds:g} s:")
    print(f"  {'process':<18}{'pid':>8}{'CPU %':>8}{'RSS MB':>9}{'PSS MB':>9}")
    for stack_proc, name, pid, cpu, rss, pss in rows:
        tag = "" if stack_proc else "  (resource)"
        print(f"  {name:<18}{pid:>8}{cpu:>8.2f}{rss:>9.1f}{pss:>9.1f}{tag}")
    stack_rows = [r for r in rows if r[0]]
    total = sum(r[5] for r in stack_rows)
    cpu_total = sum(r[3] for r in stack_rows)
    peak = max(totals) / 1024 if totals else 0.0
    print(f"  stack total: {len(stack_rows)} processes, PSS {total:.1f} MB (median of {len(totals)} samples; "
          f"max {peak:.1f} MB), CPU {cpu_total:.2f} %; goal <= {GOAL_MB:g} MB: "
          f"{'met' if total <= GOAL_MB else 'NOT met'}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--mode", choices=("auto", "netns", "loopback"), default="auto")
    args = parser.parse_args(argv)
    mode = auto_mode() if args.mode == "auto" else args.mode
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    packages = [os.path.join(root, p) for p in ("core", "messaging", "ccm", "lrmd", "crmd", "pengine", "tengine",
                                                   "logd", "agents", "tools", "lab")]
    for path in packages:
        compileall.compile_dir(path, quiet=1, workers=0)
    cib = CIB.replace("{address}", ADDRESS if mode == "netns" else NO_ADDRESS)
    tmp = tempfile.TemporaryDirectory(prefix="pyhb-footprint-")
    cib_path = os.path.join(tmp.name, "cib.xml")
    with open(cib_path, "w", encoding="utf-8") as handle:
        handle.write(cib)
    spec = LabSpec(name="bfoot", nodes=1, mode=mode, media="bcast" if mode == "netns" else "ucast",
                   subnet="198.18.9.0/24", crm=True, cib=cib_path, scripts=(os.path.join(os.path.dirname(
                       os.path.abspath(__file__)), "svc", "tcpsvc"),))
    print(f"bench/footprint.py: {os.cpu_count()} CPUs, mode {mode}, python {sys.version.split()[0]}", flush=True)
    try:
        lab = Lab.up(spec)
    except BaseException:
        tmp.cleanup()
        raise
    try:
        wait_until(lambda: settled(lab, "node1"), 60, "node1 to start its resources and go idle")
        time.sleep(2.0)  # let the first monitors run before the idle period starts
        measure(lab, "node1", args.idle_seconds)
    finally:
        problems = lab.down()
        if problems:
            print("lab down: " + "; ".join(problems), file=sys.stderr)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
