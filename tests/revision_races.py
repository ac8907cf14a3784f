"""Checks every reference store's revisions must pass: the semantics, and a race of writers.

Shared by the store test files; each calls these with its own backend. The
contract suite judges any store by its clauses; these add what a store's own
tests should show on its real backend: many writers at once, several store
objects on one backend, many rounds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest

from reference_stores import RevisionConflictError, RevisionedSessionStore

WRITERS = 16
ROUNDS = 100


def fresh_id(prefix: str = "rev") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


async def check_revision_semantics(store: RevisionedSessionStore) -> None:
    """Start at 1, +1 per data write (equal data too), touches keep it, refusals change nothing."""
    assert store.supports_revisions is True
    session_id = fresh_id()
    await store.create_session(session_id, {"n": 0})
    try:
        first = await store.get_session(session_id)
        assert first is not None
        assert first.revision == 1
        await store.update_session(session_id, {"data": {"n": 0}})
        second = await store.get_session(session_id)
        assert second is not None
        assert second.revision == 2, "equal data is still a data write"
        await store.update_session(session_id, {})
        await store.update_session(session_id, {}, expected_revision=2)
        touched = await store.get_session(session_id)
        assert touched is not None
        assert touched.revision == 2, "a touch keeps the revision"
        await store.update_session(session_id, {"data": {"n": 1}}, expected_revision=2)
        third = await store.get_session(session_id)
        assert third is not None
        assert (third.revision, third.data) == (3, {"n": 1})
        for stale in (1, 2, 4, 2**63, 10**40):
            for updates in ({"data": {"n": "lost"}}, {}):
                with pytest.raises(RevisionConflictError) as refused:
                    await store.update_session(session_id, updates, expected_revision=stale)
                assert refused.value.current_revision == 3, (stale, updates)
        after = await store.get_session(session_id)
        assert after == third, "a refused update changed the session"
    finally:
        await store.delete_session(session_id)
    missing = fresh_id()
    for updates in ({"data": {"n": 1}}, {}):
        with pytest.raises(RevisionConflictError) as refused_missing:
            await store.update_session(missing, updates, expected_revision=1)
        assert refused_missing.value.current_revision is None
    assert await store.get_session(missing) is None, "a conditional update created a session"
    # Recreated after a delete: a new session, at 1 again.
    await store.create_session(missing, {"again": True})
    try:
        again = await store.get_session(missing)
        assert again is not None
        assert again.revision == 1
    finally:
        await store.delete_session(missing)


async def race_conditional_writers(
    stores: Sequence[RevisionedSessionStore],
    *,
    writers: int = WRITERS,
    rounds: int = ROUNDS,
) -> None:
    """``writers`` conditional writers at one revision, ``rounds`` times: one winner each round.

    Writers are spread over ``stores`` (several store objects on one backend race
    through separate connections). Each writer reads the counter, adds 1 and
    writes conditionally: a lost update would leave the counter short of ``rounds``.
    """
    session_id = fresh_id("race")
    first = stores[0]
    await first.create_session(session_id, {"count": 0, "writer": None})
    try:
        for round_index in range(rounds):
            before = await first.get_session(session_id)
            assert before is not None
            revision = before.revision
            assert revision == round_index + 1, (round_index, revision)

            async def write(
                writer: int, revision: int = revision, count: int = before.data["count"]
            ) -> int:
                store = stores[writer % len(stores)]
                data = {"count": count + 1, "writer": writer}
                await store.update_session(session_id, {"data": data}, expected_revision=revision)
                return writer

            outcomes = await asyncio.gather(
                *(write(writer) for writer in range(writers)), return_exceptions=True
            )
            winners = [outcome for outcome in outcomes if isinstance(outcome, int)]
            refusals = [o for o in outcomes if isinstance(o, RevisionConflictError)]
            others = [o for o in outcomes if isinstance(o, BaseException)]
            others = [o for o in others if not isinstance(o, RevisionConflictError)]
            assert not others, f"round {round_index}: {others[0]!r}"
            assert len(winners) == 1, f"round {round_index}: {len(winners)} winners"
            assert len(refusals) == writers - 1
            # Every loser saw the winner's write: the revision after it, never its own.
            assert {r.current_revision for r in refusals} == {revision + 1}, (
                round_index,
                sorted({r.current_revision for r in refusals}, key=str),
            )
            after = await first.get_session(session_id)
            assert after is not None
            assert after.revision == revision + 1
            assert after.data == {"count": round_index + 1, "writer": winners[0]}
        final = await first.get_session(session_id)
        assert final is not None
        assert final.data["count"] == rounds, "an update was lost"
    finally:
        await first.delete_session(session_id)
