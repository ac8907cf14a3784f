"""Sessions in Redis (or Redis Cluster): one key per session, one round trip per operation.

Each session is one string key, ``<key_prefix><session_id>``, holding
``<created_ms>:<updated_ms>:<expires_ms>:<revision>:<data JSON>`` (``expires_ms``
empty when sessions never expire), with Redis's own millisecond expiry on the key.
A record the version before revisions wrote has no ``<revision>:`` (its data
follows the expiry directly; JSON data never starts with a digit): it is at 1.

- create: ``SET key record NX PX ttl``; get: ``GET``; exists: ``EXISTS``;
  delete: ``DEL``. Each is a single atomic command.
- update: one Lua script (``EVALSHA``, falling back to ``EVAL`` once per
  server) that rewrites the record only while the key is live, so an update
  racing a delete never brings the session back. The same script adds 1 to the
  revision on a data write and, given an expected revision, compares it first. The script reads the
  timestamps from the header and copies the data JSON as opaque text: it never
  decodes JSON (Lua's cjson would turn ``{}`` into ``[]`` and round big ints).

A store that opens its own client lets at most ``max_connections`` commands be in
flight; the others wait up to ``pool_timeout`` seconds for a connection, then
raise ``StoreBusyError``. A burst of calls waits its turn instead of failing.

Timestamps come from this process's clock, as LeanMCP's ``Date.now()`` does;
lifetimes are Redis's own, relative (``PX``), so clock skew between this host
and Redis never shortens a session. There is no ``clock`` argument: Redis
expires keys in real time, whatever a clock says.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Mapping
from time import time_ns
from typing import Any, Union

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    MaxConnectionsError,
    NoScriptError,
    RedisClusterException,
    RedisError,
)

from .base import ReferenceStore, ttl_ms_from_seconds
from .errors import BackendErrors, RevisionConflictError, SessionExistsError, SessionStoreError
from .interface import SessionData
from .validation import (
    data_json,
    datetime_from_ms,
    load_json_object,
    updates_data,
    validate_expected_revision,
    validate_session_id,
    validate_ttl_seconds,
)

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_POOL_TIMEOUT",
    "DEFAULT_REDIS_URL",
    "PoolExhaustedError",
    "RedisSessionStore",
]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_KEY_PREFIX = "mcp:session:"
DEFAULT_TTL_SECONDS = 86400.0
DEFAULT_MAX_CONNECTIONS = 100
"""redis-py's own default pool size."""
DEFAULT_POOL_TIMEOUT = 5.0
"""Seconds a command waits for a free connection; as PostgreSQL's ``pool_timeout``."""
MAX_TTL_SECONDS = 10.0**10
"""About 317 years: every millisecond figure stays exact in Lua's doubles and in Redis's range."""

AnyRedis = Union["Redis", "RedisCluster"]


class PoolExhaustedError(MaxConnectionsError):
    """Every one of the store's connections stayed in use for ``pool_timeout`` seconds.

    The command was never sent. The store raises it as ``StoreBusyError``'s cause.
    """

    def __init__(self, max_connections: int, pool_timeout: float) -> None:
        super().__init__(
            f"all {max_connections} connections (max_connections) stayed busy for "
            f"{pool_timeout:g} s (pool_timeout); the command was not sent: try again later, "
            "or raise max_connections or pool_timeout"
        )
        self.max_connections = max_connections
        self.pool_timeout = pool_timeout


class _Turns:
    """At most ``size`` holders at a time; the others wait in line, up to ``timeout`` s each.

    A free turn costs no wait and no task: only a wait starts a timer.
    """

    __slots__ = ("_semaphore", "size", "timeout")

    def __init__(self, size: int, timeout: float) -> None:
        self._semaphore = asyncio.Semaphore(size)
        self.size = size
        self.timeout = timeout

    def all_taken(self) -> bool:
        return self._semaphore.locked()

    async def take(self) -> None:
        semaphore = self._semaphore
        if not semaphore.locked():
            await semaphore.acquire()  # returns at once
            return
        try:
            await asyncio.wait_for(semaphore.acquire(), self.timeout)
        except asyncio.TimeoutError as error:
            raise PoolExhaustedError(self.size, self.timeout) from error

    def give_back(self) -> None:
        self._semaphore.release()


