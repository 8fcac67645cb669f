"""A document's root start tag, rewritten in place in its text.

The policy engine saves every input it schedules with one attribute changed on the root
(`execution-date`). Writing the whole tree again costs as much as parsing it (half a second at
32 nodes / 10,000 resources, on the failover path since the save is prepared in the same step);
splicing a new root start tag into the text it was parsed from costs a copy. The text kept is
also the input exactly as received, comments and formatting included.
"""

from __future__ import annotations

from core.cib.xmltree import XNode, escape_attr


def root_start_tag_span(text: str) -> tuple[int, int] | None:
    """(start, end) of the root element's start tag in a well-formed document's text, or None
    where this scanner cannot be sure (a DOCTYPE with an internal subset, say)."""
    pos, length = 0, len(text)
    while True:
        start = text.find("<", pos)
        if start < 0 or start + 1 >= length:
            return None
        if text.startswith("<?", start):
            pos = text.find("?>", start + 2)
            if pos < 0:
                return None
            pos += 2
        elif text.startswith("<!--", start):
            pos = text.find("-->", start + 4)
            if pos < 0:
                return None
            pos += 3
        elif text.startswith("<!", start):
            end = text.find(">", start)
            if end < 0 or "[" in text[start:end]:
                return None
            pos = end + 1
        else:
            break
    end = tag_end(text, start)
    return None if end is None else (start, end)


def tag_end(text: str, start: int) -> int | None:
    """The offset just past the start tag that begins at `start` (its closing `>`, which may
    follow a `/`): the first `>` outside a quoted attribute value (a value may hold `>`)."""
    pos = start + 1
    while True:
        close = text.find(">", pos)
        if close < 0:
            return None
        double, single = text.find('"', pos, close), text.find("'", pos, close)
        if double < 0 and single < 0:
            return close + 1
        quote = '"' if single < 0 or 0 <= double < single else "'"
        opened = double if quote == '"' else single
        closed = text.find(quote, opened + 1)
        if closed < 0:
            return None
        pos = closed + 1


def start_tag(node: XNode, empty: bool) -> str:
    attrs = "".join(f' {k}="{escape_attr(v)}"' for k, v in node.attrs().items())
    return f"<{node.tag}{attrs}{'/>' if empty else '>'}"


def root_start_tag_splice(text: str, root: XNode) -> tuple[str, int] | None:
    """(head, rest_from): the document is `head + text[rest_from:]`, with the root start tag
    written from `root` (its tag and current attributes) in place of the one in `text`; None
    when the tag cannot be found, so the caller writes the tree instead. Kept apart so that a
    caller can write the two parts without building the whole new text."""
    span = root_start_tag_span(text)
    if span is None:
        return None
    start, end = span
    if not text.startswith(f"<{root.tag}", start):
        return None
    empty = text[end - 2] == "/"
    return text[:start] + start_tag(root, empty), end


def with_root_start_tag(text: str, root: XNode) -> str | None:
    """`text` with its root start tag replaced (see root_start_tag_splice), or None."""
    splice = root_start_tag_splice(text, root)
    return None if splice is None else splice[0] + text[splice[1]:]
