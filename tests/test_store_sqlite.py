"""SQLiteSessionStore: the contract on a file and in memory, restarts, processes, failures.

One piece: the contract, the file and process tests share the store fixtures here.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from clocks import ManualClock
from revision_races import check_revision_semantics, race_conditional_writers
from work_counts import WorkCounter, check_work_per_operation, work

from conformance import SessionStoreContract
from reference_stores import RevisionConflictError, SessionExistsError, SessionStoreError
from reference_stores import sqlite as sqlite_store
from reference_stores.sqlite import (
    DEFAULT_FILENAME,
    DEFAULT_PATH_ENV,
    TABLE,
    SQLiteSessionStore,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def run(coroutine: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coroutine

    return asyncio.run(main())


def raw_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            f"SELECT session_id, created_at_ms, updated_at_ms, expires_at_ms, data_json "
            f"FROM {TABLE} ORDER BY session_id"
        ).fetchall()
    connection.close()
    return rows


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.sqlite3"


# -- the contract ------------------------------------------------------------


class TestSQLiteFileStoreContract(SessionStoreContract):
    @pytest.fixture
    def session_store_factory(self, db_path: Path) -> Any:
        return functools.partial(SQLiteSessionStore, db_path)

    @pytest.fixture
    def failing_session_store_factory(self, tmp_path: Path) -> Any:
        return functools.partial(SQLiteSessionStore, tmp_path / "no-such-folder" / "s.sqlite3")


class TestSQLiteMemoryStoreContract(SessionStoreContract):
    # The heavy checks (10,000 sessions, 64 KiB races) run once per backend, in its main
    # contract class; this one judges a variant of the same store.
    conformance_skip_heavy = True

    @pytest.fixture
    def session_store_factory(self) -> Any:
        return functools.partial(SQLiteSessionStore, ":memory:")

    @pytest.fixture
    def failing_session_store_factory(self, tmp_path: Path) -> Any:
        # A folder is no database file.
        return functools.partial(SQLiteSessionStore, tmp_path)


# -- configuration -----------------------------------------------------------


def test_sharing_declaration(db_path: Path) -> None:
    assert SQLiteSessionStore(db_path).shares_sessions_across_instances is True
    assert SQLiteSessionStore(":memory:").shares_sessions_across_instances is False


def test_default_path_is_the_variable_then_a_file_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DEFAULT_PATH_ENV, raising=False)
    store = SQLiteSessionStore()
    assert store.path == str(tmp_path / DEFAULT_FILENAME)

    async def scenario() -> None:
        async with store:
            await store.create_session("s", {"a": 1})

    run(scenario())
    assert [row[0] for row in raw_rows(tmp_path / DEFAULT_FILENAME)] == ["s"]

    chosen = tmp_path / "chosen.sqlite3"
    monkeypatch.setenv(DEFAULT_PATH_ENV, str(chosen))
    assert SQLiteSessionStore().path == str(chosen)


def test_a_relative_path_is_fixed_when_the_store_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    store = SQLiteSessionStore("rel.sqlite3")
    monkeypatch.chdir(tmp_path / "b")

    async def scenario() -> None:
        async with store:
            await store.create_session("s")

    run(scenario())
    assert (tmp_path / "a" / "rel.sqlite3").exists()
    assert not (tmp_path / "b" / "rel.sqlite3").exists()


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"ttl_seconds": 0}, ValueError),
        ({"ttl_seconds": -1}, ValueError),
        ({"busy_timeout_seconds": -1}, ValueError),
        ({"busy_timeout_seconds": "5"}, TypeError),
        ({"read_connections": 0}, ValueError),
        ({"read_connections": True}, TypeError),
    ],
)
def test_bad_options_are_refused(db_path: Path, options: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        SQLiteSessionStore(db_path, **options)
    assert not db_path.exists()


def test_building_a_store_touches_no_file(db_path: Path) -> None:
    SQLiteSessionStore(db_path)
    assert not db_path.exists()


# -- what is on disk ---------------------------------------------------------


def test_rows_hold_integer_milliseconds_and_json_text(db_path: Path) -> None:
    clock = ManualClock(1_700_000_000.1239)

    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, ttl_seconds=60, clock=clock) as store:
            await store.create_session("s", {"text": "π😀\x00", "n": 2**62, "ok": True})
            clock.now += 1.5
            await store.update_session("s", {})

    run(scenario())
    [row] = raw_rows(db_path)
    assert row[:4] == ("s", 1_700_000_000_123, 1_700_000_001_623, 1_700_000_061_623)
    assert json.loads(row[4]) == {"text": "π😀\x00", "n": 2**62, "ok": True}
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()


def test_sessions_survive_closing_and_reopening_the_file(db_path: Path) -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(db_path) as first:
            await first.create_session("kept", {"n": 1})
        async with SQLiteSessionStore(db_path) as second:
            session = await second.get_session("kept")
            assert session is not None
            assert session.data == {"n": 1}
            with pytest.raises(SessionExistsError):
                await second.create_session("kept")

    run(scenario())


def test_memory_databases_are_private_to_their_store() -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(":memory:") as first, SQLiteSessionStore(":memory:") as other:
            await first.create_session("s", {"n": 1})
            assert await first.session_exists("s")
            assert not await other.session_exists("s")

    run(scenario())


# -- revisions ---------------------------------------------------------------

# The table as the version before revisions made it.
OLD_SCHEMA = f"""CREATE TABLE {TABLE} (
    session_id TEXT NOT NULL PRIMARY KEY,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER,
    data_json TEXT NOT NULL
) WITHOUT ROWID"""


def test_revisions_follow_data_writes_on_a_file_and_in_memory(db_path: Path) -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, ttl_seconds=60) as on_file:
            await check_revision_semantics(on_file)
        async with SQLiteSessionStore(":memory:") as in_memory:
            await check_revision_semantics(in_memory)

    run(scenario())


def test_concurrent_conditional_writers_have_one_winner_per_round(db_path: Path) -> None:
    # Four store objects: four writer connections racing on one file, as four processes would.
    async def scenario() -> None:
        stores = [SQLiteSessionStore(db_path, ttl_seconds=60) for _ in range(4)]
        try:
            await race_conditional_writers(stores)
        finally:
            for store in stores:
                await store.aclose()

    run(scenario())


def test_a_conditional_update_racing_another_process_is_refused(db_path: Path) -> None:
    # Another process writes between this store's read and its conditional write.
    clock = ManualClock(1_700_000_000.0)

    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, clock=clock) as store:
            await store.create_session("s", {"n": 1})
            seen = await store.get_session("s")
            assert seen is not None
            with sqlite3.connect(db_path) as other:
                other.execute(
                    f"UPDATE {TABLE} SET data_json = '{{\"n\":2}}', revision = revision + 1"
                )
            other.close()
            with pytest.raises(RevisionConflictError) as refused:
                await store.update_session("s", {"data": {"n": 3}}, expected_revision=seen.revision)
            assert refused.value.current_revision == 2
            after = await store.get_session("s")
            assert after is not None
            assert (after.data, after.revision) == ({"n": 2}, 2)

    run(scenario())


def test_a_table_without_revisions_is_migrated_once_and_keeps_its_sessions(
    db_path: Path,
) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute(OLD_SCHEMA)
        connection.execute(
            f"INSERT INTO {TABLE} VALUES ('old', 1700000000000, 1700000000500, NULL, '{{\"a\":1}}')"
        )
    connection.close()

    async def scenario() -> None:
        # Two stores set the file up: the second finds the column there.
        async with SQLiteSessionStore(db_path) as first, SQLiteSessionStore(db_path) as second:
            old = await first.get_session("old")
            assert old is not None
            assert (old.data, old.revision) == ({"a": 1}, 1)
            await second.update_session("old", {"data": {"a": 2}}, expected_revision=1)
            with pytest.raises(RevisionConflictError) as refused:
                await first.update_session("old", {"data": {"a": 3}}, expected_revision=1)
            assert refused.value.current_revision == 2
            await first.create_session("new")
            new = await second.get_session("new")
            assert new is not None
            assert new.revision == 1
        # A later store on the migrated file changes nothing more.
        async with SQLiteSessionStore(db_path) as again:
            migrated = await again.get_session("old")
            assert migrated is not None
            assert (migrated.data, migrated.revision) == ({"a": 2}, 2)

    run(scenario())
    with sqlite3.connect(db_path) as connection:
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({TABLE})")]
    connection.close()
    assert columns.count("revision") == 1
    assert columns[-1] == "revision"


def test_migrating_processes_do_not_trip_over_each_other(db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute(OLD_SCHEMA)
    connection.close()
    code = (
        "import asyncio, sys\n"
        "from reference_stores.sqlite import SQLiteSessionStore\n"
        "async def main():\n"
        "    async with SQLiteSessionStore(sys.argv[1]) as store:\n"
        "        await store.create_session(sys.argv[2])\n"
        "        await store.update_session(sys.argv[2], {'data': {}}, expected_revision=1)\n"
        "asyncio.run(main())\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(db_path), f"p{index}"], cwd=REPO_ROOT)
        for index in range(4)
    ]
    assert [process.wait(timeout=60) for process in processes] == [0, 0, 0, 0]
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(f"SELECT session_id, revision FROM {TABLE}").fetchall()
    connection.close()
    assert sorted(rows) == [(f"p{index}", 2) for index in range(4)]


# -- purge_expired -----------------------------------------------------------


def test_purge_expired_removes_only_expired_rows(db_path: Path) -> None:
    clock = ManualClock(1_700_000_000.0)

    async def scenario() -> None:
        async with (
            SQLiteSessionStore(db_path, ttl_seconds=10, clock=clock) as store,
            SQLiteSessionStore(db_path, clock=clock) as forever,
        ):
            await store.create_session("old-1")
            await store.create_session("old-2")
            await forever.create_session("no-expiry")
            clock.now += 5
            await store.create_session("young")
            clock.now += 5  # the old ones are exactly at their expiry: gone
            assert await store.get_session("old-1") is None
            assert not await store.session_exists("old-2")
            assert len(raw_rows(db_path)) == 4  # invisible, not yet removed
            assert await store.purge_expired() == 2
            assert [row[0] for row in raw_rows(db_path)] == ["no-expiry", "young"]
            assert await store.purge_expired() == 0
            assert await store.session_exists("young")
            assert await store.session_exists("no-expiry")

    run(scenario())


def test_create_over_an_expired_row_starts_a_fresh_session(db_path: Path) -> None:
    clock = ManualClock(1_700_000_000.0)

    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, ttl_seconds=10, clock=clock) as store:
            await store.create_session("s", {"old": True})
            clock.now += 20
            await store.create_session("s", {"new": True})
            session = await store.get_session("s")
            assert session is not None
            assert session.data == {"new": True}
            assert session.created_at.timestamp() == clock.now
            assert session.ttl == int(clock.now) + 10

    run(scenario())


# -- several store objects and processes ---------------------------------------

CHILD = r"""
import asyncio, json, sys, time
from reference_stores import SessionExistsError
from reference_stores.sqlite import SQLiteSessionStore

