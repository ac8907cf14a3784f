"""The user-facing object: sessions of an MCP server kept in a store, and the tools' state in them."""

from __future__ import annotations

import inspect
import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

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
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http import EventStore
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
from ._log_ids import log_id
from ._manager import (
    StoreBackedSessionManager,
    checked_session_id,
    resolve_read_ahead,
    resolve_refresh_interval,
    take_request_read,
)
from ._purge import DEFAULT_PURGE_INTERVAL, resolve_purge_interval
from ._record import APP_KEY
from ._state_size import DEFAULT_MAX_STATE_BYTES, resolve_max_state_bytes, state_size_problem
from ._store_busy import store_busy_as_tool_error
from ._turns import Turns
from .handles import RevisionsUnsupportedError

__all__ = [
    "DEFAULT_MODIFY_ATTEMPTS",
    "PersistentSessionsBase",
    "SessionNotStoredError",
    "SessionStateTooLargeError",
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


class SessionStateTooLargeError(ToolError, ValueError):
    """The tools' new state is over ``max_state_bytes``; nothing was written.

    A ``ToolError``, so the tool call returns this message as a tool error.
    """


class TooManyConflictsError(RevisionConflictError):
    """Every attempt of ``modify_session_data`` met a concurrent write; nothing was changed."""

    def __init__(self, message: str, current_revision: int | None, attempts: int) -> None:
        super().__init__(message, current_revision)
        self.attempts = attempts


def session_id_of(ctx: AnyContext) -> str:
    """The id of the stateful session a tool call belongs to.

    The id comes with the request, from the session manager, once it checked
    that the caller owns the session and that the store still has it; no
    header is read here. Raises ``HandshakeSessionRequiredError`` (a
    ``ToolError`` and a ``LookupError``) for any other request: one without a
    session, one the manager did not serve, and every request of the
    2026-07-28 protocol, whatever headers it carries.
    """
    session_id = checked_session_id()
    if session_id is None:
        if isinstance(ctx, ServerRequestContext):
            request_context: Any = ctx
        else:  # MCPServer's Context, FastMCP's Context (None outside a request)
            request_context = ctx.request_context
        raise HandshakeSessionRequiredError(getattr(request_context, "protocol_version", None))
    return session_id


class PersistentSessionsBase:
    """:class:`PersistentSessions` with the official SDK alone: the state helpers and the SDK's app.

    The session layer the framework adapters build on (FastMCP's, in
    ``_fastmcp``); users build :class:`PersistentSessions`, which adds them.
    """

    def __init__(
        self,
        store: SessionStore,
        *,
        refresh_interval: float | None = None,
        purge_interval: float | None = DEFAULT_PURGE_INTERVAL,
        read_ahead: bool = True,
        max_state_bytes: int | None = DEFAULT_MAX_STATE_BYTES,
    ) -> None:
        self.store = store
        self.max_state_bytes = resolve_max_state_bytes(max_state_bytes)
        self.refresh_interval = resolve_refresh_interval(store, refresh_interval)
        self.purge_interval = resolve_purge_interval(purge_interval)
        self.read_ahead = resolve_read_ahead(read_ahead)
        self._session_manager: StoreBackedSessionManager | None = None
        self._modify_turns = Turns()

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
        with store_busy_as_tool_error():
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
        written = dict(data)
        self._check_size(written)
        with store_busy_as_tool_error():
            stored = await self.store.get_session(session_id)
            if stored is None:
                raise _not_stored(session_id)
            await self.store.update_session(session_id, {"data": {**stored.data, APP_KEY: written}})

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
        if self._modify_turns.queued(session_id):
            request_read = None
        async with self._modify_turns.turn(session_id):
            with store_busy_as_tool_error():
                return await self._modify(session_id, fn, attempts, request_read)

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
                    f"session {log_id(session_id)} without one"
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
            self._check_size(written)
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
                        f"session {log_id(session_id)}: every one of {attempts} attempts met a "
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

    def _check_size(self, state: dict[str, Any]) -> None:
        problem = state_size_problem(state, self.max_state_bytes)
        if problem is not None:
            raise SessionStateTooLargeError(f"{problem} (max_state_bytes): nothing was changed")

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


def _not_stored(session_id: str) -> SessionNotStoredError:
    return SessionNotStoredError(
        f"session {log_id(session_id)} is not in the store (expired, deleted or never recorded)"
    )
