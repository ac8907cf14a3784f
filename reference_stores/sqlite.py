"""Sessions in an SQLite database file: kept across restarts, shared by the processes using it.

One piece, so that it can be copied alone with the shared helper files: the statements,
the threads that own the connections and the store's operations are read together.

Standard library only. Each operation is one SQL statement in autocommit mode,
so SQLite makes it atomic, also against other processes on the same file.
Statements run in threads that each own one connection: one writer (writes
from this process queue there instead of polling SQLite's lock) and a few
readers, which WAL lets read while a write is under way.

Rows carry a revision; a conditional update is the same UPDATE with
``AND revision = ?``, and only its refusal reads the revision it reports.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .base import ReferenceStore, ttl_ms_from_seconds
from .errors import BackendErrors, RevisionConflictError, SessionExistsError, SessionStoreError
from .interface import SessionData
from .validation import (
    Clock,
    data_json,
    datetime_from_ms,
    default_clock,
    load_json_object,
    now_ms,
    updates_data,
    validate_expected_revision,
    validate_session_id,
)

__all__ = ["DEFAULT_FILENAME", "DEFAULT_PATH_ENV", "SQLiteSessionStore", "default_path"]

DEFAULT_PATH_ENV = "SESSION_STORE_SQLITE_PATH"
"""Environment variable naming the database file when the store is built without a path."""

DEFAULT_FILENAME = "mcp_sessions.sqlite3"
"""The database file in the current directory when neither a path nor the variable is given."""

TABLE = "mcp_sessions"

_PRIVATE_PATHS = frozenset({":memory:", ""})
"""SQLite gives each connection to these its own database, private to it."""

_BACKEND_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
# A row that does not parse is a backend failure too, not bad input.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    OSError,
    ValueError,
    OverflowError,
)

# Stateless, so one per operation serves every call (this is the hot path).
_ERRORS_OF = {
    "session_exists": BackendErrors("sqlite", "session_exists", _BACKEND_ERRORS),
    "create_session": BackendErrors("sqlite", "create_session", _BACKEND_ERRORS),
    "get_session": BackendErrors("sqlite", "get_session", _READ_ERRORS),
    "update_session": BackendErrors("sqlite", "update_session", _BACKEND_ERRORS),
    "delete_session": BackendErrors("sqlite", "delete_session", _BACKEND_ERRORS),
    "purge_expired": BackendErrors("sqlite", "purge_expired", _BACKEND_ERRORS),
}

_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        session_id TEXT NOT NULL PRIMARY KEY,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER,
        data_json TEXT NOT NULL,
        revision INTEGER NOT NULL DEFAULT 1
    ) WITHOUT ROWID""",
    f"""CREATE INDEX IF NOT EXISTS {TABLE}_expires_at_ms
        ON {TABLE} (expires_at_ms) WHERE expires_at_ms IS NOT NULL""",
)
# A table made by a version without revisions gains the column; its sessions start at 1.
_ADD_REVISION_SQL = f"ALTER TABLE {TABLE} ADD COLUMN revision INTEGER NOT NULL DEFAULT 1"

_LIVE = "(expires_at_ms IS NULL OR expires_at_ms > ?)"