async def main(path, action, argument):
    async with SQLiteSessionStore(path, ttl_seconds=3600) as store:
        if action == "create":
            data = {"by": "first", "text": "π😀\u0000", "n": 2**63 - 1}
            await store.create_session(argument, data)
            print(json.dumps("created"))
        elif action == "read-update-delete":
            before = await store.get_session(argument)
            await store.update_session(argument, {"data": {"by": "second"}})
            after = await store.get_session(argument)
            await store.delete_session(argument)
            print(json.dumps({
                "before": before.data,
                "created": [before.created_at.isoformat(), after.created_at.isoformat()],
                "after": after.data,
                "exists_after_delete": await store.session_exists(argument),
            }))
        elif action == "race":
            ids, name = json.loads(argument)
            await store.session_exists("warm-up")  # connections open before the start
            print("ready", flush=True)
            sys.stdin.readline()
            won = []
            for session_id in ids:
                try:
                    await store.create_session(session_id, {"owner": name})
                except SessionExistsError:
                    continue
                won.append(session_id)
            print(json.dumps(won), flush=True)

asyncio.run(main(*sys.argv[1:4]))
"""


def child_command(path: Path, action: str, argument: str) -> list[str]:
    return [sys.executable, "-c", CHILD, str(path), action, argument]


def child_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONIOENCODING": "utf-8",
    }


def run_child(path: Path, action: str, argument: str) -> Any:
    completed = subprocess.run(
        child_command(path, action, argument),
        env=child_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_a_later_process_reads_updates_and_deletes_what_an_earlier_one_created(
    db_path: Path,
) -> None:
    assert run_child(db_path, "create", "restart-1") == "created"
    result = run_child(db_path, "read-update-delete", "restart-1")
    assert result["before"] == {"by": "first", "text": "π😀\x00", "n": 2**63 - 1}
    assert result["after"] == {"by": "second"}
    assert result["created"][0] == result["created"][1]
    assert result["exists_after_delete"] is False
    assert raw_rows(db_path) == []


@pytest.mark.parametrize("existing", ["none", "expired"])
def test_concurrent_creates_from_several_processes_have_one_winner_each(
    db_path: Path, existing: str
) -> None:
    ids = [f"race-{index}" for index in range(40)]
    if existing == "expired":
        # Rows from an hour ago with a 1 s TTL: each create must replace one, once.
        async def seed() -> None:
            past = ManualClock(time.time() - 3600)
            async with SQLiteSessionStore(db_path, ttl_seconds=1, clock=past) as store:
                for session_id in ids:
                    await store.create_session(session_id, {"owner": "expired"})

        run(seed())
    names = [f"process-{index}" for index in range(3)]
    children = [
        subprocess.Popen(
            child_command(db_path, "race", json.dumps([ids, name])),
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for name in names
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert all(child.returncode == 0 for child in children), [err for _, err in outputs]
    wins = {name: json.loads(out) for name, (out, _) in zip(names, outputs, strict=True)}
    winners: dict[str, list[str]] = {}
    for name, won in wins.items():
        for session_id in won:
            winners.setdefault(session_id, []).append(name)
    assert sorted(winners) == sorted(ids)
    assert all(len(names_) == 1 for names_ in winners.values()), winners
    stored = {row[0]: json.loads(row[4])["owner"] for row in raw_rows(db_path)}
    assert stored == {session_id: owners[0] for session_id, owners in winners.items()}


FORK_SCRIPT = r"""
import asyncio, json, os, signal, sys, warnings
from reference_stores import SessionStoreError
from reference_stores.sqlite import SQLiteSessionStore

