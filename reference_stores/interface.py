"""The session store interface (after LeanMCP's ``ISessionStore``) and its record type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

__all__ = ["SESSION_STORE_METHODS", "RevisionedSessionStore", "SessionData", "SessionStore"]

SESSION_STORE_METHODS = (
    "session_exists",
    "create_session",
    "get_session",
    "update_session",
    "delete_session",
)


@dataclass(slots=True)
class SessionData:
    """One session as a store returns it.

    ``created_at`` and ``updated_at`` are timezone-aware UTC datetimes with
    millisecond precision; ``ttl`` is the expiry as integer Unix epoch seconds
    (``None`` when the session never expires); ``data`` is a JSON object.
    ``revision`` counts the session's data writes, starting at 1 on create, in a
    store that keeps revisions (``supports_revisions = True``); ``None`` otherwise.
    """

    session_id: str
    created_at: datetime
    updated_at: datetime
    ttl: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    revision: int | None = None


@runtime_checkable
class SessionStore(Protocol):
    """What a stateful MCP server needs from a session store. See SPEC.md."""

    async def session_exists(self, session_id: str) -> bool: ...

    async def create_session(
        self, session_id: str, data: Mapping[str, Any] | None = None
    ) -> None: ...

    async def get_session(self, session_id: str) -> SessionData | None: ...

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None: ...

    async def delete_session(self, session_id: str) -> None: ...


@runtime_checkable
class RevisionedSessionStore(SessionStore, Protocol):
    """A store that keeps revisions: ``update_session`` may be conditional. See SPEC.md.

    With ``expected_revision`` the update applies only while the live session's
    revision equals it; otherwise ``RevisionConflictError`` is raised and nothing changes.
    """

    supports_revisions: bool

    async def update_session(
        self,
        session_id: str,
        updates: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> None: ...