_EXISTS_SQL = f"SELECT 1 FROM {TABLE} WHERE session_id = ? AND {_LIVE}"
_GET_SQL = (
    f"SELECT created_at_ms, updated_at_ms, expires_at_ms, data_json, revision FROM {TABLE} "
    f"WHERE session_id = ? AND {_LIVE}"
)
_REVISION_SQL = f"SELECT revision FROM {TABLE} WHERE session_id = ? AND {_LIVE}"
# One statement: a fresh row, or a fresh session over an expired one; a live one is
# left alone and the statement changes no row, which is how the loser learns it lost.
_CREATE_SQL = (
    f"INSERT INTO {TABLE} "
    "(session_id, created_at_ms, updated_at_ms, expires_at_ms, data_json, revision) "
    "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (session_id) DO UPDATE SET "
    "created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, "
    "expires_at_ms = excluded.expires_at_ms, data_json = excluded.data_json, revision = 1 "
    "WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= excluded.created_at_ms"
)
# SET expressions read the old row, so max() keeps updated_at from going backwards.
# A data write adds 1 to the revision; a touch leaves it. The conditional forms add
# "AND revision = ?" (the expected revision, the last parameter).
_TOUCH_TTL_SQL = (
    f"UPDATE {TABLE} SET updated_at_ms = max(updated_at_ms, ?), "
    "expires_at_ms = max(updated_at_ms, ?) + ? "
    f"WHERE session_id = ? AND {_LIVE}"
)
_REPLACE_TTL_SQL = (
    f"UPDATE {TABLE} SET updated_at_ms = max(updated_at_ms, ?), "
    "expires_at_ms = max(updated_at_ms, ?) + ?, data_json = ?, revision = revision + 1 "
    f"WHERE session_id = ? AND {_LIVE}"
)
_TOUCH_SQL = (
    f"UPDATE {TABLE} SET updated_at_ms = max(updated_at_ms, ?), expires_at_ms = NULL "
    f"WHERE session_id = ? AND {_LIVE}"
)
_REPLACE_SQL = (
    f"UPDATE {TABLE} SET updated_at_ms = max(updated_at_ms, ?), expires_at_ms = NULL, "
    f"data_json = ?, revision = revision + 1 WHERE session_id = ? AND {_LIVE}"
)
_IF_REVISION = " AND revision = ?"
_MAX_INTEGER = 2**63 - 1
"""SQLite's largest integer: no row holds a revision beyond it."""
_DELETE_SQL = f"DELETE FROM {TABLE} WHERE session_id = ?"
_PURGE_SQL = f"DELETE FROM {TABLE} WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?"

_MIN_SQLITE = (3, 24, 0)  # INSERT ... ON CONFLICT DO UPDATE

_T = TypeVar("_T")


def default_path() -> str:
    """``$SESSION_STORE_SQLITE_PATH``, else ``mcp_sessions.sqlite3`` in the current directory."""
    return os.environ.get(DEFAULT_PATH_ENV) or DEFAULT_FILENAME