warnings.simplefilter("ignore", DeprecationWarning)  # fork() of a threaded process
file_store = SQLiteSessionStore(sys.argv[1])
memory_store = SQLiteSessionStore(":memory:")

async def before_fork():
    await file_store.create_session("from-parent")
    await memory_store.create_session("from-parent")

async def in_child():
    await file_store.create_session("from-child")
    result = {"sees_parent": await file_store.session_exists("from-parent")}
    try:
        await memory_store.session_exists("from-parent")
        result["memory"] = "usable"
    except SessionStoreError as error:
        result["memory"] = str(error)
    return result

async def after_fork():
    found = await file_store.session_exists("from-child")
    await file_store.aclose()
    await memory_store.aclose()
    return found

asyncio.run(before_fork())
read_end, write_end = os.pipe()
pid = os.fork()
if pid == 0:
    signal.alarm(20)  # a child that hangs must not outlive the test
    os.close(read_end)
    os.write(write_end, json.dumps(asyncio.run(in_child())).encode())
    os._exit(0)
os.close(write_end)
_, status = os.waitpid(pid, 0)
child = json.loads(os.read(read_end, 10000))
parent_sees_child = asyncio.run(after_fork())
print(json.dumps({"status": status, "child": child, "parent_sees_child": parent_sees_child}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_store_used_before_fork_works_in_the_child(db_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT, str(db_path)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {
        "status": 0,
        "child": {
            "sees_parent": True,
            "memory": "sqlite: a ':memory:' store cannot be used after os.fork()",
        },
        "parent_sees_child": True,
    }


def test_two_store_objects_in_one_process_race_creates_with_one_winner(db_path: Path) -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(db_path) as first, SQLiteSessionStore(db_path) as second:

            async def attempt(store: SQLiteSessionStore, session_id: str) -> bool:
                try:
                    await store.create_session(session_id, {"by": id(store)})
                except SessionExistsError:
                    return False
                return True

            ids = [f"s{index}" for index in range(30)]
            results = await asyncio.gather(
                *(attempt(store, i) for i in ids for store in (first, second))
            )
            assert sum(results) == len(ids)
            assert all(a != b for a, b in zip(results[::2], results[1::2], strict=True))

    run(scenario())


def test_many_concurrent_operations_queue_and_all_complete(db_path: Path) -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, read_connections=2) as store:
            ids = [f"s{index}" for index in range(60)]
            await asyncio.gather(*(store.create_session(i, {"n": 0}) for i in ids))
            await asyncio.gather(*(store.update_session(i, {"data": {"n": 1}}) for i in ids))
            sessions = await asyncio.gather(*(store.get_session(i) for i in ids))
            assert [s.data if s else None for s in sessions] == [{"n": 1}] * len(ids)
            await asyncio.gather(*(store.delete_session(i) for i in ids[::2]))
            present = await asyncio.gather(*(store.session_exists(i) for i in ids))
            assert present == [index % 2 == 1 for index in range(len(ids))]

    run(scenario())


# -- threads and the event loop ------------------------------------------------


def test_a_write_waiting_for_a_lock_leaves_the_event_loop_and_reads_running(db_path: Path) -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, busy_timeout_seconds=10) as store:
            await store.create_session("present", {"n": 1})
            holder = sqlite3.connect(db_path, isolation_level=None)
            try:
                holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
                loop = asyncio.get_running_loop()
                # Only a loop that keeps running ever releases the lock.
                loop.call_later(0.3, holder.execute, "COMMIT")
                ticks = 0
                read_during_wait = None

                async def meanwhile() -> None:
                    nonlocal ticks, read_during_wait
                    read_during_wait = await store.get_session("present")
                    while True:
                        await asyncio.sleep(0.01)
                        ticks += 1

                other = asyncio.create_task(meanwhile())
                await store.create_session("waited", {"n": 2})
                other.cancel()
                assert read_during_wait is not None
                assert read_during_wait.data == {"n": 1}
                assert ticks >= 5
                assert await store.session_exists("waited")
            finally:
                holder.close()

    run(scenario())


def test_a_cancelled_operation_leaves_the_store_usable(db_path: Path) -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, busy_timeout_seconds=10) as store:
            await store.create_session("present")
            holder = sqlite3.connect(db_path, isolation_level=None)
            try:
                holder.execute("BEGIN IMMEDIATE")
                waiting = asyncio.create_task(store.update_session("present", {"data": {"n": 1}}))
                await asyncio.sleep(0.05)
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
                holder.execute("COMMIT")
            finally:
                holder.close()
            await store.create_session("after")
            assert await store.session_exists("after")

    run(scenario())


