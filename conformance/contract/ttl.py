"""TTL clauses: how long a session lives, and what its ``ttl`` says."""

from __future__ import annotations

from contextlib import ExitStack

from ..runner import contract_test
from ..trial import NO_CLOCK_LOCAL_ZONE, NO_CLOCK_YEARS, Trial
from .checks import expect_error, read, zone_shift

TEN_YEARS_SECONDS = 315_360_000
"""The largest TTL every store must accept (TTL-CONFIG)."""


class TtlClauses:
    @contract_test("TTL-CONFIG", ttl=True)
    async def test_ttl_seconds_must_be_positive_or_none(self, trial: Trial) -> None:
        for bad in (0, -1, -0.5):
            await expect_error(
                trial.open(ttl_seconds=bad),
                (ValueError,),
                f"building the store with ttl_seconds={bad!r}",
            )
        for good in (None, 1.5, trial.ttl_seconds, TEN_YEARS_SECONDS):
            store = await trial.open(ttl_seconds=good)
            session_id = trial.new_id()
            await store.create_session(session_id, {"ttl_seconds": str(good)})
            await read(trial, store, session_id)

    @contract_test("TTL-CONFIG", ttl=True, needs=("TTL-FIELD",))
    async def test_every_accepted_ttl_is_kept_whole(self, trial: Trial) -> None:
        # Accepting a TTL and silently shortening it is what the clause forbids; ttl shows it.
        for ttl_seconds in (1.5, 86_400, 366 * 86_400, TEN_YEARS_SECONDS):
            store = await trial.open(ttl_seconds=ttl_seconds)
            session_id = trial.new_id()
            began = trial.now()
            await store.create_session(session_id, {})
            ended = trial.now()
            seen = await read(trial, store, session_id)
            low, high = began + ttl_seconds - 1, ended + ttl_seconds + 1
            trial.check(
                isinstance(seen.ttl, int) and low <= seen.ttl <= high,
                f"with ttl_seconds={ttl_seconds}, a new session's ttl is {seen.ttl!r}, not "
                f"its expiry (between {low:.3f} and {high:.3f} epoch seconds): the TTL was "
                "changed, not kept or refused",
            )
        if trial.clock is not None:  # the expiry itself, not only what ttl says
            store = await trial.open(ttl_seconds=TEN_YEARS_SECONDS)
            session_id = trial.new_id()
            began = trial.now()
            await store.create_session(session_id, {})
            await trial.sleep_until(began + TEN_YEARS_SECONDS - 1)
            trial.check(
                await store.get_session(session_id) is not None,
                f"with ttl_seconds={TEN_YEARS_SECONDS}, get_session returned None "
                f"{trial.now() - began:.0f} s after create_session",
            )

    @contract_test("TTL-WINDOW", ttl=True)
    async def test_a_session_lives_its_ttl_and_at_most_a_second_more(self, trial: Trial) -> None:
        store = await trial.open()
        # Two sessions, each read once: one just before its TTL, one just after the slack.
        early, late = trial.new_id(), trial.new_id()
        began = trial.now()
        await store.create_session(early, {})
        await store.create_session(late, {})
        ended = trial.now()
        await trial.sleep_until(began + trial.ttl_seconds - trial.margin)
        record = await store.get_session(early)
        if trial.now() < began + trial.ttl_seconds:
            trial.check(
                record is not None,
                f"get_session returned None {trial.now() - began:.3f} s after create_session "
                f"began (ttl_seconds={trial.ttl_seconds:g})",
            )
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        record = await store.get_session(late)
        trial.check(
            record is None,
            f"get_session returned a session {trial.now() - ended:.3f} s after create_session "
            f"returned (ttl_seconds={trial.ttl_seconds:g}; at most 1 s more is allowed): {record!r}",
        )

    @contract_test("TTL-FIELD", ttl=True)
    async def test_ttl_is_the_expiry_in_epoch_seconds(self, trial: Trial) -> None:
        with ExitStack() as stack:
            # In a zone far from UTC, an expiry computed from local time taken for UTC is off
            # by exactly its offset. Only on a fake clock: in real time the TTL checks run
            # together, and a zone moved for this one would reach the others.
            zone = stack.enter_context(trial.local_time_zone()) if trial.clock else None
            if zone is None:
                trial.not_tried(NO_CLOCK_LOCAL_ZONE)
            store = await trial.open()
            session_id = trial.new_id()
            for step in ("create", "update"):
                began = trial.now()
                if step == "create":
                    await store.create_session(session_id, {})
                else:
                    await store.update_session(session_id, {"data": {"updated": "yes"}})
                ended = trial.now()
                seen = await read(trial, store, session_id)
                trial.check(
                    isinstance(seen.ttl, int) and not isinstance(seen.ttl, bool),
                    f"after {step}: ttl is {seen.ttl!r} ({type(seen.ttl).__name__}), not an int",
                )
                low, high = began + trial.ttl_seconds - 1, ended + trial.ttl_seconds + 1
                side = None if zone is None else zone_shift(seen.ttl, (low, high), zone)
                trial.check(
                    low <= seen.ttl <= high,
                    f"after {step}: ttl {seen.ttl} is not the expiry (between {low:.3f} and "
                    f"{high:.3f} epoch seconds)"
                    + (
                        f": it is {zone.span} {side} it, while the local time zone was "
                        f"{zone.label}: local time taken for UTC"
                        if zone is not None and side is not None
                        else ""
                    ),
                )
                await trial.sleep(min(5.0, trial.ttl_seconds / 4))

    @contract_test("TTL-NONE", ttl=True)
    async def test_without_ttl_sessions_never_expire(self, trial: Trial) -> None:
        store = await trial.open(ttl_seconds=None)
        session_id = trial.new_id()
        await store.create_session(session_id, {"forever": "yes"})
        seen = await read(trial, store, session_id)
        trial.check(
            seen.ttl is None, f"with ttl_seconds=None the session's ttl is {seen.ttl!r}, not None"
        )
        # Sessions written since their create, too: no write may give them an expiry.
        written: dict[str, str] = {}
        for how, updates in (("updated", {"data": {"forever": "still"}}), ("touched", {})):
            other = trial.new_id()
            await store.create_session(other, {"forever": "yes"})
            await store.update_session(other, updates)
            written[how] = other
        if trial.clock is None:
            trial.not_tried(NO_CLOCK_YEARS)
        await trial.sleep(
            10 * 365 * 86400 if trial.clock is not None else trial.ttl_seconds + 1 + trial.margin
        )
        record = await store.get_session(session_id)
        trial.check(
            record is not None,
            f"with ttl_seconds=None, get_session returned None {trial.now() - trial._start:.0f} s "
            "after create_session",
        )
        for how, other in written.items():
            trial.check(
                await store.get_session(other) is not None,
                f"with ttl_seconds=None, get_session returned None "
                f"{trial.now() - trial._start:.0f} s after a session was created and {how}",
            )
        await store.update_session(session_id, {"data": {"still": "yes"}})
        trial.check(
            (await read(trial, store, session_id)).ttl is None,
            "after an update the ttl is no longer None",
        )
