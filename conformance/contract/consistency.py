"""Consistency clauses: read-your-writes, and sessions seen across store instances."""

from __future__ import annotations

from typing import Any

from ..repro.log import bulk_data
from ..runner import contract_test
from ..trial import Trial
from .checks import check_data, read

CAPACITY_SESSIONS = 10_000
"""Live sessions a store must hold at once (CONS-READ-YOUR-WRITES): more than any bound a
cache would pick as "plenty", fewer than a backend needs minutes to write."""
CAPACITY_PAD = 320
"""Characters of padding per session: 10,000 of them make about 3 MiB."""


CAPACITY_BYTES = CAPACITY_PAD + 20
"""About the size of one session's data as JSON text."""
CAPACITY_BUDGET = 10.0
"""Seconds the writes may take: a store too slow for 10,000 of them in that time is checked
on those it wrote, and its verdict says so (a slow store is not a failing one). The reads and
deletes of as many take about as long, within the scenario's time limit."""


class ConsistencyClauses:
    @contract_test("CONS-READ-YOUR-WRITES")
    async def test_a_read_after_a_write_sees_it(self, trial: Trial) -> None:
        store = await trial.open()
        for version in range(10):
            session_id = trial.new_id()  # each round its own id: no round leans on delete
            await store.create_session(session_id, {"v": str(version)})
            check_data(
                trial,
                {"v": str(version)},
                (await read(trial, store, session_id)).data,
                f"round {version}: get_session right after create_session",
            )
            written = {"v": str(version), "updated": "yes"}
            await store.update_session(session_id, {"data": written})
            check_data(
                trial,
                written,
                (await read(trial, store, session_id)).data,
                f"round {version}: get_session right after update_session",
            )
            await store.delete_session(session_id)
            record = await store.get_session(session_id)
            trial.check(
                record is None,
                f"round {version}: get_session right after delete_session returned {record!r}",
            )

    @contract_test("CONS-READ-YOUR-WRITES", heavy=True)
    async def test_ten_thousand_live_sessions_are_all_kept(self, trial: Trial) -> None:
        # A store may not drop a live session to make room: a cache bounded by count or
        # by bytes loses sessions nobody deleted, and a server then restores none of them.
        store = await trial.open()
        made = len(
            await trial.in_bulk(
                store, "create_session", CAPACITY_SESSIONS, pad=CAPACITY_PAD, budget=CAPACITY_BUDGET
            )
        )
        if made < CAPACITY_SESSIONS:  # a slow store is not a failing one: say what was tried
            trial.not_tried(
                f"{CAPACITY_SESSIONS} live sessions: only {made} were written within "
                f"{CAPACITY_BUDGET:g} s, and those were checked"
            )
        records = await trial.in_bulk(store, "get_session", made)
        lost = [n for n, record in enumerate(records) if record is None]
        trial.check(
            not lost,
            f"of {made} live sessions ({made * CAPACITY_BYTES / 2**20:.1f} MiB of data) created "
            f"through one store object, none deleted or expired, get_session then returned "
            f"None for {len(lost)}, first for session {lost[0] if lost else 0} in the order "
            "of creation",
        )
        for n, record in enumerate(records):
            check_data(
                trial, bulk_data(n, CAPACITY_PAD), getattr(record, "data", None), f"session {n}"
            )
        await trial.in_bulk(store, "delete_session", made)

    @contract_test("SHARED-INSTANCES")
    async def test_a_second_instance_sees_the_first_ones_sessions(self, trial: Trial) -> None:
        first = await trial.open()
        declared = getattr(trial.raw(first), "shares_sessions_across_instances", None)
        if declared is not True:
            trial.not_applicable(
                "the store declares shares_sessions_across_instances = False (private to its "
                "instance)"
                if declared is False
                else "the store declares nothing (SHARED-INSTANCES-UNDECLARED judges it)"
            )
        await _check_shared(trial, first, await trial.open(), "")

    @contract_test("SHARED-INSTANCES-UNDECLARED")
    async def test_an_undeclared_store_shares_its_sessions(self, trial: Trial) -> None:
        first = await trial.open()
        if hasattr(trial.raw(first), "shares_sessions_across_instances"):
            trial.not_applicable(
                "the store declares shares_sessions_across_instances (SHARED-INSTANCES judges it)"
            )
        hint = (
            " (the store declares nothing: set shares_sessions_across_instances to True or False)"
        )
        await _check_shared(trial, first, await trial.open(), hint)


async def _check_shared(trial: Trial, first: Any, second: Any, hint: str) -> None:
    for writer, reader in ((first, second), (second, first)):
        session_id = trial.new_id()
        await writer.create_session(session_id, {"from": "writer"})
        record = await reader.get_session(session_id)
        trial.check(
            record is not None,
            f"get_session through a second store instance returned None for a session the "
            f"first one created{hint}",
        )
        check_data(
            trial,
            {"from": "writer"},
            (await read(trial, reader, session_id)).data,
            "read through the other instance",
        )
        await reader.update_session(session_id, {"data": {"from": "reader"}})
        check_data(
            trial,
            {"from": "reader"},
            (await read(trial, writer, session_id)).data,
            "an update made through the other instance",
        )
        await reader.delete_session(session_id)
        record = await writer.get_session(session_id)
        trial.check(
            record is None,
            f"after delete_session through one instance, get_session through the other "
            f"returned {record!r}{hint}",
        )
