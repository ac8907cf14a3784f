"""update_session clauses."""

from __future__ import annotations

import asyncio
from typing import Any

from ..runner import contract_test
from ..trial import Trial
from .checks import check_data, check_unchanged, expect_error, json_difference, read

_REFUSED_UPDATES: list[Any] = [
    {"data": {"b": 2}, "ttl": 5},
    {"ttl": 5},
    {"session_id": "other"},
    {"sessionId": "other"},
    {"created_at": "2000-01-01T00:00:00.000Z"},
    {"createdAt": "2000-01-01T00:00:00.000Z"},
    {"updated_at": "2000-01-01T00:00:00.000Z"},
    {"updatedAt": "2000-01-01T00:00:00.000Z"},
    {"expires_at": 0},
    {"extra": 1},
    {"data": {"b": 2}, "extra": 1},
    {"Data": {"b": 2}},
]

_MALFORMED_UPDATES: list[Any] = [
    None,
    [("data", {"b": 2})],
    "data",
    {"data": None},
    {"data": [1, 2]},
    {"data": "text"},
    {"data": 5},
]


class UpdateClauses:
    @contract_test("UPDATE-REPLACE")
    async def test_update_replaces_the_whole_data_object(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"a": 1, "keep": True, "nested": {"x": 1, "y": 2}})
        replacement = {"b": 2, "nested": {"x": 3}}
        await store.update_session(session_id, {"data": replacement})
        check_data(
            trial,
            replacement,
            (await read(trial, store, session_id)).data,
            "after update with new data",
        )
        await store.update_session(session_id, {"data": {}})
        check_data(
            trial, {}, (await read(trial, store, session_id)).data, "after update with data {}"
        )

    @contract_test("UPDATE-TOUCH")
    async def test_update_with_no_data_keeps_data_and_bumps_updated_at(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        data = {"a": [1, 2], "b": {"c": None}}
        await store.create_session(session_id, data)
        before = await read(trial, store, session_id)
        await trial.tick()
        await store.update_session(session_id, {})
        after = await read(trial, store, session_id)
        check_data(trial, data, after.data, "after update_session(id, {})")
        trial.check(
            after.updated_at > before.updated_at,
            f"update_session(id, {{}}) left updated_at at {after.updated_at} (was {before.updated_at})",
        )

    @contract_test("UPDATE-TOUCH", ttl=True)
    async def test_update_with_no_data_restarts_the_ttl(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"k": 1})
        created_end = trial.now()
        await trial.sleep_until(created_end + trial.ttl_seconds * 0.75)
        touch_start = trial.now()
        await store.update_session(session_id, {})
        # Past the first expiry's latest moment, inside the restarted one.
        await trial.sleep_until(created_end + trial.ttl_seconds + 1 + trial.margin)
        record = await store.get_session(session_id)
        if trial.now() < touch_start + trial.ttl_seconds:
            trial.check(
                record is not None,
                "the session expired on its first TTL although update_session(id, {}) touched it",
            )
            check_data(trial, {"k": 1}, record.data, "after a touch")

    @contract_test("UPDATE-KEYS")
    async def test_update_refuses_other_keys_and_changes_nothing(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"a": 1})
        before = await read(trial, store, session_id)
        await trial.tick()
        for updates in _REFUSED_UPDATES:
            await expect_error(
                store.update_session(session_id, updates),
                (ValueError,),
                f"update_session(id, {updates!r})",
            )
        for updates in _MALFORMED_UPDATES:
            await expect_error(
                store.update_session(session_id, updates),
                (TypeError, ValueError),
                f"update_session(id, {updates!r})",
            )
        await check_unchanged(trial, store, session_id, before, "refused updates")

    @contract_test("UPDATE-TIMES")
    async def test_update_stamps_updated_at_and_keeps_created_at(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"v": 0})
        created = await read(trial, store, session_id)
        for version in (1, 2):
            await trial.tick()
            began = trial.now()
            await store.update_session(session_id, {"data": {"v": version}})
            ended = trial.now()
            seen = await read(trial, store, session_id)
            trial.check(
                seen.created_at == created.created_at,
                f"update changed created_at from {created.created_at} to {seen.created_at}",
            )
            low, high = trial.moment_bounds(began, ended)
            trial.check(
                low <= seen.updated_at <= high,
                f"updated_at {seen.updated_at} is not the time of the update ({low} to {high})",
            )
        if trial.clock is not None:
            # A clock stepping back must not move updated_at back.
            latest = (await read(trial, store, session_id)).updated_at
            trial.rewind(30)
            await store.update_session(session_id, {"data": {"v": 3}})
            seen = await read(trial, store, session_id)
            trial.check(
                seen.updated_at >= latest,
                f"after the clock stepped back, updated_at went back from {latest} to {seen.updated_at}",
            )

    @contract_test("UPDATE-TTL-RESTART", ttl=True)
    async def test_update_restarts_the_ttl(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"v": 0})
        created_end = trial.now()
        first = await read(trial, store, session_id)
        await trial.sleep_until(created_end + trial.ttl_seconds * 0.75)
        update_start = trial.now()
        await store.update_session(session_id, {"data": {"v": 1}})
        update_end = trial.now()
        second = await read(trial, store, session_id)
        trial.check(
            isinstance(first.ttl, int) and isinstance(second.ttl, int) and second.ttl > first.ttl,
            f"ttl did not move forward on update: {first.ttl} then {second.ttl}",
        )
        await trial.sleep_until(created_end + trial.ttl_seconds + 1 + trial.margin)
        record = await store.get_session(session_id)
        if trial.now() < update_start + trial.ttl_seconds:
            trial.check(
                record is not None,
                "the session expired on the TTL of its create although it was updated since",
            )
        await trial.sleep_until(update_end + trial.ttl_seconds + 1 + trial.margin)
        trial.check(
            await store.get_session(session_id) is None,
            "the session outlived the TTL restarted by its update",
        )

    @contract_test("UPDATE-NO-UPSERT")
    async def test_update_of_a_missing_id_creates_nothing(self, trial: Trial) -> None:
        store = await trial.open()
        for updates in ({"data": {"x": 1}}, {}):
            session_id = trial.new_id()
            result = await store.update_session(session_id, updates)
            trial.check(result is None, f"update_session of a missing id returned {result!r}")
            trial.check(
                await store.session_exists(session_id) is False,
                f"update_session(missing, {updates!r}) created a session",
            )
            trial.check(
                await store.get_session(session_id) is None,
                f"update_session(missing, {updates!r}) created a session",
            )
            await store.create_session(session_id, {"fresh": True})
            check_data(
                trial,
                {"fresh": True},
                (await read(trial, store, session_id)).data,
                "create after an update of a missing id",
            )

    @contract_test("UPDATE-EXPIRED", ttl=True)
    async def test_update_of_an_expired_session_does_not_revive_it(self, trial: Trial) -> None:
        store = await trial.open()
        data_id, touch_id = trial.new_id(), trial.new_id()
        await store.create_session(data_id, {"v": 0})
        await store.create_session(touch_id, {"v": 0})
        ended = trial.now()
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        await store.update_session(data_id, {"data": {"v": 1}})
        await store.update_session(touch_id, {})
        for session_id in (data_id, touch_id):
            trial.check(
                await store.get_session(session_id) is None,
                "update_session brought an expired session back",
            )
            trial.check(
                await store.session_exists(session_id) is False,
                "update_session brought an expired session back",
            )

    @contract_test("UPDATE-DELETE-RACE")
    async def test_update_racing_delete_never_resurrects(self, trial: Trial) -> None:
        store = await trial.open()
        rounds = int(trial.settings["race_rounds"])
        updaters = max(1, int(trial.settings["race_concurrency"]) - 1)
        for round_index in range(rounds):
            session_id = trial.new_id()
            await store.create_session(session_id, {"round": round_index})
            updates = [
                store.update_session(session_id, {"data": {"writer": k}}) for k in range(updaters)
            ]
            delete = store.delete_session(session_id)
            calls = [delete, *updates] if round_index % 2 else [*updates, delete]
            await asyncio.gather(*calls)
            record = await store.get_session(session_id)
            trial.check(
                record is None,
                f"round {round_index}: the session came back after an update raced its delete: {record!r}",
            )
            trial.check(
                await store.session_exists(session_id) is False,
                f"round {round_index}: session_exists is True after the delete",
            )

    @contract_test("UPDATE-CONCURRENT")
    async def test_concurrent_updates_leave_one_whole_value(self, trial: Trial) -> None:
        store = await trial.open()
        rounds = int(trial.settings["race_rounds"])
        width = max(2, int(trial.settings["race_concurrency"]))
        for round_index in range(rounds):
            session_id = trial.new_id()
            await store.create_session(session_id, {"start": True})
            written = [{"writer": k, f"only_{k}": [k, {"k": k}]} for k in range(width)]
            await asyncio.gather(
                *(store.update_session(session_id, {"data": value}) for value in written)
            )
            final = (await read(trial, store, session_id)).data
            trial.check(
                any(json_difference(value, final) is None for value in written),
                f"round {round_index}: after concurrent updates data is {final!r}, which is none of the written values",
            )
