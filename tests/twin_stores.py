"""Python twins of JavaScript stores in ``tests/js_stores``: the same behaviour, line for line.

``tests/test_twins.py`` judges each pair and holds that they get the same verdict on every
clause, the documented platform limits being the only differences. Each twin declares what
its JavaScript store declares: a JavaScript constructor that takes no options is a Python
signature without ``ttl_seconds`` or ``clock``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

# The memory store with dict records: the twins reach into a session's data, as
# the broken stores do (the reference store keeps JSON text).
from broken_stores import _DictMemoryStore, _Record

from reference_stores import InMemorySessionStore, SessionData, SessionStoreError
from reference_stores.validation import clone_json, now_ms, validate_session_id

_NO_TIME = 0
"""A creation time no write gives: what JavaScript's ``createdAt: NaN`` stands for here."""


_RECORD_FIELDS = {
    "sessionId": "session_id",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "ttl": "ttl",
    "data": "data",
}


def _record_fields(updates: Any) -> dict[str, Any]:
    """The fields a JavaScript spread of ``updates`` over a record changes, as the record shows."""
    if not isinstance(updates, Mapping):
        return {}
    return {_RECORD_FIELDS[key]: value for key, value in updates.items() if key in _RECORD_FIELDS}


def _now() -> datetime:
    """The time as a JavaScript ``new Date()`` holds it: whole milliseconds, UTC."""
    moment = datetime.now(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class LeanMemoryStore:
    """As LeanMCP's in-memory store: no options, no TTL, shared objects, overwrites."""

    def __init__(self) -> None:
        self.sessions: dict[Any, SessionData] = {}

    async def session_exists(self, session_id: str) -> bool:
        return session_id in self.sessions

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        now = _now()
        self.sessions[session_id] = SessionData(
            session_id,
            now,
            now,
            None,
            data if data is not None else {},  # type: ignore[arg-type]
        )

    async def get_session(self, session_id: str) -> SessionData | None:
        return self.sessions.get(session_id)

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            return
        fields = {**_record_fields(updates), "updated_at": _now()}
        self.sessions[session_id] = dataclasses.replace(session, **fields)

    async def delete_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)


class CorrectStore(InMemorySessionStore):
    """Twin of ``examples/js/memory-store.js``: the in-memory reference store."""


class OverwritingCreateStore(_DictMemoryStore):
    """Twin of ``overwrite-on-create.mjs``: a create over a live session replaces it."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        self._records.pop(validate_session_id(session_id), None)
        await super().create_session(session_id, data)


class SharedObjectsStore(_DictMemoryStore):
    """Twin of ``twin-shared-objects.mjs``: keeps the caller's data, hands out its own."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        await super().create_session(session_id, data)
        if data is not None:
            self._records[session_id].data = data  # type: ignore[assignment]

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.data = self._records[session_id].data
        return record


class UpsertingUpdateStore(_DictMemoryStore):
    """Twin of ``upsert-on-update.mjs``: an update of a missing id creates it, without created_at."""

    async def update_session(
        self, session_id: str, updates: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> None:
        await super().update_session(session_id, updates, expected_revision=expected_revision)
        now = now_ms(self._clock)
        if self._live(session_id, now) is None:
            data = updates.get("data")
            self._records[session_id] = _Record(
                _NO_TIME, now, self._expiry(now), clone_json(data) if data is not None else {}
            )

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None and self._records[session_id].created_ms == _NO_TIME:
            record.created_at = None  # type: ignore[assignment]  # an invalid Date reads as None
        return record


class WipingTouchStore(_DictMemoryStore):
    """Twin of ``wipe-on-touch.cjs``: an update without ``data`` writes ``{}``."""

    async def update_session(
        self, session_id: str, updates: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> None:
        if isinstance(updates, Mapping) and "data" not in updates:
            updates = {**updates, "data": {}}
        await super().update_session(session_id, updates, expected_revision=expected_revision)


class ExpiredReadableStore(_DictMemoryStore):
    """Twin of ``expired-still-returned.cjs``: expiry is written but never compared with now."""

    def _live(self, key: str, now: int) -> _Record | None:
        return self._records.get(key)

    def _sweep(self, now: int, budget: int | None) -> int:
        return 0  # the JavaScript store frees nothing as it goes either


class SwallowingStore(_DictMemoryStore):
    """Twin of ``twin-swallowing.mjs``: with ``down=True``, False, None, silence, no cause."""

    def __init__(
        self, ttl_seconds: float | None = None, clock: Any = None, down: bool = False
    ) -> None:
        super().__init__(ttl_seconds=ttl_seconds, clock=clock)
        self.down = down is True

    async def session_exists(self, session_id: str) -> bool:
        return False if self.down else await super().session_exists(session_id)

    async def get_session(self, session_id: str) -> SessionData | None:
        return None if self.down else await super().get_session(session_id)

    async def delete_session(self, session_id: str) -> None:
        if not self.down:
            await super().delete_session(session_id)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        if self.down:
            raise SessionStoreError("Failed to create session")
        await super().create_session(session_id, data)

    async def update_session(
        self, session_id: str, updates: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> None:
        if self.down:
            raise SessionStoreError("Failed to update session")
        await super().update_session(session_id, updates, expected_revision=expected_revision)


class JsonTextStore(_DictMemoryStore):
    """Twin of ``twin-json-text.mjs``: data kept as JSON text (exact for Python ints)."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        text = "{}" if data is None else json.dumps(data)
        await super().create_session(session_id, data)
        self._records[session_id].data = text  # type: ignore[assignment]

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.data = json.loads(record.data)  # type: ignore[arg-type]
        return record

    async def update_session(
        self, session_id: str, updates: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> None:
        given = isinstance(updates, Mapping) and "data" in updates
        text = json.dumps(updates["data"]) if given else None
        await super().update_session(session_id, updates, expected_revision=expected_revision)
        record = self._live(session_id, now_ms(self._clock))
        if text is not None and record is not None:
            record.data = text  # type: ignore[assignment]
