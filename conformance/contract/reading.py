"""get_session and session_exists clauses."""

from __future__ import annotations

import contextlib
from typing import Any

from ..runner import contract_test
from ..trial import Trial
from .checks import check_data, check_unchanged, read


def _live(record: Any) -> str:
    return "a session" if record is not None else "None"


class GetClauses:
    @contract_test("GET-MISSING")
    async def test_get_of_an_unknown_or_deleted_id_is_none(self, trial: Trial) -> None:
        store = await trial.open()
        unknown, deleted = trial.new_id(), trial.new_id()
        record = await store.get_session(unknown)
        trial.check(
            record is None, f"get_session of an id never created returned {record!r}, not None"
        )
        await store.create_session(deleted, {"x": "1"})
        await store.delete_session(deleted)
        record = await store.get_session(deleted)
        trial.check(
            record is None,
            f"get_session of an id just deleted returned {record!r}, not None",
        )

    @contract_test("GET-EXPIRED", ttl=True)
    async def test_get_of_an_expired_session_is_none(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"x": "1"})
        ended = trial.now()
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        record = await store.get_session(session_id)
        trial.check(
            record is None,
            f"get_session returned a session {trial.now() - ended:.3f} s after its "
            f"create_session returned (ttl_seconds={trial.ttl_seconds:g}; it must be gone 1 s "
            f"after its TTL): {record!r}",
        )

    @contract_test("GET-ISOLATED")
    async def test_mutating_a_returned_record_changes_nothing_stored(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        data = {"list": ["1", {"x": "1"}], "obj": {"k": "v", "deep": {"n": ["1", "2"]}}}
        await store.create_session(session_id, data)
        before = await read(trial, store, session_id)
        record: Any = await store.get_session(session_id)
        record.data["list"].append("99")
        record.data["list"][1]["x"] = "2"
        record.data["obj"]["k"] = "changed"
        record.data["obj"]["deep"]["n"].clear()
        record.data["added"] = "yes"
        for name, value in (("session_id", "changed"), ("ttl", 1), ("data", {"replaced": "y"})):
            with contextlib.suppress(AttributeError, TypeError):  # a read-only record is fine
                setattr(record, name, value)
        trial.mutated(record, _RECORD_MUTATION)
        after = await check_unchanged(
            trial, store, session_id, before, "mutating a record get_session returned"
        )
        check_data(trial, data, after.data, "after mutating a record get_session returned")

    @contract_test("GET-NO-REFRESH", ttl=True)
    async def test_get_does_not_refresh_the_ttl(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        began = trial.now()
        await store.create_session(session_id, {})
        ended = trial.now()
        created = await read(trial, store, session_id)
        for fraction in (0.5, 0.8):
            await trial.sleep_until(ended + trial.ttl_seconds * fraction)
            later = await read(trial, store, session_id)
            trial.check(
                later.updated_at == created.updated_at,
                f"get_session {fraction * trial.ttl_seconds:g} s after create_session returned "
                f"updated_at {later.updated_at}; it was {created.updated_at}",
            )
        # And just before it expires: a store may refresh only a session about to expire.
        await trial.sleep_until(began + trial.ttl_seconds - trial.margin)
        await store.get_session(session_id)
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        record = await store.get_session(session_id)
        trial.check(
            record is None,
            f"after three get_session calls the session was still live {trial.now() - ended:.3f} s "
            f"after its create_session (ttl_seconds={trial.ttl_seconds:g}): {record!r}",
        )


class ExistsClauses:
    @contract_test("EXISTS-MATCHES-GET")
    async def test_exists_agrees_with_get(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        steps = [
            ("never created", None),
            ("created", lambda: store.create_session(session_id, {"a": "1"})),
            ("updated", lambda: store.update_session(session_id, {"data": {"b": "2"}})),
            ("touched", lambda: store.update_session(session_id, {})),
            ("deleted", lambda: store.delete_session(session_id)),
        ]
        for label, step in steps:
            if step is not None:
                await step()
            exists = await store.session_exists(session_id)
            record = await store.get_session(session_id)
            trial.check(
                exists is (record is not None),
                f"{label}: session_exists returned {exists!r} while get_session returned "
                f"{_live(record)}",
            )

    @contract_test("EXISTS-MATCHES-GET", ttl=True, needs=("GET-EXPIRED",))
    async def test_exists_and_get_agree_around_expiry(self, trial: Trial) -> None:
        """Just before and just after expiry, at the same instants, exists and get agree."""
        store = await trial.open()
        if trial.clock is None:
            await _agree_around_expiry_in_real_time(trial, store)
            return
        # A creation time off the whole second shows an expiry decided at another grain.
        offsets = (-0.5, -0.001, 0.0, 0.001, 0.25, 0.6, 0.999, 1.001, 1.5)
        ids = [trial.new_id() for _ in offsets]
        for session_id in ids:
            await store.create_session(session_id, {})
        created = trial.now()
        for offset, session_id in zip(offsets, ids, strict=True):
            await trial.sleep_until(created + trial.ttl_seconds + offset)
            exists = await store.session_exists(session_id)
            record = await store.get_session(session_id)
            trial.check(
                exists is (record is not None),
                f"{trial.ttl_seconds + offset:.3f} s after create_session (TTL {trial.ttl_seconds:g} s), "
                f"at the same instant, session_exists returned {exists!r} and get_session "
                f"returned {_live(record)}",
            )

    @contract_test("EXISTS-NO-REFRESH", ttl=True)
    async def test_exists_does_not_refresh_the_ttl(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        began = trial.now()
        await store.create_session(session_id, {})
        ended = trial.now()
        for fraction in (0.5, 0.8):
            await trial.sleep_until(ended + trial.ttl_seconds * fraction)
            await store.session_exists(session_id)
        # And just before it expires: a store may refresh only a session about to expire.
        await trial.sleep_until(began + trial.ttl_seconds - trial.margin)
        await store.session_exists(session_id)
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        record = await store.get_session(session_id)
        trial.check(
            record is None,
            f"after three session_exists calls the session was still live "
            f"{trial.now() - ended:.3f} s after its create_session "
            f"(ttl_seconds={trial.ttl_seconds:g}): {record!r}",
        )


async def _agree_around_expiry_in_real_time(trial: Trial, store: Any) -> None:
    # Real time cannot stop between two calls: exists, get, exists in a row, and get may
    # not show a session that the exists calls on both sides of it deny, or the reverse.
    import math
    import time

    middle = math.floor(time.time()) + 0.5
    await trial.sleep_until(middle if middle > time.time() else middle + 1)  # mid-second
    session_id = trial.new_id()
    await store.create_session(session_id, {})
    created = trial.now()
    await trial.sleep_until(created + trial.ttl_seconds - 0.6)
    samples = 0
    while trial.now() < created + trial.ttl_seconds + 1.4:
        before = await store.session_exists(session_id)
        record = await store.get_session(session_id)
        after = await store.session_exists(session_id)
        live = record is not None
        samples += 1
        trial.check(
            not (live and not before) and not (after and not live),
            f"{trial.now() - created:.3f} s after create_session (TTL {trial.ttl_seconds:g} s): "
            f"session_exists returned {before!r}, then get_session returned {_live(record)}, "
            f"then session_exists returned {after!r}",
        )
        await trial.sleep(0.01)
    trial.log.append(f"# {samples} exists/get/exists samples around the expiry agreed")


# The changes above, as the repro script makes them ({0} is the record).
_RECORD_MUTATION = """\
{0}.data["list"].append("99")
{0}.data["list"][1]["x"] = "2"
{0}.data["obj"]["k"] = "changed"
{0}.data["obj"]["deep"]["n"].clear()
{0}.data["added"] = "yes"
for name, value in (("session_id", "changed"), ("ttl", 1), ("data", {{"replaced": "y"}})):
    with contextlib.suppress(AttributeError, TypeError):
        setattr({0}, name, value)"""
