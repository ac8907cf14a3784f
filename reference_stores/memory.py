"""Sessions in a dict of this process: fast, private to one store object, lost on restart."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from time import time_ns
from typing import Any

from .base import ReferenceStore, ttl_ms_from_seconds
from .errors import RevisionConflictError, SessionExistsError
from .interface import SessionData
from .validation import (
    Clock,
    datetime_from_ms,
    decode_data,
    default_clock,
    encode_data,
    now_ms,
    updates_data,
    validate_data,
    validate_expected_revision,
    validate_session_id,
)

__all__ = ["InMemorySessionStore"]

_SWEEP_BUDGET = 8
"""Expired sessions freed at most per operation: each operation adds at most one session."""
_NEVER = float("inf")


@dataclass(slots=True)
class _Record:
    """One session. The data is kept as the JSON text it was checked as: decoding it
    (in C) is the cheapest deep copy there is, and a copy is what every read returns.
    ``spare`` is the copy the check of the last write made, shared with nothing: the
    next read hands it out instead of decoding (the read-change-write cycle of a server
    then decodes once per cycle). Its datetimes come from ``datetime_from_ms``'s table.
    """

    created_ms: int
    updated_ms: int
    expires_ms: int | None
    text: str | bytes
    spare: dict[str, Any] | None
    revision: int = 1


class InMemorySessionStore(ReferenceStore):
    """A conforming store kept in memory, with LeanMCP's ``clear()`` and ``size``.

    Every method runs without awaiting anything, so each one is atomic on the
    event loop: no lock is needed.

    Expired sessions are freed as the store is used: the records are kept in
    the order of their last write, which is the order of their expiry (one
    TTL for all), so each operation frees the few at the front that have
    expired, in constant time. ``purge_expired()`` frees all of them at once.
    """

    shares_sessions_across_instances = False
    """Each store object holds its own sessions: a second instance sees none of them."""

    supports_revisions = True
    """``update_session`` takes ``expected_revision``; records carry ``revision``."""

    def __init__(self, ttl_seconds: float | None = None, clock: Clock | None = None) -> None:
        self._ttl_ms = ttl_ms_from_seconds(ttl_seconds)
        self._clock: Clock = clock if clock is not None else default_clock
        self._real_time = clock is None
        # No record expires before this: operations skip the sweep until then.
        self._sweep_from: float = _NEVER
        # Oldest write first; an OrderedDict, as a dict's iteration slows down
        # while entries are removed from its front.
        self._records: OrderedDict[str, _Record] = OrderedDict()

    @property
    def size(self) -> int:
        """How many live sessions the store holds."""
        now = now_ms(self._clock)
        self._sweep(now, None)
        # The write order can differ from the expiry order only if the clock went back.
        return sum(1 for record in self._records.values() if not _expired(record, now))

    async def purge_expired(self) -> int:
        """Free every expired session now; return how many went."""
        return self._sweep(now_ms(self._clock), None)

    def clear(self) -> None:
        """Forget every session (this store object only)."""
        self._records.clear()

    async def session_exists(self, session_id: str) -> bool:
        key = self._checked_id(session_id)
        now = self._now_sweeping()
        return self._live(key, now) is not None

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        key = validate_session_id(session_id)
        text, spare = encode_data(data if isinstance(data, Mapping) else validate_data(data))
        now = self._now_sweeping()
        if self._live(key, now) is not None:
            raise SessionExistsError(f"session {key!r} already exists")
        # A new key: at the end.
        expires_ms = self._expiry(now)
        self._records[key] = _Record(now, now, expires_ms, text, spare)
        if expires_ms is not None and expires_ms < self._sweep_from:
            self._sweep_from = expires_ms

    async def get_session(self, session_id: str) -> SessionData | None:
        key = self._checked_id(session_id)
        record = self._live(key, self._now_sweeping())
        if record is None:
            return None
        data = record.spare
        if data is None:
            data = decode_data(record.text)
        else:
            record.spare = None  # handed out once: the next read decodes its own
        return SessionData(
            session_id=key,
            created_at=datetime_from_ms(record.created_ms),
            updated_at=datetime_from_ms(record.updated_ms),
            ttl=None if record.expires_ms is None else record.expires_ms // 1000,
            data=data,
            revision=record.revision,
        )

    async def update_session(
        self,
        session_id: str,
        updates: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> None:
        key = self._checked_id(session_id)
        if type(updates) is dict and len(updates) == 1 and type(updates.get("data")) is dict:
            new_data: Mapping[Any, Any] | None = updates["data"]  # the common case, checked
        else:
            new_data = updates_data(updates)
        encoded = None if new_data is None else encode_data(new_data)
        expected = (
            None if expected_revision is None else validate_expected_revision(expected_revision)
        )
        now = self._now_sweeping()
        record = self._live(key, now)
        if expected is not None and (record is None or record.revision != expected):
            found = None if record is None else record.revision
            raise RevisionConflictError(
                f"session {key!r} is at revision {found}, not {expected}", found
            )
        if record is None:
            return
        if now > record.updated_ms:
            record.updated_ms = now
        record.expires_ms = expires_ms = self._expiry(record.updated_ms)
        self._records.move_to_end(key)
        if expires_ms is not None and expires_ms < self._sweep_from:
            self._sweep_from = expires_ms  # only when the clock went back
        if encoded is not None:
            record.text, record.spare = encoded
            record.revision += 1

    async def delete_session(self, session_id: str) -> None:
        key = self._checked_id(session_id)
        self._now_sweeping()
        self._records.pop(key, None)

    def _now_sweeping(self) -> int:
        """The time now, having freed up to ``_SWEEP_BUDGET`` expired sessions."""
        now = time_ns() // 1_000_000 if self._real_time else now_ms(self._clock)
        if now >= self._sweep_from:
            self._sweep(now, _SWEEP_BUDGET)
        return now

    def _sweep(self, now: int, budget: int | None) -> int:
        """Free expired sessions from the front (oldest write), at most ``budget`` (None: all)."""
        records = self._records
        freed = 0
        while records and (budget is None or freed < budget):
            if not _expired(next(iter(records.values())), now):
                break
            records.popitem(last=False)
            freed += 1
        # The front record expires first (records are in the order of their expiry), so no
        # sweep can free anything before it does.
        front = next(iter(records.values()), None)
        self._sweep_from = _NEVER if front is None or front.expires_ms is None else front.expires_ms
        return freed

    def _checked_id(self, session_id: object) -> str:
        # An id the store holds passed the check when it was created.
        if type(session_id) is str and session_id in self._records:
            return session_id
        return validate_session_id(session_id)

    def _live(self, key: str, now: int) -> _Record | None:
        record = self._records.get(key)
        if record is None:
            return None
        if _expired(record, now):
            del self._records[key]
            return None
        return record

    def _expiry(self, written_ms: int) -> int | None:
        return None if self._ttl_ms is None else written_ms + self._ttl_ms


def _expired(record: _Record, now: int) -> bool:
    return record.expires_ms is not None and record.expires_ms <= now