class SQLiteSessionStore(ReferenceStore):
    """A conforming store in one SQLite table, usable by several processes at once.

    ``path`` is the database file (created with its table when missing);
    ``None`` means :func:`default_path`. ``":memory:"`` gives a database private
    to this store object and gone when it closes. Timestamps and the expiry are
    integer Unix epoch milliseconds, data is JSON text.

    ``busy_timeout_seconds`` bounds how long a statement waits for a lock held by
    another process before failing with ``SessionStoreError``; ``read_connections``
    is how many reads may run at once.

    Nothing touches the file until the first operation; call :meth:`aclose`
    (or use ``async with``) to close the connections.
    """

    shares_sessions_across_instances: bool = True
    """A second store on the same file sees the same sessions (not so for ``":memory:"``)."""

    supports_revisions = True
    """``update_session`` takes ``expected_revision``; rows carry ``revision``."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        ttl_seconds: float | None = None,
        clock: Clock | None = None,
        *,
        busy_timeout_seconds: float = 5.0,
        read_connections: int = 4,
    ) -> None:
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise RuntimeError(
                f"SQLiteSessionStore needs SQLite {'.'.join(map(str, _MIN_SQLITE))} or newer, "
                f"this Python has {sqlite3.sqlite_version}"
            )
        self._ttl_ms = ttl_ms_from_seconds(ttl_seconds)
        self._clock: Clock = clock if clock is not None else default_clock
        if isinstance(busy_timeout_seconds, bool) or not isinstance(
            busy_timeout_seconds, (int, float)
        ):
            raise TypeError("busy_timeout_seconds must be a number")
        if not 0 <= busy_timeout_seconds <= 3600:
            raise ValueError(f"busy_timeout_seconds must be 0 to 3600, not {busy_timeout_seconds}")
        if isinstance(read_connections, bool) or not isinstance(read_connections, int):
            raise TypeError("read_connections must be an int")
        if read_connections < 1:
            raise ValueError(f"read_connections must be at least 1, not {read_connections}")
        raw_path = default_path() if path is None else os.fspath(path)
        private = raw_path in _PRIVATE_PATHS
        # Resolved now, so a later chdir does not move the database.
        self.path: str = raw_path if private else os.path.abspath(raw_path)
        self.shares_sessions_across_instances = not private
        opener = _Opener(self.path, float(busy_timeout_seconds))
        self._writer = _ConnectionThreads(1, opener, "sqlite-session-writer")
        # A private database lives in its one connection, so reads must go there too.
        self._reader = (
            self._writer
            if private
            else _ConnectionThreads(read_connections, opener, "sqlite-session-reader")
        )
        # The threads hold no reference to the store, so a store dropped without
        # aclose() is still collected, and this stops its threads.
        self._finalizer = weakref.finalize(self, _stop_all, self._writer, self._reader)
        if self._ttl_ms is None:
            self._touch_sql, self._replace_sql = _TOUCH_SQL, _REPLACE_SQL
        else:
            self._touch_sql, self._replace_sql = _TOUCH_TTL_SQL, _REPLACE_TTL_SQL
        self._touch_if_sql = self._touch_sql + _IF_REVISION
        self._replace_if_sql = self._replace_sql + _IF_REVISION

    def __repr__(self) -> str:
        return f"SQLiteSessionStore({self.path!r}, ttl_seconds={self.ttl_seconds!r})"

    async def session_exists(self, session_id: str) -> bool:
        key = validate_session_id(session_id)
        now = now_ms(self._clock)
        with _ERRORS_OF["session_exists"]:
            exists = await self._reader.run(_exists, key, now)
        return exists

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        key = validate_session_id(session_id)
        text = data_json(data)
        now = now_ms(self._clock)
        expires = None if self._ttl_ms is None else now + self._ttl_ms
        with _ERRORS_OF["create_session"]:
            created = await self._writer.run(_write, _CREATE_SQL, (key, now, now, expires, text))
        if not created:
            raise SessionExistsError(f"session {key!r} already exists")

    async def get_session(self, session_id: str) -> SessionData | None:
        key = validate_session_id(session_id)
        now = now_ms(self._clock)
        with _ERRORS_OF["get_session"]:
            session = await self._reader.run(_get, key, now)
        return session

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
        now = now_ms(self._clock)
        ttl = self._ttl_ms
        if new_data is None:
            sql = self._touch_sql if expected is None else self._touch_if_sql
            params: tuple[Any, ...] = (now, key, now) if ttl is None else (now, now, ttl, key, now)
        else:
            sql = self._replace_sql if expected is None else self._replace_if_sql
            text = data_json(new_data)
            params = (now, text, key, now) if ttl is None else (now, now, ttl, text, key, now)
        with _ERRORS_OF["update_session"]:
            if expected is None:
                await self._writer.run(_write, sql, params)
                return
            # A revision beyond SQLite's integers cannot be bound; 0 matches no row either.
            bound = expected if expected <= _MAX_INTEGER else 0
            refused, found = await self._writer.run(
                _write_if, sql, (*params, bound), key, now, expected
            )
        if refused:
            raise RevisionConflictError(
                f"session {key!r} is at revision {found}, not {expected}", found
            )

    async def delete_session(self, session_id: str) -> None:
        key = validate_session_id(session_id)
        with _ERRORS_OF["delete_session"]:
            await self._writer.run(_write, _DELETE_SQL, (key,))

    async def purge_expired(self) -> int:
        """Delete the rows of expired sessions (already invisible); return how many went."""
        now = now_ms(self._clock)
        with _ERRORS_OF["purge_expired"]:
            purged = await self._writer.run(_write, _PURGE_SQL, (now,))
        return purged

    async def aclose(self) -> None:
        """Let queued operations finish, then close every connection. Idempotent.

        Operations started after this raise ``SessionStoreError``.
        """
        if not self._finalizer.alive:
            return
        self._finalizer()
        await asyncio.get_running_loop().run_in_executor(
            None, _join_all, self._writer, self._reader
        )


# -- run in a connection's own thread ----------------------------------------


def _exists(connection: sqlite3.Connection, key: str, now: int) -> bool:
    # fetchall() steps the statement to its end, which ends the read transaction.
    return bool(connection.execute(_EXISTS_SQL, (key, now)).fetchall())


def _get(connection: sqlite3.Connection, key: str, now: int) -> SessionData | None:
    rows = connection.execute(_GET_SQL, (key, now)).fetchall()
    if not rows:
        return None
    created_ms, updated_ms, expires_ms, data_json, revision = rows[0]
    return SessionData(
        session_id=key,
        created_at=datetime_from_ms(created_ms),
        updated_at=datetime_from_ms(updated_ms),
        ttl=None if expires_ms is None else expires_ms // 1000,
        data=load_json_object(data_json),
        revision=revision,
    )


def _write(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
    return connection.execute(sql, params).rowcount


def _write_if(
    connection: sqlite3.Connection,
    sql: str,
    params: tuple[Any, ...],
    key: str,
    now: int,
    expected: int,
) -> tuple[bool, int | None]:
    """A conditional update: (False, None) when written, else (True, the revision found).

    The refusal alone reads the revision, in the same thread: the happy path is one
    statement. Should that read find the expected revision (another process deleted
    and recreated the session in between), the update is tried again: the refusal
    must name a revision other than the expected one.
    """
    while True:
        if connection.execute(sql, params).rowcount:
            return False, None
        rows = connection.execute(_REVISION_SQL, (key, now)).fetchall()
        found: int | None = rows[0][0] if rows else None
        if found != expected:
            return True, found


_SETUP_LOCKS: dict[str, threading.Lock] = {}
_SETUP_LOCKS_GUARD = threading.Lock()


class _Opener:
    """Opens connections to one database, setting the file up on the first."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path = path
        self.private = path in _PRIVATE_PATHS
        self.busy_timeout = busy_timeout
        self._schema_ready = False

    @property
    def _lock(self) -> threading.Lock:
        # One lock per file for the whole process: two store objects on one file must
        # not set it up at once (switching to WAL can fail at once rather than wait).
        with _SETUP_LOCKS_GUARD:
            return _SETUP_LOCKS.setdefault(self.path, threading.Lock())

    def after_fork_in_child(self) -> None:
        global _SETUP_LOCKS_GUARD
        _SETUP_LOCKS_GUARD = threading.Lock()  # a parent thread may have held these
        _SETUP_LOCKS.clear()

    def connect(self) -> sqlite3.Connection:
        # isolation_level=None: autocommit, each statement its own transaction.
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            with self._lock:
                if not self._schema_ready:
                    self._set_up(connection)
                    self._schema_ready = True
            # Safe with WAL (no corruption); a power cut may lose the latest commits.
            connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            connection.close()
            raise
        return connection

    def _set_up(self, connection: sqlite3.Connection) -> None:
        # Another process setting the file up at the same moment can make the switch to
        # WAL fail at once instead of waiting: try again until the busy timeout is spent.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                # WAL is a property of the file: readers stop waiting for writers.
                connection.execute("PRAGMA journal_mode=WAL").fetchall()
                for statement in _SCHEMA:
                    connection.execute(statement)
                _add_revision_column(connection)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)


