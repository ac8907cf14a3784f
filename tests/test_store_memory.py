"""The in-memory reference store: the whole contract, and LeanMCP's ``clear()`` and ``size``."""

from __future__ import annotations

import asyncio

import pytest

from conformance import SessionStoreContract
from reference_stores import InMemorySessionStore


class TestInMemoryStoreContract(SessionStoreContract):
    @pytest.fixture
    def session_store_factory(self) -> type[InMemorySessionStore]:
        return InMemorySessionStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_size_counts_live_sessions_and_clear_forgets_them() -> None:
    clock = FakeClock()
    store = InMemorySessionStore(ttl_seconds=10, clock=clock)

    async def scenario() -> None:
        await store.create_session("a")
        await store.create_session("b")
        assert store.size == 2
        clock.now += 11
        await store.create_session("c")
        assert store.size == 1
        store.clear()
        assert store.size == 0
        assert await store.get_session("c") is None

    asyncio.run(scenario())


def test_ttl_seconds_is_kept_in_whole_milliseconds_rounded_up() -> None:
    assert InMemorySessionStore(ttl_seconds=1.0004).ttl_seconds == 1.001
    assert InMemorySessionStore().ttl_seconds is None
