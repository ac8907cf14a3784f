"""The DynamoDB item format: a session as low-level attribute values, and back.

``item_from_session`` and ``session_from_item`` convert between ``SessionData``
and the item LeanMCP's TypeScript ``DynamoDBSessionStore`` writes (see
``dynamodb.py`` for its attributes); the rest of this module is the codec of the
``data`` attribute. It needs no boto3: items are plain dicts of the low-level
client's attribute values (``{"S": ...}``, ``{"N": ...}``, ``{"M": ...}``, ...).

Numbers go through this module's own (de)serializer on the low-level client,
not boto3's ``TypeSerializer``: ints are written as ``str(int)`` and come back as
``int``, floats as ``repr(float)`` and come back as the same ``float``, and no
``Decimal`` is ever handed to the caller. A number with no fraction comes back
as ``int`` (DynamoDB itself normalizes ``1.0`` to ``1``). An integer DynamoDB
cannot hold (over 38 significant digits, or beyond 1e126) raises ``ValueError``,
as does an item over 400 KB, before any request.

What JSON allows and DynamoDB's types do not is written as a Binary attribute
holding the value's JSON text, which this store reads back exactly: floats
outside DynamoDB's range (such as ``1e-300``, ``5e-324``), maps or lists nested
deeper than DynamoDB's 32 levels, and maps with a key DynamoDB refuses as a
name (empty, or over 64 KB), or with the key ``__proto__``, which a JavaScript
reader of the table may turn into a prototype (dynalite drops it). Nothing else
in this format is ever Binary, so the escape cannot be confused with data; a
TypeScript reader sees those values as bytes (LeanMCP could not have written
them at all).

An item that is not a session item (no timestamps, ``data`` not a map, an
attribute type JSON has no value for) raises ``SessionStoreError`` from
``session_from_item``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import SessionStoreError
from .interface import SessionData
from .validation import datetime_from_ms, dump_json, iso_from_ms, ms_from_iso

__all__ = [
    "MAX_ITEM_BYTES",
    "MAX_NATIVE_DEPTH",
    "item_from_session",
    "session_from_item",
]

MAX_ITEM_BYTES = 400 * 1024
"""DynamoDB's item size limit; larger items are refused with ``ValueError`` before any request."""
MAX_NATIVE_DEPTH = 31
"""Deepest map or list written as DynamoDB's own type, ``data`` itself being level 1.

DynamoDB holds 32 levels of nesting counting the scalar at the bottom; deeper
containers are written as escaped JSON (see below)."""

_MAX_SIGNIFICANT_DIGITS = 38
_MAX_EXPONENT = 125  # largest magnitude DynamoDB holds is just under 1e126
_MIN_EXPONENT = -130
_INT_FAST_LIMIT = 10**_MAX_SIGNIFICANT_DIGITS
_MAX_NAME_BYTES = 65535


# -- the item format ----------------------------------------------------------------------


def item_from_session(
    session_id: str,
    created_ms: int,
    updated_ms: int,
    ttl: int | None,
    data: Mapping[str, Any],
    revision: int | None = 1,
) -> dict[str, Any]:
    """The DynamoDB item (low-level attribute values) LeanMCP writes for a session.

    Plus ``revision``, this store's count of data writes (None: LeanMCP's item
    exactly, which reads as revision 1). ``data`` must be validated JSON
    (``validation.validate_data``); raises
    ``ValueError`` for what DynamoDB cannot hold (numbers past 38 digits or its
    range, items over 400 KB).
    """
    item: dict[str, Any] = {
        "sessionId": {"S": session_id},
        "createdAt": {"S": iso_from_ms(created_ms)},
        "updatedAt": {"S": iso_from_ms(updated_ms)},
    }
    if ttl is not None:
        item["ttl"] = {"N": str(ttl)}
    item["data"] = _encode_data(data)
    if revision is not None:
        item["revision"] = {"N": str(revision)}
    return item


def session_from_item(item: Mapping[str, Any], session_id: str | None = None) -> SessionData:
    """Read an item LeanMCP or this store wrote.

    LeanMCP's update of a missing session creates an item without ``createdAt``;
    its ``created_at`` is then its ``updatedAt``, the earliest moment known to
    have seen the session (and so ``created_at <= updated_at`` still holds).
    """
    try:
        key = session_id if session_id is not None else item["sessionId"]["S"]
        created_text = _string_attribute(item, "createdAt")
        updated_text = _string_attribute(item, "updatedAt")
        if created_text is None and updated_text is None:
            raise ValueError("the item has neither createdAt nor updatedAt")
        created_ms = ms_from_iso(created_text or updated_text)  # type: ignore[arg-type]
        updated_ms = ms_from_iso(updated_text or created_text)  # type: ignore[arg-type]
        expiry = _expiry_number(item)
        raw_data = item.get("data")
        data = {} if raw_data is None or "NULL" in raw_data else _decode(raw_data)
        if not isinstance(data, dict):
            raise ValueError("data is not a map")
        revision = _revision_number(item)
    except (KeyError, TypeError, ValueError, StopIteration) as error:
        raise SessionStoreError(f"dynamodb: not a session item: {error}") from error
    return SessionData(
        session_id=key,
        created_at=datetime_from_ms(created_ms),
        updated_at=datetime_from_ms(updated_ms),
        ttl=None if expiry is None else math.floor(expiry),
        data=data,
        revision=revision,
    )


