"""State handles: explicit, server-minted state for MCP servers of the 2026-07-28 protocol.

The 2026-07-28 protocol has no sessions: a tool that keeps state mints a handle
(``create_basket()`` returns ``basket_...``), and the model passes it to later
calls as a plain argument. :class:`StateHandles` keeps each handle's state in a
``SessionStore``, so any instance of the server serves any handle, in either
protocol era. See docs/state-handles.md.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import anyio
import mcp_types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.request_state import authenticated_principal

from reference_stores.errors import RevisionConflictError, SessionExistsError
from reference_stores.interface import RevisionedSessionStore, SessionData, SessionStore

from ._log_ids import log_id
from ._manager import resolve_refresh_interval
from ._state_size import DEFAULT_MAX_STATE_BYTES, resolve_max_state_bytes, state_size_problem
from ._store_busy import store_busy_as_tool_error
from ._turns import Turns

__all__ = [
    "HANDLE_KEY",
    "HandleBusyError",
    "HandleStateTooLargeError",
    "RevisionsUnsupportedError",
    "StateHandleError",
    "StateHandles",
    "UnknownHandleError",
    "install_handle_error_results",
]

logger = logging.getLogger(__name__)

HANDLE_KEY = "handle"
"""Key of a stored handle's record in the session data: ``{"handle": {...}}``."""

_FORMAT = 1
_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*\Z")
_MAX_NAME_LENGTH = 32
_MIN_ENTROPY_BYTES = 16  # 128 bits
_MAX_ENTROPY_BYTES = 64  # handles stay well under the 256 characters of an id
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\Z")  # secrets.token_urlsafe's alphabet

AnyContext = Context[Any, Any] | ServerRequestContext[Any, Any]
"""What a tool or handler receives: ``MCPServer``'s ``Context`` or the low-level request context."""

Principal = Callable[[ServerRequestContext[Any, Any]], str | None]
"""Who is calling: a string that must match for a handle to be used, or ``None`` (no binding)."""


class StateHandleError(ToolError):
    """A handle cannot be used; its message is written for the model to act on.

    A ``ToolError``: raised from an ``MCPServer`` tool, the call returns an
    ``isError`` result with this message, not a protocol error. For a low-level
    ``Server``, see :func:`install_handle_error_results` and :meth:`tool_result`.
    """

    def tool_result(self) -> mcp_types.CallToolResult:
        """The tool error result a low-level ``on_call_tool`` handler returns for this error."""
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(type="text", text=str(self))], is_error=True
        )


class UnknownHandleError(StateHandleError):
    """The handle is unknown, expired, closed or another principal's: one error for all four.

    Nothing in it tells the cases apart, so a caller learns nothing about
    handles that are not its own.
    """


class HandleStateTooLargeError(StateHandleError, ValueError):
    """The handle's new state is over ``max_state_bytes``; nothing was written."""


class HandleBusyError(StateHandleError):
    """``modify`` lost the race for the handle's revision more times than it may retry."""


class RevisionsUnsupportedError(TypeError):
    """``modify`` (or ``PersistentSessions.modify_session_data``) was called on a store
    without revisions (``supports_revisions``).

    A configuration error, not the model's: without ``expected_revision`` a
    read-apply-write could lose a concurrent change, and there is no fallback.
    """


@dataclass(frozen=True, slots=True)
class _Handle:
    key: str
    state: dict[str, Any]
    revision: int | None
    data: dict[str, Any]


