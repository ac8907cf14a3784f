"""The SDK's streamable-HTTP session manager, with every session also kept in a SessionStore.

One piece because it is one subclass of the SDK's manager: the request path (check,
restore, refresh, delete), the hooks it overrides and the handshake recorder share the
manager's maps of held sessions and owners, and each step assumes the others' order.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import anyio
from anyio.abc import TaskStatus
from mcp.server.auth.middleware.bearer_auth import (
    AuthenticatedUser,
    AuthorizationContext,
    authorization_context,
)
from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.runner import serve_connection
from mcp.server.streamable_http import (
    MCP_SESSION_ID_HEADER,
    EventStore,
    StreamableHTTPServerTransport,
)
from mcp.server.streamable_http_manager import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_IDLE_TIMEOUT,
    StreamableHTTPSessionManager,
)
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp.shared.transport_context import TransportContext
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    ErrorData,
    InitializeRequestParams,
    JSONRPCError,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from reference_stores.errors import InvalidSessionIdError
from reference_stores.interface import SessionData, SessionStore
from reference_stores.validation import validate_session_id

from ._log_ids import hide_sdk_session_ids, log_id
from ._purge import (
    DEFAULT_PURGE_INTERVAL,
    purge_expired_periodically,
    purger_of,
    resolve_purge_interval,
)
from ._record import (
    APP_KEY,
    MAX_RESTORE_RECORD_BYTES,
    RESTORE_KEY,
    RestoreRecord,
    kept_client_params,
)
from ._sdk_check import SDKCompatibilityError, check_sdk_compatibility

__all__ = [
    "DEFAULT_REFRESH_INTERVAL",
    "StoreBackedSessionManager",
    "checked_session_id",
    "resolve_read_ahead",
    "resolve_refresh_interval",
    "take_request_read",
]

logger = logging.getLogger(__name__)

DEFAULT_REFRESH_INTERVAL = 60.0
"""Seconds between TTL refreshes of one session, at most; shorter when the store's TTL is short."""

# Set while the manager serves the request that opens a new session: the
# handshake recorder (a server middleware) learns the new session's id from it.
# The SDK hands each message to the server in the sending request's context.
_OPENING_SESSION: ContextVar[tuple[StoreBackedSessionManager, str] | None] = ContextVar(
    "mcp_sessions_opening_session", default=None
)


class _CheckedRequest:
    """A request that passed the owner and existence checks: its session, and what the check read.

    Set by the manager only once both checks passed, and shared by every copy of
    the request's context: the session id a tool acts on comes from here, never
    from a header. ``session`` is the session as stored when the request
    arrived (None when the check did not read it), spent by its first taker.
    """

    __slots__ = ("session", "session_id", "store")

    def __init__(self, store: SessionStore, session_id: str, session: SessionData | None) -> None:
        self.store = store
        self.session_id = session_id
        self.session = session


# Set while the manager serves a request of a session it checked; unset for any other
# request, a 2026-07-28 one above all, whatever headers it carries.
_CHECKED_REQUEST: ContextVar[_CheckedRequest | None] = ContextVar(
    "mcp_sessions_checked_request", default=None
)


def checked_session_id() -> str | None:
    """The session the current request belongs to, once the manager checked its owner and
    that the store has it; None for any other request (no session, 2026-07-28, refused)."""
    checked = _CHECKED_REQUEST.get()
    return None if checked is None else checked.session_id


def take_request_read(store: SessionStore, session_id: str) -> SessionData | None:
    """The session as the current request's check read it from ``store``; once, then None.

    Only a write conditional on its revision may use it: the store then proves it
    is still current. None outside such a request, or once taken.
    """
    checked = _CHECKED_REQUEST.get()
    if checked is None or checked.store is not store or checked.session_id != session_id:
        return None
    session, checked.session = checked.session, None
    return session


def resolve_read_ahead(read_ahead: bool) -> bool:
    """``read_ahead`` checked: True or False, never a truthy stand-in."""
    if not isinstance(read_ahead, bool):
        raise TypeError(f"read_ahead must be True or False, not {read_ahead!r}")
    return read_ahead