def _has_revision_column(connection: sqlite3.Connection) -> bool:
    columns = connection.execute(f"PRAGMA table_info({TABLE})").fetchall()
    return any(column[1] == "revision" for column in columns)


def _add_revision_column(connection: sqlite3.Connection) -> None:
    """Migrate a table made without revisions; idempotent, and safe against another process."""
    if _has_revision_column(connection):
        return
    # BEGIN IMMEDIATE takes the write lock first, so of two processes migrating at
    # once the second finds the column there and does nothing.
    connection.execute("BEGIN IMMEDIATE")
    try:
        if not _has_revision_column(connection):
            connection.execute(_ADD_REVISION_SQL)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


_Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class _ConnectionThreads:
    """Up to ``size`` threads, each owning one connection, that run jobs for event loops.

    Lighter than ``loop.run_in_executor``: no concurrent.futures.Future, and the
    thread that went idle last gets the next job, so a sequential caller keeps
    hitting one warm thread and connection.
    """

    def __init__(self, size: int, opener: _Opener, name: str) -> None:
        self._size = size
        self._opener = opener
        self._name = name
        self._lock = threading.Lock()
        self._idle: list[_ConnectionThread] = []
        self._threads: list[_ConnectionThread] = []
        self._backlog: deque[_Job] = deque()
        self._refusal: str | None = None  # why run() refuses jobs, once it does
        _ALL_THREAD_POOLS.add(self)

    def after_fork_in_child(self) -> None:
        # The threads did not survive the fork (a job handed to them would wait
        # forever): start over with new threads and connections. A private
        # database stayed behind in the parent's connection.
        self._lock = threading.Lock()
        self._opener.after_fork_in_child()
        self._idle, self._threads = [], []
        self._backlog.clear()
        if self._refusal is None and self._opener.private:
            self._refusal = "sqlite: a ':memory:' store cannot be used after os.fork()"

    def run(self, function: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        """Call ``function(connection, *args)`` in a thread; the future settles on this loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        job: _Job = (function, args, future, loop)
        with self._lock:
            if self._refusal is not None:
                raise SessionStoreError(self._refusal)
            if self._idle:
                worker = self._idle.pop()
            elif len(self._threads) < self._size:
                worker = _ConnectionThread(self, self._opener, f"{self._name}-{len(self._threads)}")
                self._threads.append(worker)
            else:
                self._backlog.append(job)
                return future
        worker.jobs.put(job)
        return future

    def next_job(self, worker: _ConnectionThread) -> _Job | None:
        """Called by a worker that finished a job: a queued job for it, or None to go idle."""
        with self._lock:
            if self._backlog:
                return self._backlog.popleft()
            self._idle.append(worker)
            return None

    def stop(self) -> None:
        """Refuse new jobs; each thread finishes the queued ones, closes its connection, ends."""
        with self._lock:
            if self._refusal == _CLOSED:
                return
            self._refusal = _CLOSED
            threads = list(self._threads)
        for worker in threads:
            worker.jobs.put(None)

    def join(self) -> None:
        for worker in self._threads:
            worker.thread.join()


class _ConnectionThread:
    def __init__(self, pool: _ConnectionThreads, opener: _Opener, name: str) -> None:
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._main, args=(pool, opener), name=name)
        # Daemon: a store never closed must not keep the interpreter from exiting.
        self.thread.daemon = True
        self.thread.start()

    def _main(self, pool: _ConnectionThreads, opener: _Opener) -> None:
        connection: sqlite3.Connection | None = None
        try:
            job = self.jobs.get()
            while job is not None:
                function, args, future, loop = job
                try:
                    if connection is None:
                        connection = opener.connect()
                    outcome, failed = function(connection, *args), False
                except BaseException as error:  # handed to the caller, whatever it is
                    outcome, failed = error, True
                try:  # noqa: SIM105 (cheaper than contextlib.suppress on this hot path)
                    loop.call_soon_threadsafe(_settle, future, outcome, failed)
                except RuntimeError:
                    pass  # that loop is closed: nobody is waiting for the outcome
                # Hold none of the caller's objects while idle.
                del job, function, args, future, loop, outcome
                job = pool.next_job(self) or self.jobs.get()
        finally:
            if connection is not None:
                connection.close()


_CLOSED = "sqlite: the store is closed"

_ALL_THREAD_POOLS: weakref.WeakSet[_ConnectionThreads] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_ALL_THREAD_POOLS):
        pool.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if future.cancelled():
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _stop_all(*pools: _ConnectionThreads) -> None:
    for pool in pools:
        pool.stop()


def _join_all(*pools: _ConnectionThreads) -> None:
    for pool in pools:
        pool.join()
