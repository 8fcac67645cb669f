"""`hb_standby` and `hb_takeover`: Heartbeat 2's way to hand resources over by hand.

    hb_standby  [all|foreign|local|failback]    this node gives up resources (default all)
    hb_takeover [all|foreign|local|failback]    this node takes resources (back)

With haresources (`crm off`), a node's *local* resource groups are the haresources lines that
name it, the others are *foreign* to it; `failback` means `foreign` (give back, or take back,
what belongs to the other node). hb_standby moves the chosen groups away from this node;
hb_takeover has the other nodes give up the complement and lifts this node's own standby.
With the CRM (`crm yes`) only `all` has a meaning: hb_standby puts the node in standby,
hb_takeover takes it out again (what `crm_standby -v on|off -l reboot` does); the crmd refuses
the other words and says so.

The request goes to this node's crmd (`tools.crmclient.standby`), which has the DC carry it out;
the tool returns once the DC accepted it, and prints what Heartbeat printed (`Going standby
[all].`). The moves themselves follow (crm_mon shows them).

Exit status: 0 accepted; 1 bad argument (usage printed) or refused by the cluster (the reason is
printed); 102 the cluster is not running on this node.
"""

from __future__ import annotations

import sys
from typing import Optional, TextIO

from core import paths as pathmod
from tools.crmtool import EX_DISCONNECT, EX_ERROR, EX_OK, LiveCib, Parser, ToolError, UsageError, console

WHICH = ("all", "foreign", "local", "failback")


def usage(prog: str, takeover: bool) -> str:
    verb = "take over" if takeover else "give up"
    return (f"usage:\n{prog} [all|foreign|local|failback]\n\n"
            f"all:      {verb} every resource group\n"
            f"foreign:  {verb} the groups whose home (in haresources) is another node\n"
            f"local:    {verb} the groups whose home is this node\n"
            f"failback: the same as foreign\n")


def build_parser(prog: str) -> Parser:
    p = Parser(prog=prog, add_help=False)
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("which", nargs="?", default="all")
    pathmod.add_arguments(p)
    return p


def message(which: str, takeover: bool) -> str:
    """What the tool says once the request is accepted."""
    return f"Taking over [{which}]." if takeover else f"Going standby [{which}]."


def run(argv: list[str], takeover: bool, out: TextIO, err: TextIO) -> int:
    prog = "hb_takeover" if takeover else "hb_standby"
    try:
        ns = build_parser(prog).parse_args(argv)
    except UsageError:
        err.write(usage(prog, takeover))
        return EX_ERROR
    if ns.help:
        out.write(usage(prog, takeover))
        return EX_OK
    if ns.which not in WHICH:
        err.write(usage(prog, takeover))
        return EX_ERROR
    which = "foreign" if ns.which == "failback" else ns.which
    paths = pathmod.from_args(ns)
    try:
        LiveCib(paths).standby(which, takeover)
    except ToolError as exc:
        if exc.code == EX_DISCONNECT:
            err.write(f"{prog}: Heartbeat is not running on {paths.node_name} (its crmd does not "
                      f"answer on {paths.socket_path('crmd')}); start it first\n")
            return EX_DISCONNECT
        err.write(f"{prog}: {exc}\n")
        return EX_ERROR
    out.write(message(which, takeover) + "\n")
    return EX_OK


def standby_main(argv: Optional[list[str]] = None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv), False, sys.stdout, sys.stderr)


def takeover_main(argv: Optional[list[str]] = None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv), True, sys.stdout, sys.stderr)


def standby_console() -> None:
    console(standby_main)


def takeover_console() -> None:
    console(takeover_main)


if __name__ == "__main__":
    standby_console()
