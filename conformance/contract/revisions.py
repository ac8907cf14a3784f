"""Revision clauses: the revision every session carries, and conditional updates.

They bind only a store that declares ``supports_revisions = True``; for any other store
each one is reported not applicable.

One piece: the revision clauses share their helpers for conditional writes and races.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from reference_stores.errors import RevisionConflictError, SessionExistsError

from ..runner import contract_test
from ..stores import matches_error, revisions_not_kept
from ..trial import NO_CLOCK_STEP_BACK, ClauseViolation, Trial
from .checks import (
    LARGE_PAYLOAD_BYTES,
    Snapshot,
    check_data,
    expect_error,
    is_aware_utc,
    json_difference,
    large_rounds,
    snapshot,
)

_ABSENT: Any = type("_Absent", (), {"__repr__": lambda self: "(no attribute)"})()

# Not an int: TypeError. True and 1.0 equal 1, the revision of a new session.
_NOT_INTS: list[Any] = [True, False, 1.0, 2.5, "1", [1], {"revision": 1}]
# An int below 1: ValueError.
_BELOW_ONE: list[Any] = [0, -1]


@dataclass(frozen=True)
class _State:
    """A live session as plain values, its revision included."""

    seen: Snapshot
    revision: Any


async def _open(trial: Trial, *, name: str | None = None) -> Any:
    """A store built from the target; the clause is not applicable unless it keeps revisions."""
    store = await trial.open(name=name)
    raw = trial.raw(store)
    reason = revisions_not_kept(raw)
    if reason is not None:
        trial.not_applicable(reason)
    problem = _keyword_problem(raw.update_session)
    trial.check(problem is None, f"the store declares supports_revisions = True, but {problem}")
    return store


def _keyword_problem(method: Any) -> str | None:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return None  # no signature to read: the calls themselves will tell
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if parameter.name == "expected_revision" and parameter.kind in (
            inspect.Parameter.KEYWORD_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            return None
    return f"its update_session{inspect.signature(method)} takes no expected_revision keyword"


async def _state(trial: Trial, store: Any, session_id: str) -> _State:
    record = await store.get_session(session_id)
    trial.check(record is not None, f"get_session({session_id!r}) returned None for a live session")
    return _State(snapshot(record), getattr(record, "revision", _ABSENT))


async def _revision(trial: Trial, store: Any, session_id: str, when: str) -> int:
    """The live session's revision, which must be an int."""
    found = (await _state(trial, store, session_id)).revision
    if found is _ABSENT:
        raise ClauseViolation(f"{when}: the record get_session returned has no revision attribute")
    trial.check(
        type(found) is int,
        f"{when}: record.revision is {found!r} ({type(found).__name__}), not an int",
    )
    value: int = found
    return value


def _changes(before: _State, after: _State) -> str:
    """What differs between two reads of one session, field by field."""
    found = []
    if json_difference(before.seen.data, after.seen.data) is not None:
        found.append(f"data {before.seen.data!r} became {after.seen.data!r}")
    for name in ("created_at", "updated_at", "ttl", "session_id"):
        old, new = getattr(before.seen, name), getattr(after.seen, name)
        if old != new:
            found.append(f"{name} {old!r} became {new!r}")
    if before.revision != after.revision or type(before.revision) is not type(after.revision):
        found.append(f"revision {before.revision!r} became {after.revision!r}")
    return "; ".join(found)


async def _check_unchanged(
    trial: Trial, store: Any, session_id: str, before: _State, cause: str
) -> None:
    after = await _state(trial, store, session_id)
    changes = _changes(before, after)
    trial.check(not changes, f"{cause} changed the session {session_id!r}: {changes}")


async def _expect_conflict(
    trial: Trial, call: Awaitable[Any], what: str, current: int | None
) -> None:
    """``call`` must raise RevisionConflictError carrying ``current`` as its current_revision."""
    error = await expect_error(call, (RevisionConflictError,), what)
    found = getattr(error, "current_revision", _ABSENT)
    trial.check(
        found is not _ABSENT,
        f"{what} raised {type(error).__name__} without a current_revision attribute",
    )
    same = found is None if current is None else type(found) is int and found == current
    trial.check(
        same,
        f"{what} raised RevisionConflictError with current_revision {found!r}, "
        f"not {current!r} ({'no live session' if current is None else 'the session is at it'})",
    )


