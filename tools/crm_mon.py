"""`crm_mon`: the cluster's status, as Pacemaker 2.1.5's crm_mon shows it.

    crm_mon -1 [-r] [-f] [-A] [-o] [-n] [-t] [-R] [-D]     one text snapshot
    crm_mon --output-as xml | -X | --output-as json        machine-readable snapshot
    crm_mon [-i SECONDS]                                   refresh until Ctrl-C
    crm_mon -x FILE | CIB_file=FILE crm_mon                a saved CIB instead of the cluster

Text and XML are Pacemaker's byte for byte (except the "Last updated" time), so scripts and
monitoring written for crm_mon keep working; JSON is this project's own format
(`tools.monjson`, docs/crm_mon.md). The status itself is the policy engine's
(`pengine.engine.unpack_cib`), never re-derived here.

Like crm_mon, a CIB file (and XML/JSON output) means one snapshot. Otherwise the live CIB is
asked for (`tools.cibsource.fetch_live_cib`) every interval: on a terminal the screen is
redrawn, elsewhere each snapshot follows the previous one after a blank line. Ctrl-C (or
SIGTERM) ends it with status 0.

Exit status: 0 status shown; 64 bad command line; 102 cluster not reachable (one snapshot
asked for); 66 CIB file unreadable, 65 not well-formed XML, 78 not a CIB (crm_mon itself
prints an error but exits 0 for these).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TextIO

from core import paths as pathmod
from core.cib.xmltree import XNode, parse_xml
from core.errors import ConfigError
from tools import ctext

PROG = "crm_mon"
DEFAULT_INTERVAL = 2.0

# section names (pcmk_section_e) and the groups --include/--exclude accept
SUMMARY = ("stack", "dc", "times", "counts", "maint-mode")
FENCING = ("fencing-failed", "fencing-pending", "fencing-succeeded")
ALL_SECTIONS = SUMMARY + ("options", "nodes", "resources", "attributes", "failcounts",
                          "operations", "tickets", "bans", "failures") + FENCING
SECTION_WORDS = ("all, attributes, bans[:PREFIX], counts, dc, default, failcounts, failures, "
                 "fencing, fencing-failed, fencing-pending, fencing-succeeded, maint-mode, "
                 "nodes, none, operations, options, resources, stack, summary, tickets, times")

EPILOG = """\
sections for --include/--exclude: """ + SECTION_WORDS + """

The CIB is read from -x FILE or the CIB_file environment variable when given, else from the
running cluster. Examples:
  crm_mon -1                  the status once
  crm_mon -1 -rfA             also inactive resources, fail counts and node attributes
  crm_mon --output-as xml     Pacemaker's XML (API 2.25), once
  crm_mon --output-as json    this project's JSON (docs/crm_mon.md), once
  crm_mon -i 5                redraw every 5 seconds until Ctrl-C"""


class UsageError(Exception):
    """Bad command line; str() says what."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


class _Sections(argparse.Action):
    """Options that include/exclude sections are applied in command-line order, as crm_mon
    applies its --include/--exclude list: each appends (include|exclude, words)."""

    def __init__(self, option_strings, dest, op: str = "include", words: Optional[str] = None,
                 **kw) -> None:
        self.op, self.words = op, words
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        ops = getattr(namespace, "section_ops", None) or []
        if self.words is None:
            words = values
        elif self.words == "bans":
            words = "bans" if values is None else f"bans:{values}"
        else:
            words = self.words
        ops.append((self.op, words))
        namespace.section_ops = ops


