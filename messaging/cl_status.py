"""`cl_status`: heartbeat's status tool, answering from the local messaging daemon's API.

    cl_status hbstatus [-v]              is heartbeat running here? (exit 0 yes, 1 no)
    cl_status listnodes [-p|-n]          nodes (only ping / only normal)
    cl_status nodestatus NODE            init | up | active | dead | ping
    cl_status nodetype ping|normal       nodes of that type  (or: nodetype NODE -> its type)
    cl_status listhblinks NODE           the heartbeat links of NODE
    cl_status hblinkstatus NODE LINK     up | dead
    cl_status clientstatus NODE CLIENT [TIMEOUT_MS]   online | offline
    cl_status rscstatus                  none | local | foreign | all
    cl_status hbparameter -p NAME        a configuration value (alias: parameter)
    cl_status counters [PREFIX]          pyheartbeat: the daemon's counters (`dropped_<reason>`, ...)
    cl_status auth                       pyheartbeat: sending key, wanted key, keys each live peer holds

`-m` makes answers human readable. Like heartbeat's, the default output is one value per line for
scripts. `hb status [--json]` prints the whole picture (every node and link) at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Optional

from core import ipc
from core import paths as pathmod
from core.ipc import Client, DaemonUnavailable
from core.messages.hbapi import Query

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
DEAD_STATUSES = ("dead",)


class Status:
    def __init__(self, client: Client) -> None:
        self.client = client

    def ask(self, what: str, wait_ms: int = 2000, **args: Any) -> Any:
        return self.client.request(Query(ipc.next_request_id(), what, args), wait_ms)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cl_status", description="check the status of the heartbeat subsystem")
    pathmod.add_arguments(parser)
    parser.add_argument("command")
    parser.add_argument("args", nargs="*")
    parser.add_argument("-v", action="store_true", help="more details (hbstatus, listnodes, listhblinks)")
    parser.add_argument("-m", action="store_true", help="human readable output")
    parser.add_argument("-p", dest="ping_only", action="store_true",
                        help="listnodes: only ping nodes; hbparameter: parameter name follows")
    parser.add_argument("-n", dest="normal_only", action="store_true", help="listnodes: only normal nodes")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_intermixed_args(argv)
    paths = pathmod.from_args(args)
    client = Client(paths, "messaging")
    try:
        return run(args, Status(client))
    except DaemonUnavailable:
        if args.command == "hbstatus":
            print("Heartbeat is stopped on this machine.")
        else:
            print("cl_status: cannot reach heartbeat (messaging daemon not running)", file=sys.stderr)
        return EXIT_FAIL
    except RuntimeError as exc:
        print(f"cl_status: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        client.close()


def _need(args: argparse.Namespace, count: int, usage: str) -> bool:
    if len(args.args) < count:
        print(f"usage: cl_status {usage}", file=sys.stderr)
        return False
    return True


def run(args: argparse.Namespace, status: Status) -> int:
    command = args.command
    if command == "hbstatus":
        info = status.ask("hbstatus")
        print(f"Heartbeat is running on this machine{' (' + info['node'] + ')' if args.m else ''}.")
        if args.v:
            print_overview(status)
        return EXIT_OK
    if command == "listnodes":
        for node in status.ask("nodes"):
            if (args.ping_only and node["type"] != "ping") or (args.normal_only and node["type"] != "normal"):
                continue
            print(node["name"] if not args.v else f"{node['name']}\t{node['type']}\t{node['status']}")
        return EXIT_OK
    if command == "nodestatus":
        if not _need(args, 1, "nodestatus NODE"):
            return EXIT_USAGE
        node = status.ask("node", node=args.args[0].lower())
        print(f"Node {node['name']} is {node['status']}" if args.m else node["status"])
        return EXIT_FAIL if node["status"] in DEAD_STATUSES else EXIT_OK
    if command == "nodetype":
        if not _need(args, 1, "nodetype ping|normal|NODE"):
            return EXIT_USAGE
        wanted = args.args[0].lower()
        if wanted in ("ping", "normal"):
            for node in status.ask("nodes"):
                if node["type"] == wanted:
                    print(node["name"])
            return EXIT_OK
        node = status.ask("node", node=wanted)
        print(node["type"])
        return EXIT_OK
    if command == "listhblinks":
        if not _need(args, 1, "listhblinks NODE"):
            return EXIT_USAGE
        for row in status.ask("links", node=args.args[0].lower()):
            print(f"\t{row['link']}" if not args.v else f"\t{row['link']}\t{row['status']}")
        return EXIT_OK
    if command == "hblinkstatus":
        if not _need(args, 2, "hblinkstatus NODE LINK"):
            return EXIT_USAGE
        rows = [r for r in status.ask("links", node=args.args[0].lower()) if r["link"] == args.args[1]]
        if not rows:
            print(f"cl_status: no link {args.args[1]} for node {args.args[0]}", file=sys.stderr)
            return EXIT_FAIL
        print(rows[0]["status"])
        return EXIT_OK if rows[0]["status"] == "up" else EXIT_FAIL
    if command == "clientstatus":
        if not _need(args, 2, "clientstatus NODE CLIENT [TIMEOUT_MS]"):
            return EXIT_USAGE
        timeout_ms = int(args.args[2]) if len(args.args) > 2 else 100
        answer = status.ask("clientstatus", timeout_ms + 2000, node=args.args[0].lower(), client=args.args[1],
                            timeout_ms=timeout_ms)
        if answer is None:
            print(f"cl_status: no answer from {args.args[0]} within {timeout_ms} ms", file=sys.stderr)
            return EXIT_FAIL
        print(answer)
        return EXIT_OK if answer in ("online", "join") else EXIT_FAIL
    if command == "rscstatus":
        print(status.ask("rscstatus"))
        return EXIT_OK
    if command in ("hbparameter", "parameter"):
        if not _need(args, 1, f"{command} -p NAME"):
            return EXIT_USAGE
        value = status.ask("parameter", name=args.args[0])
        if value is None:
            print(f"cl_status: parameter {args.args[0]} is not set", file=sys.stderr)
            return EXIT_FAIL
        print(value)
        return EXIT_OK
    if command == "counters":
        prefix = args.args[0] if args.args else ""
        for name, value in sorted(status.ask("counters").items()):
            if name.startswith(prefix):
                print(f"{name}\t{value}")
        return EXIT_OK
    if command == "auth":
        info = status.ask("auth")
        print(f"sending with key {info['sending_key']} ({info['method']}), wanted {info['wanted_key']}, "
              f"holding {','.join(map(str, info['held']))}")
        for peer, held in sorted(info["peers"].items()):
            print(f"\t{peer}\tholds {','.join(map(str, held)) or '?'}")
        return EXIT_OK
    print(f"cl_status: {command}: invalid sub-command.", file=sys.stderr)
    return EXIT_USAGE


def overview(status: Status) -> dict:
    info = status.ask("hbstatus")
    nodes = status.ask("nodes")
    links = status.ask("links")
    for node in nodes:
        node["links"] = {row["link"]: row["status"] for row in links if row["node"] == node["name"]}
    return {"node": info["node"], "status": info["status"], "generation": info["generation"], "nodes": nodes,
            "auth": status.ask("auth"),
            "drops": {k: v for k, v in status.ask("counters").items() if k.startswith("dropped_")}}


def print_overview(status: Status) -> None:
    for node in overview(status)["nodes"]:
        print(f"{node['name']}\t{node['status']}\t(nodetype: {node['type']})")
        for link, state in sorted(node["links"].items()):
            print(f"\t{link}\t{state}")


def status_main(argv: Optional[list[str]] = None) -> int:
    """`hb status [--json]`: every node and link as this node sees them."""
    parser = argparse.ArgumentParser(prog="hb status", description=status_main.__doc__)
    pathmod.add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    client = Client(pathmod.from_args(args), "messaging")
    try:
        status = Status(client)
        data = overview(status)
        if args.json:
            print(json.dumps(data, sort_keys=True))
        else:
            print(f"{data['node']}: {data['status']} (generation {data['generation']})")
            print_overview(status)
        return EXIT_OK
    except (DaemonUnavailable, RuntimeError) as exc:  # not running, or refused (permission denied)
        print(f"hb status: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
