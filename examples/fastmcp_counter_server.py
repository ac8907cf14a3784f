"""The counter server of ``examples/counter_server.py``, written with FastMCP: it survives a restart too.

    python -m examples.fastmcp_counter_server                  # SQLite file mcp_sessions.sqlite3
    python -m examples.fastmcp_counter_server --store redis    # $REDIS_URL or redis://127.0.0.1:6379/0
    python -m examples.fastmcp_counter_server --token alice=SECRET  # bearer-token auth (FastMCP's)

Needs the ``[fastmcp]`` extra. Same flags, same ``increment`` tool, same
store layout as the SDK version: the two servers can even take turns on one
store. Serves http://127.0.0.1:8000/mcp (streamable HTTP).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastmcp import Context, FastMCP
from fastmcp.server.auth import AccessToken, AuthProvider, TokenVerifier
from starlette.applications import Starlette

from examples import bearer_tokens
from examples.counter_server import (
    Step,
    add_to_count,
    argument_parser,
    check_store_options,
    make_store,
    store_lifespan,
)
from mcp_sessions import DEFAULT_PURGE_INTERVAL, PersistentSessions
from reference_stores import SessionStore


class FastMCPTokens(TokenVerifier):
    """FastMCP's token verifier over the ``--token``s: ``bearer_tokens.StaticTokens`` checks them."""

    def __init__(self, tokens: bearer_tokens.StaticTokens) -> None:
        # No base_url: no OAuth metadata routes, as in the SDK examples
        # (bearer_tokens.StaticTokens.auth_settings says why).
        super().__init__()
        self.tokens = tokens

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = self.tokens.principal_of(token)
        if principal is None:
            return None
        return AccessToken(token=token, client_id=principal, scopes=[], subject=principal)


def build_server(sessions: PersistentSessions, auth: AuthProvider | None = None) -> FastMCP[Any]:
    """The FastMCP server: one tool that counts calls per session, its state in ``sessions``."""
    mcp: FastMCP[Any] = FastMCP("counter", auth=auth)

    @mcp.tool
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
    auth: AuthProvider | None = None,
) -> Starlette:
    """The ASGI app: FastMCP's own HTTP app, its sessions kept in ``store``, closed on shutdown."""
    sessions = PersistentSessions(
        store, refresh_interval=refresh_interval, purge_interval=purge_interval
    )
    return sessions.fastmcp_http_app(
        build_server(sessions, auth),
        host_origin_protection="auto",
        max_sessions=max_sessions,
        lifespan=store_lifespan(store),
    )


def serve(options: argparse.Namespace) -> None:
    """Run the server until interrupted (Ctrl-C or SIGTERM); ``--token``s turn auth on."""
    tokens = bearer_tokens.static_tokens(options)
    app = build_app(
        make_store(options),
        refresh_interval=options.refresh_interval,
        purge_interval=options.purge_interval or None,
        max_sessions=options.max_sessions,
        auth=None if tokens is None else FastMCPTokens(tokens),
    )
    print(
        f"FastMCP counter server on http://{options.host}:{options.port}/mcp, "
        f"sessions in {options.store}",
        flush=True,
    )
    if tokens is not None:
        print(tokens.describe(), flush=True)
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argument_parser()
    parser.prog = "python -m examples.fastmcp_counter_server"
    parser.description = __doc__.split("\n\n")[0] if __doc__ else None
    options = parser.parse_args(argv)
    check_store_options(parser, options)
    serve(options)


if __name__ == "__main__":
    main()
