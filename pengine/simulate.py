"""`hb simulate`: run the policy engine on a CIB file, like Pacemaker's crm_simulate.

    hb simulate -x CIB.xml [-S] [-s] [--node-up N] [--node-down N] [--node-fail N]
                [--op-inject rsc_op_interval@node=rc] [--op-fail ...] [--save-graph FILE]
                [-O FILE] [-t DATE] [--json]

This module is the shell: it reads files and the clock; the decisions are made by the pure
`pengine.engine`/`pengine.simexec` code it calls. The text output has crm_simulate 2.1.5's
shapes so the two can be compared line by line.
"""

from __future__ import annotations

import gc
import os
import sys

from core import datetimes as _dt
from core.cib import dates
from core.cib.validate import SCHEMA_DISABLED_WARNING, schema_disabled, validate
from core.cib.xmltree import XNode, parse_xml, parse_xml_file, to_xml
from core.errors import ConfigError
from pengine import display, dotfile, engine, simexec, summary
from pengine.graph import graph_xml
from pengine.jsonout import json_text
from pengine.placement import placement, transition_actions  # noqa: F401  (used by --json)

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Optional


# (short, long, takes a value, repeatable, help). Parsed by _option_pairs rather than argparse:
# for a small cluster the whole run takes about as long as importing argparse would.
# the modules this command may import while it runs (a variant's, when the CIB has one):
# core/codebundle.py puts them in the command's bundle too
ON_DEMAND_MODULES = tuple(engine.ON_DEMAND.values())

_OPTIONS = (
    ("x", "xml-file", True, False, "CIB to read (this or -p is required)"),
    ("p", "xml-pipe", False, False, "read the CIB from standard input"),
    ("L", "live-check", False, False, "read the running cluster's CIB (as crm_mon does)"),
    ("S", "simulate", False, False, "simulate the transition and show the resulting status"),
    ("X", "in-place", False, False, "like -S, and write the resulting CIB back to the -x file"),
    ("s", "show-scores", False, False, "show allocation scores"),
    ("R", "run", False, False, "compute the transition (without -R, -S, -s, -U, -G, -D or -F "
                               "only the status is shown, as crm_simulate does)"),
    ("Q", "quiet", False, False, "only essential output"),
    ("u", "node-up", True, True, "bring NODE online first"),
    ("d", "node-down", True, True, "take NODE offline first (cleanly)"),
    ("f", "node-fail", True, True, "make NODE fail first (lost, unclean)"),
    ("i", "op-inject", True, True, "inject an operation result first: rsc_op_interval@node=rc"),
    ("F", "op-fail", True, True, "make a simulated action fail: rsc_op_interval@node=rc"),
    ("q", "quorum", True, False, "set have-quorum first (true/false)"),
    ("w", "watchdog", True, False, "set have-watchdog first (an active watchdog device: true/false)"),
    ("g", "ticket-grant", True, True, "grant TICKET first"),
    ("r", "ticket-revoke", True, True, "revoke TICKET first"),
    ("b", "ticket-standby", True, True, "make TICKET standby first"),
    ("e", "ticket-activate", True, True, "activate TICKET first"),
    ("t", "set-datetime", True, False, "pretend 'now' is DATE"),
    ("U", "show-utilization", False, False, "show utilization information"),
    ("A", "show-attrs", False, False, "show node attributes"),
    ("c", "show-failcounts", False, False, "show resource fail counts and failed actions"),
    ("I", "save-input", True, False, "write the CIB scheduled (after the modifications) to FILE"),
    ("G", "save-graph", True, False, "write the transition graph to FILE"),
    ("O", "save-output", True, False, "write the CIB after the simulated transition to FILE"),
    ("D", "save-dotfile", True, False, "write the transition graph in dot(1) format to FILE"),
    ("a", "all-actions", False, False, "with -D, every action: optional ones and those of "
                                       "unmanaged resources too"),
    (None, "json", False, False, "print placement after the transition and its actions as JSON"),
)
USAGE = "usage: hb simulate -x CIB.xml|-p|-L [-S] [-s] [-U] [-A] [-c] [-R] [-Q] [-u NODE] [-d NODE] " \
        "[-f NODE] [-i SPEC] [-F SPEC] [-q true|false] [-w true|false] [-g|-r|-b|-e TICKET] " \
        "[-t DATE] [-I FILE] [-G FILE] [-D FILE [-a]] [-O FILE] [-X] [--json]"


