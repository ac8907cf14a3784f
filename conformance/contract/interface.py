"""Interface clauses: the five async methods and the record they return."""

from __future__ import annotations

from datetime import datetime

from ..runner import contract_test
from ..stores import interface_problems
from ..trial import Trial
from .checks import snapshot


class InterfaceClauses:
    @contract_test("IFACE-METHODS")
    async def test_store_has_the_five_async_methods(self, trial: Trial) -> None:
        store = await trial.open()
        problems = interface_problems(trial.raw(store))
        trial.check(not problems, f"the store object: {problems}")

    @contract_test("IFACE-RECORD")
    async def test_methods_return_the_documented_types(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        # Whether these answers are right is for other clauses; here only their types count.
        for when in ("before create_session", "after create_session"):
            exists = await store.session_exists(session_id)
            trial.check(
                type(exists) is bool,
                f"session_exists {when} returned {exists!r} ({type(exists).__name__}), not a bool",
            )
            if when.startswith("before"):
                created = await store.create_session(session_id, {"k": "v"})
                trial.check(created is None, f"create_session returned {created!r}, not None")
        record = await store.get_session(session_id)
        trial.check(
            record is not None,
            "get_session returned None right after create_session, so the record's types "
            "could not be seen",
        )
        seen = snapshot(record)
        trial.check(
            type(seen.session_id) is str and seen.session_id == session_id,
            f"record.session_id is {seen.session_id!r}, not the id asked for",
        )
        for name in ("created_at", "updated_at"):
            value = getattr(seen, name)
            trial.check(
                isinstance(value, datetime),
                f"record.{name} is {value!r} ({type(value).__name__}), not a datetime",
            )
        trial.check(
            seen.ttl is None or (isinstance(seen.ttl, int) and not isinstance(seen.ttl, bool)),
            f"record.ttl is {seen.ttl!r} ({type(seen.ttl).__name__}), not int or None",
        )
        trial.check(
            isinstance(seen.data, dict),
            f"record.data is {seen.data!r} ({type(seen.data).__name__}), not a dict",
        )
        updated = await store.update_session(session_id, {"data": {}})
        trial.check(updated is None, f"update_session returned {updated!r}, not None")
        deleted = await store.delete_session(session_id)
        trial.check(deleted is None, f"delete_session returned {deleted!r}, not None")