def _revision_number(item: Mapping[str, Any]) -> int:
    value = item.get("revision")
    if value is None:
        return 1  # LeanMCP's item: it never counts writes
    text = value.get("N") if isinstance(value, Mapping) else None
    if not isinstance(text, str) or not text.isdigit() or int(text) < 1:
        raise ValueError(f"revision is not a positive integer number: {value!r}")
    return int(text)


def _string_attribute(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None or "NULL" in value:
        return None
    text: str = value["S"]
    return text


def _expiry_number(item: Mapping[str, Any]) -> int | float | None:
    value = item.get("ttl")
    if value is None or "N" not in value:
        return None
    return _number(value["N"])


def _encode_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """``{"M": ...}`` for validated data; ValueError when the item would pass 400 KB."""
    size = [_ITEM_OVERHEAD_BYTES]
    encoded = _encode(data, size, 1)
    if size[0] > MAX_ITEM_BYTES:
        raise ValueError(
            f"session data too large for DynamoDB: the item would be about {size[0]} bytes, "
            f"over DynamoDB's 400 KB item limit ({MAX_ITEM_BYTES} bytes)"
        )
    return encoded


# Every attribute but data, at its largest: names, a 256-character id, two timestamps, a ttl,
# a revision.
_ITEM_OVERHEAD_BYTES = (
    len("sessionId")
    + 256
    + 2 * (len("createdAt") + 24)
    + len("ttl")
    + 12
    + len("revision")
    + 12
    + len("data")
)


def _encode(value: Any, size: list[int], depth: int) -> dict[str, Any]:
    # Sizes follow DynamoDB's documented item-size rules, so the 400 KB check is close.
    kind = type(value)
    if kind is str:
        size[0] += len(value) if value.isascii() else len(value.encode("utf-8"))
        return {"S": value}
    if kind is dict:
        if (
            depth > MAX_NATIVE_DEPTH
            or "" in value
            or "__proto__" in value
            or any(map(_name_too_long, value))
        ):
            return _escaped(value, size)
        size[0] += 3
        encoded = {}
        for key, item in value.items():
            size[0] += 1 + (len(key) if key.isascii() else len(key.encode("utf-8")))
            encoded[key] = _encode(item, size, depth + 1)
        return {"M": encoded}
    if kind is bool:
        size[0] += 1
        return {"BOOL": value}
    if kind is int:
        text = str(value)
        if not -_INT_FAST_LIMIT < value < _INT_FAST_LIMIT:
            problem = _number_problem(text)
            if problem:
                raise ValueError(f"{problem}; DynamoDB cannot store this integer")
        size[0] += len(text) // 2 + 2
        return {"N": text}
    if kind is float:
        text = repr(value)
        magnitude = abs(value)
        if not (1e-129 < magnitude < 1e125 or value == 0) and _number_problem(text):
            return _escaped(value, size)
        size[0] += len(text) // 2 + 2
        return {"N": text}
    if value is None:
        size[0] += 1
        return {"NULL": True}
    if kind is list:
        if depth > MAX_NATIVE_DEPTH:
            return _escaped(value, size)
        size[0] += 3
        items = []
        for item in value:
            size[0] += 1
            items.append(_encode(item, size, depth + 1))
        return {"L": items}
    raise TypeError(f"{kind.__name__} is not a JSON type")  # validate_data let it through: a bug


def _name_too_long(key: str) -> bool:
    # DynamoDB's attribute names, nested map keys included, are 1 to 65535 bytes of UTF-8.
    return len(key) > _MAX_NAME_BYTES // 4 and len(key.encode("utf-8")) > _MAX_NAME_BYTES


def _escaped(value: Any, size: list[int]) -> dict[str, Any]:
    # Binary never stands for anything else in this format, so it can carry JSON text
    # for what DynamoDB's own types cannot hold.
    blob = dump_json(value).encode("utf-8")
    size[0] += len(blob)
    return {"B": blob}


def _number_problem(text: str) -> str | None:
    """Why DynamoDB cannot store the number ``text``, or None if it can."""
    number = Decimal(text)
    if number == 0:
        return None
    # Counted by hand: Decimal.normalize() would round to the context's 28 digits.
    significant = len("".join(map(str, number.as_tuple().digits)).strip("0"))
    if significant > _MAX_SIGNIFICANT_DIGITS:
        return (
            f"the number {_clip(text)} has {significant} significant digits, "
            f"over DynamoDB's {_MAX_SIGNIFICANT_DIGITS}"
        )
    exponent = number.adjusted()
    if exponent > _MAX_EXPONENT or exponent < _MIN_EXPONENT:
        return f"the number {_clip(text)} is outside DynamoDB's range (1e-130 to below 1e126)"
    return None


def _clip(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:20]}...{text[-10:]} ({len(text)} characters)"


def _decode(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "M":
        return {key: _decode(item) for key, item in value.items()}
    if kind == "N":
        return _number(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [_decode(item) for item in value]
    if kind == "SS":
        return list(value)
    if kind == "B":
        return _load_escaped(value)
    if kind == "NS":
        return [_number(item) for item in value]
    raise ValueError(f"a {kind} attribute is not JSON data")


def _load_escaped(blob: bytes) -> Any:
    """The value an escaped ``B`` attribute carries (JSON text, UTF-8)."""
    return json.loads(blob.decode("utf-8"))


def _number(text: str) -> int | float:
    # Plain integers are the common case; anything else is a float unless it has no fraction.
    if text.isdigit() or (text[:1] == "-" and text[1:].isdigit()):
        return int(text)
    number = float(text)
    if number.is_integer():
        try:
            return int(Decimal(text))
        except InvalidOperation:  # pragma: no cover - float() accepted it
            return number
    return number