class _Timing(_Sections):
    """-t: timing details, and the operations section (included at this point of the line)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        namespace.timing_details = True
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, add_help=False, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Provides a summary of the cluster's current state.")
    p.add_argument("-?", "-h", "--help", action="store_true", help="show this help")
    p.add_argument("--version", action="store_true", help="show the version")
    p.add_argument("-1", "--one-shot", action="store_true",
                   help="display the cluster status once and exit")
    p.add_argument("-i", "--interval", metavar="TIMESPEC",
                   help=f"refresh period (default {DEFAULT_INTERVAL:g} seconds; "
                        "units ms/s/m/h or ISO 8601)")
    p.add_argument("--output-as", metavar="FORMAT", choices=("text", "xml", "json"),
                   help="text (default), xml (Pacemaker's) or json (this project's)")
    p.add_argument("--output-to", metavar="DEST", help="write to DEST instead of stdout")
    p.add_argument("-X", "--as-xml", action="store_true",
                   help="old XML format (<crm_mon version=...>); use --output-as xml")
    p.add_argument("-N", "--disable-ncurses", action="store_true",
                   help="plain text (the only console mode here)")
    p.add_argument("-s", "--simple-status", action="store_true",
                   help="one line for monitoring plug-ins (CLUSTER OK/WARN)")
    p.add_argument("-x", "--xml-file", metavar="FILE",
                   help="read the CIB from FILE (as CIB_file=FILE does)")
    g = p.add_argument_group("display options")
    g.add_argument("-r", "--inactive", action="store_true", help="display inactive resources")
    g.add_argument("-n", "--group-by-node", action="store_true", help="group resources by node")
    g.add_argument("-f", "--failcounts", action=_Sections, nargs=0, words="failcounts",
                   help="display resource fail counts")
    g.add_argument("-o", "--operations", action=_Sections, nargs=0,
                   words="failcounts,operations", help="display resource operation history")
    g.add_argument("-t", "--timing-details", action=_Timing, nargs=0, words="operations",
                   default=False, help="operation history with timing details")
    g.add_argument("-A", "--show-node-attributes", action=_Sections, nargs=0,
                   words="attributes", help="display node attributes")
    g.add_argument("-L", "--neg-locations", action=_Sections, nargs="?", words="bans",
                   metavar="PREFIX", help="display negative location constraints "
                                          "[whose id starts with PREFIX]")
    g.add_argument("-c", "--tickets", action=_Sections, nargs=0, words="tickets",
                   help="display cluster tickets")
    g.add_argument("-D", "--hide-headers", action=_Sections, nargs=0, op="exclude",
                   words="summary", help="hide the summary")
    g.add_argument("-b", "--brief", action="store_true", help="brief output")
    g.add_argument("-R", "--show-detail", action="store_true",
                   help="more details (node ids, every clone instance, ...)")
    g.add_argument("-I", "--include", action=_Sections, metavar="SECTION(s)",
                   help="sections to include (comma separated)")
    g.add_argument("-U", "--exclude", action=_Sections, op="exclude", metavar="SECTION(s)",
                   help="sections to exclude (comma separated)")
    g.add_argument("-Q", "--quiet", action="store_true", help="leave the times out")
    pathmod.add_arguments(p)
    p.add_argument("--iterations", type=int, help=argparse.SUPPRESS)  # tests: stop after N
    return p


@dataclass
class Options:
    fmt: str = "text"                 # text, xml, legacy-xml, json, simple
    one_shot: bool = False
    interval: float = DEFAULT_INTERVAL
    sections: set[str] = field(default_factory=set)
    ban_prefix: Optional[str] = None
    inactive: bool = False
    by_node: bool = False
    details: bool = False
    brief: bool = False
    timing: bool = False
    cib_file: Optional[str] = None
    output_to: Optional[str] = None
    iterations: Optional[int] = None
    paths: Optional[pathmod.NodePaths] = None
    request: str = PROG
    help: bool = False
    version: bool = False


def _apply(sections: set[str], op: str, words: str, fmt: str, opts: Options) -> None:
    """apply_include / apply_exclude for one comma-separated list."""
    everything = set(ALL_SECTIONS) - ({"options"} if fmt in ("text", "simple") else set())
    for word in words.split(","):
        if op == "include":
            if word == "all":
                sections |= everything
            elif word.startswith("bans"):
                sections.add("bans")
                opts.ban_prefix = word[5:] if len(word) > 4 and word[4] == ":" else None
            elif word in ("default", "defaults"):
                sections |= _defaults(fmt)
            elif word == "none":
                sections.clear()
            elif word in ALL_SECTIONS or word in ("summary", "fencing"):
                sections |= _expand(word)
            else:
                raise UsageError(f"--include options: {SECTION_WORDS}")
        else:
            if word == "all":
                sections.clear()
            elif word == "none":
                sections |= everything
            elif word in ALL_SECTIONS or word in ("summary", "fencing"):
                sections -= _expand(word)
            else:
                raise UsageError(f"--exclude options: {SECTION_WORDS}")


def _expand(word: str) -> set[str]:
    return set(SUMMARY if word == "summary" else FENCING if word == "fencing" else (word,))


def _defaults(fmt: str) -> set[str]:
    if fmt in ("xml", "legacy-xml", "json"):
        return set(ALL_SECTIONS)
    return set(SUMMARY) | {"nodes", "resources", "failures"}


def parse_args(argv: list[str], environ: Optional[dict[str, str]] = None) -> Options:
    environ = os.environ if environ is None else environ
    ns = build_parser().parse_args(argv)
    opts = Options(help=ns.help, version=ns.version)
    if ns.help or ns.version:
        return opts
    if ns.simple_status:
        opts.fmt, opts.one_shot = "simple", True
    elif ns.as_xml:
        opts.fmt = "legacy-xml"
    elif ns.output_as is not None:
        opts.fmt = ns.output_as
    opts.one_shot = opts.one_shot or ns.one_shot
    opts.inactive, opts.by_node, opts.details = ns.inactive, ns.group_by_node, ns.show_detail
    opts.timing = ns.timing_details
    opts.brief = ns.brief
    opts.output_to = ns.output_to
    opts.iterations = ns.iterations
    if ns.interval is not None:
        from core.cib.durations import interval_ms, msec
        if msec(ns.interval) is None and not ns.interval.startswith("P"):
            raise UsageError(f"Invalid value for -i: {ns.interval}")
        opts.interval = interval_ms(ns.interval) / 1000.0
        if opts.interval <= 0:
            raise UsageError(f"Invalid value for -i: {ns.interval} (must be more than 0)")
    opts.cib_file = ns.xml_file or environ.get("CIB_file") or None
    if opts.cib_file is not None or opts.fmt in ("xml", "legacy-xml", "json", "simple") \
            or opts.output_to is not None:
        opts.one_shot = True  # as crm_mon: nothing will change in a file; XML is one document
    ops = list(getattr(ns, "section_ops", None) or [])
    if ns.quiet:
        ops.insert(0, ("exclude", "times"))
    opts.sections = _defaults(opts.fmt)
    for op, words in ops:
        _apply(opts.sections, op, words, opts.fmt, opts)
    if opts.fmt in ("xml", "legacy-xml"):
        opts.inactive = True
        opts.timing = True
    opts.paths = pathmod.from_args(ns)
    return opts


# ------------------------------------------------------------------------------------------------
# one snapshot

class SourceError(Exception):
    """The CIB could not be had; `code` is the exit status, str() the message."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def read_cib(opts: Options) -> XNode:
    """The CIB from the file, else from the cluster (tools.cibsource, looked up at call time so
    another implementation can be put in place)."""
    if opts.cib_file is not None:
        try:
            with open(opts.cib_file, "rb") as handle:
                data: bytes | str = handle.read()
        except OSError as exc:
            raise SourceError(f"cannot read the CIB from {opts.cib_file}: "
                              f"{exc.strerror or exc}", ctext.EXIT_NOINPUT) from None
        where = opts.cib_file
    else:
        from tools import cibsource
        assert opts.paths is not None
        try:
            data = cibsource.fetch_live_cib(opts.paths)
        except (RuntimeError, OSError) as exc:
            raise SourceError(f"Connection to cluster failed: {exc}",
                              ctext.EXIT_DISCONNECT) from None
        where = "the live CIB"
    try:
        cib = parse_xml(data, where)
    except ConfigError as exc:
        raise SourceError(f"{exc}", ctext.EXIT_DATAERR) from None
    if cib.tag != "cib":
        raise SourceError(f"{where}: the document is a <{cib.tag}>, not a <cib>",
                          ctext.EXIT_CONFIG)
    return cib


