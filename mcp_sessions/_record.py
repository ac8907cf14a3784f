"""What a stored session holds: the part kept for restoration and the tools' own part."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp_types import InitializeRequestParams
from pydantic import ValidationError

from ._log_ids import log_id

__all__ = [
    "APP_KEY",
    "MAX_RESTORE_RECORD_BYTES",
    "RECORD_FORMAT",
    "RESTORE_KEY",
    "RestoreRecord",
    "kept_client_params",
]

logger = logging.getLogger(__name__)

RESTORE_KEY = "mcp"
"""The key of ``data`` reserved for what restoration needs; tools never see or write it."""

APP_KEY = "app"
"""The key of ``data`` holding the tools' per-session state."""

RECORD_FORMAT = 1
"""Version of the layout under ``data["mcp"]``; a record of another version is not restored."""

MAX_RESTORE_RECORD_BYTES = 16 * 1024
"""Largest record ``data["mcp"]`` may hold, in bytes of JSON: an ``initialize`` whose kept
parameters would make it larger is refused (JSON-RPC ``-32602``) and nothing is stored."""

_OWNER_KEYS = ("client_id", "issuer", "subject")


def kept_client_params(params: Mapping[str, Any] | None) -> InitializeRequestParams | None:
    """What restoration keeps of an ``initialize``'s parameters; None when they do not parse.

    The protocol version, the capabilities and the client's description; not the
    request's ``_meta`` nor the client's icons, which a restored session never uses
    and which a client could make as large as the request body allows.
    """
    try:
        parsed = InitializeRequestParams.model_validate(params or {}, by_name=False)
    except ValidationError:
        return None  # the SDK answers the initialize with its own error
    return parsed.model_copy(
        update={"meta": None, "client_info": parsed.client_info.model_copy(update={"icons": None})}
    )


@dataclass(frozen=True, slots=True)
class RestoreRecord:
    """What the handshake settled, enough to bring the session back in another process."""

    protocol_version: str
    client_params: InitializeRequestParams
    owner: AuthorizationContext | None
    """The credential that opened the session (the SDK's own identity triple); None without auth."""

    def size(self) -> int:
        """Bytes of the record as compact JSON, as the cap counts them."""
        text = json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))
        return len(text.encode("utf-8", "surrogatepass"))

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
                log_id(session_id),
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
                log_id(session_id),
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