class _WaitingConnectionPool(ConnectionPool):
    """redis-py's connection pool, whose ``max_connections`` is a line to wait in, not a wall.

    A command that finds every connection in use waits for one, up to ``pool_timeout``
    seconds, then raises :class:`PoolExhaustedError`. redis-py's own
    ``BlockingConnectionPool`` waits too, but takes a condition, a lock and a timer
    for every command, connections free or not: 15-20 % of a GET's throughput on
    loopback. Here a command takes a turn (a semaphore) before the pool's own lock,
    and holds it until it gives the connection back.
    """

    def __init__(self, *, pool_timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.turns = _Turns(self.max_connections, pool_timeout)
        # The connections handed out with a turn: release() gives each turn back once.
        self._holding: set[Any] = set()

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        await self.turns.take()
        try:
            connection = await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except BaseException:
            # No connection yet, or one that failed and the pool already took back.
            self.turns.give_back()
            raise
        self._holding.add(connection)
        return connection

    async def release(self, connection: Any) -> None:
        try:
            await super().release(connection)
        finally:
            if connection in self._holding:
                self._holding.discard(connection)
                self.turns.give_back()


class _WaitingRedisCluster(RedisCluster):
    """A cluster client whose bursts wait for a turn, as the single-server pool's do.

    redis-py's cluster client has no blocking pool: a node whose ``max_connections``
    are all in use raises ``MaxConnectionsError`` at once. Here at most
    ``max_connections`` commands are in flight at a time, over all nodes together (so
    no node's pool can run out); the others wait up to ``pool_timeout``. The store
    sends single-key commands only: each holds one connection on one node.
    """

    def __init__(self, *, pool_timeout: float, max_connections: int, **kwargs: Any) -> None:
        super().__init__(max_connections=max_connections, **kwargs)
        self.turns = _Turns(max_connections, pool_timeout)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        await self.turns.take()
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self.turns.give_back()


# Connection failures, timeouts and server replies alike; cluster routing errors are not RedisError.
_BACKEND_EXCEPTIONS: tuple[type[BaseException], ...] = (
    RedisError,
    RedisClusterException,
    OSError,
    asyncio.TimeoutError,
)
# No free connection: the store's own wait ran out, or a caller's non-blocking pool (or a
# cluster node's) was full. Nothing was sent: StoreBusyError.
_BUSY_EXCEPTIONS: tuple[type[BaseException], ...] = (MaxConnectionsError,)
_EXISTS_ERRORS = BackendErrors("redis", "session_exists", _BACKEND_EXCEPTIONS, _BUSY_EXCEPTIONS)
_CREATE_ERRORS = BackendErrors("redis", "create_session", _BACKEND_EXCEPTIONS, _BUSY_EXCEPTIONS)
_GET_ERRORS = BackendErrors("redis", "get_session", _BACKEND_EXCEPTIONS, _BUSY_EXCEPTIONS)
_UPDATE_ERRORS = BackendErrors("redis", "update_session", _BACKEND_EXCEPTIONS, _BUSY_EXCEPTIONS)
_DELETE_ERRORS = BackendErrors("redis", "delete_session", _BACKEND_EXCEPTIONS, _BUSY_EXCEPTIONS)

# KEYS[1]: the session key. ARGV[1]: now (ms). ARGV[2]: the TTL (ms), "" for none.
# ARGV[3]: the expected revision, "" for an unconditional update. ARGV[4]: the new data
# as JSON text, absent for a touch. Returns the revision after the update, 0 when the
# session is not live, or minus the revision found when it is not the expected one.
# Revisions are compared as the digits they are written with: exact at any size.
UPDATE_SCRIPT = """\
local record = redis.call('GET', KEYS[1])
if not record then
  return 0
end
local created, updated, data_at = string.match(record, '^(%d+):(%d+):%d*:()')
if not created then
  return redis.error_reply('ERR not a session record: ' .. KEYS[1])
end
local revision, body_at = string.match(record, '^(%d+):()', data_at)
if revision then
  data_at = body_at
else
  revision = '1'
end
if ARGV[3] ~= '' and ARGV[3] ~= revision then
  return -tonumber(revision)
end
local now = tonumber(ARGV[1])
updated = math.max(now, tonumber(updated))
local data = ARGV[4]
if data then
  revision = string.format('%d', tonumber(revision) + 1)
else
  data = string.sub(record, data_at)
end
local head = created .. ':' .. string.format('%d', updated) .. ':'
local tail = ':' .. revision .. ':' .. data
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], head .. tail)
else
  local expires = updated + tonumber(ARGV[2])
  redis.call('SET', KEYS[1], head .. string.format('%d', expires) .. tail,
    'PX', string.format('%d', expires - now))
end
return tonumber(revision)
"""
UPDATE_SCRIPT_SHA = hashlib.sha1(UPDATE_SCRIPT.encode()).hexdigest()


class RedisSessionStore(ReferenceStore):
    """A conforming session store on ``redis.asyncio``, for one server or a Redis Cluster.

    Give it a client (``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster``),
    which stays yours to close; or a URL (else ``$REDIS_URL``, else
    ``redis://127.0.0.1:6379/0``), and the store opens its own client with bounded
    socket timeouts and no automatic retries, and closes it in ``aclose()``. That
    client keeps at most ``max_connections`` connections; a command finding them
    all in use waits up to ``pool_timeout`` seconds for one, then raises
    :class:`StoreBusyError`, from ``errors`` (nothing was sent).
    """

    shares_sessions_across_instances = True
    """Every store on the same server and ``key_prefix`` sees the same sessions."""

    supports_revisions = True
    """``update_session`` takes ``expected_revision``; records carry ``revision``."""

    def __init__(
        self,
        client: AnyRedis | None = None,
        *,
        url: str | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        ttl_seconds: float | None = DEFAULT_TTL_SECONDS,
        cluster: bool = False,
        socket_timeout: float = 5.0,
        socket_connect_timeout: float = 5.0,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
    ) -> None:
        ttl = validate_ttl_seconds(ttl_seconds)
        if ttl is not None and ttl > MAX_TTL_SECONDS:
            raise ValueError(
                f"ttl_seconds must be at most {MAX_TTL_SECONDS:.0f}, not {ttl_seconds!r}"
            )
        if not isinstance(key_prefix, str):
            raise TypeError(f"key_prefix must be a str, not {type(key_prefix).__name__}")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise TypeError(f"max_connections must be an int, not {type(max_connections).__name__}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections!r}")
        for name, timeout in (
            ("socket_timeout", socket_timeout),
            ("socket_connect_timeout", socket_connect_timeout),
            ("pool_timeout", pool_timeout),
        ):
            if (
                isinstance(timeout, bool)
                or not isinstance(timeout, (int, float))
                or not timeout > 0
            ):
                raise ValueError(f"{name} must be a positive number of seconds, not {timeout!r}")
        self._ttl_ms = ttl_ms_from_seconds(ttl)
        self._ttl_arg = "" if self._ttl_ms is None else str(self._ttl_ms)
        self._key_prefix = key_prefix
        self._client: AnyRedis
        if client is not None:
            if url is not None or cluster:
                raise TypeError("pass either a client or url/cluster, not both")
            if not isinstance(client, (Redis, RedisCluster)):
                raise TypeError(
                    "client must be a redis.asyncio.Redis or redis.asyncio.cluster.RedisCluster, "
                    f"not {type(client).__name__}"
                )
            self._client = client
            self._owns_client = False
        else:
            url = url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
            # No automatic retries: a replayed SET NX whose first reply was lost would
            # report SessionExistsError for the caller's own session.
            no_retry = Retry(NoBackoff(), 0)
            if cluster:
                self._client = _WaitingRedisCluster.from_url(
                    url,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=socket_connect_timeout,
                    retry=no_retry,
                    max_connections=max_connections,
                    pool_timeout=float(pool_timeout),
                )
            else:
                # The pool's connection kwargs reach every connection it opens: the
                # retry policy lives on the connection, so it goes here.
                pool = _WaitingConnectionPool.from_url(
                    url,
                    max_connections=max_connections,
                    pool_timeout=float(pool_timeout),
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=socket_connect_timeout,
                    retry=no_retry,
                )
                self._client = Redis.from_pool(pool)  # closing the client disconnects the pool
            self._owns_client = True
        # redis-py's cluster client can fail commands issued concurrently before its
        # first topology load; initialize() first is a no-op once it is loaded.
        self._cluster = self._client if isinstance(self._client, RedisCluster) else None
        self._closed = False

    @property
    def client(self) -> AnyRedis:
        """The Redis client the store talks through."""
        return self._client

    @property
    def key_prefix(self) -> str:
        return self._key_prefix

    def key_for(self, session_id: str) -> str:
        """The Redis key holding ``session_id``'s record."""
        return self._key_prefix + validate_session_id(session_id)

    async def aclose(self) -> None:
        """Close the client if this store opened it; a client passed in stays open."""
        if self._owns_client and not self._closed:
            self._closed = True
            await self._client.aclose()

    async def session_exists(self, session_id: str) -> bool:
        key = self._key_prefix + validate_session_id(session_id)
        with _EXISTS_ERRORS:
            if self._cluster is not None:
                await self._cluster.initialize()
            count = await self._client.exists(key)
        return bool(count)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        checked_id = validate_session_id(session_id)
        text = data_json(data)
        now = time_ns() // 1_000_000
        with _CREATE_ERRORS:
            if self._cluster is not None:
                await self._cluster.initialize()
            if self._ttl_ms is None:
                created = await self._client.set(
                    self._key_prefix + checked_id, f"{now}:{now}::1:{text}", nx=True
                )
            else:
                created = await self._client.set(
                    self._key_prefix + checked_id,
                    f"{now}:{now}:{now + self._ttl_ms}:1:{text}",
                    nx=True,
                    px=self._ttl_ms,
                )
        if not created:
            raise SessionExistsError(f"session {checked_id!r} already exists")

    async def get_session(self, session_id: str) -> SessionData | None:
        checked_id = validate_session_id(session_id)
        with _GET_ERRORS:
            if self._cluster is not None:
                await self._cluster.initialize()
            record = await self._client.get(self._key_prefix + checked_id)
        if record is None:
            return None
        return _parse_record(checked_id, record)

    async def update_session(
        self,
        session_id: str,
        updates: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> None:
        checked_id = validate_session_id(session_id)
        # A touch ({}) is the most frequent update: it skips the general check.
        new_data = None if type(updates) is dict and not updates else updates_data(updates)
        if expected_revision is None:
            condition = ""
        else:
            condition = str(validate_expected_revision(expected_revision))
        now = str(time_ns() // 1_000_000)
        if new_data is None:
            args: tuple[str, ...] = (now, self._ttl_arg, condition)
        else:
            args = (now, self._ttl_arg, condition, data_json(new_data))
        key = self._key_prefix + checked_id
        with _UPDATE_ERRORS:
            if self._cluster is not None:
                await self._cluster.initialize()
            try:
                outcome = await self._client.evalsha(UPDATE_SCRIPT_SHA, 1, key, *args)
            except NoScriptError:
                # This server has not seen the script yet (new, restarted, failed over or
                # its cache flushed): EVAL runs it and caches it for the next EVALSHA.
                outcome = await self._client.eval(UPDATE_SCRIPT, 1, key, *args)
        if condition and outcome <= 0:
            found = -outcome or None
            raise RevisionConflictError(
                f"session {checked_id!r} is at revision {found}, not {condition}", found
            )

    async def delete_session(self, session_id: str) -> None:
        key = self._key_prefix + validate_session_id(session_id)
        with _DELETE_ERRORS:
            if self._cluster is not None:
                await self._cluster.initialize()
            await self._client.delete(key)


def _parse_record(session_id: str, record: bytes | str) -> SessionData:
    try:
        # A client built with decode_responses=True hands back str.
        raw = record if isinstance(record, bytes) else record.encode()
        created, updated, expires, rest = raw.split(b":", 3)
        if rest[:1] == b"{":  # written before revisions
            revision, data_text = 1, rest
        else:
            revision_text, data_text = rest.split(b":", 1)
            revision = int(revision_text)
        data = load_json_object(data_text)
        return SessionData(
            session_id=session_id,
            created_at=datetime_from_ms(int(created)),
            updated_at=datetime_from_ms(int(updated)),
            ttl=int(expires) // 1000 if expires else None,
            data=data,
            revision=revision,
        )
    except (ValueError, TypeError, OverflowError) as error:
        raise SessionStoreError(
            f"redis: get_session failed: the key for session {session_id!r} "
            f"does not hold a session record: {error}"
        ) from error
