"""A session store of your own, in one file: sessions in a JSON file.

The contract suite judges it like any other store::

    pytest --store=examples.custom_store:JSONFileSessionStore
    pytest --store=examples.custom_store:JSONFileSessionStore \\
        --store-option path=/tmp/sessions.json \\
        --failing-store-option path=/nonexistent/folder/sessions.json

It suits one server process with few sessions: every operation reads and
rewrites the whole file. Each operation runs without awaiting anything, so on
the event loop it cannot interleave with another one: that is what makes it
atomic here. Swap the file for your backend and keep the same shape: check the
input first, then one atomic step against the backend per operation.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

from reference_stores import SessionData, SessionExistsError
from reference_stores.errors import BackendErrors
from reference_stores.validation import (
    datetime_from_ms,
    validate_data,
    validate_session_id,
    validate_ttl_seconds,
    validate_updates,
)

__all__ = ["JSONFileSessionStore"]

# What a broken file or disk looks like; the store reports them as SessionStoreError.
_FILE_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, TypeError, KeyError)


class JSONFileSessionStore:
    """Sessions in one JSON file, ``{id: {"created", "updated", "expires", "data"}}`` (times in ms).

    ``path``: the file (created on first write, in a folder that must exist).
    Without one, each store object gets a temporary file of its own, removed
    by :meth:`close`.
    ``ttl_seconds``: sessions expire this long after their last write (None: never).
    ``clock``: returns the time as Unix epoch seconds (``time.time`` by default).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        ttl_seconds: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        ttl = validate_ttl_seconds(ttl_seconds)
        # Rounded up, so a session never lives less than ttl_seconds.
        self._ttl_ms = None if ttl is None else math.ceil(ttl * 1000)
        self._clock = clock or time.time
        if path is None:
            self.path = os.path.join(tempfile.mkdtemp(prefix="sessions-"), "sessions.json")
            self._owns_file = True
        else:
            self.path = os.path.abspath(path)
            self._owns_file = False
        # A second store on the same file sees the same sessions; a temporary file is private.
        self.shares_sessions_across_instances = not self._owns_file

    def close(self) -> None:
        if self._owns_file:
            shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)

    # -- the five operations ------------------------------------------------------------

    async def session_exists(self, session_id: str) -> bool:
        key = validate_session_id(session_id)
        with BackendErrors("json-file", "session_exists", _FILE_ERRORS):
            return self._live(self._read(), key, self._now()) is not None

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        key = validate_session_id(session_id)
        copy = validate_data(data)
        with BackendErrors("json-file", "create_session", _FILE_ERRORS):
            sessions = self._read()
            now = self._now()
            if self._live(sessions, key, now) is not None:
                raise SessionExistsError(f"session {key!r} already exists")
            sessions[key] = {
                "created": now,
                "updated": now,
                "expires": self._expiry(now),
                "data": copy,
            }
            self._write(sessions, now)

    async def get_session(self, session_id: str) -> SessionData | None:
        key = validate_session_id(session_id)
        with BackendErrors("json-file", "get_session", _FILE_ERRORS):
            record = self._live(self._read(), key, self._now())
            if record is None:
                return None
            expires = record["expires"]
            return SessionData(
                session_id=key,
                created_at=datetime_from_ms(record["created"]),
                updated_at=datetime_from_ms(record["updated"]),
                ttl=None if expires is None else expires // 1000,
                data=record["data"],  # freshly parsed: shares nothing with the store
            )

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        key = validate_session_id(session_id)
        new_data = validate_updates(updates)  # None: a touch, the data stays
        with BackendErrors("json-file", "update_session", _FILE_ERRORS):
            sessions = self._read()
            record = self._live(sessions, key, self._now())
            if record is None:
                return  # missing or expired: nothing happens, nothing is created
            record["updated"] = max(self._now(), record["updated"])
            record["expires"] = self._expiry(record["updated"])
            if new_data is not None:
                record["data"] = new_data
            self._write(sessions, self._now())

    async def delete_session(self, session_id: str) -> None:
        key = validate_session_id(session_id)
        with BackendErrors("json-file", "delete_session", _FILE_ERRORS):
            sessions = self._read()
            if sessions.pop(key, None) is not None:
                self._write(sessions, self._now())

    # -- the file -------------------------------------------------------------------------

    def _now(self) -> int:
        return math.floor(self._clock() * 1000)

    def _expiry(self, written_ms: int) -> int | None:
        return None if self._ttl_ms is None else written_ms + self._ttl_ms

    @staticmethod
    def _live(sessions: dict[str, Any], key: str, now: int) -> dict[str, Any] | None:
        record: dict[str, Any] | None = sessions.get(key)
        if record is None or (record["expires"] is not None and record["expires"] <= now):
            return None
        return record

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as file:
                sessions: dict[str, Any] = json.load(file)
        except FileNotFoundError:
            if not os.path.isdir(os.path.dirname(self.path)):
                raise  # a missing folder is a broken setup, not an empty store
            return {}
        if not isinstance(sessions, dict):
            raise ValueError(f"{self.path} does not hold a JSON object")
        return sessions

    def _write(self, sessions: dict[str, Any], now: int) -> None:
        # Expired sessions are dropped whenever the file is written anyway.
        sessions = {
            key: record for key, record in sessions.items() if self._live(sessions, key, now)
        }
        # Written beside the file and renamed over it: a crash leaves the old file or the new one.
        folder = os.path.dirname(self.path)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".sessions-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(sessions, file, ensure_ascii=False, allow_nan=False)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
