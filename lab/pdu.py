"""`external/lab`: the lab's power switch as a cluster-glue external STONITH plugin.

    external/lab gethosts | getconfignames | status | getinfo-* | on|off|reset NODE

Parameters (environment, as cluster-glue passes them): `hostlist` (lab nodes it powers, comma or
space separated) and `lab_root` (the lab's directory, holding its state file). `off` does to a
lab node what pulling its power cord would (lab.Lab.power_off: link down, every process of its
namespace killed, the addresses its resources took gone); `on` boots it (link up, stack
started); `reset` is both. It runs from a node's namespace (stonithd's device run) and reaches
the target's namespace by name (`ip -n`), under the lab's lock.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Optional

CONFIG_NAMES = ("hostlist", "lab_root")
INFO_XML = """<parameters>
<parameter name="hostlist" unique="1" required="1"><content type="string"/>
<shortdesc lang="en">Lab nodes</shortdesc><longdesc lang="en">The lab nodes this switch powers.</longdesc></parameter>
<parameter name="lab_root" unique="1" required="1"><content type="string"/>
<shortdesc lang="en">Lab directory</shortdesc><longdesc lang="en">The lab's directory (hb lab up --root).</longdesc></parameter>
</parameters>
"""


def _hosts() -> list[str]:
    return [h for h in os.environ.get("hostlist", "").replace(",", " ").split() if h]


def _process_start_ms() -> float:
    """When this process started (wall clock, 10 ms steps): the switch's run counts from the
    fencer's exec of it, interpreter start-up included."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime_s = float(handle.read().split()[0])
        return (time.time() - (uptime_s - ticks / os.sysconf("SC_CLK_TCK"))) * 1000
    except (OSError, ValueError, IndexError):
        return time.time() * 1000


def _journal(root: str, node: str, op: str, began_ms: float, off_ms: float) -> None:
    """One line per power cut in <lab root>/pdu.jsonl, written when the switch's run ends: the
    campaign (lab.cts) reads how long the fence device ran (`done_ms - began_ms`: for a reset, the
    power-on too, since the fencer waits for it), apart from the fencer's delays, to bound each
    failover; `off_ms` is when the power went off."""
    line = json.dumps({"node": node, "op": op, "began_ms": round(began_ms, 1), "off_ms": round(off_ms, 1),
                       "done_ms": round(time.time() * 1000, 1)})
    with open(os.path.join(root, "pdu.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def main(argv: Optional[list[str]] = None, out=sys.stdout, err=sys.stderr) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        err.write("usage: external/lab gethosts|getconfignames|status|getinfo-*|on|off|reset NODE\n")
        return 1
    op = args[0]
    if op == "gethosts":
        out.write("".join(f"{h}\n" for h in _hosts()))
        return 0
    if op == "getconfignames":
        out.write(" ".join(CONFIG_NAMES) + "\n")
        return 0
    if op in ("getinfo-devid", "getinfo-devname"):
        out.write("lab power switch\n")
        return 0
    if op == "getinfo-devdescr":
        out.write("Powers pyheartbeat lab nodes off and on (namespaces, links, processes)\n")
        return 0
    if op == "getinfo-devurl":
        out.write("https://example.invalid/pyheartbeat/lab\n")
        return 0
    if op == "getinfo-xml":
        out.write(INFO_XML)
        return 0
    root = os.environ.get("lab_root", "")
    from lab import state as statemod
    from lab.lab import Lab
    from lab.plan import LabError

    if op == "status":
        try:
            statemod.load(root)
        except LabError as exc:
            err.write(f"external/lab: {exc}\n")
            return 1
        return 0
    if op not in ("on", "off", "reset") or len(args) != 2:
        err.write(f"external/lab: unknown operation {' '.join(args)}\n")
        return 1
    node = args[1]
    if node not in _hosts():
        err.write(f"external/lab: {node} is not in hostlist\n")
        return 1
    began_ms = _process_start_ms()
    off_ms: Optional[float] = None
    try:
        try:
            with statemod.locked(root):
                lab = Lab(statemod.load(root))
                if op in ("off", "reset"):
                    lab.power_off(node)
                    off_ms = time.time() * 1000
            if op in ("on", "reset"):
                with statemod.locked(root):
                    lab = Lab(statemod.load(root))
                    lab.power_on(node, wait=False)  # switched on; the node boots on its own
        finally:
            if off_ms is not None:  # the power was cut: journalled even if switching it on failed
                _journal(root, node, op, began_ms, off_ms)
    except (LabError, OSError) as exc:
        err.write(f"external/lab: {op} {node}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
