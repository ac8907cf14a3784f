"""Checks the contract scenarios share: records read by attribute, JSON compared by type."""

from __future__ import annotations

import copy
import math
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..local_time import LocalZone
from ..stores import matches_error
from ..trial import ClauseViolation, Trial

__all__ = [
    "LARGE_PAYLOAD_BYTES",
    "Snapshot",
    "expect_error",
    "json_difference",
    "large_rounds",
    "read",
    "snapshot",
]

LARGE_PAYLOAD_BYTES = 64 * 1024
"""The padding of each racer's data in the races with large payloads: a backend whose atomic
write has a size limit may split a larger write into steps that racers can interleave."""


def large_rounds(trial: Trial) -> int:
    """Rounds of a race with large payloads: a quarter of the small ones, at least three."""
    return max(3, int(trial.settings["race_rounds"]) // 4)


_ATTRIBUTES = ("session_id", "created_at", "updated_at", "ttl", "data")


@dataclass(frozen=True)
class Snapshot:
    """A session as plain values, taken from whatever record type the store returns."""

    session_id: Any
    created_at: Any
    updated_at: Any
    ttl: Any
    data: Any


def snapshot(record: object) -> Snapshot:
    missing = [name for name in _ATTRIBUTES if not hasattr(record, name)]
    if missing:
        raise ClauseViolation(
            f"get_session returned a {type(record).__name__} without the attribute(s) {', '.join(missing)}"
        )
    # A copy: a store that hands out (or keeps) the very objects the suite holds must not
    # change the suite's record of what it saw, or a later comparison would agree with it.
    return Snapshot(*(_copied(getattr(record, name)) for name in _ATTRIBUTES))


def _copied(value: Any) -> Any:
    try:
        return copy.deepcopy(value)
    except Exception:  # a value no copy can be made of is compared as it is
        return value


async def read(trial: Trial, store: Any, session_id: str) -> Snapshot:
    """``get_session`` of a session that must be live."""
    record = await store.get_session(session_id)
    trial.check(record is not None, f"get_session({session_id!r}) returned None for a live session")
    return snapshot(record)


async def expect_error(
    call: Awaitable[Any],
    expected: tuple[type[BaseException], ...],
    what: str,
) -> BaseException:
    """Await ``call``; it must raise one of ``expected`` (by class or class name)."""
    names = " or ".join(kind.__name__ for kind in expected)
    try:
        result = await call
    except Exception as error:  # judged below: any other class is a violation
        if any(matches_error(error, kind) for kind in expected):
            return error
        raise ClauseViolation(
            f"{what}: expected {names}, got {type(error).__name__}: {error}"
        ) from error
    raise ClauseViolation(f"{what}: expected {names}, but it returned {result!r}")


def json_difference(expected: Any, actual: Any, path: str = "data") -> str | None:
    """Where ``actual`` differs from ``expected`` in JSON terms, by type as well as value.

    The answer names the path (``data["a"][3]["k"]``), the value sent and the value read
    back, each string with the code points of anything beyond printable ASCII.
    """
    problem = _first_difference(expected, actual)
    if problem is None:
        return None
    where, sent, seen = problem
    return f"{path}{where}: sent {sent}, read back {seen}"


def _first_difference(expected: Any, actual: Any) -> tuple[str, str, str] | None:
    """(the path below the top, the value sent, the value read back) of the first difference."""
    if expected is None:
        return None if actual is None else ("", "null (None)", _typed(actual))
    if isinstance(expected, bool):
        same = type(actual) is bool and actual == expected
        return None if same else ("", _typed(expected), _typed(actual))
    if isinstance(expected, int):
        same = type(actual) is int and actual == expected
        return None if same else ("", _typed(expected), _typed(actual))
    if isinstance(expected, float):
        same = type(actual) is float and (
            actual == expected or (math.isnan(actual) and math.isnan(expected))
        )
        return None if same else ("", _typed(expected), _typed(actual))
    if isinstance(expected, str):
        same = isinstance(actual, str) and actual == expected
        return None if same else ("", _typed(expected), _typed(actual, against=expected))
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return ("", _typed(expected), _typed(actual))
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = _first_difference(want, got)
            if found:
                return (f"[{index}]{found[0]}", found[1], found[2])
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return ("", _typed(expected), _typed(actual))
        missing = [key for key in expected if key not in actual]
        extra = [key for key in actual if key not in expected]
        if missing and extra:
            return ("", f"the keys {_keys(missing)}", f"the keys {_keys(extra)} in their place")
        if missing:
            return ("", f"the keys {_keys(missing)}", "an object without them")
        if extra:
            return ("", f"an object without the keys {_keys(extra)}", "one with them")
        for key in expected:
            found = _first_difference(expected[key], actual[key])
            if found:
                return (f"[{_quoted(key)}]{found[0]}", found[1], found[2])
        return None
    raise TypeError(f"the suite compared a non-JSON value {expected!r}")  # a bug in the suite


def _quoted(text: str, limit: int = 60) -> str:
    """``text`` in double quotes, everything beyond printable ASCII escaped by code point."""
    shown = text if len(text) <= limit else text[:limit]
    inner = "".join(
        char
        if " " <= char <= "~" and char not in '"\\'
        else "\\" + char
        if char in '"\\'
        else f"\\u{ord(char):04x}"
        if ord(char) <= 0xFFFF
        else f"\\U{ord(char):08x}"
        for char in shown
    )
    more = f"...<{len(text)} characters>" if len(text) > limit else ""
    return f'"{inner}"{more}'


def _code_points(text: str) -> str:
    return " ".join(f"U+{ord(char):04X}" for char in text)


def _keys(keys: list[Any]) -> str:
    shown = ", ".join(_quoted(k) if isinstance(k, str) else repr(k) for k in keys[:8])
    return f"[{shown}{', ...' if len(keys) > 8 else ''}]"


def _typed(value: Any, against: str | None = None) -> str:
    """A value as a message shows it: its JSON type, and a string's code points."""
    if isinstance(value, str):
        text = f"the str {_quoted(value)}"
        if value.isascii() and value.isprintable() and (against is None or against.isascii()):
            return text
        if len(value) <= 12:
            return f"{text} ({_code_points(value) or 'no characters'})"
        if against is not None:
            index = next(
                (i for i, (a, b) in enumerate(zip(value, against, strict=False)) if a != b),
                min(len(value), len(against)),
            )
            here = _code_points(value[index : index + 3]) or "the end"
            return f"{text} ({len(value)} characters; from index {index}: {here})"
        return f"{text} ({len(value)} characters)"
    if isinstance(value, (list, dict)):
        text = repr(value)
        kind = "list" if isinstance(value, list) else "object"
        return (
            f"the {kind} {text if len(text) <= 100 else text[:80] + f'...<{len(text)} characters>'}"
        )
    text = repr(value)
    return f"{text if len(text) <= 100 else text[:80] + '...'} ({type(value).__name__})"


async def check_unchanged(
    trial: Trial, store: Any, session_id: str, before: Snapshot, cause: str
) -> Snapshot:
    """Read the session again: it must be exactly as ``before``, whatever ``cause`` did."""
    after = await read(trial, store, session_id)
    trial.check(
        after == before,
        f"after {cause}, get_session({session_id!r}) returned {after}; before, it returned {before}",
    )
    return after


def check_data(trial: Trial, expected: Any, actual: Any, when: str) -> None:
    found = json_difference(expected, actual)
    trial.check(found is None, f"{when}: {found}")


def zone_shift(moment: Any, bounds: tuple[Any, Any], zone: LocalZone) -> str | None:
    """``"after"`` or ``"before"`` when ``moment`` (an aware datetime, or epoch seconds) is off
    from ``bounds`` by exactly ``zone``'s offset, else None.

    Local time labelled UTC is ahead by the offset; UTC converted as if it were local time
    is behind by it. Any other error is another clause's to judge.
    """
    if isinstance(moment, datetime) and moment.utcoffset() is not None:
        offset: Any = timedelta(seconds=zone.offset_seconds)
    elif isinstance(moment, (int, float)) and not isinstance(moment, bool):
        offset = zone.offset_seconds
    else:
        return None
    low, high = bounds
    for sign, side in ((1, "after"), (-1, "before")):
        if low <= moment - sign * offset <= high:
            return side
    return None


def is_aware_utc(moment: Any) -> bool:
    return (
        isinstance(moment, datetime)
        and moment.tzinfo is not None
        and moment.utcoffset() is not None
        and moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    )
