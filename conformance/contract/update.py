"""update_session clauses."""

from __future__ import annotations

import asyncio
from typing import Any

from ..corpora import NON_MAPPING_UPDATES, RESERVED_KEYS, TYPE_CHANGES
from ..runner import contract_test
from ..trial import NO_CLOCK_STEP_BACK, Trial
from .checks import (
    LARGE_PAYLOAD_BYTES,
    check_data,
    check_unchanged,
    expect_error,
    json_difference,
    large_rounds,
    read,
)

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
    # What coercion idioms (dict(x), `updates or {}`) would turn into a touch.
    *(entry.value for entry in NON_MAPPING_UPDATES),
]


class UpdateClauses:
    @contract_test("UPDATE-REPLACE")
    async def test_update_replaces_the_whole_data_object(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(
            session_id, {"a": "1", "keep": "yes", "nested": {"x": "1", "y": "2"}}
        )
        replacement = {"b": "2", "nested": {"x": "3"}}
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

    @contract_test("UPDATE-REPLACE", consults=("DATA-STRINGS",))
    async def test_update_drops_old_keys_that_look_like_system_fields(self, trial: Trial) -> None:
        # Keys a backend convention treats as its own (a "_" or "$" prefix, a record field's
        # name) are data like any other: an update without them removes them.
        if trial.verdicts.get("DATA-STRINGS") != "pass":  # such keys ("$set") are its
            trial.not_tried("old keys shaped like system fields: DATA-STRINGS does not pass")
            return
        store = await trial.open()
        reserved = {entry.value: f"old {entry.value}" for entry in RESERVED_KEYS}
        for replacement in ({"x": "1"}, {}):
            session_id = trial.new_id()
            await store.create_session(session_id, {**reserved, "plain": "old"})
            await store.update_session(session_id, {"data": replacement})
            check_data(
                trial,
                replacement,
                (await read(trial, store, session_id)).data,
                f"after replacing data holding the keys {list(reserved)} with {replacement!r}",
            )

    @contract_test("UPDATE-REPLACE", consults=("DATA-TYPES", "UPDATE-TIMES"))
    async def test_update_to_equal_data_of_another_type_is_written(self, trial: Trial) -> None:
        # 1 == True == 1.0 in Python ('1' == 1 in JavaScript): a store that skips a write
        # whose data compares equal to the stored data keeps the old JSON type. The types
        # themselves are DATA-TYPES' to judge, and a store that skips such an update whole
        # (its times too) is UPDATE-TIMES' to report.
        failing = [c for c in ("DATA-TYPES", "UPDATE-TIMES") if trial.verdicts.get(c) != "pass"]
        if failing:
            trial.not_tried(
                f"updates that change only a value's JSON type: {' and '.join(failing)} "
                f"{'does' if len(failing) == 1 else 'do'} not pass"
            )
            return
        store = await trial.open()
        for entry in TYPE_CHANGES:
            old, new = entry.value
            session_id = trial.new_id()
            await store.create_session(session_id, {"v": old})
            await store.update_session(session_id, {"data": {"v": new}})
            check_data(
                trial,
                {"v": new},
                (await read(trial, store, session_id)).data,
                f"after update_session(id, {{'data': {{'v': {new!r}}}}}) of the data "
                f"{{'v': {old!r}}} ({entry.why})",
            )

    @contract_test("UPDATE-TOUCH")
    async def test_update_with_no_data_keeps_the_data(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        data = {"a": ["1", "2"], "b": {"c": None}}
        await store.create_session(session_id, data)
        for touch in range(2):
            await trial.tick()
            await store.update_session(session_id, {})
            after = await read(trial, store, session_id)
            check_data(
                trial, data, after.data, f"after touch {touch + 1}, update_session(id, {{}})"
            )
        # After a data update, a touch keeps what the update wrote (whatever the store
        # made of it: that is UPDATE-REPLACE's to judge), not what the create did.
        await store.update_session(session_id, {"data": {"b": "2"}})
        updated = await read(trial, store, session_id)
        await trial.tick()
        await store.update_session(session_id, {})
        after = await read(trial, store, session_id)
        check_data(
            trial, updated.data, after.data, "after a data update, then update_session(id, {})"
        )

    @contract_test("UPDATE-KEYS")
    async def test_update_refuses_other_keys_and_changes_nothing(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"a": "1"})
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
        await store.create_session(session_id, {"v": "0"})
        created = await read(trial, store, session_id)
        for how, updates in _UPDATE_PATHS:
            await trial.tick()
            began = trial.now()
            await store.update_session(session_id, updates)
            ended = trial.now()
            seen = await read(trial, store, session_id)
            trial.check(
                seen.created_at == created.created_at,
                f"{how} changed created_at from {created.created_at} to {seen.created_at}",
            )
            low, high = trial.moment_bounds(began, ended)
            trial.check(
                low <= seen.updated_at <= high,
                f"after {how}, updated_at is {seen.updated_at}; the call was made between "
                f"{low} and {high}{trial.clock_hint()}",
            )
        if trial.clock is None:
            trial.not_tried(NO_CLOCK_STEP_BACK)
        if trial.clock is not None:
            latest = (await read(trial, store, session_id)).updated_at
            trial.rewind(30)
            await store.update_session(session_id, {"data": {"v": "3"}})
            seen = await read(trial, store, session_id)
            trial.check(
                seen.updated_at == latest,
                f"after the clock stepped back 30 s, an update moved updated_at from {latest} "
                f"to {seen.updated_at}; it must stay at the later of the two",
            )

    @contract_test("UPDATE-TTL-RESTART", ttl=True)
    async def test_update_restarts_the_ttl(self, trial: Trial) -> None:
        store = await trial.open()
        # Each session is read once only: a read that refreshed the TTL cannot help it here.
        pairs = []
        for index, (how, updates) in enumerate(_UPDATE_PATHS):
            early, late = trial.new_id(), trial.new_id()
            for session_id in (early, late):
                await store.create_session(session_id, {"v": "0" if index == 0 else "1"})
            pairs.append((how, updates, early, late))
        created_end = trial.now()
        await trial.sleep_until(created_end + trial.ttl_seconds * 0.75)
        update_start = trial.now()
        for _how, updates, early, late in pairs:
            await store.update_session(early, updates)
            await store.update_session(late, updates)
        update_end = trial.now()
        await trial.sleep_until(created_end + trial.ttl_seconds + 1 + trial.margin)
        if trial.now() < update_start + trial.ttl_seconds:
            for how, _updates, early, _late in pairs:
                record = await store.get_session(early)
                trial.check(
                    record is not None,
                    f"get_session returned None {trial.now() - created_end:.3f} s after "
                    f"create_session and {trial.now() - update_end:.3f} s after {how} "
                    f"(ttl_seconds={trial.ttl_seconds:g})",
                )
        await trial.sleep_until(update_end + trial.ttl_seconds + 1 + trial.margin)
        for how, _updates, _early, late in pairs:
            record = await store.get_session(late)
            trial.check(
                record is None,
                f"get_session returned a session {trial.now() - update_start:.3f} s after {how} "
                f"(ttl_seconds={trial.ttl_seconds:g}; it must be gone 1 s after): {record!r}",
            )

    @contract_test("UPDATE-NO-UPSERT")
    async def test_update_of_a_missing_id_creates_nothing(self, trial: Trial) -> None:
        store = await trial.open()
        shapes: tuple[dict[str, Any], ...] = ({"data": {"x": "1"}}, {"data": {}}, {})
        for updates in shapes:
            session_id = trial.new_id()
            result = await store.update_session(session_id, updates)
            trial.check(result is None, f"update_session of a missing id returned {result!r}")
            record = await store.get_session(session_id)
            trial.check(
                record is None,
                f"after update_session(missing id, {updates!r}) get_session returned {record!r}",
            )
            await store.create_session(session_id, {"fresh": "yes"})
            check_data(
                trial,
                {"fresh": "yes"},
                (await read(trial, store, session_id)).data,
                "create after an update of a missing id",
            )

    @contract_test("UPDATE-EXPIRED", ttl=True)
    async def test_update_of_an_expired_session_does_not_revive_it(self, trial: Trial) -> None:
        store = await trial.open()
        data_id, touch_id = trial.new_id(), trial.new_id()
        await store.create_session(data_id, {"v": "0"})
        await store.create_session(touch_id, {"v": "0"})
        ended = trial.now()
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        for session_id, updates in ((data_id, {"data": {"v": "1"}}), (touch_id, {})):
            await store.update_session(session_id, updates)
            record = await store.get_session(session_id)
            exists = await store.session_exists(session_id)
            trial.check(
                record is None and exists is False,
                f"update_session(id, {updates!r}) {trial.now() - ended:.3f} s after "
                f"create_session (ttl_seconds={trial.ttl_seconds:g}), then get_session returned "
                f"{record!r} and session_exists {exists!r}",
            )

    @contract_test("UPDATE-DELETE-RACE")
    async def test_update_racing_delete_never_resurrects(self, trial: Trial) -> None:
        store = await trial.open()
        rounds = int(trial.settings["race_rounds"])
        updaters = max(2, int(trial.settings["race_concurrency"]) - 1)
        for round_index in range(rounds):
            session_id = trial.new_id()
            await store.create_session(session_id, {"round": str(round_index)})
            # Data updates and touches alike, some started before the delete, some after.
            updates = [
                store.update_session(session_id, {"data": {"writer": f"w{k}"}} if k % 2 else {})
                for k in range(updaters)
            ]
            delete = store.delete_session(session_id)
            calls = [delete, *updates] if round_index % 2 else [*updates, delete]
            await asyncio.gather(*calls)
            record = await store.get_session(session_id)
            trial.check(
                record is None,
                f"round {round_index}: after a delete_session raced {updaters} update_session "
                f"calls (data and touches), get_session returned {record!r}",
            )

    @contract_test("UPDATE-CONCURRENT")
    async def test_concurrent_updates_leave_one_whole_value(self, trial: Trial) -> None:
        await _race_updates(trial, int(trial.settings["race_rounds"]), pad=0)

    # Large payloads go through DATA-SIZE's ground: a store refusing them fails there.
    @contract_test("UPDATE-CONCURRENT", heavy=True, needs=("DATA-SIZE",))
    async def test_concurrent_large_updates_leave_one_whole_value(self, trial: Trial) -> None:
        await _race_updates(trial, large_rounds(trial), pad=LARGE_PAYLOAD_BYTES)


_UPDATE_PATHS: list[tuple[str, dict[str, Any]]] = [
    ("an update with new data", {"data": {"v": "1"}}),
    ("an update with the data already stored", {"data": {"v": "1"}}),
    ("a touch, update_session(id, {})", {}),
]
"""Every way an update reaches a live session; the second writes what is already there."""


async def _race_updates(trial: Trial, rounds: int, *, pad: int) -> None:
    """Rounds of concurrent updates of one session; each writer's data carries ``pad`` bytes."""
    store = await trial.open()
    width = max(2, int(trial.settings["race_concurrency"]))
    size = f" with {pad // 1024} KiB payloads" if pad else ""
    for round_index in range(rounds):
        session_id = trial.new_id()
        await store.create_session(session_id, {})
        # Each writer has keys of its own: a blend of several writers shows.
        written: list[dict[str, Any]] = [
            {"writer": f"w{k}", f"only_{k}": [f"{k}", {"k": f"{k}"}]} for k in range(width)
        ]
        if pad:
            for k, value in enumerate(written):
                value[f"pad_{k}"] = "x" * pad
        await asyncio.gather(
            *(store.update_session(session_id, {"data": value}) for value in written)
        )
        final = (await read(trial, store, session_id)).data
        trial.check(
            any(json_difference(value, final) is None for value in written),
            f"round {round_index}: after {width} concurrent updates{size} the data is "
            f"{_short(final)}, which none of them wrote",
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 400 else f"{text[:360]}...<{len(text)} characters>"
