"""TTL clauses: how long a session lives, and what its ``ttl`` says."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime, timezone

from ..runner import contract_test
from ..trial import NO_CLOCK_LOCAL_ZONE, NO_CLOCK_YEARS, Trial
from .checks import expect_error, read, zone_shift

TEN_YEARS_SECONDS = 315_360_000
"""The largest TTL every store must accept (TTL-CONFIG)."""

FAR_DATES = (2**31 + 30 * 86400, 2**32 + 30 * 86400)
"""A month past the end of signed (2038-01-19) and of unsigned (2106-02-07) 32-bit epoch
seconds: a fixed-width epoch column, or a "no expiry" kept as its largest value, ends there."""

LONG_TTLS = (3 * 86400, 2 * 365 * 86400)
"""Days and years: a session lives them out in full, not only its ``ttl`` says so (TTL-CONFIG:
a TTL accepted is never silently shortened)."""

FRACTIONAL_TTL = 2.5
"""A TTL with a fraction: kept in whole seconds, it ends half a second early."""


def _date(trial: Trial) -> str:
    """The clock's reading as a date, for messages about far-off times."""
    if trial.clock is None:
        return ""
    return f" (the clock reads {datetime.fromtimestamp(trial.now(), timezone.utc):%Y-%m-%d %H:%M:%S} UTC)"


async def _lives_out(trial: Trial, ttl_seconds: float, what: str) -> None:
    """A session of a store built with ``ttl_seconds``, created now, lives exactly its window."""
    store = await trial.open(ttl_seconds=ttl_seconds)
    early, late = trial.new_id(), trial.new_id()
    began = trial.now()
    await store.create_session(early, {})
    await store.create_session(late, {})
    ended = trial.now()
    await trial.sleep_until(began + ttl_seconds - trial.margin)
    record = await store.get_session(early)
    if trial.now() < began + ttl_seconds:
        trial.check(
            record is not None,
            f"{what}: with ttl_seconds={ttl_seconds:g}, get_session returned None "
            f"{trial.now() - began:.3f} s after create_session began{_date(trial)}",
        )
    await trial.sleep_until(ended + ttl_seconds + 1 + trial.margin)
    record = await store.get_session(late)
    trial.check(
        record is None,
        f"{what}: with ttl_seconds={ttl_seconds:g}, get_session returned a session "
        f"{trial.now() - ended:.3f} s after create_session returned (at most 1 s more is "
        f"allowed){_date(trial)}: {record!r}",
    )


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
            for ttl_seconds in (*LONG_TTLS, TEN_YEARS_SECONDS):
                store = await trial.open(ttl_seconds=ttl_seconds)
                session_id = trial.new_id()
                began = trial.now()
                await store.create_session(session_id, {})
                await trial.sleep_until(began + ttl_seconds - 1)
                trial.check(
                    await store.get_session(session_id) is not None,
                    f"with ttl_seconds={ttl_seconds}, get_session returned None "
                    f"{trial.now() - began:.0f} s after create_session{_date(trial)}",
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

    @contract_test("TTL-WINDOW", ttl=True)
    async def test_a_fractional_ttl_lasts_as_long_as_asked(self, trial: Trial) -> None:
        await _lives_out(trial, FRACTIONAL_TTL, "a fractional TTL")

    @contract_test("TTL-WINDOW", ttl=True)
    async def test_sessions_created_far_ahead_keep_the_window(self, trial: Trial) -> None:
        if trial.clock is None:
            trial.not_tried(NO_CLOCK_YEARS)
            return
        for moment in FAR_DATES:  # sessions written then expire on time, not at once or never
            await trial.sleep_until(moment)
            await _lives_out(trial, trial.ttl_seconds, "a session created far ahead")

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
            moments = [trial.now() + trial.ttl_seconds + 1 + trial.margin]
        else:
            # Decades, and past the ends of 32-bit epoch seconds: "never" is not a date.
            moments = [trial.now() + 10 * 365 * 86400, *FAR_DATES]
        for moment in moments:
            await trial.sleep_until(moment)
            when = f"{trial.now() - trial._start:.0f} s after create_session" + _date(trial)
            record = await store.get_session(session_id)
            trial.check(
                record is not None,
                f"with ttl_seconds=None, get_session returned None {when}",
            )
            for how, other in written.items():
                trial.check(
                    await store.get_session(other) is not None,
                    f"with ttl_seconds=None, get_session returned None for a session created "
                    f"and {how}, {when}",
                )
        await store.update_session(session_id, {"data": {"still": "yes"}})
        trial.check(
            (await read(trial, store, session_id)).ttl is None,
            "after an update the ttl is no longer None",
        )
