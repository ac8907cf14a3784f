"""Helpers for the state-handle tests: basket server processes, the TypeScript client, a launcher.

Run as a script it serves the basket example (``examples.basket_server``),
optionally with the demo bearer-token auth of ``mcp_support`` and a PostgreSQL
table of the test's own::

    python tests/basket_support.py --auth --port 8123 --store sqlite --sqlite-path x.db
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
    from .mcp_support import REPO_ROOT, ServerProcess
    from .npm_packages import install_pinned
except ImportError:
    from mcp_support import REPO_ROOT, ServerProcess  # type: ignore[no-redef]
    from npm_packages import install_pinned  # type: ignore[no-redef]

TS_CLIENT_PACKAGE = "@modelcontextprotocol/client"
TS_CLIENT_VERSION = "2.4.0"
CALL_TOOLS_SCRIPT = Path(__file__).resolve().parent / "js_clients" / "call_tools.mjs"
UNKNOWN_BASKET = "Error executing tool {tool}: unknown or expired basket_id; create a new basket"


class BasketServer(ServerProcess):
    """A basket example server process, started through this file's launcher."""

    def command(self) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), *(["--auth"] if self.auth else [])]


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


def ts_call_tools(
    node: str, package: Path, url: str, calls: list[dict[str, Any]], token: str | None = None
) -> dict[str, Any]:
    """Run ``calls`` in one TypeScript client pinned to 2026-07-28; its JSON report."""
    done = subprocess.run(
        [node, str(CALL_TOOLS_SCRIPT), str(package), url, token or "", json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise AssertionError(f"the TypeScript client failed:\n{done.stdout}\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


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
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mcp.server.auth.settings import AuthSettings
    from pydantic import AnyHttpUrl

    from examples import basket_server

    arguments = list(sys.argv[1:] if argv is None else argv)
    auth = "--auth" in arguments
    if auth:
        arguments.remove("--auth")
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
    if not auth:
        basket_server.serve(options, store=store)
        return
    from mcp_support import DemoTokenVerifier

    settings = AuthSettings(
        issuer_url=AnyHttpUrl("https://issuer.example.test"), resource_server_url=None
    )
    basket_server.serve(options, auth=settings, token_verifier=DemoTokenVerifier(), store=store)


if __name__ == "__main__":
    main()
