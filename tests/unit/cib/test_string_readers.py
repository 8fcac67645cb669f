"""The readings of numbers written with string methods so that `hb simulate` does not load
`re` (core/lazyre.py) are the regular expressions they replace, on every string of a small
alphabet up to length 4 (white space ASCII and not, signs, ASCII and non-ASCII decimal digits,
a digit that is not decimal, a dot, letters, a newline)."""

from __future__ import annotations

import itertools
import re

import pytest

from core.cib import durations, scores
from pengine import capacity, unpack, values
from pengine.status import _FailNameMatcher

ALPHABET = [" ", "\t", "\x85", "\u2003", "+", "-", "1", "0", "\u0663", "\u00b2", ".", "s", "I",
            "\n", "x"]


def strings(longest: int = 4):
    for length in range(longest + 1):
        for chars in itertools.product(ALPHABET, repeat=length):
            yield "".join(chars)


def _regex_leading_int(text):
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


def test_leading_int_is_the_expression_it_replaces():
    for text in strings():
        assert scores.leading_int(text) == _regex_leading_int(text), repr(text)


def test_score_readers_are_the_expressions_they_replace():
    for text in strings():
        expected = _regex_leading_int(text)
        assert scores.parse_score(text) == (0 if expected is None else
                                            max(-scores.INFINITY, min(scores.INFINITY, expected)))
        assert scores.is_score(text) == (
            text in ("-INFINITY", "INFINITY", "+INFINITY")
            or text.lower() in ("red", "yellow", "green")
            or re.fullmatch(r"\s*[+-]?\d+\s*", text) is not None), repr(text)
        match = re.match(r"\s*[-+]?\d+", text)
        assert values._int_or_zero(text) == (int(match.group()) if match else 0)
        assert capacity.utilization_value(text) == (
            max(-2 ** 31, min(2 ** 31 - 1, int(match.group()))) if match else 0)


def test_duration_reading_is_the_expression_it_replaces():
    number = re.compile(r"\s*([0-9.]+)\s*(.*)$", re.S)
    for text in strings():
        match = number.match(text)
        assert durations._number_and_units(text) == (match.groups() if match else None), \
            repr(text)


def test_numeric_key_is_the_expression_it_replaces():
    for text in strings():
        parts = re.split(r"(\d+)", text.lower())
        try:
            expected = tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p != "")
        except ValueError:  # a run of digits that are not decimal ("²"): int() refuses it
            with pytest.raises(ValueError):
                values.numeric_key(text)
            continue
        assert values.numeric_key(text) == expected, repr(text)


@pytest.mark.parametrize("extra", ["INFINITY", "-infinity", "+Infinity", "\u0131nfinity"])
def test_number_option_check_is_the_expression_it_replaces(extra):
    for text in itertools.chain(strings(3), [extra, f" {extra} ", f"{extra}1"]):
        assert unpack._option_is_valid("batch-limit", text) == (
            re.fullmatch(r"\s*([-+]?\d+|[-+]?INFINITY)\s*", text, re.IGNORECASE) is not None), \
            repr(text)


def test_fail_count_names_are_matched_as_their_expressions_match_them():
    """status._FailNameMatcher (resource names without regular-expression characters) against
    the expression _fail_regexes compiles for the others, on attribute names built from the
    pieces that matter (instance numbers, op names, intervals, newlines, other characters)."""
    pieces = ["", ":", "1", "#", "_", "a", "\n", "x", ":2", "#m_0"]
    tails = {"".join(p) for n in range(4) for p in itertools.product(pieces, repeat=n)}
    for name in ("r", "rsc-1", "a b", "r:0"):
        for instance in (False, True):
            for per_op in (False, True):
                expression = re.compile(f"^fail-count-{name}" + ("(:[0-9]+)?" if instance else "")
                                        + ("#.+_[0-9]+" if per_op else "") + "$")
                matcher = _FailNameMatcher(f"fail-count-{name}", instance, per_op)
                for tail in tails:
                    for key in (f"fail-count-{name}{tail}", f"fail-count-{tail}", tail):
                        assert matcher.match(key) == (expression.match(key) is not None), \
                            (name, instance, per_op, key)
