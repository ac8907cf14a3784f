"""A stateful MCP server whose per-session counter survives a restart.

    python -m examples.counter_server                      # SQLite file mcp_sessions.sqlite3
    python -m examples.counter_server --store redis        # $REDIS_URL or redis://127.0.0.1:6379/0
    python -m examples.counter_server --store memory       # lost on restart, for comparison
    python -m examples.counter_server --token alice=SECRET # bearer-token auth: sessions are alice's

Serves http://127.0.0.1:8000/mcp (streamable HTTP). Each session has its own
counter; stop the server, start it again, and a client that keeps its session
id carries on counting. Try it with ``python -m examples.counter_client``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

import uvicorn
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from starlette.applications import Starlette

from examples import bearer_tokens
from mcp_sessions import DEFAULT_PURGE_INTERVAL, PersistentSessions
from reference_stores import SessionStore

STORES = ("sqlite", "memory", "redis", "dynamodb", "postgres")

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON client reads exactly (JavaScript's ``Number.MAX_SAFE_INTEGER``)."""

Step = Annotated[
    int,
    Field(
        strict=True,  # true is not 1, "2" is not 2
        ge=-MAX_SAFE_INTEGER,
        le=MAX_SAFE_INTEGER,
        description=f"an integer from -{MAX_SAFE_INTEGER} to {MAX_SAFE_INTEGER}",
    ),
]
"""What ``increment`` takes as ``by``: checked before the tool runs, with a clear error."""


def add_to_count(by: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The change ``increment`` makes to a session's state, applied atomically by the store.

    A count that would leave the safe integer range is refused, and nothing changes.
    """

    def change(state: dict[str, Any]) -> dict[str, Any]:
        count = int(state.get("count", 0)) + by
        if abs(count) > MAX_SAFE_INTEGER:
            raise ToolError(
                f"the count would be {count}, outside -{MAX_SAFE_INTEGER}..{MAX_SAFE_INTEGER} "
                "(what every JSON client reads exactly): nothing was changed"
            )
        return {**state, "count": count}

    return change


def build_server(sessions: PersistentSessions, **options: Any) -> MCPServer[Any]:
    """The MCP server: one tool that counts calls per session, its state in ``sessions``."""
    mcp: MCPServer[Any] = MCPServer("counter", **options)

    @mcp.tool()
    async def increment(ctx: Context, by: Step = 1) -> int:
        """Add ``by`` to this session's counter and return the new value."""
        state = await sessions.modify_session_data(ctx, add_to_count(by))
        return int(state["count"])

    return mcp


def build_app(
    store: SessionStore,
    *,
    refresh_interval: float | None = None,
    purge_interval: float | None = DEFAULT_PURGE_INTERVAL,
    max_sessions: int | None = 10_000,
    host: str = "127.0.0.1",
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> Starlette:
    """The ASGI app: the counter server with its sessions kept in ``store``, closed on shutdown."""
    sessions = PersistentSessions(
        store, refresh_interval=refresh_interval, purge_interval=purge_interval
    )
    mcp = build_server(sessions, auth=auth, token_verifier=token_verifier)
    return sessions.streamable_http_app(
        mcp, host=host, max_sessions=max_sessions, lifespan=store_lifespan(store)
    )


def store_lifespan(store: SessionStore) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """An app lifespan that sets the store up (PostgreSQL's table) and closes it on shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        create_schema = getattr(store, "create_schema", None)  # PostgreSQL: idempotent
        if create_schema is not None:
            await create_schema()
        try:
            yield
        finally:
            aclose = getattr(store, "aclose", None)
            if aclose is not None:
                await aclose()

    return lifespan


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
            url=options.redis_url,
            key_prefix=options.key_prefix,
            ttl_seconds=ttl,
            pool_timeout=options.pool_timeout,
            **({} if options.pool_size is None else {"max_connections": options.pool_size}),
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

    return PostgresSessionStore(
        options.database_url,
        ttl_seconds=ttl,
        pool_timeout=options.pool_timeout,
        **({} if options.pool_size is None else {"max_size": options.pool_size}),
    )


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
    parser.add_argument(
        "--purge-interval",
        type=float,
        default=DEFAULT_PURGE_INTERVAL,
        help="seconds between purges of expired sessions, for stores that keep them; "
        f"0 switches it off (default {DEFAULT_PURGE_INTERVAL:g})",
    )
    parser.add_argument("--max-sessions", type=int, default=10_000)
    bearer_tokens.add_token_argument(parser)
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
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        metavar="N",
        help="redis and postgres: connections the store may open; calls beyond them wait "
        "for one (default: 100 for redis, 10 for postgres)",
    )
    parser.add_argument(
        "--pool-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="redis and postgres: how long a call waits for a free connection before it "
        "fails (default 5)",
    )
    return parser


def serve(
    options: argparse.Namespace,
    *,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> None:
    """Run the server until interrupted (Ctrl-C or SIGTERM).

    ``--token``s turn bearer-token auth on, unless ``token_verifier`` is given.
    """
    tokens = bearer_tokens.static_tokens(options) if token_verifier is None else None
    if tokens is not None:
        auth = tokens.auth_settings(bearer_tokens.base_url(options.host, options.port))
        token_verifier = tokens
    app = build_app(
        make_store(options),
        refresh_interval=options.refresh_interval,
        purge_interval=options.purge_interval or None,
        max_sessions=options.max_sessions,
        host=options.host,
        auth=auth,
        token_verifier=token_verifier,
    )
    print(
        f"counter server on http://{options.host}:{options.port}/mcp, sessions in {options.store}",
        flush=True,
    )
    if tokens is not None:
        print(tokens.describe(), flush=True)
    if options.store == "memory":
        print(
            "note: --store memory keeps sessions in this process only: they end when it stops "
            "(the default, --store sqlite, keeps them across restarts)",
            flush=True,
        )
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning")


def check_store_options(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    """Name the missing option by its flag, before a store's constructor names its parameter."""
    if options.store == "postgres" and not (options.database_url or os.environ.get("DATABASE_URL")):
        parser.error(
            "--store postgres needs --database-url URL (or $DATABASE_URL), for example "
            "--database-url postgresql://postgres@127.0.0.1:5432/postgres"
        )
    if options.store == "dynamodb" and not (
        options.dynamodb_table or os.environ.get("DYNAMODB_TABLE_NAME")
    ):
        parser.error("--store dynamodb needs --dynamodb-table NAME (or $DYNAMODB_TABLE_NAME)")
    if options.pool_size is not None and options.pool_size < 1:
        parser.error(f"--pool-size must be at least 1, not {options.pool_size}")
    if not options.pool_timeout > 0:
        parser.error(
            f"--pool-timeout must be a positive number of seconds, not {options.pool_timeout}"
        )


class OneLineErrors(logging.Formatter):
    """Log an exception as one line (its type, message and causes), not a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        error = record.exc_info[1] if record.exc_info else None
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        seen: list[BaseException] = []
        while error is not None and error not in seen and len(seen) < 4:
            seen.append(error)
            text = str(error).strip().splitlines()
            line += f": {type(error).__name__}" + (f": {text[0]}" if text else "")
            error = error.__cause__ or error.__context__
        return line


def main(argv: Sequence[str] | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineErrors("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    parser = argument_parser()
    options = parser.parse_args(argv)
    check_store_options(parser, options)
    try:
        serve(options)
    except (ValueError, TypeError, ImportError, OSError) as error:
        raise SystemExit(f"error: cannot start with --store {options.store}: {error}") from None


if __name__ == "__main__":
    main()
