"""Checks and conversions every reference store shares.

Each store validates its input here, before it touches its backend, so bad
input raises the same specific error everywhere and changes nothing.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import InvalidSessionIdError

try:  # optional: a C serializer several times faster than the stdlib's, used with checks
    import orjson as _orjson
except ImportError:  # pragma: no cover - the stdlib path below serves alone
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "MAX_DEPTH",
    "MAX_SESSION_ID_LENGTH",
    "Clock",
    "clone_json",
    "data_json",
    "datetime_from_ms",
    "decode_data",
    "dump_json",
    "encode_data",
    "iso_from_ms",
    "load_json_object",
    "ms_from_iso",
    "now_ms",
    "validate_data",
    "validate_expected_revision",
    "validate_session_id",
    "validate_ttl_seconds",
    "validate_updates",
]

Clock = Callable[[], float]
"""Returns the current time as Unix epoch seconds (``time.time`` by default)."""

MAX_SESSION_ID_LENGTH = 256
MAX_DEPTH = 254
"""Deepest nesting the reference stores accept (the contract asks for 32): orjson's own
limit, so that its C path needs no depth check of its own."""

_UPDATE_KEYS = frozenset({"data"})


def validate_session_id(session_id: object) -> str:
    """Return ``session_id`` as a plain str, or raise ``InvalidSessionIdError``."""
    if not isinstance(session_id, str):
        raise InvalidSessionIdError(f"session id must be a str, not {type(session_id).__name__}")
    length = len(session_id)
    if length == 0 or length > MAX_SESSION_ID_LENGTH:
        raise InvalidSessionIdError(
            f"session id must be 1 to {MAX_SESSION_ID_LENGTH} characters long, not {length}"
        )
    # Printable ASCII without the space is exactly 0x21-0x7E.
    if not (session_id.isascii() and session_id.isprintable()) or " " in session_id:
        bad = next(c for c in session_id if not "\x21" <= c <= "\x7e")
        raise InvalidSessionIdError(
            f"session id may only hold characters 0x21-0x7E, found U+{ord(bad):04X}"
        )
    return str(session_id)


def validate_expected_revision(expected_revision: object) -> int | None:
    """``None``, or a revision a session can have: an int of at least 1 (not a bool)."""
    if expected_revision is None:
        return None
    if type(expected_revision) is not int:
        raise TypeError(
            f"expected_revision must be an int or None, not {type(expected_revision).__name__}"
        )
    if expected_revision < 1:
        raise ValueError(f"expected_revision must be 1 or more, not {expected_revision}")
    return expected_revision


def validate_ttl_seconds(ttl_seconds: object) -> float | None:
    """``None`` (never expire) or a positive, finite number of seconds."""
    if ttl_seconds is None:
        return None
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, (int, float)):
        raise TypeError(f"ttl_seconds must be a number or None, not {type(ttl_seconds).__name__}")
    if not math.isfinite(ttl_seconds) or ttl_seconds <= 0:
        raise ValueError(f"ttl_seconds must be positive and finite, not {ttl_seconds!r}")
    return float(ttl_seconds)


def validate_data(data: object) -> dict[str, Any]:
    """Check that ``data`` is a JSON object and return a deep copy made of dicts and lists.

    ``None`` stands for the empty object (``create_session`` without data).
    """
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise TypeError(
            f"session data must be a JSON object (a mapping), not {type(data).__name__}"
        )
    fast = _fast_checked(data)
    return _copy_checked(data) if fast is None else fast[1]


def validate_updates(updates: object) -> dict[str, Any] | None:
    """Check an ``update_session`` argument; return the new data, or ``None`` for a touch."""
    new_data = updates_data(updates)
    return None if new_data is None else validate_data(new_data)


def updates_data(updates: object) -> Mapping[Any, Any] | None:
    """Check an ``update_session`` argument but not the data: ``updates['data']``, or ``None``.

    The data is only known to be a mapping; check it with :func:`encode_data`.
    """
    if not isinstance(updates, Mapping):
        raise TypeError(f"updates must be a mapping, not {type(updates).__name__}")
    unknown = [key for key in updates if key not in _UPDATE_KEYS]
    if unknown:
        raise ValueError(
            f"updates may only hold the key 'data'; refused: {', '.join(map(repr, unknown))}"
        )
    if "data" not in updates:
        return None
    new_data = updates["data"]
    if not isinstance(new_data, Mapping):
        raise TypeError(
            f"updates['data'] must be a JSON object (a mapping), not {type(new_data).__name__}"
        )
    return new_data


class _Refused(Exception):
    """A value outside JSON; the path to it is collected only on the way out."""

    def __init__(self, error: type[Exception], message: str) -> None:
        self.error = error
        self.message = message
        self.path: list[str] = []


def _copy_checked(data: Mapping[Any, Any]) -> dict[str, Any]:
    try:
        return _copy_object(data, 1)
    except _Refused as refused:
        where = "data" + "".join(reversed(refused.path))
        raise refused.error(f"{where}: {refused.message}") from None


def _copy_object(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise _Refused(ValueError, f"nested deeper than {MAX_DEPTH} levels")
    copy: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            if not isinstance(key, str):
                raise _Refused(
                    TypeError, f"object keys must be str, found {type(key).__name__} {key!r}"
                )
            key = str(key)
        _check_text(key)
        try:
            copy[key] = _copy_value(item, depth)
        except _Refused as refused:
            refused.path.append(f"[{key!r}]")
            raise
    return copy


def _copy_value(value: Any, depth: int) -> Any:
    # Exact types first: they are nearly all values, and bool must not pass as int.
    kind = type(value)
    if value is None or kind is bool or kind is int:
        return value
    if kind is str:
        _check_text(value)
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _Refused(ValueError, f"{value!r} is not a JSON number")
        return value
    if isinstance(value, Mapping):
        return _copy_object(value, depth + 1)
    if isinstance(value, list):
        if depth + 1 > MAX_DEPTH:
            raise _Refused(ValueError, f"nested deeper than {MAX_DEPTH} levels")
        copy = []
        for index, item in enumerate(value):
            try:
                copy.append(_copy_value(item, depth + 1))
            except _Refused as refused:
                refused.path.append(f"[{index}]")
                raise
        return copy
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        _check_text(value)
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _copy_value(float(value), depth)
    raise _Refused(TypeError, f"{kind.__name__} is not a JSON type")


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise _Refused(
                ValueError,
                f"a string holds a lone surrogate U+{ord(text[error.start]):04X}, "
                "which is not Unicode text",
            ) from None


def clone_json(value: Any) -> Any:
    """Deep-copy a value that ``validate_data`` already accepted (no checks, dicts and lists only)."""
    kind = type(value)
    if kind is dict:
        return {key: clone_json(item) for key, item in value.items()}
    if kind is list:
        return [clone_json(item) for item in value]
    return value


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def dump_json(data: dict[str, Any]) -> str:
    """Serialize validated data compactly, keeping every character as it is."""
    return _ENCODER.encode(data)


def encode_data(data: Mapping[Any, Any]) -> tuple[str | bytes, dict[str, Any]]:
    """Check ``data`` as :func:`validate_data` does: its JSON text and a fresh deep copy.

    The fast path serializes in C and proves the text exact: read back, it must equal
    ``data`` (a key coerced to str, a tuple written as a list or NaN written as null
    would not), hold no lone surrogate (orjson refuses them; the stdlib's text fails
    to encode), and nest no deeper than ``MAX_DEPTH`` (orjson refuses deeper nesting itself;
    the stdlib's text must hold at most ``MAX_DEPTH`` brackets in all).
    Anything else (ints past 64 bits under orjson, many brackets, a mapping that is not
    a dict, a refusal) goes the checked Python walk, which raises the precise error.
    The text is ``bytes`` from orjson or ``str``; :func:`decode_data` reads either. The
    copy (read back from the text, or made by the walk) is shared with nothing.
    """
    fast = _fast_checked(data)
    if fast is not None:
        return fast
    copy = _copy_checked(data)
    return dump_json(copy), copy


def _orjson_refuses_beyond_max_depth() -> bool:
    """Whether orjson itself refuses nesting deeper than ``MAX_DEPTH`` (checked once)."""
    if _orjson is None:
        return False
    deep: dict[str, Any] = {}
    for _ in range(MAX_DEPTH):
        deep = {"d": deep}  # MAX_DEPTH + 1 levels
    try:
        _orjson.dumps(deep)
    except TypeError:
        return True
    return False


_ORJSON_LIMITS_DEPTH = _orjson_refuses_beyond_max_depth()


def _fast_checked(data: Mapping[Any, Any]) -> tuple[str | bytes, dict[str, Any]] | None:
    """:func:`encode_data`'s C path: the text and its copy, or ``None`` to take the walk."""
    if type(data) is not dict:
        return None
    try:
        if _orjson is not None:
            fast = _orjson.dumps(data)
            if _ORJSON_LIMITS_DEPTH or fast.count(b"{") + fast.count(b"[") <= MAX_DEPTH:
                copy: dict[str, Any] = _orjson.loads(fast)
                if copy == data:
                    return fast, copy
        else:
            text = _ENCODER.encode(data)
            if text.count("{") + text.count("[") <= MAX_DEPTH and (
                text.isascii() or text.encode("utf-8")
            ):
                copy = json.loads(text)
                if copy == data:
                    return text, copy
    except (TypeError, ValueError, RecursionError):
        pass  # the walk says exactly what is wrong, or accepts it
    return None


def data_json(data: object) -> str:
    """``dump_json(validate_data(data))`` in one step, checked mostly in C: the text only."""
    if not isinstance(data, Mapping):
        data = validate_data(data)  # None is {}; anything else raises
    text, _ = encode_data(data)
    return text if isinstance(text, str) else text.decode()


def decode_data(text: str | bytes) -> dict[str, Any]:
    """A fresh object from text :func:`encode_data` made (orjson's bytes or the stdlib's str)."""
    if type(text) is bytes and _orjson is not None:
        value: dict[str, Any] = _orjson.loads(text)
        return value
    result: dict[str, Any] = json.loads(text)
    return result


def load_json_object(text: str | bytes) -> dict[str, Any]:
    """Parse JSON text a store wrote; anything but an object is a corrupt record.

    orjson reads faster than the stdlib but turns an integer past 64 bits into a float
    and refuses some text the stdlib reads (``NaN``, lone surrogates, deep nesting).
    Its result is taken only when orjson writes it back as the very same text, which
    none of those can (a float is never written as a bare run of digits): the read
    is then exactly the stdlib's. Text another writer formatted otherwise (spaces,
    ``1e+16``) simply goes the stdlib's way.
    """
    if _orjson is not None:
        try:
            fast = _orjson.loads(text)
            written = _orjson.dumps(fast)  # refuses nesting past its limit: the stdlib reads it
        except (_orjson.JSONDecodeError, _orjson.JSONEncodeError):
            pass
        else:
            if type(fast) is dict and (
                written == text if type(text) is bytes else written.decode() == text
            ):
                return fast
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"stored session data is not a JSON object but {type(value).__name__}")
    return value


def now_ms(clock: Clock) -> int:
    """The clock's current time in whole Unix epoch milliseconds (truncated)."""
    return math.floor(clock() * 1000)


def default_clock() -> float:
    return time.time()


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DATETIMES: dict[int, datetime] = {}
_DATETIMES_KEPT = 4096


def datetime_from_ms(ms: int) -> datetime:
    """An aware UTC datetime for Unix epoch milliseconds (exact: integer arithmetic).

    Reads build two per record, and a session's ``created_at`` repeats on every read,
    so recent values are kept (datetimes are immutable; the table is cleared when full).
    """
    moment = _DATETIMES.get(ms)
    if moment is None:
        if len(_DATETIMES) >= _DATETIMES_KEPT:
            _DATETIMES.clear()
        moment = _DATETIMES[ms] = _EPOCH + timedelta(milliseconds=ms)
    return moment


def iso_from_ms(ms: int) -> str:
    """JavaScript's ``Date.prototype.toISOString()`` form: ``2026-11-23T19:22:48.123Z``."""
    moment = datetime_from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ms_from_iso(text: str) -> int:
    """Unix epoch milliseconds from an ISO 8601 timestamp such as ``toISOString()`` writes."""
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
