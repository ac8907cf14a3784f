"""Judge session stores written in JavaScript or TypeScript: ``--store=node:PATH[:EXPORT]``.

A Node process runs ``host.mjs`` (beside this file), which imports the user's module, builds the store
with one options object and serves its five camelCase methods over line-based JSON on
stdio. ``NodeSessionStore`` presents it to the suite as an ordinary ``SessionStore``.

One host process serves every store a target builds (starting Node costs about 0.1 s, a
suite builds hundreds of stores); it is read and written by threads, so stores built in
different event loops share it. Requests are multiplexed: each carries an id and the host
starts it at once, so concurrent calls overlap inside the JavaScript store. Requests made in
one turn of an event loop leave in one write, so calls started together (a race) start in
one tick of the host too.

What cannot cross as plain JSON travels beside the value as ``specials`` (see
docs/node-bridge.md): integers beyond 2^53 as BigInt, bytes as Uint8Array, non-finite
floats, and JavaScript ``Date`` values coming back as aware UTC datetimes.

Objects that cross (the data a caller passes, the record it gets back) are watched: when
the Python caller changes one afterwards, the same change is made to the JavaScript object
the store was given or returned, so a store that keeps or hands out references is caught
just as a JavaScript caller would catch it (DATA-COPY-IN, GET-ISOLATED).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import collections
import concurrent.futures
import contextlib
import itertools
import json
import math
import os
import re
import select
import shlex
import shutil
import subprocess
import threading
import weakref
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from reference_stores.errors import (
    InvalidSessionIdError,
    RevisionConflictError,
    SessionExistsError,
    SessionStoreError,
)
from reference_stores.interface import SessionData
from reference_stores.validation import datetime_from_ms, now_ms

from ..local_time import requested_zone

__all__ = [
    "HOST_PATH",
    "NOT_GIVEN",
    "JavaScriptError",
    "JavaScriptValue",
    "NodeBridgeError",
    "NodeSessionStore",
    "node_store_target",
]

HOST_PATH = Path(__file__).with_name("host.mjs")
_HOST_FRAME = f"{HOST_PATH.parent.name}/{HOST_PATH.name}"  # as stack frames show it (a file URL)
STARTUP_TIMEOUT_SECONDS = 30.0
MAX_SAFE_INTEGER = 2**53 - 1
WATCHED_PER_HOST = 16
"""How many crossed objects the bridge keeps watching for changes by the Python caller."""

_EXPORT_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

_ERROR_CLASSES: dict[str, type[Exception]] = {
    "SessionExistsError": SessionExistsError,
    "RevisionConflictError": RevisionConflictError,
    "InvalidSessionIdError": InvalidSessionIdError,
    "SessionStoreError": SessionStoreError,
    "TypeError": TypeError,
    "RangeError": ValueError,
    "ValueError": ValueError,
}

NOT_APPLICABLE = {
    "DATA-INVALID": (
        "the Node bridge, not the store, rules it out: the clause's inputs (NaN, Infinity, "
        "bytes, sets, datetimes, Decimals, non-str keys, arbitrary Python objects) cannot be "
        "expressed to a JavaScript store: most have no JSON or JavaScript form, and a non-str "
        "key would arrive as a string; check invalid data in the store's own JavaScript tests"
    ),
}

_INTEGER_NOTE = (
    "JavaScript numbers are IEEE-754 doubles: integers beyond 2^53 cannot round-trip as a "
    "number. The bridge hands them to the store as BigInt (their only exact JavaScript form): "
    "a store that keeps BigInt (structuredClone does) passes; one that goes through "
    "JSON.stringify throws TypeError or rounds them. Accept this platform limit with "
    "--conformance-baseline."
)
_FAKE_CLOCK_NOTE = (
    "the host ran this store on the suite's fake clock: Date.now() and new Date() return the "
    "suite's time, but timers, performance.now() and expiry done by a backend (Redis EXPIRE, "
    "DynamoDB TTL) follow real time"
)
_REAL_CLOCK_NOTE = (
    "the host ran this store on the real clock (no clock was given: the kit gives none to a "
    "store that takes no options or declares acceptsClock = false)"
)


def _named(error: str, clause: str) -> str:
    return (
        f"over the Node bridge an error counts as {error} when its name, or the name of a class "
        f"it extends, is {error}; {clause}"
    )


_NOTES = {
    "DATA-INTEGERS": _INTEGER_NOTE,
    "DATA-BIG-INTEGERS": _INTEGER_NOTE,
    "DATA-TYPES": (
        "JavaScript has one number type: a float with an integral value (2.0) comes back as the "
        "int 2"
    ),
    "ID-INVALID": _named("InvalidSessionIdError", "a Python bytes id reaches it as a Uint8Array"),
    "CREATE-EXISTS": _named("SessionExistsError", "a plain Error is reported as SessionStoreError"),
    "CREATE-RACE": _named("SessionExistsError", "a plain Error is reported as SessionStoreError"),
    "UPDATE-KEYS": (
        "over the Node bridge a refusal counts when it throws a TypeError, a RangeError or an "
        "Error named ValueError (a plain Error is reported as SessionStoreError)"
    ),
    "TTL-CONFIG": (
        "the constructor gets { ttlSeconds } and must throw a RangeError (or an Error named "
        "ValueError) for 0 or a negative number"
    ),
    "REV-CONFLICT": _named(
        "RevisionConflictError",
        "current_revision is the error's currentRevision property (null or absent: None)",
    ),
    "REV-MISSING": _named(
        "RevisionConflictError",
        "current_revision is the error's currentRevision property (null or absent: None)",
    ),
    "REV-RACE": _named("RevisionConflictError", "a plain Error is reported as SessionStoreError"),
    "REV-INVALID": (
        "over the Node bridge expected_revision reaches the store as { expectedRevision }; a "
        "refusal counts when it throws a TypeError (not an integer) or a RangeError (below 1). "
        "A float with an integral value (1.0) has no JavaScript form apart from the integer, so "
        "the bridge itself refuses it with TypeError"
    ),
    "ERR-BACKEND": (
        "over the Node bridge the cause is the thrown error's `cause`: throw "
        "new SessionStoreError(message, { cause: backendError })"
    ),
}
_TIME_CLAUSES = (
    "CREATE-NEW", "CREATE-OVER-EXPIRED", "GET-EXPIRED", "GET-NO-REFRESH", "EXISTS-MATCHES-GET",
    "EXISTS-NO-REFRESH", "UPDATE-TOUCH", "UPDATE-TIMES", "UPDATE-TTL-RESTART", "UPDATE-EXPIRED",
    "TIME-MILLIS", "TIME-ORDER", "TTL-CONFIG", "TTL-WINDOW", "TTL-FIELD", "TTL-NONE",
)  # fmt: skip


class NodeBridgeError(Exception):
    """The JavaScript store cannot be served: the message is one line for the user."""


class JavaScriptError(Exception):
    """An error thrown in JavaScript that maps to no Python class (an ``error.cause``, say)."""

    def __init__(self, name: str, message: str, stack: str = "") -> None:
        super().__init__(_error_text(name, message, stack))
        self.js_name = name
        self.js_message = message
        self.js_stack = stack


@dataclass(frozen=True)
class JavaScriptValue:
    """A value a JavaScript store returned that has no Python form (a Map, a function, ...)."""

    description: str

    def __repr__(self) -> str:
        return f"<JavaScript value: {self.description}>"


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()
"""``ttl_seconds`` left out: the store's options object gets no ``ttlSeconds`` from the kit."""


