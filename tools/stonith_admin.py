"""`hb stonith`: talk to the fencing daemon of this node (Pacemaker's stonith_admin, in short), and
`meatclient`: cluster-glue's manual confirmation.

    hb stonith fence NODE [--action reboot|off|on] [--timeout S] [--delay S]
                                  fence NODE and wait for the outcome (exit 0 fenced, 1 failed)
    hb stonith history [NODE] [--json]
                                  every fencing this node knows of (every node records every result)
    hb stonith list NODE          which device of which node can fence NODE (asks every stonithd)
    hb stonith confirm NODE       manual confirmation: NODE is down (powered off by hand); the
                                  cluster treats it as fenced, and a fencing waiting on it succeeds
    meatclient -c NODE            the same confirmation, as cluster-glue's meatclient asks for it

Exit status 102 when stonithd does not answer (as Pacemaker's tools when the cluster cannot be
reached), 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Optional, TextIO

from core import ipc
from core.messages import stonith as st
from core.paths import NodePaths, add_arguments, from_args

EXIT_UNAVAILABLE = 102


class Unavailable(RuntimeError):
    pass


def _client(paths: NodePaths) -> ipc.Client:
    return ipc.Client(paths, "stonithd")


def _request(client: ipc.Client, msg: Any, timeout_ms: int = 5000) -> Any:
    try:
        return client.request(msg, timeout_ms)
    except ipc.DaemonUnavailable as exc:
        raise Unavailable(f"stonithd on this node did not answer: {exc}") from None


def fence(paths: NodePaths, target: str, action: str, timeout_s: float, delay_s: float,
          out: TextIO) -> int:
    client = _client(paths)
    try:
        _request(client, st.StSignOn(ipc.next_request_id(), "hb-stonith", os.getpid()))
        result = _request(client, st.StFence(ipc.next_request_id(), target, action, int(timeout_s * 1000),
                                             int(delay_s * 1000), "hb stonith"))
        op_id = result["op_id"]
        # the outcome comes as a notice; bounded by the operation's timeout, its delay and slack
        deadline = time.monotonic() + delay_s + timeout_s * 3 + 10
        while time.monotonic() < deadline:
            msg = client.recv(timeout_ms=int(max(1, (deadline - time.monotonic()) * 1000)))
            if not isinstance(msg, st.StNotify):
                continue
            rec = msg.op
            if rec.get("target") != target or not rec.get("final"):
                continue
            if rec.get("state") == "done" and (rec.get("id") == op_id or action != "on"):
                out.write(f"{target} was fenced ({rec.get('action')}) by {rec.get('device')} on "
                          f"{rec.get('executor')}\n")
                return 0
            if rec.get("state") == "failed" and rec.get("id") == op_id:
                out.write(f"fencing {target} failed: {rec.get('reason')}\n")
                return 1
        out.write(f"no outcome of fencing {target} within {deadline:.0f} s\n")
        return 1
    finally:
        client.close()


def _when(seconds: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(seconds)))
    except (TypeError, ValueError, OverflowError):
        return "?"


def history(paths: NodePaths, target: str, as_json: bool, out: TextIO) -> int:
    client = _client(paths)
    try:
        records = _request(client, st.StHistory(ipc.next_request_id(), target))
    finally:
        client.close()
    if as_json:
        json.dump(records, out, indent=1, sort_keys=True)
        out.write("\n")
        return 0
    if not records:
        out.write(f"no fencing of {target} on record\n" if target else "no fencing on record\n")
    for rec in records:
        if rec.get("state") == "done":
            out.write(f"{rec.get('action')} of {rec.get('target')} successful: delegate={rec.get('executor')}, "
                      f"device={rec.get('device')}, client={rec.get('requester') or '?'}, "
                      f"origin={rec.get('origin') or '?'}, completed='{_when(rec.get('completed_s'))}'\n")
        else:
            out.write(f"{rec.get('action')} of {rec.get('target')} failed: client={rec.get('requester') or '?'}, "
                      f"origin={rec.get('origin') or '?'}, last-failed='{_when(rec.get('completed_s'))}' "
                      f"({rec.get('reason')})\n")
    return 0


def list_devices(paths: NodePaths, target: str, out: TextIO) -> int:
    client = _client(paths)
    try:
        result = _request(client, st.StQuery(ipc.next_request_id(), target), timeout_ms=70_000)
    finally:
        client.close()
    rows = result.get("devices") or []
    for row in rows:
        out.write(f"{row['device']} on {row['node']}\n")
    out.write(f"{len(rows)} device(s) can fence {target} (asked: {', '.join(result.get('asked') or [])})\n")
    return 0 if rows else 1


def confirm(paths: NodePaths, target: str, requester: str, out: TextIO) -> int:
    client = _client(paths)
    try:
        _request(client, st.StConfirm(ipc.next_request_id(), target, requester))
    finally:
        client.close()
    out.write(f"{target} is taken as fenced (manual confirmation)\n")
    return 0


def main(argv: Optional[list[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    parser = argparse.ArgumentParser(prog="hb stonith", description="fencing: fence, history, list, confirm")
    common = argparse.ArgumentParser(add_help=False)
    add_arguments(common)  # --confdir, --rundir, ... after the subcommand, as the other tools take them
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, parents=[common])
    p = add("fence", "fence a node and wait for the outcome")
    p.add_argument("node")
    p.add_argument("--action", choices=st.ACTIONS, default="reboot")
    p.add_argument("--timeout", type=float, default=0.0, help="seconds (default: stonith-timeout)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds to wait before the device runs")
    p = add("history", "fencing history as this node knows it")
    p.add_argument("node", nargs="?", default="")
    p.add_argument("--json", action="store_true")
    p = add("list", "which devices can fence a node")
    p.add_argument("node")
    p = add("confirm", "manual confirmation: the node is down")
    p.add_argument("node")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else 2
    paths = from_args(args)
    try:
        if args.command == "fence":
            return fence(paths, args.node, args.action, args.timeout or 60.0, args.delay, out)
        if args.command == "history":
            return history(paths, args.node, args.json, out)
        if args.command == "list":
            return list_devices(paths, args.node, out)
        return confirm(paths, args.node, "hb stonith confirm", out)
    except Unavailable as exc:
        err.write(f"hb stonith: {exc}\n")
        return EXIT_UNAVAILABLE
    except RuntimeError as exc:
        err.write(f"hb stonith: {exc}\n")
        return 1


def meatclient_main(argv: Optional[list[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """cluster-glue's `meatclient -c NODE`: confirm that NODE was reset by hand."""
    parser = argparse.ArgumentParser(prog="meatclient", description="confirm a manual reset (meatware)")
    add_arguments(parser)
    parser.add_argument("-c", dest="node", required=True, help="the node that was reset by hand")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else 2
    out.write(f"WARNING!\n\nIf node \"{args.node}\" has not been manually power-cycled or disconnected from all "
              "shared resources and networks, data on shared disks may become corrupted and migrated "
              "services might not work as expected.\n")
    try:
        return confirm(from_args(args), args.node, "meatclient", out)
    except Unavailable as exc:
        err.write(f"meatclient: {exc}\n")
        return EXIT_UNAVAILABLE
    except RuntimeError as exc:  # refused: stonithd's reason (e.g. permission denied: not root)
        err.write(f"meatclient: {exc}\n")
        return 1


def meatclient_console() -> None:
    sys.exit(meatclient_main())
