"""Targets of every shape ``--store`` accepts, and some it must refuse, for the plugin's tests."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from reference_stores import SESSION_STORE_METHODS, InMemorySessionStore

CLOSE_LOG = "KIT_TEST_CLOSE_LOG"


def _log(event: str) -> None:
    path = os.environ.get(CLOSE_LOG)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(event + "\n")


class ClosableStore(InMemorySessionStore):
    async def aclose(self) -> None:
        _log("aclose")


class SyncClosableStore:
    """Closes with a plain ``close()`` only: built around the in-memory store, not derived from it."""

    def __init__(self, ttl_seconds: float | None = None, clock: Any = None) -> None:
        inner = InMemorySessionStore(ttl_seconds=ttl_seconds, clock=clock)
        for name in SESSION_STORE_METHODS:
            setattr(self, name, getattr(inner, name))

    def close(self) -> None:
        _log("close")


def sync_factory(ttl_seconds: float | None = None, clock: Any = None) -> ClosableStore:
    return ClosableStore(ttl_seconds=ttl_seconds, clock=clock)


async def async_factory(ttl_seconds: float | None = None, clock: Any = None) -> SyncClosableStore:
    return SyncClosableStore(ttl_seconds=ttl_seconds, clock=clock)


@contextlib.asynccontextmanager
async def context_factory(
    ttl_seconds: float | None = None, clock: Any = None
) -> AsyncIterator[InMemorySessionStore]:
    yield InMemorySessionStore(ttl_seconds=ttl_seconds, clock=clock)
    _log("context exit")


class PrefixedStore(InMemorySessionStore):
    """Needs an option the user passes with --store-option."""

    def __init__(
        self, prefix: str, limit: int, ttl_seconds: float | None = None, clock: Any = None
    ) -> None:
        if prefix != "kit:" or limit != 5:
            raise ValueError(f"got prefix={prefix!r} limit={limit!r}")
        super().__init__(ttl_seconds=ttl_seconds, clock=clock)


class NoTtlStore(InMemorySessionStore):
    """Takes neither ttl_seconds nor a clock."""

    def __init__(self) -> None:
        super().__init__()


class RealTimeStore(InMemorySessionStore):
    """Takes ttl_seconds but no clock: the suite must wait real time for its TTL clauses."""

    def __init__(self, ttl_seconds: float | None = None) -> None:
        super().__init__(ttl_seconds=ttl_seconds)


class MissingDeleteStore:
    async def session_exists(self, session_id: str) -> bool:
        return False

    async def create_session(self, session_id: str, data: Any = None) -> None:
        return None

    async def get_session(self, session_id: str) -> Any:
        return None

    async def update_session(self, session_id: str, updates: Any) -> None:
        return None


class SyncGetStore(InMemorySessionStore):
    def get_session(self, session_id: str) -> Any:  # type: ignore[override]
        return None


def factory_of_a_dict() -> dict[str, str]:
    return {"not": "a store"}


NOT_CALLABLE = 42


class NeedsServerStore(InMemorySessionStore):
    """A class whose constructor raises, as a store does when a required option is missing."""

    def __init__(
        self, server: str | None = None, ttl_seconds: float | None = None, clock: Any = None
    ) -> None:
        if server is None:
            raise ValueError("no server given")
        super().__init__(ttl_seconds=ttl_seconds, clock=clock)
