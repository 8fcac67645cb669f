"""Bad values for every ha.cf directive (taken from the parser's own table, so a new directive is
fuzzed the day it is added), every authkeys method and haresources line: each input is either
accepted or refused with one `file:line: what is wrong` ConfigError naming a line of the file;
anything else (another exception, an error without a place, a multi-line message) is a bug.
`INPUTS_TRIED` counts what was tried, per kind (docs/security.md reports the figures)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from core.config import parse_authkeys, parse_haresources
from core.config.authkeys import METHODS
from core.config.hacf import DIRECTIVES, parse_hacf
from core.errors import ConfigError

BASE = ["keepalive 100ms", "deadtime 500ms", "warntime 300ms", "initdead 2", "bcast eth0", "node node1",
        "node node2"]
BAD_WORDS = ["", "-1", "0", "abc", "1e99", "99999999999999999999999", "1.2.3", "ms", "-0.5s", "nan", "inf",
             "on off", "\x00", "\u00ff\u00fe", "'\"", "x" * 5000, "999.999.999.999", "::::", "ff02::1",
             "239.0.0.1", "eth9", "/dev/null", "none", "1 2 3 4 5 6", "eth0 239.0.0.1 694 1 1",
             "eth0 198.18.0.1", "#", "\\", "0x10", "1_000"]
INPUTS_TRIED: Counter = Counter()
PLACE = re.compile(r"^(?P<path>[^:\n]+):(?:(?P<line>\d+):)? \S[^\n]*$")


def check_refusal(exc: ConfigError, path: str, lines: int) -> None:
    text = str(exc)
    match = PLACE.match(text)
    assert match and match["path"] == path, f"not `file:line: what`: {text!r}"
    assert exc.line is None or 1 <= exc.line <= lines, f"{text!r} names line {exc.line} of {lines}"
    assert exc.message.strip(), text


@pytest.mark.parametrize("directive", sorted(DIRECTIVES))
def test_every_hacf_directive_with_bad_values_is_accepted_or_refused_with_its_line(directive):
    for word in BAD_WORDS:
        for where in (0, len(BASE)):  # before and after what it may depend on
            lines = BASE[:where] + [f"{directive} {word}".rstrip()] + BASE[where:]
            INPUTS_TRIED["ha.cf directive"] += 1
            try:
                parse_hacf("\n".join(lines) + "\n", "ha.cf", "node1", {"eth0", "eth1"})
            except ConfigError as exc:
                check_refusal(exc, "ha.cf", len(lines))


AUTH_LINES = ["auth", "auth x", "auth 0", "auth 16", "auth -1", "auth 1 2", "auth 99999999999999999999",
              "{i} {m}", "{i} {m} s", "{i} {m} " + "s" * 100_000, "{i} {m}\x00 secret-0123456789abcdef",
              "{i} {M} secret-0123456789abcdef", "0 {m} secret-0123456789abcdef", "16 {m} x",
              "x {m} secret-0123456789abcdef", "{i}", "{i} {m} \u00ff\u00fe\u00fd-0123456789abcdef",
              "{i} {m} secret-0123456789abcdef", "{i} {m} secret-0123456789abcdef\r"]


@pytest.mark.parametrize("method", METHODS)
def test_every_authkeys_method_with_bad_lines_is_accepted_or_refused_with_its_line(method):
    for template in AUTH_LINES:
        for index in (1, 2, 15):
            line = template.format(i=index, m=method, M=method.upper())
            for text in (f"auth 1\n1 {method} secret-0123456789abcdef\n{line}\n", f"{line}\n",
                         f"auth {index}\n{line}\n"):
                INPUTS_TRIED["authkeys line"] += 1
                try:
                    parse_authkeys(text, "authkeys")
                except ConfigError as exc:
                    check_refusal(exc, "authkeys", text.count("\n"))


RESOURCE_WORDS = ["IPaddr::", "IPaddr::198.18.0.9/24/eth0", "IPaddr2::::", "Filesystem::/dev/x::/mnt::ext4",
                  "::", "a::b::c::", "bad name", "x" * 3000, "\u00ff", "$(reboot)", "`id`", "../../bin/sh",
                  "IPaddr::;rm", "-", "node3", "\\", "IPaddr::1.2.3.4\\", "#x"]


@pytest.mark.parametrize("node", ["node1", "node9", "", "NODE1", "node1::x", "\u00ff"])
def test_haresources_lines_with_bad_values_are_accepted_or_refused_with_their_line(node):
    for word in RESOURCE_WORDS:
        for text in (f"{node} {word}\n", f"node1 IPaddr::198.18.0.9\n{node} {word} {word}\n",
                     f"{node} \\\n {word}\n", f"{node}\n"):
            INPUTS_TRIED["haresources line"] += 1
            try:
                parse_haresources(text, "haresources", ("node1", "node2"))
            except ConfigError as exc:
                check_refusal(exc, "haresources", text.count("\n"))


def test_inputs_tried_are_counted():
    """Runs last in this module: the counts the campaign reports (pytest -s prints them)."""
    assert INPUTS_TRIED["ha.cf directive"] >= len(DIRECTIVES) * len(BAD_WORDS) * 2
    print(f"\nconfig inputs tried: {dict(INPUTS_TRIED)}")
