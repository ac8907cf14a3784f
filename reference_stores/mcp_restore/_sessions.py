"""The user-facing object: sessions of an MCP server kept in a store, and the tools' state in them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import OAuthAuthorizationServerProvider, TokenVerifier
from mcp.server.auth.routes import (
    build_resource_metadata_url,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, EventStore
from mcp.server.streamable_http_manager import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_IDLE_TIMEOUT,
    StreamableHTTPASGIApp,
)
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import BaseRoute, Route

from ..interface import SessionStore
from ._manager import StoreBackedSessionManager, resolve_refresh_interval
from ._record import APP_KEY

__all__ = ["PersistentSessions", "SessionNotStoredError", "session_id_of"]

AnyContext = Context[Any, Any] | ServerRequestContext[Any, Any]
"""What a tool or handler receives: ``MCPServer``'s ``Context`` or the low-level request context."""

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class SessionNotStoredError(LookupError):
    """The session has no stored state to update: expired, deleted, or never recorded."""


def session_id_of(ctx: AnyContext) -> str:
    """The id of the stateful session a tool call belongs to."""
    request_context = ctx.request_context if isinstance(ctx, Context) else ctx
    headers = getattr(request_context.request, "headers", None)
    session_id = headers.get(MCP_SESSION_ID_HEADER) if headers is not None else None
    if not session_id:
        raise LookupError(
            "this request belongs to no session: session state exists only for requests "
            "of a stateful streamable-HTTP session (handshake protocol)"
        )
    return str(session_id)


