"""The suite is proven able to fail: every clause has a broken store it must catch.

One run of the suite (under pytest-xdist, as the project's tests run) judges every
broken store and the in-memory reference store side by side; each test below reads
verdicts from its report. Each broken store has one mistake and must fail exactly
the clause that mistake breaks (MODEL-SEQUENCES may see it too): every other clause
passes, is not applicable, or is BLOCKED by that clause.
"""

from __future__ import annotations

from pathlib import Path

import broken_stores
import pytest
from broken_stores import BROKEN_STORES, WARNING_STORES
from kit_runs import TESTS_DIR, KitRun, kit_run_once, repro_failure, run_pytest


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    stores = ["memory", *(f"broken_stores:{name}" for name in [*BROKEN_STORES, *WARNING_STORES])]
    return kit_run_once(
        tmp_path_factory,
        "broken",
        lambda folder: run_pytest(
            folder,
            *(f"--store={s}" for s in stores),
            "-q",
            "-n",
            "2",
            f"--conformance-repro-dir={folder / 'repros'}",
            timeout=900,
        ),
    )


@pytest.mark.parametrize(("store", "clause"), sorted(BROKEN_STORES.items()))
def test_suite_fails_the_broken_store_on_its_clause_and_no_other(
    verdicts: KitRun, store: str, clause: str
) -> None:
    statuses = verdicts.statuses(f"broken_stores:{store}")
    assert statuses[clause] == "fail", statuses
    failed = {c for c, status in statuses.items() if status in ("fail", "error")}
    assert failed in ({clause}, {clause, "MODEL-SEQUENCES"}), statuses
    unexpected = {
        c: status
        for c, status in statuses.items()
        if status not in ("pass", "n/a", "blocked") and c not in (clause, "MODEL-SEQUENCES")
    }
    assert not unexpected, statuses


@pytest.mark.parametrize(("store", "clause"), sorted(BROKEN_STORES.items()))
def test_a_blocked_clause_names_the_failing_one(verdicts: KitRun, store: str, clause: str) -> None:
    assert verdicts.report is not None
    for row in verdicts.report["results"]:
        if row["store"] == f"broken_stores:{store}" and row["status"] == "blocked":
            assert row["reason"].startswith(f"BLOCKED by {clause}"), row


REVISIONLESS = sorted(
    name
    for name in BROKEN_STORES
    if getattr(getattr(broken_stores, name), "supports_revisions", None) is not True
)


@pytest.mark.parametrize("store", REVISIONLESS)
def test_a_store_without_revisions_has_no_blocked_revision_clause(
    verdicts: KitRun, store: str
) -> None:
    # N/A before BLOCKED: the Revisions clauses do not bind it, whatever else it fails.
    statuses = verdicts.statuses(f"broken_stores:{store}")
    revisions = {c: status for c, status in statuses.items() if c.startswith("REV-")}
    assert revisions, statuses
    assert set(revisions.values()) == {"n/a"}, revisions


def test_revisionless_stores_include_one_failing_what_a_revision_clause_leans_on() -> None:
    # REV-COUNT leans on UPDATE-TIMES: without N/A first, this store's would be BLOCKED.
    assert "FrozenUpdatedAtStore" in REVISIONLESS
    assert BROKEN_STORES["FrozenUpdatedAtStore"] == "UPDATE-TIMES"


def test_heavy_checks_can_be_skipped_and_say_so(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        "--store=memory",
        "--conformance-skip-heavy",
        "--clause=CONS-READ-YOUR-WRITES",
        "--clause=REV-RACE",
        "-q",
    )
    assert run.report is not None
    for row in run.report["results"]:
        assert row["status"] == "pass", row
        assert row["reason"].startswith("partly n/a: ")
        assert "--conformance-skip-heavy" in row["reason"]


@pytest.mark.parametrize(
    ("store", "clause", "not_failed"),
    [
        # get_session ignores expiry: nothing refreshed a TTL, no update revived a session.
        ("ExpiredReadableStore", "GET-EXPIRED", ["GET-NO-REFRESH", "UPDATE-EXPIRED"]),
        # Sessions never expire: session_exists refreshed nothing.
        ("NeverExpiringStore", "GET-EXPIRED", ["EXISTS-NO-REFRESH", "GET-NO-REFRESH"]),
        # Integers are not the point of these clauses; they are judged with text.
        ("BoolAsIntStore", "DATA-TYPES", ["ID-DISTINCT", "CREATE-RACE", "DELETE-REMOVES"]),
        # Issue #24: a bounded cache lost sessions, not ids; refusing data=None is not an
        # overwrite; {"data": {}} taken for a touch is not a miscounted revision.
        ("BoundedCacheStore", "CONS-READ-YOUR-WRITES", ["ID-DISTINCT"]),
        ("NoneDataRefusingStore", "CREATE-DEFAULT-DATA", ["CREATE-EXISTS"]),
        ("EmptyDataTouchStore", "UPDATE-REPLACE", ["REV-COUNT"]),
    ],
)
def test_a_store_is_never_failed_for_a_cause_it_did_not_show(
    verdicts: KitRun, store: str, clause: str, not_failed: list[str]
) -> None:
    statuses = verdicts.statuses(f"broken_stores:{store}")
    assert statuses[clause] == "fail"
    for other in not_failed:
        assert statuses[other] in ("blocked", "pass"), (other, statuses)


def test_generated_sequences_leave_out_what_a_failing_clause_judges(verdicts: KitRun) -> None:
    # The merging store fails UPDATE-REPLACE; the sequences then draw no data updates,
    # and MODEL-SEQUENCES does not report that mistake a second time.
    assert verdicts.status("broken_stores:MergingUpdateStore", "UPDATE-REPLACE") == "fail"
    assert verdicts.status("broken_stores:MergingUpdateStore", "MODEL-SEQUENCES") == "pass"


