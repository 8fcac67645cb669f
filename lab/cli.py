"""`hb lab`: a cluster of nodes in network namespaces (as root) or on loopback addresses.

    hb lab up --nodes 3 [--keepalive 100ms] [--deadtime 500ms] [--media bcast|mcast|ucast]
    hb lab status [--json]
    hb lab fail NODE --how kill|link|hang|partition
    hb lab partition node1,node2 node3          (nodes not named form one more group)
    hb lab loss NODE PERCENT                    (random packet loss both ways on the node's link)
    hb lab heal NODE | --all
    hb lab restart NODE
    hb lab exec NODE|client -- CMD [ARGS...]
    hb lab wait [--status active] [--timeout 30]
    hb lab down

Every command takes `--name NAME` (default $PYHB_LAB or `phb`) and `--root DIR` (default
/tmp/pyhb-lab-NAME), so several labs can live side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional

from core.config import parse_time_ms
from lab import plan
from lab.lab import FAULTS, Lab, auto_mode, sweep
from lab.plan import LabError, LabSpec
from lab.state import find_root, state_path


def _time(text: str) -> int:
    try:
        return parse_time_ms(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _onoff(text: str) -> bool:
    if text.lower() in ("on", "yes", "true", "1"):
        return True
    if text.lower() in ("off", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: want on or off")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--name", default=os.environ.get("PYHB_LAB") or plan.DEFAULT_NAME,
                        help="lab name, 1-6 characters (default $PYHB_LAB or phb)")
    common.add_argument("--root", help="lab directory (default /tmp/pyhb-lab-NAME)")
    parser = argparse.ArgumentParser(prog="hb lab", description="a lab of pyheartbeat nodes")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", parents=[common], help="create the lab and start every node's stack")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--keepalive", type=_time, default=100, metavar="TIME")
    up.add_argument("--deadtime", type=_time, default=500, metavar="TIME")
    up.add_argument("--warntime", type=_time, metavar="TIME")
    up.add_argument("--initdead", type=_time, metavar="TIME")
    up.add_argument("--media", choices=plan.MEDIA, help="bcast (default in namespaces) | mcast | ucast")
    up.add_argument("--mode", choices=("auto",) + plan.MODES, default="auto",
                    help="netns (root) or loopback (127.0.0.x with ucast); auto picks netns when root")
    up.add_argument("--subnet", default=plan.DEFAULT_SUBNET, help="within 198.18.0.0/15")
    up.add_argument("--udpport", type=int)
    up.add_argument("--realtime", type=_onoff, default=True, metavar="on|off")
    up.add_argument("--debug", type=int, default=0)
    up.add_argument("--hacf", action="append", default=[], metavar="LINE", help="extra ha.cf line (repeatable)")
    up.add_argument("--crm", action="store_true", help="crm yes: the resource manager runs a CIB (see --cib)")
    up.add_argument("--cib", metavar="FILE", help="CIB loaded into every node's replica (with --crm)")
    up.add_argument("--haresources", action="append", default=[], metavar="LINE",
                    help="haresources line for every node (crm off; repeatable); {vip} is the lab's "
                         "first service address, {vip2} the second, ...")
    up.add_argument("--auto-failback", choices=("on", "off", "legacy"), default="on")
    up.add_argument("--auth", choices=plan.AUTH_METHODS, default="sha1",
                    help="authkeys method of every node (aes-256-gcm, chacha20-poly1305: sealed packets)")
    up.add_argument("--watchdog", type=_time, default=0, metavar="TIME",
                    help="a lab watchdog per node (ha.cf watchdog): the node is powered off when its launcher "
                         "does not feed it for TIME")
    up.add_argument("--stonith", choices=("lab",), default="",
                    help="fence with the lab's power switch (external/lab): a fenced node is powered off "
                         "(link down, its processes killed) and booted again")
    up.add_argument("--script", action="append", default=[], metavar="FILE",
                    help="a heartbeat resource script copied into every node's resource.d (repeatable)")

    status = sub.add_parser("status", parents=[common], help="nodes, processes, faults, what each node sees")
    status.add_argument("--json", action="store_true")

    fail = sub.add_parser("fail", parents=[common], help="fail a node")
    fail.add_argument("node")
    fail.add_argument("--how", choices=FAULTS, required=True)

    part = sub.add_parser("partition", parents=[common], help="cut the lab into groups (node1,node2 node3)")
    part.add_argument("groups", nargs="+")

    loss = sub.add_parser("loss", parents=[common], help="random packet loss on a node's link (0 ends it)")
    loss.add_argument("node")
    loss.add_argument("percent", type=float)

    heal = sub.add_parser("heal", parents=[common], help="undo a node's faults")
    heal.add_argument("node", nargs="?")
    heal.add_argument("--all", action="store_true")

    restart = sub.add_parser("restart", parents=[common], help="stop and start a node's stack")
    restart.add_argument("node")

    ex = sub.add_parser("exec", parents=[common], help="run a command in a node (NODE -- CMD ...)")
    ex.add_argument("node")
    ex.add_argument("argv", nargs="*", help="the command (after --)")

    wait = sub.add_parser("wait", parents=[common], help="wait until every node sees every node in a status")
    wait.add_argument("--status", default="active")
    wait.add_argument("--timeout", type=float, default=30.0)

    sub.add_parser("down", parents=[common], help="stop everything and remove the lab")
    return parser


def spec_from_args(args: argparse.Namespace) -> LabSpec:
    mode = auto_mode() if args.mode == "auto" else args.mode
    media = args.media or ("ucast" if mode == "loopback" else "bcast")
    return LabSpec(name=args.name, nodes=args.nodes, mode=mode, subnet=args.subnet, media=media,
                   keepalive_ms=args.keepalive, deadtime_ms=args.deadtime, warntime_ms=args.warntime,
                   initdead_ms=args.initdead, udpport=args.udpport, realtime=args.realtime, debug=args.debug,
                   root=args.root or "", extra_hacf=tuple(args.hacf), crm=args.crm,
                   cib=os.path.abspath(args.cib) if args.cib else "", haresources=tuple(args.haresources),
                   auto_failback=args.auto_failback, stonith=args.stonith, watchdog_ms=args.watchdog,
                   scripts=tuple(os.path.abspath(p) for p in args.script), auth=args.auth)


def format_status(status: dict) -> str:
    spec = status["spec"]
    media = spec["media"] if status["mode"] == "netns" else "ucast on lo"
    lines = [f"lab {status['name']}: {status['mode']} mode, {len(status['nodes'])} nodes, {media}, "
             f"keepalive {spec['keepalive_ms']} ms, deadtime {spec['deadtime_ms']} ms, udpport {spec['udpport']}"
             + ("" if status["mode"] == "loopback" else f", subnet {spec['subnet']}")
             + f", auth {spec.get('auth', 'sha1')}",
             f"root {status['root']}"]
    header = f"{'node':<8}{'address':<16}{'stack':<21}{'faults':<30}sees"
    lines.append(header)
    for node, entry in status["nodes"].items():
        if entry["running"]:
            stack = f"{'hung' if entry['hung'] else 'running'} [pid {entry['pid']}]"
        else:
            stack = "stopped"
        faults = list(entry["faults"])
        if entry.get("link_up") is False and "link" not in faults:
            faults.append("link down")
        if entry["loss"]:
            faults.append(f"loss {entry['loss']:g}%")
        if entry["cut_from"]:
            faults = [f for f in faults if f != "partition"] + ["cut from " + ",".join(entry["cut_from"])]
        view = entry["view"]
        if view is None:
            sees = "-"
            if entry["running"] and not entry["hung"]:
                sees = "(messaging not answering)" if status["messaging"] else "(no messaging daemon in this build)"
        else:
            sees = " ".join(f"{n}:{s}" for n, s in sorted(view.items()))
        lines.append(f"{node:<8}{entry['address']:<16}{stack:<21}{', '.join(faults) or '-':<29} {sees}")
    if "client" in status:
        lines.append(f"{'client':<8}{status['client']['address']:<16}namespace {status['client']['namespace']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.command == "up":
        lab = Lab.up(spec_from_args(args))
        print(format_status(lab.status()))
        return 0
    if args.command == "down" and not os.path.exists(state_path(find_root(args.name, args.root))):
        done = sweep(args.name, args.root)  # no state file: remove what the lab's names say is ours
        print("\n".join(done) if done else f"no lab {args.name} here: nothing to remove")
        return 1 if any(line.startswith("could not") for line in done) else 0
    lab = Lab.load(args.name, args.root)
    if args.command == "status":
        status = lab.status()
        print(json.dumps(status, indent=1) if args.json else format_status(status))
    elif args.command == "fail":
        lab.fail(args.node, args.how)
        print(f"{args.node}: failed ({args.how})")
    elif args.command == "partition":
        groups = lab.partition(args.groups)
        print("partitioned: " + " | ".join(",".join(g) for g in groups))
    elif args.command == "loss":
        lab.set_loss(args.node, args.percent)
        print(f"{args.node}: {args.percent:g}% packet loss each way")
    elif args.command == "heal":
        if args.all == bool(args.node):
            raise LabError("heal: give a NODE or --all")
        healed = lab.heal_all() if args.all else {args.node: lab.heal(args.node)}
        for node, what in healed.items():
            print(f"{node}: healed {', '.join(what) if what else '(nothing to heal)'}")
    elif args.command == "restart":
        lab.restart_node(args.node)
        print(f"{args.node}: restarted [pid {lab.pid(args.node)}]")
    elif args.command == "exec":
        return lab.exec(args.node, args.argv).returncode
    elif args.command == "wait":
        took = lab.wait_all_see(args.status, args.timeout)
        print(f"every node sees every node {args.status} (after {took:.1f} s)")
    elif args.command == "down":
        problems = lab.down()
        for problem in problems:
            print(f"hb lab down: {problem}", file=sys.stderr)
        if problems:
            return 1
        print(f"lab {lab.spec.name} is down")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if argv[:1] == ["exec"] and "--" in argv:  # everything after -- belongs to the command
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    if command:
        args.argv = list(args.argv) + command
    try:
        return run(args)
    except LabError as exc:
        print(f"hb lab {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
