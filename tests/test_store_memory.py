"""The in-memory reference store: the whole contract, and LeanMCP's ``clear()`` and ``size``."""

from __future__ import annotations

import asyncio

import pytest
from clocks import ManualClock
from revision_races import check_revision_semantics, race_conditional_writers
from work_counts import WorkCounter, work

from conformance import SessionStoreContract
from reference_stores import InMemorySessionStore, RevisionConflictError, memory, validation


class TestInMemoryStoreContract(SessionStoreContract):
    @pytest.fixture
    def session_store_factory(self) -> type[InMemorySessionStore]:
        return InMemorySessionStore


def test_size_counts_live_sessions_and_clear_forgets_them() -> None:
    clock = ManualClock()
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


def test_expired_sessions_are_freed_as_the_store_is_used_a_few_per_operation() -> None:
    clock = ManualClock()
    store = InMemorySessionStore(ttl_seconds=10, clock=clock)

    async def scenario() -> None:
        for index in range(20):
            await store.create_session(f"old-{index}")
            clock.now += 0.1
        await store.update_session("old-0", {})  # used again: now the newest write
        clock.now += 9.95  # every old-* expired but old-0
        assert len(store._records) == 20  # nothing freed before an operation
        assert await store.session_exists("old-0")  # one operation frees at most 8
        assert len(store._records) == 12
        await store.get_session("nothing")
        assert len(store._records) == 4
        await store.create_session("new")
        assert list(store._records) == ["old-0", "new"]
        clock.now += 1
        assert await store.purge_expired() == 1  # all expired at once: old-0
        assert list(store._records) == ["new"]
        assert store.size == 1

    asyncio.run(scenario())


def test_a_store_without_ttl_frees_nothing() -> None:
    clock = ManualClock()
    store = InMemorySessionStore(clock=clock)

    async def scenario() -> None:
        await store.create_session("a")
        clock.now += 10**9
        assert await store.purge_expired() == 0
        assert await store.session_exists("a")

    asyncio.run(scenario())


def test_revisions_follow_data_writes() -> None:
    asyncio.run(check_revision_semantics(InMemorySessionStore()))


def test_concurrent_conditional_writers_have_one_winner_per_round() -> None:
    asyncio.run(race_conditional_writers([InMemorySessionStore()]))


def test_each_operation_serializes_and_decodes_once_at_most_and_never_walks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The work per operation, counted (no clock): a regression of that kind fails here."""
    counter = WorkCounter(monkeypatch, memory)
    store = InMemorySessionStore(ttl_seconds=60)
    data = {"user": "alice", "scopes": ["read"], "n": 1, "nested": {"deep": [{"x": 1.5}]}}

    async def scenario() -> None:
        assert await counter.of(store.create_session("s", data)) == work(dumps=1)
        # The first read after a write hands out the check's own copy; later reads decode.
        assert await counter.of(store.get_session("s")) == work()
        assert await counter.of(store.get_session("s")) == work(loads=1)
        assert await counter.of(store.session_exists("s")) == work()
        assert await counter.of(store.update_session("s", {"data": data})) == work(dumps=1)
        assert await counter.of(store.update_session("s", {})) == work()
        assert await counter.of(
            store.update_session("s", {"data": data}, expected_revision=2)
        ) == work(dumps=1)
        with pytest.raises(RevisionConflictError):
            await store.update_session("s", {}, expected_revision=2)
        assert await counter.of(store.get_session("s")) == work()
        assert await counter.of(store.delete_session("s")) == work()
        # Only what the C path cannot prove takes the walk: here an int past 64 bits.
        assert (
            await counter.of(store.create_session("big", {"n": 2**70})) == work(dumps=2, walks=1)
            if validation._orjson is not None
            else work(dumps=1)
        )

    asyncio.run(scenario())


def test_every_read_is_a_copy_even_the_one_that_takes_the_spare() -> None:
    store = InMemorySessionStore()

    async def scenario() -> None:
        data = {"list": [1, 2], "obj": {"a": "b"}}
        await store.create_session("s", data)
        first = await store.get_session("s")
        second = await store.get_session("s")
        assert first is not None
        assert second is not None
        first.data["list"].append(3)
        first.data["obj"]["a"] = "changed"
        data["list"].append(4)
        assert second.data == {"list": [1, 2], "obj": {"a": "b"}}
        third = await store.get_session("s")
        assert third is not None
        assert third.data == {"list": [1, 2], "obj": {"a": "b"}}

    asyncio.run(scenario())
