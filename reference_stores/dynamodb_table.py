"""The DynamoDB client and table administration of the DynamoDB store.

``new_boto3_session`` (a thread-safe way to build clients quickly), the client
the store builds from its options, and ``create_table``: the sessions table as
LeanMCP documents it (partition key ``sessionId``, on-demand billing, TTL on
``ttl``), created if missing, waited for until active, its key schema checked
and TTL enabled.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import Loader, create_loader

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

__all__ = [
    "DEFAULT_REGION",
    "DEFAULT_TABLE_NAME",
    "create_table",
    "new_boto3_session",
]

# The store's logger: these messages keep the name they had when this code was in dynamodb.py.
logger = logging.getLogger(__name__.removesuffix("_table"))

DEFAULT_TABLE_NAME = "leanmcp-sessions"
DEFAULT_REGION = "us-east-1"

# Error codes emulators answer with for TTL settings they do not implement.
_TTL_UNSUPPORTED = frozenset(
    {
        "UnknownOperationException",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "NotImplemented",
        "NotImplementedError",
        "InvalidAction",
    }
)


def _build_client(
    *,
    region: str | None,
    endpoint_url: str | None,
    max_pool_connections: int,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
) -> DynamoDBClient:
    if isinstance(max_pool_connections, bool) or not isinstance(max_pool_connections, int):
        raise TypeError("max_pool_connections must be an int")
    if max_pool_connections < 1:
        raise ValueError(f"max_pool_connections must be at least 1, not {max_pool_connections}")
    config = Config(
        max_pool_connections=max_pool_connections,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )
    return new_boto3_session().client(
        "dynamodb",
        region_name=region or os.environ.get("AWS_REGION") or DEFAULT_REGION,
        endpoint_url=endpoint_url or os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        config=config,
    )


_LOADER_LOCK = threading.Lock()
_loader: Loader | None = None


def new_boto3_session() -> boto3.session.Session:
    """A boto3 session of its own (sessions are not thread-safe) sharing one model loader.

    Parsing DynamoDB's service model is most of the cost of a new client; the
    loader caches it, so every store after the first builds its client quickly.
    """
    global _loader
    with _LOADER_LOCK:
        if _loader is None:
            _loader = create_loader()
        loader = _loader
    core = botocore.session.Session()
    core.register_component("data_loader", loader)
    return boto3.session.Session(botocore_session=core)


def create_table(
    table_name: str = DEFAULT_TABLE_NAME,
    *,
    client: DynamoDBClient | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    timeout: float = 60.0,
) -> bool:
    """Create the sessions table as LeanMCP documents it, and return whether it was created.

    Partition key ``sessionId`` (S), on-demand billing (``PAY_PER_REQUEST``), TTL
    on the ``ttl`` attribute. Idempotent: an existing table is left as it is, but
    its key schema is checked and TTL enabled when it is off. Emulators that
    do not implement TTL settings are tolerated (the store hides expired items
    itself). Waits up to ``timeout`` seconds for the table to become active.
    """
    own_client = client is None
    if client is None:
        client = _build_client(
            region=region,
            endpoint_url=endpoint_url,
            max_pool_connections=1,
            connect_timeout=5.0,
            read_timeout=10.0,
            max_attempts=3,
        )
    try:
        created = False
        try:
            client.create_table(
                TableName=table_name,
                AttributeDefinitions=[{"AttributeName": "sessionId", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "sessionId", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
            created = True
        except ClientError as error:
            if _error_code(error) != "ResourceInUseException":
                raise
        table = _wait_active(client, table_name, timeout)
        key_schema = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
        if key_schema != [("sessionId", "HASH")]:
            raise ValueError(
                f"table {table_name!r} exists with the key schema {key_schema}, "
                "not LeanMCP's (partition key sessionId only)"
            )
        _enable_ttl(client, table_name)
        return created
    finally:
        if own_client:
            client.close()


def _wait_active(client: DynamoDBClient, table_name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        table: dict[str, Any] = dict(client.describe_table(TableName=table_name)["Table"])
        if table.get("TableStatus") == "ACTIVE":
            return table
        if time.monotonic() + delay > deadline:
            raise TimeoutError(
                f"table {table_name!r} is still {table.get('TableStatus')} after {timeout} s"
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _enable_ttl(client: DynamoDBClient, table_name: str) -> None:
    try:
        description = client.describe_time_to_live(TableName=table_name)
        settings = description.get("TimeToLiveDescription", {})
        status = settings.get("TimeToLiveStatus")
        attribute = settings.get("AttributeName")
        if status in ("ENABLED", "ENABLING"):
            if attribute != "ttl":
                logger.warning(
                    "table %r has TTL on %r, not 'ttl': DynamoDB will not remove expired "
                    "sessions (the store still hides them)",
                    table_name,
                    attribute,
                )
            return
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
        )
    except ClientError as error:
        if _error_code(error) not in _TTL_UNSUPPORTED:
            raise
        logger.info(
            "the endpoint does not implement TTL settings (%s); expired sessions are "
            "hidden by the store but never removed",
            _error_code(error),
        )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
