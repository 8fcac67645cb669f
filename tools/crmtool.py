"""What the CRM command-line tools (cibadmin, crm_resource, crm_attribute, crm_standby, hb_standby,
hb_takeover) share, so each of them is only its own command line and messages.

- Pacemaker's exit codes (crm_exit_t) and their texts: scripts written for Pacemaker test `$?`
  (105 "No such object", 108 "Requested item already exists", 102 "Not connected", ...).
- Where the CIB is: the running cluster (the local crmd through `tools.crmclient`; changes are
  carried out by the DC), or a file named by `CIB_file`, which Pacemaker's tools accept too. A
  change to a file is made the way the DC makes it (`crmd.requests`: same edits, same validation),
  so an administrator can prepare or repair a CIB while the cluster is down.
- The policy engine's view of a CIB (`pengine.engine.unpack_cib`, never re-derived here) and
  Pacemaker's way of finding a resource or a node by the name a user typed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from typing import Callable, Optional, TextIO

from core.cib.status import strip_clone_suffix
from core.cib.xmltree import XNode, parse_xml, to_xml
from core.daemon import pid_alive, read_pidfile
from core.errors import ConfigError
from core.paths import NodePaths
from pengine.model import CLONE, PRIMITIVE, Node, Resource, WorkingSet
from tools import crmclient
from tools.monstatus import first_resource, named

# Pacemaker's exit codes (include/crm/common/results.h) and crm_exit_str()'s texts for them
EX_OK = 0
EX_ERROR = 1
EX_INVALID_PARAM = 2
EX_UNIMPLEMENTED = 3
EX_INSUFFICIENT_PRIV = 4  # Pacemaker's CRM_EX_INSUFFICIENT_PRIV: refused by the sockets or the ACLs
EX_USAGE = 64
EX_SOFTWARE = 70
EX_TEMPFAIL = 75
EX_CONFIG = 78
EX_DISCONNECT = 102
EX_OLD = 103
EX_NOSUCH = 105
EX_EXISTS = 108
EX_MULTIPLE = 109
_EXIT_TEXT = {
    EX_OK: "OK", EX_ERROR: "Error occurred", EX_INVALID_PARAM: "Invalid parameter",
    EX_UNIMPLEMENTED: "Unimplemented", EX_USAGE: "Incorrect usage",
    EX_SOFTWARE: "Internal software bug", EX_TEMPFAIL: "Temporary failure, try again",
    EX_CONFIG: "Invalid configuration", EX_DISCONNECT: "Not connected",
    EX_OLD: "Update was older than existing configuration", EX_NOSUCH: "No such object",
    EX_EXISTS: "Requested item already exists", EX_MULTIPLE: "Multiple items match request",
}


def exit_text(code: int) -> str:
    """crm_exit_str: what `Error performing operation: ...` says for an exit code."""
    return _EXIT_TEXT.get(code, "Unknown exit status")


class ToolError(Exception):
    """A command that cannot be carried out: str() is the message, `code` the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class UsageError(Exception):
    """A bad command line; str() says what is wrong."""


class Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as UsageError (exit 64 like Pacemaker's tools, not 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def parse_command_line(parser: argparse.ArgumentParser, parse: Callable[[list[str]], argparse.Namespace],
                       argv: list[str], out: TextIO, err: TextIO, prog: str) -> tuple[Optional[argparse.Namespace], int]:
    """The options to go on with, or (None, exit status) once the command line is dealt with: a
    mistake (said on stderr with the usage, exit 64), --help or --version (on stdout, exit 0)."""
    try:
        ns = parse(argv)
    except UsageError as exc:
        err.write(f"{prog}: {exc}\n{parser.format_usage()}")
        return None, EX_USAGE
    if getattr(ns, "help", False):
        out.write(parser.format_help())
        return None, EX_OK
    if getattr(ns, "version", False):
        out.write(f"{prog} (pyheartbeat), compatible with Pacemaker 2.1.5\n")
        return None, EX_OK
    return ns, EX_OK


def crmd_error_code(message: str) -> int:
    """The exit code a refusal from the crmd means. The crmd answers in words (its requests are
    refused with `origin:line: ...` lines); these are the ones Pacemaker's CIB gives a code for."""
    if message.startswith("permission denied"):
        return EX_INSUFFICIENT_PRIV
    if "is already used" in message:
        return EX_EXISTS
    if (": error: " in message or "malformed XML" in message or "needs an id" in message
            or "without <configuration>" in message):
        return EX_CONFIG
    if (" to modify" in message or " to delete" in message or "unknown section" in message
            or "unknown CIB section" in message or "replacing <" in message
            or "no node " in message or "say which section" in message):
        return EX_NOSUCH
    if "retry" in message:
        return EX_TEMPFAIL
    return EX_ERROR


# ------------------------------------------------------------------------------------------------
# where the CIB is

class CibAccess:
    """The CIB a tool reads and changes. `live` tells whether a cluster carries the changes out
    (resources move) or they only go to a file."""

    live = False
    where = ""

    def query(self, section: Optional[str] = None) -> XNode:
        raise NotImplementedError

    def update(self, op: str, xml: str, section: Optional[str] = None, origin: str = "") -> None:
        raise NotImplementedError

    def version(self) -> tuple[int, int, int]:
        """(admin_epoch, epoch, num_updates) of the CIB."""
        raise NotImplementedError


