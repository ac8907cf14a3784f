"""PostgresSessionStore: the contract on a real server, schema, clocks, pools, restarts and faults.

Needs ``DATABASE_URL`` (a server these tests may create and drop their own tables
in); without it every test here skips. With it, nothing skips. Each test works in
its own randomly named table, dropped afterwards. The fault tests never touch
that server's process: they start a throwaway PostgreSQL (``initdb`` + ``pg_ctl``
on a free loopback port) or cut connections with a loopback TCP proxy.

One piece: every test shares the per-run schema and the server set up here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from revision_races import check_revision_semantics, race_conditional_writers
from work_counts import WorkCounter, check_work_per_operation, work

from conformance import SessionStoreContract
from reference_stores import RevisionConflictError, SessionStoreError

try:
    import psycopg
    import psycopg_pool
    from psycopg.rows import dict_row

    from reference_stores import postgres as postgres_store
    from reference_stores.postgres import PostgresSessionStore, open_postgres_store
except ImportError:
    if os.environ.get("DATABASE_URL"):
        raise  # a configured server means these tests run: a missing client is a failure
    pytest.skip("psycopg is not installed (extra [postgres])", allow_module_level=True)

DATABASE_URL = os.environ.get("DATABASE_URL") or None

pytestmark = pytest.mark.postgres

SKIP_REASON = (
    "DATABASE_URL is not set: these tests need a PostgreSQL server they may create "
    "tables in, e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test"
)
RUN_TAG = uuid.uuid4().hex[:8]


def run(coroutine: Awaitable[Any]) -> Any:
    """Run a scenario in a new event loop; tasks it leaves behind get 10 s to end, never forever."""

    async def main() -> Any:
        return await coroutine

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        leftover = asyncio.all_tasks(loop)
        for task in leftover:
            task.cancel()
        stuck: set[asyncio.Task[Any]] = set()
        if leftover:
            _, stuck = loop.run_until_complete(asyncio.wait(leftover, timeout=10))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        assert not stuck, f"tasks ignored cancellation for 10 s: {stuck}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def sql(url: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement on a fresh connection (outside any store) and return its rows."""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="session")
def database_url() -> str:
    if DATABASE_URL is None:
        pytest.skip(SKIP_REASON)
    return DATABASE_URL


@pytest.fixture
def table(database_url: str) -> Iterator[str]:
    """A fresh table name for one test, dropped afterwards with everything in it."""
    name = f"mcp_sessions_test_{RUN_TAG}_{uuid.uuid4().hex[:10]}"
    yield name
    sql(database_url, f'DROP TABLE IF EXISTS "{name}"')


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards with everything in it."""
    name = f"mcp_sessions_test_{RUN_TAG}_{uuid.uuid4().hex[:10]}"
    sql(database_url, f'CREATE SCHEMA "{name}"')
    yield name
    sql(database_url, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def unreachable_store() -> Callable[..., Any]:
    """A target whose server is down: a loopback port nothing listens on."""
    return functools.partial(
        PostgresSessionStore,
        f"postgresql://postgres@127.0.0.1:{free_port()}/test",
        connect_timeout=1,
        pool_timeout=0.1,
    )


# --- the contract ------------------------------------------------------------------------------


class TestPostgresStoreContract(SessionStoreContract):
    """The store's own clock option driven by the suite's fake clock."""

    @pytest.fixture
    def session_store_factory(self, database_url: str, table: str) -> Any:
        return functools.partial(open_postgres_store, database_url, table=table)

    @pytest.fixture
    def failing_session_store_factory(self) -> Any:
        return unreachable_store()


class TestPostgresStoreContractServerClock(SessionStoreContract):
    """The default: the database server's clock decides, so TTL clauses run in real time."""

    # The heavy checks (10,000 sessions, 64 KiB races) run once per backend, in its main
    # contract class; this one judges a variant of the same store.
    conformance_skip_heavy = True

    # The statements are the same as above but for where "now" comes from; the
    # model-based search (the slowest clause) runs once, in the class above.
    test_random_operation_sequences_match_the_model = None

    @pytest.fixture
    def session_store_factory(self, database_url: str, table: str) -> Any:
        def server_clock_store(ttl_seconds: float | None = None) -> Any:
            return open_postgres_store(database_url, table=table, ttl_seconds=ttl_seconds)

        return server_clock_store

    @pytest.fixture
    def failing_session_store_factory(self) -> Any:
        return unreachable_store()


