"""Sessions in a PostgreSQL table, through psycopg 3 and a psycopg_pool connection pool.

One piece, so that it can be copied alone with the shared helper files: the SQL, the
pool and schema handling and the store's operations are read together.

Every operation is one SQL statement, so each is atomic and linearizable per
session without explicit transactions or locks:

- create: ``INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE <old row expired> RETURNING``;
  no row back means a live session holds the id.
- update: ``UPDATE ... WHERE id = ? AND <live>``; no row means nothing to do (never an upsert).
  A data write adds 1 to ``revision``; with ``expected_revision`` the same statement
  also has ``AND revision = ?``, and only a refusal reads the revision it reports.
- get/exists: ``SELECT ... WHERE id = ? AND <live>`` on the primary (strongly consistent).
- delete: ``DELETE ... WHERE id = ?``.

Data is kept in a ``json`` column: the exact JSON text the store wrote, checked by
the server. ``jsonb`` cannot hold ``\\u0000``; ``json`` keeps the escape as text.

Whose clock decides: without ``clock=`` the database server's clock
(``statement_timestamp()``) sets every timestamp and decides expiry, so all
application instances agree whatever their own clocks say. With ``clock=`` that
callable decides both, its time sent as a statement parameter.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow, tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .base import ReferenceStore, ttl_ms_from_seconds
from .errors import BackendErrors, RevisionConflictError, SessionExistsError, SessionStoreError
from .interface import SessionData
from .validation import (
    Clock,
    data_json,
    datetime_from_ms,
    load_json_object,
    now_ms,
    updates_data,
    validate_expected_revision,
    validate_session_id,
)

__all__ = ["DEFAULT_TABLE", "PostgresSessionStore", "open_postgres_store"]

DEFAULT_TABLE: Final = "mcp_sessions"

_BACKEND = "postgres"
_BACKEND_EXCEPTIONS: tuple[type[BaseException], ...] = (psycopg.Error, OSError)
# PostgreSQL identifiers: unquoted-style names only, so the table is easy to name in SQL by hand.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_IDENTIFIER_BYTES = 63
# UTF8 holds every character; SQL_ASCII stores the UTF-8 bytes as they come. Any
# other encoding would refuse characters it lacks.
_ENCODINGS = frozenset({"UTF8", "SQL_ASCII"})
# Far beyond any session's life, and well inside what an interval and timestamptz can hold.
_MAX_TTL_MS = 10_000 * 365 * 86_400_000
# The server's "now", truncated to the contract's millisecond precision.
_SERVER_NOW = "date_trunc('milliseconds', statement_timestamp())"
# Dead-peer detection for TCP connections (libpq ignores these on Unix sockets).
_TCP_DEFAULTS: Mapping[str, str] = {
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "15000",
}

Connection = psycopg.AsyncConnection[TupleRow]
Pool = AsyncConnectionPool[Any]


class PostgresSessionStore(ReferenceStore):
    """A conforming store in one PostgreSQL table, shared by every store object that uses it.

    Build it from a DSN (``DATABASE_URL`` when ``dsn`` and ``pool`` are both
    omitted) or from an ``AsyncConnectionPool`` the caller owns. A pool the
    store builds is opened on first use (or by :meth:`open`) and closed by
    :meth:`aclose`; a caller's pool stays the caller's: never opened or closed here.

    Call :meth:`create_schema` once (it is idempotent) or use
    :func:`open_postgres_store`, which does it.
    """

    shares_sessions_across_instances = True
    """Every store object on the same table sees the same sessions."""

    supports_revisions = True
    """``update_session`` takes ``expected_revision``; rows carry ``revision``."""

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool: Pool | None = None,
        table: str = DEFAULT_TABLE,
        ttl_seconds: float | None = None,
        clock: Clock | None = None,
        connect_timeout: float = 5.0,
        pool_timeout: float = 5.0,
        statement_timeout: float | None = 5.0,
        min_size: int = 1,
        max_size: int = 10,
        pool_options: Mapping[str, Any] | None = None,
    ) -> None:
        """
        :param dsn: libpq connection string or ``postgresql://`` URL.
        :param pool: an open pool to use instead of ``dsn``; its configuration is the caller's.
        :param table: ``name`` or ``schema.name``, letters, digits and ``_``; case is kept.
        :param ttl_seconds: sessions expire this long after their last create/update.
        :param clock: epoch-seconds callable deciding timestamps and expiry; default: the server's.
        :param connect_timeout: seconds for one connection attempt (own pool only).
        :param pool_timeout: seconds an operation waits for a free, working connection.
        :param statement_timeout: server-side limit per statement (own pool only);
            None leaves the server's setting.
        :param min_size: connections the own pool keeps open.
        :param max_size: connections the own pool may open.
        :param pool_options: further ``AsyncConnectionPool`` keyword arguments (own pool only).
        """
        self._ttl_ms = ttl_ms_from_seconds(ttl_seconds)
        if self._ttl_ms is not None and self._ttl_ms > _MAX_TTL_MS:
            raise ValueError(
                f"ttl_seconds must be at most {_MAX_TTL_MS // 1000}, not {ttl_seconds}"
            )
        self._clock = clock
        self._schema_name, self._table_name = _parse_table(table)
        self._pool_timeout = _positive("pool_timeout", pool_timeout)
        self._last_connect_error: BaseException | None = None
        self._check_task: asyncio.Task[None] | None = None
        if pool is not None:
            if dsn is not None:
                raise ValueError("pass either dsn or pool, not both")
            self._pool: Pool = pool
            self._owns_pool = False
        else:
            if dsn is None:
                dsn = os.environ.get("DATABASE_URL")
                if not dsn:
                    raise ValueError("pass dsn= or pool=, or set DATABASE_URL")
            if not 1 <= min_size <= max_size:
                raise ValueError(f"need 1 <= min_size <= max_size, got {min_size}, {max_size}")
            conninfo = _conninfo(
                dsn,
                _positive("connect_timeout", connect_timeout),
                None
                if statement_timeout is None
                else _positive("statement_timeout", statement_timeout),
            )
            options: dict[str, Any] = {"reconnect_timeout": 10.0, "name": f"sessions:{table}"}
            options.update(pool_options or {})
            self._pool = AsyncConnectionPool(
                conninfo,
                connection_class=_tracking_connection_class(self),
                kwargs={"autocommit": True},
                min_size=min_size,
                max_size=max_size,
                timeout=self._pool_timeout,
                open=False,
                **options,
            )
            self._owns_pool = True
        # A caller's pool is taken as open; our own opens lazily inside the event loop.
        self._pool_opened = not self._owns_pool
        self._closed = False
        self._build_statements()
        self._errors = {
            name: BackendErrors(_BACKEND, name, _BACKEND_EXCEPTIONS)
            for name in (
                "session_exists",
                "create_session",
                "get_session",
                "update_session",
                "delete_session",
                "purge_expired",
                "create_schema",
                "open",
            )
        }

    # -- configuration -------------------------------------------------------------

    @property
    def table(self) -> str:
        """The table as written in SQL (quoted, schema-qualified when given)."""
        return self._table_sql

    @property
    def pool(self) -> Pool:
        return self._pool

    def _build_statements(self) -> None:
        table = (
            sql.Identifier(self._table_name)
            if self._schema_name is None
            else sql.Identifier(self._schema_name, self._table_name)
        )
        index_name = _index_name(self._table_name)
        self._table_sql = table.as_string()
        self._index_sql = sql.Identifier(index_name).as_string()
        self._index_qualified_sql = (
            self._index_sql
            if self._schema_name is None
            else sql.Identifier(self._schema_name, index_name).as_string()
        )
        now = "%(now)s" if self._clock is not None else _SERVER_NOW
        # The TTL is fixed per store, so it is written into the statement as a plain
        # time interval (no day part: adding it never depends on the session time zone).
        ttl = None if self._ttl_ms is None else f"interval '{_interval_text(self._ttl_ms)}'"

        def expiry(start: str) -> str:
            return "NULL" if ttl is None else f"{start} + {ttl}"

        t = self._table_sql
        live = f"(expires_at IS NULL OR expires_at > {now})"
        self._sql_create = (
            f"INSERT INTO {t} AS s (id, data, created_at, updated_at, expires_at, revision) "
            f"VALUES (%(id)s, %(data)s::json, {now}, {now}, {expiry(now)}, 1) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data, "
            "created_at = excluded.created_at, updated_at = excluded.updated_at, "
            "expires_at = excluded.expires_at, revision = 1 "
            "WHERE s.expires_at IS NOT NULL AND s.expires_at <= excluded.created_at "
            "RETURNING true"
        )
        self._sql_get = (
            "SELECT data::text, (extract(epoch FROM created_at) * 1000)::bigint, "
            "(extract(epoch FROM updated_at) * 1000)::bigint, "
            "(extract(epoch FROM expires_at) * 1000)::bigint, revision "
            f"FROM {t} WHERE id = %(id)s AND {live}"
        )
        self._sql_exists = f"SELECT true FROM {t} WHERE id = %(id)s AND {live}"
        # In SET every column reference reads the old row, so "touched" is max(old, now).
        touched = f"GREATEST(updated_at, {now})"
        # A data write adds 1 to the revision, a touch (data NULL) adds 0.
        self._sql_update = (
            f"UPDATE {t} SET updated_at = {touched}, expires_at = {expiry(touched)}, "
            "data = COALESCE(%(data)s::json, data), "
            "revision = revision + (%(data)s::json IS NOT NULL)::int "
            f"WHERE id = %(id)s AND {live}"
        )
        self._sql_update_if = self._sql_update + " AND revision = %(expected)s"
        self._sql_revision = f"SELECT revision FROM {t} WHERE id = %(id)s AND {live}"
        self._sql_delete = f"DELETE FROM {t} WHERE id = %(id)s"
        self._sql_purge = f"DELETE FROM {t} WHERE expires_at <= {now}"
        self._sql_purge_batch = (
            f"DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE expires_at <= {now} "
            f"LIMIT %(limit)s FOR UPDATE SKIP LOCKED) AND expires_at <= {now}"
        )

    # -- lifecycle -----------------------------------------------------------------

    async def open(self, *, wait: bool = True) -> None:
        """Open the store's own pool; with ``wait``, fail fast if no connection can be made."""
        with self._errors["open"]:
            await self._ensure_open()
            if wait and self._owns_pool:
                try:
                    await self._pool.wait(timeout=self._pool_timeout)
                except PoolTimeout as error:
                    raise self._no_connection("open", error) from error

    async def aclose(self) -> None:
        """Close the pool if the store opened it; a caller's pool is left alone."""
        if self._closed:
            return
        self._closed = True
        task, self._check_task = self._check_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._owns_pool:
            await self._pool.close()

    async def __aenter__(self) -> PostgresSessionStore:
        await self.open()
        return self

    async def create_schema(self) -> None:
        """Create the table and its expiry index unless they exist (safe to run concurrently).

        The schema of a qualified table name must exist already. The database must
        use the UTF8 encoding, so that any Unicode text fits.
        """
        lock_key = f"{_BACKEND}:{self._table_sql}"
        with self._errors["create_schema"]:
            async with self._connection() as conn:
                cursor = conn.cursor(row_factory=tuple_row)
                # The common case, everything in place, costs one round trip and no locks.
                await cursor.execute(
                    "SELECT current_setting('server_encoding'), "
                    "to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL "
                    "AND EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                    "AND attname = 'revision' AND NOT attisdropped)",
                    [self._table_sql, self._index_qualified_sql, self._table_sql],
                )
                found = await cursor.fetchone()
                encoding, ready = found if found is not None else ("?", False)
                if encoding not in _ENCODINGS:
                    raise SessionStoreError(
                        f"{_BACKEND}: the database encoding is {encoding}, not UTF8: "
                        "sessions could not hold every Unicode character"
                    )
                if conn.info.encoding != "utf-8":
                    raise SessionStoreError(
                        f"{_BACKEND}: the connection's client_encoding is "
                        f"{conn.info.encoding}, not UTF8: set client_encoding=UTF8 on the pool"
                    )
                if ready:
                    if not conn.autocommit:
                        await conn.commit()
                    return
                async with conn.transaction():
                    # CREATE ... IF NOT EXISTS is not safe against a concurrent twin.
                    await cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [lock_key])
                    await cursor.execute(
                        f"CREATE TABLE IF NOT EXISTS {self._table_sql} ("
                        'id text COLLATE "C" PRIMARY KEY, '
                        "data json NOT NULL, "
                        "created_at timestamptz NOT NULL, "
                        "updated_at timestamptz NOT NULL, "
                        "expires_at timestamptz, "
                        "revision bigint NOT NULL DEFAULT 1, "
                        "CHECK (created_at <= updated_at))"
                    )
                    # A table made by a version without revisions: its sessions start at 1.
                    # A constant default makes this a catalog change, not a table rewrite.
                    await cursor.execute(
                        f"ALTER TABLE {self._table_sql} "
                        "ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 1"
                    )
                    await cursor.execute(
                        f"CREATE INDEX IF NOT EXISTS {self._index_sql} "
                        f"ON {self._table_sql} (expires_at) WHERE expires_at IS NOT NULL"
                    )
                if not conn.autocommit:
                    await conn.commit()

    # -- the SessionStore interface ------------------------------------------------

    async def session_exists(self, session_id: str) -> bool:
        params = self._params(validate_session_id(session_id))
        row: tuple[Any, ...] | None = None
        with self._errors["session_exists"]:
            row = await self._fetchone(self._sql_exists, params, "session_exists")
        return row is not None

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        key = validate_session_id(session_id)
        params = self._params(key)
        params["data"] = data_json(data)
        with self._errors["create_session"]:
            row = await self._fetchone(self._sql_create, params, "create_session")
        if row is None:
            raise SessionExistsError(f"session {key!r} already exists")

    async def get_session(self, session_id: str) -> SessionData | None:
        key = validate_session_id(session_id)
        params = self._params(key)
        with self._errors["get_session"]:
            row = await self._fetchone(self._sql_get, params, "get_session")
            if row is None:
                return None
            text, created_ms, updated_ms, expires_ms, revision = row
            try:
                data = load_json_object(text)
            except ValueError as error:
                raise SessionStoreError(
                    f"{_BACKEND}: session {key!r} holds corrupt data: {error}"
                ) from error
        return SessionData(
            session_id=key,
            created_at=datetime_from_ms(created_ms),
            updated_at=datetime_from_ms(updated_ms),
            ttl=None if expires_ms is None else expires_ms // 1000,
            data=data,
            revision=revision,
        )

    async def update_session(
        self,
        session_id: str,
        updates: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> None:
        key = validate_session_id(session_id)
        new_data = updates_data(updates)
        expected = validate_expected_revision(expected_revision)
        params = self._params(key)
        params["data"] = None if new_data is None else data_json(new_data)
        with self._errors["update_session"]:
            if expected is None:
                await self._execute(self._sql_update, params, "update_session")
                return
            params["expected"] = expected
            while True:
                if await self._execute(self._sql_update_if, params, "update_session"):
                    return
                # Refused: only now read the revision to report. Should it be the expected
                # one again (the session was deleted and recreated in between), try again:
                # a refusal never names the revision it was given.
                row = await self._fetchone(self._sql_revision, params, "update_session")
                found: int | None = None if row is None else row[0]
                if found != expected:
                    raise RevisionConflictError(
                        f"session {key!r} is at revision {found}, not {expected}", found
                    )

    async def delete_session(self, session_id: str) -> None:
        params: dict[str, Any] = {"id": validate_session_id(session_id)}
        with self._errors["delete_session"]:
            await self._execute(self._sql_delete, params, "delete_session")

    # -- maintenance ---------------------------------------------------------------

    async def purge_expired(self, *, batch_size: int | None = None) -> int:
        """Delete the rows of expired sessions; return how many were deleted.

        Expired sessions are already invisible; this only reclaims space. With
        ``batch_size`` the rows go in batches of that many, one short statement each,
        so a large backlog never holds many row locks at once.
        """
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive int or None, not {batch_size!r}")
        total = 0
        with self._errors["purge_expired"]:
            if batch_size is None:
                total = await self._execute(self._sql_purge, self._params(None), "purge_expired")
            else:
                deleted = batch_size
                while deleted == batch_size:
                    params = self._params(None)
                    params["limit"] = batch_size
                    deleted = await self._execute(self._sql_purge_batch, params, "purge_expired")
                    total += deleted
        return total

    # -- internals -----------------------------------------------------------------

    def _params(self, key: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"id": key}
        if self._clock is not None:
            params["now"] = datetime_from_ms(now_ms(self._clock))
        return params

    async def _fetchone(
        self, query: str, params: Mapping[str, Any], operation: str
    ) -> tuple[Any, ...] | None:
        conn = await self._getconn(operation)
        try:
            cursor = conn.cursor(row_factory=tuple_row)
            await cursor.execute(query, params)
            row = await cursor.fetchone()
            if not conn.autocommit:
                await conn.commit()
            return row
        except psycopg.Error:
            self._after_error(conn)
            raise
        finally:
            await self._pool.putconn(conn)

    async def _execute(self, query: str, params: Mapping[str, Any], operation: str) -> int:
        conn = await self._getconn(operation)
        try:
            cursor = conn.cursor(row_factory=tuple_row)
            await cursor.execute(query, params)
            if not conn.autocommit:
                await conn.commit()
            return cursor.rowcount
        except psycopg.Error:
            self._after_error(conn)
            raise
        finally:
            await self._pool.putconn(conn)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        conn = await self._getconn("create_schema")
        try:
            yield conn
        except psycopg.Error:
            self._after_error(conn)
            raise
        finally:
            await self._pool.putconn(conn)

    async def _ensure_open(self) -> None:
        if not self._pool_opened:
            if self._closed:
                raise SessionStoreError(f"{_BACKEND}: the store is closed")
            await self._pool.open(wait=False)
            self._pool_opened = True

    async def _getconn(self, operation: str) -> Connection:
        if not self._pool_opened:
            await self._ensure_open()
        try:
            conn: Connection = await self._pool.getconn(self._pool_timeout)
        except PoolTimeout as error:
            raise self._no_connection(operation, error) from error
        return conn

    def _no_connection(self, operation: str, error: PoolTimeout) -> SessionStoreError:
        reason = self._last_connect_error
        detail = "" if reason is None else f"; last connection attempt failed: {reason}"
        return SessionStoreError(
            f"{_BACKEND}: {operation} failed: no working connection within "
            f"{self._pool_timeout:g} s ({error}){detail}".rstrip()
        )

    def _after_error(self, conn: Connection) -> None:
        # A broken connection usually means the server went away: sweep the idle
        # connections in the background, so the next operations get fresh ones
        # instead of each finding its own dead connection.
        if conn.broken and not self._closed:
            task = self._check_task
            if task is None or task.done():
                self._check_task = asyncio.get_running_loop().create_task(self._sweep_pool())

    async def _sweep_pool(self) -> None:
        # Best effort: the next operation reports any failure itself.
        with contextlib.suppress(Exception):
            await self._pool.check()


@asynccontextmanager
async def open_postgres_store(
    dsn: str | None = None,
    *,
    table: str = DEFAULT_TABLE,
    ttl_seconds: float | None = None,
    clock: Clock | None = None,
    create_schema: bool = True,
    **options: Any,
) -> AsyncIterator[PostgresSessionStore]:
    """Open a :class:`PostgresSessionStore`, ensure its table, and close it on exit.

    The entry point behind ``pytest --store=postgres``: with ``DATABASE_URL`` set
    nothing else is needed. Further keyword ``options`` go to the store; numeric
    ones given as text (``--store-option pool_timeout=2``) are converted.
    """
    store = PostgresSessionStore(
        dsn,
        table=table,
        ttl_seconds=_number(ttl_seconds) if isinstance(ttl_seconds, str) else ttl_seconds,
        clock=clock,
        **{key: _option(key, value) for key, value in options.items()},
    )
    try:
        await store.open()
        if create_schema:
            await store.create_schema()
        yield store
    finally:
        await store.aclose()


# -- helpers -------------------------------------------------------------------------

_FLOAT_OPTIONS = frozenset({"connect_timeout", "pool_timeout", "statement_timeout"})
_INT_OPTIONS = frozenset({"min_size", "max_size"})


def _option(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in _FLOAT_OPTIONS:
            return None if value.lower() == "none" else _number(value)
        if key in _INT_OPTIONS:
            return int(value)
    return value


def _number(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, not {value!r}")
    return float(value)


def _parse_table(table: object) -> tuple[str | None, str]:
    if not isinstance(table, str):
        raise TypeError(f"table must be a str, not {type(table).__name__}")
    parts = table.split(".")
    if len(parts) > 2 or not all(
        _IDENTIFIER.match(part) and len(part) <= _MAX_IDENTIFIER_BYTES for part in parts
    ):
        raise ValueError(
            f"table must be NAME or SCHEMA.NAME, each 1-{_MAX_IDENTIFIER_BYTES} letters, "
            f"digits or '_' not starting with a digit; got {table!r}"
        )
    return (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def _index_name(table_name: str) -> str:
    name = f"{table_name}_expires_at_idx"
    if len(name) <= _MAX_IDENTIFIER_BYTES:
        return name
    # Keep long names distinct: the server would silently truncate them alike.
    digest = hashlib.sha256(table_name.encode()).hexdigest()[:8]
    return f"{table_name[:40]}_{digest}_expires_at_idx"


def _interval_text(milliseconds: int) -> str:
    # H:MM:SS.mmm: every server version parses it exactly, whatever the size (a count of
    # milliseconds above 2**31 overflows older ones), and it has no day part.
    seconds, millis = divmod(milliseconds, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _conninfo(dsn: str, connect_timeout: float, statement_timeout: float | None) -> str:
    given = conninfo_to_dict(dsn)
    params: dict[str, Any] = {
        key: value for key, value in _TCP_DEFAULTS.items() if key not in given
    }
    params["connect_timeout"] = max(1, math.ceil(connect_timeout))
    params["client_encoding"] = "UTF8"
    if statement_timeout is not None:
        setting = f"-c statement_timeout={math.ceil(statement_timeout * 1000)}"
        options = given.get("options")
        params["options"] = f"{options} {setting}" if options else setting
    return make_conninfo(dsn, **params)


def _tracking_connection_class(store: PostgresSessionStore) -> type[Connection]:
    """A connection class remembering, for ``store``, why the last connection attempt failed.

    The pool only says that it found no connection in time; this says why.
    """

    class TrackingConnection(psycopg.AsyncConnection[TupleRow]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> TrackingConnection:
            try:
                conn = await super().connect(conninfo, **kwargs)
            except psycopg.Error as error:
                store._last_connect_error = error
                raise
            store._last_connect_error = None
            return conn

    return TrackingConnection
