"""ERR-BACKEND through a strict endpoint's faults address: throttling, dropped and late replies.

A store built with the faults address in place of the endpoint's works on
three sessions while faults hit it on the endpoint's seeded schedule. Every
call must either raise ``SessionStoreError`` with the backend's exception as
its cause, or give an answer the sessions' possible states allow; every write
it acknowledged must still be there at the end. A write that raised may or may
not have applied: the judge keeps both states until a read tells them apart.

The sessions are created first and deleted last, so every read in between is
of a live session: a store that turns a failure into ``None`` or ``False``
there gives a wrong answer. The schedules (``strict_backends``) place a fault
early in the calls of each operation, so every run meets them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from typing import Any

from ..runner import contract_test
from ..stores import StoreBuilder, matches_error
from ..trial import Trial
from .errors import FAILURE_BOUND_SECONDS

_ROUNDS = 4
_TRIES = 8
_CONTRACT_ANSWERS = ("SessionExistsError", "RevisionConflictError", "InvalidSessionIdError")

State = Any  # None (no session) or the session's data


class BackendFaultClauses:
    @contract_test("ERR-BACKEND", consults=("CONS-READ-YOUR-WRITES",))
    async def test_injected_faults_raise_or_answer_right(self, trial: Trial) -> None:
        from ..strict_backends.run import faults_options

        options = faults_options(trial.builder.options)
        if options is None:
            trial.not_applicable(
                "not judged under injected faults: no store option names a strict endpoint "
                "(--conformance-strict-dynamodb with {strict_dynamodb}, or "
                "--conformance-faulty-redis with {faulty_redis}); a backend that is down is "
                "judged with --failing-store-option"
            )
            return
        if trial.verdicts.get("CONS-READ-YOUR-WRITES") == "fail":
            trial.not_applicable(
                "the faults part leans on CONS-READ-YOUR-WRITES, which the store fails: "
                "it is judged once that clause passes"
            )
        observer = await trial.open(name="observer")
        ids = [trial.new_id() for _ in range(3)]
        async with AsyncExitStack() as stack:
            store = await StoreBuilder(trial.builder.factory, options).open(stack)
            judge = _Judge(trial, store, ids)
            for session_id in ids:
                await judge.until_acknowledged("create_session", session_id, {"round": -1})
            for number in range(_ROUNDS):
                for session_id in ids:
                    await judge.get(session_id)
                    await judge.exists(session_id)
                    await judge.update(session_id, {"round": number, "id": session_id[:6]})
                    await judge.get(session_id)
            for session_id in ids:
                await judge.until_acknowledged("delete_session", session_id, None)
                await judge.get(session_id)
                await judge.exists(session_id)
        for session_id in ids:
            record = await observer.get_session(session_id)
            found = None if record is None else record.data
            trial.check(
                _among(found, judge.states[session_id]),
                f"after the faults, the session {session_id!r} holds {found!r}; the calls the "
                f"store acknowledged leave only {judge.states[session_id]!r}: an acknowledged "
                "write was lost",
            )


class _Judge:
    """The possible states of each session, narrowed by answers and widened by failed writes."""

    def __init__(self, trial: Trial, store: Any, ids: list[str]) -> None:
        self.trial = trial
        self.store = store
        self.states: dict[str, list[State]] = {session_id: [None] for session_id in ids}

    async def get(self, session_id: str) -> None:
        raised, record = await self._call(
            "get_session", session_id, self.store.get_session(session_id)
        )
        if raised:
            return
        found = None if record is None else record.data
        self._narrow(session_id, found, f"get_session returned {found!r}")

    async def exists(self, session_id: str) -> None:
        raised, answer = await self._call(
            "session_exists", session_id, self.store.session_exists(session_id)
        )
        if raised:
            return
        possible = [s for s in self.states[session_id] if (s is not None) is (answer is True)]
        self.trial.check(
            possible,
            f"session_exists({session_id!r}) returned {answer!r} under injected faults, while "
            f"the session can only be {self._words(session_id)}: a failure turned into an answer",
        )
        self.states[session_id] = possible

    async def update(self, session_id: str, data: dict[str, Any]) -> None:
        raised, _ = await self._call(
            "update_session", session_id, self.store.update_session(session_id, {"data": data})
        )
        applied = [data if s is not None else None for s in self.states[session_id]]
        self.states[session_id] = _unique(self.states[session_id] + applied if raised else applied)

    async def until_acknowledged(self, method: str, session_id: str, data: Any) -> None:
        """Create or delete until the store acknowledges it (faults come and go)."""
        for _ in range(_TRIES):
            if method == "create_session":
                call = self.store.create_session(session_id, data)
            else:
                call = self.store.delete_session(session_id)
            raised, error = await self._call(method, session_id, call, contract_answer=True)
            states = self.states[session_id]
            if not raised:
                if method == "create_session":
                    self.trial.check(
                        None in states,
                        f"create_session({session_id!r}) succeeded over a live session",
                    )
                    self.states[session_id] = [data]
                else:
                    self.states[session_id] = [None]
                return
            if _named(error, "SessionExistsError"):
                live = [s for s in states if s is not None]
                self.trial.check(
                    live,
                    f"create_session({session_id!r}) raised SessionExistsError while the "
                    f"session can only be {self._words(session_id)}",
                )
                self.states[session_id] = live
                return
            applied = [data if s is None else s for s in states] if data else [None]
            self.states[session_id] = _unique(states + applied)
        self.trial.check(False, f"{method}({session_id!r}) failed {_TRIES} times in a row")

    async def _call(
        self, method: str, session_id: str, call: Awaitable[Any], *, contract_answer: bool = False
    ) -> tuple[bool, Any]:
        """(True, the error) when the call raised as ERR-BACKEND allows; (False, its result)."""
        self.trial.log.append(f"await faulty_store.{method}({session_id!r}, ...)")
        try:
            result = await asyncio.wait_for(call, FAILURE_BOUND_SECONDS)
        except asyncio.TimeoutError:
            self.trial.check(
                False,
                f"{method} under injected faults hung for {FAILURE_BOUND_SECONDS:g} s",
            )
        except Exception as error:
            if contract_answer and any(_named(error, name) for name in _CONTRACT_ANSWERS):
                return True, error
            self.trial.check(
                _named(error, "SessionStoreError"),
                f"{method} under injected faults raised {type(error).__name__}: {error}, "
                "not SessionStoreError",
            )
            self.trial.check(
                error.__cause__ is not None,
                f"{method} under injected faults raised {error!r} without the backend's "
                "exception as its __cause__",
            )
            return True, error
        return False, result

    def _narrow(self, session_id: str, found: Any, what: str) -> None:
        possible = [s for s in self.states[session_id] if _same(s, found)]
        self.trial.check(
            possible,
            f"{what} for {session_id!r} under injected faults, while the session can only be "
            f"{self._words(session_id)}: a failure turned into an answer, or a wrong one",
        )
        self.states[session_id] = possible

    def _words(self, session_id: str) -> str:
        return " or ".join(
            "missing" if s is None else f"live with {s!r}" for s in self.states[session_id]
        )


def _named(error: BaseException, name: str) -> bool:
    from reference_stores import errors

    return matches_error(error, getattr(errors, name))


def _same(state: State, found: Any) -> bool:
    if state is None or found is None:
        return state is found
    return bool(json.dumps(state, sort_keys=True) == json.dumps(found, sort_keys=True))


def _among(found: Any, states: list[State]) -> bool:
    return any(_same(state, found) for state in states)


def _unique(states: list[State]) -> list[State]:
    kept: list[State] = []
    for state in states:
        if not _among(state, kept):
            kept.append(state)
    return kept