@pytest.mark.parametrize(("store", "clause"), sorted(WARNING_STORES.items()))
def test_suite_warns_on_a_should_clause(verdicts: KitRun, store: str, clause: str) -> None:
    statuses = verdicts.statuses(f"broken_stores:{store}")
    assert statuses[clause] == "warn"
    assert "fail" not in statuses.values()


def test_the_reference_store_passes_every_clause_in_the_same_run(verdicts: KitRun) -> None:
    statuses = verdicts.statuses("memory")
    failing = {
        clause: status for clause, status in statuses.items() if status not in ("pass", "n/a")
    }
    assert not failing
    assert set(statuses.values()) == {"pass", "n/a"}
    assert verdicts.returncode == 1  # the broken stores fail the run


def test_the_verdicts_are_the_same_without_xdist(verdicts: KitRun, tmp_path: Path) -> None:
    # Prerequisites judged on one worker, their dependents on the other: each process
    # judges what it leans on itself, so one process gives the same verdicts.
    chosen = ["NaiveTimeStore", "ExpiredReadableStore", "CoarseExistsStore"]
    serial = run_pytest(tmp_path, *(f"--store=broken_stores:{name}" for name in chosen), "-q")
    for name in chosen:
        store = f"broken_stores:{name}"
        expected = verdicts.statuses(store)
        expected.pop("MODEL-SEQUENCES")
        found = serial.statuses(store)
        found.pop("MODEL-SEQUENCES")
        assert found == expected, name


def test_the_json_report_states_the_spec_version(verdicts: KitRun) -> None:
    from conformance import SPEC_VERSION

    assert verdicts.report is not None
    assert verdicts.report["spec_version"] == SPEC_VERSION


def test_a_failure_quotes_the_clause_and_lists_the_operations(verdicts: KitRun) -> None:
    output = verdicts.output
    assert (
        "CREATE-EXISTS (MUST) violated: Creating over a live session raises `SessionExistsError`"
        in output
    )
    assert "\na repro, runnable as printed" in output
    assert "store = await check.open(OverwritingCreateStore" in output
    assert "# raised SessionExistsError" not in output.split("OverwritingCreateStore")[0][-200:]


def test_each_printed_repro_runs_as_printed_or_names_its_file(verdicts: KitRun) -> None:
    """A repro the terminal calls runnable is whole Python; a shortened one names its file."""
    lines = verdicts.output.splitlines()
    runnable = shortened = 0
    for index, line in enumerate(lines):
        if line.startswith("a repro, runnable as printed"):
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith(("_", "=")))
            compile("\n".join(lines[index + 1 : end]), "pasted.py", "exec")
            runnable += 1
        elif line.startswith("a repro, shortened"):
            path = Path(verdicts.cwd, line.split("in full: ", 1)[1])
            assert path.is_file(), line
            shortened += 1
    assert runnable >= 10, verdicts.output[-3000:]


def test_backend_errors_turned_into_none_fail_err_backend(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        "--store=broken_stores:SwallowingStore",
        "--failing-store-option=fail=true",
        "-q",
        "-k",
        "backend_failures",
    )
    assert run.status("broken_stores:SwallowingStore", "ERR-BACKEND") == "fail"
    assert "returned False instead of raising" in run.output


def test_a_store_whose_backend_fails_properly_passes_err_backend(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        "--store=broken_stores:DeadBackendStore",
        "--failing-store-option=dead=true",
        "-q",
        "-k",
        "backend_failures",
    )
    assert run.status("broken_stores:DeadBackendStore", "ERR-BACKEND") == "pass", run.output[-2000:]


def test_a_baselined_failure_still_blocks_what_leans_on_it(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.txt"
    baseline.write_text("TIME-UTC  # naive datetimes, known\n")
    run = run_pytest(
        tmp_path,
        "--store=broken_stores:NaiveTimeStore",
        f"--conformance-baseline={baseline}",
        "-q",
    )
    statuses = run.statuses("broken_stores:NaiveTimeStore")
    assert statuses["TIME-UTC"] == "expected-fail"
    assert statuses["CREATE-NEW"] == statuses["UPDATE-TIMES"] == "blocked"
    assert statuses["MODEL-SEQUENCES"] == "pass"  # it compares no times then
    assert "BLOCKED" in run.output
    assert run.returncode == 0, run.output[-2000:]


@pytest.mark.parametrize(("store", "clause"), sorted(BROKEN_STORES.items()))
def test_the_repro_of_each_broken_store_fails_on_its_clause(
    verdicts: KitRun, store: str, clause: str
) -> None:
    script = Path(verdicts.cwd) / "repros" / f"broken_stores_{store}__{clause}.py"
    last = repro_failure(script, TESTS_DIR)
    assert last.startswith(f"AssertionError: {clause} violated: "), last


@pytest.mark.parametrize("store", ["RealTimeNaiveTimeStore", "RealTimeLocalTimeAsUtcStore"])
def test_without_a_clock_a_time_utc_repro_still_fails_on_the_times(
    tmp_path: Path, store: str
) -> None:
    # Real time: the repro cannot compare times to the millisecond, but UTC it can.
    run = run_pytest(
        tmp_path,
        f"--store=broken_stores:{store}",
        "--clause=TIME-UTC",
        f"--conformance-repro-dir={tmp_path / 'repros'}",
    )
    assert run.statuses(f"broken_stores:{store}") == {"TIME-UTC": "fail"}, run.output[-3000:]
    last = repro_failure(tmp_path / "repros" / f"broken_stores_{store}__TIME-UTC.py", TESTS_DIR)
    assert last.startswith("AssertionError: TIME-UTC violated: "), last
    assert "within a second of" in last
