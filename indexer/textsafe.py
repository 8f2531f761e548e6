"""Text written by strangers, made inert wherever the catalog shows or copies it.

    py_literal(s)   a Python string literal equal to s, with every character that is not plainly
                    visible escaped (quotes, backslashes, control, format/bidi, separators,
                    unassigned): pasted into Python it is exactly one string, and reads as what it is
    load_line(id)   the line that loads a catalog row: load_model(<py_literal(id)>)
    visible(s)      s with the same characters shown as escapes (\\x1b, \\u202e): what a terminal or
                    a one-line message may print
    display(s)      display text: control characters dropped, bidi and other invisible format
                    characters dropped (they reorder or hide what is around them); the raw value
                    stays where the catalog keeps raws
"""

from __future__ import annotations

import functools
import unicodedata

# categories never shown as themselves: controls, format (bidi, zero-width), surrogates, private
# use, unassigned, line/paragraph separators, and spaces other than " " (look-alike blanks)
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})


@functools.lru_cache(maxsize=4096)
def _escape(ch: str) -> str:
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def _hidden(ch: str) -> bool:
    return ch != " " and unicodedata.category(ch) in _HIDDEN


def visible(value) -> str:
    """Every hidden character as its escape; everything else as it is (non-ASCII letters too)."""
    s = value if isinstance(value, str) else str(value)
    if s.isascii() and s.isprintable():
        return s
    return "".join(_escape(c) if _hidden(c) else c for c in s)


def py_literal(s: str) -> str:
    """A double-quoted Python string literal whose value is exactly `s`."""
    if s.isascii() and s.isprintable() and "\\" not in s and '"' not in s:
        return f'"{s}"'  # nothing to escape (every id on a page of models: 100 a page)
    out = ['"']
    for c in s:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif _hidden(c) or not c.isprintable():
            out.append(_escape(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def load_line(model_id: str) -> str:
    """The Python line that loads a catalog row: one call, one string argument, equal to the id."""
    return f"load_model({py_literal(model_id)})"


def display(value: str | None) -> str | None:
    """Display text without control characters or invisible format characters (bidi overrides,
    isolates, zero-width): they cannot reorder, hide or overwrite what is around them. Tabs and
    newlines become spaces; other spaces are kept."""
    if value is None:
        return None
    if value.isascii() and value.isprintable():
        return value
    out = []
    for c in value:
        cat = unicodedata.category(c)
        if c in "\t\n\r":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif cat in ("Zl", "Zp"):
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)