async def _applies(call: Awaitable[Any], what: str) -> None:
    """``call`` must succeed; what it raised instead is the observation."""
    try:
        await call
    except Exception as error:  # judged here: a matching conditional update must apply
        raise ClauseViolation(f"{what} raised {type(error).__name__}: {error}") from error


async def _created(store: Any, session_id: str, data: dict[str, Any]) -> bool:
    """Create over a deleted or expired session; False when the store refused it as existing.

    That refusal is DELETE-REMOVES's or CREATE-OVER-EXPIRED's to judge, not a revision's.
    """
    try:
        await store.create_session(session_id, data)
    except Exception as error:
        if matches_error(error, SessionExistsError):
            return False
        raise
    return True


async def _race(
    go: asyncio.Event, store: Any, session_id: str, data: dict[str, Any], at: int
) -> None:
    await go.wait()  # every racer waits here until all of them are, then all go at once
    await store.update_session(session_id, {"data": data}, expected_revision=at)


def _call_text(updates: Any, expected: Any) -> str:
    return f"update_session(id, {updates!r}, expected_revision={expected!r})"


async def _count_writes(trial: Trial, writes: list[tuple[Any, bool, str]]) -> None:
    """Each write of ``(data, conditional, what)`` must add exactly 1 to the revision."""
    store = await _open(trial)
    session_id = trial.new_id()
    await store.create_session(session_id, {"v": 0})
    current = await _revision(trial, store, session_id, "after create_session")
    for data, conditional, what in writes:
        updates = {"data": data}
        if conditional:
            await store.update_session(session_id, updates, expected_revision=current)
            call = _call_text(updates, current)
        else:
            await store.update_session(session_id, updates)
            call = f"update_session(id, {updates!r})"
        found = await _revision(trial, store, session_id, f"after {call}")
        trial.check(
            found == current + 1,
            f"{call} writing {what} took the revision from {current} to {found}, "
            f"not to {current + 1}",
        )
        current = found