def _store_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("sqlite-session-")}


def test_aclose_ends_the_threads_and_refuses_later_calls(db_path: Path) -> None:
    async def scenario() -> None:
        before = _store_threads()
        store = SQLiteSessionStore(db_path)
        await store.create_session("s")
        assert await store.session_exists("s")
        started = _store_threads() - before
        assert started
        await store.aclose()
        await store.aclose()  # idempotent
        assert not any(thread.is_alive() for thread in started)
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: store.session_exists("s"),
            lambda: store.get_session("s"),
            lambda: store.create_session("t"),
            lambda: store.update_session("s", {}),
            lambda: store.delete_session("s"),
            store.purge_expired,
        ]
        for call in calls:
            with pytest.raises(SessionStoreError, match="closed"):
                await call()

    run(scenario())
    assert [row[0] for row in raw_rows(db_path)] == ["s"]


def test_a_store_dropped_without_aclose_stops_its_threads(db_path: Path) -> None:
    async def scenario() -> set[threading.Thread]:
        before = _store_threads()
        store = SQLiteSessionStore(db_path)
        await store.create_session("s")
        await store.get_session("s")
        return _store_threads() - before

    started = run(scenario())
    assert started
    gc.collect()
    for thread in started:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in started)


# -- backend failures ------------------------------------------------------------

