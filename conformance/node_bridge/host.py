"""The Node host process (``host.mjs``) and its lifetime: one per target, restarted after a crash.

One host process serves every store a target builds (starting Node costs about 0.1 s, a
suite builds hundreds of stores); it is read and written by threads, so stores built in
different event loops share it. Requests are multiplexed: each carries an id and the host
starts it at once, so concurrent calls overlap inside the JavaScript store. Requests made in
one turn of an event loop leave in one write, so calls started together (a race) start in
one tick of the host too.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import contextlib
import itertools
import json
import os
import re
import select
import shlex
import subprocess
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reference_stores.errors import SessionStoreError
from reference_stores.validation import now_ms

from ..local_time import requested_zone
from .watch import _diff, _snapshot, _Watched
from .wire import NodeBridgeError

STARTUP_TIMEOUT_SECONDS = 30.0
WATCHED_PER_HOST = 16
"""How many crossed objects the bridge keeps watching for changes by the Python caller."""


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
