"""core/cib/historyscan.py reads the shapes of history tokens with string methods (no `re` on
hb simulate's path: core/lazyre.py); each reader is the regular expression it documents, on
every string of a small alphabet up to length 4 and on random longer ones."""

from __future__ import annotations

import itertools
import random
import re

from core.cib import historyscan

NAME = r"[A-Za-z_:][-A-Za-z0-9_:.]*"
OPEN_HEAD = re.compile(rf"({NAME})[ \n]+({NAME})[ \n]*=[ \n]*")
ATTR_SEP = re.compile(rf"[ \n]+({NAME})[ \n]*=[ \n]*")
OPEN_TAIL = re.compile(r"[ \n]*(/?)>[ \n]*")
BARE = re.compile(rf"(/?)({NAME})[ \n]*(/?)>[ \n]*")
TAG = re.compile(rb"<lrm_resources(?:[ \n][ \n]*)?>")
DECL = re.compile(rb"""<\?xml[^>]*?encoding[ \n\t\r]*=[ \n\t\r]*["']([A-Za-z0-9._-]+)""")

ALPHABET = ["a", "Z", "_", ":", "-", "1", ".", " ", "\n", "/", ">", "=", "\u00e9", "\t"]


def texts():
    for length in range(5):
        for chars in itertools.product(ALPHABET, repeat=length):
            yield "".join(chars)
    rng = random.Random(5)
    pieces = ALPHABET + ["op", "id", "lrm_rsc_op", " = ", "/>", ">\n  ", "\n"]
    for _ in range(50000):
        yield "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 9)))


def groups(expression, text):
    found = expression.fullmatch(text)
    return None if found is None else found.groups()


def test_token_shapes_are_read_as_their_expressions_match_them():
    for text in texts():
        assert historyscan.bare_tag(text) == groups(BARE, text), repr(text)
        assert historyscan.open_head(text) == groups(OPEN_HEAD, text), repr(text)
        tail = groups(OPEN_TAIL, text)
        assert historyscan.open_tail(text) == (None if tail is None else tail[0]), repr(text)
        sep = groups(ATTR_SEP, text)
        assert historyscan.attr_sep(text) == (None if sep is None else sep[0]), repr(text)


def test_block_tags_are_read_as_the_expression_matches_them():
    for middle in itertools.product(["", " ", "\n", "\t", "x", ">"], repeat=3):
        for start in (b"<lrm_resources", b"<lrm_resource", b"<lrm_resourcesx"):
            tag = start + "".join(middle).encode() + b">"
            assert historyscan.is_block_tag(tag) == (TAG.fullmatch(tag) is not None), tag
    assert not historyscan.is_block_tag(b"<lrm_resources")


def test_declared_encodings_are_read_as_the_expression_reads_them():
    rng = random.Random(7)
    pieces = [b"<?xml", b" ", b"\t", b"\n", b"version='1.0'", b"encoding", b"=", b'"', b"'",
              b"UTF-8", b"latin1", b">", b"?", b"x", b"encodin", b"\xc3\xa9", b"-", b"."]
    cases = [b"", b"<?xml", b'<?xml version="1.0" encoding="UTF-8"?>', b"<?xml encoding='x'",
             b'<?xml a>encoding="b"', b'<?xml encoding = "" encoding="utf8"']
    for _ in range(40000):
        cases.append(b"<?xml" + b"".join(rng.choice(pieces) for _ in range(rng.randrange(8))))
    for head in cases:
        found = DECL.match(head)
        assert historyscan.declared_encoding(head) == (found.group(1) if found else None), head
