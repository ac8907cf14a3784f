"""A store whose connections are all busy, as a tool's caller should read it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError

from reference_stores.errors import StoreBusyError

__all__ = ["SessionStoreBusyError", "store_busy_as_tool_error"]


class SessionStoreBusyError(ToolError):
    """The store's connections stayed busy past its pool timeout; nothing was changed.

    A ``ToolError``, so the model reads why the call failed and that it may try
    again, instead of the SDK's bare "Error executing tool". ``__cause__`` is
    the store's ``StoreBusyError``.
    """


@contextmanager
def store_busy_as_tool_error() -> Iterator[None]:
    """Turn a ``StoreBusyError`` raised in the block into a ``SessionStoreBusyError``."""
    try:
        yield
    except StoreBusyError as error:
        raise SessionStoreBusyError(
            "the session store is busy (every connection in use): nothing was changed; "
            "try again in a moment"
        ) from error
