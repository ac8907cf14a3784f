"""The clauses of SPEC.md, as data: what the suite quotes, groups and reports by.

``tests/test_traceability.py`` keeps this list and SPEC.md identical.

One piece because it is one list: every clause of SPEC.md in its order, word for word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CLAUSES", "SPEC_VERSION", "Clause", "clause_by_id", "prerequisites"]

SPEC_VERSION = "1.2"

Level = Literal["MUST", "SHOULD"]


@dataclass(frozen=True)
class Clause:
    id: str
    level: Level
    section: str
    text: str
    needs_ttl: bool = False
    leans_on: tuple[str, ...] = ()
    """Clauses this one's checks cannot be judged without: when one of them fails against a
    store, this clause is reported BLOCKED by it instead of failing a second time."""


def _c(
    id: str,
    level: Level,
    section: str,
    text: str,
    *,
    ttl: bool = False,
    leans_on: tuple[str, ...] = (),
) -> Clause:
    return Clause(id, level, section, text, ttl, leans_on)


# Most checks create a session and read it back: they lean on reads that see writes.
_READS = ("CONS-READ-YOUR-WRITES",)


CLAUSES: tuple[Clause, ...] = (
    # Interface
    _c(
        "IFACE-METHODS",
        "MUST",
        "Interface",
        "A store has the five methods `session_exists`, `create_session`, `get_session`, "
        "`update_session` and `delete_session`, each a coroutine function.",
    ),
    _c(
        "IFACE-RECORD",
        "MUST",
        "Interface",
        "`get_session` returns `None` or a record with the attributes `session_id` (the id asked "
        "for), `created_at`, `updated_at` (`datetime`), `ttl` (`int` or `None`) and `data` (`dict`); "
        "`session_exists` returns a `bool`; the three writing methods return `None`.",
        leans_on=("IFACE-METHODS",),
    ),
    # Session ids
    _c(
        "ID-VALID",
        "MUST",
        "Session ids",
        "Every operation accepts any `str` of 1 to 256 characters, each in 0x21-0x7E (the MCP "
        "session-id alphabet).",
        leans_on=_READS,
    ),
    _c(
        "ID-INVALID",
        "MUST",
        "Session ids",
        "Any other id (not a `str`, empty, longer than 256 characters, or holding any other "
        "character) makes every operation raise `InvalidSessionIdError` before the backend is "
        "touched; nothing is created, changed or removed.",
        leans_on=_READS,
    ),
    _c(
        "ID-DISTINCT",
        "MUST",
        "Session ids",
        "Ids are compared exactly: case-sensitive, never truncated, trimmed, folded, decoded or "
        "prefix-matched, and never normalised as a path or a URL; distinct ids never share state.",
        leans_on=("ID-VALID",),
    ),
    # create
    _c(
        "CREATE-NEW",
        "MUST",
        "create_session",
        "`create_session` makes a live session: `get_session` returns it with its id, "
        "`created_at == updated_at` = the time of the call, and `data` equal to the argument.",
        leans_on=(*_READS, "TIME-UTC"),
    ),
    _c(
        "CREATE-DEFAULT-DATA",
        "MUST",
        "create_session",
        "When `data` is omitted or `None`, the session's data is `{}`.",
        leans_on=_READS,
    ),
    _c(
        "CREATE-EXISTS",
        "MUST",
        "create_session",
        "Creating over a live session raises `SessionExistsError` and leaves that session "
        "unchanged: data, timestamps and expiry.",
        leans_on=_READS,
    ),
    _c(
        "CREATE-OVER-EXPIRED",
        "MUST",
        "create_session",
        "Creating over an expired session succeeds and makes a new session: new `created_at`, "
        "the new data, a new expiry.",
        ttl=True,
        leans_on=("GET-EXPIRED", "CREATE-NEW"),
    ),
    _c(
        "CREATE-RACE",
        "MUST",
        "create_session",
        "Of concurrent creates of one id exactly one succeeds; the others raise "
        "`SessionExistsError`, and the stored data is the winner's.",
        leans_on=("CREATE-EXISTS",),
    ),
    # get
    _c(
        "GET-MISSING",
        "MUST",
        "get_session",
        "`get_session` returns `None` for an id that was never created or was deleted.",
        leans_on=("IFACE-RECORD",),
    ),
    _c(
        "GET-EXPIRED",
        "MUST",
        "get_session",
        "`get_session` returns `None` for an expired session, even while the backend still "
        "holds it.",
        ttl=True,
        leans_on=_READS,
    ),
    _c(
        "GET-ISOLATED",
        "MUST",
        "get_session",
        "The returned record shares nothing with the store: mutating it, its `data` or anything "
        "nested in it changes nothing stored.",
        leans_on=_READS,
    ),
    _c(
        "GET-NO-REFRESH",
        "MUST",
        "get_session",
        "`get_session` does not refresh the TTL and does not change `updated_at`.",
        ttl=True,
        leans_on=("TTL-WINDOW",),
    ),
    # exists
    _c(
        "EXISTS-MATCHES-GET",
        "MUST",
        "session_exists",
        "`session_exists` is `True` exactly when `get_session` would return a session: live "
        "sessions `True`; ids never created, deleted or expired `False`.",
        leans_on=_READS,
    ),
    _c(
        "EXISTS-NO-REFRESH",
        "MUST",
        "session_exists",
        "`session_exists` does not refresh the TTL.",
        ttl=True,
        leans_on=("TTL-WINDOW", "EXISTS-MATCHES-GET"),
    ),
    # update
    _c(
        "UPDATE-REPLACE",
        "MUST",
        "update_session",
        '`updates` of `{"data": D}` replaces the whole data object with `D`: no key of the old '
        "data survives unless `D` holds it (no merge, at any depth, and no key kept for its "
        "name, such as `_id` or `$version`), and `D` is written with its own JSON types even "
        "where it compares equal to the old data.",
        leans_on=_READS,
    ),
    _c(
        "UPDATE-TOUCH",
        "MUST",
        "update_session",
        "`updates` of `{}` is a touch: the data is kept. Like every update it moves "
        "`updated_at` (UPDATE-TIMES) and restarts the TTL (UPDATE-TTL-RESTART).",
        leans_on=_READS,
    ),
    _c(
        "UPDATE-KEYS",
        "MUST",
        "update_session",
        'Any key in `updates` other than `"data"` (`session_id`, `created_at`, `updated_at`, '
        "`ttl`, camelCase names, unknown keys) raises `ValueError`; `updates` that is not a "
        "mapping, or `data` that is not a JSON object, raises `TypeError` or `ValueError`. "
        "Nothing changes.",
        leans_on=_READS,
    ),
    _c(
        "UPDATE-TIMES",
        "MUST",
        "update_session",
        "Every `update_session` of a live session (with new data, with the data already "
        "stored, or a touch) sets `updated_at` to the time of the call, or leaves it where it "
        "was when the clock reads earlier than that (it never goes back), and leaves "
        "`created_at` unchanged.",
        leans_on=(*_READS, "TIME-UTC"),
    ),
    _c(
        "UPDATE-TTL-RESTART",
        "MUST",
        "update_session",
        "Every `update_session` of a live session (with new data, with the data already "
        "stored, or a touch) restarts the TTL from the `updated_at` it sets: the session then "
        "lives as TTL-WINDOW says, counted from that update.",
        ttl=True,
        leans_on=("TTL-WINDOW", "UPDATE-TIMES"),
    ),
    _c(
        "UPDATE-NO-UPSERT",
        "MUST",
        "update_session",
        "Updating an id with no session does nothing: no error, and no session is created.",
        leans_on=_READS,
    ),
    _c(
        "UPDATE-EXPIRED",
        "MUST",
        "update_session",
        "Updating an expired session does nothing: no error, and the session stays gone.",
        ttl=True,
        leans_on=("GET-EXPIRED", "EXISTS-MATCHES-GET", "UPDATE-NO-UPSERT"),
    ),
    _c(
        "UPDATE-DELETE-RACE",
        "MUST",
        "update_session",
        "An update racing a delete of the same session never brings it back: once both have "
        "finished, the session is gone.",
        leans_on=("UPDATE-NO-UPSERT",),
    ),
    _c(
        "UPDATE-CONCURRENT",
        "MUST",
        "update_session",
        "After concurrent updates of one session, its data equals one of the written values, "
        "never a blend of several.",
        leans_on=("UPDATE-REPLACE",),
    ),
    # delete
    _c(
        "DELETE-REMOVES",
        "MUST",
        "delete_session",
        "After `delete_session`, `get_session` returns `None` (and `session_exists` is "
        "`False`, as EXISTS-MATCHES-GET says), and the id can be created again.",
        leans_on=_READS,
    ),
    _c(
        "DELETE-MISSING",
        "MUST",
        "delete_session",
        "Deleting an id with no session is a silent no-op.",
        leans_on=("DELETE-REMOVES",),
    ),
    # data
    _c(
        "DATA-TYPES",
        "MUST",
        "Data",
        "Data round-trips exactly in JSON terms, checked by type as well as value: `None`, "
        "`bool` stays `bool`, `int` stays `int`, a float with a fraction stays that same "
        "`float`, `str`, `list`, `dict`, at any depth, through create and update alike. An "
        'object shaped like a codec\'s marker (`{"$date": ...}`, `{"S": "x"}`) comes back as '
        "that object.",
        leans_on=_READS,
    ),
    _c(
        "DATA-INTEGERS",
        "MUST",
        "Data",
        "Every integer in the signed 64-bit range comes back exactly, as an `int`.",
        leans_on=_READS,
    ),
    _c(
        "DATA-BIG-INTEGERS",
        "SHOULD",
        "Data",
        "An integer beyond the signed 64-bit range comes back exactly, or the write raises "
        "`ValueError` and changes nothing; it is never silently altered.",
        leans_on=("DATA-INTEGERS",),
    ),
    _c(
        "DATA-STRINGS",
        "MUST",
        "Data",
        "Any Unicode string, as a value or as a key, comes back unchanged: the empty string, "
        "U+0000 and other control characters, characters JSON escapes, and characters of "
        "every plane, astral ones included, and keys some languages give a meaning of their "
        "own (`__proto__`, `constructor`). Different keys stay different: no escape scheme, "
        "Unicode normalisation or case folding makes two keys of one object one.",
        leans_on=_READS,
    ),
    _c(
        "DATA-NESTING",
        "MUST",
        "Data",
        "Objects and arrays nested at least 32 levels deep round-trip.",
        leans_on=_READS,
    ),
    _c(
        "DATA-SIZE",
        "MUST",
        "Data",
        "Data whose compact JSON text (no spaces, non-ASCII characters unescaped) is at least "
        "100 KiB (102 400 bytes) in UTF-8 round-trips.",
        leans_on=_READS,
    ),
    _c(
        "DATA-INVALID",
        "MUST",
        "Data",
        "Data that is not a JSON object (nothing is coerced into one: not a list of pairs, a "
        "string, an empty list or string, nor `0`), or that holds a value outside JSON (NaN, "
        "Infinity, `bytes`, `set`, `datetime`, `Decimal`, arbitrary objects, non-`str` keys), "
        "raises `TypeError` or `ValueError`, and nothing is written or changed.",
        leans_on=_READS,
    ),
    _c(
        "DATA-COPY-IN",
        "MUST",
        "Data",
        "A store copies the data it is given: mutating the argument after `create_session` or "
        "`update_session` returns changes nothing stored.",
        leans_on=_READS,
    ),
    # time
    _c(
        "TIME-UTC",
        "MUST",
        "Timestamps",
        "`created_at` and `updated_at` are timezone-aware datetimes in UTC, naming the right "
        "instant whatever the host's local time zone.",
        leans_on=_READS,
    ),
    _c(
        "TIME-MILLIS",
        "MUST",
        "Timestamps",
        "Timestamps have millisecond precision (no finer part) and are the same on every read.",
        leans_on=_READS,
    ),
    _c(
        "TIME-ORDER",
        "MUST",
        "Timestamps",
        "`created_at <= updated_at` always holds.",
        leans_on=("CREATE-NEW", "UPDATE-TIMES"),
    ),
    _c(
        "TIME-TEXT-FORMAT",
        "MUST",
        "Timestamps",
        "Where a backend keeps timestamps as text, they are written in JavaScript's "
        "`toISOString()` form (`2026-11-23T19:22:48.123Z`), so that stores written in "
        "TypeScript can share the backend. Judged on raw records by a store's own tests, "
        "not through the interface.",
    ),
    # TTL
    _c(
        "TTL-CONFIG",
        "MUST",
        "TTL",
        "A store takes `ttl_seconds`: any positive number of seconds up to ten years "
        "(315 360 000), or `None` for sessions that never expire; zero or a negative number "
        "raises `ValueError`, and so may a larger number than the backend can hold.",
        ttl=True,
        leans_on=_READS,
    ),
    _c(
        "TTL-WINDOW",
        "MUST",
        "TTL",
        "A session stays live at least `ttl_seconds` after its `updated_at` (its create or "
        "its last update), fractions of a second included, as the store's clock reads, and is "
        "gone no later than one second beyond that.",
        ttl=True,
        leans_on=("GET-EXPIRED",),
    ),
    _c(
        "TTL-FIELD",
        "MUST",
        "TTL",
        "`SessionData.ttl` is the expiry as integer Unix epoch seconds (within one second of "
        "the last write plus `ttl_seconds`), and `None` for a session without expiry.",
        ttl=True,
        leans_on=("TTL-WINDOW", "UPDATE-TTL-RESTART"),
    ),
    _c(
        "TTL-NONE",
        "MUST",
        "TTL",
        "With `ttl_seconds=None` sessions never expire, whatever date the clock reads, and "
        "their `ttl` is `None`.",
        ttl=True,
        leans_on=_READS,
    ),
    # revisions (a store that declares supports_revisions = True)
    _c(
        "REV-START",
        "MUST",
        "Revisions",
        "`create_session` gives the new session `revision` 1, an `int`; so does a create over "
        "an expired session and a create after a delete.",
        leans_on=_READS,
    ),
    _c(
        "REV-COUNT",
        "MUST",
        "Revisions",
        "Each `update_session` that writes `data` adds exactly 1 to the session's revision, "
        "with or without `expected_revision`, even when the new data equals the old.",
        leans_on=("UPDATE-TIMES",),
    ),
    _c(
        "REV-TOUCH",
        "MUST",
        "Revisions",
        "A touch (`updates` of `{}`) leaves the revision as it is, with or without "
        "`expected_revision`.",
        # A touch that writes data (LeanMCP's) counts as a write: that is UPDATE-TOUCH's.
        leans_on=(*_READS, "UPDATE-TOUCH"),
    ),
    _c(
        "REV-MATCH",
        "MUST",
        "Revisions",
        "An `update_session` whose `expected_revision` equals the live session's revision does "
        "exactly what the same call without it does: the data replaced (kept, for a touch), "
        "`updated_at` and the TTL refreshed. `expected_revision=None` is the same as leaving it "
        "out.",
        leans_on=("UPDATE-REPLACE", "UPDATE-TOUCH", "UPDATE-TTL-RESTART"),
    ),
    _c(
        "REV-CONFLICT",
        "MUST",
        "Revisions",
        "An `update_session` whose `expected_revision` differs from the live session's "
        "revision, above or below it, raises `RevisionConflictError` with `current_revision` "
        "equal to the session's revision, for a data write and a touch alike, and changes "
        "nothing: data, timestamps, expiry and revision stay as they were.",
        leans_on=_READS,
    ),
    _c(
        "REV-MISSING",
        "MUST",
        "Revisions",
        "An `update_session` with an `expected_revision` on an id with no live session (never "
        "created, deleted, or expired) raises `RevisionConflictError` with `current_revision` "
        "`None`, for a data write and a touch alike; no session is created or revived.",
        leans_on=("UPDATE-NO-UPSERT", "GET-EXPIRED"),
    ),
    _c(
        "REV-INVALID",
        "MUST",
        "Revisions",
        "An `expected_revision` other than `None` or an `int` of at least 1 raises, whether or "
        "not the session exists: `TypeError` when it is not an `int` (a `bool`, a `float` such "
        "as `1.0`, a string), `ValueError` when it is an `int` below 1. Nothing changes.",
        leans_on=_READS,
    ),
    _c(
        "REV-RACE",
        "MUST",
        "Revisions",
        "Of concurrent conditional updates of one session that write `data`, all at its current "
        "revision, exactly one succeeds and the others raise `RevisionConflictError`; the data "
        "is then the winner's and the revision exactly one more than before. This holds "
        "whatever the size of the data, through one store object and, for a store that "
        "declares `shares_sessions_across_instances = True`, through several.",
        leans_on=("REV-MATCH", "REV-CONFLICT", "SHARED-INSTANCES"),
    ),
    # errors and consistency
    _c(
        "ERR-BACKEND",
        "MUST",
        "Errors",
        "A backend failure raises `SessionStoreError` with the original exception as its "
        "cause, within a bounded time; no operation turns a failure into `False`, `None` or "
        "silence.",
    ),
    _c(
        "CONS-READ-YOUR-WRITES",
        "MUST",
        "Consistency",
        "A read after a completed write through the same store object sees that write, "
        "however many other sessions the store holds: a store never drops a live session to "
        "make room.",
        leans_on=("GET-MISSING",),
    ),
    _c(
        "MODEL-SEQUENCES",
        "MUST",
        "Consistency",
        "Any sequence of the five operations on a few ids, with time passing between them, gets "
        "the answers the model of MODEL-SEQUENCES (below) gives: the same calls raise, the same "
        "sessions exist, and every read returns the model's data and times.",
        leans_on=_READS,
    ),
    _c(
        "SHARED-INSTANCES",
        "MUST",
        "Consistency",
        "A store that declares `shares_sessions_across_instances = True` lets a second store "
        "built from the same target and options see, update and delete the first one's "
        "sessions, and the reverse.",
        leans_on=_READS,
    ),
    _c(
        "SHARED-INSTANCES-UNDECLARED",
        "SHOULD",
        "Consistency",
        "A store that declares nothing about `shares_sessions_across_instances` shares its "
        "sessions as SHARED-INSTANCES says.",
        leans_on=_READS,
    ),
)

_BY_ID = {clause.id: clause for clause in CLAUSES}


def prerequisites(clause_id: str) -> list[str]:
    """Every clause ``clause_id`` leans on, directly or through others, nearest first."""
    found: list[str] = []
    pending = list(clause_by_id(clause_id).leans_on)
    while pending:
        other = pending.pop(0)
        if other not in found:
            found.append(other)
            pending.extend(clause_by_id(other).leans_on)
    return found


def clause_by_id(clause_id: str) -> Clause:
    try:
        return _BY_ID[clause_id]
    except KeyError:
        raise KeyError(f"no clause {clause_id!r} in SPEC.md") from None
