"""The suite is proven able to fail: every clause has a broken store it must catch.

One run of the suite judges every broken store and the in-memory reference
store side by side; each test below reads one verdict from its report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from broken_stores import BROKEN_STORES, MODEL_CAUGHT_STORES, WARNING_STORES
from kit_runs import KitRun, run_pytest


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    stores = ["memory", *(f"broken_stores:{name}" for name in [*BROKEN_STORES, *WARNING_STORES])]
    return run_pytest(tmp_path_factory.mktemp("broken"), *(f"--store={s}" for s in stores), "-q")


@pytest.mark.parametrize(("store", "clause"), sorted(BROKEN_STORES.items()))
def test_suite_fails_the_broken_store_on_its_clause(
    verdicts: KitRun, store: str, clause: str
) -> None:
    assert verdicts.status(f"broken_stores:{store}", clause) == "fail", verdicts.statuses(
        f"broken_stores:{store}"
    )


@pytest.mark.parametrize("store", MODEL_CAUGHT_STORES)
def test_generated_sequences_catch_the_broken_store_too(verdicts: KitRun, store: str) -> None:
    assert verdicts.status(f"broken_stores:{store}", "MODEL-SEQUENCES") == "fail"


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


def test_a_failure_quotes_the_clause_and_lists_the_operations(verdicts: KitRun) -> None:
    output = verdicts.output
    assert (
        "CREATE-EXISTS (MUST) violated: Creating over a live session raises `SessionExistsError`"
        in output
    )
    assert "operations that led to it (a repro):" in output
    assert "store = OverwritingCreateStore(" in output
    assert "# raised SessionExistsError" not in output.split("OverwritingCreateStore")[0][-200:]


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
