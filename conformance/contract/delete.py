"""delete_session clauses."""

from __future__ import annotations

from ..runner import contract_test
from ..trial import Trial
from .checks import check_data, read


class DeleteClauses:
    @contract_test("DELETE-REMOVES")
    async def test_delete_removes_and_the_id_can_be_reused(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.create_session(session_id, {"old": "1"})
        await store.delete_session(session_id)
        record = await store.get_session(session_id)
        trial.check(record is None, f"get_session after delete_session returned {record!r}")
        await store.create_session(session_id, {"new": "2"})
        check_data(
            trial,
            {"new": "2"},
            (await read(trial, store, session_id)).data,
            "a session created again after delete",
        )

    @contract_test("DELETE-MISSING")
    async def test_delete_of_a_missing_id_is_silent(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        await store.delete_session(session_id)
        await store.delete_session(session_id)
        record = await store.get_session(session_id)
        trial.check(record is None, f"after deleting a missing id get_session returned {record!r}")
        await store.create_session(session_id, {"after": "deletes"})
        check_data(
            trial,
            {"after": "deletes"},
            (await read(trial, store, session_id)).data,
            "a create after deleting the missing id",
        )
