"""Sessions in a DynamoDB table, in LeanMCP's item format, one request per operation.

The item codec (``dynamodb_codec``) and the table helper (``dynamodb_table``) live apart;
what stays is one piece: the operations and the decisions each makes about an item.

Each session is one item, exactly as LeanMCP's TypeScript ``DynamoDBSessionStore``
writes it, so a Python and a TypeScript server can share a table::

    sessionId  S  partition key
    createdAt  S  toISOString() form, 2026-11-23T19:22:48.123Z
    updatedAt  S  same form
    ttl        N  expiry, integer Unix epoch seconds (the table's TTL attribute)
    data       M  the session data
    revision   N  this store's count of data writes; LeanMCP neither writes nor needs it

An item without ``revision`` (LeanMCP wrote it) is at revision 1.

- create: ``PutItem`` on condition ``attribute_not_exists(sessionId) OR ttl <= now``.
- get, exists: ``GetItem`` with a strongly consistent read; expired items are
  hidden here, because DynamoDB deletes them only eventually (often days later).
- update: ``UpdateItem`` on condition "exists, not expired, updatedAt <= now"
  (with ``expected_revision``, "and revision = expected"; a data write adds 1):
  an update racing a delete never brings a session back (no upsert). Should the
  stored ``updatedAt`` be later (another writer's clock is ahead, or a race), the
  update is sent again at that later moment, so ``updatedAt`` never goes back.
  The failed condition returns the item (``ReturnValuesOnConditionCheckFailure``);
  on an endpoint that does not (dynalite), the store reads it instead.
- delete: ``DeleteItem``.

Expiry: ``ttl = ceil(written_at + ttl_seconds)`` in whole seconds, and an item is
expired once ``now >= ttl``. A session so lives at least ``ttl_seconds`` and at
most one second more, while the attribute stays the integer DynamoDB's TTL needs.

The item format and the codec of ``data`` (numbers, and the JSON that DynamoDB's
types cannot hold) are in ``dynamodb_codec.py``; the client and ``create_table``
in ``dynamodb_table.py``. This module re-exports their public names.

boto3 is synchronous: every call runs in the store's own thread pool, as wide as
the client's connection pool, so the event loop never blocks and concurrent
operations overlap.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .base import ReferenceStore, ttl_ms_from_seconds
from .dynamodb_codec import (
    _MAX_SIGNIFICANT_DIGITS,
    MAX_ITEM_BYTES,
    MAX_NATIVE_DEPTH,
    _decode,
    _encode_data,
    _expiry_number,
    _revision_number,
    item_from_session,
    session_from_item,
)
from .dynamodb_table import (
    DEFAULT_REGION,
    DEFAULT_TABLE_NAME,
    _build_client,
    _error_code,
    create_table,
    new_boto3_session,
)
from .errors import BackendErrors, RevisionConflictError, SessionExistsError, SessionStoreError
from .interface import SessionData
from .validation import (
    Clock,
    default_clock,
    iso_from_ms,
    ms_from_iso,
    now_ms,
    validate_data,
    validate_expected_revision,
    validate_session_id,
    validate_updates,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

__all__ = [
    "DEFAULT_MAX_POOL_CONNECTIONS",
    "DEFAULT_REGION",
    "DEFAULT_TABLE_NAME",
    "DEFAULT_TTL_SECONDS",
    "MAX_ITEM_BYTES",
    "MAX_NATIVE_DEPTH",
    "UPDATE_CONDITION",
    "DynamoDBSessionStore",
    "create_table",
    "item_from_session",
    "new_boto3_session",
    "session_from_item",
]

DEFAULT_TTL_SECONDS = 86400
DEFAULT_MAX_POOL_CONNECTIONS = 50

_BACKEND_EXCEPTIONS: tuple[type[BaseException], ...] = (ClientError, BotoCoreError)
_EXISTS_ERRORS = BackendErrors("dynamodb", "session_exists", _BACKEND_EXCEPTIONS)
_CREATE_ERRORS = BackendErrors("dynamodb", "create_session", _BACKEND_EXCEPTIONS)
_GET_ERRORS = BackendErrors("dynamodb", "get_session", _BACKEND_EXCEPTIONS)
_UPDATE_ERRORS = BackendErrors("dynamodb", "update_session", _BACKEND_EXCEPTIONS)
_DELETE_ERRORS = BackendErrors("dynamodb", "delete_session", _BACKEND_EXCEPTIONS)
_TABLE_ERRORS = BackendErrors("dynamodb", "create_table", _BACKEND_EXCEPTIONS)

_CONDITION_FAILED = "ConditionalCheckFailedException"
# "data" and "ttl" are DynamoDB reserved words: always referred to by these aliases.
_NAMES_TTL = {"#ttl": "ttl"}
_NAMES_TTL_REVISION = {"#ttl": "ttl", "#rev": "revision"}
_NAMES_TTL_DATA_REVISION = {"#ttl": "ttl", "#data": "data", "#rev": "revision"}
# A data write adds 1; an item LeanMCP wrote has no revision and is at 1.
_ADD_REVISION = "#rev = if_not_exists(#rev, :one) + :one"
_ONE = {"N": "1"}
_IF_REVISION = " AND #rev = :expected"
_IF_REVISION_1 = " AND (#rev = :expected OR attribute_not_exists(#rev))"
_MAX_REVISION = 10**_MAX_SIGNIFICANT_DIGITS - 1  # the largest integer an N attribute holds
_CREATE_CONDITION = "attribute_not_exists(sessionId) OR #ttl <= :now"
_LIVE = "attribute_exists(sessionId) AND (attribute_not_exists(#ttl) OR #ttl > :now)"
UPDATE_CONDITION = f"{_LIVE} AND (attribute_not_exists(updatedAt) OR updatedAt <= :at)"
"""What every update requires: a live session whose updatedAt the write does not move back."""
_UPDATE_CONDITION_EXACT = f"{_LIVE} AND updatedAt = :seen"
_MAX_UPDATE_ATTEMPTS = 16


class DynamoDBSessionStore(ReferenceStore):
    """A conforming session store on a DynamoDB table in LeanMCP's format.

    Options as LeanMCP's: ``table_name`` (else ``$DYNAMODB_TABLE_NAME``, else
    ``leanmcp-sessions``), ``region`` (else ``$AWS_REGION``, else ``us-east-1``),
    ``ttl_seconds`` (default 86400; ``None`` writes items without ``ttl``, which
    never expire). Beyond them:

    - ``client``: a boto3 DynamoDB client to use (stays yours to close); its
      ``max_pool_connections`` sets how many calls run at once.
    - ``endpoint_url``: for emulators (else ``$DYNAMODB_ENDPOINT_URL``, else
      what boto3 reads itself: ``$AWS_ENDPOINT_URL_DYNAMODB``, ``$AWS_ENDPOINT_URL``).
    - ``clock``: epoch seconds, used for timestamps and every expiry decision.
    - ``create_table``: create the table (on-demand, TTL on ``ttl``) on first use
      if it is missing. Off by default: production tables belong to infrastructure code.
    - ``max_pool_connections`` (default 50, also the width of the store's thread
      pool), ``connect_timeout``, ``read_timeout`` (seconds) and ``max_attempts``
      (tries in all, boto3's standard retry mode, default 3): for the client the
      store builds.
    """

    shares_sessions_across_instances = True
    """Every store on the same table sees the same sessions, TypeScript LeanMCP servers included."""

    supports_revisions = True
    """``update_session`` takes ``expected_revision``; items carry ``revision``."""

    def __init__(
        self,
        table_name: str | None = None,
        region: str | None = None,
        ttl_seconds: float | None = DEFAULT_TTL_SECONDS,
        *,
        client: DynamoDBClient | None = None,
        endpoint_url: str | None = None,
        clock: Clock | None = None,
        create_table: bool = False,
        max_pool_connections: int = DEFAULT_MAX_POOL_CONNECTIONS,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_attempts: int = 3,
    ) -> None:
        self._ttl_ms = ttl_ms_from_seconds(ttl_seconds)
        table = table_name or os.environ.get("DYNAMODB_TABLE_NAME") or DEFAULT_TABLE_NAME
        if not isinstance(table, str):
            raise TypeError(f"table_name must be a str, not {type(table).__name__}")
        self._table = table
        self._clock: Clock = clock if clock is not None else default_clock
        if not isinstance(create_table, bool):
            raise TypeError(f"create_table must be a bool, not {type(create_table).__name__}")
        self._table_pending = create_table
        self._table_lock: asyncio.Lock | None = None
        if client is not None:
            if endpoint_url is not None or region is not None:
                raise TypeError("pass either a client or region/endpoint_url, not both")
            if getattr(getattr(client, "meta", None), "service_model", None) is None or (
                client.meta.service_model.service_name != "dynamodb"
            ):
                raise TypeError("client must be a boto3 DynamoDB client (boto3.client('dynamodb'))")
            self._client = client
            self._owns_client = False
            workers = getattr(client.meta.config, "max_pool_connections", None) or 10
        else:
            self._client = _build_client(
                region=region,
                endpoint_url=endpoint_url,
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                max_attempts=max_attempts,
            )
            self._owns_client = True
            workers = max_pool_connections
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="dynamodb-session-store")
        # Whether this endpoint returns the item with a failed condition
        # (ReturnValuesOnConditionCheckFailure). DynamoDB and moto do, dynalite does not;
        # until one is seen, a failed update reads the item to learn why.
        self._returns_item_on_failure = False
        self._closed = False

    @property
    def client(self) -> DynamoDBClient:
        """The boto3 client the store sends its requests through."""
        return self._client

    @property
    def table_name(self) -> str:
        return self._table

    def close(self) -> None:
        """Stop the thread pool, and close the client if this store built it."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._owns_client:
            self._client.close()

    async def aclose(self) -> None:
        self.close()

    async def ensure_table(self) -> bool:
        """Create the table if it is missing (see ``create_table``); True if it was created."""
        with _TABLE_ERRORS:
            created = await self._call(
                functools.partial(create_table, self._table, client=self._client)
            )
        self._table_pending = False
        return bool(created)

    # -- the five operations -------------------------------------------------------------

    async def session_exists(self, session_id: str) -> bool:
        key = validate_session_id(session_id)
        now_s = now_ms(self._clock) // 1000
        if self._table_pending:
            await self._prepare_table()
        with _EXISTS_ERRORS:
            item = await self._read_item(key, only_expiry=True)
        return item is not None and not _expired(item, now_s)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        key = validate_session_id(session_id)
        copy = validate_data(data)
        written_ms = now_ms(self._clock)
        item = item_from_session(key, written_ms, written_ms, self._expiry(written_ms), copy, 1)
        if self._table_pending:
            await self._prepare_table()
        with _CREATE_ERRORS:
            try:
                await self._call(
                    functools.partial(
                        self._client.put_item,
                        TableName=self._table,
                        Item=item,
                        ConditionExpression=_CREATE_CONDITION,
                        ExpressionAttributeNames=_NAMES_TTL,
                        ExpressionAttributeValues={":now": {"N": str(written_ms // 1000)}},
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                )
            except ClientError as error:
                if _error_code(error) != _CONDITION_FAILED:
                    raise
                old = _item_of_failure(error)
                if old is not None:
                    self._returns_item_on_failure = True
                if _retried(error):
                    # A retried PutItem whose first attempt succeeded finds its own item.
                    if old is None:
                        old = await self._read_item(key)
                    if old is not None and _same_write(old, item, copy):
                        return
                raise SessionExistsError(f"session {key!r} already exists") from None

    async def get_session(self, session_id: str) -> SessionData | None:
        key = validate_session_id(session_id)
        now_s = now_ms(self._clock) // 1000
        if self._table_pending:
            await self._prepare_table()
        with _GET_ERRORS:
            item = await self._read_item(key)
        if item is None or _expired(item, now_s):
            return None
        return session_from_item(item, session_id=key)

    async def update_session(
        self,
        session_id: str,
        updates: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> None:
        key = validate_session_id(session_id)
        new_data = validate_updates(updates)
        expected = validate_expected_revision(expected_revision)
        encoded_data = None if new_data is None else _encode_data(new_data)
        now = now_ms(self._clock)
        if self._table_pending:
            await self._prepare_table()
        with _UPDATE_ERRORS:
            # updatedAt = now, on condition that the stored one is not later. When it is
            # (a writer whose clock is ahead, or a race), retry at the later moment: so
            # updatedAt never goes back, with one request in the common case.
            written_ms = now
            seen: str | None = None  # a stored updatedAt this store cannot parse
            for _ in range(_MAX_UPDATE_ATTEMPTS):
                params = self._update_params(key, now, written_ms, seen, encoded_data, expected)
                try:
                    await self._call(functools.partial(self._client.update_item, **params))
                    return
                except ClientError as error:
                    if _error_code(error) != _CONDITION_FAILED:
                        raise
                    old = _item_of_failure(error)
                if old is not None:
                    self._returns_item_on_failure = True
                elif not self._returns_item_on_failure:
                    old = await self._read_item(key)
                now = max(now, now_ms(self._clock))
                if old is None or _expired(old, now // 1000):
                    if expected is not None:
                        raise RevisionConflictError(
                            f"session {key!r} is at revision None, not {expected}", None
                        )
                    return  # missing or expired: nothing to update, nothing created
                if expected is not None:
                    # The item the condition failed on: its revision, with no second request.
                    found = _stored_revision(old)
                    if found != expected:
                        raise RevisionConflictError(
                            f"session {key!r} is at revision {found}, not {expected}", found
                        )
                stored = old.get("updatedAt", {}).get("S")
                stored_ms = None if stored is None else _ms_or_none(stored)
                seen = stored if stored is not None and stored_ms is None else None
                written_ms = max(now, stored_ms or 0)
            raise SessionStoreError(
                f"dynamodb: update_session of {key!r} kept losing races "
                f"({_MAX_UPDATE_ATTEMPTS} attempts)"
            )

    async def delete_session(self, session_id: str) -> None:
        key = validate_session_id(session_id)
        if self._table_pending:
            await self._prepare_table()
        with _DELETE_ERRORS:
            await self._call(
                functools.partial(
                    self._client.delete_item,
                    TableName=self._table,
                    Key={"sessionId": {"S": key}},
                )
            )

    # -- helpers -------------------------------------------------------------------------

    async def _call(self, call: Callable[[], Any]) -> Any:
        if self._closed:
            raise SessionStoreError("dynamodb: the store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _read_item(self, key: str, *, only_expiry: bool = False) -> dict[str, Any] | None:
        """One strongly consistent GetItem; ``only_expiry`` fetches just the key and ``ttl``."""
        projection: dict[str, Any] = (
            {"ProjectionExpression": "sessionId, #ttl", "ExpressionAttributeNames": _NAMES_TTL}
            if only_expiry
            else {}
        )
        response = await self._call(
            functools.partial(
                self._client.get_item,
                TableName=self._table,
                Key={"sessionId": {"S": key}},
                ConsistentRead=True,
                **projection,
            )
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    async def _prepare_table(self) -> None:
        if self._table_lock is None:
            self._table_lock = asyncio.Lock()
        async with self._table_lock:
            if self._table_pending:
                await self.ensure_table()

    def _expiry(self, written_ms: int) -> int | None:
        if self._ttl_ms is None:
            return None
        return -(-(written_ms + self._ttl_ms) // 1000)

    def _update_params(
        self,
        key: str,
        now: int,
        written_ms: int,
        seen: str | None,
        encoded_data: dict[str, Any] | None,
        expected: int | None,
    ) -> dict[str, Any]:
        at = iso_from_ms(written_ms)
        values: dict[str, Any] = {":now": {"N": str(now // 1000)}, ":at": {"S": at}}
        assignments = ["updatedAt = :at"]
        expiry = self._expiry(written_ms)
        if expiry is not None:
            assignments.append("#ttl = :ttl")
            values[":ttl"] = {"N": str(expiry)}
        if encoded_data is not None:
            assignments.append("#data = :data")
            values[":data"] = encoded_data
            if expected is None:
                assignments.append(_ADD_REVISION)
                values[":one"] = _ONE
            else:
                assignments.append("#rev = :next")
                values[":next"] = {"N": str(min(expected + 1, _MAX_REVISION))}
        expression = "SET " + ", ".join(assignments)
        if expiry is None:
            expression += " REMOVE #ttl"
        if seen is None:
            condition = UPDATE_CONDITION
        else:
            condition = _UPDATE_CONDITION_EXACT
            values[":seen"] = {"S": seen}
        if expected is not None:
            condition += _IF_REVISION_1 if expected == 1 else _IF_REVISION
            # Beyond DynamoDB's 38 digits no item can hold it: compare with 0, which none holds.
            values[":expected"] = {"N": str(expected) if expected <= _MAX_REVISION else "0"}
        if encoded_data is None:
            names = _NAMES_TTL if expected is None else _NAMES_TTL_REVISION
        else:
            names = _NAMES_TTL_DATA_REVISION
        return {
            "TableName": self._table,
            "Key": {"sessionId": {"S": key}},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }


def _stored_revision(item: Mapping[str, Any]) -> int:
    try:
        return _revision_number(item)
    except ValueError as error:
        raise SessionStoreError(f"dynamodb: not a session item: {error}") from error


def _expired(item: Mapping[str, Any], now_s: int) -> bool:
    # The same test as the conditions' "#ttl <= :now", so reads and writes agree.
    try:
        expiry = _expiry_number(item)
    except ValueError:
        return False
    return expiry is not None and expiry <= now_s


def _same_write(stored: Mapping[str, Any], item: Mapping[str, Any], data: Any) -> bool:
    # Compared as data, not as attribute values: DynamoDB may rewrite "1.0" as "1".
    try:
        return (
            all(
                stored.get(name) == item.get(name)
                for name in ("createdAt", "updatedAt", "ttl", "revision")
            )
            and _decode(stored["data"]) == data
        )
    except (KeyError, ValueError):
        return False


def _ms_or_none(text: str) -> int | None:
    try:
        moment = ms_from_iso(text)
    except ValueError:
        return None
    # Only the canonical form compares as text the way DynamoDB's condition does.
    return moment if iso_from_ms(moment) == text else None


def _item_of_failure(error: ClientError) -> dict[str, Any] | None:
    """The item a failed condition returned (ReturnValuesOnConditionCheckFailure=ALL_OLD)."""
    response: Mapping[str, Any] = error.response
    item = response.get("Item")
    return item if isinstance(item, dict) else None


def _retried(error: ClientError) -> bool:
    return bool(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
