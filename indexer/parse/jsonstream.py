"""The items of a big JSON array, one at a time: Papers with Code's dumps are single arrays of
hundreds of MB (gzipped), and a source must not hold the whole parsed document."""

from __future__ import annotations

import codecs
import json
from typing import IO, Any, Iterator

_WS = " \t\r\n"


class JSONStreamError(ValueError):
    """The stream is not a JSON array (or ends inside one): says where."""


def iter_json_array(stream: IO[bytes], *, chunk_size: int = 1 << 20, what: str = "the file",
                    max_item: int = 256 << 20) -> Iterator[Any]:
    """Each item of the JSON array `stream` holds (bytes, UTF-8), in order, decoded one at a time.
    Memory is one item plus a chunk. Raises JSONStreamError naming `what` when the stream is not
    an array, is cut off, or holds an item over `max_item` characters."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buf, pos, offset = "", 0, 0  # offset: characters consumed before buf
    state = "start"  # start -> first (after "[") -> item -> sep (after an item) -> done

    def more() -> bool:
        nonlocal buf, pos, offset
        data = stream.read(chunk_size)
        if not data:
            tail = utf8.decode(b"", final=True)
            if not tail:
                return False
            data_text = tail
        else:
            data_text = utf8.decode(data)
        offset += pos
        buf = buf[pos:] + data_text
        pos = 0
        return True

    while True:
        while pos < len(buf) and buf[pos] in _WS:
            pos += 1
        if pos >= len(buf):
            if not more():
                break
            continue
        ch = buf[pos]
        if state == "start":
            if ch == "\ufeff":
                pos += 1
                continue
            if ch != "[":
                raise JSONStreamError(f"{what} is not a JSON array (it starts with {ch!r})")
            pos += 1
            state = "first"
        elif state in ("first", "item"):
            if ch == "]" and state == "first":
                pos += 1
                state = "done"
                continue
            while True:
                try:
                    item, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError as e:
                    # most likely an item cut by the chunk's end: read more and try again, up to a
                    # bound (a corrupt file must not be read whole into memory)
                    if len(buf) - pos < max_item and more():
                        continue
                    raise JSONStreamError(f"{what} is not valid JSON at character {offset + e.pos}: {e.msg}") from None
                if (isinstance(item, (int, float)) and (end >= len(buf) or buf[end] in "0123456789.eE+-")
                        and more()):
                    continue  # a number the chunk's end cut ("2." of "2.5") goes on in the next chunk
                break
            pos = end
            state = "sep"
            yield item
        elif state == "sep":
            if ch == ",":
                pos += 1
                state = "item"
            elif ch == "]":
                pos += 1
                state = "done"
            else:
                raise JSONStreamError(f"{what} is not valid JSON at character {offset + pos}: expected ',' or ']'")
        else:  # done: only whitespace may follow
            raise JSONStreamError(f"{what} has text after its array, at character {offset + pos}")
    if state != "done":
        raise JSONStreamError(f"{what} ends inside its JSON array (a cut-off download?): read it again")
