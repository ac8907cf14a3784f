"""TTL clauses: how long a session lives, and what its ``ttl`` says."""

from __future__ import annotations

from ..runner import contract_test
from ..trial import Trial
from .checks import expect_error, read


class TtlClauses:
    @contract_test("TTL-CONFIG", ttl=True)
    async def test_ttl_seconds_must_be_positive_or_none(self, trial: Trial) -> None:
        for bad in (0, -1, -0.5):
            await expect_error(
                trial.open(ttl_seconds=bad),
                (ValueError,),
                f"building the store with ttl_seconds={bad!r}",
            )
        for good in (None, 1.5, trial.ttl_seconds):
            store = await trial.open(ttl_seconds=good)
            session_id = trial.new_id()
            await store.create_session(session_id, {"ttl_seconds": good})
            await read(trial, store, session_id)

    @contract_test("TTL-WINDOW", ttl=True)
    async def test_a_session_lives_its_ttl_and_at_most_a_second_more(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        began = trial.now()
        await store.create_session(session_id, {})
        ended = trial.now()
        await trial.sleep_until(began + trial.ttl_seconds - trial.margin)
        live = await store.get_session(session_id)
        if trial.now() < began + trial.ttl_seconds:
            trial.check(
                live is not None,
                f"the session expired before its ttl_seconds={trial.ttl_seconds} had passed",
            )
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        trial.check(
            await store.get_session(session_id) is None,
            "the session was still live more than 1 s after its TTL",
        )
        trial.check(
            await store.session_exists(session_id) is False,
            "session_exists is True more than 1 s after the TTL",
        )

    @contract_test("TTL-FIELD", ttl=True)
    async def test_ttl_is_the_expiry_in_epoch_seconds(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        for step in ("create", "update"):
            began = trial.now()
            if step == "create":
                await store.create_session(session_id, {})
            else:
                await store.update_session(session_id, {"data": {"updated": True}})
            ended = trial.now()
            seen = await read(trial, store, session_id)
            trial.check(
                isinstance(seen.ttl, int) and not isinstance(seen.ttl, bool),
                f"after {step}: ttl is {seen.ttl!r} ({type(seen.ttl).__name__}), not an int",
            )
            low, high = began + trial.ttl_seconds - 1, ended + trial.ttl_seconds + 1
            trial.check(
                low <= seen.ttl <= high,
                f"after {step}: ttl {seen.ttl} is not the expiry (between {low:.3f} and {high:.3f} epoch seconds)",
            )
            await trial.sleep(min(5.0, trial.ttl_seconds / 4))

    @contract_test("TTL-NONE", ttl=True)
    async def test_without_ttl_sessions_never_expire(self, trial: Trial) -> None:
        store = await trial.open(ttl_seconds=None)
        session_id = trial.new_id()
        await store.create_session(session_id, {"forever": True})
        seen = await read(trial, store, session_id)
        trial.check(
            seen.ttl is None, f"with ttl_seconds=None the session's ttl is {seen.ttl!r}, not None"
        )
        await trial.sleep(
            10 * 365 * 86400 if trial.clock is not None else trial.ttl_seconds + 1 + trial.margin
        )
        trial.check(
            await store.session_exists(session_id) is True,
            "with ttl_seconds=None the session expired",
        )
        await store.update_session(session_id, {"data": {"still": True}})
        trial.check(
            (await read(trial, store, session_id)).ttl is None,
            "after an update the ttl is no longer None",
        )
