"""An MCP server whose baskets live behind state handles, served to both protocol eras.

    python -m examples.basket_server                       # SQLite file mcp_sessions.sqlite3
    python -m examples.basket_server --store redis         # $REDIS_URL or redis://127.0.0.1:6379/0
    python -m examples.basket_server --store memory        # lost on restart, for comparison
    python -m examples.basket_server --token alice=SECRET  # bearer-token auth: baskets are alice's

Serves http://127.0.0.1:8000/mcp (streamable HTTP). ``create_basket`` mints a
``basket_id``; ``add_item``, ``view_basket`` and ``close_basket`` take it as an
argument. A 2026-07-28 client (no sessions) and a handshake-era client use the
same tools; the baskets survive a restart and are shared by every instance on
the same store. Takes the same options as ``examples.counter_server``. Try it
with ``python -m examples.basket_client``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, TypedDict

import uvicorn
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from starlette.applications import Starlette

from examples import bearer_tokens, counter_server
from mcp_sessions import DEFAULT_PURGE_INTERVAL, PersistentSessions, StateHandles
from reference_stores import SessionStore

MAX_ITEMS = 1000
MAX_ITEM_LENGTH = 200
"""Characters in one item: with ``MAX_ITEMS`` a basket stays under 1 MiB of JSON, the handles' cap."""

Item = Annotated[str, Field(min_length=1, max_length=MAX_ITEM_LENGTH)]


class BasketId(TypedDict):
    basket_id: str


class Items(TypedDict):
    items: list[str]


class Closed(TypedDict):
    closed: bool


def build_server(baskets: StateHandles, **options: Any) -> MCPServer[Any]:
    """The MCP server: four tools over baskets, their state behind handles in ``baskets``."""
    mcp: MCPServer[Any] = MCPServer("basket", **options)

    @mcp.tool()
    async def create_basket(ctx: Context) -> BasketId:
        """Create an empty basket; pass its basket_id to the other tools."""
        return {"basket_id": await baskets.create(ctx, {"items": []})}

    @mcp.tool()
    async def add_item(ctx: Context, basket_id: str, item: Item) -> Items:
        """Add ``item`` to the basket; returns every item in it."""

        def add(state: dict[str, Any]) -> dict[str, Any]:
            items = list(state.get("items", []))
            if len(items) >= MAX_ITEMS:
                raise ValueError(f"a basket holds at most {MAX_ITEMS} items")
            return {**state, "items": [*items, item]}

        try:
            state = await baskets.modify(ctx, basket_id, add)
        except ValueError as error:
            raise ToolError(str(error)) from None
        return {"items": list(state["items"])}

    @mcp.tool()
    async def view_basket(ctx: Context, basket_id: str) -> Items:
        """The items in the basket."""
        state = await baskets.read(ctx, basket_id)
        return {"items": list(state.get("items", []))}

    @mcp.tool()
    async def close_basket(ctx: Context, basket_id: str) -> Closed:
        """Close the basket: its basket_id is unknown from then on."""
        await baskets.close(ctx, basket_id)
        return {"closed": True}

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
    """The ASGI app: baskets in ``store``, and handshake-era sessions kept there too."""
    baskets = StateHandles(store, "basket", refresh_interval=refresh_interval)
    mcp = build_server(baskets, auth=auth, token_verifier=token_verifier)
    # The tools need no session; keeping the handshake-era sessions in the store
    # lets those clients, too, carry on across restarts and instances.
    # Its background purge frees expired baskets too, in stores that keep them.
    sessions = PersistentSessions(
        store, refresh_interval=refresh_interval, purge_interval=purge_interval
    )

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


def argument_parser() -> argparse.ArgumentParser:
    """The counter server's options, with this example's name and its own Redis key prefix."""
    parser = counter_server.argument_parser()
    parser.prog = "python -m examples.basket_server"
    parser.description = __doc__.split("\n\n")[0] if __doc__ else None
    parser.set_defaults(key_prefix="basket-example:session:")
    return parser


def serve(
    options: argparse.Namespace,
    *,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
    store: SessionStore | None = None,
) -> None:
    """Run the server until interrupted (Ctrl-C or SIGTERM); ``store``: instead of the options'.

    ``--token``s turn bearer-token auth on, unless ``token_verifier`` is given.
    """
    if store is None:
        store = counter_server.make_store(options)
    if getattr(store, "supports_revisions", False) is not True:
        raise SystemExit(
            f"--store {options.store}: {type(store).__name__} keeps no revisions, and add_item "
            "needs them to change a basket atomically (StateHandles.modify)"
        )
    tokens = bearer_tokens.static_tokens(options) if token_verifier is None else None
    if tokens is not None:
        auth = tokens.auth_settings(bearer_tokens.base_url(options.host, options.port))
        token_verifier = tokens
    app = build_app(
        store,
        refresh_interval=options.refresh_interval,
        purge_interval=options.purge_interval or None,
        max_sessions=options.max_sessions,
        host=options.host,
        auth=auth,
        token_verifier=token_verifier,
    )
    print(
        f"basket server on http://{options.host}:{options.port}/mcp, baskets in {options.store}",
        flush=True,
    )
    if tokens is not None:
        print(tokens.describe(), flush=True)
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argument_parser()
    options = parser.parse_args(argv)
    counter_server.check_store_options(parser, options)
    serve(options)


if __name__ == "__main__":
    main()
