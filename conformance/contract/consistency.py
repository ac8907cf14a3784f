"""Consistency clauses: read-your-writes, and sessions seen across store instances."""

from __future__ import annotations

from ..runner import contract_test
from ..trial import Trial
from .checks import check_data, read


class ConsistencyClauses:
    @contract_test("CONS-READ-YOUR-WRITES")
    async def test_a_read_after_a_write_sees_it(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        for version in range(10):
            await store.create_session(session_id, {"v": version})
            trial.check(
                await store.session_exists(session_id) is True,
                f"round {version}: create not visible to session_exists",
            )
            check_data(
                trial,
                {"v": version},
                (await read(trial, store, session_id)).data,
                f"round {version}: after create",
            )
            await store.update_session(session_id, {"data": {"v": version, "updated": True}})
            check_data(
                trial,
                {"v": version, "updated": True},
                (await read(trial, store, session_id)).data,
                f"round {version}: after update",
            )
            await store.delete_session(session_id)
            trial.check(
                await store.get_session(session_id) is None,
                f"round {version}: delete not visible to get_session",
            )

    @contract_test("SHARED-INSTANCES")
    async def test_a_second_instance_sees_the_first_ones_sessions(self, trial: Trial) -> None:
        first = await trial.open()
        declared = getattr(trial.raw(first), "shares_sessions_across_instances", None)
        if declared is False:
            trial.not_applicable(
                "the store declares shares_sessions_across_instances = False (private to its instance)"
            )
        if declared is not True:
            trial.level_override = "SHOULD"
        second = await trial.open()
        hint = (
            ""
            if declared is True
            else " (the store declares nothing: set shares_sessions_across_instances to True or False)"
        )
        for writer, reader in ((first, second), (second, first)):
            session_id = trial.new_id()
            await writer.create_session(session_id, {"from": "writer"})
            trial.check(
                await reader.session_exists(session_id) is True,
                f"a second store instance does not see a session the first one created{hint}",
            )
            check_data(
                trial,
                {"from": "writer"},
                (await read(trial, reader, session_id)).data,
                "read through the other instance",
            )
            await reader.update_session(session_id, {"data": {"from": "reader"}})
            check_data(
                trial,
                {"from": "reader"},
                (await read(trial, writer, session_id)).data,
                "an update made through the other instance",
            )
            await reader.delete_session(session_id)
            trial.check(
                await writer.get_session(session_id) is None,
                f"a delete through one instance is not seen by the other{hint}",
            )