ALL_OPERATIONS: list[tuple[str, Callable[[SQLiteSessionStore], Awaitable[Any]]]] = [
    ("session_exists", lambda store: store.session_exists("s")),
    ("get_session", lambda store: store.get_session("s")),
    ("create_session", lambda store: store.create_session("s", {"n": 1})),
    ("update_session", lambda store: store.update_session("s", {"data": {"n": 2}})),
    ("delete_session", lambda store: store.delete_session("s")),
    ("purge_expired", lambda store: store.purge_expired()),
]


def assert_backend_error(error: pytest.ExceptionInfo[SessionStoreError], cause: type) -> None:
    assert type(error.value) is SessionStoreError
    assert isinstance(error.value.__cause__, cause), repr(error.value.__cause__)
    assert str(error.value).startswith("sqlite: ")


@pytest.mark.parametrize(("name", "call"), ALL_OPERATIONS, ids=[n for n, _ in ALL_OPERATIONS])
def test_a_file_that_cannot_be_opened_raises_with_the_cause(
    tmp_path: Path, name: str, call: Callable[[SQLiteSessionStore], Awaitable[Any]]
) -> None:
    async def scenario() -> None:
        for path in (tmp_path / "missing" / "s.sqlite3", tmp_path):
            async with SQLiteSessionStore(path) as store:
                with pytest.raises(SessionStoreError) as error:
                    await call(store)
                assert_backend_error(error, sqlite3.OperationalError)
                assert "unable to open" in str(error.value)

    run(scenario())
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(("name", "call"), ALL_OPERATIONS, ids=[n for n, _ in ALL_OPERATIONS])
def test_a_corrupt_database_file_raises_with_the_cause(
    db_path: Path, name: str, call: Callable[[SQLiteSessionStore], Awaitable[Any]]
) -> None:
    garbage = b"this is not an SQLite database\n" * 200
    db_path.write_bytes(garbage)

    async def scenario() -> None:
        async with SQLiteSessionStore(db_path) as store:
            with pytest.raises(SessionStoreError) as error:
                await call(store)
            assert_backend_error(error, sqlite3.DatabaseError)

    run(scenario())
    assert db_path.read_bytes() == garbage


