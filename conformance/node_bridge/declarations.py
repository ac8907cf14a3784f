"""What the suite is told of a JavaScript store: its declarations, and the bridge's own notes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_APPLICABLE = {
    "DATA-INVALID": (
        "the Node bridge, not the store, rules it out: the clause's inputs (NaN, Infinity, "
        "bytes, sets, datetimes, Decimals, non-str keys, arbitrary Python objects) cannot be "
        "expressed to a JavaScript store: most have no JSON or JavaScript form, and a non-str "
        "key would arrive as a string; check invalid data in the store's own JavaScript tests"
    ),
}

_INTEGER_NOTE = (
    "JavaScript numbers are IEEE-754 doubles: integers beyond 2^53 cannot round-trip as a "
    "number. The bridge hands them to the store as BigInt (their only exact JavaScript form): "
    "a store that keeps BigInt (structuredClone does) passes; one that goes through "
    "JSON.stringify throws TypeError or rounds them. Accept this platform limit with "
    "--conformance-baseline."
)
_FAKE_CLOCK_NOTE = (
    "the host ran this store on the suite's fake clock: Date.now() and new Date() return the "
    "suite's time, but timers, performance.now() and expiry done by a backend (Redis EXPIRE, "
    "DynamoDB TTL) follow real time"
)
_REAL_CLOCK_NOTE = (
    "the host ran this store on the real clock (no clock was given: the kit gives none to a "
    "store that takes no options or declares acceptsClock = false)"
)


def _named(error: str, clause: str) -> str:
    return (
        f"over the Node bridge an error counts as {error} when its name, or the name of a class "
        f"it extends, is {error}; {clause}"
    )


_NOTES = {
    "DATA-INTEGERS": _INTEGER_NOTE,
    "DATA-BIG-INTEGERS": _INTEGER_NOTE,
    "DATA-TYPES": (
        "JavaScript has one number type: a float with an integral value (2.0) comes back as the "
        "int 2"
    ),
    "ID-INVALID": _named("InvalidSessionIdError", "a Python bytes id reaches it as a Uint8Array"),
    "CREATE-EXISTS": _named("SessionExistsError", "a plain Error is reported as SessionStoreError"),
    "CREATE-RACE": _named("SessionExistsError", "a plain Error is reported as SessionStoreError"),
    "UPDATE-KEYS": (
        "over the Node bridge a refusal counts when it throws a TypeError, a RangeError or an "
        "Error named ValueError (a plain Error is reported as SessionStoreError)"
    ),
    "TTL-CONFIG": (
        "the constructor gets { ttlSeconds } and must throw a RangeError (or an Error named "
        "ValueError) for 0 or a negative number"
    ),
    "REV-CONFLICT": _named(
        "RevisionConflictError",
        "current_revision is the error's currentRevision property (null or absent: None)",
    ),
    "REV-MISSING": _named(
        "RevisionConflictError",
        "current_revision is the error's currentRevision property (null or absent: None)",
    ),
    "REV-RACE": _named("RevisionConflictError", "a plain Error is reported as SessionStoreError"),
    "REV-INVALID": (
        "over the Node bridge expected_revision reaches the store as { expectedRevision }; a "
        "refusal counts when it throws a TypeError (not an integer) or a RangeError (below 1). "
        "A float with an integral value (1.0) has no JavaScript form apart from the integer, so "
        "the bridge itself refuses it with TypeError"
    ),
    "ERR-BACKEND": (
        "over the Node bridge the cause is the thrown error's `cause`: throw "
        "new SessionStoreError(message, { cause: backendError })"
    ),
}
_TIME_CLAUSES = (
    "CREATE-NEW", "CREATE-OVER-EXPIRED", "GET-EXPIRED", "GET-NO-REFRESH", "EXISTS-MATCHES-GET",
    "EXISTS-NO-REFRESH", "UPDATE-TOUCH", "UPDATE-TIMES", "UPDATE-TTL-RESTART", "UPDATE-EXPIRED",
    "TIME-MILLIS", "TIME-ORDER", "TTL-CONFIG", "TTL-WINDOW", "TTL-FIELD", "TTL-NONE",
)  # fmt: skip


def declared_capabilities(export_info: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether the JavaScript store takes a TTL and follows the suite's clock.

    Read as Python's are: a store whose constructor (or factory) takes no parameter is like
    a Python signature naming neither ``ttl_seconds`` nor ``clock``; one that takes an
    options object gets ``ttlSeconds`` and runs on the fake ``Date``. Static ``acceptsTtl``
    and ``acceptsClock`` (or ``expiresInRealTime = true``) override what was read.
    """
    takes_options = export_info.get("takesOptions") is not False
    accepts_ttl = export_info.get("acceptsTtl")
    if not isinstance(accepts_ttl, bool):
        accepts_ttl = takes_options
    accepts_clock = export_info.get("acceptsClock")
    if not isinstance(accepts_clock, bool):
        accepts_clock = takes_options and export_info.get("realTime") is not True
    return accepts_ttl, accepts_clock