# The sections -A and -c add to a status (node attributes; fail counts and failed actions),
# drawn by crm_mon's renderer: `hb simulate` (tools/simulate.py) sets it, since pengine does
# not import tools. (working set, attributes, fail counts) -> the lines, None: not available.
STATUS_SECTIONS: Optional[Callable[[Any, bool, bool], list[str]]] = None
# -L: the running cluster's CIB as XML (tools/simulate.py sets it: asking the cluster needs the
# IPC that `pengine` does not import); RuntimeError with a message a user can act on
LIVE_CIB: Optional[Callable[[], str]] = None


class UsageError(Exception):
    """Bad command line; str() is the message."""


def _option_pairs(argv: list[str]) -> list[tuple[str, Optional[str]]]:
    """(long option name, value or None) for each option in argv, GNU style: combined short
    flags (-sSQ), a short option's value attached or next (-xFILE, -x FILE), --name=VALUE or
    --name VALUE, a long name abbreviated to any unique prefix, `--` ending the options.
    Written here rather than with getopt, whose gettext/locale imports cost every run more than
    this parsing does."""
    by_short = {short: (name, takes) for short, name, takes, _, _ in _OPTIONS if short}
    by_short["h"] = ("help", False)
    by_long = {name: takes for _, name, takes, _, _ in _OPTIONS}
    by_long["help"] = False
    pairs: list[tuple[str, Optional[str]]] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word == "--":
            if i < len(argv):
                raise UsageError(f"unexpected argument {argv[i]!r}")
            break
        if word.startswith("--"):
            given, has_value, value = word[2:].partition("=")
            matches = [given] if given in by_long else \
                [name for name in by_long if name.startswith(given)]
            if len(matches) != 1:
                raise UsageError(f"option --{given} not " +
                                 ("a unique prefix" if matches else "recognized"))
            name = matches[0]
            if not by_long[name]:
                if has_value:
                    raise UsageError(f"option --{name} must not have an argument")
                pairs.append((name, None))
                continue
            if not has_value:
                if i == len(argv):
                    raise UsageError(f"option --{name} requires argument")
                value = argv[i]
                i += 1
            pairs.append((name, value))
        elif word.startswith("-") and word != "-":
            j = 1
            while j < len(word):
                if word[j] not in by_short:
                    raise UsageError(f"option -{word[j]} not recognized")
                name, takes = by_short[word[j]]
                j += 1
                if not takes:
                    pairs.append((name, None))
                    continue
                if j < len(word):
                    pairs.append((name, word[j:]))
                elif i < len(argv):
                    pairs.append((name, argv[i]))
                    i += 1
                else:
                    raise UsageError(f"option -{word[j - 1]} requires argument")
                break
        else:
            raise UsageError(f"unexpected argument {word!r}")
    return pairs


class Options:
    """The options of one command line, one attribute each (what `parse_args` fills): a plain
    class rather than types.SimpleNamespace, whose module `hb simulate` would load for it."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return "Options(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


def parse_args(argv: list[str]) -> Options:
    """crm_simulate-compatible options (combined short flags like -sSQ work)."""
    pairs = _option_pairs(argv)
    args = Options(**{name.replace("-", "_"): ([] if many else (None if value else False))
                              for _, name, value, many, _ in _OPTIONS}, help=False)
    repeatable = {name: (takes, many) for _, name, takes, many, _ in _OPTIONS}
    for name, value in pairs:
        if name == "help":
            args.help = True
            continue
        takes, many = repeatable[name]
        attr = name.replace("-", "_")
        if many:
            getattr(args, attr).append(value)
        else:
            setattr(args, attr, value if takes else True)
    sources = (args.xml_file is not None) + bool(args.xml_pipe) + bool(args.live_check)
    if sources == 0 and not args.help:
        raise UsageError("-x/--xml-file, -p/--xml-pipe or -L/--live-check is required")
    if sources > 1:
        raise UsageError("-x/--xml-file, -p/--xml-pipe and -L/--live-check are exclusive")
    if args.in_place:  # crm_simulate's --in-place: simulate, the input file is the output
        if args.xml_file is None:
            raise UsageError("-X/--in-place needs -x/--xml-file")
        args.simulate, args.save_output = True, args.xml_file
    return args


def _help() -> str:
    lines = [USAGE, "", "Run the policy engine on a CIB (crm_simulate).", ""]
    for short, name, value, _, text in _OPTIONS:
        flags = (f"-{short}, " if short else "    ") + f"--{name}" + (" VALUE" if value else "")
        lines.append(f"  {flags:<28} {text}")
    return "\n".join(lines)


def _now(cib: XNode, option: Optional[str], lines: list[str]) -> _dt.datetime:
    if option is not None:
        lines.append(f"Setting effective cluster time: {option}")
        return dates.parse_date(option)
    original = cib.get("execution-date")
    if original is not None and original.strip().lstrip("-").isdigit() and int(original) != 0:
        when = dates.from_epoch(int(original))
        lines.append(f"Using the original execution date of: {dates.format_date(when)}")
        return when
    return _dt.datetime.now(tz=dates.UTC)


def _section(out: list[str], title: str, lines: list[str]) -> None:
    """A titled section; every section but the first is preceded by a blank line, as
    crm_simulate's list output does (its "info" lines, like the date, are not)."""
    if any(line.endswith(":") and not line.startswith(" ") for line in out):
        out.append("")
    out.append(f"{title}:")
    out.extend(lines)


