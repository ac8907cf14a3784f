"""What a stored session holds: the part kept for restoration and the tools' own part."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp_types import InitializeRequestParams
from pydantic import ValidationError

__all__ = ["APP_KEY", "RECORD_FORMAT", "RESTORE_KEY", "RestoreRecord"]

logger = logging.getLogger(__name__)

RESTORE_KEY = "mcp"
"""The key of ``data`` reserved for what restoration needs; tools never see or write it."""

APP_KEY = "app"
"""The key of ``data`` holding the tools' per-session state."""

RECORD_FORMAT = 1
"""Version of the layout under ``data["mcp"]``; a record of another version is not restored."""

_OWNER_KEYS = ("client_id", "issuer", "subject")


@dataclass(frozen=True, slots=True)
class RestoreRecord:
    """What the handshake settled, enough to bring the session back in another process."""

    protocol_version: str
    client_params: InitializeRequestParams
    owner: AuthorizationContext | None
    """The credential that opened the session (the SDK's own identity triple); None without auth."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "protocol_version": self.protocol_version,
            "client_params": self.client_params.model_dump(
                mode="json", by_alias=True, exclude_none=True
            ),
            "owner": None if self.owner is None else dict(self.owner),
        }

    @classmethod
    def from_session_data(cls, session_id: str, data: Mapping[str, Any]) -> RestoreRecord | None:
        """The record kept in a session's data, or None (logged) when it is missing or unreadable."""
        raw = data.get(RESTORE_KEY)
        if not isinstance(raw, Mapping):
            logger.warning(
                "Session %s is in the store but has no %r record (not opened through "
                "this integration): not restored",
                session_id[:64],
                RESTORE_KEY,
            )
            return None
        try:
            if raw.get("format") != RECORD_FORMAT:
                raise ValueError(f"record format {raw.get('format')!r}, expected {RECORD_FORMAT}")
            version = raw["protocol_version"]
            if not isinstance(version, str):
                raise TypeError("protocol_version is not a str")
            params = InitializeRequestParams.model_validate(raw["client_params"], by_name=False)
            owner = _owner_from_json(raw.get("owner"))
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            logger.warning(
                "Session %s has an unreadable %r record (%s): not restored",
                session_id[:64],
                RESTORE_KEY,
                error,
            )
            return None
        return cls(protocol_version=version, client_params=params, owner=owner)


def _owner_from_json(raw: object) -> AuthorizationContext | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != set(_OWNER_KEYS):
        raise ValueError("owner is not a {client_id, issuer, subject} object")
    client_id, issuer, subject = (raw[key] for key in _OWNER_KEYS)
    if not isinstance(client_id, str):
        raise TypeError("owner.client_id is not a str")
    for value in (issuer, subject):
        if value is not None and not isinstance(value, str):
            raise TypeError("owner.issuer/subject is neither a str nor null")
    return AuthorizationContext(client_id=client_id, issuer=issuer, subject=subject)
