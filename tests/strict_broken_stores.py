"""Stores that emulators let pass and the strict endpoints catch, one mistake each.

Each is a reference store (DynamoDB or Redis) with one behaviour changed, the
way a store author writes it after testing on moto, dynalite or a local Redis.
``STRICT_BROKEN_STORES`` maps each to the clause it must fail through the
strict endpoints (and to pass on the plain emulator).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from redis.exceptions import ConnectionError as RedisConnectionError

from reference_stores import SessionData, SessionStoreError
from reference_stores.dynamodb import MAX_NATIVE_DEPTH, DynamoDBSessionStore
from reference_stores.redis import RedisSessionStore

__all__ = [
    "STRICT_BROKEN_STORES",
    "EventuallyConsistentDynamoDBStore",
    "NativeDeepNestingDynamoDBStore",
    "NoneOnDroppedConnectionRedisStore",
    "ThrottleSwallowingDynamoDBStore",
]


class _EventualReadsClient:
    """A boto3 client whose GetItem never asks for ``ConsistentRead``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_item(self, **params: Any) -> Any:
        params.pop("ConsistentRead", None)
        return self._client.get_item(**params)


class EventuallyConsistentDynamoDBStore(DynamoDBSessionStore):
    """Reads without ``ConsistentRead``, as LeanMCP's DynamoDB store does."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self._client = _EventualReadsClient(self._client)  # type: ignore[assignment]


_THROTTLED = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException"})


def _throttled(error: SessionStoreError) -> bool:
    cause = error.__cause__
    return isinstance(cause, ClientError) and cause.response["Error"]["Code"] in _THROTTLED


class ThrottleSwallowingDynamoDBStore(DynamoDBSessionStore):
    """Treats a throttled call as "nothing there": False, None, silence (LeanMCP's way with failures)."""

    async def session_exists(self, session_id: str) -> bool:
        try:
            return await super().session_exists(session_id)
        except SessionStoreError as error:
            if _throttled(error):
                return False
            raise

    async def get_session(self, session_id: str) -> SessionData | None:
        try:
            return await super().get_session(session_id)
        except SessionStoreError as error:
            if _throttled(error):
                return None
            raise

    async def create_session(self, session_id: str, data: Any = None) -> None:
        try:
            await super().create_session(session_id, data)
        except SessionStoreError as error:
            if not _throttled(error):
                raise

    async def update_session(self, session_id: str, updates: Any, **options: Any) -> None:
        try:
            await super().update_session(session_id, updates, **options)
        except SessionStoreError as error:
            if not _throttled(error):
                raise

    async def delete_session(self, session_id: str) -> None:
        try:
            await super().delete_session(session_id)
        except SessionStoreError as error:
            if not _throttled(error):
                raise


class _NativeNestingClient:
    """A boto3 client that writes deep data as native maps and lists, where the reference
    store escapes it (past DynamoDB's 32 levels) into Binary JSON."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **params: Any) -> Any:
        params["Item"] = {name: _native(value, 1) for name, value in params["Item"].items()}
        return self._client.put_item(**params)

    def update_item(self, **params: Any) -> Any:
        values = params.get("ExpressionAttributeValues", {})
        if ":data" in values:
            values[":data"] = _native(values[":data"], 1)
        return self._client.update_item(**params)


def _native(value: Any, depth: int) -> Any:
    # depth counts from the top-level attribute (data itself is at 1, as in the codec).
    if "M" in value:
        return {"M": {k: _native(v, depth + 1) for k, v in value["M"].items()}}
    if "L" in value:
        return {"L": [_native(v, depth + 1) for v in value["L"]]}
    if "B" in value and depth > MAX_NATIVE_DEPTH:
        return _attribute(json.loads(value["B"]))
    return value


def _attribute(value: Any) -> Any:
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, float)):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    return {"M": {k: _attribute(v) for k, v in value.items()}}


class NativeDeepNestingDynamoDBStore(DynamoDBSessionStore):
    """Writes data nested past 32 levels as native maps and lists: emulators take it, DynamoDB refuses."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self._client = _NativeNestingClient(self._client)  # type: ignore[assignment]


class NoneOnDroppedConnectionRedisStore(RedisSessionStore):
    """Takes a connection closed mid-reply for a missing key: get_session returns None.

    A backend that is down still raises (its author tested that), so ERR-BACKEND's
    dead-backend check passes; only a dropped connection shows the mistake.
    """

    async def get_session(self, session_id: str) -> SessionData | None:
        try:
            return await super().get_session(session_id)
        except SessionStoreError as error:
            if isinstance(error.__cause__, RedisConnectionError) and "closed" in str(
                error.__cause__
            ):
                return None
            raise


STRICT_BROKEN_STORES = {
    EventuallyConsistentDynamoDBStore: "CONS-READ-YOUR-WRITES",
    ThrottleSwallowingDynamoDBStore: "ERR-BACKEND",
    NativeDeepNestingDynamoDBStore: "DATA-NESTING",
    NoneOnDroppedConnectionRedisStore: "ERR-BACKEND",
}