def _version_of(root: XNode) -> tuple[int, int, int]:
    def number(name: str) -> int:
        try:
            return int(root.get(name) or 0)
        except ValueError:
            return 0
    return number("admin_epoch"), number("epoch"), number("num_updates")


class LiveCib(CibAccess):
    """The local crmd's replica; changes go to the DC (`tools.crmclient`)."""

    live = True

    def __init__(self, paths: NodePaths, timeout_ms: int = crmclient.DEFAULT_TIMEOUT_MS) -> None:
        self.paths = paths
        self.timeout_ms = timeout_ms
        self.where = f"the cluster (crmd on {paths.node_name})"

    def _stale(self) -> bool:
        """A socket left by a crmd that is gone (its pid file removed or its process dead): asking
        it would only wait for the timeout."""
        if not os.path.exists(self.paths.socket_path("crmd")):
            return False  # crmclient says "not running" itself
        pid = read_pidfile(self.paths.pidfile("crmd"))
        return pid is None or not pid_alive(pid)

    def _call(self, what: Callable[[], dict]) -> dict:
        if self._stale():
            raise ToolError(f"Could not connect to the CIB: the crmd is not running on "
                            f"{self.paths.node_name} (no live process in "
                            f"{self.paths.pidfile('crmd')}); start the cluster, or name a saved "
                            f"CIB with CIB_file=FILE", EX_DISCONNECT)
        try:
            result = what()
        except crmclient.CrmUnavailable as exc:
            raise ToolError(f"Could not connect to the CIB: {exc} (is the cluster running on "
                            f"{self.paths.node_name}? --rundir / PYHB_RUNDIR say where to look)",
                            EX_DISCONNECT) from None
        except crmclient.CrmError as exc:
            raise ToolError(str(exc), crmd_error_code(str(exc))) from None
        if isinstance(result, dict) and result.get("warning"):
            # a change made without a majority (crmd/machine.py, "Configuration changes")
            sys.stderr.write(f"warning: {result['warning']}\n")
        return result

    def query(self, section: Optional[str] = None) -> XNode:
        # a configuration section is picked out of <configuration> here: that way a section the
        # CIB does not have is "no such object" (as in Pacemaker) in file and live mode alike
        asked = "configuration" if section in KNOWN_SECTIONS else section
        reply = self._call(lambda: crmclient.query_cib(self.paths, asked, self.timeout_ms))
        try:
            root = parse_xml(str(reply["xml"]), "the live CIB")
        except ConfigError as exc:  # the crmd sent garbage: our bug, but say it plainly
            raise ToolError(f"the crmd sent a CIB that does not parse: {exc}", EX_SOFTWARE) from None
        if asked != section:
            assert section is not None
            found = root.find(section)
            if found is None:
                raise ToolError(f"the CIB has no {section} section", EX_NOSUCH)
            return found
        return root

    def update(self, op: str, xml: str, section: Optional[str] = None, origin: str = "") -> None:
        self._call(lambda: crmclient.update_cib(self.paths, op, xml, section, origin, self.timeout_ms))

    def version(self) -> tuple[int, int, int]:
        reply = self._call(lambda: crmclient.query_cib(self.paths, "crm_config", self.timeout_ms))
        admin, epoch, updates = (list(reply.get("version") or []) + [0, 0, 0])[:3]
        return int(admin), int(epoch), int(updates)

    def node_attr(self, node: str, name: str, value: Optional[str], lifetime: str) -> None:
        self._call(lambda: crmclient.node_attr(self.paths, node, name, value, lifetime, self.timeout_ms))

    def cleanup(self, rsc: str = "", node: str = "") -> None:
        self._call(lambda: crmclient.cleanup(self.paths, rsc, node, self.timeout_ms))

    def standby(self, which: str, takeover: bool) -> dict:
        return self._call(lambda: crmclient.standby(self.paths, which, takeover,
                                                    timeout_ms=self.timeout_ms))