# --- values across the wire ------------------------------------------------------------------

Path_ = list[str | int]
Special = list[Any]


def _encode(value: Any, path: Path_, specials: list[Special]) -> Any:
    """A JSON-ready form of ``value``; what JSON cannot carry goes into ``specials``."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        number = int(value)
        if abs(number) > MAX_SAFE_INTEGER:
            specials.append([path, "bigint", str(number)])
            return None
        return number
    if isinstance(value, float):
        if not math.isfinite(value):
            specials.append(
                [
                    path,
                    "number",
                    "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"),
                ]
            )
            return None
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        specials.append([path, "bytes", base64.b64encode(bytes(value)).decode("ascii")])
        return None
    if isinstance(value, Mapping):
        encoded: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"cannot send {key!r} ({type(key).__name__}) as an object key to JavaScript: "
                    "JSON object keys are strings"
                )
            encoded[str(key)] = _encode(item, [*path, str(key)], specials)
        return encoded
    if isinstance(value, (list, tuple)):
        return [_encode(item, [*path, index], specials) for index, item in enumerate(value)]
    raise TypeError(f"cannot send {kind.__name__} {value!r} to JavaScript: it has no JSON form")


def encode_value(value: Any) -> tuple[Any, list[Special]]:
    specials: list[Special] = []
    return _encode(value, [], specials), specials


def decode_value(value: Any, specials: list[Special] | None) -> Any:
    """Put what came beside the JSON value back in at its paths, as Python values."""
    root = value
    for path, kind, payload in specials or ():
        decoded = _decode_special(kind, payload)
        if not path:
            root = decoded
            continue
        parent = root
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = decoded
    return root


def _decode_special(kind: str, payload: Any) -> Any:
    if kind == "bigint":
        return int(payload)
    if kind == "date":
        return None if payload is None else datetime_from_ms(int(payload))
    if kind == "bytes":
        return base64.b64decode(payload)
    if kind == "number":
        return float(payload)
    return JavaScriptValue(str(payload))


def _record_from(value: Any) -> Any:
    """A JavaScript session record as ``SessionData``; anything else as it came."""
    if not isinstance(value, dict):
        return value
    # Whatever the store returned goes in as it came (a missing field as None): the suite judges it.
    fields: Any = value
    return SessionData(
        session_id=fields.get("sessionId"),
        created_at=fields.get("createdAt"),
        updated_at=fields.get("updatedAt"),
        ttl=fields.get("ttl"),
        data=fields.get("data"),
        revision=fields.get("revision"),
    )


_RECORD_KEYS = {
    "session_id": "sessionId",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "ttl": "ttl",
    "data": "data",
    "revision": "revision",
}


def _error_text(name: str, message: str, stack: str) -> str:
    frames = []
    for line in stack.splitlines():
        if not line.lstrip().startswith("at "):
            continue
        if _HOST_FRAME in line:
            break  # the host's own frames and Node's below them say nothing about the store
        frames.append(line)
    head = f"{name}: {message}" if name else message
    if frames:
        return head + "\nJavaScript stack:\n" + "\n".join(frames)
    return head


def _exception_from(error: Mapping[str, Any]) -> Exception:
    """The Python exception for an error a JavaScript store threw, chosen by its name."""
    name = str(error.get("name", ""))
    message = str(error.get("message", ""))
    stack = str(error.get("stack", ""))
    names = [name, *error.get("chain", [])]
    kind = next((_ERROR_CLASSES[n] for n in names if n in _ERROR_CLASSES), SessionStoreError)
    shown = name
    if kind is SessionStoreError and "SessionStoreError" not in names:
        shown = f"{name or 'non-Error'} (JavaScript; reported as SessionStoreError)"
    exception = kind(_error_text(shown, message, stack))
    if isinstance(exception, RevisionConflictError):
        # The revision the store found: the error's currentRevision (null or absent: none).
        exception.current_revision = decode_value(
            error.get("currentRevision"), error.get("currentRevisionSpecials")
        )
    exception.js_name = name  # type: ignore[attr-defined]
    exception.js_message = message  # type: ignore[attr-defined]
    exception.js_stack = stack  # type: ignore[attr-defined]
    cause = error.get("cause")
    if isinstance(cause, Mapping):
        exception.__cause__ = JavaScriptError(
            str(cause.get("name", "")), str(cause.get("message", "")), str(cause.get("stack", ""))
        )
    return exception


# --- watching what crossed, to mirror the caller's changes -----------------------------------


@dataclass
class _Node:
    """What a crossed object held when it was last in step with its JavaScript twin."""

    kind: str  # "map", "list", "record" or "leaf"
    obj: Any
    children: Any = None


def _snapshot(value: Any, record: bool = False) -> _Node:
    if record:
        return _Node(
            "record", value, {name: _snapshot(getattr(value, name, None)) for name in _RECORD_KEYS}
        )
    if isinstance(value, Mapping):
        return _Node("map", value, {key: _snapshot(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return _Node("list", value, [_snapshot(item) for item in value])
    return _Node("leaf", value)


def _same_leaf(node: _Node, value: Any) -> bool:
    if node.kind != "leaf":
        return False
    old = node.obj
    return type(old) is type(value) and (old is value or bool(old == value))


def _set_edit(path: Path_, key: str | int, value: Any, edits: list[list[Any]]) -> None:
    try:
        encoded, specials = encode_value(value)
    except (TypeError, ValueError):
        return  # nothing JavaScript could hold: a JavaScript caller could not have made this change
    edits.append(["set", path, key, encoded, specials])


def _diff(node: _Node, current: Any, path: Path_, edits: list[list[Any]]) -> None:
    """The edits that turn the JavaScript twin of ``node`` into ``current`` (the same object)."""
    if node.kind == "record":
        for name, js_key in _RECORD_KEYS.items():
            _diff_child(node.children[name], getattr(current, name, None), path, js_key, edits)
    elif node.kind == "map":
        for key in node.children:
            if key not in current:
                edits.append(["del", path, key])
        for key, item in current.items():
            old = node.children.get(key)
            if old is None:
                _set_edit(path, str(key), item, edits)
            else:
                _diff_child(old, item, path, str(key), edits)
    elif node.kind == "list":
        for index, item in enumerate(current):
            if index < len(node.children):
                _diff_child(node.children[index], item, path, index, edits)
            else:
                _set_edit(path, index, item, edits)
        if len(current) < len(node.children):
            edits.append(["len", path, len(current)])


def _diff_child(old: _Node, item: Any, path: Path_, key: str | int, edits: list[list[Any]]) -> None:
    if old.kind in ("map", "list"):
        # Changed in place before (or after) being replaced: the JavaScript twin, reachable at
        # this path until the "set" below, takes those changes first.
        _diff(old, old.obj, [*path, key], edits)
        if old.obj is not item:
            _set_edit(path, key, item, edits)
    elif not _same_leaf(old, item):
        _set_edit(path, key, item, edits)


@dataclass
class _Watched:
    handle: int
    obj: Any
    node: _Node
    record: bool


# --- the host process ------------------------------------------------------------------------


class _Pending:
    """A request waiting for its answer, from an event loop or from a plain thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] | None = loop.create_future() if loop else None
        self.sync: concurrent.futures.Future[Any] | None = (
            None if loop else concurrent.futures.Future()
        )

    def settle(self, outcome: Any) -> None:
        if self.sync is not None:
            if not self.sync.done():
                if isinstance(outcome, BaseException):
                    self.sync.set_exception(outcome)
                else:
                    self.sync.set_result(outcome)
            return
        assert self.loop is not None
        assert self.future is not None
        future = self.future

        def settle_in_loop() -> None:
            if not future.done():
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self.loop.call_soon_threadsafe(settle_in_loop)


