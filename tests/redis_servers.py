"""Private ``redis-server`` processes for the Redis store's tests: single servers and a cluster.

Every server listens on a free loopback port, keeps nothing on disk beyond a
temporary folder, and is stopped by the test that started it. The shared
server from ``REDIS_URL`` is never touched here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

__all__ = [
    "RedisCluster3",
    "RedisServer",
    "command",
    "delete_keys_under",
    "free_port",
    "glob_escape",
    "require_redis_server",
]

REDIS_URL = os.environ.get("REDIS_URL") or None


def require_redis_server() -> str:
    """The redis-server binary; skipped only on a machine without Redis configured at all."""
    binary = shutil.which("redis-server")
    if binary is None:
        if REDIS_URL:
            pytest.fail(
                "REDIS_URL is set but redis-server is not installed: the real-server tests must run"
            )
        pytest.skip("redis-server is not installed and REDIS_URL is not set")
    return binary


def free_port(*, with_bus: bool = False) -> int:
    """A free loopback TCP port; ``with_bus``: port + 10000 (the cluster bus) is free too."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not with_bus:
            return port
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus, contextlib.suppress(OSError):
            bus.bind(("127.0.0.1", port + 10000))
            return port
    raise RuntimeError("no free loopback port pair found")


def command(port: int, *args: str | bytes, timeout: float = 2.0) -> bytes:
    """Send one command to 127.0.0.1:port; a status or error line as is, a bulk string's body.

    Raw sockets keep server management free of any client library and event loop.
    """
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(b"".join(parts))
        buffer = b""
        while b"\r\n" not in buffer:
            buffer += _receive(conn)
        header, _, rest = buffer.partition(b"\r\n")
        if header[:1] != b"$" or header == b"$-1":
            return header
        size = int(header[1:])
        while len(rest) < size + 2:
            rest += _receive(conn)
        return rest[:size]


def _receive(conn: socket.socket) -> bytes:
    chunk = conn.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection mid-reply")
    return chunk


def info(port: int, section: str) -> dict[str, str]:
    """``INFO section`` as a dict of its ``name:value`` lines."""
    reply = command(port, "INFO", section).decode()
    fields = {}
    for line in reply.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name] = value
    return fields


def command_calls(port: int) -> dict[str, int]:
    """Calls per command from ``INFO commandstats``: {'get': 3, 'evalsha': 1, ...}."""
    calls = {}
    for name, value in info(port, "commandstats").items():
        if name.startswith("cmdstat_"):
            stats = dict(item.split("=", 1) for item in value.split(","))
            calls[name[len("cmdstat_") :]] = int(stats["calls"])
    return calls


class RedisServer:
    """One ``redis-server`` on a loopback port that can be killed and started again on that port."""

    def __init__(self, port: int | None = None, *, extra_args: tuple[str, ...] = ()) -> None:
        self.binary = require_redis_server()
        self.port = port if port is not None else free_port()
        self.extra_args = extra_args
        self.folder = Path(tempfile.mkdtemp(prefix=f"redis-{self.port}-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
                "--logfile", str(self.folder / "redis.log"),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server on port {self.port} exited:\n{log}")
            with contextlib.suppress(OSError):
                if command(self.port, "PING", timeout=0.5).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server on port {self.port} did not answer PING in time")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: the server dies at once, as in a crash; its port is free again after."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RedisCluster3:
    """Three masters, no replicas, on loopback ports, joined by ``redis-cli --cluster create``."""

    def __init__(self) -> None:
        require_redis_server()
        self.cli = shutil.which("redis-cli")
        if self.cli is None:
            pytest.fail(
                "redis-server is installed but redis-cli is not: cannot build the test cluster"
            )
        self.servers: list[RedisServer] = []

    @property
    def ports(self) -> list[int]:
        return [server.port for server in self.servers]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 30.0) -> None:
        try:
            for _ in range(3):
                server = RedisServer(
                    free_port(with_bus=True),
                    extra_args=(
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "5000",
                    ),
                )  # fmt: skip
                self.servers.append(server)
                server.start()
            nodes = [f"127.0.0.1:{port}" for port in self.ports]
            subprocess.run(
                [
                    self.cli,
                    "--cluster",
                    "create",
                    *nodes,
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=timeout,
            )
            deadline = time.monotonic() + timeout
            while not all(self._ready(port) for port in self.ports):
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster did not reach cluster_state:ok in time")
                time.sleep(0.05)
        except BaseException:
            self.close()
            raise

    def _ready(self, port: int) -> bool:
        # Every node must be ok and know all three masters, or a client may see a partial map.
        cluster_info = command(port, "CLUSTER", "INFO").decode()
        return "cluster_state:ok" in cluster_info and "cluster_known_nodes:3" in cluster_info

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.servers = []

    def __enter__(self) -> RedisCluster3:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def glob_escape(text: str) -> str:
    """``text`` as a literal for SCAN MATCH: Redis globs treat * ? [ ] and backslash specially."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def delete_keys_under(url: str, prefix: str) -> int:
    """Remove every key that starts with ``prefix`` on the server at ``url``; nothing else."""
    import redis

    removed = 0
    with contextlib.closing(redis.Redis.from_url(url, socket_timeout=10)) as client:
        batch = []
        for key in client.scan_iter(match=glob_escape(prefix) + "*", count=1000):
            if not key.startswith(prefix.encode()):  # belt and braces: never more than ours
                continue
            batch.append(key)
            if len(batch) >= 500:
                removed += client.unlink(*batch)
                batch = []
        if batch:
            removed += client.unlink(*batch)
    return removed