class StateHandles:
    """Handles of one kind (``name``, e.g. ``"basket"``), their state kept in ``store``.

    - :meth:`create` mints a handle, ``basket_`` followed by ``entropy_bytes``
      (at least 16: 128 bits) from ``secrets``, in the id alphabet of SPEC.md,
      and stores its initial state.
    - :meth:`read` returns its state; :meth:`modify` applies a function to it
      atomically (read, apply, write with ``expected_revision``, retried on a
      conflict); :meth:`close` removes it.
    - A handle is bound to the principal that created it (``bind_principal``,
      by default the SDK's ``authenticated_principal``: client id, issuer and
      subject of the access token). Without auth it is ``None``: the handle is
      a bearer capability, usable by whoever holds it.
    - An unknown, malformed, expired, closed or foreign handle raises
      :class:`UnknownHandleError`, always with the same message
      (``unknown_message``, default "unknown or expired basket_id; create a
      new basket").
    - Use keeps a handle alive: the store's TTL restarts on every write, and
      a read refreshes it at most once per ``refresh_interval`` per handle and
      process (default a tenth of ``store.ttl_seconds``, at most 60 s).
    - A state over ``max_state_bytes`` (compact UTF-8 JSON, default 1 MiB;
      None: no cap) is refused by :meth:`create` and :meth:`modify` with
      :class:`HandleStateTooLargeError`, and nothing is written.

    The store holds a handle under a digest of it (``basket:<sha256>``), not
    the handle itself: whoever can read the store cannot use what is in it.
    """

    def __init__(
        self,
        store: SessionStore,
        name: str,
        *,
        refresh_interval: float | None = None,
        bind_principal: Principal | None = authenticated_principal,
        unknown_message: str | None = None,
        entropy_bytes: int = 24,
        max_attempts: int = 20,
        backoff_base: float = 0.005,
        backoff_cap: float = 0.25,
        max_state_bytes: int | None = DEFAULT_MAX_STATE_BYTES,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > _MAX_NAME_LENGTH:
            raise ValueError(
                f"name must be lowercase letters, digits and single underscores, starting with "
                f"a letter, at most {_MAX_NAME_LENGTH} characters: {name!r}"
            )
        if type(entropy_bytes) is not int or not (
            _MIN_ENTROPY_BYTES <= entropy_bytes <= _MAX_ENTROPY_BYTES
        ):
            raise ValueError(
                f"entropy_bytes must be an int from {_MIN_ENTROPY_BYTES} (128 bits) to "
                f"{_MAX_ENTROPY_BYTES}, not {entropy_bytes!r}"
            )
        if type(max_attempts) is not int or max_attempts < 1:
            raise ValueError(f"max_attempts must be an int of at least 1, not {max_attempts!r}")
        for label, value in (("backoff_base", backoff_base), ("backoff_cap", backoff_cap)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{label} must be a number, not {type(value).__name__}")
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{label} must be finite and not negative, not {value!r}")
        self.store = store
        self.name = name
        self.prefix = f"{name}_"
        self.refresh_interval = resolve_refresh_interval(store, refresh_interval)
        self.bind_principal = bind_principal
        self.unknown_message = (
            unknown_message
            if unknown_message is not None
            else f"unknown or expired {name}_id; create a new {name.replace('_', ' ')}"
        )
        self.entropy_bytes = entropy_bytes
        self.max_attempts = max_attempts
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.max_state_bytes = resolve_max_state_bytes(max_state_bytes)
        # The clock of refresh intervals (never the store's); a test may swap it.
        self.monotonic: Callable[[], float] = time.monotonic
        # Handle keys -> monotonic time of their last TTL refresh by this process,
        # oldest first; entries older than the interval are due anyway and dropped.
        self._refreshed_at: OrderedDict[str, float] = OrderedDict()
        self._modify_turns = Turns()

    # -- the tool author's operations -----------------------------------------------------

    async def create(self, ctx: AnyContext, state: Mapping[str, Any] | None = None) -> str:
        """Mint a new handle holding ``state`` (a JSON object, default ``{}``); return it."""
        if state is None:
            state = {}
        if not isinstance(state, Mapping):
            raise TypeError(f"handle state must be a mapping, not {type(state).__name__}")
        record = {"format": _FORMAT, "kind": self.name, "owner": self._principal(ctx)}
        data = {HANDLE_KEY: record, "state": self._sized(dict(state))}
        while True:
            handle = self.prefix + secrets.token_urlsafe(self.entropy_bytes)
            key = self.store_key(handle)
            try:
                with store_busy_as_tool_error():
                    await self.store.create_session(key, data)
            except SessionExistsError:  # pragma: no cover - 2**-128 odds: mint another
                continue
            self._refreshed(key)
            return handle

    async def read(self, ctx: AnyContext, handle: object) -> dict[str, Any]:
        """The handle's state (a copy); :class:`UnknownHandleError` if it cannot be used."""
        with store_busy_as_tool_error():
            found = await self._load(ctx, handle)
        await self._refresh_if_due(found.key)
        return found.state

    async def modify(
        self,
        ctx: AnyContext,
        handle: object,
        change: Callable[[dict[str, Any]], Mapping[str, Any]],
    ) -> dict[str, Any]:
        """Replace the handle's state with ``change(state)``, atomically; return the new state.

        ``change`` gets a copy of the current state and returns the new one; it
        may run more than once (once per attempt), so it must not have side
        effects. The write is conditional on the revision read; on a conflict
        (another write came first) the whole read-apply-write is retried, up to
        ``max_attempts`` times with jittered exponential backoff, then
        :class:`HandleBusyError`. A handle closed or expired meanwhile raises
        :class:`UnknownHandleError`. An exception from ``change`` propagates
        and nothing is written.

        Needs a store with revisions (``supports_revisions = True``); on any
        other store it raises :class:`RevisionsUnsupportedError` and changes nothing.
        """
        store = self._revisioned_store()
        key = (
            self.store_key(handle)
            if isinstance(handle, str) and self.is_well_formed(handle)
            else ""
        )
        # Calls for one handle in this process take turns: only other processes conflict.
        async with self._modify_turns.turn(key):
            with store_busy_as_tool_error():
                return await self._modify(ctx, store, handle, change)

    async def _modify(
        self,
        ctx: AnyContext,
        store: RevisionedSessionStore,
        handle: object,
        change: Callable[[dict[str, Any]], Mapping[str, Any]],
    ) -> dict[str, Any]:
        for attempt in range(self.max_attempts):
            found = await self._load(ctx, handle)
            if found.revision is None:
                raise RevisionsUnsupportedError(
                    f"{type(self.store).__name__} declares supports_revisions but returned a "
                    "session without a revision: modify cannot make its write conditional"
                )
            new_state = change(found.state)
            if not isinstance(new_state, Mapping):
                raise TypeError(
                    f"the change must return the new state as a mapping, "
                    f"not {type(new_state).__name__}"
                )
            new_state = self._sized(dict(new_state))
            try:
                await store.update_session(
                    found.key,
                    {"data": {**found.data, "state": new_state}},
                    expected_revision=found.revision,
                )
            except RevisionConflictError as conflict:
                if conflict.current_revision is None:  # closed or expired since the read
                    raise self._unknown() from None
                if attempt + 1 < self.max_attempts:
                    await anyio.sleep(self._backoff(attempt))
                continue
            self._refreshed(found.key)  # the write restarted the TTL
            return new_state
        raise HandleBusyError(
            f"{self.name}_id is busy: another change kept coming first "
            f"({self.max_attempts} attempts); try again"
        )

    async def close(self, ctx: AnyContext, handle: object) -> None:
        """Remove the handle and its state; :class:`UnknownHandleError` if it cannot be used.

        Two closes racing for one handle may both succeed; after either, the
        handle is unknown everywhere.
        """
        with store_busy_as_tool_error():
            found = await self._load(ctx, handle)
            await self.store.delete_session(found.key)
        self._refreshed_at.pop(found.key, None)

    # -- helpers ---------------------------------------------------------------------------

    def store_key(self, handle: str) -> str:
        """The id the store holds ``handle`` under: the kind and a SHA-256 digest of the handle."""
        return f"{self.name}:{hashlib.sha256(handle.encode('ascii')).hexdigest()}"

    def is_well_formed(self, handle: object) -> bool:
        """Whether ``handle`` could be one of this kind's handles (no store call)."""
        if not isinstance(handle, str) or not handle.startswith(self.prefix):
            return False
        token = handle[len(self.prefix) :]
        # token_urlsafe(n) gives ceil(4n/3) characters; shorter ones were never minted.
        return (
            len(token) >= -(-4 * _MIN_ENTROPY_BYTES // 3)
            and len(handle) <= 256
            and bool(_TOKEN.match(token))
        )

    def _principal(self, ctx: AnyContext) -> str | None:
        if self.bind_principal is None:
            return None
        if isinstance(ctx, ServerRequestContext):
            return self.bind_principal(ctx)
        # MCPServer's Context, or another framework's context with the SDK's inside.
        return self.bind_principal(ctx.request_context)

    def _unknown(self) -> UnknownHandleError:
        return UnknownHandleError(self.unknown_message)

    def _sized(self, state: dict[str, Any]) -> dict[str, Any]:
        problem = state_size_problem(state, self.max_state_bytes)
        if problem is not None:
            raise HandleStateTooLargeError(f"{self.name}_id: {problem}; nothing was changed")
        return state

    def _refused(self, handle: object) -> UnknownHandleError:
        """The one answer, and the one log record, for a handle that cannot be used.

        Unknown, malformed, expired, closed and foreign handles all come here, so
        neither the caller nor the work done tells them apart; the log names the
        handle by its digest only.
        """
        shown = log_id(handle) if isinstance(handle, str) else type(handle).__name__
        logger.debug(
            "A %s handle %s cannot be used (unknown, expired, closed or foreign)", self.name, shown
        )
        return self._unknown()

    async def _load(self, ctx: AnyContext, handle: object) -> _Handle:
        if not self.is_well_formed(handle):
            raise self._refused(handle)
        assert isinstance(handle, str)
        key = self.store_key(handle)
        stored: SessionData | None = await self.store.get_session(key)
        record = None if stored is None else stored.data.get(HANDLE_KEY)
        state = None if stored is None else stored.data.get("state")
        if (
            stored is None
            or not isinstance(record, dict)
            or record.get("format") != _FORMAT
            or record.get("kind") != self.name
            or not isinstance(state, dict)
            or record.get("owner") != self._principal(ctx)
        ):
            self._refreshed_at.pop(key, None)
            raise self._refused(handle)
        return _Handle(key, state, getattr(stored, "revision", None), stored.data)

    def _revisioned_store(self) -> RevisionedSessionStore:
        if getattr(self.store, "supports_revisions", False) is not True:
            raise RevisionsUnsupportedError(
                f"StateHandles.modify needs a store with revisions (supports_revisions = True, "
                f"update_session(..., expected_revision=...)); {type(self.store).__name__} has "
                "none, so a read-apply-write could lose a concurrent change"
            )
        return cast(RevisionedSessionStore, self.store)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))

    def _refreshed(self, key: str) -> None:
        self._refreshed_at[key] = self.monotonic()
        self._refreshed_at.move_to_end(key)

    async def _refresh_if_due(self, key: str) -> None:
        now = self.monotonic()
        # Forget the handles whose refresh is due anyway: keeps the map bounded.
        while self._refreshed_at:
            oldest, at = next(iter(self._refreshed_at.items()))
            if now - at < self.refresh_interval:
                break
            del self._refreshed_at[oldest]
        if key in self._refreshed_at:
            return
        self._refreshed_at[key] = now  # concurrent reads do not refresh again
        try:
            await self.store.update_session(key, {})  # a touch; nothing if it is gone
        except Exception:
            # Served from what was read; the next read after the interval tries again.
            self._refreshed_at.pop(key, None)
            logger.warning("Could not refresh a %s handle in the store", self.name, exc_info=True)


class _HandleErrorResults:
    """Server middleware: a ``StateHandleError`` from ``tools/call`` becomes a tool error result."""

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        try:
            return await call_next(ctx)
        except StateHandleError as error:
            if ctx.method != "tools/call":
                raise
            return error.tool_result()


def install_handle_error_results(server: Server[Any]) -> None:
    """Let a low-level ``Server``'s ``on_call_tool`` raise handle errors as tool error results.

    ``MCPServer`` needs nothing: its tools turn a ``ToolError`` into such a result.
    """
    if not any(isinstance(middleware, _HandleErrorResults) for middleware in server.middleware):
        server.middleware.append(_HandleErrorResults())
