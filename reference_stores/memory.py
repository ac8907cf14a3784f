"""Sessions in a dict of this process: fast, private to one store object, lost on restart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import ReferenceStore, ttl_ms_from_seconds
from .errors import SessionExistsError
from .interface import SessionData
from .validation import (
    Clock,
    clone_json,
    datetime_from_ms,
    default_clock,
    now_ms,
    validate_data,
    validate_session_id,
    validate_updates,
)

__all__ = ["InMemorySessionStore"]


@dataclass(slots=True)
class _Record:
    created_ms: int
    updated_ms: int
    expires_ms: int | None
    data: dict[str, Any]


class InMemorySessionStore(ReferenceStore):
    """A conforming store kept in memory, with LeanMCP's ``clear()`` and ``size``.

    Every method runs without awaiting anything, so each one is atomic on the
    event loop: no lock is needed.
    """

    shares_sessions_across_instances = False
    """Each store object holds its own sessions: a second instance sees none of them."""

    def __init__(self, ttl_seconds: float | None = None, clock: Clock | None = None) -> None:
        self._ttl_ms = ttl_ms_from_seconds(ttl_seconds)
        self._clock: Clock = clock if clock is not None else default_clock
        self._records: dict[str, _Record] = {}

    @property
    def size(self) -> int:
        """How many live sessions the store holds."""
        now = now_ms(self._clock)
        self._records = {
            key: record
            for key, record in self._records.items()
            if record.expires_ms is None or record.expires_ms > now
        }
        return len(self._records)

    def clear(self) -> None:
        """Forget every session (this store object only)."""
        self._records.clear()

    async def session_exists(self, session_id: str) -> bool:
        return self._live(validate_session_id(session_id), now_ms(self._clock)) is not None

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        key = validate_session_id(session_id)
        copy = validate_data(data)
        now = now_ms(self._clock)
        if self._live(key, now) is not None:
            raise SessionExistsError(f"session {key!r} already exists")
        self._records[key] = _Record(now, now, self._expiry(now), copy)

    async def get_session(self, session_id: str) -> SessionData | None:
        key = validate_session_id(session_id)
        record = self._live(key, now_ms(self._clock))
        if record is None:
            return None
        return SessionData(
            session_id=key,
            created_at=datetime_from_ms(record.created_ms),
            updated_at=datetime_from_ms(record.updated_ms),
            ttl=None if record.expires_ms is None else record.expires_ms // 1000,
            data=clone_json(record.data),
        )

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        key = validate_session_id(session_id)
        new_data = validate_updates(updates)
        now = now_ms(self._clock)
        record = self._live(key, now)
        if record is None:
            return
        record.updated_ms = max(now, record.updated_ms)
        record.expires_ms = self._expiry(record.updated_ms)
        if new_data is not None:
            record.data = new_data

    async def delete_session(self, session_id: str) -> None:
        self._records.pop(validate_session_id(session_id), None)

    def _live(self, key: str, now: int) -> _Record | None:
        record = self._records.get(key)
        if record is None:
            return None
        if record.expires_ms is not None and record.expires_ms <= now:
            del self._records[key]
            return None
        return record

    def _expiry(self, written_ms: int) -> int | None:
        return None if self._ttl_ms is None else written_ms + self._ttl_ms
