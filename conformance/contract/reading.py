"""get_session and session_exists clauses."""

from __future__ import annotations

import contextlib
from typing import Any

from ..runner import contract_test
from ..trial import Trial
from .checks import check_data, check_unchanged, read


class GetClauses:
    @contract_test("GET-MISSING")
    async def test_get_of_an_unknown_or_deleted_id_is_none(self, trial: Trial) -> None:
        store = await trial.open()
        unknown, deleted = trial.new_id(), trial.new_id()
        trial.check(
            await store.get_session(unknown) is None,
            "get_session of an id never created is not None",
        )
        await store.create_session(deleted, {"x": 1})
        await store.delete_session(deleted)
        trial.check(
            await store.get_session(deleted) is None, "get_session of a deleted id is not None"
        )

    @contract_test("GET-EXPIRED", ttl=True)
    async def test_get_of_an_expired_session_is_none(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"x": 1})
        ended = trial.now()
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        record = await store.get_session(session_id)
        trial.check(record is None, f"get_session returned an expired session: {record!r}")

    @contract_test("GET-ISOLATED")
    async def test_mutating_a_returned_record_changes_nothing_stored(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        data = {"list": [1, {"x": 1}], "obj": {"k": "v", "deep": {"n": [1, 2]}}}
        await store.create_session(session_id, data)
        before = await read(trial, store, session_id)
        record: Any = await store.get_session(session_id)
        record.data["list"].append(99)
        record.data["list"][1]["x"] = 2
        record.data["obj"]["k"] = "changed"
        record.data["obj"]["deep"]["n"].clear()
        record.data["added"] = True
        for name, value in (("session_id", "changed"), ("ttl", 1), ("data", {"replaced": True})):
            with contextlib.suppress(AttributeError, TypeError):  # a read-only record is fine
                setattr(record, name, value)
        after = await check_unchanged(
            trial, store, session_id, before, "mutating a record get_session returned"
        )
        check_data(trial, data, after.data, "after mutating a record get_session returned")

    @contract_test("GET-NO-REFRESH", ttl=True)
    async def test_get_does_not_refresh_the_ttl(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {})
        ended = trial.now()
        created = await read(trial, store, session_id)
        await trial.sleep_until(ended + trial.ttl_seconds * 0.8)
        later = await store.get_session(session_id)
        trial.check(later is not None, "the session expired before its TTL")
        trial.check(
            later is None or later.updated_at == created.updated_at,
            "get_session changed updated_at",
        )
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        trial.check(
            await store.get_session(session_id) is None,
            "the session outlived its TTL after a get_session: get refreshed the TTL",
        )


class ExistsClauses:
    @contract_test("EXISTS-MATCHES-GET")
    async def test_exists_agrees_with_get(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        steps = [
            ("never created", None),
            ("created", lambda: store.create_session(session_id, {"a": 1})),
            ("updated", lambda: store.update_session(session_id, {"data": {"b": 2}})),
            ("touched", lambda: store.update_session(session_id, {})),
            ("deleted", lambda: store.delete_session(session_id)),
            ("created again", lambda: store.create_session(session_id)),
            ("deleted again", lambda: store.delete_session(session_id)),
        ]
        for label, step in steps:
            if step is not None:
                await step()
            exists = await store.session_exists(session_id)
            live = await store.get_session(session_id) is not None
            trial.check(
                exists is live,
                f"{label}: session_exists returned {exists!r} while get_session returned "
                f"{'a session' if live else 'None'}",
            )

    @contract_test("EXISTS-MATCHES-GET", ttl=True)
    async def test_exists_is_false_for_an_expired_session(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {})
        ended = trial.now()
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        exists = await store.session_exists(session_id)
        trial.check(exists is False, f"session_exists of an expired session returned {exists!r}")

    @contract_test("EXISTS-NO-REFRESH", ttl=True)
    async def test_exists_does_not_refresh_the_ttl(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {})
        ended = trial.now()
        await trial.sleep_until(ended + trial.ttl_seconds * 0.8)
        trial.check(
            await store.session_exists(session_id) is True, "the session expired before its TTL"
        )
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        trial.check(
            await store.session_exists(session_id) is False,
            "the session outlived its TTL after session_exists: exists refreshed the TTL",
        )
