"""`hb membership` and `crm_node`: the agreed membership as the local ccm daemon reports it.

    hb membership            instance, leader, quorum (votes), and every node's state
    hb membership --json     {"instance": N, "members": ["node1", ...], "quorum": true|false}

    crm_node -l              one line per node: "<id> <name> <member|lost>" (id: position in ha.cf)
    crm_node -p              the members of this partition, space separated
    crm_node -q              1 if this partition has quorum, else 0
    crm_node -n              this node's name
    crm_node -i              this node's id

Exit status 0, or 1 when the ccm daemon does not answer (it is not running here).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Optional

from core import ipc
from core import paths as pathmod
from core.config.load import read_hacf
from core.errors import ConfigError
from core.ipc import Client, DaemonUnavailable
from core.messages.ccm import CcmQuery

EXIT_OK, EXIT_FAIL = 0, 1


def ask(paths: pathmod.NodePaths, what: str, timeout_ms: int = 2000) -> Any:
    client = Client(paths, "ccm")
    try:
        return client.request(CcmQuery(ipc.next_request_id(), what), timeout_ms)
    finally:
        client.close()


def render(view: dict, nodes: list[dict]) -> str:
    if not view["instance"]:
        head = f"{view['node']}: no membership view yet"
    else:
        head = (f"Membership instance {view['instance']} (leader {view['leader']}): "
                f"{len(view['members'])} member{'s' if len(view['members']) != 1 else ''}, "
                f"quorum {'yes' if view['quorum'] else 'no'} "
                f"({view['votes']} of {view['total_votes']} votes, {view['votes_needed']} needed)")
    lines = [head]
    members = dict(zip(view["members"], view["incarnations"]))
    for node in nodes:
        name = node["name"]
        state = "member" if name in members else "lost"
        detail = f"incarnation {members[name]}" if name in members else f"messaging: {node['messaging']}"
        me = f"  (this node, uuid {view['uuid']})" if name == view["node"] and view.get("uuid") else \
            ("  (this node)" if name == view["node"] else "")
        votes = "" if node["votes"] else "  (no vote)"
        late = "  (its states come late: a lossy link?)" if node.get("late") else ""
        lines.append(f"  {name:<16} {state:<7} {detail}{votes}{late}{me}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hb membership", description="the agreed cluster membership and quorum")
    pathmod.add_arguments(parser)
    parser.add_argument("--json", action="store_true", help='{"instance": N, "members": [...], "quorum": bool}')
    args = parser.parse_args(argv)
    paths = pathmod.from_args(args)
    try:
        view = ask(paths, "view")
        nodes = [] if args.json else ask(paths, "nodes")
    except (DaemonUnavailable, RuntimeError) as exc:
        print(f"hb membership: {exc}", file=sys.stderr)
        return EXIT_FAIL
    if args.json:
        print(json.dumps({"instance": view["instance"], "members": view["members"], "quorum": view["quorum"]}))
    else:
        print(render(view, nodes))
    return EXIT_OK


def _configured_nodes(paths: pathmod.NodePaths) -> list[str]:
    try:
        return list(read_hacf(paths.ha_cf).nodes)
    except (ConfigError, OSError):
        return []


def crm_node_main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="crm_node", description="cluster membership, the classic way")
    pathmod.add_arguments(parser)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("-l", "--list", action="store_true", help="every node: id name member|lost")
    group.add_argument("-p", "--partition", action="store_true", help="the members of this partition")
    group.add_argument("-q", "--quorum", action="store_true", help="1 with quorum, else 0")
    group.add_argument("-n", "--name", action="store_true", help="this node's name")
    group.add_argument("-i", "--nodeid", action="store_true", help="this node's id")
    args = parser.parse_args(argv)
    paths = pathmod.from_args(args)
    configured = _configured_nodes(paths)
    if args.name:
        print(paths.node_name)
        return EXIT_OK
    if args.nodeid:
        if paths.node_name not in configured:
            print(f"crm_node: {paths.node_name} is not in ha.cf", file=sys.stderr)
            return EXIT_FAIL
        print(configured.index(paths.node_name) + 1)
        return EXIT_OK
    try:
        view = ask(paths, "view")
        nodes = ask(paths, "nodes") if args.list else []
    except (DaemonUnavailable, RuntimeError) as exc:
        print(f"crm_node: could not connect to the membership daemon: {exc}", file=sys.stderr)
        return EXIT_FAIL
    if args.quorum:
        print(1 if view["quorum"] else 0)
    elif args.partition:
        print(" ".join(view["members"]))
    else:
        members = set(view["members"])
        for node in nodes:
            name = node["name"]
            ident = configured.index(name) + 1 if name in configured else 0
            print(f"{ident} {name} {'member' if name in members else 'lost'}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
