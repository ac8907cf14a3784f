"""Stateful MCP servers that survive a restart: the official Python SDK's sessions kept in a store.

Needs the ``[mcp]`` extra (``pip install 'mcp-session-store-kit[mcp]'``)::

    from mcp.server.mcpserver import Context, MCPServer
    from reference_stores.sqlite import SQLiteSessionStore
    from mcp_sessions import PersistentSessions

    sessions = PersistentSessions(SQLiteSessionStore("sessions.sqlite3", ttl_seconds=3600))
    mcp = MCPServer("counter")

    @mcp.tool()
    async def increment(ctx: Context) -> int:
        state = await sessions.modify_session_data(  # atomic: no update is lost
            ctx, lambda state: {**state, "count": state.get("count", 0) + 1}
        )
        return state["count"]

    app = sessions.streamable_http_app(mcp)   # serve with uvicorn

See docs/mcp-sessions.md for the design and what it relies on in the SDK.
"""

from __future__ import annotations

try:
    import mcp  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "mcp_sessions needs the MCP SDK: pip install 'mcp-session-store-kit[mcp]'"
    ) from error

from ._eras import HandshakeSessionRequiredError
from ._manager import DEFAULT_REFRESH_INTERVAL, StoreBackedSessionManager
from ._persistent import PersistentSessions
from ._purge import DEFAULT_PURGE_INTERVAL
from ._record import APP_KEY, MAX_RESTORE_RECORD_BYTES, RECORD_FORMAT, RESTORE_KEY, RestoreRecord
from ._sdk_check import (
    TESTED_SDK_VERSIONS,
    SDKCompatibilityError,
    check_sdk_compatibility,
    installed_sdk_version,
)
from ._sessions import (
    DEFAULT_MODIFY_ATTEMPTS,
    SessionNotStoredError,
    SessionStateTooLargeError,
    TooManyConflictsError,
    session_id_of,
)
from ._state_size import DEFAULT_MAX_STATE_BYTES
from ._store_busy import SessionStoreBusyError
from .handles import (
    HandleBusyError,
    HandleStateTooLargeError,
    RevisionsUnsupportedError,
    StateHandleError,
    StateHandles,
    UnknownHandleError,
    install_handle_error_results,
)

__all__ = [
    "APP_KEY",
    "DEFAULT_MAX_STATE_BYTES",
    "DEFAULT_MODIFY_ATTEMPTS",
    "DEFAULT_PURGE_INTERVAL",
    "DEFAULT_REFRESH_INTERVAL",
    "MAX_RESTORE_RECORD_BYTES",
    "RECORD_FORMAT",
    "RESTORE_KEY",
    "TESTED_SDK_VERSIONS",
    "HandleBusyError",
    "HandleStateTooLargeError",
    "HandshakeSessionRequiredError",
    "PersistentSessions",
    "RestoreRecord",
    "RevisionsUnsupportedError",
    "SDKCompatibilityError",
    "SessionNotStoredError",
    "SessionStateTooLargeError",
    "SessionStoreBusyError",
    "StateHandleError",
    "StateHandles",
    "StoreBackedSessionManager",
    "TooManyConflictsError",
    "UnknownHandleError",
    "check_sdk_compatibility",
    "install_handle_error_results",
    "installed_sdk_version",
    "session_id_of",
]
