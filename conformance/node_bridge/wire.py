"""What crosses the pipe to ``host.mjs`` and back: values, session records and thrown errors.

What cannot cross as plain JSON travels beside the value as ``specials`` (see
docs/node-bridge.md): integers beyond 2^53 as BigInt, bytes as Uint8Array, non-finite
floats, and JavaScript ``Date`` values coming back as aware UTC datetimes.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reference_stores.errors import (
    InvalidSessionIdError,
    RevisionConflictError,
    SessionExistsError,
    SessionStoreError,
)
from reference_stores.interface import SessionData
from reference_stores.validation import datetime_from_ms

# Here, not in host.py, because error text cuts the host's own frames off a JavaScript stack.
HOST_PATH = Path(__file__).with_name("host.mjs")
_HOST_FRAME = f"{HOST_PATH.parent.name}/{HOST_PATH.name}"  # as stack frames show it (a file URL)
MAX_SAFE_INTEGER = 2**53 - 1

_ERROR_CLASSES: dict[str, type[Exception]] = {
    "SessionExistsError": SessionExistsError,
    "RevisionConflictError": RevisionConflictError,
    "InvalidSessionIdError": InvalidSessionIdError,
    "SessionStoreError": SessionStoreError,
    "TypeError": TypeError,
    "RangeError": ValueError,
    "ValueError": ValueError,
}


class NodeBridgeError(Exception):
    """The JavaScript store cannot be served: the message is one line for the user."""


class JavaScriptError(Exception):
    """An error thrown in JavaScript that maps to no Python class (an ``error.cause``, say)."""

    def __init__(self, name: str, message: str, stack: str = "") -> None:
        super().__init__(_error_text(name, message, stack))
        self.js_name = name
        self.js_message = message
        self.js_stack = stack


@dataclass(frozen=True)
class JavaScriptValue:
    """A value a JavaScript store returned that has no Python form (a Map, a function, ...)."""

    description: str

    def __repr__(self) -> str:
        return f"<JavaScript value: {self.description}>"


Path_ = list[str | int]
Special = list[Any]


def _encode(value: Any, path: Path_, specials: list[Special]) -> Any:
    """A JSON-ready form of ``value``; what JSON cannot carry goes into ``specials``."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        number = int(value)
        if abs(number) > MAX_SAFE_INTEGER:
            specials.append([path, "bigint", str(number)])
            return None
        return number
    if isinstance(value, float):
        if not math.isfinite(value):
            specials.append(
                [
                    path,
                    "number",
                    "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"),
                ]
            )
            return None
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        specials.append([path, "bytes", base64.b64encode(bytes(value)).decode("ascii")])
        return None
    if isinstance(value, Mapping):
        encoded: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"cannot send {key!r} ({type(key).__name__}) as an object key to JavaScript: "
                    "JSON object keys are strings"
                )
            encoded[str(key)] = _encode(item, [*path, str(key)], specials)
        return encoded
    if isinstance(value, (list, tuple)):
        return [_encode(item, [*path, index], specials) for index, item in enumerate(value)]
    raise TypeError(f"cannot send {kind.__name__} {value!r} to JavaScript: it has no JSON form")


def encode_value(value: Any) -> tuple[Any, list[Special]]:
    specials: list[Special] = []
    return _encode(value, [], specials), specials


def decode_value(value: Any, specials: list[Special] | None) -> Any:
    """Put what came beside the JSON value back in at its paths, as Python values."""
    root = value
    for path, kind, payload in specials or ():
        decoded = _decode_special(kind, payload)
        if not path:
            root = decoded
            continue
        parent = root
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = decoded
    return root


def _decode_special(kind: str, payload: Any) -> Any:
    if kind == "bigint":
        return int(payload)
    if kind == "date":
        return None if payload is None else datetime_from_ms(int(payload))
    if kind == "bytes":
        return base64.b64decode(payload)
    if kind == "number":
        return float(payload)
    return JavaScriptValue(str(payload))


def _record_from(value: Any) -> Any:
    """A JavaScript session record as ``SessionData``; anything else as it came."""
    if not isinstance(value, dict):
        return value
    # Whatever the store returned goes in as it came (a missing field as None): the suite judges it.
    fields: Any = value
    return SessionData(
        session_id=fields.get("sessionId"),
        created_at=fields.get("createdAt"),
        updated_at=fields.get("updatedAt"),
        ttl=fields.get("ttl"),
        data=fields.get("data"),
        revision=fields.get("revision"),
    )


_RECORD_KEYS = {
    "session_id": "sessionId",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "ttl": "ttl",
    "data": "data",
    "revision": "revision",
}


def _error_text(name: str, message: str, stack: str) -> str:
    frames = []
    for line in stack.splitlines():
        if not line.lstrip().startswith("at "):
            continue
        if _HOST_FRAME in line:
            break  # the host's own frames and Node's below them say nothing about the store
        frames.append(line)
    head = f"{name}: {message}" if name else message
    if frames:
        return head + "\nJavaScript stack:\n" + "\n".join(frames)
    return head


def _exception_from(error: Mapping[str, Any]) -> Exception:
    """The Python exception for an error a JavaScript store threw, chosen by its name."""
    name = str(error.get("name", ""))
    message = str(error.get("message", ""))
    stack = str(error.get("stack", ""))
    names = [name, *error.get("chain", [])]
    kind = next((_ERROR_CLASSES[n] for n in names if n in _ERROR_CLASSES), SessionStoreError)
    shown = name
    if kind is SessionStoreError and "SessionStoreError" not in names:
        shown = f"{name or 'non-Error'} (JavaScript; reported as SessionStoreError)"
    exception = kind(_error_text(shown, message, stack))
    if isinstance(exception, RevisionConflictError):
        # The revision the store found: the error's currentRevision (null or absent: none).
        exception.current_revision = decode_value(
            error.get("currentRevision"), error.get("currentRevisionSpecials")
        )
    exception.js_name = name  # type: ignore[attr-defined]
    exception.js_message = message  # type: ignore[attr-defined]
    exception.js_stack = stack  # type: ignore[attr-defined]
    cause = error.get("cause")
    if isinstance(cause, Mapping):
        exception.__cause__ = JavaScriptError(
            str(cause.get("name", "")), str(cause.get("message", "")), str(cause.get("stack", ""))
        )
    return exception