# unsupported features that only change scheduling decisions, not the status shown
_DISPLAY_IRRELEVANT = ("placement-strategy", "node-health-strategy", "live migration (allow",
                       "clone notifications", "ordering with", "colocation with")


def unsupported_notes(unsupported: list[str]) -> list[str]:
    """What the engine could not model that may make this status incomplete."""
    return [f"{PROG}: warning: not supported here, the status may be incomplete: {what}"
            for what in unsupported if not what.startswith(_DISPLAY_IRRELEVANT)]


def render(cib: XNode, opts: Options, now: float) -> tuple[str, list[str]]:
    """The output for one CIB (and warnings for stderr)."""
    from pengine.engine import unpack_cib
    from tools import monjson, montext, monstatus, monxml
    ws = unpack_cib(cib, _dt.datetime.fromtimestamp(int(now), tz=_dt.timezone.utc))
    ws.show_pending = True
    need_bans = opts.fmt in ("xml", "legacy-xml", "json") or "bans" in opts.sections
    st = monstatus.build_status(ws, with_bans=need_bans)
    notes = unsupported_notes(ws.unsupported)
    now_text = ctext.ctime(now)
    if opts.fmt in ("xml", "legacy-xml"):
        return monxml.document(st, opts.sections, now_text, opts.request,
                               legacy=opts.fmt == "legacy-xml", by_node=opts.by_node,
                               ban_prefix=opts.ban_prefix), notes
    if opts.fmt == "json":
        return monjson.render(st, int(now)), notes
    if opts.fmt == "simple":
        line, _warn = montext.simple_status(st)
        return line + "\n", notes
    text_opts = montext.TextOptions(inactive=opts.inactive, by_node=opts.by_node,
                                    details=opts.details, timing=opts.timing,
                                    brief=opts.brief,
                                    ban_prefix=opts.ban_prefix)
    return montext.render(ws, st, frozenset(opts.sections), now_text, text_opts), notes