def _extra_sections(ws: Any, args: Options) -> list[str]:
    """What -A and -c add after a status's resource list (crm_simulate's section_opts)."""
    if not (args.show_attrs or args.show_failcounts) or STATUS_SECTIONS is None:
        return []
    return STATUS_SECTIONS(ws, bool(args.show_attrs), bool(args.show_failcounts))


def _unhooked(args: Options) -> str:
    """Why an option cannot be served by this module alone (its hook is not set), or ""."""
    if (args.show_attrs or args.show_failcounts) and STATUS_SECTIONS is None:
        return "-A/-c are drawn by crm_mon's renderer: run `hb simulate`"
    if args.live_check and LIVE_CIB is None:
        return "-L asks the running cluster: run `hb simulate`"
    return ""


def run(argv: list[str], stdout=sys.stdout) -> int:
    try:
        args = parse_args(argv)
    except UsageError as exc:
        print(f"hb simulate: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    if args.help:
        stdout.write(_help() + "\n")
        return 0
    refused = _unhooked(args)
    if refused:
        print(f"hb simulate: {refused}", file=sys.stderr)
        return 2
    # One short computation over a large object graph that is dropped as a whole: the cyclic
    # collector would only re-scan it again and again (a third of the run time for 10,000
    # resources). Collection is paused for the run and resumed afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(args, stdout)
    finally:
        if collecting:
            gc.enable()


def _run(args: Options, stdout) -> int:
    if args.xml_pipe:
        args.xml_file = "<stdin>"
    if args.live_check:
        args.xml_file = "<live CIB>"
        assert LIVE_CIB is not None
        try:
            live = LIVE_CIB()
        except RuntimeError as exc:
            print(f"hb simulate: {exc}", file=sys.stderr)
            return 102  # crm_simulate's CRM_EX_DISCONNECT: the cluster could not be asked
    try:
        if args.live_check:
            cib = parse_xml(live, "<live CIB>")
        elif args.xml_pipe:
            cib = parse_xml(sys.stdin.buffer.read(), "<stdin>")
        else:
            cib = parse_xml_file(args.xml_file)  # in chunks: the file's bytes are not all kept
    except OSError as exc:
        print(f"hb simulate: cannot read {args.xml_file}: {exc.strerror}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"hb simulate: {exc}", file=sys.stderr)
        return 2
    if cib.tag != "cib":
        print(f"hb simulate: {args.xml_file}: root element is <{cib.tag}>, not <cib>",
              file=sys.stderr)
        return 2
    if schema_disabled(cib):  # update_validation writes this on stderr for crm_simulate
        print(SCHEMA_DISABLED_WARNING, file=sys.stderr)
    problems = validate(cib)
    for problem in problems:
        print(f"hb simulate: {problem.format(args.xml_file)}", file=sys.stderr)
    if any(problem.severity == "error" for problem in problems):
        return 2
    header: list[str] = []
    try:
        now = _now(cib, args.set_datetime, header)
    except dates.DateError as exc:
        print(f"hb simulate: {exc}", file=sys.stderr)
        return 2
    now_epoch = int(now.timestamp())
    if args.quiet:
        header = []  # crm_simulate -Q drops its informational lines too
    out: list[str] = list(header)
    ws = engine.unpack_cib(cib, now)
    if not args.json:
        if ws.maintenance_mode and not args.quiet:
            out.extend(["", "              *** Resource management is DISABLED ***",
                        "  The cluster will not attempt to start, stop or recover services"])
        counts = display.counts_line(ws)
        if counts is not None and not args.quiet:  # crm_simulate -Q prints no status at all
            out.append(counts)
        if len(out) > len(header):  # a blank line follows the banner/counts, not the date line
            out.append("")
        if not args.quiet:
            _section(out, "Current cluster status",
                     display.cluster_status(ws, show_pending=True) + _extra_sections(ws, args))
    # crm_simulate 2.1.5 applies its injections (a quorum setting included) only when a node
    # or operation is injected: `-q` on its own changes nothing (pcmk__simulate)
    tickets = [(kind, ticket) for kind in ("grant", "revoke", "standby", "activate")
               for ticket in getattr(args, f"ticket_{kind}")]
    modified = bool(args.node_up or args.node_down or args.node_fail or args.op_inject
                    or tickets or args.watchdog is not None)
    if modified:
        try:
            refused: list[str] = []
            mods = simexec.apply_modifications(cib, ws, args.node_up, args.node_down,
                                               args.node_fail, args.op_inject, now_epoch,
                                               args.quorum, args.watchdog, tickets, refused)
            for message in refused:
                print(message, file=sys.stderr)
        except ValueError as exc:
            print(f"hb simulate: {exc}", file=sys.stderr)
            return 2
        if not args.json and not args.quiet:
            _section(out, "Performing Requested Modifications", [f"  * {m}" for m in mods])
            out.extend(header)  # crm_simulate re-reads the CIB and says which date again
        ws = engine.unpack_cib(cib, now)
    if args.save_input:
        with open(args.save_input, "w", encoding="utf-8") as handle:
            handle.write(to_xml(cib))
    # crm_simulate schedules only when an option asks for what scheduling makes (pcmk_sim_process:
    # -R, -S, -X, -s, -U, -G, -D, -F); `hb simulate -x FILE` alone shows the status, as it does
    process = bool(args.run or args.simulate or args.show_scores or args.show_utilization
                   or args.save_graph or args.save_dotfile or args.op_fail or args.json
                   or args.save_output)
    if not process:
        while out and out[-1] == "":
            out.pop()
        if out:
            stdout.write("\n".join(out) + "\n")
        return 0
    ws.show_utilization = bool(args.show_utilization)
    ws = engine.schedule(cib, now, show_scores=args.show_scores, ws=ws)
    if ws.unsupported:
        for what in ws.unsupported:
            print(f"hb simulate: unsupported: {what}", file=sys.stderr)
    if (args.show_scores or args.show_utilization) and not args.json:
        out.extend(ws.score_lines)
        out.append("")
    if not args.json and not args.quiet:
        _section(out, "Transition Summary", [f"  * {line}"
                                              for line in summary.transition_summary(ws)])
    if args.save_graph:
        assert ws.graph is not None
        with open(args.save_graph, "w", encoding="utf-8") as handle:
            handle.write(graph_xml(ws, ws.graph))
    if args.save_dotfile:
        with open(args.save_dotfile, "w", encoding="utf-8") as handle:
            handle.write(dotfile.dot_text(ws, all_actions=bool(args.all_actions)))
    revised = None
    status = 0
    if args.simulate or args.json or args.save_output:
        assert ws.graph is not None
        executed = simexec.execute_graph(ws, ws.graph, cib, now_epoch, args.op_fail)
        for message in executed.errors:
            print(message, file=sys.stderr)
        if not args.json and args.simulate and not args.quiet:
            _section(out, "Executing Cluster Transition",
                     [line if isinstance(line, simexec.InfoLine) else f"  * {line}"
                      for line in executed])
            out.extend(header)
        if executed.terminated:
            print("Transition failed: terminated\nAn invalid transition was produced",
                  file=sys.stderr)
            status = 1
        revised = engine.unpack_cib(cib, now)
        if not args.json and args.simulate and not args.quiet:
            _section(out, "Revised Cluster Status",
                     display.cluster_status(revised) + _extra_sections(revised, args))
        if args.save_output:
            with open(args.save_output, "w", encoding="utf-8") as handle:
                handle.write(to_xml(cib))
    if args.json:
        assert revised is not None
        stdout.write(json_text({"placement": placement(revised),
                                "actions": transition_actions(ws)}) + "\n")
        return status
    while out and out[-1] == "":
        out.pop()
    if out:
        stdout.write("\n".join(out) + "\n")
    return status


def main(argv: Optional[list[str]] = None) -> int:
    """The `hb simulate` command. Unlike run() (for use inside a program), it leaves the
    process without tearing down the object graph: for 10,000 resources the interpreter's
    final collection of it would take longer than parsing the CIB."""
    try:
        args = parse_args(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        print(f"hb simulate: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    if args.help:
        print(_help())
        return 0
    refused = _unhooked(args)
    if refused:
        print(f"hb simulate: {refused}", file=sys.stderr)
        return 2
    gc.disable()
    rc = _run(args, sys.stdout)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


if __name__ == "__main__":
    sys.exit(main())
