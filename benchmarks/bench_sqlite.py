"""SQLiteSessionStore against the same SQL on a plain sqlite3 connection in a worker thread.

Everything uses one file in a fresh temporary directory, WAL and
synchronous=NORMAL. Each operation is measured against two raw baselines:

- "thread": the raw statement sent through the same connection-owning worker
  thread the store uses, so the ratio is exactly what the store adds
  (validation, JSON, SessionData, error mapping);
- "run_in_executor": the raw statement the way one would usually write it,
  ``loop.run_in_executor`` on a one-thread executor.

The raw side is charged as any caller would be: a raw write serializes the data
with ``json.dumps`` per call, a raw read decodes it with ``json.loads``.

Sequential only: a concurrent mode would compare the store's reader threads
against one raw connection, which says nothing about overhead. The conditional
update is the exception: every write goes through the one writer thread on both
sides, so it runs with N tasks too (against the "thread" baseline).

The delete cases remove the sessions the create cases made (same indices, run
before them), so every delete removes a row that exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reference_stores.sqlite import (
    _IF_REVISION,
    _REPLACE_TTL_SQL,
    TABLE,
    SQLiteSessionStore,
    _ConnectionThreads,
    _Opener,
)
from reference_stores.validation import dump_json, now_ms

from .harness import Case, RevisionedSessions

CONCURRENT = False

DATA = {"user": "alice", "scopes": ["read", "write"], "count": 3, "ok": True}
DATA_JSON = dump_json(DATA)
"""Rows seeded before a run; the raw writes serialize per call, as any real caller must."""
TTL_MS = 3_600_000
LIVE = "(expires_at_ms IS NULL OR expires_at_ms > ?)"
HOT_ID = "hot"
CONDITIONAL_SESSIONS = 64
"""More than the tasks in flight: concurrent conditional updates never share a session."""
_CONDITIONAL_SQL = _REPLACE_TTL_SQL + _IF_REVISION

RawStatement = Callable[[sqlite3.Connection, str, int], Any]


def _insert(connection: sqlite3.Connection, prefix: str, index: int) -> int:
    now = now_ms(time.time)
    return connection.execute(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, 1)",
        (f"{prefix}{index}", now, now, now + TTL_MS, json.dumps(DATA)),
    ).rowcount


def _select_row(connection: sqlite3.Connection, prefix: str, index: int) -> list[Any]:
    rows = connection.execute(
        "SELECT created_at_ms, updated_at_ms, expires_at_ms, data_json "
        f"FROM {TABLE} WHERE session_id = ? AND {LIVE}",
        (prefix + HOT_ID, now_ms(time.time)),
    ).fetchall()
    return [json.loads(row[3]) for row in rows]  # a caller decodes the data it reads


def _select_one(connection: sqlite3.Connection, prefix: str, index: int) -> list[Any]:
    return connection.execute(
        f"SELECT 1 FROM {TABLE} WHERE session_id = ? AND {LIVE}",
        (prefix + HOT_ID, now_ms(time.time)),
    ).fetchall()


def _update(connection: sqlite3.Connection, prefix: str, index: int) -> int:
    now = now_ms(time.time)
    return connection.execute(
        f"UPDATE {TABLE} SET updated_at_ms = ?, expires_at_ms = ?, data_json = ?, "
        f"revision = revision + 1 WHERE session_id = ? AND {LIVE}",
        (now, now + TTL_MS, json.dumps(DATA), prefix + HOT_ID, now),
    ).rowcount


def _update_if(connection: sqlite3.Connection, key: str, expected: int) -> int:
    # The store's statement; a caller must check that it changed a row.
    now = now_ms(time.time)
    if not connection.execute(
        _CONDITIONAL_SQL, (now, now, TTL_MS, json.dumps(DATA), key, now, expected)
    ).rowcount:
        raise RuntimeError("conditional update refused")
    return 1


def _delete(connection: sqlite3.Connection, prefix: str, index: int) -> int:
    return connection.execute(
        f"DELETE FROM {TABLE} WHERE session_id = ?", (f"{prefix}{index}",)
    ).rowcount


RAW: list[tuple[str, str, RawStatement]] = [
    ("create_session", "INSERT", _insert),
    ("get_session", "SELECT row", _select_row),
    ("session_exists", "SELECT 1", _select_one),
    ("update_session", "UPDATE", _update),
    ("delete_session", "DELETE", _delete),
]


@contextlib.asynccontextmanager
async def cases() -> AsyncIterator[list[Case]]:
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as folder:
        path = os.path.join(folder, "sessions.sqlite3")
        store = SQLiteSessionStore(path, ttl_seconds=TTL_MS / 1000)
        await store.create_session("store-" + HOT_ID, DATA)  # also creates the table

        raw_thread = _ConnectionThreads(1, _Opener(path, 5.0), "bench-raw-sqlite")
        executor = ThreadPoolExecutor(1, thread_name_prefix="bench-raw-executor")
        plain = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        plain.execute("PRAGMA synchronous=NORMAL")
        now = now_ms(time.time)
        for prefix in ("thread-", "executor-"):
            plain.execute(
                f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, 1)",
                (prefix + HOT_ID, now, now, now + TTL_MS, DATA_JSON),
            )
        store_revisions = RevisionedSessions(f"store-cond{n}" for n in range(CONDITIONAL_SESSIONS))
        raw_revisions = RevisionedSessions(f"thread-cond{n}" for n in range(CONDITIONAL_SESSIONS))
        for n in range(CONDITIONAL_SESSIONS):
            await store.create_session(f"store-cond{n}", DATA)
            await store.create_session(f"thread-cond{n}", DATA)
        loop = asyncio.get_running_loop()

        def via_thread(statement: RawStatement) -> Callable[[int], Awaitable[Any]]:
            return lambda index: raw_thread.run(statement, "thread-", index)

        def via_executor(statement: RawStatement) -> Callable[[int], Awaitable[Any]]:
            return lambda index: loop.run_in_executor(
                executor, statement, plain, "executor-", index
            )

        async def store_create(index: int) -> None:
            await store.create_session(f"store-{index}", DATA)

        async def store_get(index: int) -> object:
            return await store.get_session("store-" + HOT_ID)

        async def store_exists(index: int) -> bool:
            return await store.session_exists("store-" + HOT_ID)

        async def store_update(index: int) -> None:
            await store.update_session("store-" + HOT_ID, {"data": DATA})

        async def store_delete(index: int) -> None:
            await store.delete_session(f"store-{index}")

        async def store_conditional(index: int) -> None:
            taken = store_revisions.take()
            await store.update_session(taken[0], {"data": DATA}, expected_revision=taken[1])
            store_revisions.written(taken)

        async def raw_conditional(index: int) -> None:
            taken = raw_revisions.take()
            await raw_thread.run(_update_if, taken[0], taken[1])
            raw_revisions.written(taken)

        store_calls = {
            "create_session": store_create,
            "get_session": store_get,
            "session_exists": store_exists,
            "update_session": store_update,
            "delete_session": store_delete,
        }
        # Two store ids per index would collide: the second create baseline pair
        # gets its own store ids through a shifted index.
        shifted = 10_000_000

        def shift(call: Callable[[int], Awaitable[Any]]) -> Callable[[int], Awaitable[Any]]:
            return lambda index: call(index + shifted)

        try:
            yield [
                case
                for operation, label, statement in RAW
                for case in (
                    Case(
                        operation,
                        store_calls[operation],
                        via_thread(statement),
                        f"{label} (thread)",
                    ),
                    Case(
                        operation,
                        shift(store_calls[operation]),
                        via_executor(statement),
                        f"{label} (run_in_executor)",
                    ),
                )
            ] + [
                Case(
                    "update (conditional)",
                    store_conditional,
                    raw_conditional,
                    "UPDATE ... AND revision = ? (thread)",
                    concurrent=True,
                )
            ]
        finally:
            await store.aclose()
            raw_thread.stop()
            await loop.run_in_executor(None, raw_thread.join)
            executor.shutdown(wait=True)
            plain.close()
