"""DynamoDBSessionStore against the raw boto3 call doing the same single job, same client.

Runs against a moto server it starts on a free loopback port, in a process of its
own (``DYNAMODB_BENCH_ENDPOINT`` points it at another endpoint instead, e.g.
DynamoDB Local; its table is created and deleted by the run).

boto3 is synchronous, so from asyncio the raw call also has to run in a thread:
it goes through a thread pool as wide as the store's (50), on the very client
the store uses, with request parameters built once beforehand, except the data: as
any caller must, a raw write encodes it to attribute values per call and a raw read
decodes the reply's, with boto3's ``TypeSerializer`` and ``TypeDeserializer``. The
ratio thus charges the store for what it adds: its checks, its exact encoding of
numbers, building SessionData.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from reference_stores.dynamodb import (
    DEFAULT_MAX_POOL_CONNECTIONS,
    UPDATE_CONDITION,
    DynamoDBSessionStore,
    create_table,
    item_from_session,
)

from .harness import Case, RevisionedSessions

TTL_SECONDS = 3600  # longer than any run: sessions made up front must not expire mid-run
LIVE_SESSIONS = 200
CONDITIONAL_SESSIONS = 64
"""More than the tasks in flight: concurrent conditional updates never share a session."""
DATA = {
    "client": {"name": "example-client", "version": "1.4.2"},
    "capabilities": {"sampling": {}, "roots": {"listChanged": True}},
    "protocolVersion": "2025-06-18",
    "logLevel": "info",
    "requests": 42,
}
"""A typical MCP session record: a few hundred bytes of JSON."""

_MOTO_SERVER = """
import logging, os, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)  # a graceful stop would wait for every idle keep-alive connection
"""


@contextlib.contextmanager
def _endpoint() -> Iterator[str]:
    configured = os.environ.get("DYNAMODB_BENCH_ENDPOINT")
    if configured:
        yield configured
        return
    server = subprocess.Popen(
        [sys.executable, "-c", _MOTO_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError("the moto server did not start (is moto[server] installed?)")
        yield f"http://127.0.0.1:{port}"
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.terminate()
            server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


@asynccontextmanager
async def cases() -> AsyncIterator[list[Case]]:
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    with _endpoint() as url:
        table = f"bench-sessions-{secrets.token_hex(4)}"
        store = DynamoDBSessionStore(table, endpoint_url=url, ttl_seconds=TTL_SECONDS)
        client = store.client  # the raw calls go through the very client the store uses
        create_table(table, client=client)
        pool = ThreadPoolExecutor(DEFAULT_MAX_POOL_CONNECTIONS)  # as wide as the store's
        loop = asyncio.get_running_loop()

        def raw(method: Callable[..., Any], **params: Any) -> Any:
            return loop.run_in_executor(pool, functools.partial(method, **params))

        # Parameters of the raw calls, built once: the store builds its own on every call.
        now_ms = int(time.time() * 1000)
        now_s = str(now_ms // 1000)
        expiry = str(now_ms // 1000 + TTL_SECONDS + 1)
        item = item_from_session("raw-live", now_ms, now_ms, int(expiry), DATA)
        names = {"#ttl": "ttl"}
        update_names = {"#ttl": "ttl", "#data": "data", "#rev": "revision"}
        update_values = {
            ":now": {"N": now_s},
            ":at": item["updatedAt"],
            ":ttl": {"N": expiry},
            ":data": item["data"],
            ":one": {"N": "1"},
        }
        conditional_values = {key: update_values[key] for key in (":now", ":at", ":ttl", ":data")}
        serializer, deserializer = TypeSerializer(), TypeDeserializer()
        # Live sessions for get/exists/update, on both sides. More of them than tasks in
        # flight, so concurrent updates never contend for one session (where the store,
        # keeping updatedAt monotonic, would retry and the raw call would just fail).
        live_ids = [f"live{index}" for index in range(LIVE_SESSIONS)]
        raw_keys = [{"sessionId": {"S": f"raw-{name}"}} for name in live_ids]
        for name, raw_key in zip(live_ids, raw_keys, strict=True):
            await store.create_session(name, DATA)
            client.put_item(TableName=table, Item={**item, **raw_key})
        store_revisions = RevisionedSessions(f"cond{n}" for n in range(CONDITIONAL_SESSIONS))
        raw_revisions = RevisionedSessions(
            {"sessionId": {"S": f"raw-cond{n}"}} for n in range(CONDITIONAL_SESSIONS)
        )
        for n in range(CONDITIONAL_SESSIONS):
            await store.create_session(f"cond{n}", DATA)
            client.put_item(TableName=table, Item={**item, "sessionId": {"S": f"raw-cond{n}"}})
        created_store, created_raw = itertools.count(), itertools.count()
        deleted_store, deleted_raw = itertools.count(), itertools.count()

        async def store_create(_: int) -> None:
            await store.create_session(f"c{next(created_store)}", DATA)

        async def raw_create(_: int) -> object:
            return await raw(
                client.put_item,
                TableName=table,
                Item={
                    **item,
                    "sessionId": {"S": f"raw-c{next(created_raw)}"},
                    "data": serializer.serialize(DATA),
                },
                ConditionExpression="attribute_not_exists(sessionId) OR #ttl <= :now",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":now": {"N": now_s}},
            )

        async def store_delete(_: int) -> None:
            # The ids the create case made: each delete removes a real item.
            await store.delete_session(f"c{next(deleted_store)}")

        async def raw_delete(_: int) -> object:
            return await raw(
                client.delete_item,
                TableName=table,
                Key={"sessionId": {"S": f"raw-c{next(deleted_raw)}"}},
            )

        async def store_get(index: int) -> object:
            return await store.get_session(live_ids[index % LIVE_SESSIONS])

        async def raw_get(index: int) -> object:
            reply = await raw(
                client.get_item,
                TableName=table,
                Key=raw_keys[index % LIVE_SESSIONS],
                ConsistentRead=True,
            )
            return deserializer.deserialize(reply["Item"]["data"])

        async def store_exists(index: int) -> object:
            return await store.session_exists(live_ids[index % LIVE_SESSIONS])

        async def raw_exists(index: int) -> object:
            return await raw(
                client.get_item,
                TableName=table,
                Key=raw_keys[index % LIVE_SESSIONS],
                ConsistentRead=True,
                ProjectionExpression="sessionId, #ttl",
                ExpressionAttributeNames=names,
            )

        async def store_update(index: int) -> None:
            await store.update_session(live_ids[index % LIVE_SESSIONS], {"data": DATA})

        async def raw_update(index: int) -> object:
            return await raw(
                client.update_item,
                TableName=table,
                Key=raw_keys[index % LIVE_SESSIONS],
                UpdateExpression=(
                    "SET updatedAt = :at, #ttl = :ttl, #data = :data, "
                    "#rev = if_not_exists(#rev, :one) + :one"
                ),
                # The store's own condition: a caller must also accept LeanMCP's items,
                # which may lack ttl and updatedAt.
                ConditionExpression=UPDATE_CONDITION,
                ExpressionAttributeNames=update_names,
                ExpressionAttributeValues={**update_values, ":data": serializer.serialize(DATA)},
            )

        async def store_conditional(_: int) -> None:
            taken = store_revisions.take()
            await store.update_session(taken[0], {"data": DATA}, expected_revision=taken[1])
            store_revisions.written(taken)

        async def raw_conditional(_: int) -> None:
            # A failed condition raises ConditionalCheckFailedException here too.
            taken = raw_revisions.take()
            await raw(
                client.update_item,
                TableName=table,
                Key=taken[0],
                UpdateExpression="SET updatedAt = :at, #ttl = :ttl, #data = :data, #rev = :next",
                ConditionExpression=UPDATE_CONDITION + " AND #rev = :expected",
                ExpressionAttributeNames=update_names,
                ExpressionAttributeValues={
                    **conditional_values,
                    ":data": serializer.serialize(DATA),
                    ":expected": {"N": str(taken[1])},
                    ":next": {"N": str(taken[1] + 1)},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            raw_revisions.written(taken)

        try:
            yield [
                Case("create_session", store_create, raw_create, "PutItem, conditional"),
                Case("get_session", store_get, raw_get, "GetItem, consistent"),
                Case("session_exists", store_exists, raw_exists, "GetItem, projected"),
                Case("update_session", store_update, raw_update, "UpdateItem, conditional"),
                Case(
                    "update (conditional)",
                    store_conditional,
                    raw_conditional,
                    "UpdateItem, conditional on the revision",
                ),
                Case("delete_session", store_delete, raw_delete, "DeleteItem"),
            ]
        finally:
            with contextlib.suppress(Exception):
                client.delete_table(TableName=table)
            pool.shutdown(wait=True)
            await store.aclose()
