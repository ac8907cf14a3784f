"""create_session clauses."""

from __future__ import annotations

import asyncio
from typing import Any

from reference_stores.errors import SessionExistsError

from ..runner import contract_test
from ..stores import matches_error
from ..trial import Trial
from .checks import LARGE_PAYLOAD_BYTES, check_data, expect_error, large_rounds, read


class CreateClauses:
    @contract_test("CREATE-NEW")
    async def test_create_makes_a_live_session_stamped_now(self, trial: Trial) -> None:
        store = await trial.open()
        payload = {"user": "ada", "visits": "1", "tags": ["a", "b"], "prefs": {"dark": "yes"}}
        for data in (payload, None):
            session_id = trial.new_id()
            how = "create_session(id, data)" if data else "create_session(id)"
            began = trial.now()
            await (
                store.create_session(session_id, data) if data else store.create_session(session_id)
            )
            ended = trial.now()
            seen = await read(trial, store, session_id)
            trial.check(
                seen.session_id == session_id,
                f"after {how}: session_id is {seen.session_id!r}, not {session_id!r}",
            )
            if data:
                check_data(trial, data, seen.data, f"get_session after {how}")
            trial.check(
                seen.created_at == seen.updated_at,
                f"after {how}: created_at is {seen.created_at} and updated_at {seen.updated_at}",
            )
            low, high = trial.moment_bounds(began, ended)
            trial.check(
                low <= seen.created_at <= high,
                f"after {how}: created_at is {seen.created_at}; the call was made between "
                f"{low} and {high}{trial.clock_hint()}",
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
        await store.create_session(session_id, {"first": "yes"})
        before = await read(trial, store, session_id)
        await trial.tick()
        for data in ({"second": "yes"}, {}):
            await expect_error(
                store.create_session(session_id, data),
                (SessionExistsError,),
                f"create_session over the live session {session_id!r}",
            )
        after = await read(trial, store, session_id)
        check_data(trial, {"first": "yes"}, after.data, "after a refused create_session")
        trial.check(
            (after.created_at, after.updated_at, after.ttl)
            == (before.created_at, before.updated_at, before.ttl),
            f"after a refused create_session, created_at/updated_at/ttl went from "
            f"{before.created_at}/{before.updated_at}/{before.ttl} to "
            f"{after.created_at}/{after.updated_at}/{after.ttl}",
        )

    # A create without data goes through CREATE-DEFAULT-DATA's ground: a store that refuses
    # data=None fails there, and is not failed a second time here.
    @contract_test("CREATE-EXISTS", needs=("CREATE-DEFAULT-DATA",))
    async def test_create_without_data_over_a_live_session_raises(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"first": "yes"})
        before = await read(trial, store, session_id)
        await trial.tick()
        for how, call in (
            ("create_session(id, None)", store.create_session(session_id, None)),
            ("create_session(id)", store.create_session(session_id)),
        ):
            await expect_error(
                call, (SessionExistsError,), f"{how} over the live session {session_id!r}"
            )
        after = await read(trial, store, session_id)
        check_data(trial, {"first": "yes"}, after.data, "after a refused create without data")
        trial.check(
            (after.created_at, after.updated_at, after.ttl)
            == (before.created_at, before.updated_at, before.ttl),
            f"after a refused create without data, created_at/updated_at/ttl went from "
            f"{before.created_at}/{before.updated_at}/{before.ttl} to "
            f"{after.created_at}/{after.updated_at}/{after.ttl}",
        )

    @contract_test("CREATE-EXISTS", ttl=True, needs=("TTL-FIELD", "GET-NO-REFRESH"))
    async def test_create_over_a_live_session_leaves_its_expiry(self, trial: Trial) -> None:
        # With a TTL set (a store's default may have none), and whole seconds later, so an
        # expiry the refused create re-armed shows in ttl.
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"first": "yes"})
        created = trial.now()
        before = await read(trial, store, session_id)
        await trial.sleep(trial.ttl_seconds / 2)
        await expect_error(
            store.create_session(session_id, {"second": "yes"}),
            (SessionExistsError,),
            f"create_session over the live session {session_id!r}",
        )
        after = await read(trial, store, session_id)
        trial.check(
            after.ttl == before.ttl,
            f"a create_session refused {trial.now() - created:.3f} s after the session was "
            f"created moved its ttl from {before.ttl} to {after.ttl} "
            f"(ttl_seconds={trial.ttl_seconds:g}): it re-armed the expiry",
        )
        if trial.clock is not None:  # the expiry itself, not only what ttl says
            await trial.sleep_until(created + trial.ttl_seconds + 1 + trial.margin)
            record = await store.get_session(session_id)
            trial.check(
                record is None,
                f"get_session returned the session {trial.now() - created:.3f} s after "
                f"create_session (ttl_seconds={trial.ttl_seconds:g}): a create_session refused "
                f"half-way through its life extended it: {record!r}",
            )

    @contract_test("CREATE-OVER-EXPIRED", ttl=True)
    async def test_create_over_an_expired_session_makes_a_new_one(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"old": "yes"})
        old = await read(trial, store, session_id)
        await trial.sleep_until(trial.now() + trial.ttl_seconds + 1 + trial.margin)
        began = trial.now()
        await store.create_session(session_id, {"new": "yes"})
        ended = trial.now()
        new = await read(trial, store, session_id)
        check_data(trial, {"new": "yes"}, new.data, "after re-creating an expired session")
        low, high = trial.moment_bounds(began, ended)
        trial.check(
            low <= new.created_at <= high,
            f"the re-created session's created_at is {new.created_at} (the expired one's was "
            f"{old.created_at}); the create was made between {low} and {high}",
        )
        if isinstance(new.ttl, int) and isinstance(old.ttl, int):
            trial.check(
                new.ttl > old.ttl,
                f"the re-created session's ttl is {new.ttl}; the expired one's was {old.ttl}",
            )

    @contract_test("CREATE-RACE")
    async def test_concurrent_creates_of_one_id_have_exactly_one_winner(self, trial: Trial) -> None:
        store = await trial.open()
        for round_index in range(int(trial.settings["race_rounds"])):
            await _race_creates(trial, store, trial.new_id(), f"round {round_index}")

    # Large payloads go through DATA-SIZE's ground: a store refusing them fails there.
    @contract_test("CREATE-RACE", heavy=True, needs=("DATA-SIZE",))
    async def test_concurrent_creates_with_large_payloads_have_exactly_one_winner(
        self, trial: Trial
    ) -> None:
        store = await trial.open()
        for round_index in range(large_rounds(trial)):
            await _race_creates(
                trial,
                store,
                trial.new_id(),
                f"round {round_index}, with {LARGE_PAYLOAD_BYTES // 1024} KiB payloads",
                pad=LARGE_PAYLOAD_BYTES,
            )

    @contract_test("CREATE-RACE", ttl=True, needs=("CREATE-OVER-EXPIRED",))
    async def test_concurrent_creates_over_an_expired_session_have_one_winner(
        self, trial: Trial
    ) -> None:
        store = await trial.open()
        ids = [trial.new_id() for _ in range(int(trial.settings["race_rounds"]))]
        for session_id in ids:
            await store.create_session(session_id, {"writer": "expired"})
        await trial.sleep_until(trial.now() + trial.ttl_seconds + 1 + trial.margin)
        for round_index, session_id in enumerate(ids):
            await _race_creates(
                trial, store, session_id, f"round {round_index}, over an expired session"
            )


def _writer_data(writer: int, pad: int) -> dict[str, Any]:
    return {"writer": f"w{writer}", "pad": "x" * pad} if pad else {"writer": f"w{writer}"}


async def _race_creates(
    trial: Trial, store: Any, session_id: str, label: str, *, pad: int = 0
) -> None:
    width = max(2, int(trial.settings["race_concurrency"]))
    results = await asyncio.gather(
        *(store.create_session(session_id, _writer_data(writer, pad)) for writer in range(width)),
        return_exceptions=True,
    )
    winners = [
        writer for writer, result in enumerate(results) if not isinstance(result, BaseException)
    ]
    trial.check(
        len(winners) == 1,
        f"{label}: {len(winners)} of {width} concurrent create_session calls returned without "
        f"raising (writers {winners})",
    )
    wrong = [error for error in results if isinstance(error, BaseException)]
    wrong = [error for error in wrong if not matches_error(error, SessionExistsError)]
    trial.check(
        not wrong,
        f"{label}: a losing create_session raised {wrong[0]!r}, not SessionExistsError"
        if wrong
        else "",
    )
    seen = await read(trial, store, session_id)
    check_data(trial, _writer_data(winners[0], pad), seen.data, f"{label}: the winner's data")
