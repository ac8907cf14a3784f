"""A stateful MCP server whose per-session counter survives a restart.

    python -m examples.counter_server                      # SQLite file mcp_sessions.sqlite3
    python -m examples.counter_server --store redis        # $REDIS_URL or redis://127.0.0.1:6379/0
    python -m examples.counter_server --store memory       # lost on restart, for comparison

Serves http://127.0.0.1:8000/mcp (streamable HTTP). Each session has its own
counter; stop the server, start it again, and a client that keeps its session
id carries on counting. Try it with ``python -m examples.counter_client``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from starlette.applications import Starlette

from reference_stores import SessionStore
from reference_stores.mcp_restore import PersistentSessions

STORES = ("sqlite", "memory", "redis", "dynamodb", "postgres")


def build_server(sessions: PersistentSessions, **options: Any) -> MCPServer[Any]:
    """The MCP server: one tool that counts calls per session, its state in ``sessions``."""
    mcp: MCPServer[Any] = MCPServer("counter", **options)

    @mcp.tool()
    async def increment(ctx: Context, by: int = 1) -> int:
        """Add ``by`` to this session's counter and return the new value."""
        state = await sessions.get_session_data(ctx)
        count = int(state.get("count", 0)) + by
        await sessions.update_session_data(ctx, {**state, "count": count})
        return count

    return mcp


def build_app(
    store: SessionStore,
    *,
    refresh_interval: float | None = None,
    max_sessions: int | None = 10_000,
    host: str = "127.0.0.1",
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> Starlette:
    """The ASGI app: the counter server with its sessions kept in ``store``, closed on shutdown."""
    sessions = PersistentSessions(store, refresh_interval=refresh_interval)
    mcp = build_server(sessions, auth=auth, token_verifier=token_verifier)

    @contextlib.asynccontextmanager
    async def store_lifespan(_app: Starlette) -> AsyncIterator[None]:
        create_schema = getattr(store, "create_schema", None)  # PostgreSQL: idempotent
        if create_schema is not None:
            await create_schema()
        try:
            yield
        finally:
            aclose = getattr(store, "aclose", None)
            if aclose is not None:
                await aclose()

    return sessions.streamable_http_app(
        mcp, host=host, max_sessions=max_sessions, lifespan=store_lifespan
    )


def make_store(options: argparse.Namespace) -> SessionStore:
    """The store named on the command line (each one connects on first use)."""
    ttl = options.ttl
    if options.store == "memory":
        from reference_stores.memory import InMemorySessionStore

        return InMemorySessionStore(ttl_seconds=ttl)
    if options.store == "sqlite":
        from reference_stores.sqlite import SQLiteSessionStore

        return SQLiteSessionStore(options.sqlite_path, ttl_seconds=ttl)
    if options.store == "redis":
        from reference_stores.redis import RedisSessionStore

        return RedisSessionStore(
            url=options.redis_url, key_prefix=options.key_prefix, ttl_seconds=ttl
        )
    if options.store == "dynamodb":
        from reference_stores.dynamodb import DynamoDBSessionStore

        return DynamoDBSessionStore(
            options.dynamodb_table,
            ttl_seconds=ttl,
            endpoint_url=options.dynamodb_endpoint,
            create_table=options.create_table,
        )
    from reference_stores.postgres import PostgresSessionStore

    return PostgresSessionStore(options.database_url, ttl_seconds=ttl)


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.counter_server", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--store", choices=STORES, default="sqlite", help="default: sqlite")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--ttl", type=float, default=3600.0, help="seconds an idle session is kept (default 3600)"
    )
    parser.add_argument(
        "--refresh-interval",
        type=float,
        default=None,
        help="seconds between TTL refreshes of a session (default: ttl/10, at most 60)",
    )
    parser.add_argument("--max-sessions", type=int, default=10_000)
    parser.add_argument(
        "--sqlite-path",
        default=os.environ.get("SESSION_STORE_SQLITE_PATH", "mcp_sessions.sqlite3"),
        help="SQLite database file (default: $SESSION_STORE_SQLITE_PATH or mcp_sessions.sqlite3)",
    )
    parser.add_argument("--redis-url", default=None, help="default: $REDIS_URL or local Redis")
    parser.add_argument("--key-prefix", default="counter-example:session:")
    parser.add_argument("--dynamodb-table", default=None, help="default: $DYNAMODB_TABLE_NAME")
    parser.add_argument("--dynamodb-endpoint", default=None, help="for an emulator")
    parser.add_argument("--create-table", action="store_true", help="create the DynamoDB table")
    parser.add_argument("--database-url", default=None, help="default: $DATABASE_URL")
    return parser


def serve(
    options: argparse.Namespace,
    *,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> None:
    """Run the server until interrupted (Ctrl-C or SIGTERM)."""
    app = build_app(
        make_store(options),
        refresh_interval=options.refresh_interval,
        max_sessions=options.max_sessions,
        host=options.host,
        auth=auth,
        token_verifier=token_verifier,
    )
    print(
        f"counter server on http://{options.host}:{options.port}/mcp, sessions in {options.store}",
        flush=True,
    )
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    serve(argument_parser().parse_args(argv))


if __name__ == "__main__":
    main()
