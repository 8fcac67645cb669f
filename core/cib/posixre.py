"""POSIX extended regular expressions (glibc's `regcomp(REG_EXTENDED)`) as Python patterns.

Why: Pacemaker compiles a location constraint's `rsc-pattern` with regcomp, and users write
POSIX syntax there: `[[:digit:]]` (which Python reads as the set of `[:digit` followed by a
literal `]`), a backslash inside brackets that is a plain character, `\\d` that glibc reads as a
literal `d`, two quantifiers in a row, a `)` with no group open. `translate_ere` rewrites a
pattern into Python syntax that matches the same strings, or gives None where regcomp
refuses the pattern (then Pacemaker ignores the constraint). What it does not reproduce is
POSIX's leftmost-longest rule among alternatives: whether a string matches is the same, but
a submatch (`%1` in a rule) can differ when an alternation's shorter branch comes first.

Syntax bits of RE_SYNTAX_POSIX_EXTENDED followed here: `* + ? {` at the start of the pattern,
of a group or of an alternative is an error (RE_CONTEXT_INVALID_OPS), as is a `{` that does not
open a valid interval; a `)` without an open group is literal (RE_UNMATCHED_RIGHT_PAREN_ORD);
glibc's escapes `\\w \\W \\s \\S \\b \\B \\< \\> \\` \\'` and back-references `\\1`-`\\9` keep
their meaning, any other escaped character is itself.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up)
if TYPE_CHECKING:
    from typing import Optional

# the classes of the C locale, as Python character-set contents
_CLASSES = {
    "alpha": "A-Za-z", "digit": "0-9", "alnum": "0-9A-Za-z", "upper": "A-Z", "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v", "blank": " \\t", "punct": "!-/:-@\\[-`{-~",
    "print": " -~", "graph": "!-~", "cntrl": "\\x00-\\x1f\\x7f", "xdigit": "0-9A-Fa-f",
}
_GNU_ESCAPES = {"w": "\\w", "W": "\\W", "s": "\\s", "S": "\\S", "b": "\\b", "B": "\\B",
                "<": "\\b(?=\\w)", ">": "\\b(?<=\\w)", "`": "\\A", "'": "\\Z"}
_QUANTIFIERS = "*+?"
_ANCHORS = frozenset(["^", "$"] + [_GNU_ESCAPES[c] for c in "bB<>`'"])


def _set_char(char: str) -> str:
    """One literal character inside a Python character set."""
    return "\\" + char if char in "\\]^-[&~|" else char


def _literal(char: str) -> str:
    """One literal character outside a set."""
    return "\\" + char if char in "{}[]\\|()*+?.^$" else char


def _bracket(pattern: str, i: int) -> tuple[Optional[str], int]:
    """The bracket expression starting at pattern[i] == "[" as a Python set, and the index
    after it; None when it is not closed or names an unknown class."""
    i += 1
    out = "["
    if i < len(pattern) and pattern[i] == "^":
        out += "^"
        i += 1
    first = True
    after_class = False  # a range cannot start at a class: `[[:alpha:]-z]` is refused
    while i < len(pattern):
        char = pattern[i]
        if char == "]" and not first:
            return out + "]", i + 1
        first = False
        if after_class and char == "-" and i + 1 < len(pattern) and pattern[i + 1] != "]":
            return None, i
        after_class = False
        if char == "[" and i + 1 < len(pattern) and pattern[i + 1] in ":=.":
            kind = pattern[i + 1]
            end = pattern.find(kind + "]", i + 2)
            if end < 0:
                return None, i
            name = pattern[i + 2:end]
            i = end + 2
            if kind == ":":
                if name not in _CLASSES:
                    return None, i
                out += _CLASSES[name]
                after_class = True
            elif len(name) == 1:  # [=x=] and [.x.] of one character: the character
                out += _set_char(name)
            else:
                return None, i
            continue
        if char == "-" and out not in ("[", "[^") and i + 1 < len(pattern) \
                and pattern[i + 1] != "]":
            out += "-"  # a range between the previous character and the next
            i += 1
            continue
        out += _set_char(char)
        i += 1
    return None, i


def _interval(pattern: str, i: int) -> tuple[Optional[str], int]:
    """`{m}`, `{m,}`, `{m,n}` at pattern[i] == "{"; None when it is not a valid interval."""
    end = pattern.find("}", i)
    if end < 0:
        return None, i
    low, comma, high = pattern[i + 1:end].partition(",")
    low = low or ("0" if comma else "")  # {,n}: glibc reads it as {0,n}
    if not low.isdigit() or (high and not high.isdigit()):
        return None, i
    if (high and int(high) < int(low)) or max(int(low), int(high or 0)) > 0x7fff:  # RE_DUP_MAX
        return None, i
    return "{" + low + comma + high + "}", end + 1


def translate_ere(pattern: str) -> Optional[str]:
    """The Python pattern matching what regcomp(pattern, REG_EXTENDED) matches, or None
    where regcomp fails."""
    atoms: list[str] = []          # the current alternative's pieces
    stack: list[tuple[list[str], list[str]]] = []  # (alternatives so far, atoms) per open group
    alternatives: list[str] = []
    quantified = False             # the last atom already carries a quantifier
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char in _QUANTIFIERS or char == "{":
            if not atoms or atoms[-1] in _ANCHORS:
                return None  # RE_CONTEXT_INVALID_OPS (an anchor is no atom to repeat)
            if char == "{":
                quant, i = _interval(pattern, i)
                if quant is None:
                    return None
            else:
                quant, i = char, i + 1
            if quantified:
                atoms[-1] = "(?:" + atoms[-1] + ")"
            atoms[-1] += quant
            quantified = True
            continue
        quantified = False
        if char == "[":
            text, i = _bracket(pattern, i)
            if text is None:
                return None
            atoms.append(text)
            continue
        if char == "\\":
            if i + 1 >= len(pattern):
                return None  # a trailing backslash: REG_EESCAPE
            nxt = pattern[i + 1]
            i += 2
            if nxt in _GNU_ESCAPES:
                atoms.append(_GNU_ESCAPES[nxt])
            elif nxt in "123456789":
                atoms.append("(?:\\" + nxt + ")")  # a reference, never read with digits after it
            else:
                atoms.append(_literal(nxt))
            continue
        i += 1
        if char == "(":
            stack.append((alternatives, atoms))
            alternatives, atoms = [], []
        elif char == ")":
            if not stack:
                atoms.append("\\)")
                continue
            body = "|".join(alternatives + ["".join(atoms)])
            alternatives, atoms = stack.pop()
            atoms.append("(" + body + ")")
        elif char == "|":
            alternatives.append("".join(atoms))
            atoms = []
        elif char in ".^$":
            atoms.append(char)
        else:
            atoms.append(_literal(char))
    if stack:
        return None  # an unclosed group: REG_EPAREN
    return "|".join(alternatives + ["".join(atoms)])
