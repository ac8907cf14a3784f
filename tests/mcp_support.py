"""Helpers for the MCP restoration tests: server processes, raw MCP requests, two demo tokens.

A server process with ``auth=True`` is an example started with its own
``--token`` flag, once per demo principal (``TOKEN_ARGS``)::

    python -m examples.counter_server --token alice=alice-token --token bob=bob-token ...
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent

DEMO_TOKENS = {"alice": "alice-token", "bob": "bob-token"}
"""Principal -> bearer token of the demo servers: two principals, one token each."""

TOKEN_ARGS = [
    arg for name, secret in DEMO_TOKENS.items() for arg in ("--token", f"{name}={secret}")
]
"""The examples' command-line flags for ``DEMO_TOKENS``."""

MCP_PATH = "/mcp"
HANDSHAKE_VERSION = "2025-11-25"


def demo_auth_options(base_url: str = "http://127.0.0.1:8000") -> dict[str, Any]:
    """``auth=`` and ``token_verifier=`` for an in-process server: the examples' own for
    ``DEMO_TOKENS``, as ``--token`` sets them up."""
    from examples.bearer_tokens import StaticTokens, Token

    tokens = StaticTokens(Token(name, secret) for name, secret in DEMO_TOKENS.items())
    return {"auth": tokens.auth_settings(base_url), "token_verifier": tokens}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """One example server process on a fixed loopback port; stopped, killed and started again.

    ``auth``: started with ``TOKEN_ARGS``, bearer-token auth for the demo principals.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        port: int,
        log_path: Path,
        auth: bool = True,
        module: str = "examples.counter_server",
    ) -> None:
        self.args = list(args)
        self.port = port
        self.log_path = log_path
        self.auth = auth
        self.module = module
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{MCP_PATH}"

    def command(self) -> list[str]:
        """The server's command line, without its host, port and arguments."""
        return [sys.executable, "-m", self.module, *(TOKEN_ARGS if self.auth else [])]

    def start(self, timeout: float = 30.0) -> None:
        command = [*self.command(), "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.process.returncode}:\n{self.log()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the server did not listen within {timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> bool:
        """Graceful shutdown (SIGTERM), as a deployment restarts a server; True when it went well.

        uvicorn shuts down, then raises the signal again: a clean exit is 0 or -SIGTERM.
        """
        process = self._running()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout)
            return code in (0, -signal.SIGTERM)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(
                f"the server ignored SIGTERM for {timeout} s:\n{self.log()}"
            ) from None

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"the server is not running:\n{self.log()}")
        return self.process


Server = TypeVar("Server", bound=ServerProcess)


@contextlib.contextmanager
def started_servers(
    tmp_path: Path,
    kind: type[Server] = ServerProcess,  # type: ignore[assignment]
) -> Iterator[Callable[..., Server]]:
    """A maker of server processes on free loopback ports, logging into ``tmp_path``; every
    process it made is killed on the way out."""
    started: list[Server] = []

    def make(
        args: Sequence[str], *, auth: bool = True, module: str = "examples.counter_server"
    ) -> Server:
        server = kind(
            list(args),
            port=free_port(),
            log_path=tmp_path / f"server-{len(started)}.log",
            auth=auth,
            module=module,
        )
        started.append(server)
        return server

    try:
        yield make
    finally:
        for server in started:
            server.kill()


def headers(token: str | None, session_id: str | None = None) -> dict[str, str]:
    result = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": HANDSHAKE_VERSION,
    }
    if token is not None:
        result["authorization"] = f"Bearer {token}"
    if session_id is not None:
        result["mcp-session-id"] = session_id
    return result


def response_message(response: Any) -> dict[str, Any]:
    """The JSON-RPC message of a JSON or SSE response body."""
    if response.headers.get("content-type", "").startswith("application/json"):
        message: dict[str, Any] = response.json()
        return message
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            event: dict[str, Any] = json.loads(line[5:])
            if "result" in event or "error" in event:
                return event
    raise AssertionError(f"no JSON-RPC response in: {response.text[:500]!r}")


async def open_raw_session(http: Any, url: str, token: str | None) -> str:
    """Handshake by hand (no GET stream, unlike the SDK client); returns the session id."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "raw-test-client", "version": "1"},
        },
    }
    response = await http.post(url, json=initialize, headers=headers(token))
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    assert "result" in response_message(response)
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = await http.post(url, json=initialized, headers=headers(token, session_id))
    assert response.status_code == 202, response.text
    return str(session_id)


async def call_increment(
    http: Any, url: str, token: str | None, session_id: str, by: int = 1, *, request_id: int = 7
) -> Any:
    """POST one ``increment`` call; returns the HTTP response.

    Calls in flight at once in one session need distinct ``request_id``s.
    """
    request = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "increment", "arguments": {"by": by}},
    }
    return await http.post(url, json=request, headers=headers(token, session_id))


def count_of(response: Any) -> int:
    assert response.status_code == 200, (response.status_code, response.text)
    message = response_message(response)
    assert "result" in message, message
    result = message["result"]
    assert not result.get("isError"), result
    return int(result["structuredContent"]["result"])
