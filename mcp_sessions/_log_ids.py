"""Credentials in logs: a session id or a state handle is logged only as a short digest.

A session id is a bearer credential where there is no auth, and a handle always
is one: whoever reads the log could use it. ``log_id`` is what the kit logs
instead. The SDK's streamable-HTTP manager and transport log session ids
themselves (as text, at INFO); ``hide_sdk_session_ids`` puts a filter on
those two loggers that replaces each id with its digest.
"""

from __future__ import annotations

import hashlib
import logging
import re

__all__ = ["hide_sdk_session_ids", "log_id"]

SDK_LOGGERS = ("mcp.server.streamable_http_manager", "mcp.server.streamable_http")
"""The SDK's loggers whose messages name session ids (mcp 2.3)."""

# How those messages name an id: "... session ID: <id>", "Session <id> idle timeout",
# "Session <id> crashed", "Terminating session: <id>".
_SDK_ID = re.compile(
    r"(?<=session ID: )\S+|(?<=Session )\S+(?= idle timeout| crashed)|(?<=Terminating session: )\S+"
)


def log_id(secret: str) -> str:
    """What a log says instead of ``secret``: ``#`` and 12 hex digits of its SHA-256.

    The same secret always gives the same text, so an operator can follow one
    session through a log without the log holding anything a caller could use.
    """
    return "#" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class _SDKSessionIdFilter(logging.Filter):
    """Rewrites an SDK record's session id into its ``log_id``; drops no record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = _SDK_ID.sub(lambda match: log_id(match.group(0)), message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


_FILTER = _SDKSessionIdFilter()


def hide_sdk_session_ids() -> None:
    """Put the filter on the SDK's loggers, once (idempotent)."""
    for name in SDK_LOGGERS:
        sdk_logger = logging.getLogger(name)
        if _FILTER not in sdk_logger.filters:
            sdk_logger.addFilter(_FILTER)
