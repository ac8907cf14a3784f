"""create_session clauses."""

from __future__ import annotations

import asyncio

from reference_stores.errors import SessionExistsError

from ..runner import contract_test
from ..trial import Trial
from .checks import check_data, expect_error, matches_error, read


class CreateClauses:
    @contract_test("CREATE-NEW")
    async def test_create_makes_a_live_session_stamped_now(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        data = {"user": "ada", "visits": 1, "tags": ["a", "b"], "prefs": {"dark": True}}
        began = trial.now()
        await store.create_session(session_id, data)
        ended = trial.now()
        trial.check(
            await store.session_exists(session_id) is True,
            "session_exists is not True right after create_session",
        )
        seen = await read(trial, store, session_id)
        trial.check(
            seen.session_id == session_id, f"session_id is {seen.session_id!r}, not {session_id!r}"
        )
        check_data(trial, data, seen.data, "get_session after create_session")
        trial.check(
            seen.created_at == seen.updated_at,
            f"created_at {seen.created_at} and updated_at {seen.updated_at} differ on a new session",
        )
        low, high = trial.moment_bounds(began, ended)
        trial.check(
            low <= seen.created_at <= high,
            f"created_at {seen.created_at} is not the time of the call ({low} to {high})",
        )

    @contract_test("CREATE-DEFAULT-DATA")
    async def test_create_without_data_stores_an_empty_object(self, trial: Trial) -> None:
        store = await trial.open()
        omitted, given_none = trial.new_id(), trial.new_id()
        await store.create_session(omitted)
        await store.create_session(given_none, None)
        for session_id, how in (
            (omitted, "create_session(id)"),
            (given_none, "create_session(id, None)"),
        ):
            seen = await read(trial, store, session_id)
            check_data(trial, {}, seen.data, f"after {how}")

    @contract_test("CREATE-EXISTS")
    async def test_create_over_a_live_session_raises_and_changes_nothing(
        self, trial: Trial
    ) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"first": True})
        before = await read(trial, store, session_id)
        await trial.tick()
        for data in ({"second": True}, None, {}):
            await expect_error(
                store.create_session(session_id, data),
                (SessionExistsError,),
                f"create_session over the live session {session_id!r}",
            )
        after = await read(trial, store, session_id)
        check_data(trial, {"first": True}, after.data, "after a refused create_session")
        trial.check(
            (after.created_at, after.updated_at, after.ttl)
            == (before.created_at, before.updated_at, before.ttl),
            f"a refused create_session changed the session: created_at/updated_at/ttl went from "
            f"{before.created_at}/{before.updated_at}/{before.ttl} to {after.created_at}/{after.updated_at}/{after.ttl}",
        )

    @contract_test("CREATE-OVER-EXPIRED", ttl=True)
    async def test_create_over_an_expired_session_makes_a_new_one(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"old": True})
        old = await read(trial, store, session_id)
        await trial.sleep_until(trial.now() + trial.ttl_seconds + 1 + trial.margin)
        began = trial.now()
        await store.create_session(session_id, {"new": True})
        ended = trial.now()
        new = await read(trial, store, session_id)
        check_data(trial, {"new": True}, new.data, "after re-creating an expired session")
        low, high = trial.moment_bounds(began, ended)
        trial.check(
            low <= new.created_at <= high,
            f"created_at {new.created_at} is not the time of the new create",
        )
        trial.check(
            new.ttl is not None and old.ttl is not None and new.ttl > old.ttl,
            f"the new session's ttl {new.ttl} is not later than the expired one's {old.ttl}",
        )

    @contract_test("CREATE-RACE")
    async def test_concurrent_creates_of_one_id_have_exactly_one_winner(self, trial: Trial) -> None:
        store = await trial.open()
        rounds = int(trial.settings["race_rounds"])
        width = max(2, int(trial.settings["race_concurrency"]))
        for round_index in range(rounds):
            session_id = trial.new_id()
            results = await asyncio.gather(
                *(store.create_session(session_id, {"writer": writer}) for writer in range(width)),
                return_exceptions=True,
            )
            winners = [
                writer
                for writer, result in enumerate(results)
                if not isinstance(result, BaseException)
            ]
            others = [result for result in results if isinstance(result, BaseException)]
            trial.check(
                len(winners) == 1,
                f"round {round_index}: {len(winners)} of {width} concurrent create_session calls succeeded",
            )
            wrong = [error for error in others if not matches_error(error, SessionExistsError)]
            trial.check(
                not wrong,
                f"round {round_index}: a losing create raised {wrong[0]!r}, not SessionExistsError"
                if wrong
                else "",
            )
            seen = await read(trial, store, session_id)
            check_data(
                trial, {"writer": winners[0]}, seen.data, f"round {round_index}: the winner's data"
            )