class TestPostgresStoreContractSchemaQualified(SessionStoreContract):
    """A caller-owned, non-autocommit pool with a dict row factory, on SCHEMA.TABLE."""

    # The heavy checks (10,000 sessions, 64 KiB races) run once per backend, in its main
    # contract class; this one judges a variant of the same store.
    conformance_skip_heavy = True

    test_random_operation_sequences_match_the_model = None  # runs once, in the first class

    @pytest.fixture
    def session_store_factory(self, database_url: str, schema: str) -> Any:
        def caller_pool_store(ttl_seconds: float | None = None, clock: Any = None) -> Any:
            @asynccontextmanager
            async def opened() -> AsyncIterator[PostgresSessionStore]:
                async with psycopg_pool.AsyncConnectionPool(
                    database_url, min_size=1, max_size=4, kwargs={"row_factory": dict_row}
                ) as pool:
                    store = PostgresSessionStore(
                        pool=pool, table=f"{schema}.Sessions", ttl_seconds=ttl_seconds, clock=clock
                    )
                    await store.create_schema()
                    yield store
                    await store.aclose()

            return opened()

        return caller_pool_store

    @pytest.fixture
    def failing_session_store_factory(self) -> Any:
        return unreachable_store()


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["", "1abc", "a-b", "a b", 'a"b', "a.b.c", ".a", "a.", "x" * 64, "s.x" + "y" * 63, "tåble"],
)
def test_bad_table_names_are_refused_before_anything_runs(bad: str) -> None:
    with pytest.raises(ValueError, match="table must be"):
        PostgresSessionStore("postgresql://127.0.0.1:1/x", table=bad)


def test_table_names_are_quoted_exactly_as_given() -> None:
    store = PostgresSessionStore("postgresql://127.0.0.1:1/x", table="Some_Schema.MySessions")
    assert store.table == '"Some_Schema"."MySessions"'
    assert PostgresSessionStore("postgresql://127.0.0.1:1/x").table == '"mcp_sessions"'


def test_bad_options_are_refused() -> None:
    url = "postgresql://127.0.0.1:1/x"
    with pytest.raises(ValueError, match="ttl_seconds"):
        PostgresSessionStore(url, ttl_seconds=0)
    with pytest.raises(ValueError, match="ttl_seconds must be at most"):
        PostgresSessionStore(url, ttl_seconds=1e12)
    with pytest.raises(ValueError, match="pool_timeout"):
        PostgresSessionStore(url, pool_timeout=0)
    with pytest.raises(ValueError, match="min_size"):
        PostgresSessionStore(url, min_size=5, max_size=2)
    with pytest.raises(ValueError, match="not both"):
        PostgresSessionStore(url, pool=psycopg_pool.AsyncConnectionPool(url, open=False))


def test_the_dsn_defaults_to_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ValueError, match="DATABASE_URL"):
        PostgresSessionStore()
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@127.0.0.1:1/elsewhere")
    store = PostgresSessionStore()
    assert "elsewhere" in store.pool.conninfo
    assert "statement_timeout=5000" in store.pool.conninfo


def test_the_short_name_postgres_names_the_context_manager_factory() -> None:
    import importlib
    import re

    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8")
    found = re.search(r'^postgres = "([\w.]+):(\w+)"$', pyproject, re.MULTILINE)
    assert found is not None, "no postgres entry in mcp_session_store_kit.stores"
    module, attribute = found.groups()
    assert getattr(importlib.import_module(module), attribute) is open_postgres_store


# --- schema ------------------------------------------------------------------------------------


