"""The user-facing object: sessions of an MCP server kept in a store, and the tools' state in them."""

from __future__ import annotations

import inspect
import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio
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

from reference_stores.errors import RevisionConflictError
from reference_stores.interface import SessionData, SessionStore

from ._eras import HandshakeSessionRequiredError
from ._manager import (
    StoreBackedSessionManager,
    resolve_read_ahead,
    resolve_refresh_interval,
    take_request_read,
)
from ._purge import DEFAULT_PURGE_INTERVAL, resolve_purge_interval
from ._record import APP_KEY
from .handles import RevisionsUnsupportedError

if TYPE_CHECKING:
    from fastmcp import FastMCP
    from fastmcp.server.http import StarletteWithLifespan

__all__ = [
    "DEFAULT_MODIFY_ATTEMPTS",
    "PersistentSessions",
    "SessionNotStoredError",
    "TooManyConflictsError",
    "session_id_of",
]


class _HasRequestContext(Protocol):
    """A tool's context with the SDK's request context in it (``MCPServer`` and FastMCP)."""

    @property
    def request_context(self) -> Any: ...


AnyContext = ServerRequestContext[Any, Any] | Context[Any, Any] | _HasRequestContext
"""What a tool or handler receives: ``MCPServer``'s or FastMCP's ``Context``, or the low-level
request context."""

DEFAULT_MODIFY_ATTEMPTS = 16
"""How many times :meth:`PersistentSessions.modify_session_data` tries before giving up."""

_BACKOFF_FIRST = 0.005
_BACKOFF_CAP = 0.25

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class SessionNotStoredError(LookupError):
    """The session has no stored state to update: expired, deleted, or never recorded."""


class TooManyConflictsError(RevisionConflictError):
    """Every attempt of ``modify_session_data`` met a concurrent write; nothing was changed."""

    def __init__(self, message: str, current_revision: int | None, attempts: int) -> None:
        super().__init__(message, current_revision)
        self.attempts = attempts


def session_id_of(ctx: AnyContext) -> str:
    """The id of the stateful session a tool call belongs to.

    Raises ``HandshakeSessionRequiredError`` (a ``ToolError`` and a ``LookupError``)
    for a request without one, such as any request of the 2026-07-28 protocol.
    """
    if isinstance(ctx, ServerRequestContext):
        request_context: Any = ctx
    else:  # MCPServer's Context, FastMCP's Context (None outside a request)
        request_context = ctx.request_context
    headers = getattr(getattr(request_context, "request", None), "headers", None)
    session_id = headers.get(MCP_SESSION_ID_HEADER) if headers is not None else None
    if not session_id:
        raise HandshakeSessionRequiredError(getattr(request_context, "protocol_version", None))
    return str(session_id)


