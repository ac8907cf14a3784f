"""The revision clauses: each broken store fails its own clause and no other, the race is
caught in its first round, and a store without revisions passes the rest with those clauses n/a.
"""

from __future__ import annotations

import pytest
from broken_stores import REVISION_STORES
from kit_runs import KitRun, kit_run_once, run_pytest

from conformance import CLAUSES

REVISION_CLAUSES = [clause.id for clause in CLAUSES if clause.section == "Revisions"]
WITHOUT_REVISIONS = {
    "RevisionlessStore": "the store does not declare supports_revisions = True",
    "RevisionsDeclinedStore": "the store declares supports_revisions = False",
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    stores = [*REVISION_STORES, *WITHOUT_REVISIONS]
    return kit_run_once(
        tmp_path_factory,
        "revisions",
        lambda folder: run_pytest(
            folder,
            "--store=memory",
            *(f"--store=broken_stores:{name}" for name in stores),
            "--conformance-race-rounds=4",
            "-q",
        ),
    )


def reason(run: KitRun, store: str, clause: str) -> str:
    assert run.report is not None, run.output[-3000:]
    for row in run.report["results"]:
        if row["store"] == store and row["clause"] == clause:
            return str(row["reason"])
    raise AssertionError(f"no verdict for {store} on {clause}")


def test_the_section_has_eight_clauses() -> None:
    assert REVISION_CLAUSES == [
        "REV-START",
        "REV-COUNT",
        "REV-TOUCH",
        "REV-MATCH",
        "REV-CONFLICT",
        "REV-MISSING",
        "REV-INVALID",
        "REV-RACE",
    ]


@pytest.mark.parametrize(("store", "clause"), sorted(REVISION_STORES.items()))
def test_a_broken_store_fails_its_own_clause_and_no_other(
    verdicts: KitRun, store: str, clause: str
) -> None:
    statuses = verdicts.statuses(f"broken_stores:{store}")
    failing = {
        name for name, status in statuses.items() if status not in ("pass", "n/a", "blocked")
    }
    assert failing == {clause}, statuses


def test_the_in_memory_store_passes_every_revision_clause(verdicts: KitRun) -> None:
    statuses = verdicts.statuses("memory")
    assert {clause: statuses[clause] for clause in REVISION_CLAUSES} == dict.fromkeys(
        REVISION_CLAUSES, "pass"
    )


@pytest.mark.parametrize("store", sorted(WITHOUT_REVISIONS))
def test_a_store_without_revisions_passes_the_rest_and_gets_the_revision_clauses_na(
    verdicts: KitRun, store: str
) -> None:
    statuses = verdicts.statuses(f"broken_stores:{store}")
    assert {clause: statuses[clause] for clause in REVISION_CLAUSES} == dict.fromkeys(
        REVISION_CLAUSES, "n/a"
    )
    for clause in REVISION_CLAUSES:
        assert WITHOUT_REVISIONS[store] in reason(verdicts, f"broken_stores:{store}", clause)
    others = {c: s for c, s in statuses.items() if c not in REVISION_CLAUSES}
    assert set(others.values()) <= {"pass", "n/a"}, others
    assert others["MODEL-SEQUENCES"] == others["UPDATE-CONCURRENT"] == "pass"


def test_a_read_then_write_check_lets_every_racer_win_in_the_first_round(
    verdicts: KitRun,
) -> None:
    # The racers all start together, so every one of them reads before any writes.
    assert reason(verdicts, "broken_stores:ReadThenWriteRevisionStore", "REV-RACE") == (
        "round 0: 8 of 8 concurrent conditional update_session calls at revision 1 succeeded"
    )


def test_a_lock_inside_one_store_object_is_caught_across_two(verdicts: KitRun) -> None:
    # Round 0 races through one object (the lock holds); round 1 through two (one winner each).
    assert reason(verdicts, "broken_stores:InstanceLockRevisionStore", "REV-RACE") == (
        "round 1: 2 of 8 concurrent conditional update_session calls at revision 2 "
        "through 2 store objects succeeded"
    )


def test_failures_say_what_was_seen(verdicts: KitRun) -> None:
    seen = {
        "ContinuedRevisionStore": "create_session over the expired session (last seen at "
        "revision 3) gave revision 4, not 1",
        "UnchangedDataRevisionStore": "writing the data it already holds took the revision "
        "from 2 to 2, not to 3",
        "TouchCountsRevisionStore": "update_session(id, {}), a touch, took the revision from 2 to 3",
        "AtLeastRevisionStore": "with the session at revision 4: expected "
        "RevisionConflictError, but it returned None",
        "EchoedRevisionStore": "raised RevisionConflictError with current_revision 1, not 4",
        "SilentMissingRevisionStore": "on an id never created: expected RevisionConflictError, "
        "but it returned None",
        "HeldRevisionStore": "on an expired session that was at revision 1: expected "
        "RevisionConflictError, but it returned None",
        "PartialConditionalStore": "expected_revision=1) updated_at is ",
        "CoercingRevisionStore": "update_session(id, {'data': {'v': 'invalid'}}, "
        "expected_revision=True) on a live session at revision 1: expected TypeError",
    }
    for store, text in seen.items():
        found = reason(verdicts, f"broken_stores:{store}", REVISION_STORES[store])
        assert text in found, (store, found)
    assert "\na repro, runnable as printed" in verdicts.output
