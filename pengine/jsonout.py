"""`hb simulate --json`'s writer: the text `json.dumps(value, indent=2, sort_keys=True)` gives,
for the plain data that output holds (dicts with string keys, lists, strings, integers, booleans,
None).

Why not the json module: importing it (json.decoder, json.scanner, json.encoder and their
regular expressions) costs every `hb simulate` run about 1.5 ms, most of them runs that print
no JSON, and pengine imports only at module level. tests/pengine/test_jsonout.py checks this
writer against json.dumps on generated data.
"""

from __future__ import annotations

# json's ensure_ascii escapes: the two-character forms, else \\uXXXX
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
                  "\f": "\\f"}


def _string(text: str) -> str:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:  # outside the BMP: a UTF-16 surrogate pair, as json writes it
            code -= 0x10000
            out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
    out.append('"')
    return "".join(out)


def _value(value: object, depth: int, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = "\n" + "  " * (depth + 1)
        out.append("{")
        for i, key in enumerate(sorted(value)):
            if not isinstance(key, str):
                raise TypeError(f"jsonout: key {key!r} is not a string")
            out.append(("," if i else "") + inner + _string(key) + ": ")
            _value(value[key], depth + 1, out)
        out.append("\n" + "  " * depth + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = "\n" + "  " * (depth + 1)
        out.append("[")
        for i, item in enumerate(value):
            out.append(("," if i else "") + inner)
            _value(item, depth + 1, out)
        out.append("\n" + "  " * depth + "]")
    else:
        raise TypeError(f"jsonout: cannot write {type(value).__name__} {value!r}")


def json_text(value: object) -> str:
    """`json.dumps(value, indent=2, sort_keys=True)` for plain data; TypeError otherwise."""
    out: list[str] = []
    _value(value, 0, out)
    return "".join(out)
