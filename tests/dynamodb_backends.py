"""DynamoDB endpoints for the DynamoDB store's tests and benchmark.

- moto in-process (``mock_aws``): no sockets at all.
- a moto server (``ThreadedMotoServer``) on a free loopback port: real HTTP.
- dynalite, an independent DynamoDB implementation from the npm registry,
  installed on first use into a cache folder outside the work tree
  (``$DYNALITE_DIR``, else the system temp folder) and run with node on loopback.
- the endpoint in ``$DYNAMODB_ENDPOINT_URL`` (e.g. DynamoDB Local), when set.

Every test gets a table of its own, deleted afterwards: nothing shared is emptied.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from reference_stores.dynamodb import new_boto3_session

try:  # tests/ as a package or as a plain folder on sys.path
    from .npm_packages import install_pinned
except ImportError:
    from npm_packages import install_pinned  # type: ignore[no-redef]

__all__ = [
    "AWS_TEST_ENVIRONMENT",
    "ServerProcess",
    "atomic_moto_mock",
    "client_for",
    "delete_table",
    "dynalite_server",
    "free_port",
    "moto_server",
    "require_node",
    "unique_table_name",
]

# Fake credentials and no instance-metadata lookups: no test may reach past loopback.
AWS_TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Variables that would send the store somewhere else than the endpoint a test chose.
AWS_REDIRECTING_VARIABLES = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "DYNAMODB_ENDPOINT_URL",
    "DYNAMODB_TABLE_NAME",
    "AWS_REGION",
)

DYNALITE_VERSION_FOR_NODE_20 = "4.0.0"
DYNALITE_VERSION_OLDER_NODE = "3.2.2"

_DYNALITE_SCRIPT = """
const dynalite = require(process.argv[1]);
const server = dynalite({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0});
server.listen(0, '127.0.0.1', () => { console.log(server.address().port); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unique_table_name(prefix: str = "sessions") -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def client_for(
    endpoint_url: str | None, *, max_pool_connections: int = 10, fake_credentials: bool = True
) -> Any:
    """A low-level client, with the test credentials unless told (``None``: moto's mock)."""
    credentials = (
        {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        if fake_credentials
        else {}
    )
    return new_boto3_session().client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        **credentials,
        config=Config(
            max_pool_connections=max_pool_connections,
            retries={"mode": "standard"},
            connect_timeout=5,
            read_timeout=10,
        ),
    )


def delete_table(client: Any, table_name: str) -> None:
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_table(TableName=table_name)


_MOTO_SERVER_SCRIPT = """
import logging, os, sys, threading
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
# moto handles requests in parallel threads with no lock, so its conditional writes
# are not atomic; DynamoDB's are. One request at a time restores that.
serve = DomainDispatcherApplication.__call__
one_at_a_time = threading.Lock()
def atomic(self, environ, start_response):
    with one_at_a_time:
        return serve(self, environ, start_response)
DomainDispatcherApplication.__call__ = atomic
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)  # a graceful stop would wait for every idle keep-alive connection
"""


@contextlib.contextmanager
def atomic_moto_mock() -> Iterator[None]:
    """moto's in-process mock, handling one request at a time.

    moto runs each request in the caller's thread with no lock, so two conditional
    writes racing in threads can both pass their condition: a race DynamoDB never
    has (its conditional writes are atomic). The store's own atomicity rests on
    those conditions, so the tests give the mock the same guarantee.
    """
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber

    process = BotocoreStubber.process_request
    lock = threading.Lock()

    def one_at_a_time(self: Any, request: Any) -> Any:
        with lock:
            return process(self, request)

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setattr(BotocoreStubber, "process_request", one_at_a_time)
        yield


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (ThreadedMotoServer) on a free loopback port; yields its URL.

    It runs in a process of its own: its state is apart from ``mock_aws`` in
    this one, and its work does not compete for this interpreter's GIL.
    """
    server = ServerProcess([sys.executable, "-c", _MOTO_SERVER_SCRIPT], "moto server")
    try:
        yield server.url
    finally:
        server.stop()


def require_node() -> tuple[str, str]:
    """node and npm, or a skip where either is missing."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "dynalite needs node and npm, and this machine lacks "
            + ("node" if node is None else "npm")
        )
    return node, npm


def _node_major(node: str) -> int:
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    return int(version.stdout.strip().lstrip("v").split(".")[0])


def install_dynalite(node: str, npm: str) -> Path:
    """Install dynalite (pinned) once into the cache folder; return its package folder."""
    version = (
        DYNALITE_VERSION_FOR_NODE_20 if _node_major(node) >= 20 else DYNALITE_VERSION_OLDER_NODE
    )
    return install_pinned(
        npm, "dynalite", version, folder=f"dynalite-{version}", cache_env="DYNALITE_DIR"
    )


class ServerProcess:
    """A server process that prints its loopback port on its first line and ends when stdin closes."""

    def __init__(self, argv: list[str], name: str) -> None:
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"{name} did not start: {line!r} {self._errors}")
        self.url = f"http://127.0.0.1:{int(line)}"
        _wait_for_port(int(line))

    def stop(self) -> None:
        process = self._process
        if process.poll() is None:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait(timeout=5)
        self._errors = process.stderr.read() if process.stderr else ""
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def dynalite_server(node: str, package: Path) -> ServerProcess:
    """dynalite in memory on a free loopback port."""
    return ServerProcess([node, "-e", _DYNALITE_SCRIPT, str(package)], "dynalite")


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def leanmcp_item(
    session_id: str,
    *,
    created_at: str | None,
    updated_at: str,
    ttl: int,
    data: dict[str, Any],
) -> dict[str, Any]:
    """An item exactly as LeanMCP's DocumentClient marshals it; ``data`` holds attribute values."""
    item: dict[str, Any] = {"sessionId": {"S": session_id}}
    if created_at is not None:
        item["createdAt"] = {"S": created_at}
    item["updatedAt"] = {"S": updated_at}
    item["ttl"] = {"N": str(ttl)}
    item["data"] = {"M": data}
    return item
