"""A FastMCP server's HTTP app, with its sessions kept in a store (the ``[fastmcp]`` extra).

FastMCP 4 builds its streamable-HTTP app on the SDK's session manager: its app's
lifespan creates a ``StreamableHTTPSessionManager`` subclass and hands it to the
MCP endpoint. This module builds the app with FastMCP's own ``http_app()``
(routes, auth, middleware, host and origin checks all as FastMCP makes them)
and gives it a lifespan that hands the endpoint a ``StoreBackedSessionManager``
instead, with the settings FastMCP would have used.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.streamable_http import EventStore
from mcp.server.streamable_http_manager import DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import Route

from ._sessions import PersistentSessionsBase

if TYPE_CHECKING:
    from fastmcp import FastMCP
    from fastmcp.server.http import StarletteWithLifespan

__all__ = ["TESTED_FASTMCP_VERSIONS", "build_fastmcp_app"]

TESTED_FASTMCP_VERSIONS = "4.1"
"""The ``fastmcp`` minor versions this is tested on (the ``[fastmcp]`` extra pins them)."""


def _import_fastmcp() -> Any:
    try:
        import fastmcp
        from fastmcp.server import http as fastmcp_http
    except ImportError as error:
        raise ImportError(
            "fastmcp_http_app needs FastMCP: pip install 'mcp-session-store-kit[fastmcp]'"
        ) from error
    version = importlib.metadata.version("fastmcp")
    if not version.startswith(f"{TESTED_FASTMCP_VERSIONS}."):
        raise RuntimeError(
            f"fastmcp {version} is installed; session restoration is tested on fastmcp "
            f"{TESTED_FASTMCP_VERSIONS}.x (the [fastmcp] extra pins it)"
        )
    for name in ("StreamableHTTPASGIApp", "StarletteWithLifespan"):
        if not hasattr(fastmcp_http, name):
            raise RuntimeError(f"fastmcp {version}: fastmcp.server.http.{name} is gone")
    return fastmcp


def build_fastmcp_app(
    sessions: PersistentSessionsBase,
    server: FastMCP[Any],
    *,
    path: str | None,
    middleware: list[Any] | None,
    json_response: bool | None,
    event_store: EventStore | None,
    retry_interval: int | None,
    host_origin_protection: bool | Literal["auto"] | None,
    allowed_hosts: list[str] | None,
    allowed_origins: list[str] | None,
    session_idle_timeout: float | Literal["auto"] | None,
    max_sessions: int | None = DEFAULT_MAX_SESSIONS,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None,
) -> StarletteWithLifespan:
    fastmcp = _import_fastmcp()
    from fastmcp.server.http import StreamableHTTPASGIApp

    app: StarletteWithLifespan = server.http_app(
        path=path,
        middleware=middleware,
        json_response=json_response,
        stateless_http=False,
        transport="http",
        event_store=event_store,
        retry_interval=retry_interval,
        host_origin_protection=host_origin_protection,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        session_idle_timeout=session_idle_timeout,
    )
    endpoint_path = app.state.path
    endpoints = [
        endpoint
        for route in app.routes
        if isinstance(route, Route) and route.path == endpoint_path
        for endpoint in (route.endpoint, getattr(route.endpoint, "app", None))
        if isinstance(endpoint, StreamableHTTPASGIApp)
    ]
    if len(endpoints) != 1:
        raise RuntimeError(
            f"fastmcp {importlib.metadata.version('fastmcp')}: the app has no MCP endpoint "
            f"at {endpoint_path!r} where FastMCP 4.1 puts it"
        )
    (endpoint,) = endpoints
    # As FastMCP's own lifespan resolves them.
    settings = fastmcp.settings
    if json_response is None:
        json_response = bool(settings.json_response)
    if session_idle_timeout is None:
        session_idle_timeout = settings.http_session_idle_timeout
    idle_timeout = (
        DEFAULT_SESSION_IDLE_TIMEOUT if session_idle_timeout == "auto" else session_idle_timeout
    )
    lowlevel = server._mcp_server

    @asynccontextmanager
    async def store_backed_lifespan(starlette_app: Starlette) -> AsyncIterator[None]:
        manager = sessions._new_session_manager(
            lowlevel,
            event_store=event_store,
            json_response=json_response,
            # FastMCP checks hosts and origins in its own middleware.
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            retry_interval=retry_interval,
            session_idle_timeout=idle_timeout,
            max_sessions=max_sessions,
        )
        endpoint.session_manager = manager
        async with AsyncExitStack() as stack:
            if lifespan is not None:
                await stack.enter_async_context(lifespan(starlette_app))
            await stack.enter_async_context(manager.run())
            try:
                yield
            finally:
                # As FastMCP does: end open streams before the task group is cancelled.
                # This drops the sessions from the process only; the store keeps them.
                for transport in list(manager._server_instances.values()):
                    await transport.terminate()

    app.router.lifespan_context = store_backed_lifespan
    return app