def test_create_schema_is_idempotent_and_safe_to_race(database_url: str, table: str) -> None:
    async def scenario() -> None:
        stores = [PostgresSessionStore(database_url, table=table) for _ in range(4)]
        try:
            await asyncio.gather(*(store.create_schema() for store in stores))
            await stores[0].create_schema()
            await stores[0].create_session("one", {"a": 1})
            await stores[1].create_schema()  # leaves the rows alone
            assert (await stores[2].get_session("one")) is not None
        finally:
            await asyncio.gather(*(store.aclose() for store in stores))

    run(scenario())
    columns = dict(
        sql(
            database_url,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
            [table],
        )
    )
    assert columns == {
        "id": "text",
        "data": "json",
        "created_at": "timestamp with time zone",
        "updated_at": "timestamp with time zone",
        "expires_at": "timestamp with time zone",
        "revision": "bigint",
    }
    indexes = sql(database_url, "SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
    assert any("(expires_at)" in definition for (definition,) in indexes), indexes


def test_a_schema_qualified_table_lives_in_that_schema(database_url: str, schema: str) -> None:
    async def scenario() -> None:
        async with open_postgres_store(database_url, table=f"{schema}.sessions") as store:
            await store.create_session("s1", {"where": "schema"})
            assert (await store.get_session("s1")).data == {"where": "schema"}  # type: ignore[union-attr]

    run(scenario())
    rows = sql(database_url, f'SELECT id FROM "{schema}".sessions')
    assert rows == [("s1",)]


# The table as the version before revisions made it.
OLD_SCHEMA = (
    'CREATE TABLE "{table}" (id text COLLATE "C" PRIMARY KEY, data json NOT NULL, '
    "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, expires_at timestamptz, "
    "CHECK (created_at <= updated_at))"
)


def test_create_schema_migrates_a_table_without_revisions_once(
    database_url: str, table: str
) -> None:
    sql(database_url, OLD_SCHEMA.format(table=table))
    sql(database_url, f'CREATE INDEX "{table}_expires_at_idx" ON "{table}" (expires_at)')
    sql(
        database_url,
        f"INSERT INTO \"{table}\" VALUES ('old', '{{\"a\": 1}}', now(), now(), NULL)",
    )

    async def scenario() -> None:
        stores = [PostgresSessionStore(database_url, table=table) for _ in range(3)]
        try:
            with pytest.raises(SessionStoreError):  # the old table, not yet migrated
                await stores[0].update_session("old", {"data": {}}, expected_revision=1)
            # Racing migrations: one adds the column, the others find it there.
            await asyncio.gather(*(store.create_schema() for store in stores))
            old = await stores[0].get_session("old")
            assert old is not None
            assert (old.data, old.revision) == ({"a": 1}, 1)
            await stores[1].update_session("old", {"data": {"a": 2}}, expected_revision=1)
            with pytest.raises(RevisionConflictError) as refused:
                await stores[2].update_session("old", {"data": {"a": 3}}, expected_revision=1)
            assert refused.value.current_revision == 2
            await stores[0].create_schema()  # nothing left to do
            await check_revision_semantics(stores[0])
        finally:
            await asyncio.gather(*(store.aclose() for store in stores))

    run(scenario())
    columns = sql(
        database_url,
        "SELECT column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_name = %s AND column_name = 'revision'",
        [table],
    )
    assert columns == [("revision", "bigint", "NO", "1")]
    assert sql(database_url, f'SELECT id, revision FROM "{table}"') == [("old", 2)]


def test_revisions_follow_data_writes(database_url: str, table: str) -> None:
    async def scenario() -> None:
        async with open_postgres_store(database_url, table=table, ttl_seconds=60) as store:
            await check_revision_semantics(store)
        async with open_postgres_store(database_url, table=table, clock=time.time) as clocked:
            await check_revision_semantics(clocked)

    run(scenario())


def test_concurrent_conditional_writers_have_one_winner_per_round(
    database_url: str, table: str
) -> None:
    # Four store objects, four pools: the writers race on separate connections.
    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as stack:
            stores = [
                await stack.enter_async_context(
                    open_postgres_store(database_url, table=table, max_size=4)
                )
                for _ in range(4)
            ]
            await race_conditional_writers(stores)

    run(scenario())


def test_a_refusal_reports_the_revision_another_connection_wrote(
    database_url: str, table: str
) -> None:
    async def scenario() -> None:
        async with open_postgres_store(database_url, table=table) as store:
            await store.create_session("s", {"n": 1})
            sql(
                database_url,
                f'UPDATE "{table}" SET data = \'{{"n": 2}}\', revision = revision + 1',
            )
            with pytest.raises(RevisionConflictError) as refused:
                await store.update_session("s", {"data": {"n": 3}}, expected_revision=1)
            assert refused.value.current_revision == 2
            after = await store.get_session("s")
            assert after is not None
            assert (after.data, after.revision) == ({"n": 2}, 2)

    run(scenario())


def test_data_is_kept_as_json_text_with_nul_escaped(database_url: str, table: str) -> None:
    data = {"k\x00ey": "a\x00b", "emoji": "\U0001f600", "big": 2**63 - 1, "f": 0.1}

    async def scenario() -> Any:
        async with open_postgres_store(database_url, table=table) as store:
            await store.create_session("nul", data)
            return await store.get_session("nul")

    seen = run(scenario())
    assert seen.data == data
    (stored,) = sql(database_url, f'SELECT data::text, pg_typeof(data)::text FROM "{table}"')
    assert stored[1] == "json"
    assert "\\u0000" in stored[0]
    assert "\U0001f600" in stored[0]


@pytest.fixture
def database_with_encoding(database_url: str) -> Iterator[Callable[[str], str]]:
    """Make databases with a given encoding on the server; each is dropped afterwards."""
    made: list[str] = []

    def make(encoding: str) -> str:
        name = f"mcp_sessions_test_{RUN_TAG}_{uuid.uuid4().hex[:8]}"
        sql(
            database_url,
            f"CREATE DATABASE \"{name}\" ENCODING '{encoding}' "
            "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
        )
        made.append(name)
        return psycopg.conninfo.make_conninfo(database_url, dbname=name)

    yield make
    for name in made:
        sql(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_sql_ascii_database_keeps_every_character(
    database_with_encoding: Callable[[str], str],
) -> None:
    url = database_with_encoding("SQL_ASCII")
    data = {"k\x00\x1f": "é\U0001f600\x00\u2028", "nested": [{"ü": True}]}

    async def scenario() -> Any:
        async with open_postgres_store(url, table="sessions") as store:
            await store.create_session("a", data)
            return await store.get_session("a")

    assert run(scenario()).data == data


def test_a_database_that_cannot_hold_all_unicode_is_refused_up_front(
    database_with_encoding: Callable[[str], str],
) -> None:
    url = database_with_encoding("LATIN1")

    async def scenario() -> None:
        with pytest.raises(SessionStoreError, match="encoding is LATIN1"):
            async with open_postgres_store(url, table="sessions"):
                pass

    run(scenario())
    assert sql(url, "SELECT to_regclass('sessions')") == [(None,)]


# --- clocks ------------------------------------------------------------------------------------


def test_a_given_clock_decides_timestamps_and_expiry(database_url: str, table: str) -> None:
    moment = [4_102_444_800.123]  # 2100-01-01, far from the server's clock

    async def scenario() -> None:
        async with open_postgres_store(
            database_url, table=table, ttl_seconds=60, clock=lambda: moment[0]
        ) as store:
            await store.create_session("c", {})
            seen = await store.get_session("c")
            assert seen is not None
            assert seen.created_at.timestamp() == pytest.approx(4_102_444_800.123, abs=1e-6)
            assert seen.ttl == 4_102_444_860
            moment[0] += 61  # by the server's clock the session is decades from expiry
            assert await store.get_session("c") is None
            assert await store.session_exists("c") is False

    run(scenario())


@pytest.mark.parametrize("ttl_seconds", [0.001, 1.5, 40 * 86400, 5000 * 365 * 86400])
def test_any_ttl_lands_exactly_in_the_expiry(
    database_url: str, table: str, ttl_seconds: float
) -> None:
    start = 1_900_000_000.25

    async def scenario() -> Any:
        async with open_postgres_store(
            database_url, table=table, ttl_seconds=ttl_seconds, clock=lambda: start
        ) as store:
            await store.create_session("t", {})
            return await store.get_session("t")

    seen = run(scenario())
    expiry_ms = 1_900_000_000_250 + round(ttl_seconds * 1000)
    assert seen.ttl == expiry_ms // 1000
    (stored,) = sql(database_url, f'SELECT extract(epoch FROM expires_at)::numeric FROM "{table}"')
    assert stored[0] * 1000 == expiry_ms


def test_without_a_clock_the_server_clock_decides(database_url: str, table: str) -> None:
    async def scenario() -> None:
        async with open_postgres_store(database_url, table=table, ttl_seconds=3600) as store:
            before = time.time()
            await store.create_session("s", {})
            seen = await store.get_session("s")
            assert seen is not None
            (server_now,) = sql(database_url, "SELECT extract(epoch FROM now())::float8")[0]
            assert abs(seen.created_at.timestamp() - server_now) < 5
            assert seen.created_at.microsecond % 1000 == 0
            assert seen.ttl is not None
            assert seen.ttl >= int(before) + 3600 - 1
            # Expiry is the server's judgement: move the row's expiry into the server's past.
            sql(
                database_url,
                f"UPDATE \"{table}\" SET expires_at = now() - interval '1 millisecond'",
            )
            assert await store.get_session("s") is None
            assert await store.session_exists("s") is False
            await store.update_session("s", {"data": {"back": True}})
            assert await store.get_session("s") is None
            await store.create_session("s", {"fresh": True})
            assert (await store.get_session("s")).data == {"fresh": True}  # type: ignore[union-attr]

    run(scenario())


def test_updated_at_never_moves_back_when_the_clock_does(database_url: str, table: str) -> None:
    moment = [1_900_000_000.5]

    async def scenario() -> None:
        async with open_postgres_store(
            database_url, table=table, ttl_seconds=100, clock=lambda: moment[0]
        ) as store:
            await store.create_session("c", {})
            moment[0] += 10
            await store.update_session("c", {})
            first = await store.get_session("c")
            moment[0] -= 5
            await store.update_session("c", {"data": {"x": 1}})
            second = await store.get_session("c")
            assert first is not None
            assert second is not None
            assert second.updated_at == first.updated_at
            assert second.ttl == first.ttl
            assert second.data == {"x": 1}

    run(scenario())


# --- purge -------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 2])
def test_purge_expired_deletes_only_expired_rows(
    database_url: str, table: str, batch_size: int | None
) -> None:
    moment = [1_800_000_000.0]

    async def scenario() -> int:
        async with open_postgres_store(
            database_url, table=table, ttl_seconds=10, clock=lambda: moment[0]
        ) as store:
            for index in range(5):
                await store.create_session(f"old{index}", {})
            moment[0] += 5
            await store.create_session("young", {})
            await store.update_session("old0", {})  # refreshed: lives on
            moment[0] += 6
            assert await store.purge_expired(batch_size=batch_size) == 4
            assert await store.purge_expired(batch_size=batch_size) == 0
            return len(sql(database_url, f'SELECT 1 FROM "{table}"'))

    assert run(scenario()) == 2


def test_purge_expired_rejects_a_bad_batch_size(database_url: str, table: str) -> None:
    async def scenario() -> None:
        async with open_postgres_store(database_url, table=table) as store:
            with pytest.raises(ValueError, match="batch_size"):
                await store.purge_expired(batch_size=0)

    run(scenario())


# --- pools -------------------------------------------------------------------------------------


def test_a_callers_pool_stays_open_and_the_stores_own_pool_is_closed(
    database_url: str, table: str
) -> None:
    async def scenario() -> None:
        async with psycopg_pool.AsyncConnectionPool(
            database_url, min_size=1, max_size=2, kwargs={"autocommit": True}
        ) as pool:
            store = PostgresSessionStore(pool=pool, table=table)
            await store.create_schema()
            await store.create_session("p", {"n": 1})
            await store.aclose()
            async with pool.connection() as conn:
                rows = await (await conn.execute(f'SELECT id FROM "{table}"')).fetchall()
            assert rows == [("p",)]
        own = PostgresSessionStore(database_url, table=table)
        assert (await own.get_session("p")) is not None
        await own.aclose()
        assert own.pool.closed
        with pytest.raises(SessionStoreError):
            await own.get_session("p")

    run(scenario())


def test_text_options_from_the_command_line_are_converted(database_url: str, table: str) -> None:
    async def scenario() -> None:
        async with open_postgres_store(
            database_url, table=table, pool_timeout="2.5", max_size="3", statement_timeout="none"
        ) as store:
            assert store.pool.max_size == 3
            assert "statement_timeout" not in store.pool.conninfo
            await store.create_session("t", {})

    run(scenario())


# --- server errors -----------------------------------------------------------------------------


def test_a_statement_stuck_on_a_lock_ends_with_the_statement_timeout(
    database_url: str, table: str
) -> None:
    async def scenario() -> None:
        async with open_postgres_store(database_url, table=table, statement_timeout=0.5) as store:
            await store.create_session("locked", {})
            async with await psycopg.AsyncConnection.connect(database_url) as blocker:
                await blocker.execute(
                    f'SELECT 1 FROM "{table}" WHERE id = %s FOR UPDATE', ["locked"]
                )
                began = time.monotonic()
                with pytest.raises(SessionStoreError, match="update_session") as raised:
                    await store.update_session("locked", {"data": {"x": 1}})
                assert time.monotonic() - began < 3
                assert isinstance(raised.value.__cause__, psycopg.errors.QueryCanceled)
                await blocker.rollback()
            assert (await store.get_session("locked")).data == {}  # type: ignore[union-attr]

    run(scenario())


def test_server_errors_raise_with_their_cause(database_url: str, table: str) -> None:
    async def scenario() -> None:
        async with open_postgres_store(database_url, table=table) as store:
            await store.create_session("x", {})
            sql(database_url, f'DROP TABLE "{table}"')
            for call in (
                store.get_session("x"),
                store.session_exists("x"),
                store.create_session("y"),
                store.update_session("x", {}),
                store.delete_session("x"),
                store.purge_expired(),
            ):
                with pytest.raises(SessionStoreError) as raised:
                    await call
                assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedTable)

    run(scenario())


def test_a_corrupt_row_raises_instead_of_passing_for_data(database_url: str, table: str) -> None:
    async def scenario() -> None:
        async with open_postgres_store(database_url, table=table) as store:
            sql(
                database_url,
                f"INSERT INTO \"{table}\" VALUES ('bad', '[1, 2]', now(), now(), NULL)",
            )
            with pytest.raises(SessionStoreError, match="corrupt") as raised:
                await store.get_session("bad")
            assert isinstance(raised.value.__cause__, ValueError)

    run(scenario())


def test_an_unreachable_server_fails_fast_with_the_reason(database_url: str) -> None:
    async def scenario() -> None:
        store = unreachable_store()()
        try:
            began = time.monotonic()
            with pytest.raises(SessionStoreError, match="Connection refused") as raised:
                await store.get_session("x")
            assert time.monotonic() - began < 5
            assert isinstance(raised.value.__cause__, psycopg_pool.PoolTimeout)
        finally:
            await store.aclose()
        with pytest.raises(SessionStoreError, match="Connection refused"):
            async with open_postgres_store(
                f"postgresql://postgres@127.0.0.1:{free_port()}/test", pool_timeout=1
            ):
                pass

    run(scenario())


# --- restart: another process picks the sessions up --------------------------------------------

_PROCESS_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from reference_stores.postgres import open_postgres_store

    async def main(step, url, table):
        async with open_postgres_store(url, table=table, ttl_seconds=3600) as store:
            if step == "first":
                await store.create_session("kept", {"who": "first", "nul": "a\\x00b", "n": 2**62})
                print(json.dumps({"created": True}))
                return
            seen = await store.get_session("kept")
            report = {"read": None if seen is None else seen.data}
            await store.update_session("kept", {"data": {"who": "second"}})
            again = await store.get_session("kept")
            report["after_update"] = again.data
            report["times_ok"] = again.created_at == seen.created_at and again.updated_at >= seen.updated_at
            await store.delete_session("kept")
            report["exists_after_delete"] = await store.session_exists("kept")
            print(json.dumps(report))

    asyncio.run(main(*sys.argv[1:]))
    """
)


def test_a_second_process_started_later_reads_updates_and_deletes(
    database_url: str, table: str
) -> None:
    def step(name: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", _PROCESS_SCRIPT, name, database_url, table],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    assert step("first") == {"created": True}
    assert step("second") == {
        "read": {"who": "first", "nul": "a\x00b", "n": 2**62},
        "after_update": {"who": "second"},
        "times_ok": True,
        "exists_after_delete": False,
    }
    assert sql(database_url, f'SELECT count(*) FROM "{table}"') == [(0,)]


# --- faults: the server goes away mid-run and comes back ---------------------------------------


def _postgres_bindir() -> Path | None:
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(found.stdout.strip())
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb") or "").parent))
    # Debian and Ubuntu keep the server binaries off PATH.
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temporary folder, on a free loopback port.

    initdb refuses to run as root; as root the cluster runs as the ``postgres`` user.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mcp-pg-fault-"))
        self.data = self.folder / "data"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root without runuser")
            import pwd

            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self.prefix = [runuser, "-u", "postgres", "--"]
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",  # exists everywhere and fits any encoding
            "--no-sync",
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self.prefix, str(self.bindir / program), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class LoopbackProxy:
    """A TCP proxy on loopback in front of a server; stop() cuts every connection and stops listening."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        connections, self._connections = self._connections, set()
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The stream server's own task must not end by cancellation: it would log it as an error.
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            writer.transport.abort()
            self._connections.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.transport.abort()

        try:
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        finally:
            upstream_writer.transport.abort()


@dataclass
class Workload:
    """Tasks doing store operations in a loop, recording how each one ended and how long it took."""

    store: PostgresSessionStore
    outcomes: list[tuple[float, str, float]] = field(default_factory=list)
    running: bool = True

    async def worker(self, number: int) -> None:
        index = 0
        while self.running:
            index += 1
            session_id = f"w{number}-{index}"
            began = time.monotonic()
            try:
                await self.store.create_session(session_id, {"n": index})
                await self.store.update_session(session_id, {"data": {"n": -index}})
                await self.store.get_session(session_id)
                kind = "ok"
            except SessionStoreError as error:
                kind = "error" if error.__cause__ is not None else "error without a cause"
            except Exception as error:  # anything else is a finding
                kind = f"other: {type(error).__name__}: {error}"
            self.outcomes.append((began, kind, time.monotonic() - began))
            await asyncio.sleep(0.01)


async def _go_away_and_come_back(
    url: str,
    go_away: Callable[[], Awaitable[None]],
    come_back: Callable[[], Awaitable[None]],
    *,
    direct_url: str,
) -> None:
    """The shared fault scenario; ``direct_url`` reaches the same server without the fault."""
    table = f"mcp_sessions_fault_{RUN_TAG}_{uuid.uuid4().hex[:10]}"
    store = PostgresSessionStore(
        url,
        table=table,
        connect_timeout=1,
        pool_timeout=2,
        statement_timeout=2,
        min_size=2,
        max_size=4,
    )
    workload = Workload(store)
    workers: list[asyncio.Task[None]] = []
    try:
        await store.open()
        await store.create_schema()
        await store.create_session("before", {"kept": "\x00 across the outage"})
        workers = [asyncio.create_task(workload.worker(number)) for number in range(4)]
        await asyncio.sleep(0.3)
        assert workload.outcomes
        assert all(kind == "ok" for _, kind, _ in workload.outcomes)

        gone_at = time.monotonic()
        await go_away()
        # A clear error, within a bounded time, for a direct call too.
        began = time.monotonic()
        with pytest.raises(SessionStoreError) as raised:
            await store.get_session("before")
        assert time.monotonic() - began < 5
        assert isinstance(raised.value.__cause__, psycopg.OperationalError)
        assert str(raised.value).startswith("postgres: get_session failed")
        # The workload's calls in flight fail too, each within its own timeouts.
        for _ in range(50):  # up to 5 s
            if any(kind == "error" for at, kind, took in workload.outcomes if at + took >= gone_at):
                break
            await asyncio.sleep(0.1)
        assert any(
            kind == "error" for at, kind, took in workload.outcomes if at + took >= gone_at
        ), "the workload saw no error within 5 s of the outage"

        await come_back()
        back_at = time.monotonic()
        recovered = None
        while recovered is None and time.monotonic() - back_at < 20:
            try:
                recovered = await store.get_session("before")
            except SessionStoreError:
                await asyncio.sleep(0.2)
        assert recovered is not None, "no recovery within 20 s after the server came back"
        assert recovered.data == {"kept": "\x00 across the outage"}
        # Once recovered, it stays so: the workload's recent operations all succeed.
        await asyncio.sleep(0.5)
        settled = time.monotonic()
        await asyncio.sleep(0.5)
        workload.running = False
        await asyncio.gather(*workers)
        late = [kind for at, kind, _ in workload.outcomes if at >= settled]
        assert late
        assert all(kind == "ok" for kind in late), late
        strange = [kind for _, kind, _ in workload.outcomes if kind not in ("ok", "error")]
        assert not strange, strange
        slowest = max(took for _, _, took in workload.outcomes)
        assert slowest < 10, f"an operation took {slowest:.1f} s"
    finally:
        # Stop by flag, not by cancellation: on Python < 3.12 asyncio.wait_for (inside
        # psycopg_pool) can lose a cancellation that races a pool wake-up.
        workload.running = False
        if workers:
            await asyncio.wait(workers, timeout=15)
        await store.aclose()
        with contextlib.suppress(psycopg.Error):
            sql(direct_url, f'DROP TABLE IF EXISTS "{table}"')


@pytest.fixture(scope="module")
def throwaway_postgres() -> Iterator[ThrowawayPostgres | None]:
    bindir = _postgres_bindir()
    if bindir is None:
        yield None
        return
    try:
        server = ThrowawayPostgres(bindir)
    except (RuntimeError, KeyError, OSError, subprocess.SubprocessError):
        yield None
        return
    try:
        server.start()
        yield server
    finally:
        server.remove()


def test_the_server_goes_away_mid_run_and_comes_back(
    database_url: str, throwaway_postgres: ThrowawayPostgres | None
) -> None:
    """A private PostgreSQL is stopped (immediate shutdown) under load, then restarted."""
    if throwaway_postgres is None:
        # No way to run a private server here: cut the shared one off through a proxy instead.
        test_connections_are_cut_mid_run_and_come_back(database_url)
        return
    server = throwaway_postgres

    async def go_away() -> None:
        await asyncio.to_thread(server.stop, "immediate")

    async def come_back() -> None:
        await asyncio.to_thread(server.start)

    run(_go_away_and_come_back(server.url, go_away, come_back, direct_url=server.url))


def test_connections_are_cut_mid_run_and_come_back(database_url: str) -> None:
    """A loopback proxy in front of the server drops every connection, refuses new ones, then returns."""
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    host = str(info.get("host") or "127.0.0.1")
    if host.startswith("/"):
        host = "127.0.0.1"  # a socket directory: reach the same server over loopback TCP
    port = int(info.get("port") or 5432)
    proxied = psycopg.conninfo.make_conninfo(database_url, host="127.0.0.1", port=0)

    async def scenario() -> None:
        proxy = LoopbackProxy(host, port)
        await proxy.start()
        url = psycopg.conninfo.make_conninfo(proxied, port=proxy.port)
        try:
            await _go_away_and_come_back(url, proxy.stop, proxy.start, direct_url=database_url)
        finally:
            await proxy.stop()

    run(scenario())


def test_each_operation_serializes_or_decodes_once_at_most_and_never_walks(
    database_url: str, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work per operation, counted (no clock): a regression of that kind fails here."""
    counter = WorkCounter(monkeypatch, postgres_store)

    async def scenario() -> None:
        async with open_postgres_store(database_url, table=table, ttl_seconds=60) as store:
            await check_work_per_operation(store, counter, write=work(dumps=1), read=work(loads=1))

    run(scenario())
