"""The MCP integration as deployed: the counter server over real HTTP, against the plain SDK's.

``python -m benchmarks mcp_http --concurrency 20``. The same comparison as
``mcp`` (``benchmarks/bench_mcp.py``: the counter example's ``increment`` with
sessions in each store, against the same tool on the SDK's in-process
sessions), but each server runs as its own process under uvicorn, as
``examples/counter_server.py`` does, and this process calls it over loopback
TCP. A call then costs what it costs a deployment: HTTP parsing and socket I/O
on both sides. The client's share of the machine is the same for both sides.

Stores: memory and SQLite always; Redis with ``REDIS_URL``, PostgreSQL with
``DATABASE_URL`` (keys under a per-run prefix, a per-run table, removed after).
A server process is started with ``python -m benchmarks.bench_mcp_http KIND PORT NAME``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2

from .bench_mcp import TTL_SECONDS, increment_calls
from .harness import Case

CONCURRENT = True
STARTUP_SECONDS = 60.0


def make_store(kind: str, name: str) -> Any:
    """The store a server process keeps its sessions in; ``name``: its file, key prefix or table."""
    if kind == "memory":
        from reference_stores.memory import InMemorySessionStore

        return InMemorySessionStore(ttl_seconds=TTL_SECONDS)
    if kind == "sqlite":
        from reference_stores.sqlite import SQLiteSessionStore

        return SQLiteSessionStore(name, ttl_seconds=TTL_SECONDS)
    if kind == "redis":
        from reference_stores.redis import RedisSessionStore

        return RedisSessionStore(
            url=os.environ["REDIS_URL"], key_prefix=name, ttl_seconds=TTL_SECONDS
        )
    if kind == "postgres":
        from reference_stores.postgres import PostgresSessionStore

        return PostgresSessionStore(os.environ["DATABASE_URL"], table=name, ttl_seconds=TTL_SECONDS)
    raise ValueError(f"unknown store {kind!r}")


def serve(kind: str, port: int, name: str) -> None:
    """Serve the counter (``kind`` "plain": on the SDK's own sessions) until terminated."""
    import uvicorn

    from examples.counter_server import build_server
    from mcp_sessions import PersistentSessions

    from .bench_mcp import plain_sdk_server

    logging.disable(logging.INFO)

    def exit_with_the_benchmark() -> None:
        sys.stdin.read()  # EOF: the benchmark process is gone, however it ended
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=exit_with_the_benchmark, daemon=True).start()
    if kind == "plain":
        app = plain_sdk_server().streamable_http_app()
    else:
        sessions = PersistentSessions(make_store(kind, name))
        app = sessions.streamable_http_app(build_server(sessions))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _start_server(stack: AsyncExitStack, kind: str, name: str, log: Path) -> str:
    """Start a server process (stopped when ``stack`` closes); its URL once it accepts connections."""
    port = _free_port()
    with log.open("wb") as output:  # a file, not a pipe: nothing has to read it while it runs
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "benchmarks.bench_mcp_http", kind, str(port), name),
            stdin=asyncio.subprocess.PIPE,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def stop() -> None:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()

    stack.push_async_callback(stop)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.returncode is not None:
            output = await asyncio.to_thread(log.read_text, errors="replace")
            raise RuntimeError(f"the {kind} server exited with {process.returncode}:\n{output}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the {kind} server did not start in {STARTUP_SECONDS} s"
                ) from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return f"http://127.0.0.1:{port}/mcp"


async def _remove_redis_keys(prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
    finally:
        await client.aclose()


async def _create_postgres_table(table: str) -> None:
    store = make_store("postgres", table)
    try:
        await store.create_schema()
    finally:
        await store.aclose()


async def _drop_postgres_table(table: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(
        os.environ["DATABASE_URL"], autocommit=True
    ) as conn:
        await conn.execute(f'DROP TABLE IF EXISTS "{table}"')


@asynccontextmanager
async def cases() -> AsyncIterator[list[Case]]:
    # httpx logs every request at INFO: thousands of lines, and time spent on them.
    logging.disable(logging.INFO)
    run_id = uuid.uuid4().hex[:10]
    async with AsyncExitStack() as stack:
        stack.callback(logging.disable, logging.NOTSET)
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        stores = {"memory": "", "sqlite": str(Path(folder) / "bench.sqlite3")}
        if os.environ.get("REDIS_URL"):
            stores["redis"] = prefix = f"mcp-session-store-kit:bench-mcp-http:{run_id}:"
            stack.push_async_callback(_remove_redis_keys, prefix)
        if os.environ.get("DATABASE_URL"):
            stores["postgres"] = table = f"mcp_sessions_bench_{run_id}"
            stack.push_async_callback(_drop_postgres_table, table)
            await _create_postgres_table(table)
        http = await stack.enter_async_context(httpx2.AsyncClient(timeout=60))
        logs = Path(folder)
        plain_url = await _start_server(stack, "plain", "", logs / "plain.log")
        raw_call = await increment_calls(http, plain_url)
        result = []
        for kind, name in stores.items():
            url = await _start_server(stack, kind, name, logs / f"{kind}.log")
            store_call = await increment_calls(http, url)
            label = "plain SDK sessions, each side its own uvicorn process, over loopback HTTP"
            result.append(Case(f"tools/call {kind}", store_call, raw_call, label))
        yield result


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3])
