"""The clauses of SPEC.md, as data: what the suite quotes, groups and reports by.

``tests/test_traceability.py`` keeps this list and SPEC.md identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CLAUSES", "SPEC_VERSION", "Clause", "clause_by_id"]

SPEC_VERSION = "1.0"

Level = Literal["MUST", "SHOULD"]


@dataclass(frozen=True)
class Clause:
    id: str
    level: Level
    section: str
    text: str
    needs_ttl: bool = False


def _c(id: str, level: Level, section: str, text: str, *, ttl: bool = False) -> Clause:
    return Clause(id, level, section, text, ttl)


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
    ),
    # Session ids
    _c(
        "ID-VALID",
        "MUST",
        "Session ids",
        "Every operation accepts any `str` of 1 to 256 characters, each in 0x21-0x7E (the MCP "
        "session-id alphabet).",
    ),
    _c(
        "ID-INVALID",
        "MUST",
        "Session ids",
        "Any other id (not a `str`, empty, longer than 256 characters, or holding any other "
        "character) makes every operation raise `InvalidSessionIdError` before the backend is "
        "touched; nothing is created, changed or removed.",
    ),
    _c(
        "ID-DISTINCT",
        "MUST",
        "Session ids",
        "Ids are compared exactly: case-sensitive, never truncated, trimmed, folded or "
        "prefix-matched; distinct ids never share state.",
    ),
    # create
    _c(
        "CREATE-NEW",
        "MUST",
        "create_session",
        "`create_session` makes a live session: `get_session` returns it with its id, "
        "`created_at == updated_at` = the time of the call, and `data` equal to the argument.",
    ),
    _c(
        "CREATE-DEFAULT-DATA",
        "MUST",
        "create_session",
        "When `data` is omitted or `None`, the session's data is `{}`.",
    ),
    _c(
        "CREATE-EXISTS",
        "MUST",
        "create_session",
        "Creating over a live session raises `SessionExistsError` and leaves that session "
        "unchanged: data, timestamps and expiry.",
    ),
    _c(
        "CREATE-OVER-EXPIRED",
        "MUST",
        "create_session",
        "Creating over an expired session succeeds and makes a new session: new `created_at`, "
        "the new data, a new expiry.",
        ttl=True,
    ),
    _c(
        "CREATE-RACE",
        "MUST",
        "create_session",
        "Of concurrent creates of one id exactly one succeeds; the others raise "
        "`SessionExistsError`, and the stored data is the winner's.",
    ),
    # get
    _c(
        "GET-MISSING",
        "MUST",
        "get_session",
        "`get_session` returns `None` for an id that was never created or was deleted.",
    ),
    _c(
        "GET-EXPIRED",
        "MUST",
        "get_session",
        "`get_session` returns `None` for an expired session, even while the backend still "
        "holds it.",
        ttl=True,
    ),
    _c(
        "GET-ISOLATED",
        "MUST",
        "get_session",
        "The returned record shares nothing with the store: mutating it, its `data` or anything "
        "nested in it changes nothing stored.",
    ),
    _c(
        "GET-NO-REFRESH",
        "MUST",
        "get_session",
        "`get_session` does not refresh the TTL and does not change `updated_at`.",
        ttl=True,
    ),
    # exists
    _c(
        "EXISTS-MATCHES-GET",
        "MUST",
        "session_exists",
        "`session_exists` is `True` exactly when `get_session` would return a session: live "
        "sessions `True`; ids never created, deleted or expired `False`.",
    ),
    _c(
        "EXISTS-NO-REFRESH",
        "MUST",
        "session_exists",
        "`session_exists` does not refresh the TTL.",
        ttl=True,
    ),
    # update
    _c(
        "UPDATE-REPLACE",
        "MUST",
        "update_session",
        '`updates` of `{"data": D}` replaces the whole data object with `D`: no key of the old '
        "data survives unless `D` holds it (no merge, at any depth).",
    ),
    _c(
        "UPDATE-TOUCH",
        "MUST",
        "update_session",
        "`updates` of `{}` is a touch: data kept, `updated_at` and the TTL refreshed.",
    ),
    _c(
        "UPDATE-KEYS",
        "MUST",
        "update_session",
        'Any key in `updates` other than `"data"` (`session_id`, `created_at`, `updated_at`, '
        "`ttl`, camelCase names, unknown keys) raises `ValueError`; `updates` that is not a "
        "mapping, or `data` that is not a JSON object, raises `TypeError` or `ValueError`. "
        "Nothing changes.",
    ),
    _c(
        "UPDATE-TIMES",
        "MUST",
        "update_session",
        "On a live session `update_session` sets `updated_at` to the time of the call, never "
        "earlier than before, and leaves `created_at` unchanged.",
    ),
    _c(
        "UPDATE-TTL-RESTART",
        "MUST",
        "update_session",
        "On a live session `update_session` restarts the TTL from the time of the call; "
        "`SessionData.ttl` moves forward.",
        ttl=True,
    ),
    _c(
        "UPDATE-NO-UPSERT",
        "MUST",
        "update_session",
        "Updating an id with no session does nothing: no error, and no session is created.",
    ),
    _c(
        "UPDATE-EXPIRED",
        "MUST",
        "update_session",
        "Updating an expired session does nothing: no error, and the session stays gone.",
        ttl=True,
    ),
    _c(
        "UPDATE-DELETE-RACE",
        "MUST",
        "update_session",
        "An update racing a delete of the same session never brings it back: once both have "
        "finished, the session is gone.",
    ),
    _c(
        "UPDATE-CONCURRENT",
        "MUST",
        "update_session",
        "After concurrent updates of one session, its data equals one of the written values, "
        "never a blend of several.",
    ),
    # delete
    _c(
        "DELETE-REMOVES",
        "MUST",
        "delete_session",
        "After `delete_session`, `get_session` returns `None`, `session_exists` is `False`, and "
        "the id can be created again.",
    ),
    _c(
        "DELETE-MISSING",
        "MUST",
        "delete_session",
        "Deleting an id with no session is a silent no-op.",
    ),
    # data
    _c(
        "DATA-TYPES",
        "MUST",
        "Data",
        "Data round-trips exactly in JSON terms, checked by type as well as value: `None`, "
        "`bool` stays `bool`, `int` stays `int`, a float with a fraction stays that same "
        "`float`, `str`, `list`, `dict`, at any depth, through create and update alike.",
    ),
    _c(
        "DATA-INTEGERS",
        "MUST",
        "Data",
        "Every integer in the signed 64-bit range comes back exactly, as an `int`.",
    ),
    _c(
        "DATA-BIG-INTEGERS",
        "SHOULD",
        "Data",
        "An integer beyond the signed 64-bit range comes back exactly, or the write raises "
        "`ValueError` and changes nothing; it is never silently altered.",
    ),
    _c(
        "DATA-STRINGS",
        "MUST",
        "Data",
        "Any Unicode string, as a value or as a key, comes back unchanged: the empty string, "
        "U+0000 and other control characters, characters JSON escapes, and characters of "
        "every plane, astral ones included.",
    ),
    _c(
        "DATA-NESTING",
        "MUST",
        "Data",
        "Objects and arrays nested at least 32 levels deep round-trip.",
    ),
    _c("DATA-SIZE", "MUST", "Data", "Data of at least 100 KiB of serialized JSON round-trips."),
    _c(
        "DATA-INVALID",
        "MUST",
        "Data",
        "Data that is not a JSON object, or that holds a value outside JSON (NaN, Infinity, "
        "`bytes`, `set`, `datetime`, `Decimal`, arbitrary objects, non-`str` keys), raises "
        "`TypeError` or `ValueError`, and nothing is written or changed.",
    ),
    _c(
        "DATA-COPY-IN",
        "MUST",
        "Data",
        "A store copies the data it is given: mutating the argument after `create_session` or "
        "`update_session` returns changes nothing stored.",
    ),
    # time
    _c(
        "TIME-UTC",
        "MUST",
        "Timestamps",
        "`created_at` and `updated_at` are timezone-aware datetimes in UTC.",
    ),
    _c(
        "TIME-MILLIS",
        "MUST",
        "Timestamps",
        "Timestamps have millisecond precision (no finer part) and are the same on every read.",
    ),
    _c("TIME-ORDER", "MUST", "Timestamps", "`created_at <= updated_at` always holds."),
    _c(
        "TIME-TEXT-FORMAT",
        "MUST",
        "Timestamps",
        "Where a backend keeps timestamps as text, they are written in JavaScript's "
        "`toISOString()` form (`2026-11-23T19:22:48.123Z`), so that stores written in "
        "TypeScript can share the backend.",
    ),
    # TTL
    _c(
        "TTL-CONFIG",
        "MUST",
        "TTL",
        "A store takes `ttl_seconds`: a positive number, or `None` for sessions that never "
        "expire; zero or a negative number raises `ValueError`.",
        ttl=True,
    ),
    _c(
        "TTL-WINDOW",
        "MUST",
        "TTL",
        "A session stays live at least `ttl_seconds` after its last create or update, and is "
        "gone no later than one second beyond that.",
        ttl=True,
    ),
    _c(
        "TTL-FIELD",
        "MUST",
        "TTL",
        "`SessionData.ttl` is the expiry as integer Unix epoch seconds (within one second of "
        "the last write plus `ttl_seconds`), and `None` for a session without expiry.",
        ttl=True,
    ),
    _c(
        "TTL-NONE",
        "MUST",
        "TTL",
        "With `ttl_seconds=None` sessions never expire and their `ttl` is `None`.",
        ttl=True,
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
        "A read after a completed write through the same store object sees that write.",
    ),
    _c(
        "MODEL-SEQUENCES",
        "MUST",
        "Consistency",
        "Any sequence of the five operations on a few ids, with time passing between them, gets "
        "the answers the contract's reference model gives: the same calls raise, the same "
        "sessions exist, and every read returns the model's data and times.",
    ),
    _c(
        "SHARED-INSTANCES",
        "MUST",
        "Consistency",
        "A store that declares `shares_sessions_across_instances = True` lets a second store "
        "built from the same target and options see, update and delete the first one's "
        "sessions, and the reverse. One that declares nothing SHOULD do the same; one that "
        "declares `False` is exempt.",
    ),
)

_BY_ID = {clause.id: clause for clause in CLAUSES}


def clause_by_id(clause_id: str) -> Clause:
    try:
        return _BY_ID[clause_id]
    except KeyError:
        raise KeyError(f"no clause {clause_id!r} in SPEC.md") from None