def test_a_lock_held_beyond_the_busy_timeout_fails_writes_but_not_reads(db_path: Path) -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, busy_timeout_seconds=0.2) as store:
            await store.create_session("s", {"n": 0})
            holder = sqlite3.connect(db_path, isolation_level=None)
            try:
                holder.execute("BEGIN IMMEDIATE")
                for name, call in ALL_OPERATIONS:
                    if name in ("session_exists", "get_session"):
                        assert await call(store) not in (None, False)  # WAL: readers go on
                        continue
                    with pytest.raises(SessionStoreError) as error:
                        await call(store)
                    assert_backend_error(error, sqlite3.OperationalError)
                    assert "locked" in str(error.value)
            finally:
                holder.rollback()
                holder.close()
            session = await store.get_session("s")
            assert session is not None
            assert session.data == {"n": 0}
            await store.update_session("s", {"data": {"n": 1}})
            session = await store.get_session("s")
            assert session is not None
            assert session.data == {"n": 1}

    run(scenario())


@pytest.mark.parametrize(
    ("column", "value", "cause"),
    [
        ("data_json", "not json", ValueError),
        ("data_json", "[1, 2]", ValueError),
        ("created_at_ms", 10**18, OverflowError),
    ],
)
def test_a_corrupt_row_raises_with_the_cause(
    db_path: Path, column: str, value: Any, cause: type
) -> None:
    async def scenario() -> None:
        async with SQLiteSessionStore(db_path) as store:
            await store.create_session("s", {"n": 1})
            with sqlite3.connect(db_path) as connection:
                connection.execute(f"UPDATE {TABLE} SET {column} = ?", (value,))
            connection.close()
            with pytest.raises(SessionStoreError) as error:
                await store.get_session("s")
            assert_backend_error(error, cause)

    run(scenario())


def test_each_operation_serializes_or_decodes_once_at_most_and_never_walks(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work per operation, counted (no clock): a regression of that kind fails here."""
    counter = WorkCounter(monkeypatch, sqlite_store)

    async def scenario() -> None:
        async with SQLiteSessionStore(db_path, ttl_seconds=60) as store:
            await check_work_per_operation(store, counter, write=work(dumps=1), read=work(loads=1))

    run(scenario())
