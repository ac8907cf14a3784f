"""The MCP integration: the counter server's tool calls, sessions in a store, against plain SDK sessions.

``python -m benchmarks mcp --concurrency 20``. The store side is
``examples/counter_server.py`` as shipped: ``PersistentSessions(store)``, its
``increment`` tool changing the session's state with ``modify_session_data``.
The raw side is the same ``increment`` tool on the same SDK, served by the SDK's
own ``streamable_http_app()`` with its in-process sessions, the count kept in a
dict of the process. Both are driven through their ASGI apps in this process
(httpx2's ASGI transport: the whole HTTP path but the socket), one JSON-RPC
``tools/call`` per operation, alternately in each round.

Each side opens ``SESSIONS`` sessions first; a call takes a session no call in
flight holds (so the concurrent mode is that many sessions in parallel, whatever
the number of tasks). Stores: memory and SQLite always; Redis with
``REDIS_URL``, PostgreSQL with ``DATABASE_URL`` (keys under a per-run prefix, a
per-run schema, removed after). The raw label gives the store calls per tool
call, counted over a sequential pass before the rounds; each is one round trip
to a networked store.

For Redis and PostgreSQL a ``floor`` case follows: the plain SDK server again,
its tool making the same two round trips on the backend's raw client (a read
of a record, then a write of it) and nothing else, against the plain server.
No design that makes those round trips per call can beat that ratio with that
client on that machine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER

from examples.counter_server import build_server
from mcp_sessions import PersistentSessions
from reference_stores.memory import InMemorySessionStore

from .harness import Case

CONCURRENT = True
NETWORKED_STORES = (("redis", "REDIS_URL"), ("postgres", "DATABASE_URL"))
"""Each store that needs a server, and the variable naming it."""
SESSIONS = 20
TTL_SECONDS = 3600
CALIBRATION_CALLS = 50
BASE_URL = "http://127.0.0.1:8000"
URL = f"{BASE_URL}/mcp"
FLOOR_DATA = '{"count": 1}'
FLOOR_RECORD = f"1795000000000:1795000000000:1798600000000:2:{FLOOR_DATA}".encode()
"""What the Redis floor writes: a record like the store's for the counter's state."""
HEADERS = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": "2025-11-25",
}


def notes() -> list[str]:
    """The stores this run leaves out because their variable is unset: said, not just missing."""
    return [
        f"{store} left out: {variable} is unset"
        for store, variable in NETWORKED_STORES
        if not os.environ.get(variable)
    ]


class CountingStore:
    """The store with every call counted: the integration's round trips."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return await value(*args, **kwargs)

        return counted


RoundTrips = Callable[[str], Awaitable[None]]
"""Given a session id, make a floor's round trips for it."""


def plain_sdk_server(round_trips: RoundTrips | None = None) -> MCPServer[Any]:
    """The counter tool on the SDK's own sessions: the count in a dict of this process.

    With ``round_trips``, the tool first makes them: a floor case's store side.
    """
    counts: dict[str, int] = {}
    mcp: MCPServer[Any] = MCPServer("counter")

    @mcp.tool()
    async def increment(ctx: Context, by: int = 1) -> int:
        """Add ``by`` to this session's counter and return the new value."""
        # The SDK's own sessions: its transport already matched the header to one.
        request = ctx.request_context.request
        assert request is not None
        session_id = str(request.headers[MCP_SESSION_ID_HEADER])
        if round_trips is not None:
            await round_trips(session_id)
        counts[session_id] = counts.get(session_id, 0) + by
        return counts[session_id]

    return mcp


async def open_session(http: httpx2.AsyncClient, url: str = URL) -> str:
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "benchmark", "version": "1"},
        },
    }
    response = await http.post(url, json=initialize, headers=HEADERS)
    response.raise_for_status()
    session_id = response.headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = await http.post(
        url, json=initialized, headers={**HEADERS, "mcp-session-id": session_id}
    )
    response.raise_for_status()
    return str(session_id)


async def served(stack: AsyncExitStack, app: Any) -> Callable[[int], Awaitable[None]]:
    """Start ``app`` (its lifespan), open the sessions; a call of ``increment`` in a free one."""
    await stack.enter_async_context(app.router.lifespan_context(app))
    http = await stack.enter_async_context(
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL)
    )
    return await increment_calls(http, URL)


async def increment_calls(http: httpx2.AsyncClient, url: str) -> Callable[[int], Awaitable[None]]:
    """Open ``SESSIONS`` sessions at ``url``; a call of ``increment`` in one no call in flight holds."""
    free: asyncio.Queue[str] = asyncio.Queue()
    for _ in range(SESSIONS):
        free.put_nowait(await open_session(http, url))

    async def call(index: int) -> None:
        session_id = await free.get()
        try:
            request = {
                "jsonrpc": "2.0",
                "id": index + 1,
                "method": "tools/call",
                "params": {"name": "increment", "arguments": {"by": 1}},
            }
            response = await http.post(
                url, json=request, headers={**HEADERS, "mcp-session-id": session_id}
            )
            if response.status_code != 200 or '"isError":true' in response.text:
                raise RuntimeError(f"tool call failed: {response.status_code} {response.text}")
        finally:
            free.put_nowait(session_id)

    return call


