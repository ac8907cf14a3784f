"""CI's run of the reference stores through the strict endpoints, as a user runs the kit.

The DynamoDB store on a moto server behind ``--conformance-strict-dynamodb``,
and the Redis store on ``$REDIS_URL`` behind ``--conformance-faulty-redis``,
each judged on every clause (ERR-BACKEND also against a backend that is down).
Its table and keys are its own, removed afterwards. Exits non-zero when either
run fails.

    python tests/strict_reference_runs.py
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from dynamodb_backends import (
    AWS_TEST_ENVIRONMENT,
    client_for,
    delete_table,
    moto_server,
    unique_table_name,
)

from reference_stores.dynamodb import create_table


def _kit(*args: str, env: dict[str, str] | None = None) -> int:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", *args]
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, env={**os.environ, **(env or {})}, check=False).returncode


def dynamodb_through_the_strict_endpoint() -> int:
    with moto_server() as upstream:
        client = client_for(upstream)
        table = unique_table_name("strict-ci")
        create_table(table, client=client)
        try:
            return _kit(
                "--store=dynamodb",
                f"--store-option=table_name={table}",
                "--store-option=endpoint_url={strict_dynamodb}",
                f"--conformance-strict-dynamodb={upstream}",
                # A backend that is down too: ERR-BACKEND judged both ways.
                "--failing-store-option=endpoint_url=http://127.0.0.1:1",
                "--failing-store-option=connect_timeout=1",
                env=AWS_TEST_ENVIRONMENT,
            )
        finally:
            delete_table(client, table)
            client.close()


def redis_through_the_fault_injecting_endpoint() -> int:
    import redis

    upstream = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    prefix = f"strict-ci-{secrets.token_hex(4)}:"
    try:
        return _kit(
            "--store=redis",
            "--store-option=url={faulty_redis}/0",
            f"--store-option=key_prefix={prefix}",
            "--store-option=socket_timeout=2",
            f"--conformance-faulty-redis={upstream}",
            "--failing-store-option=url=redis://127.0.0.1:1/0",
        )
    finally:
        client = redis.Redis.from_url(upstream)
        left = list(client.scan_iter(match=f"{prefix}*"))
        if left:
            client.delete(*left)
        client.close()


if __name__ == "__main__":
    failed = dynamodb_through_the_strict_endpoint() | redis_through_the_fault_injecting_endpoint()
    sys.exit(1 if failed else 0)
