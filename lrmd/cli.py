"""`hb lrm`: talk to the local resource manager (what cluster-glue's lrmadmin did).

    hb lrm classes | providers [TYPE] | types [CLASS] [--provider P]
    hb lrm metadata --class C [--provider P] --type T
    hb lrm add RSC --class C [--provider P] --type T [--param k=v]...
    hb lrm del RSC
    hb lrm list
    hb lrm exec RSC OP [--class C --provider P --type T] [--param k=v]... [--meta k=v]...
                       [--interval MS] [--timeout MS]      (exit status = the agent's OCF rc)
    hb lrm cancel RSC OP [--interval MS]
    hb lrm history [RSC] [--json]
    hb lrm status
    hb lrm install-agents [--ocf-root DIR] [--hadir DIR] [--force]   (no daemon needed)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Optional

from core import paths as pathmod
from core.ipc import Client, DaemonUnavailable, next_request_id
from core.messages import lrm as api
from lrmd.ocf import parse_heartbeat_spec, parse_param, rc_name

EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE
EXIT_USAGE = 2


def _params(items: Optional[list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, value = parse_param(item)
        out[name] = value
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hb lrm", description="local resource manager client")
    pathmod.add_arguments(p)
    p.add_argument("--wait-ms", type=int, default=5000, help="how long to wait for lrmd replies")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("classes")
    s = sub.add_parser("providers")
    s.add_argument("type", nargs="?")
    s = sub.add_parser("types")
    s.add_argument("rsc_class", nargs="?", default="ocf")
    s.add_argument("--provider")

    def resource_args(s: argparse.ArgumentParser, required: bool) -> None:
        s.add_argument("--class", dest="rsc_class", required=required)
        s.add_argument("--provider", default="")
        s.add_argument("--type", dest="rsc_type", required=required)
        s.add_argument("--param", action="append", metavar="NAME=VALUE")

    s = sub.add_parser("metadata")
    resource_args(s, True)
    s = sub.add_parser("add")
    s.add_argument("rsc_id")
    resource_args(s, True)
    s = sub.add_parser("del")
    s.add_argument("rsc_id")
    sub.add_parser("list")
    s = sub.add_parser("exec")
    s.add_argument("rsc_id")
    s.add_argument("operation")
    resource_args(s, False)
    s.add_argument("--meta", action="append", metavar="NAME=VALUE")
    s.add_argument("--interval", type=int, default=0, help="ms; > 0 makes the op recurring")
    s.add_argument("--timeout", type=int, default=20_000, help="ms")
    s.add_argument("--quiet", "-q", action="store_true", help="print only the result line")
    s = sub.add_parser("cancel")
    s.add_argument("rsc_id")
    s.add_argument("operation")
    s.add_argument("--interval", type=int, default=0)
    s = sub.add_parser("history")
    s.add_argument("rsc_id", nargs="?")
    s.add_argument("--json", action="store_true")
    sub.add_parser("status")
    s = sub.add_parser("install-agents")
    s.add_argument("--ocf-root", default="/usr/lib/ocf")
    s.add_argument("--hadir", help="also install the legacy scripts into HADIR/resource.d "
                                   "(default: the --confdir, /etc/ha.d)")
    s.add_argument("--no-legacy", action="store_true")
    s.add_argument("--force", action="store_true", help="overwrite files we did not install")
    return p


def _register_msg(rsc_id: str, args: argparse.Namespace) -> api.Register:
    params = _params(args.param)
    rsc_type = args.rsc_type
    if args.rsc_class == "heartbeat" and "::" in rsc_type:
        rsc_type, positional = parse_heartbeat_spec(rsc_type)
        params = {**positional, **params}
    return api.Register(request_id=next_request_id(), rsc_id=rsc_id, rsc_class=args.rsc_class,
                        rsc_type=rsc_type, provider=args.provider or "", params=params)


def format_result(res: api.OpResult) -> str:
    line = (f"{res.rsc_id}_{res.operation}_{res.interval_ms} (call {res.call_id}): rc={res.rc} "
            f"({rc_name(res.rc)}) status={res.status} exec={res.exec_ms}ms queue={res.queue_ms}ms")
    if res.exit_reason:
        line += f" reason: {res.exit_reason}"
    return line


def do_exec(client: Client, args: argparse.Namespace) -> int:
    if args.rsc_class:
        client.request(_register_msg(args.rsc_id, args), args.wait_ms)
    elif args.rsc_type or args.provider:
        print("hb lrm exec: --type/--provider need --class", file=sys.stderr)
        return EXIT_USAGE
    params = _params(args.param) if args.param and not args.rsc_class else None
    msg = api.Execute(request_id=next_request_id(), rsc_id=args.rsc_id, operation=args.operation,
                      interval_ms=args.interval, timeout_ms=args.timeout, params=params,
                      meta=_params(args.meta), notify=api.NOTIFY_EVERYTIME if args.interval else "")
    call_id = client.request(msg, args.wait_ms)["call_id"]
    deadline = time.monotonic() + (args.timeout + 20_000) / 1000.0
    while time.monotonic() < deadline:
        event = client.recv(timeout_ms=int(max(1, (deadline - time.monotonic()) * 1000)))
        if isinstance(event, api.OpResult) and event.call_id == call_id:
            print(format_result(event))
            if not args.quiet:
                if event.output:
                    sys.stdout.write(event.output if event.output.endswith("\n") else event.output + "\n")
                if event.stderr:
                    sys.stderr.write(event.stderr if event.stderr.endswith("\n") else event.stderr + "\n")
            return event.rc
    print(f"hb lrm exec: no result for call {call_id}", file=sys.stderr)
    return EXIT_UNAVAILABLE


def _print_history(history: dict[str, Any]) -> None:
    for rsc_id, h in sorted(history.items()):
        print(f"{rsc_id}:")
        for rec in h["recent"]:
            when = time.strftime("%H:%M:%S", time.localtime(rec.get("started_wall_s", 0)))
            reason = f" ({rec['exit_reason']})" if rec.get("exit_reason") else ""
            print(f"  {when} call {rec['call_id']:>5} {rec['operation']:<12} interval={rec['interval_ms']}ms "
                  f"rc={rec['rc']} {rec['status']} exec={rec['exec_ms']}ms queue={rec['queue_ms']}ms{reason}")
        for op in h["recurring"]:
            print(f"  recurring: call {op['call_id']} {op['operation']} every {op['interval_ms']}ms")


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    paths = pathmod.from_args(args)
    if args.command == "install-agents":
        from agents.install import install

        hadir = None if args.no_legacy else (args.hadir or paths.confdir)
        try:
            for path in install(args.ocf_root, hadir, args.force):
                print(path)
        except (FileExistsError, OSError) as exc:
            print(f"hb lrm install-agents: {exc}", file=sys.stderr)
            return 1
        return 0
    client = Client(paths, "lrmd")
    try:
        return _dispatch(client, args)
    except DaemonUnavailable as exc:
        print(f"hb lrm: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except RuntimeError as exc:
        print(f"hb lrm: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"hb lrm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        client.close()


def _dispatch(client: Client, args: argparse.Namespace) -> int:
    rid = next_request_id
    wait = args.wait_ms
    cmd = args.command
    if cmd == "classes":
        print("\n".join(client.request(api.Query(rid(), "classes"), wait)))
    elif cmd == "providers":
        print("\n".join(client.request(api.Query(rid(), "providers", {"rsc_type": args.type}), wait)))
    elif cmd == "types":
        print("\n".join(client.request(api.Query(rid(), "types", {"rsc_class": args.rsc_class,
                                                                  "provider": args.provider}), wait)))
    elif cmd == "metadata":
        sys.stdout.write(client.request(api.Metadata(rid(), args.rsc_class, args.rsc_type,
                                                     args.provider or ""), max(wait, 35_000)))
    elif cmd == "add":
        print(json.dumps(client.request(_register_msg(args.rsc_id, args), wait), sort_keys=True))
    elif cmd == "del":
        print(json.dumps(client.request(api.Unregister(rid(), args.rsc_id), wait), sort_keys=True))
    elif cmd == "list":
        for rsc in client.request(api.ListResources(rid()), wait):
            provider = f"{rsc['provider']}:" if rsc["provider"] else ""
            params = " ".join(f"{k}={v}" for k, v in sorted(rsc["params"].items()))
            print(f"{rsc['rsc_id']}\t{rsc['rsc_class']}:{provider}{rsc['rsc_type']}\t{params}")
    elif cmd == "exec":
        return do_exec(client, args)
    elif cmd == "cancel":
        print(json.dumps(client.request(api.Cancel(rid(), args.rsc_id, args.operation, args.interval), wait)))
    elif cmd == "history":
        history = client.request(api.History(rid(), args.rsc_id), wait)
        if args.json:
            print(json.dumps(history, indent=1, sort_keys=True))
        else:
            _print_history(history)
    elif cmd == "status":
        print(json.dumps(client.request(api.Query(rid(), "status"), wait), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