class RevisionClauses:
    @contract_test("REV-START")
    async def test_a_new_session_starts_at_revision_one(self, trial: Trial) -> None:
        store = await _open(trial)
        with_data, without_data = trial.new_id(), trial.new_id()
        await store.create_session(with_data, {"v": 0})
        await store.create_session(without_data)
        for session_id, how in (
            (with_data, "create_session(id, {'v': 0})"),
            (without_data, "create_session(id)"),
        ):
            found = await _revision(trial, store, session_id, f"after {how}")
            trial.check(found == 1, f"{how} gave the new session revision {found}, not 1")
        # Written to several times, deleted, created again: a new session.
        for version in (1, 2):
            await store.update_session(with_data, {"data": {"v": version}})
        old = await _revision(trial, store, with_data, "after two updates")
        await store.delete_session(with_data)
        if not await _created(store, with_data, {"v": "again"}):
            return
        found = await _revision(trial, store, with_data, "after a create following a delete")
        trial.check(
            found == 1,
            f"create_session after deleting the session (last seen at revision {old}) gave "
            f"revision {found}, not 1",
        )

    @contract_test("REV-START", ttl=True)
    async def test_a_create_over_an_expired_session_starts_at_revision_one(
        self, trial: Trial
    ) -> None:
        store = await _open(trial)
        session_id = trial.new_id()
        await store.create_session(session_id, {"v": 0})
        for version in (1, 2):
            await store.update_session(session_id, {"data": {"v": version}})
        old = await _revision(trial, store, session_id, "after two updates")
        ended = trial.now()
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        if not await _created(store, session_id, {"v": "new"}):
            return
        found = await _revision(trial, store, session_id, "after a create over the expired session")
        trial.check(
            found == 1,
            f"create_session over the expired session (last seen at revision {old}) gave "
            f"revision {found}, not 1",
        )

    @contract_test("REV-COUNT")
    async def test_each_data_write_adds_one_to_the_revision(self, trial: Trial) -> None:
        await _count_writes(
            trial,
            [
                ({"v": 1}, False, "new data"),
                ({"v": 1}, False, "the data it already holds"),
                ({"v": 2, "list": [1, 2]}, True, "new data"),
                ({"v": 2, "list": [1, 2]}, True, "the data it already holds"),
            ],
        )

    # {"data": {}} replaces the data with an empty object: a store that takes it for a
    # touch fails UPDATE-REPLACE, and is not failed a second time here.
    @contract_test("REV-COUNT", needs=("UPDATE-REPLACE",))
    async def test_writing_empty_data_adds_one_to_the_revision(self, trial: Trial) -> None:
        await _count_writes(
            trial,
            [
                ({}, False, "data {}"),
                ({}, False, "data {} again"),
                ({}, True, "data {} at the revision"),
            ],
        )

    @contract_test("REV-TOUCH")
    async def test_a_touch_keeps_the_revision(self, trial: Trial) -> None:
        store = await _open(trial)
        session_id = trial.new_id()
        await store.create_session(session_id, {"v": 0})
        await store.update_session(session_id, {"data": {"v": 1}})
        for conditional in (False, True, False):
            before = await _revision(trial, store, session_id, "before a touch")
            await trial.tick()
            if conditional:
                call = _call_text({}, before)
                try:
                    await store.update_session(session_id, {}, expected_revision=before)
                except Exception as error:
                    if matches_error(error, RevisionConflictError):
                        continue  # a refused conditional touch is REV-MATCH's to judge
                    raise
            else:
                call = "update_session(id, {})"
                await store.update_session(session_id, {})
            found = await _revision(trial, store, session_id, f"after {call}")
            trial.check(
                found == before, f"{call}, a touch, took the revision from {before} to {found}"
            )
        if trial.clock is None:
            trial.not_tried(NO_CLOCK_STEP_BACK)
        else:  # a touch at a time before updated_at is still a touch
            before = await _revision(trial, store, session_id, "before a touch")
            trial.rewind(30)
            await store.update_session(session_id, {})
            found = await _revision(trial, store, session_id, "after a touch")
            trial.check(
                found == before,
                f"update_session(id, {{}}) after the clock stepped back 30 s, a touch, took "
                f"the revision from {before} to {found}",
            )

    @contract_test("REV-MATCH", needs=("UPDATE-TOUCH",))  # it touches after a data write
    async def test_an_update_at_the_current_revision_applies_in_full(self, trial: Trial) -> None:
        store = await _open(trial)
        session_id = trial.new_id()
        await store.create_session(session_id, {"v": 0, "old": True, "nested": {"x": 1}})
        created = await _state(trial, store, session_id)
        steps: list[tuple[dict[str, Any], str]] = [
            ({"data": {"v": 1, "nested": {"y": 2}}}, "at"),
            ({}, "at"),
            ({"data": {"v": 2}}, "None"),
            ({}, "None"),
        ]
        data: Any = created.seen.data
        for updates, how in steps:
            before = await _state(trial, store, session_id)
            await trial.tick()
            expected = before.revision if how == "at" else None
            call = _call_text(updates, expected)
            began = trial.now()
            await _applies(
                store.update_session(session_id, updates, expected_revision=expected),
                f"{call}, with the session at revision {before.revision!r},",
            )
            ended = trial.now()
            after = await _state(trial, store, session_id)
            data = updates.get("data", data)
            check_data(trial, data, after.seen.data, f"after {call}")
            # Timestamps that are not aware UTC datetimes are TIME-UTC's to judge.
            if is_aware_utc(after.seen.updated_at) and is_aware_utc(before.seen.updated_at):
                low, high = trial.moment_bounds(began, ended)
                trial.check(
                    low <= after.seen.updated_at <= high
                    and after.seen.updated_at > before.seen.updated_at,
                    f"after {call} updated_at is {after.seen.updated_at} (was "
                    f"{before.seen.updated_at}), not the time of the call ({low} to {high})",
                )
            trial.check(
                after.seen.created_at == created.seen.created_at,
                f"{call} changed created_at from {created.seen.created_at} to {after.seen.created_at}",
            )
        # None on an id with no session: the unconditional update, which is silent.
        missing = trial.new_id()
        for updates in ({"data": {"v": 1}}, {}):
            await _applies(
                store.update_session(missing, updates, expected_revision=None),
                f"{_call_text(updates, None)} on an id with no session",
            )

    @contract_test("REV-MATCH", ttl=True)
    async def test_an_update_at_the_current_revision_restarts_the_ttl(self, trial: Trial) -> None:
        store = await _open(trial)
        session_id = trial.new_id()
        created_start = trial.now()
        await store.create_session(session_id, {"v": 0})
        revision = await _revision(trial, store, session_id, "after create_session")
        created_end = trial.now()
        await trial.sleep_until(created_end + trial.ttl_seconds * 0.75)
        update_start = trial.now()
        try:
            await _applies(
                store.update_session(session_id, {"data": {"v": 1}}, expected_revision=revision),
                f"{_call_text({'data': {'v': 1}}, revision)} at the session's revision",
            )
        except ClauseViolation:
            # On real time a loaded host can wake, or answer, after the create's TTL ran out:
            # the session may have expired, and then refusing was right.
            if trial.now() >= created_start + trial.ttl_seconds:
                return
            raise
        # Past the create's latest expiry, inside the update's.
        await trial.sleep_until(created_end + trial.ttl_seconds + 1 + trial.margin)
        if trial.now() >= update_start + trial.ttl_seconds:
            return  # the wait overran the update's TTL: nothing can be told from here
        after = await store.get_session(session_id)
        trial.check(
            after is not None,
            "the session expired on the TTL of its create although a conditional "
            "update_session at its revision wrote it since",
        )
        revision = await _revision(trial, store, session_id, "after the conditional update")
        touch_start = trial.now()
        try:
            await _applies(
                store.update_session(session_id, {}, expected_revision=revision),
                f"{_call_text({}, revision)} at the session's revision",
            )
        except ClauseViolation:
            if trial.now() >= update_start + trial.ttl_seconds:
                return  # as above: the update's TTL may have run out on a loaded host
            raise
        await trial.sleep_until(update_start + trial.ttl_seconds + 1 + trial.margin)
        if trial.now() < touch_start + trial.ttl_seconds:
            trial.check(
                await store.get_session(session_id) is not None,
                "the session expired on the TTL of its last data write although a conditional "
                "touch at its revision came after it",
            )

    @contract_test("REV-CONFLICT")
    async def test_an_update_at_another_revision_is_refused(self, trial: Trial) -> None:
        store = await _open(trial)
        session_id = trial.new_id()
        await store.create_session(session_id, {"v": 0})
        for version in (1, 2, 3):
            await store.update_session(session_id, {"data": {"v": version}})
        before = await _state(trial, store, session_id)
        current = await _revision(trial, store, session_id, "after three updates")
        await trial.tick()
        others = sorted({current - 1, 1, current + 1, current + 1000} - {current} - {0})
        for expected in others:
            for updates in ({"data": {"v": "conflicting"}}, {}):
                await _expect_conflict(
                    trial,
                    store.update_session(session_id, updates, expected_revision=expected),
                    f"{_call_text(updates, expected)} with the session at revision {current}",
                    current,
                )
        await _check_unchanged(
            trial, store, session_id, before, "a conditional update at another revision"
        )

    @contract_test("REV-MISSING")
    async def test_a_conditional_update_without_a_session_is_refused(self, trial: Trial) -> None:
        store = await _open(trial)
        never, deleted = trial.new_id(), trial.new_id()
        await store.create_session(deleted, {"v": 0})
        revision = await _revision(trial, store, deleted, "after create_session")
        await store.delete_session(deleted)
        for session_id, how, expected in (
            (never, "never created", 1),
            (deleted, "deleted", revision),
        ):
            for updates in ({"data": {"v": 1}}, {}):
                await _expect_conflict(
                    trial,
                    store.update_session(session_id, updates, expected_revision=expected),
                    f"{_call_text(updates, expected)} on an id {how}",
                    None,
                )
            trial.check(
                await store.get_session(session_id) is None,
                f"get_session returned a session after conditional update_session calls on an "
                f"id {how}",
            )

    @contract_test("REV-MISSING", ttl=True)
    async def test_a_conditional_update_of_an_expired_session_is_refused(
        self, trial: Trial
    ) -> None:
        store = await _open(trial)
        data_id, touch_id = trial.new_id(), trial.new_id()
        await store.create_session(data_id, {"v": 0})
        await store.create_session(touch_id, {"v": 0})
        await store.update_session(touch_id, {"data": {"v": 1}})
        revisions = {
            session_id: await _revision(trial, store, session_id, "before expiry")
            for session_id in (data_id, touch_id)
        }
        ended = trial.now()
        await trial.sleep_until(ended + trial.ttl_seconds + 1 + trial.margin)
        # The revision each session had before it expired: what a stale writer holds.
        for session_id, updates in ((data_id, {"data": {"v": 1}}), (touch_id, {})):
            expected = revisions[session_id]
            await _expect_conflict(
                trial,
                store.update_session(session_id, updates, expected_revision=expected),
                f"{_call_text(updates, expected)} on an expired session that was at revision {expected}",
                None,
            )
        for session_id in (data_id, touch_id):
            trial.check(
                await store.get_session(session_id) is None,
                "get_session returned a session after a conditional update_session of it once "
                "it had expired",
            )

    @contract_test("REV-INVALID")
    async def test_an_invalid_expected_revision_is_refused(self, trial: Trial) -> None:
        store = await _open(trial)
        session_id, missing = trial.new_id(), trial.new_id()
        await store.create_session(session_id, {"v": 0})
        before = await _state(trial, store, session_id)
        await trial.tick()
        for target, where in (
            (session_id, "a live session at revision 1"),
            (missing, "an id with no session"),
        ):
            for value, kind in [
                *((value, TypeError) for value in _NOT_INTS),
                *((value, ValueError) for value in _BELOW_ONE),
            ]:
                for updates in ({"data": {"v": "invalid"}}, {}):
                    await expect_error(
                        store.update_session(target, updates, expected_revision=value),
                        (kind,),
                        f"{_call_text(updates, value)} on {where}",
                    )
        await _check_unchanged(
            trial, store, session_id, before, "update_session with an invalid expected_revision"
        )

    @contract_test("REV-RACE")
    async def test_concurrent_conditional_updates_have_exactly_one_winner(
        self, trial: Trial
    ) -> None:
        await _race_conditional_updates(trial, int(trial.settings["race_rounds"]), pad=0)

    # Large payloads go through DATA-SIZE's ground: a store refusing them fails there.
    @contract_test("REV-RACE", heavy=True, needs=("DATA-SIZE",))
    async def test_conditional_updates_with_large_payloads_have_exactly_one_winner(
        self, trial: Trial
    ) -> None:
        await _race_conditional_updates(trial, large_rounds(trial), pad=LARGE_PAYLOAD_BYTES)