def snapshot(opts: Options, now: Optional[float] = None) -> tuple[str, list[str]]:
    """Read the CIB and render it; raises SourceError."""
    return render(read_cib(opts), opts, time.time() if now is None else now)


def error_output(opts: Options, message: str, code: int) -> tuple[str, str]:
    """(stdout, stderr) for a failure, in the chosen format (crm_mon reports errors inside
    the XML document too)."""
    if opts.fmt == "xml":
        from tools import monxml
        return monxml.document(None, (), "", opts.request, exit_code=code,
                               errors=[f"{PROG}: {message}"]), ""
    if opts.fmt == "simple":
        return f"CLUSTER CRIT: {message}\n", ""
    return "", f"{PROG}: {message}\n"


# ------------------------------------------------------------------------------------------------
# the command

class _Stop(Exception):
    """SIGTERM: end the refresh loop like Ctrl-C."""


def _on_sigterm(signum, frame) -> None:
    raise _Stop()


CLEAR = "\x1b[H\x1b[2J"


def watch(opts: Options, out: TextIO, err: TextIO,
          sleep: Callable[[float], None] = time.sleep) -> int:
    """Redraw every interval until interrupted (or --iterations snapshots were shown)."""
    interactive = out.isatty()
    shown = 0
    warned = False
    # both signals end the loop whatever the disposition we inherited, as Pacemaker's crm_mon
    # installs its own handlers: a shell starting us in the background without job control
    # leaves SIGINT ignored, and `kill -INT` would then not stop the refresh
    previous: Optional[dict[int, Any]] = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread (a test driving main() from a thread)
        previous = None
    try:
        while opts.iterations is None or shown < opts.iterations:
            try:
                text, notes = snapshot(opts)
            except SourceError as exc:
                text = (f"Waiting until cluster is available on this node ...\n"
                        f"{PROG}: {exc}; trying again in {opts.interval:g} s\n")
                notes = []
            if interactive:
                out.write(CLEAR)
            elif shown:
                out.write("\n")
            out.write(text)
            out.flush()
            if notes and not warned:  # the same every time: said once
                err.write("".join(note + "\n" for note in notes))
                warned = True
            shown += 1
            if opts.iterations is not None and shown >= opts.iterations:
                break
            sleep(opts.interval)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        for sig, handler in (previous or {}).items():
            if handler is not None:  # (None: set outside Python; nothing of ours to undo)
                signal.signal(sig, handler)
    return ctext.EXIT_OK


def main(argv: Optional[list[str]] = None, prog: str = PROG) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        opts = parse_args(args)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n{build_parser().format_usage()}")
        return ctext.EXIT_USAGE
    opts.request = ctext.quote_cmdline([prog] + args)
    if opts.help:
        sys.stdout.write(build_parser().format_help())
        return ctext.EXIT_OK
    if opts.version:
        sys.stdout.write("crm_mon (pyheartbeat), compatible with Pacemaker 2.1.5\n")
        return ctext.EXIT_OK
    out: TextIO = sys.stdout
    if opts.output_to not in (None, "-"):
        try:
            out = open(opts.output_to, "w", encoding="utf-8")  # noqa: SIM115 (closed below)
        except OSError as exc:
            sys.stderr.write(f"{PROG}: cannot write {opts.output_to}: {exc.strerror}\n")
            return ctext.EXIT_ERROR
    try:
        if not opts.one_shot:
            return watch(opts, out, sys.stderr)
        try:
            text, notes = snapshot(opts)
        except SourceError as exc:
            stdout, stderr = error_output(opts, str(exc), exc.code)
            out.write(stdout)
            sys.stderr.write(stderr)
            return exc.code
        for note in notes:
            sys.stderr.write(note + "\n")
        out.write(text)
        return ctext.EXIT_OK
    finally:
        out.flush()
        if out is not sys.stdout:
            out.close()


def main_console() -> None:
    """The `crm_mon` console script. It echoes its command line in `request=` as crm_mon does,
    under the name it was called by (not the path of a Python file)."""
    prog = os.path.basename(sys.argv[0])
    if not prog or prog.endswith(".py"):
        prog = PROG
    try:
        code = main(sys.argv[1:], prog=prog)
    except BrokenPipeError:  # `crm_mon | head`: the reader is gone, nothing left to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = ctext.EXIT_OK
    except KeyboardInterrupt:  # Ctrl-C before a single snapshot was shown
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main_console()
