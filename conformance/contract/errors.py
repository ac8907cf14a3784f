"""Backend failure clause: a store reached through a dead backend raises, with the cause."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from reference_stores.errors import SessionStoreError

from ..runner import contract_test
from ..stores import matches_error
from ..trial import Trial

FAILURE_BOUND_SECONDS = 30.0


class ErrorClauses:
    @contract_test("ERR-BACKEND")
    async def test_backend_failures_raise_with_their_cause(self, trial: Trial) -> None:
        builder = trial.failing_builder
        if builder is None:
            trial.not_applicable(
                "no failing store: pass --failing-store-option KEY=VALUE (a backend that is down) "
                "or define a failing_session_store_factory fixture"
            )
            return
        session_id = trial.new_id()
        calls: dict[str, Any] = {
            "session_exists": lambda store: store.session_exists(session_id),
            "get_session": lambda store: store.get_session(session_id),
            "create_session": lambda store: store.create_session(session_id, {"x": 1}),
            "update_session": lambda store: store.update_session(session_id, {"data": {"x": 2}}),
            "delete_session": lambda store: store.delete_session(session_id),
        }
        trial.created_ids.clear()  # nothing to clean on a dead backend
        async with AsyncExitStack() as stack:
            try:
                store = await asyncio.wait_for(builder.open(stack), FAILURE_BOUND_SECONDS)
            except asyncio.TimeoutError:
                trial.check(
                    False,
                    f"building the store against a dead backend hung for {FAILURE_BOUND_SECONDS:g} s",
                )
                return
            except Exception as error:
                _check_error(trial, error, "building the store against a dead backend")
                return
            for name, call in calls.items():
                trial.log.append(f"await failing_store.{name}(...)")
                try:
                    result = await asyncio.wait_for(call(store), FAILURE_BOUND_SECONDS)
                except asyncio.TimeoutError:
                    trial.check(
                        False, f"{name} against a dead backend hung for {FAILURE_BOUND_SECONDS:g} s"
                    )
                except Exception as error:
                    _check_error(trial, error, name)
                else:
                    trial.check(
                        False,
                        f"{name} against a dead backend returned {result!r} instead of raising",
                    )


def _check_error(trial: Trial, error: BaseException, what: str) -> None:
    trial.check(
        matches_error(error, SessionStoreError),
        f"{what} raised {type(error).__name__}: {error}, not SessionStoreError",
    )
    trial.check(
        error.__cause__ is not None,
        f"{what} raised {error!r} without the backend's exception as its __cause__",
    )