class PersistentSessions:
    """Sessions of an MCP server kept in ``store``, so they survive restarts; and the tools' state.

    Build the ASGI app with :meth:`streamable_http_app` (instead of the
    server's own ``streamable_http_app()``, which cannot take a store), or
    :meth:`fastmcp_http_app` for a FastMCP server. Tools change their
    per-session state atomically with :meth:`modify_session_data`, or read it
    with :meth:`get_session_data` and replace it with
    :meth:`update_session_data` (last writer wins); it lives in the same
    stored session (``data["app"]``), apart from what restoration keeps
    (``data["mcp"]``).

    ``refresh_interval``: a session's TTL is refreshed by its requests at most
    once per this many seconds (default: a tenth of ``store.ttl_seconds``, at
    most 60 s). A session thus lives while it gets a request at least every
    ``ttl_seconds - refresh_interval`` seconds.

    ``purge_interval``: while the app runs, a store with ``purge_expired()``
    gets it called every this many seconds (default 300); None switches it off.

    ``read_ahead``: every request first checks that the store still has its
    session. For a POST the check reads the whole session (``get_session``), and
    the request's first :meth:`modify_session_data` starts from that read: a
    tool call that changes the state costs 2 store calls. False makes the check
    ``session_exists``, which does not carry the session's data: for sessions
    so large that reading them on every request costs more than the extra read
    in each :meth:`modify_session_data` (3 store calls).
    """

    def __init__(
        self,
        store: SessionStore,
        *,
        refresh_interval: float | None = None,
        purge_interval: float | None = DEFAULT_PURGE_INTERVAL,
        read_ahead: bool = True,
    ) -> None:
        self.store = store
        self.refresh_interval = resolve_refresh_interval(store, refresh_interval)
        self.purge_interval = resolve_purge_interval(purge_interval)
        self.read_ahead = resolve_read_ahead(read_ahead)
        self._session_manager: StoreBackedSessionManager | None = None
        self._modify_turns: dict[str, _Turn] = {}

    @property
    def session_manager(self) -> StoreBackedSessionManager:
        """The session manager of the app last built (and, for FastMCP, started)."""
        if self._session_manager is None:
            raise RuntimeError("no app has been built yet: call streamable_http_app() first")
        return self._session_manager

    def _new_session_manager(
        self, lowlevel: Server[Any], **options: Any
    ) -> StoreBackedSessionManager:
        """A manager on this object's store and intervals; the one ``session_manager`` names."""
        manager = StoreBackedSessionManager(
            lowlevel,
            self.store,
            refresh_interval=self.refresh_interval,
            purge_interval=self.purge_interval,
            read_ahead=self.read_ahead,
            **options,
        )
        self._session_manager = manager
        return manager

    async def get_session_data(self, ctx: AnyContext) -> dict[str, Any]:
        """This session's application state (a copy); ``{}`` before anything was stored."""
        stored = await self.store.get_session(session_id_of(ctx))
        if stored is None:
            return {}
        state = stored.data.get(APP_KEY)
        return state if isinstance(state, dict) else {}

    async def update_session_data(self, ctx: AnyContext, data: Mapping[str, Any]) -> None:
        """Replace this session's application state with ``data`` (a JSON object): last writer wins.

        Read, then replace, as LeanMCP's ``updateSessionData``: of two
        concurrent calls for one session, on this process or any other, the
        later write wins and the earlier change is lost. To change the state
        from what it was (a counter, a list), use :meth:`modify_session_data`.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"session data must be a mapping, not {type(data).__name__}")
        session_id = session_id_of(ctx)
        stored = await self.store.get_session(session_id)
        if stored is None:
            raise _not_stored(session_id)
        await self.store.update_session(session_id, {"data": {**stored.data, APP_KEY: dict(data)}})

    async def modify_session_data(
        self,
        ctx: AnyContext,
        fn: Callable[[dict[str, Any]], Mapping[str, Any]],
        *,
        attempts: int = DEFAULT_MODIFY_ATTEMPTS,
    ) -> dict[str, Any]:
        """Change this session's state atomically: ``fn(state)`` returns the new state.

        Reads the state, applies ``fn`` (a plain function, given a copy) and
        writes the result only if no other write reached the session meanwhile
        (``expected_revision``), from this process or any other. When one did,
        it reads and applies ``fn`` again, after a short random pause that
        grows with each attempt, at most ``attempts`` times in all; then
        raises :class:`TooManyConflictsError`, having changed nothing. So
        ``fn`` may run more than once and should only compute the new state.
        Returns the state written. Calls for one session in one process take
        turns (an in-process lock), so conflicts come only from other
        processes' writes.

        In a tool call, the first try starts from the session as the request's
        store check read it (no read of its own); if a write landed since, it
        reads again at once, and that costs none of the ``attempts``.

        Needs a store that keeps revisions (``supports_revisions = True``):
        with any other it raises :class:`RevisionsUnsupportedError` and
        changes nothing. :class:`SessionNotStoredError` when the session is no
        longer stored.
        """
        if getattr(self.store, "supports_revisions", False) is not True:
            raise RevisionsUnsupportedError(
                f"modify_session_data needs a store that keeps revisions "
                f"(supports_revisions = True: update_session(..., expected_revision=...)); "
                f"{type(self.store).__name__} does not. Use a store with revisions, or "
                f"update_session_data, where the last writer wins"
            )
        if not callable(fn):
            raise TypeError(f"fn must be a function of the state, not {type(fn).__name__}")
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"attempts must be a positive int, not {attempts!r}")
        session_id = session_id_of(ctx)
        # Calls for one session in this process take turns, so they do not make each
        # other retry; only writers in other processes can still conflict.
        # The request's own read of the session is a free first try, unless another
        # call of this process is ahead in line: its write will have made the read stale.
        request_read = take_request_read(self.store, session_id)
        turn = self._modify_turns.get(session_id)
        if turn is None:
            turn = self._modify_turns[session_id] = _Turn()
        else:
            request_read = None
        turn.waiting += 1
        try:
            async with turn.lock:
                return await self._modify(session_id, fn, attempts, request_read)
        finally:
            turn.waiting -= 1
            if turn.waiting == 0:
                del self._modify_turns[session_id]

    async def _modify(
        self,
        session_id: str,
        fn: Callable[[dict[str, Any]], Mapping[str, Any]],
        attempts: int,
        request_read: SessionData | None,
    ) -> dict[str, Any]:
        conditional_update = self.store.update_session
        attempt = 0
        while True:
            stored: SessionData | None
            if request_read is not None:
                stored, request_read = request_read, None
                read_now = False
            else:
                stored = await self.store.get_session(session_id)
                attempt += 1
                read_now = True
            if stored is None:
                raise _not_stored(session_id)
            if stored.revision is None:
                raise RevisionsUnsupportedError(
                    f"{type(self.store).__name__} says it keeps revisions, but returned "
                    f"session {session_id[:64]!r} without one"
                )
            state = stored.data.get(APP_KEY)
            new_state = fn(state if isinstance(state, dict) else {})
            if inspect.isawaitable(new_state):
                if inspect.iscoroutine(new_state):
                    new_state.close()
                raise TypeError(
                    "fn must return the new state, not an awaitable: it may run several "
                    "times, so compute anything slow before modify_session_data"
                )
            if not isinstance(new_state, Mapping):
                raise TypeError(
                    f"fn must return the new state as a mapping, not {type(new_state).__name__}"
                )
            written = dict(new_state)
            try:
                await conditional_update(  # type: ignore[call-arg]
                    session_id,
                    {"data": {**stored.data, APP_KEY: written}},
                    expected_revision=stored.revision,
                )
            except RevisionConflictError as conflict:
                if conflict.current_revision is None:
                    raise _not_stored(session_id) from conflict
                if not read_now:
                    continue  # a write landed since the request's read: read again, at once
                if attempt == attempts:
                    raise TooManyConflictsError(
                        f"session {session_id[:64]!r}: every one of {attempts} attempts met a "
                        f"concurrent write (now at revision {conflict.current_revision}); "
                        f"nothing was changed",
                        conflict.current_revision,
                        attempts,
                    ) from conflict
                # Full jitter: concurrent writers spread out instead of colliding again.
                await anyio.sleep(
                    random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_FIRST * 2 ** (attempt - 1)))
                )
                continue
            return written

    def fastmcp_http_app(
        self,
        server: FastMCP[Any],
        *,
        path: str | None = None,
        middleware: list[Any] | None = None,
        json_response: bool | None = None,
        event_store: EventStore | None = None,
        retry_interval: int | None = None,
        host_origin_protection: bool | Literal["auto"] | None = None,
        allowed_hosts: list[str] | None = None,
        allowed_origins: list[str] | None = None,
        session_idle_timeout: float | Literal["auto"] | None = None,
        max_sessions: int | None = DEFAULT_MAX_SESSIONS,
        lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    ) -> StarletteWithLifespan:
        """A FastMCP server's streamable-HTTP app, as ``server.http_app()`` builds it, sessions in the store.

        Needs the ``[fastmcp]`` extra (FastMCP 4.1). Same options and defaults
        as ``FastMCP.http_app()`` (no stateless mode, no SSE transport); its
        auth, routes and middleware are FastMCP's own. ``max_sessions`` and
        ``lifespan`` as for :meth:`streamable_http_app`. The session manager
        is created when the app starts (as FastMCP does), and is then
        :attr:`session_manager`.
        """
        from ._fastmcp import build_fastmcp_app

        return build_fastmcp_app(
            self,
            server,
            path=path,
            middleware=middleware,
            json_response=json_response,
            event_store=event_store,
            retry_interval=retry_interval,
            host_origin_protection=host_origin_protection,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
            session_idle_timeout=session_idle_timeout,
            max_sessions=max_sessions,
            lifespan=lifespan,
        )

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
        manager = self._new_session_manager(
            lowlevel,
            event_store=event_store,
            json_response=json_response,
            security_settings=transport_security,
            retry_interval=retry_interval,
            session_idle_timeout=session_idle_timeout,
            max_request_body_size=max_request_body_size,
            max_sessions=max_sessions,
        )
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


class _Turn:
    """The lock that calls of ``modify_session_data`` for one session queue on, and how many do."""

    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.waiting = 0


def _not_stored(session_id: str) -> SessionNotStoredError:
    return SessionNotStoredError(
        f"session {session_id[:64]!r} is not in the store (expired, deleted or never recorded)"
    )
