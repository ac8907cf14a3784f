"""Where one RESP frame ends: enough of the Redis protocol to relay commands and replies one by one.

RESP2 and RESP3 alike (``+ - : $ * _ , # ! = ( % ~ > |``). A relay needs only
each frame's length and a command's name, never its meaning.
"""

from __future__ import annotations

__all__ = ["command_name", "frame_end"]

_LINE_TYPES = frozenset(b"+-:_,#(")
_BLOB_TYPES = frozenset(b"$!=")
_AGGREGATE_TYPES = frozenset(b"*~>")
_PAIR_TYPES = frozenset(b"%|")


def frame_end(buffer: bytes | bytearray, start: int = 0) -> int | None:
    """The index just past the frame starting at ``start``, or None while it is incomplete.

    A line that does not start with a type byte is an inline command, one line long.
    """
    if start >= len(buffer):
        return None
    line_end = buffer.find(b"\r\n", start)
    if line_end < 0:
        return None
    kind = buffer[start]
    after_line = line_end + 2
    if kind in _LINE_TYPES or kind not in (_BLOB_TYPES | _AGGREGATE_TYPES | _PAIR_TYPES):
        return after_line
    length = int(buffer[start + 1 : line_end])
    if kind in _BLOB_TYPES:
        if length < 0:
            return after_line  # $-1: a null bulk string
        end = after_line + length + 2
        return end if end <= len(buffer) else None
    if length < 0:
        return after_line  # *-1: a null array
    count = length * 2 if kind in _PAIR_TYPES else length
    position = after_line
    for _ in range(count):
        found = frame_end(buffer, position)
        if found is None:
            return None
        position = found
    if kind == ord("|"):  # an attribute map comes before the reply it describes
        return frame_end(buffer, position)
    return position


def command_name(frame: bytes) -> str:
    """The upper-cased name of the command in ``frame`` (an array of bulk strings, or inline)."""
    if frame[:1] != b"*":
        return frame.split(None, 1)[0].decode("latin-1").upper() if frame.strip() else ""
    first_line_end = frame.find(b"\r\n")
    header_end = frame.find(b"\r\n", first_line_end + 2)
    if header_end < 0 or frame[first_line_end + 2 : first_line_end + 3] != b"$":
        return ""
    size = int(frame[first_line_end + 3 : header_end])
    return frame[header_end + 2 : header_end + 2 + size].decode("latin-1").upper()
