"""``NodeSessionStore``: a JavaScript store, served by the Node host, as a ``SessionStore``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reference_stores.errors import SessionStoreError
from reference_stores.interface import SessionData

from .declarations import (
    _FAKE_CLOCK_NOTE,
    _NOTES,
    _REAL_CLOCK_NOTE,
    _TIME_CLAUSES,
    NOT_APPLICABLE,
)
from .host import _Host, _NodeTarget
from .wire import NodeBridgeError, _exception_from, _record_from, decode_value, encode_value


class NodeSessionStore:
    """A JavaScript session store, served by the Node host, as a Python ``SessionStore``.

    It validates nothing: the JavaScript store judges every argument. Only what JSON (and
    JavaScript) cannot hold is refused here, with ``TypeError``.
    """

    conformance_not_applicable: dict[str, str]
    conformance_notes: dict[str, str]
    shares_sessions_across_instances: bool
    """Set only when the JavaScript store declares ``sharesSessionsAcrossInstances``."""
    supports_revisions: bool
    """Set only when the JavaScript store declares ``supportsRevisions`` (static or not)."""

    def __init__(
        self,
        target: _NodeTarget,
        host: _Host,
        answer: Mapping[str, Any],
        clock: Callable[[], float] | None,
    ) -> None:
        self._target = target
        self._host = host
        self._id: int = answer["store"]
        self._clock = clock
        self._closed = False
        self.js_class = str(answer.get("className") or "")
        self.js_methods: dict[str, str] = dict(answer.get("methods") or {})
        if isinstance(answer.get("shares"), bool):
            self.shares_sessions_across_instances = bool(answer["shares"])
        if isinstance(answer.get("revisions"), bool):
            self.supports_revisions = bool(answer["revisions"])
        self.conformance_not_applicable = {
            **_string_map(answer.get("notApplicable")),
            **NOT_APPLICABLE,
        }
        notes = dict(_NOTES)
        clock_note = _FAKE_CLOCK_NOTE if clock is not None else _REAL_CLOCK_NOTE
        for clause in _TIME_CLAUSES:
            notes[clause] = f"{notes[clause]}; {clock_note}" if clause in notes else clock_note
        for clause, note in _string_map(answer.get("notes")).items():
            notes[clause] = f"{note}; {notes[clause]}" if clause in notes else note
        self.conformance_notes = notes

    def __repr__(self) -> str:
        return f"<NodeSessionStore {self._target.label} ({self.js_class or 'store'} #{self._id})>"

    @property
    def clock_mode(self) -> str:
        """``"fake"`` when the host's ``Date`` follows the given clock, else ``"real"``."""
        return "fake" if self._clock is not None else "real"

    async def _call(
        self,
        method: str,
        args: list[Any],
        *,
        watch: Sequence[tuple[int, Any]] = (),
        record: bool = False,
    ) -> Any:
        if self._closed:
            raise SessionStoreError(f"{self!r} is closed")
        encoded, specials = encode_value(args)
        message: dict[str, Any] = {
            "op": "call",
            "store": self._id,
            "method": method,
            "args": encoded,
            "specials": specials,
        }
        self._host.set_time(message, self._clock)
        watch_handles = [
            [index, self._host.watch(obj)] for index, obj in watch if isinstance(obj, Mapping)
        ]
        if watch_handles:
            message["watch"] = watch_handles
        result_handle = self._host.new_handle() if record else None
        if result_handle is not None:
            message["watchResult"] = result_handle
        answer = await self._host.request(message)
        if not answer.get("ok"):
            raise self._error(answer)
        value = decode_value(answer.get("result"), answer.get("specials"))
        if result_handle is not None:
            value = _record_from(value)
            if isinstance(value, SessionData):
                self._host.watch(value, record=True, handle=result_handle)
        return value

    def _error(self, answer: Mapping[str, Any]) -> Exception:
        error = answer.get("error") or {}
        if answer.get("kind") == "bridge":
            return NodeBridgeError(f"{self._target.label}: {error.get('message', '')}")
        return _exception_from(error)

    async def session_exists(self, session_id: str) -> bool:
        result: bool = await self._call("sessionExists", [session_id])
        return result

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        # None is Python's way to leave the argument out: JavaScript gets createSession(id).
        args = [session_id] if data is None else [session_id, data]
        result: None = await self._call("createSession", args, watch=[(1, data)])
        return result

    async def get_session(self, session_id: str) -> SessionData | None:
        result: SessionData | None = await self._call("getSession", [session_id], record=True)
        return result

    async def update_session(
        self, session_id: str, updates: Mapping[str, Any], *, expected_revision: Any = None
    ) -> None:
        # None leaves the options out: JavaScript gets updateSession(id, updates), as before.
        args: list[Any] = [session_id, updates]
        if expected_revision is not None:
            if isinstance(expected_revision, float) and expected_revision.is_integer():
                raise TypeError(
                    f"expected_revision must be an int, not float ({expected_revision!r}): "
                    "JavaScript has one number type, so the store would get the integer"
                )
            args.append({"expectedRevision": expected_revision})
        watch: list[tuple[int, Any]] = [(1, updates)]
        result: None = await self._call("updateSession", args, watch=watch)
        return result

    async def delete_session(self, session_id: str) -> None:
        result: None = await self._call("deleteSession", [session_id])
        return result

    async def aclose(self) -> None:
        """Let the host forget this store (calling its ``close()`` when it has one)."""
        if self._closed:
            return
        self._closed = True
        if self._host.death is not None:
            return
        answer = await self._host.request({"op": "dispose", "store": self._id})
        if not answer.get("ok"):
            raise self._error(answer)

    async def __aenter__(self) -> NodeSessionStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key): str(item) for key, item in value.items()}
