"""Where a node's files live, so several nodes can run on one host.

Precedence for each directory: command-line option, then environment variable, then the
classic default. The node name is `--node-name`, else `PYHB_NODENAME`, else `uname -n`
lower-cased (Heartbeat lower-cases it too).

| what        | option        | environment      | default                |
|-------------|---------------|------------------|------------------------|
| config dir  | --confdir     | PYHB_CONFDIR     | /etc/ha.d              |
| run dir     | --rundir      | PYHB_RUNDIR      | /run/pyheartbeat       |
| state dir   | --statedir    | PYHB_STATEDIR    | /var/lib/pyheartbeat   |
| node name   | --node-name   | PYHB_NODENAME    | uname -n               |

The run dir holds the ipc:// sockets and pid files; the state dir what must survive a restart
(generation number, node uuid, host cache).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Optional

DEFAULT_CONFDIR = "/etc/ha.d"
DEFAULT_RUNDIR = "/run/pyheartbeat"
DEFAULT_STATEDIR = "/var/lib/pyheartbeat"


@dataclass(frozen=True)
class NodePaths:
    confdir: str
    rundir: str
    statedir: str
    node_name: str

    @property
    def ha_cf(self) -> str:
        return os.path.join(self.confdir, "ha.cf")

    @property
    def authkeys(self) -> str:
        return os.path.join(self.confdir, "authkeys")

    @property
    def haresources(self) -> str:
        return os.path.join(self.confdir, "haresources")

    def endpoint(self, name: str) -> str:
        """The ipc:// address of a named local socket, e.g. endpoint('messaging')."""
        return f"ipc://{os.path.join(self.rundir, name + '.sock')}"

    def socket_path(self, name: str) -> str:
        return os.path.join(self.rundir, name + ".sock")

    def pidfile(self, name: str) -> str:
        return os.path.join(self.rundir, name + ".pid")

    def state_file(self, name: str) -> str:
        return os.path.join(self.statedir, name)

    def ensure_dirs(self) -> None:
        for d in (self.rundir, self.statedir):
            os.makedirs(d, mode=0o750, exist_ok=True)

    def environ(self) -> dict[str, str]:
        """The environment that makes a child process see this same node."""
        return {
            "PYHB_CONFDIR": self.confdir,
            "PYHB_RUNDIR": self.rundir,
            "PYHB_STATEDIR": self.statedir,
            "PYHB_NODENAME": self.node_name,
        }


def ocf_roots() -> list[str]:
    """Where OCF agents are looked for: `PYHB_OCF_ROOTS` (colon-separated; a lab puts its own
    agents first), else `$OCF_ROOT`, else /usr/lib/ocf. The first is the OCF_ROOT agents see."""
    listed = [p for p in os.environ.get("PYHB_OCF_ROOTS", "").split(":") if p]
    return listed or [os.environ.get("OCF_ROOT") or "/usr/lib/ocf"]


def default_node_name() -> str:
    return os.uname().nodename.split(".")[0].lower()


def resolve(confdir: Optional[str] = None, rundir: Optional[str] = None,
            statedir: Optional[str] = None, node_name: Optional[str] = None) -> NodePaths:
    env = os.environ
    return NodePaths(
        confdir=confdir or env.get("PYHB_CONFDIR") or DEFAULT_CONFDIR,
        rundir=rundir or env.get("PYHB_RUNDIR") or DEFAULT_RUNDIR,
        statedir=statedir or env.get("PYHB_STATEDIR") or DEFAULT_STATEDIR,
        node_name=(node_name or env.get("PYHB_NODENAME") or default_node_name()).lower(),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every daemon and CLI shares."""
    parser.add_argument("--confdir", help="configuration directory (default /etc/ha.d)")
    parser.add_argument("--rundir", help="runtime directory for sockets and pid files")
    parser.add_argument("--statedir", help="state directory (generation, uuid)")
    parser.add_argument("--node-name", help="this node's name (default: uname -n)")


def from_args(args: argparse.Namespace) -> NodePaths:
    return resolve(getattr(args, "confdir", None), getattr(args, "rundir", None),
                   getattr(args, "statedir", None), getattr(args, "node_name", None))
