"""The example programs answer a user's mistakes in one line, naming their own flags."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("mcp")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _python(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("DATABASE_URL", None)
    environment.pop("DYNAMODB_TABLE_NAME", None)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_client_without_a_server_says_so_in_one_line() -> None:
    url = f"http://127.0.0.1:{_free_port()}/mcp"
    for extra in ([], ["--session-id", "abc"]):
        ran = _python("-m", "examples.counter_client", "--url", url, *extra)
        assert ran.returncode == 1
        assert ran.stdout == ""
        assert ran.stderr.strip() == (
            f"error: cannot reach the MCP server at {url}: is it running? "
            "(start it with: python -m examples.counter_server)"
        )


@pytest.mark.parametrize(
    ("store", "flag"),
    [("postgres", "--database-url URL"), ("dynamodb", "--dynamodb-table NAME")],
)
def test_the_server_names_a_missing_store_option_by_its_flag(store: str, flag: str) -> None:
    ran = _python("-m", "examples.counter_server", "--store", store)
    assert ran.returncode == 2
    assert f"error: --store {store} needs {flag}" in ran.stderr
    assert "dsn=" not in ran.stderr
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize(
    "module",
    ["examples.counter_server", "examples.basket_server", "examples.fastmcp_counter_server"],
)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pool-size", "0"], "--pool-size must be at least 1, not 0"),
        (["--pool-timeout", "0"], "--pool-timeout must be a positive number of seconds, not 0.0"),
    ],
)
def test_every_server_names_a_bad_pool_flag(module: str, args: list[str], message: str) -> None:
    ran = _python("-m", module, *args)
    assert ran.returncode == 2
    assert f"error: {message}" in ran.stderr
    assert "Traceback" not in ran.stderr


@pytest.mark.e2e
def test_the_memory_store_says_it_does_not_persist_and_a_down_store_is_one_line() -> None:
    port = _free_port()
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "examples.counter_server", "--store", "memory", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        second = server.stdout.readline()
        assert "sessions in memory" in first
        assert "they end when it stops" in second
        url = f"http://127.0.0.1:{port}/mcp"
        deadline = time.monotonic() + 30
        while True:
            ran = _python("-m", "examples.counter_client", "--url", url)
            if ran.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert ran.returncode == 0, ran.stderr
        hint = ran.stdout.splitlines()[-1]
        assert hint.startswith(f"continue it with: python -m examples.counter_client --url {url} ")
        again = _python(*hint.split("continue it with: python ", 1)[1].split())
        assert again.returncode == 0, again.stderr
        assert "count = 2" in again.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.e2e
def test_a_server_whose_store_is_down_answers_and_logs_in_one_line() -> None:
    port = _free_port()
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "examples.counter_server",
            "--store",
            "redis",
            "--redis-url",
            "redis://127.0.0.1:1/0",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert "sessions in redis" in server.stdout.readline()
        url = f"http://127.0.0.1:{port}/mcp"
        deadline = time.monotonic() + 30
        while True:
            ran = _python("-m", "examples.counter_client", "--url", url)
            if "cannot reach" not in ran.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert ran.returncode == 1
        assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
        assert f"error: the server at {url} cannot use its session store" in ran.stderr
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert errors
    assert "Connection refused" in errors[0] or "ConnectionRefusedError" in errors[0]
    assert "Traceback" not in output
