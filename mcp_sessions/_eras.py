"""What a tool of the handshake era says to a request of the sessionless era."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

__all__ = ["HandshakeSessionRequiredError"]


class HandshakeSessionRequiredError(ToolError, LookupError):
    """The tool keeps its state in a handshake-era session, and this request has none.

    A ``ToolError``, so an ``MCPServer`` tool that reaches for session state in a
    2026-07-28 request returns a tool error the model can read, instead of
    "Error executing tool"; a ``LookupError``, as before, for code that catches that.
    """

    def __init__(self, protocol_version: str | None) -> None:
        era = f"protocol {protocol_version}" if protocol_version else "this request"
        super().__init__(
            "this tool needs a session of the MCP handshake protocol (2025-11-25 or earlier, "
            f"with Mcp-Session-Id), and {era} has no sessions: connect with a handshake-era "
            "client, or use a tool that takes a state handle"
        )
        self.protocol_version = protocol_version
