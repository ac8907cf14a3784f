"""The MCP integration as deployed: the counter server over real HTTP, against the plain SDK's.

``python -m benchmarks mcp_http --concurrency 20``. The same comparison as
``mcp`` (``benchmarks/bench_mcp.py``: the counter example's ``increment`` with
sessions in each store, against the same tool on the SDK's in-process
sessions), but each server runs as its own process under uvicorn, and this
process calls it over loopback TCP. The store side is
``python -m examples.counter_server`` as shipped, with its own flags. A call
then costs what it costs a deployment: HTTP parsing and socket I/O on both
sides. The client's share of the machine is the same for both sides.

Stores: memory and SQLite always; Redis with ``REDIS_URL``, PostgreSQL with
``DATABASE_URL`` (keys under a per-run prefix, a per-run schema, removed after).
Each networked store is followed by its ``floor`` case, as in ``mcp``: the plain
server, served alike, its tool making the same two raw round trips.
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
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx2

from .bench_mcp import (
    TTL_SECONDS,
    RoundTrips,
    increment_calls,
    notes,
    per_run_postgres_schema,
    per_run_redis_prefix,
    postgres_floor,
    redis_floor,
)
from .harness import Case

__all__ = ["cases", "notes", "serve"]

CONCURRENT = True
STARTUP_SECONDS = 60.0


def serve(argv: Sequence[str]) -> None:
    """``plain PORT [FLOOR]``: the counter on the SDK's own sessions (its tool making a
    floor's round trips, given one); ``example ARGS``: the example's CLI.

    Either way the server stops when the benchmark's process is gone, however it ended.
    """

    def exit_with_the_benchmark() -> None:
        sys.stdin.read()  # EOF: the pipe from the benchmark closed
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=exit_with_the_benchmark, daemon=True).start()
    if argv[0] == "example":
        from examples.counter_server import main

        main(argv[1:])
        return
    import uvicorn

    from .bench_mcp import plain_sdk_server

    app = plain_sdk_server(floor_round_trips(argv[2:])).streamable_http_app()
    uvicorn.run(app, host="127.0.0.1", port=int(argv[1]), log_level="warning")


def floor_round_trips(argv: Sequence[str]) -> RoundTrips | None:
    """``redis URL PREFIX`` or ``postgres URL``: that floor's round trips; nothing: None."""
    if not argv:
        return None
    kind, url, *rest = argv
    if kind == "redis":
        from reference_stores.redis import RedisSessionStore

        return redis_floor(RedisSessionStore(url=url, key_prefix=rest[0], ttl_seconds=TTL_SECONDS))
    from reference_stores.postgres import PostgresSessionStore

    store = PostgresSessionStore(url, table="floor_sessions", ttl_seconds=TTL_SECONDS)
    return postgres_floor(store)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _start_server(
    stack: AsyncExitStack, name: str, argv: Sequence[str], port: int, log: Path
) -> str:
    """Start a server process (stopped when ``stack`` closes); its URL once it accepts connections."""
    with log.open("wb") as output:  # a file, not a pipe: nothing has to read it while it runs
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "benchmarks.bench_mcp_http", *argv),
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
            logged = await asyncio.to_thread(log.read_text, errors="replace")
            raise RuntimeError(f"the {name} server exited with {process.returncode}:\n{logged}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the {name} server did not start in {STARTUP_SECONDS} s"
                ) from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return f"http://127.0.0.1:{port}/mcp"


@asynccontextmanager
async def cases() -> AsyncIterator[list[Case]]:
    # httpx logs every request at INFO: thousands of lines, and time spent on them.
    logging.disable(logging.INFO)
    async with AsyncExitStack() as stack:
        stack.callback(logging.disable, logging.NOTSET)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        stores = {
            "memory": ["--store", "memory"],
            "sqlite": ["--store", "sqlite", "--sqlite-path", str(folder / "bench.sqlite3")],
        }
        floors: dict[str, list[str]] = {}
        if redis_url := os.environ.get("REDIS_URL"):
            prefix = await per_run_redis_prefix(stack, redis_url)
            stores["redis"] = ["--store", "redis", "--redis-url", redis_url, "--key-prefix", prefix]
            floors["redis"] = ["redis", redis_url, prefix]
        if database_url := os.environ.get("DATABASE_URL"):
            schema_url = await per_run_postgres_schema(stack, database_url)
            stores["postgres"] = ["--store", "postgres", "--database-url", schema_url]
            floors["postgres"] = ["postgres", schema_url]
        http = await stack.enter_async_context(httpx2.AsyncClient(timeout=60))
        port = _free_port()
        plain_url = await _start_server(
            stack, "plain", ["plain", str(port)], port, folder / "plain.log"
        )
        raw_call = await increment_calls(http, plain_url)
        result = []
        for kind, flags in stores.items():
            port = _free_port()
            argv = ["example", *flags, "--port", str(port)]
            url = await _start_server(stack, kind, argv, port, folder / f"{kind}.log")
            store_call = await increment_calls(http, url)
            label = "plain SDK sessions, each side its own uvicorn process, over loopback HTTP"
            result.append(Case(f"tools/call {kind}", store_call, raw_call, label))
            if kind in floors:
                port = _free_port()
                argv = ["plain", str(port), *floors[kind]]
                url = await _start_server(stack, kind, argv, port, folder / f"floor-{kind}.log")
                floor_call = await increment_calls(http, url)
                label = (
                    "plain SDK sessions, served alike; store side: its tool makes 2 raw round trips"
                )
                result.append(Case(f"floor {kind}", floor_call, raw_call, label))
        yield result


if __name__ == "__main__":
    serve(sys.argv[1:])