async def stores(stack: AsyncExitStack) -> AsyncIterator[tuple[str, Any, RoundTrips | None]]:
    """Each store by name, with its backend's floor round trips (None: no network, no floor)."""
    yield "memory", InMemorySessionStore(ttl_seconds=TTL_SECONDS), None

    from reference_stores.sqlite import SQLiteSessionStore

    folder = stack.enter_context(tempfile.TemporaryDirectory())
    sqlite = SQLiteSessionStore(Path(folder) / "bench.sqlite3", ttl_seconds=TTL_SECONDS)
    stack.push_async_callback(sqlite.aclose)
    yield "sqlite", sqlite, None

    if redis_url := os.environ.get("REDIS_URL"):
        from reference_stores.redis import RedisSessionStore

        prefix = await per_run_redis_prefix(stack, redis_url)
        redis = RedisSessionStore(url=redis_url, key_prefix=prefix, ttl_seconds=TTL_SECONDS)
        stack.push_async_callback(redis.aclose)
        yield "redis", redis, redis_floor(redis)

    if database_url := os.environ.get("DATABASE_URL"):
        from reference_stores.postgres import PostgresSessionStore

        postgres = PostgresSessionStore(
            await per_run_postgres_schema(stack, database_url), ttl_seconds=TTL_SECONDS
        )
        stack.push_async_callback(postgres.aclose)
        await postgres.create_schema()
        yield "postgres", postgres, postgres_floor(postgres)


def redis_floor(store: Any) -> RoundTrips:
    """``GET`` then ``SET ... PX`` of a record, on the store's own client."""
    client = store.client
    prefix = f"{store.key_prefix}floor:"
    ttl_ms = TTL_SECONDS * 1000

    async def round_trips(session_id: str) -> None:
        key = prefix + session_id
        await client.get(key)
        await client.set(key, FLOOR_RECORD, px=ttl_ms)

    return round_trips


def postgres_floor(store: Any) -> RoundTrips:
    """The store's own ``SELECT`` then conditional ``UPDATE``, through its pool, as plain psycopg."""
    prepared: set[str] = set()

    async def round_trips(session_id: str) -> None:
        floor_id = f"floor-{session_id}"
        if floor_id not in prepared:  # the session's first call, in the warm-up
            await store.create_schema()
            await store.create_session(floor_id, {"count": 0})
            prepared.add(floor_id)
        async with store.pool.connection() as conn:
            row = await (await conn.execute(store._sql_get, {"id": floor_id})).fetchone()
        params = {"id": floor_id, "data": FLOOR_DATA, "expected": row[4]}
        async with store.pool.connection() as conn:
            await conn.execute(store._sql_update_if, params)

    return round_trips


async def per_run_redis_prefix(stack: AsyncExitStack, redis_url: str) -> str:
    """A key prefix of this run; its keys are removed when ``stack`` closes (never a flush)."""
    import redis.asyncio as redis

    from .bench_redis import remove_keys_under

    prefix = f"mcp-session-store-kit:bench-mcp:{uuid.uuid4().hex[:12]}:"

    async def remove_keys() -> None:
        client = redis.Redis.from_url(redis_url)
        try:
            await remove_keys_under(client, prefix)
        finally:
            await client.aclose()

    stack.push_async_callback(remove_keys)
    return prefix


async def per_run_postgres_schema(stack: AsyncExitStack, database_url: str) -> str:
    """``database_url`` with a schema of this run first on its search path; dropped when
    ``stack`` closes, with every table in it."""
    import psycopg

    schema = f"mcp_sessions_bench_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')

    async def drop_schema() -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    stack.push_async_callback(drop_schema)
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}options=-csearch_path%3D{schema}"


@asynccontextmanager
async def cases() -> AsyncIterator[list[Case]]:
    # The SDK and httpx log every request at INFO: thousands of lines, and time spent on them.
    logging.disable(logging.INFO)
    async with AsyncExitStack() as stack:
        stack.callback(logging.disable, logging.NOTSET)
        plain = plain_sdk_server()
        raw_call = await served(stack, plain.streamable_http_app())
        result = []
        async for name, store, floor in stores(stack):
            counting = CountingStore(store)
            sessions = PersistentSessions(counting)
            store_call = await served(stack, sessions.streamable_http_app(build_server(sessions)))
            counting.calls.clear()
            for index in range(CALIBRATION_CALLS):
                await store_call(index)
            per_call = {
                method: count / CALIBRATION_CALLS for method, count in counting.calls.items()
            }
            total = sum(per_call.values())
            detail = ", ".join(f"{method} {count:g}" for method, count in sorted(per_call.items()))
            label = f"plain SDK sessions; store calls per tool call: {total:g} ({detail})"
            result.append(Case(f"tools/call {name}", store_call, raw_call, label))
            if floor is not None:
                floor_call = await served(stack, plain_sdk_server(floor).streamable_http_app())
                label = (
                    "plain SDK sessions; store side: the same, its tool making 2 raw round trips"
                )
                result.append(Case(f"floor {name}", floor_call, raw_call, label))
        yield result
