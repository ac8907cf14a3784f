"""Timestamp clauses."""

from __future__ import annotations

from ..runner import contract_test
from ..trial import NO_CLOCK_STEP_BACK, Trial
from .checks import is_aware_utc, read, zone_shift


class TimestampClauses:
    @contract_test("TIME-UTC")
    async def test_timestamps_are_aware_utc(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        # In a zone far from UTC, local time labelled UTC is off by exactly its offset.
        with trial.local_time_zone() as zone:
            began = trial.now()
            await store.create_session(session_id, {})
            created = updated = (began, trial.now())
            for when in ("after create_session", "after update_session"):
                seen = await read(trial, store, session_id)
                for name, (low, high) in (("created_at", created), ("updated_at", updated)):
                    value = getattr(seen, name)
                    trial.check(
                        is_aware_utc(value),
                        f"{when}: {name} {value!r} is not a timezone-aware UTC datetime",
                    )
                    side = zone_shift(value, trial.moment_bounds(low, high), zone)
                    trial.check(
                        side is None,
                        f"{when}: {name} is {value}, {zone.span} {side} the time of the call, "
                        f"while the local time zone was {zone.label}: local time labelled as "
                        f"UTC{trial.clock_hint()}",
                    )
                await trial.tick()
                began = trial.now()
                await store.update_session(session_id, {"data": {"x": "1"}})
                updated = (began, trial.now())

    @contract_test("TIME-MILLIS")
    async def test_timestamps_have_millisecond_precision_and_are_stable(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        if trial.clock is not None:
            trial.clock.set(trial.clock() + 0.1234567)
        await store.create_session(session_id, {})
        for step in range(3):
            first = await read(trial, store, session_id)
            second = await read(trial, store, session_id)
            for name in ("created_at", "updated_at"):
                value = getattr(first, name)
                trial.check(
                    getattr(value, "microsecond", 1) % 1000 == 0,
                    f"{name} {value!r} has a part finer than a millisecond",
                )
                trial.check(
                    value == getattr(second, name),
                    f"{name} differs between two reads: {value} and {getattr(second, name)}",
                )
            if trial.clock is not None:
                trial.clock.set(trial.clock() + 1.0004567)
            else:
                await trial.tick()
            await store.update_session(session_id, {"data": {"step": str(step)}})

    @contract_test("TIME-ORDER")
    async def test_created_at_never_after_updated_at(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {})
        steps = ["create", "update", "touch"]
        for step in steps:
            seen = await read(trial, store, session_id)
            trial.check(
                seen.created_at <= seen.updated_at,
                f"after {step}: created_at {seen.created_at} is after updated_at {seen.updated_at}",
            )
            await trial.tick()
            await store.update_session(
                session_id, {"data": {"s": step}} if step != "update" else {}
            )
        if trial.clock is None:
            trial.not_tried(NO_CLOCK_STEP_BACK)
        if trial.clock is not None:
            trial.rewind(3600)
            await store.update_session(session_id, {"data": {"after": "clock step back"}})
            seen = await read(trial, store, session_id)
            trial.check(
                seen.created_at <= seen.updated_at,
                f"after the clock stepped back: created_at {seen.created_at} is after updated_at {seen.updated_at}",
            )

    @contract_test("TIME-ORDER", ttl=True, needs=("CREATE-OVER-EXPIRED",))
    async def test_created_at_never_after_updated_at_when_re_created(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"old": "yes"})
        await trial.tick()
        await store.update_session(session_id, {"data": {"old": "updated"}})
        await trial.sleep(trial.ttl_seconds + 1 + trial.margin)
        await store.create_session(session_id, {"new": "yes"})
        seen = await read(trial, store, session_id)
        trial.check(
            seen.created_at <= seen.updated_at,
            f"after re-creating an expired session: created_at {seen.created_at} is after "
            f"updated_at {seen.updated_at}",
        )

    @contract_test("TIME-TEXT-FORMAT")
    async def test_text_timestamps_use_the_javascript_iso_form(self, trial: Trial) -> None:
        trial.not_applicable(
            "invisible through the interface: a text-backed store checks its raw records "
            "in its own tests"
        )
