"""A fault-injecting Redis endpoint: a loopback relay in front of the user's Redis.

It listens on two addresses. ``url`` relays every command and reply unchanged.
``faults_url`` meets commands with what production Redis clients meet and a
loopback server never shows, on a seeded schedule:

- ``drop``: the command runs on Redis, and the connection closes halfway through
  its reply (a write whose reply was lost may or may not have applied: here it did);
- ``delay``: the reply comes 3 s late, past a client's timeout;
- ``readonly``: a write is answered ``-READONLY`` without running, as a replica
  answers after a failover;
- ``loading``: any command is answered ``-LOADING`` without running, as a
  restarting server answers.

Each command name (``GET``, ``SET``, ``EVALSHA``, ...) meets each fault that
applies to it once within each block of its occurrences (twice as many
occurrences as faults), at positions the seed fixes; ``delay`` only in the
first block, to keep runs short. Connection setup (``HELLO``, ``CLIENT``,
``SELECT``, ``AUTH``, ``PING``, ...) is never faulted.

A small asyncio relay rather than toxiproxy: toxiproxy's binary is on no package
registry this kit can install from, and its toxics act on bytes and time, not
on commands, so it can neither answer ``-READONLY`` to writes only nor cut a
connection in the middle of one chosen reply. Commands are relayed one at a
time per connection (a pipeline is served in order, never reordered);
subscriptions and ``MONITOR``, which send replies nobody asked for, are out of scope.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from urllib.parse import urlsplit

from .resp_frames import command_name, frame_end
from .schedule import seeded_positions

__all__ = ["FaultSchedule", "FaultyRedisEndpoint"]

DELAY_SECONDS = 3.0
READONLY_REPLY = b"-READONLY You can't write against a read only replica.\r\n"
LOADING_REPLY = b"-LOADING Redis is loading the dataset in memory\r\n"

_NEVER_FAULTED = frozenset(
    {
        "HELLO",
        "AUTH",
        "SELECT",
        "CLIENT",
        "PING",
        "ECHO",
        "QUIT",
        "RESET",
        "COMMAND",
        "READONLY",
        "READWRITE",
        "SCRIPT",
        "MULTI",
        "DISCARD",
        "WATCH",
        "UNWATCH",
        "INFO",
    }
)
# Commands a replica answers; every other command is taken for a write.
_READS = frozenset(
    {
        "GET",
        "MGET",
        "EXISTS",
        "HGET",
        "HGETALL",
        "HMGET",
        "HEXISTS",
        "HLEN",
        "TTL",
        "PTTL",
        "EXPIRETIME",
        "PEXPIRETIME",
        "TYPE",
        "STRLEN",
        "GETRANGE",
        "SCAN",
        "KEYS",
        "JSON.GET",
        "SMEMBERS",
        "SISMEMBER",
        "ZRANGE",
        "ZSCORE",
        "LRANGE",
        "EVAL_RO",
        "EVALSHA_RO",
        "FCALL_RO",
        "DBSIZE",
        "TIME",
    }
)
_READ_FAULTS = ("drop", "delay", "loading")
_WRITE_FAULTS = ("drop", "delay", "readonly", "loading")


class FaultSchedule:
    """Which fault, if any, meets the next occurrence of a command."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._counts: dict[str, int] = {}
        self.met: dict[str, int] = {}
        """How many times each fault was injected: what a run can show it met."""

    def fault_for(self, name: str) -> str | None:
        if not name or name in _NEVER_FAULTED:
            return None
        faults = _READ_FAULTS if name in _READS else _WRITE_FAULTS
        number = self._counts.get(name, 0)
        self._counts[name] = number + 1
        block, place = divmod(number, 2 * len(faults))
        positions = seeded_positions(
            self.seed, "redis", name, block, count=len(faults), within=2 * len(faults)
        )
        if place not in positions:
            return None
        fault = faults[positions.index(place)]
        if fault == "delay" and block > 0:
            return None
        self.met[fault] = self.met.get(fault, 0) + 1
        return fault


class FaultyRedisEndpoint:
    """Two loopback addresses in front of ``upstream``: ``url`` (a plain relay) and
    ``faults_url`` (the relay with faults)."""

    def __init__(self, upstream: str, seed: int, *, delay_seconds: float = DELAY_SECONDS) -> None:
        parts = urlsplit(upstream if "://" in upstream else f"redis://{upstream}")
        if parts.scheme not in ("redis", "tcp") or not parts.hostname:
            raise ValueError(f"Redis's URL must be redis://HOST:PORT, not {upstream!r}")
        self.upstream = upstream
        self._upstream_address = (parts.hostname, parts.port or 6379)
        self.schedule = FaultSchedule(seed)
        self.delay_seconds = delay_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[None]] = set()
        self.url = ""
        self.faults_url = ""

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._listen())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name="faulty-redis", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fault-injecting Redis endpoint did not start")

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    async def _listen(self) -> None:
        for faulty in (False, True):
            server = await asyncio.start_server(
                functools.partial(self._accept, faulty=faulty), "127.0.0.1", 0
            )
            self._servers.append(server)
        self.url, self.faults_url = (
            f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}" for server in self._servers
        )

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, faulty: bool
    ) -> None:
        task = asyncio.current_task()
        if task is not None:  # so that stop() can cancel a connection's relay
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        with contextlib.suppress(asyncio.CancelledError):  # stop() ends every relay
            await self._relay(reader, writer, faulty)

    async def _relay(
        self, client: asyncio.StreamReader, client_writer: asyncio.StreamWriter, faulty: bool
    ) -> None:
        try:
            server, server_writer = await asyncio.open_connection(*self._upstream_address)
        except OSError:
            client_writer.close()  # Redis is down: so is this endpoint
            return
        from_client = bytearray()
        from_server = bytearray()
        try:
            while True:
                command = await _next_frame(client, from_client)
                if command is None:
                    return
                fault = self.schedule.fault_for(command_name(command)) if faulty else None
                if fault in ("readonly", "loading"):
                    client_writer.write(READONLY_REPLY if fault == "readonly" else LOADING_REPLY)
                    await client_writer.drain()
                    continue
                server_writer.write(command)
                await server_writer.drain()
                reply = await _reply(server, from_server, client_writer)
                if reply is None:
                    return
                if fault == "drop":
                    client_writer.write(reply[: max(1, len(reply) // 2)])
                    await client_writer.drain()
                    return
                if fault == "delay":
                    await asyncio.sleep(self.delay_seconds)
                client_writer.write(reply)
                await client_writer.drain()
        except (ConnectionError, OSError):
            return  # either side went away: so does the relay
        finally:
            for writer in (client_writer, server_writer):
                writer.close()


async def _next_frame(reader: asyncio.StreamReader, buffer: bytearray) -> bytes | None:
    while True:
        end = frame_end(buffer)
        if end is not None:
            frame = bytes(buffer[:end])
            del buffer[:end]
            return frame
        chunk = await reader.read(65536)
        if not chunk:
            return None
        buffer += chunk


async def _reply(
    server: asyncio.StreamReader, buffer: bytearray, client_writer: asyncio.StreamWriter
) -> bytes | None:
    """The reply to the command just sent; RESP3 pushes that come first go straight through."""
    while True:
        frame = await _next_frame(server, buffer)
        if frame is None or frame[:1] != b">":
            return frame
        client_writer.write(frame)
