"""PostgresSessionStore against the same SQL statement sent with psycopg through the same pool.

Needs ``DATABASE_URL``. Everything happens in a fresh table with a random name,
dropped at the end. The raw call is the ordinary psycopg idiom,
``async with pool.connection() as conn: await conn.execute(sql, params)``, with
the exact statement text the store sends (server clock, TTL one hour), and the
data serialized with ``json.dumps`` as any caller must, so the ratio is what the
store adds: validation and copying, decoding into SessionData, error mapping.

Store and raw calls use separate ids. Each create makes a new session; the
delete case, run after it, removes those sessions in the same order, so every
delete removes a row that exists. get/exists/update work on one live session.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from reference_stores.postgres import PostgresSessionStore

from .harness import Case, RevisionedSessions

CONCURRENT = True

DATA = {"user": "alice", "scopes": ["read", "write"], "count": 3, "ok": True}
HOT_ID = "hot"
CONDITIONAL_SESSIONS = 64
"""More than the tasks in flight: concurrent conditional updates never share a session."""


@asynccontextmanager
async def cases() -> AsyncIterator[list[Case]]:
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        raise SystemExit("bench_postgres: set DATABASE_URL (a server it may create a table in)")
    table = f"mcp_sessions_bench_{uuid.uuid4().hex[:10]}"
    store = PostgresSessionStore(dsn, table=table, ttl_seconds=3600, min_size=10, max_size=10)
    try:
        await store.open()
        await store.create_schema()
        pool = store.pool
        await store.create_session("store-" + HOT_ID, DATA)
        await store.create_session("raw-" + HOT_ID, DATA)
        store_revisions = RevisionedSessions(f"store-cond{n}" for n in range(CONDITIONAL_SESSIONS))
        raw_revisions = RevisionedSessions(f"raw-cond{n}" for n in range(CONDITIONAL_SESSIONS))
        for n in range(CONDITIONAL_SESSIONS):
            await store.create_session(f"store-cond{n}", DATA)
            await store.create_session(f"raw-cond{n}", DATA)

        async def fetch(statement: str, params: dict[str, Any]) -> Any:
            async with pool.connection() as conn:
                cursor = await conn.execute(statement, params)
                return await cursor.fetchone()

        async def execute(statement: str, params: dict[str, Any]) -> int:
            async with pool.connection() as conn:
                cursor = await conn.execute(statement, params)
                rowcount: int = cursor.rowcount
                return rowcount

        def ids(side: str) -> Iterator[str]:
            return (f"{side}-{n}" for n in itertools.count())

        store_created, raw_created = ids("store"), ids("raw")
        store_deleted, raw_deleted = ids("store"), ids("raw")
        hot_store, hot_raw = "store-" + HOT_ID, "raw-" + HOT_ID

        async def store_create(_: int) -> None:
            await store.create_session(next(store_created), DATA)

        async def raw_create(_: int) -> None:
            row = await fetch(
                store._sql_create, {"id": next(raw_created), "data": json.dumps(DATA)}
            )
            assert row is not None

        async def store_get(_: int) -> None:
            await store.get_session(hot_store)

        async def raw_get(_: int) -> None:
            row = await fetch(store._sql_get, {"id": hot_raw})
            json.loads(row[0])  # a caller decodes the data it reads

        async def store_exists(_: int) -> None:
            await store.session_exists(hot_store)

        async def raw_exists(_: int) -> None:
            await fetch(store._sql_exists, {"id": hot_raw})

        async def store_update(_: int) -> None:
            await store.update_session(hot_store, {"data": DATA})

        async def raw_update(_: int) -> None:
            await execute(store._sql_update, {"id": hot_raw, "data": json.dumps(DATA)})

        async def store_touch(_: int) -> None:
            await store.update_session(hot_store, {})

        async def raw_touch(_: int) -> None:
            await execute(store._sql_update, {"id": hot_raw, "data": None})

        async def store_conditional(_: int) -> None:
            taken = store_revisions.take()
            await store.update_session(taken[0], {"data": DATA}, expected_revision=taken[1])
            store_revisions.written(taken)

        async def raw_conditional(_: int) -> None:
            # The same statement; a caller must check that it changed a row.
            taken = raw_revisions.take()
            params = {"id": taken[0], "data": json.dumps(DATA), "expected": taken[1]}
            if not await execute(store._sql_update_if, params):
                raise RuntimeError("conditional update refused")
            raw_revisions.written(taken)

        async def store_delete(_: int) -> None:
            await store.delete_session(next(store_deleted))

        async def raw_delete(_: int) -> None:
            await execute(store._sql_delete, {"id": next(raw_deleted)})

        label = "psycopg pool.connection() + execute, same SQL"
        yield [
            Case("create_session", store_create, raw_create, label),
            Case("get_session", store_get, raw_get, label),
            Case("session_exists", store_exists, raw_exists, label),
            Case("update_session", store_update, raw_update, label),
            Case("update (touch)", store_touch, raw_touch, label),
            Case("update (conditional)", store_conditional, raw_conditional, label),
            Case("delete_session", store_delete, raw_delete, label),
        ]
    finally:
        try:
            async with store.pool.connection() as conn:
                await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        finally:
            await store.aclose()