class PersistentSessions:
    """Sessions of an MCP server kept in ``store``, so they survive restarts; and the tools' state.

    Build the ASGI app with :meth:`streamable_http_app` (instead of the
    server's own ``streamable_http_app()``, which cannot take a store). Tools
    read and replace their per-session state with :meth:`get_session_data`
    and :meth:`update_session_data`; it lives in the same stored session
    (``data["app"]``), apart from what restoration keeps (``data["mcp"]``).

    ``refresh_interval``: a session's TTL is refreshed by its requests at most
    once per this many seconds (default: a tenth of ``store.ttl_seconds``, at
    most 60 s). A session thus lives while it gets a request at least every
    ``ttl_seconds - refresh_interval`` seconds.
    """

    def __init__(self, store: SessionStore, *, refresh_interval: float | None = None) -> None:
        self.store = store
        self.refresh_interval = resolve_refresh_interval(store, refresh_interval)
        self._session_manager: StoreBackedSessionManager | None = None

    @property
    def session_manager(self) -> StoreBackedSessionManager:
        """The session manager of the app last built by :meth:`streamable_http_app`."""
        if self._session_manager is None:
            raise RuntimeError("no app has been built yet: call streamable_http_app() first")
        return self._session_manager

    async def get_session_data(self, ctx: AnyContext) -> dict[str, Any]:
        """This session's application state (a copy); ``{}`` before anything was stored."""
        stored = await self.store.get_session(session_id_of(ctx))
        if stored is None:
            return {}
        state = stored.data.get(APP_KEY)
        return state if isinstance(state, dict) else {}

    async def update_session_data(self, ctx: AnyContext, data: Mapping[str, Any]) -> None:
        """Replace this session's application state with ``data`` (a JSON object).

        Read and replace, as LeanMCP's ``updateSessionData``: two concurrent
        calls in one session may overwrite each other's changes.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"session data must be a mapping, not {type(data).__name__}")
        session_id = session_id_of(ctx)
        stored = await self.store.get_session(session_id)
        if stored is None:
            raise SessionNotStoredError(
                f"session {session_id[:64]!r} is not in the store (expired, deleted or never recorded)"
            )
        await self.store.update_session(session_id, {"data": {**stored.data, APP_KEY: dict(data)}})

    def streamable_http_app(
        self,
        server: MCPServer[Any] | Server[Any],
        *,
        streamable_http_path: str = "/mcp",
        json_response: bool = False,
        event_store: EventStore | None = None,
        retry_interval: int | None = None,
        max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
        session_idle_timeout: float | None = DEFAULT_SESSION_IDLE_TIMEOUT,
        max_sessions: int | None = DEFAULT_MAX_SESSIONS,
        transport_security: TransportSecuritySettings | None = None,
        host: str = "127.0.0.1",
        auth: AuthSettings | None = None,
        token_verifier: TokenVerifier | None = None,
        debug: bool = False,
        lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    ) -> Starlette:
        """The Starlette app serving ``server`` over streamable HTTP, as the SDK's own builder does.

        Same options and defaults as ``MCPServer.streamable_http_app()`` (no
        stateless mode: it has no sessions). For an ``MCPServer`` its auth
        settings, token verifier, OAuth routes and custom routes are used; for
        a low-level ``Server`` pass ``auth`` and ``token_verifier``.

        ``lifespan``: an app lifespan of your own, entered before the session
        manager starts and left after it stops (e.g. to close the store).
        """
        lowlevel: Server[Any]
        provider: OAuthAuthorizationServerProvider[Any, Any, Any] | None = None
        custom_routes: list[BaseRoute] = []
        if isinstance(server, MCPServer):
            lowlevel = server._lowlevel_server
            auth = auth if auth is not None else server.settings.auth
            token_verifier = (
                token_verifier if token_verifier is not None else server._token_verifier
            )
            provider = server._auth_server_provider
            custom_routes = list(server._custom_starlette_routes)
        else:
            lowlevel = server
        if auth is None and token_verifier is not None:
            raise ValueError("a token_verifier needs auth settings (auth=AuthSettings(...))")
        if transport_security is None and host in _LOOPBACK_HOSTS:
            # The SDK's default for a loopback host: DNS rebinding protection on.
            transport_security = TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
            )
        manager = StoreBackedSessionManager(
            lowlevel,
            self.store,
            refresh_interval=self.refresh_interval,
            event_store=event_store,
            json_response=json_response,
            security_settings=transport_security,
            retry_interval=retry_interval,
            session_idle_timeout=session_idle_timeout,
            max_request_body_size=max_request_body_size,
            max_sessions=max_sessions,
        )
        self._session_manager = manager
        endpoint = StreamableHTTPASGIApp(manager)

        routes: list[BaseRoute] = []
        middleware: list[Middleware] = []
        if auth is not None and token_verifier is not None:
            middleware = [
                Middleware(
                    AuthenticationMiddleware,
                    backend=BearerAuthBackend(
                        token_verifier,
                        resource_server_url=(
                            auth.resource_server_url if auth.validate_token_resource else None
                        ),
                    ),
                ),
                Middleware(AuthContextMiddleware),
            ]
        if auth is not None and provider is not None:
            routes.extend(
                create_auth_routes(
                    provider=provider,
                    issuer_url=auth.issuer_url,
                    service_documentation_url=auth.service_documentation_url,
                    client_registration_options=auth.client_registration_options,
                    revocation_options=auth.revocation_options,
                    identity_assertion_enabled=auth.identity_assertion_enabled,
                )
            )
        if auth is not None and token_verifier is not None:
            metadata_url = (
                build_resource_metadata_url(auth.resource_server_url)
                if auth.resource_server_url
                else None
            )
            routes.append(
                Route(
                    streamable_http_path,
                    endpoint=RequireAuthMiddleware(
                        endpoint, auth.required_scopes or [], metadata_url
                    ),
                )
            )
        else:
            routes.append(Route(streamable_http_path, endpoint=endpoint))
        if auth is not None and auth.resource_server_url:
            routes.extend(
                create_protected_resource_routes(
                    resource_url=auth.resource_server_url,
                    authorization_servers=[auth.issuer_url],
                    scopes_supported=auth.required_scopes,
                )
            )
        routes.extend(custom_routes)

        @asynccontextmanager
        async def app_lifespan(app: Starlette) -> AsyncIterator[None]:
            if lifespan is None:
                async with manager.run():
                    yield
            else:
                async with lifespan(app), manager.run():
                    yield

        return Starlette(debug=debug, routes=routes, middleware=middleware, lifespan=app_lifespan)