class FileCib(CibAccess):
    """A CIB in a file (`CIB_file=FILE`): read it, change it as the DC would, write it back."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.where = path

    def _load(self) -> XNode:
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise ToolError(f"Could not connect to the CIB: {self.path}: {exc.strerror or exc}",
                            EX_NOSUCH) from None
        try:
            root = parse_xml(text, self.path)
        except ConfigError as exc:
            raise ToolError(f"Could not connect to the CIB: {exc}", EX_NOSUCH) from None
        if root.tag != "cib":
            raise ToolError(f"Could not connect to the CIB: {self.path}: the document is a "
                            f"<{root.tag}>, not a <cib>", EX_NOSUCH)
        return root

    def query(self, section: Optional[str] = None) -> XNode:
        root = self._load()
        if section is None:
            return root
        return select_section(root, section)

    def version(self) -> tuple[int, int, int]:
        return _version_of(self._load())

    def update(self, op: str, xml: str, section: Optional[str] = None, origin: str = "") -> None:
        from crmd import requests as rq
        from crmd.cib import Cib, CibError
        origin = origin or "<input>"
        operations = {"replace": rq.replace, "modify": rq.modify, "create": rq.create,
                      "delete": rq.delete}
        if op not in operations:
            raise ToolError(f"unknown CIB operation {op!r}", EX_SOFTWARE)
        try:
            cib = Cib(self._load())
            edits = operations[op](cib, section, xml, origin)
            problems = rq.check(cib, edits, origin, xml)
            if problems:
                raise ToolError("\n".join(problems), EX_CONFIG)
            cib.apply(edits)
        except CibError as exc:
            raise ToolError(str(exc), crmd_error_code(str(exc))) from None
        tmp = f"{self.path}.tmp{os.getpid()}"
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(to_xml(cib.root))
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ToolError(f"cannot write {self.path}: {exc.strerror or exc}", EX_ERROR) from None


def select_section(root: XNode, section: str) -> XNode:
    """The named section of a whole CIB (`configuration`, `status` or a configuration section),
    as the crmd answers a sectioned query."""
    if section == "cib":
        return root
    if section in ("configuration", "status"):
        found = root.find(section)
    elif section in KNOWN_SECTIONS:
        config = root.find("configuration")
        found = config.find(section) if config is not None else None
        if found is None:
            raise ToolError(f"the CIB has no {section} section", EX_NOSUCH)
    else:
        raise ToolError(f"unknown CIB section {section!r}", EX_NOSUCH)
    if found is None:
        raise ToolError(f"the CIB has no {section} section", EX_NOSUCH)
    return found


KNOWN_SECTIONS = ("crm_config", "nodes", "resources", "constraints", "rsc_defaults", "op_defaults",
                  "alerts", "fencing-topology", "acls", "tags")


def cib_access(paths: NodePaths, environ: Optional[dict[str, str]] = None,
               timeout_ms: int = crmclient.DEFAULT_TIMEOUT_MS) -> CibAccess:
    """`CIB_file` when set (as Pacemaker's tools), else the running cluster of this node."""
    environ = os.environ if environ is None else environ  # type: ignore[assignment]
    cib_file = environ.get("CIB_file")
    if cib_file:
        return FileCib(cib_file)
    return LiveCib(paths, timeout_ms)


# ------------------------------------------------------------------------------------------------
# the engine's view

def working_set(cib: XNode, now: Optional[_dt.datetime] = None) -> WorkingSet:
    """The policy engine's status of a CIB (what crm_mon shows), pending actions included."""
    from pengine.engine import unpack_cib
    ws = unpack_cib(cib, now or _dt.datetime.now(_dt.timezone.utc))
    ws.show_pending = True
    return ws


def find_node(ws: WorkingSet, name: str) -> Optional[Node]:
    """pe_find_node: a node by its name, ignoring case."""
    low = name.lower()
    for node in ws.nodes:
        if node.uname.lower() == low:
            return node
    return None


def _base_name_eq(rsc: Resource, name: str) -> bool:
    return strip_clone_suffix(rsc.id) == name


def find_resource(ws: WorkingSet, name: str, any_instance: bool = False) -> Optional[Resource]:
    """pe_find_resource_with_flags(renamed | anon [| any]): the first resource, depth first, whose
    id is `name`, or whose history name is (`renamed`), or, for an anonymous clone instance (any
    instance with `any_instance`), whose id without the `:N` suffix is."""
    return first_resource(ws, lambda rsc: named(rsc, name)
                          or ((any_instance or not rsc.unique) and _base_name_eq(rsc, name)))


def is_clone(rsc: Optional[Resource]) -> bool:
    return rsc is not None and rsc.variant == CLONE


def primitives(rsc: Resource) -> list[Resource]:
    """The primitives under rsc (itself if it is one), depth first in configuration order."""
    if rsc.variant == PRIMITIVE:
        return [rsc]
    out: list[Resource] = []
    for child in rsc.children:
        out.extend(primitives(child))
    return out


def in_anonymous_clone(rsc: Resource) -> bool:
    """An instance (or a member of an instance) of a clone whose instances are interchangeable."""
    parent = rsc.parent
    while parent is not None:
        if parent.variant == CLONE:
            return not parent.unique
        parent = parent.parent
    return False


# ------------------------------------------------------------------------------------------------
# output and the console script

class Output:
    """Pacemaker's text output: `info` to stdout unless quiet, `err` to stderr."""

    def __init__(self, out: TextIO, err: TextIO, quiet: bool = False) -> None:
        self.out = out
        self.err_stream = err
        self.quiet = quiet

    def info(self, text: str) -> None:
        if not self.quiet:
            self.out.write(text + "\n")

    def line(self, text: str) -> None:
        self.out.write(text + "\n")

    def err(self, text: str) -> None:
        self.err_stream.write(text + "\n")


def console(main: Callable[[list[str]], int]) -> None:
    """Run a tool's main(argv) as a console script: `tool | head` and Ctrl-C end it quietly."""
    try:
        code = main(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:  # the reader is gone: nothing left to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EX_OK
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