def resolve_refresh_interval(store: SessionStore, refresh_interval: float | None) -> float:
    """The refresh interval to use: given, or a tenth of the store's TTL (at most 60 s).

    It must be shorter than the store's TTL (``store.ttl_seconds`` when the
    store has one), or an active session could expire between refreshes.
    """
    ttl = getattr(store, "ttl_seconds", None)
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
        ttl = None
    if refresh_interval is None:
        return DEFAULT_REFRESH_INTERVAL if ttl is None else min(DEFAULT_REFRESH_INTERVAL, ttl / 10)
    if isinstance(refresh_interval, bool) or not isinstance(refresh_interval, (int, float)):
        raise TypeError(f"refresh_interval must be a number, not {type(refresh_interval).__name__}")
    if not (math.isfinite(refresh_interval) and refresh_interval > 0):
        raise ValueError(f"refresh_interval must be positive and finite, not {refresh_interval!r}")
    if ttl is not None and refresh_interval >= ttl:
        raise ValueError(
            f"refresh_interval ({refresh_interval} s) must be shorter than the store's "
            f"ttl_seconds ({ttl} s), or active sessions would expire between refreshes"
        )
    return float(refresh_interval)


class StoreBackedSessionManager(StreamableHTTPSessionManager):
    """``StreamableHTTPSessionManager`` whose sessions survive restarts, kept in a ``SessionStore``.

    - The opening ``initialize`` records the protocol version, the client's
      parameters and capabilities and the credential that opened the session
      in the store (``data["mcp"]``; ``data["app"]`` is the tools' part). If
      the store cannot take it, the handshake fails: the session would not
      survive a restart.
    - A request for an id this process does not hold, but the store does,
      brings the session back under that id, already initialized, and is
      served. Unknown or expired ids, and a credential other than the one that
      opened the session, get the SDK's own 404. ``max_sessions`` counts
      restored sessions too.
    - Every request for a session this process holds first asks the store
      whether it still has it (one store call): a session deleted through
      another process, or expired, ends here too, and the request gets the
      SDK's 404. For a POST that call is a ``get_session``, whose result the
      request's first ``modify_session_data`` starts from (its conditional
      write proves it current); other requests use ``session_exists``. With
      ``read_ahead=False`` a POST asks ``session_exists`` too: for sessions
      too large to read on every request, at the cost of a read in each
      ``modify_session_data``. The TTL is refreshed (a touch) at most once
      per ``refresh_interval`` per session, by requests and by an open GET
      stream.
    - A store with ``purge_expired()`` gets it called every ``purge_interval``
      seconds while the manager runs (None: never).
    - Only the client's DELETE removes the stored session: the store is
      updated before the 200 goes out. Shutdown, idle eviction
      (``session_idle_timeout``) and crashes only drop the in-process part.

    Stateless mode has no sessions to keep, so it is refused.
    """

    def __init__(
        self,
        app: Server[Any],
        store: SessionStore,
        *,
        refresh_interval: float | None = None,
        purge_interval: float | None = DEFAULT_PURGE_INTERVAL,
        event_store: EventStore | None = None,
        json_response: bool = False,
        security_settings: TransportSecuritySettings | None = None,
        retry_interval: int | None = None,
        session_idle_timeout: float | None = DEFAULT_SESSION_IDLE_TIMEOUT,
        max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
        max_sessions: int | None = DEFAULT_MAX_SESSIONS,
        read_ahead: bool = True,
    ) -> None:
        read_ahead = resolve_read_ahead(read_ahead)
        problems = check_sdk_compatibility()
        if problems:
            raise SDKCompatibilityError(problems)
        super().__init__(
            app,
            event_store=event_store,
            json_response=json_response,
            stateless=False,
            security_settings=security_settings,
            retry_interval=retry_interval,
            session_idle_timeout=session_idle_timeout,
            max_request_body_size=max_request_body_size,
            max_sessions=max_sessions,
        )
        self.store = store
        self.refresh_interval = resolve_refresh_interval(store, refresh_interval)
        self.purge_interval = resolve_purge_interval(purge_interval)
        self.read_ahead = read_ahead
        self._security = TransportSecurityMiddleware(security_settings)
        # The clock of refresh intervals (never the store's); a test may swap it.
        self.monotonic: Callable[[], float] = time.monotonic
        # Sessions of this process that are in the store -> monotonic time of their
        # last TTL refresh. A held session missing here was never recorded.
        self._refreshed_at: dict[str, float] = {}
        # Sessions being restored -> set when done; other requests for them wait.
        self._restoring: dict[str, anyio.Event] = {}
        install_handshake_recorder(app)
        hide_sdk_session_ids()

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """The SDK's ``run()``, plus the store's ``purge_expired()`` every ``purge_interval``."""
        async with super().run():
            purge = purger_of(self.store)
            task_group = self._task_group
            if self.purge_interval is not None and purge is not None and task_group is not None:
                task_group.start_soon(purge_expired_periodically, purge, self.purge_interval)
            yield

    # -- the request path ------------------------------------------------------------

    async def _handle_stateful_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = Headers(scope=scope).get(MCP_SESSION_ID_HEADER)
        if session_id is None:
            # A new session: recorded by the handshake recorder during `initialize`.
            await super()._handle_stateful_request(scope, receive, send)
            return
        # Checked before the store is touched, as the transport would check it.
        request = Request(scope, receive)
        refusal = await self._security.validate_request(request, is_post=request.method == "POST")
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        # Set below only once this request's checks pass: never left by an earlier request.
        token = _CHECKED_REQUEST.set(None)
        try:
            if not await self._prepare_session(session_id, _requestor(scope), scope, receive, send):
                return
            method = scope.get("method")
            if method == "DELETE":
                send = self._send_after_deleting(session_id, scope, receive, send)
            if method == "GET" and session_id in self._refreshed_at:
                await self._serve_keeping_alive(session_id, scope, receive, send)
            else:
                await super()._handle_stateful_request(scope, receive, send)
        finally:
            _CHECKED_REQUEST.reset(token)

    async def _prepare_session(
        self,
        session_id: str,
        requestor: AuthorizationContext | None,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> bool:
        """Restore or refresh the session; False when this already answered the request.

        The request's session counts as checked (``checked_session_id``) only where
        both its owner and its presence in the store were confirmed; everywhere
        else the SDK answers its own 404 and no tool runs.
        """
        transport = self._server_instances.get(session_id)
        if transport is not None and _is_ending(transport):
            # Its idle timeout fired and it is winding down: the store still has
            # it, so let it go now and serve the request from a restored one.
            await self._discard_session(session_id, transport)
            transport = None
        if transport is None:
            return await self._restore(session_id, requestor, scope, receive, send)
        if requestor != self._session_owners.get(session_id):
            return True  # the SDK answers its own 404, as for a session it does not hold
        return await self._confirm_held(session_id, transport, scope, receive, send)

    async def _restore(
        self,
        session_id: str,
        requestor: AuthorizationContext | None,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> bool:
        """Bring a stored session back; when there is none the SDK answers its 404."""
        try:
            validate_session_id(session_id)
        except InvalidSessionIdError:
            return True
        try:
            stored = await self.store.get_session(session_id)
        except Exception:
            logger.exception("Could not read session %s from the store", log_id(session_id))
            await _store_unavailable(scope, receive, send)
            return False
        if stored is None:
            return True
        record = RestoreRecord.from_session_data(session_id, stored.data)
        if record is None:
            return True
        if record.owner != requestor:
            logger.warning(
                "Not restoring session %s: credential does not match the one that created it",
                log_id(session_id),
            )
            return True
        # Owner and store both confirmed: whichever request ends up restoring the
        # session, this one is served by it (or answered 404 if that fails).
        _CHECKED_REQUEST.set(_CheckedRequest(self.store, session_id, None))
        at_limit = False
        async with self._session_creation_lock:
            if session_id in self._server_instances:
                return True  # a concurrent request restored it meanwhile
            underway = self._restoring.get(session_id)
            if underway is None:
                open_sessions = len(self._server_instances) + len(self._restoring)
                at_limit = self.max_sessions is not None and open_sessions >= self.max_sessions
                if not at_limit:
                    self._restoring[session_id] = restored = anyio.Event()
        if at_limit:
            logger.warning(
                "Not restoring session %s: %s sessions are already open",
                log_id(session_id),
                self.max_sessions,
            )
            await _json_error("Too many open sessions", 503)(scope, receive, send)
            return False
        if underway is not None:
            # Served once the other request's restore is done (or 404 if it failed).
            await underway.wait()
            return True
        transport = StreamableHTTPServerTransport(
            mcp_session_id=session_id,
            is_json_response_enabled=self.json_response,
            event_store=self.event_store,
            security_settings=self.security_settings,
            retry_interval=self.retry_interval,
            idle_timeout=self.session_idle_timeout,
        )
        try:
            task_group = self._task_group
            if task_group is None:
                raise RuntimeError("the session manager is not running")
            await task_group.start(self._serve_restored, session_id, transport, record)
            # Visible to requests only now that its server task is running.
            if record.owner is not None:
                self._session_owners[session_id] = record.owner
            self._server_instances[session_id] = transport
        except BaseException:
            await self._discard_session(session_id, transport)
            raise
        finally:
            del self._restoring[session_id]
            restored.set()
        logger.info("Restored session %s from the store", log_id(session_id))
        self._refreshed_at[session_id] = -math.inf
        await self._touch(session_id)
        return True

    async def _serve_restored(
        self,
        session_id: str,
        transport: StreamableHTTPServerTransport,
        record: RestoreRecord,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """The restored session's server task: as the SDK runs a new one, but born initialized."""
        async with transport.connect() as (read_stream, write_stream):
            task_status.started()
            try:
                idle_scope = transport.idle_scope
                if idle_scope is None:
                    idle_scope = anyio.CancelScope()
                with idle_scope:
                    dispatcher: JSONRPCDispatcher[TransportContext] = JSONRPCDispatcher(
                        read_stream, write_stream, inline_methods=frozenset({"initialize"})
                    )
                    connection = Connection.for_loop(
                        dispatcher,
                        session_id=session_id,
                        protocol_version_hint=record.protocol_version,
                    )
                    connection.client_params = record.client_params
                    connection.initialized.set()
                    await serve_connection(
                        self.app,
                        dispatcher,
                        connection=connection,
                        lifespan_state=self._lifespan_state,
                    )
                if idle_scope.cancelled_caught:
                    logger.info("Restored session %s idle timeout", log_id(session_id))
            except Exception:
                logger.exception("Restored session %s crashed", log_id(session_id))
            finally:
                # As for any session: this process forgets it, the store keeps it.
                await self._discard_session(session_id, transport)

    async def _confirm_held(
        self,
        session_id: str,
        transport: StreamableHTTPServerTransport,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> bool:
        """Serve a held session only while the store has it; refresh its TTL when due.

        Another process may have deleted the session, or it may have expired:
        one store call per request finds out, and the session then ends here
        too (the request gets the SDK's 404). A POST, which may call a tool,
        reads the session (``get_session``) and leaves the read to the tool's
        first conditional write, unless ``read_ahead`` is off; any other request
        asks ``session_exists``.
        Once per ``refresh_interval`` a touch (``update_session(id, {})``) goes
        before it. False when this already answered the request.
        """
        read_ahead = self.read_ahead and scope.get("method") == "POST"
        stored: SessionData | None = None
        last = self._refreshed_at.get(session_id)
        now = self.monotonic()
        due = last is not None and now - last >= self.refresh_interval
        if due:
            self._refreshed_at[session_id] = now  # concurrent requests do not refresh again
        try:
            if due:
                await self.store.update_session(session_id, {})
            if read_ahead:
                stored = await self.store.get_session(session_id)
                alive = stored is not None
            else:
                alive = await self.store.session_exists(session_id)
        except Exception:
            logger.exception("Could not check session %s in the store", log_id(session_id))
            if due and last is not None and session_id in self._refreshed_at:
                self._refreshed_at[session_id] = last  # the next request refreshes instead
            await _store_unavailable(scope, receive, send)
            return False
        if not alive:
            logger.info(
                "Session %s is no longer in the store (expired or deleted): ending it",
                log_id(session_id),
            )
            await self._discard_session(session_id, transport)
        else:
            _CHECKED_REQUEST.set(_CheckedRequest(self.store, session_id, stored))
        return True

    async def _touch(self, session_id: str) -> None:
        try:
            await self.store.update_session(session_id, {})
        except Exception:
            logger.warning(
                "Could not refresh session %s in the store", log_id(session_id), exc_info=True
            )
            return
        if session_id in self._refreshed_at:
            self._refreshed_at[session_id] = self.monotonic()

    async def _serve_keeping_alive(
        self, session_id: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Serve a GET stream; while it is open the session counts as active."""

        async def keep_alive() -> None:
            while True:
                await anyio.sleep(self.refresh_interval)
                if session_id not in self._refreshed_at:
                    return
                await self._touch(session_id)
                try:
                    alive = await self.store.session_exists(session_id)
                except Exception:
                    logger.warning(
                        "Could not check session %s in the store", log_id(session_id), exc_info=True
                    )
                    continue
                transport = self._server_instances.get(session_id)
                if not alive and transport is not None:
                    logger.info(
                        "Session %s is no longer in the store (expired or deleted): ending it",
                        log_id(session_id),
                    )
                    await self._discard_session(session_id, transport)  # ends this stream
                    return

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(keep_alive)
            try:
                await super()._handle_stateful_request(scope, receive, send)
            finally:
                task_group.cancel_scope.cancel()

    def _send_after_deleting(
        self, session_id: str, scope: Scope, receive: Receive, send: Send
    ) -> Send:
        """``send`` that removes the stored session before the DELETE's 200 goes out."""
        replaced = False

        async def send_after_deleting(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start" and message["status"] == 200:
                try:
                    await self.store.delete_session(session_id)
                except Exception:
                    logger.exception(
                        "Could not delete session %s from the store", log_id(session_id)
                    )
                    replaced = True
                    await _store_unavailable(scope, receive, send)
                    return
                self._refreshed_at.pop(session_id, None)
            await send(message)

        return send_after_deleting

    # -- the SDK's hooks -------------------------------------------------------------

    async def _serve_opening_request(
        self,
        http_transport: StreamableHTTPServerTransport,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        session_id = http_transport.mcp_session_id
        if session_id is None:  # the SDK always gives a stateful session an id
            raise RuntimeError("a new stateful session has no id")
        token = _OPENING_SESSION.set((self, session_id))
        try:
            await super()._serve_opening_request(http_transport, scope, receive, send)
        finally:
            _OPENING_SESSION.reset(token)

    async def _discard_session(
        self, session_id: str, transport: StreamableHTTPServerTransport
    ) -> None:
        if self._server_instances.get(session_id, transport) is not transport:
            # The id was restored into a newer transport after this one ended:
            # stop this one, keep the newer one registered.
            if not transport.is_terminated:
                with anyio.CancelScope(shield=True):
                    await transport.terminate()
            return
        self._refreshed_at.pop(session_id, None)
        await super()._discard_session(session_id, transport)

    def _handshake_to_record(
        self, session_id: str, params: Mapping[str, Any] | None
    ) -> InitializeRequestParams | None:
        """What the opening ``initialize`` will record, checked against the cap before it runs.

        None when there is nothing to record: a repeated initialize, or parameters
        the SDK itself refuses. Over ``MAX_RESTORE_RECORD_BYTES``: an ``MCPError``,
        so the SDK never initializes the session and nothing is stored.
        """
        if session_id in self._refreshed_at:
            return None  # recorded already (a repeated initialize)
        client_params = kept_client_params(params)
        if client_params is None:
            return None
        size = RestoreRecord(
            protocol_version=LATEST_HANDSHAKE_VERSION,
            client_params=client_params,
            owner=self._session_owners.get(session_id),
        ).size()
        if size > MAX_RESTORE_RECORD_BYTES:
            raise MCPError(
                code=INVALID_PARAMS,
                message=(
                    f"initialize: the client's capabilities and clientInfo take {size:,} bytes; "
                    f"this server keeps at most {MAX_RESTORE_RECORD_BYTES:,} for a session"
                ),
            )
        return client_params

    async def _record_handshake(
        self, session_id: str, client_params: InitializeRequestParams, result: HandlerResult
    ) -> None:
        """Store what a restored session needs, as the opening ``initialize`` succeeds."""
        record = RestoreRecord(
            protocol_version=_negotiated_version(client_params, result),
            client_params=client_params,
            owner=self._session_owners.get(session_id),
        )
        try:
            await self.store.create_session(
                session_id, {RESTORE_KEY: record.to_json(), APP_KEY: {}}
            )
        except Exception as error:
            logger.exception("Could not record new session %s in the store", log_id(session_id))
            raise MCPError(
                code=INTERNAL_ERROR,
                message="Session store unavailable: cannot open a session that survives restarts",
            ) from error
        self._refreshed_at[session_id] = self.monotonic()


class _HandshakeRecorder:
    """Server middleware: records a new session in the store once its ``initialize`` succeeds.

    ``initialize`` runs inline (the session reads no further message until it
    returns), so the record exists before any later request of the session.
    """

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        opening = _OPENING_SESSION.get()
        if ctx.method != "initialize" or ctx.request_id is None or opening is None:
            return await call_next(ctx)
        manager, session_id = opening
        client_params = manager._handshake_to_record(session_id, ctx.params)
        result = await call_next(ctx)
        if client_params is not None:
            await manager._record_handshake(session_id, client_params, result)
        return result


def install_handshake_recorder(server: Server[Any]) -> None:
    """Add the recorder to ``server.middleware`` (innermost) unless it is there already."""
    if not any(isinstance(middleware, _HandshakeRecorder) for middleware in server.middleware):
        server.middleware.append(_HandshakeRecorder())


def _negotiated_version(client_params: InitializeRequestParams, result: HandlerResult) -> str:
    if isinstance(result, Mapping):
        version = result.get("protocolVersion")
    elif isinstance(result, BaseModel):
        version = getattr(result, "protocol_version", None)
    else:
        version = None
    if isinstance(version, str):
        return version
    # The SDK's own rule, for a result shaped by some other middleware.
    requested = client_params.protocol_version
    return requested if requested in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION


def _requestor(scope: Scope) -> AuthorizationContext | None:
    user = scope.get("user")
    return authorization_context(user) if isinstance(user, AuthenticatedUser) else None


def _is_ending(transport: StreamableHTTPServerTransport) -> bool:
    # Only the idle timeout: a transport terminated by a DELETE is left to the SDK's 404.
    idle_scope = transport.idle_scope
    return idle_scope is not None and idle_scope.cancel_called


def _json_error(message: str, status_code: int) -> Response:
    body = JSONRPCError(
        jsonrpc="2.0", id=None, error=ErrorData(code=INTERNAL_ERROR, message=message)
    )
    return Response(
        body.model_dump_json(by_alias=True, exclude_unset=True),
        status_code=status_code,
        media_type="application/json",
        # Both 503s pass (a store back, a session closed): the request may be sent again.
        headers={"Retry-After": "1"} if status_code == 503 else None,
    )


async def _store_unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    await _json_error("Session store unavailable", 503)(scope, receive, send)
