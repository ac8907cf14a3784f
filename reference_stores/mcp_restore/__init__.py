"""Stateful MCP servers that survive a restart: the official Python SDK's sessions kept in a store.

Needs the ``[mcp]`` extra (``pip install 'mcp-session-store-kit[mcp]'``)::

    from mcp.server.mcpserver import Context, MCPServer
    from reference_stores.sqlite import SQLiteSessionStore
    from reference_stores.mcp_restore import PersistentSessions

    sessions = PersistentSessions(SQLiteSessionStore("sessions.sqlite3", ttl_seconds=3600))
    mcp = MCPServer("counter")

    @mcp.tool()
    async def increment(ctx: Context) -> int:
        state = await sessions.get_session_data(ctx)
        count = state.get("count", 0) + 1
        await sessions.update_session_data(ctx, {**state, "count": count})
        return count

    app = sessions.streamable_http_app(mcp)   # serve with uvicorn

See docs/mcp-restore.md for the design and what it relies on in the SDK.
"""

from __future__ import annotations

try:
    import mcp  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "reference_stores.mcp_restore needs the MCP SDK: pip install 'mcp-session-store-kit[mcp]'"
    ) from error

from ._manager import DEFAULT_REFRESH_INTERVAL, StoreBackedSessionManager
from ._record import APP_KEY, RECORD_FORMAT, RESTORE_KEY, RestoreRecord
from ._sdk_check import (
    TESTED_SDK_VERSIONS,
    SDKCompatibilityError,
    check_sdk_compatibility,
    installed_sdk_version,
)
from ._sessions import PersistentSessions, SessionNotStoredError, session_id_of

__all__ = [
    "APP_KEY",
    "DEFAULT_REFRESH_INTERVAL",
    "RECORD_FORMAT",
    "RESTORE_KEY",
    "TESTED_SDK_VERSIONS",
    "PersistentSessions",
    "RestoreRecord",
    "SDKCompatibilityError",
    "SessionNotStoredError",
    "StoreBackedSessionManager",
    "check_sdk_compatibility",
    "installed_sdk_version",
    "session_id_of",
]
