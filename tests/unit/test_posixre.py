"""core/cib/posixre.py against glibc's own regcomp/regexec (through ctypes): the oracle for
rsc-pattern is the C library Pacemaker calls, so the translation is judged by it on a seeded
random corpus of patterns over every construct that differs between POSIX and Python."""

from __future__ import annotations

import ctypes
import ctypes.util
import random
import re

import pytest

from ciaware import missing
from core.cib.posixre import translate_ere

REG_EXTENDED = 1


def _libc():
    name = ctypes.util.find_library("c")
    if name is None:
        missing("no C library to compare with")
    return ctypes.CDLL(name)


def glibc_search(libc, pattern: str, subject: str):
    """'error' when regcomp refuses pattern, else whether regexec finds it in subject."""
    compiled = ctypes.create_string_buffer(512)  # regex_t is 64 bytes on glibc/x86_64
    if libc.regcomp(compiled, pattern.encode(), REG_EXTENDED) != 0:
        return "error"
    try:
        return libc.regexec(compiled, subject.encode(), 0, None, 0) == 0
    finally:
        libc.regfree(compiled)


def ours_search(pattern: str, subject: str):
    translated = translate_ere(pattern)
    if translated is None:
        return "error"
    try:
        return re.search(translated, subject) is not None
    except re.error:
        return "error"  # Python refuses it too (a reference to a group not yet opened)


PIECES = list("ab1()|*+?{}[]^$.\\-:,&~") + [
    "[:digit:]", "[:alpha:]", "[:space:]", "[[:upper:]]", "2", "[^", "\\w", "\\<", "\\>", "\\b",
    "{1,2}", "{2}", "{,2}", "[=a=]", "[.-.]", "\\1", "\\d", "(?:", "[\\d]", "[a-]", "[]a]"]
SUBJECTS = ["ab1", "a(b)", "", "aab2", "\\d", "x-y", "p12m", "b}", "a{1}", "[x]", "^$", "a]",
            "-", "abab", "&~", "A b", "d"]


def test_patterns_match_as_glibc_matches_them():
    libc = _libc()
    rnd = random.Random(2026)
    checked = 0
    for _ in range(4000):
        pattern = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 8)))
        for subject in SUBJECTS:
            assert ours_search(pattern, subject) == glibc_search(libc, pattern, subject), \
                (pattern, translate_ere(pattern), subject)
            checked += 1
    assert checked == 4000 * len(SUBJECTS)


@pytest.mark.parametrize("pattern,subject,expected", [
    ("^[[:alpha:]][[:digit:]]$", "p1", True),      # POSIX classes
    ("^[[:alpha:]][[:digit:]]$", "pp", False),
    ("\\d", "d", True),                             # an unknown escape is the character
    ("\\d", "1", False),
    ("[\\d]", "\\", True),                          # a backslash in brackets is literal
    ("a**", "aaa", True),                           # two quantifiers in a row
    ("a)", "a)", True),                             # a ) with no group open is literal
    ("(?:a)", "a", "error"),                        # Python syntax: regcomp refuses it
    ("*a", "a", "error"),                           # a quantifier with nothing to repeat
    ("^*a", "a", "error"),
    ("\\<p", "p", True),                            # glibc's word boundaries
    ("\\122", "1", "error"),                        # a reference to no group, not octal
    ("[[:alpha:]-z]", "-", "error"),                # a range cannot start at a class
])
def test_known_differences_from_python(pattern, subject, expected):
    assert ours_search(pattern, subject) == expected
    assert glibc_search(_libc(), pattern, subject) == expected