async def _race_conditional_updates(trial: Trial, rounds: int, *, pad: int) -> None:
    """Rounds of conditional updates at one revision; each racer's data carries ``pad`` bytes."""
    first = await _open(trial)
    stores = [first]
    if getattr(trial.raw(first), "shares_sessions_across_instances", None) is True:
        stores.append(await _open(trial))
    width = max(2, int(trial.settings["race_concurrency"]))
    size = f" with {pad // 1024} KiB payloads" if pad else ""
    for round_index in range(rounds):
        # Odd rounds spread the racers over two store objects, when the store shares sessions.
        racers = stores if round_index % 2 else stores[:1]
        session_id = trial.new_id()
        await first.create_session(session_id, {"round": round_index})
        for version in range(round_index % 3):  # races start at revisions 1, 2 and 3
            await first.update_session(session_id, {"data": {"before": version}})
        start = await _revision(trial, first, session_id, f"round {round_index}: before the race")
        written: list[dict[str, Any]] = [{"round": round_index, "writer": k} for k in range(width)]
        if pad:
            for value in written:
                value["pad"] = "x" * pad
        go = asyncio.Event()

        tasks = [
            asyncio.ensure_future(_race(go, racers[k % len(racers)], session_id, written[k], start))
            for k in range(width)
        ]
        await asyncio.sleep(0)
        go.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        winners = [k for k, result in enumerate(results) if not isinstance(result, BaseException)]
        where = f" through {len(racers)} store objects" if len(racers) > 1 else ""
        trial.check(
            len(winners) == 1,
            f"round {round_index}: {len(winners)} of {width} concurrent conditional "
            f"update_session calls at revision {start}{where}{size} succeeded",
        )
        wrong = [
            result
            for result in results
            if isinstance(result, BaseException)
            and not matches_error(result, RevisionConflictError)
        ]
        trial.check(
            not wrong,
            f"round {round_index}: a losing conditional update raised {wrong[0]!r}, not "
            "RevisionConflictError"
            if wrong
            else "",
        )
        after = await _state(trial, first, session_id)
        check_data(
            trial,
            written[winners[0]],
            after.seen.data,
            f"round {round_index}: the winner's data after the race",
        )
        trial.check(
            type(after.revision) is int and after.revision == start + 1,
            f"round {round_index}: after the race the revision is {after.revision!r}, "
            f"not {start + 1}",
        )
