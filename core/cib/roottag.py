"""A document's root start tag, rewritten in place in its text.

The policy engine saves every input it schedules with one attribute changed on the root
(`execution-date`). Writing the whole tree again costs as much as parsing it (half a second at
32 nodes / 10,000 resources, on the failover path since the save is prepared in the same step);
splicing a new root start tag into the text it was parsed from costs a copy. The text kept is
also the input exactly as received, comments and formatting included.

Each function takes the text as `str` or as UTF-8 `bytes` (the policy engine daemon receives
its input as bytes, and parses and saves it as such, never decoding it: a decoded copy of a
175 MB input was 175 MB more at the peak), or as a buffer of such bytes with their `find`,
`startswith` and slicing (core/spool.py's `Mapped`: a large input handed over by file);
offsets are then byte offsets.
"""

from __future__ import annotations

from core.cib.xmltree import XNode, escape_attr


_STR_MARKS = ("<", "<?", "?>", "<!--", "-->", "<!", ">", "[", '"', "'", "/")
_BYTES_MARKS = tuple(mark.encode() for mark in _STR_MARKS)


def root_start_tag_span(text: str | bytes) -> tuple[int, int] | None:
    """(start, end) of the root element's start tag in a well-formed document's text, or None
    where this scanner cannot be sure (a DOCTYPE with an internal subset, say)."""
    lt, pi, pi_end, comment, comment_end, decl, gt, bracket, _, _, _ = \
        _STR_MARKS if isinstance(text, str) else _BYTES_MARKS
    pos, length = 0, len(text)
    while True:
        start = text.find(lt, pos)  # type: ignore[arg-type]
        if start < 0 or start + 1 >= length:
            return None
        if text.startswith(pi, start):  # type: ignore[arg-type]
            pos = text.find(pi_end, start + 2)  # type: ignore[arg-type]
            if pos < 0:
                return None
            pos += 2
        elif text.startswith(comment, start):  # type: ignore[arg-type]
            pos = text.find(comment_end, start + 4)  # type: ignore[arg-type]
            if pos < 0:
                return None
            pos += 3
        elif text.startswith(decl, start):  # type: ignore[arg-type]
            end = text.find(gt, start)  # type: ignore[arg-type]
            if end < 0 or bracket in text[start:end]:  # type: ignore[operator]
                return None
            pos = end + 1
        else:
            break
    end = tag_end(text, start)
    return None if end is None else (start, end)


def tag_end(text: str | bytes, start: int) -> int | None:
    """The offset just past the start tag that begins at `start` (its closing `>`, which may
    follow a `/`): the first `>` outside a quoted attribute value (a value may hold `>`)."""
    marks = _STR_MARKS if isinstance(text, str) else _BYTES_MARKS
    gt, dq, sq = marks[6], marks[8], marks[9]
    pos = start + 1
    while True:
        close = text.find(gt, pos)  # type: ignore[arg-type]
        if close < 0:
            return None
        double, single = text.find(dq, pos, close), text.find(sq, pos, close)  # type: ignore[arg-type]
        if double < 0 and single < 0:
            return close + 1
        quote = dq if single < 0 or 0 <= double < single else sq
        opened = double if quote == dq else single
        closed = text.find(quote, opened + 1)  # type: ignore[arg-type]
        if closed < 0:
            return None
        pos = closed + 1


def start_tag(node: XNode, empty: bool) -> str:
    attrs = "".join(f' {k}="{escape_attr(v)}"' for k, v in node.attrs().items())
    return f"<{node.tag}{attrs}{'/>' if empty else '>'}"


def root_start_tag_splice(text: str | bytes, root: XNode) -> tuple[str | bytes, int] | None:
    """(head, rest_from): the document is `head + text[rest_from:]`, with the root start tag
    written from `root` (its tag and current attributes) in place of the one in `text`; None
    when the tag cannot be found, so the caller writes the tree instead. Kept apart so that a
    caller can write the two parts without building the whole new text. `head` is of the
    text's type (bytes: the new tag encoded as UTF-8)."""
    span = root_start_tag_span(text)
    if span is None:
        return None
    start, end = span
    if not isinstance(text, str):
        if not text.startswith(f"<{root.tag}".encode(), start):
            return None
        return text[:start] + start_tag(root, text[end - 2:end - 1] == b"/").encode(), end
    if not text.startswith(f"<{root.tag}", start):
        return None
    empty = text[end - 2] == "/"
    return text[:start] + start_tag(root, empty), end


def with_root_start_tag(text: str | bytes, root: XNode) -> str | bytes | None:
    """`text` with its root start tag replaced (see root_start_tag_splice), or None."""
    splice = root_start_tag_splice(text, root)
    return None if splice is None else splice[0] + text[splice[1]:]