class _Host:
    """One running ``host.mjs``: a writer thread, a reader thread, a stderr tail."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.argv = argv
        try:
            self.process = subprocess.Popen(
                argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as error:
            raise NodeBridgeError(
                f"cannot start {shlex.join(argv)}: {error.strerror or error}"
            ) from None
        self._ids = itertools.count(1)
        self._handles = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        # Lines go straight into the pipe from the caller's thread when it has room (a thread
        # hop per call doubles the latency); what does not fit waits in the backlog for the
        # writer thread, so a host that stops reading never blocks an event loop.
        assert self.process.stdin is not None
        self._stdin_fd = self.process.stdin.fileno()
        try:
            os.set_blocking(self._stdin_fd, False)
            self._direct = True
        except OSError:  # pragma: no cover - platforms whose pipes cannot be non-blocking
            self._direct = False
        self._backlog = bytearray()
        self._backlog_ready = threading.Condition(self._lock)
        # Requests made in one turn of an event loop leave together, in one write, at the end
        # of that turn: the host then starts them in one tick of its own, so calls a caller
        # starts together (a race) run together inside the store, however Node reads the pipe.
        self._outbox = bytearray()
        self._flushing: set[asyncio.AbstractEventLoop] = set()
        self._closing = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=60)
        self._stderr_done = threading.Event()
        self.death: str | None = None
        self.zone: str | None = None
        """The local time zone last sent to the host (``local_time``); None: its own."""
        self.watched: collections.OrderedDict[int, _Watched] = collections.OrderedDict()
        self._watch_lock = threading.Lock()  # stores of one host may be used from several threads
        self._released: list[int] = []
        for target in (self._write_loop, self._read_loop, self._stderr_loop):
            threading.Thread(
                target=target, name=f"node-host-{target.__name__}", daemon=True
            ).start()

    # threads
    def _write_loop(self) -> None:
        fd = self._stdin_fd
        while True:
            with self._lock:
                while not self._backlog and not self._closing:
                    self._backlog_ready.wait()
                if not self._backlog:
                    break  # closing, and everything is written
                chunk = bytes(self._backlog[:65536])
            if self._direct:
                select.select([], [fd], [], 1.0)
            try:
                written = os.write(fd, chunk)
            except BlockingIOError:
                written = 0
            except OSError:
                break  # the host is gone: the reader reports it
            with self._lock:
                del self._backlog[:written]
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()

    def _write(self, data: bytes) -> None:
        """Send bytes in order; called with the lock held."""
        if self._direct and not self._backlog:
            try:
                written = os.write(self._stdin_fd, data)
            except BlockingIOError:
                written = 0
            except OSError:
                return  # the host is gone: the reader reports it
            data = data[written:]
        if data:
            self._backlog += data
            self._backlog_ready.notify()

    def _stderr_loop(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for raw in iter(stream.readline, b""):
            self._stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))
        self._stderr_done.set()

    def _read_loop(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        for raw in iter(stream.readline, b""):
            try:
                message = json.loads(raw)
            except ValueError:
                self._stderr.append(f"(unreadable line from the host: {raw[:200]!r})")
                continue
            with self._lock:
                pending = self._pending.pop(message.get("id"), None)
            if pending is not None:
                pending.settle(message)
        code = self.process.wait()
        self._stderr_done.wait(2)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        reason = f"the node host ({shlex.join(self.argv)}) {how}"
        with self._lock:
            self.death = reason
            pending_calls = list(self._pending.values())
            self._pending.clear()
        for pending in pending_calls:
            pending.settle(
                SessionStoreError(f"{reason} while this call was pending; {self.stderr_summary()}")
            )

    # requests
    def stderr_tail(self, lines: int = 12) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    def stderr_summary(self) -> str:
        tail = [line.strip() for line in self._stderr if line.strip()]
        if not tail:
            return "its stderr was empty"
        return "its stderr ended with: " + " | ".join(tail[-6:])[-600:]

    def _submit(
        self,
        message: dict[str, Any],
        pending: _Pending | None,
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        """Queue ``message``; it leaves at the end of ``loop``'s turn, or at once without one."""
        with self._lock:
            if self.death is not None:
                raise SessionStoreError(f"{self.death}; {self.stderr_summary()}")
            if self._released:
                message["release"] = self._released
                self._released = []
            if pending is not None:
                message["id"] = next(self._ids)
                self._pending[message["id"]] = pending
            line = json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
            self._outbox += line.encode("ascii") + b"\n"
            if loop is None:
                self._flush_locked()
            elif loop not in self._flushing:
                self._flushing.add(loop)
                loop.call_soon(self._flush, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._flushing.discard(loop)
            self._flush_locked()

    def _flush_locked(self) -> None:
        """Write what waits in the outbox, in order; called with the lock held."""
        if self._outbox:
            data = bytes(self._outbox)
            self._outbox.clear()
            self._write(data)

    def request_sync(
        self, message: dict[str, Any], timeout: float = STARTUP_TIMEOUT_SECONDS
    ) -> dict[str, Any]:
        pending = _Pending(None)
        self._submit(message, pending, None)
        assert pending.sync is not None
        try:
            answer: dict[str, Any] = pending.sync.result(timeout)
        except concurrent.futures.TimeoutError:
            raise NodeBridgeError(
                f"the node host gave no answer within {timeout:g} s; {self.stderr_summary()}"
            ) from None
        return answer

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        pending = _Pending(asyncio.get_running_loop())
        self.sync_watched()
        self._submit(message, pending, pending.loop)
        assert pending.future is not None
        answer: dict[str, Any] = await pending.future
        return answer

    def send(self, message: dict[str, Any]) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._submit(message, None, loop)

    def set_time(self, message: dict[str, Any], clock: Callable[[], float] | None) -> None:
        """Give ``message`` what the host's time follows: the fake clock, and the local time
        zone when a check has moved it since the last request."""
        message["now"] = now_ms(clock) if clock is not None else None
        zone = requested_zone()
        name = None if zone is None else zone.name
        if name != self.zone:
            message["zone"] = self.zone = name

    # watching
    def new_handle(self) -> int:
        return next(self._handles)

    def watch(self, obj: Any, *, record: bool = False, handle: int | None = None) -> int:
        """Remember ``obj`` (as it is now) under the handle its JavaScript twin has in the host."""
        handle = handle if handle is not None else self.new_handle()
        evicted = []
        with self._watch_lock:
            self.watched[handle] = _Watched(handle, obj, _snapshot(obj, record), record)
            while len(self.watched) > WATCHED_PER_HOST:
                evicted.append(self.watched.popitem(last=False)[0])
        if evicted:
            with self._lock:
                self._released.extend(evicted)  # the host forgets them with the next request
        return handle

    def sync_watched(self) -> None:
        """Mirror every change the Python caller made to a crossed object since it crossed."""
        with self._watch_lock:
            for watched in self.watched.values():
                edits: list[list[Any]] = []
                _diff(watched.node, watched.obj, [], edits)
                if edits:
                    self.send({"op": "mirror", "handle": watched.handle, "edits": edits})
                    watched.node = _snapshot(watched.obj, watched.record)

    def close(self) -> None:
        with self._lock:
            self._flush_locked()
            self._closing = True
            self._backlog_ready.notify()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(2)


_LIVE_HOSTS: weakref.WeakSet[_Host] = weakref.WeakSet()


@atexit.register
def _close_live_hosts() -> None:
    for host in list(_LIVE_HOSTS):
        with contextlib.suppress(Exception):
            host.close()


class _NodeTarget:
    """A ``node:`` target: the command, the module and its export, and the host serving them."""

    def __init__(
        self, argv: list[str], module: Path, export: str | None, cwd: Path, label: str
    ) -> None:
        self.argv = argv
        self.module = module
        self.export = export
        self.cwd = cwd
        self.label = label
        self.export_info: dict[str, Any] = {}
        self._hosts: list[_Host] = []  # the live one last; a list so the finalizer holds no self
        self._lock = threading.Lock()
        weakref.finalize(self, _close_hosts, self._hosts)

    def live_host(self) -> _Host | None:
        hosts = self._hosts
        return hosts[-1] if hosts and hosts[-1].death is None else None

    def host(self) -> _Host:
        """The live host for this target, started (or restarted after a crash) on demand."""
        with self._lock:
            if self._hosts and self._hosts[-1].death is None:
                return self._hosts[-1]
            self._hosts.clear()
            host = _Host(self.argv, self.cwd)
            try:
                answer = host.request_sync(
                    {"op": "load", "module": str(self.module), "export": self.export}
                )
            except (NodeBridgeError, SessionStoreError) as error:
                host.close()
                raise NodeBridgeError(_startup_failure(host, str(error))) from None
            if not answer.get("ok"):
                host.close()
                raise NodeBridgeError(str(answer["error"]["message"]))
            self.export_info = answer["result"]
            self._hosts.append(host)
            _LIVE_HOSTS.add(host)
            return host


def _close_hosts(hosts: list[_Host]) -> None:
    for host in hosts:
        host.close()


def _startup_failure(host: _Host, error: str) -> str:
    if host.death is not None or host.process.poll() is not None:
        host._stderr_done.wait(2)
        lines = [line.strip() for line in host._stderr if line.strip()]
        # Node prints the error's own line ("Error [CODE]: ...") after a source excerpt.
        errors = [line for line in lines if re.match(r"[A-Za-z]*Error\b", line)]
        detail = errors[0] if errors else (lines[-1] if lines else "nothing on stderr")
        return f"the node host ({shlex.join(host.argv)}) died before it was ready: {detail}"
    return error


# --- the proxy -------------------------------------------------------------------------------


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


class _Opening:
    """What the factory returns: await it for the store, or use it with ``async with``."""

    def __init__(
        self, target: _NodeTarget, options: dict[str, Any], clock: Callable[[], float] | None
    ) -> None:
        self._target = target
        self._options = options
        self._clock = clock
        self._store: NodeSessionStore | None = None

    def __await__(self) -> Generator[Any, None, NodeSessionStore]:
        return self._open().__await__()

    async def _open(self) -> NodeSessionStore:
        target = self._target
        host = target.live_host()
        if host is None:
            host = await asyncio.to_thread(target.host)
        try:
            encoded, specials = encode_value(self._options)
        except (TypeError, ValueError) as error:
            raise TypeError(f"store options cannot be sent to JavaScript: {error}") from None
        message = {"op": "construct", "options": encoded, "specials": specials}
        host.set_time(message, self._clock)
        answer = await host.request(message)
        if not answer.get("ok"):
            if answer.get("kind") == "bridge":
                raise NodeBridgeError(f"{target.label}: {answer['error']['message']}")
            raise _exception_from(answer["error"])
        self._store = NodeSessionStore(target, host, answer["result"], self._clock)
        return self._store

    async def __aenter__(self) -> NodeSessionStore:
        return await self._open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.aclose()


def _parse_spec(spec: str) -> tuple[str, str | None]:
    path, sep, export = spec.rpartition(":")
    if sep and path and _EXPORT_NAME.fullmatch(export):
        return path, export
    return spec, None


def node_store_target(
    spec: str, *, runner: str | None = None, cwd: Path | None = None
) -> Callable[..., Any]:
    """The store factory for ``--store=node:SPEC``, SPEC being ``PATH[:EXPORT]``.

    ``runner`` is a command that runs the host instead of ``node`` (``tsx`` for TypeScript;
    split like a shell would, so ``"npx tsx"`` and ``"node --import tsx"`` work too). The
    module is loaded once here, so a missing node, module or export fails at once, in one line.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    path_text, export = _parse_spec(spec.strip())
    if not path_text:
        raise NodeBridgeError(
            "node: needs a module path, as in node:./my-store.js or node:./my-store.js:MyStore"
        )
    if runner:
        argv = shlex.split(runner)
        if not argv:
            raise NodeBridgeError("--node-runner is empty")
        found = shutil.which(argv[0])
        if found is None:
            raise NodeBridgeError(
                f"the node runner {argv[0]!r} was not found on PATH "
                f"(install it, for example: npm install --global {argv[0]})"
            )
    else:
        found = shutil.which("node")
        if found is None:
            raise NodeBridgeError(
                "node was not found on PATH: "
                "install Node.js 18 or later to judge a JavaScript store"
            )
        argv = ["node"]
    argv = [found, *argv[1:], str(HOST_PATH)]
    module = (base / path_text).resolve()
    if not module.is_file():
        raise NodeBridgeError(f"module not found: {module}")
    label = f"node:{spec}"
    target = _NodeTarget(argv, module, export, base, label)
    target.host()  # fail now, in one line, if the module or its export cannot be used

    def open_node_store(
        ttl_seconds: Any = NOT_GIVEN, clock: Callable[[], float] | None = None, **options: Any
    ) -> _Opening:
        """Build the JavaScript store from one options object (``ttl_seconds`` as ``ttlSeconds``)."""
        given = dict(options)
        if ttl_seconds is not NOT_GIVEN:
            given["ttlSeconds"] = ttl_seconds
        return _Opening(target, given, clock)

    # Repro lines then read "store = MemorySessionStore(ttl_seconds=60, clock=clock)", and a
    # script's import line names the JavaScript module.
    export_name = target.export_info.get("name") or export or "default_export"
    open_node_store.__qualname__ = open_node_store.__name__ = export_name
    open_node_store.__module__ = label
    open_node_store.node_target = target  # type: ignore[attr-defined]
    accepts_ttl, accepts_clock = declared_capabilities(target.export_info)
    open_node_store.accepts_ttl = accepts_ttl  # type: ignore[attr-defined]
    open_node_store.accepts_clock = accepts_clock  # type: ignore[attr-defined]
    open_node_store.ttl_parameter = "ttlSeconds"  # type: ignore[attr-defined]
    open_node_store.conformance_repro = (  # type: ignore[attr-defined]
        "from conformance.node_bridge import node_store_target",
        f"node_store_target({str(module) + (':' + export if export else '')!r}, runner={runner!r})",
    )
    return open_node_store


def declared_capabilities(export_info: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether the JavaScript store takes a TTL and follows the suite's clock.

    Read as Python's are: a store whose constructor (or factory) takes no parameter is like
    a Python signature naming neither ``ttl_seconds`` nor ``clock``; one that takes an
    options object gets ``ttlSeconds`` and runs on the fake ``Date``. Static ``acceptsTtl``
    and ``acceptsClock`` (or ``expiresInRealTime = true``) override what was read.
    """
    takes_options = export_info.get("takesOptions") is not False
    accepts_ttl = export_info.get("acceptsTtl")
    if not isinstance(accepts_ttl, bool):
        accepts_ttl = takes_options
    accepts_clock = export_info.get("acceptsClock")
    if not isinstance(accepts_clock, bool):
        accepts_clock = takes_options and export_info.get("realTime") is not True
    return accepts_ttl, accepts_clock


# Kept for tests and tools that want to read a target's host.
def _host_of(factory: Callable[..., Any]) -> _Host:
    target: _NodeTarget = factory.node_target  # type: ignore[attr-defined]
    return target.host()
