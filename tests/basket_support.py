"""Helpers for the state-handle tests: basket server processes, the TypeScript client, a launcher.

Run as a script it serves the basket example (``examples.basket_server``) with
the example's own flags (``--token`` among them), and optionally a PostgreSQL
table of the test's own::

    python tests/basket_support.py --token alice=alice-token --port 8123 --sqlite-path x.db
    python tests/basket_support.py --postgres-table t_123 --store postgres --database-url URL
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

try:  # tests/ as a package or as a plain folder on sys.path
    from .mcp_support import REPO_ROOT, TOKEN_ARGS, ServerProcess
    from .npm_packages import install_pinned
except ImportError:
    from mcp_support import REPO_ROOT, TOKEN_ARGS, ServerProcess  # type: ignore[no-redef]
    from npm_packages import install_pinned  # type: ignore[no-redef]

TS_CLIENT_PACKAGE = "@modelcontextprotocol/client"
TS_CLIENT_VERSION = "2.4.0"
TS_SDK_V1_PACKAGE = "@modelcontextprotocol/sdk"
TS_SDK_V1_VERSION = "1.32.2"
CALL_TOOLS_SCRIPT = Path(__file__).resolve().parent / "js_clients" / "call_tools.mjs"
UNKNOWN_BASKET = "Error executing tool {tool}: unknown or expired basket_id; create a new basket"


class BasketServer(ServerProcess):
    """A basket example server process, started through this file's launcher."""

    def command(self) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), *(TOKEN_ARGS if self.auth else [])]


# --- the TypeScript SDK v2 client ------------------------------------------------------------


def require_node() -> tuple[str, str]:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("the TypeScript client needs node and npm, and this machine lacks one")
    return node, npm


def install_ts_client(npm: str) -> Path:
    """Install the client (pinned) once into a cache folder outside the tree; its package folder."""
    return install_pinned(
        npm,
        TS_CLIENT_PACKAGE,
        TS_CLIENT_VERSION,
        folder=f"mcp-client-{TS_CLIENT_VERSION}",
        cache_env="MCP_TS_CLIENT_DIR",
    )


def install_ts_sdk_v1(npm: str) -> Path:
    """The v1 TypeScript SDK (handshake era only), installed as the v2 client is."""
    return install_pinned(
        npm,
        TS_SDK_V1_PACKAGE,
        TS_SDK_V1_VERSION,
        folder=f"mcp-sdk-{TS_SDK_V1_VERSION}",
        cache_env="MCP_TS_SDK_V1_DIR",
    )


def _run_ts_client(
    node: str,
    package: Path,
    url: str,
    calls: list[dict[str, Any]],
    token: str | None,
    legacy: bool,
) -> tuple[int, dict[str, Any] | None, str]:
    command = [node, str(CALL_TOOLS_SCRIPT), str(package), url, token or "", json.dumps(calls)]
    done = subprocess.run(
        [*command, *(["legacy"] if legacy else [])], capture_output=True, text=True, timeout=60
    )
    lines = done.stdout.strip().splitlines()
    try:
        report: dict[str, Any] | None = json.loads(lines[-1]) if lines else None
    except ValueError:
        report = None
    return done.returncode, report, f"{done.stdout}\n{done.stderr}"


def ts_call_tools(
    node: str,
    package: Path,
    url: str,
    calls: list[dict[str, Any]],
    token: str | None = None,
    *,
    legacy: bool = False,
) -> dict[str, Any]:
    """Run ``calls`` in one TypeScript client (the v2 client: pinned to 2026-07-28 unless
    ``legacy``; the v1 SDK: handshake era); its JSON report."""
    code, report, output = _run_ts_client(node, package, url, calls, token, legacy)
    if code != 0 or report is None:
        raise AssertionError(f"the TypeScript client failed:\n{output}")
    return report


def ts_refusal(
    node: str, package: Path, url: str, token: str | None = None, *, legacy: bool = False
) -> dict[str, Any]:
    """Connect a TypeScript client that the server must refuse; the refusal's status and message."""
    code, report, output = _run_ts_client(node, package, url, [], token, legacy)
    if code != 2 or report is None or "refused" not in report:
        raise AssertionError(f"the TypeScript client was not refused:\n{output}")
    refused: dict[str, Any] = report["refused"]
    return refused


@contextlib.contextmanager
def dropped_postgres_table(database_url: str, table: str) -> Iterator[None]:
    """Drop ``table`` when the block ends (the servers create it)."""
    try:
        yield
    finally:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(f'DROP TABLE IF EXISTS "{table}"')


# --- the launcher ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from examples import basket_server

    arguments = list(sys.argv[1:] if argv is None else argv)
    table = None
    if "--postgres-table" in arguments:
        at = arguments.index("--postgres-table")
        table = arguments[at + 1]
        del arguments[at : at + 2]
    options = basket_server.argument_parser().parse_args(arguments)
    store = None
    if table is not None:
        from reference_stores.postgres import PostgresSessionStore

        store = PostgresSessionStore(options.database_url, table=table, ttl_seconds=options.ttl)
    basket_server.serve(options, store=store)


if __name__ == "__main__":
    main()
