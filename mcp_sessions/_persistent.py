"""The user-facing object: :class:`PersistentSessions`, the session layer with every framework adapter.

The session layer (``_sessions``: the tools' state and the SDK's own app) knows
no framework beyond the official SDK; each adapter (``_fastmcp``) builds on it,
and this class puts them together under one name.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.streamable_http import EventStore
from mcp.server.streamable_http_manager import DEFAULT_MAX_SESSIONS
from starlette.applications import Starlette

from ._fastmcp import build_fastmcp_app
from ._sessions import PersistentSessionsBase

if TYPE_CHECKING:
    from fastmcp import FastMCP
    from fastmcp.server.http import StarletteWithLifespan

__all__ = ["PersistentSessions"]


class PersistentSessions(PersistentSessionsBase):
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

    ``max_state_bytes``: the largest state the tools may keep per session, in
    bytes of compact UTF-8 JSON (default 1 MiB; None: no cap). A write over it
    raises :class:`SessionStateTooLargeError` (a tool error) and changes nothing.
    """

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
