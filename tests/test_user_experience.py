"""The kit as a user meets it: the setup check, choosing clauses, reruns, fallbacks, the report."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from kit_runs import TESTS_DIR, repro_failure, run_pytest

from conformance import CLAUSES, SPEC_VERSION

VERDICT_LINE = ("  PASS   ", "  FAIL   ", "  N/A    ")


def _no_verdicts(output: str) -> None:
    assert not any(line.startswith(VERDICT_LINE) for line in output.splitlines()), output
    assert "session store conformance, by SPEC.md clause" not in output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--store=sqlite", "--store-option=bogus=1"],
            [
                "built:   SQLiteSessionStore(bogus=1)",
                "unexpected keyword argument 'bogus'",
                "SQLiteSessionStore takes path, ttl_seconds",
                "--store-option NAME=VALUE",
            ],
        ),
        (
            ["--store=plugin_targets:NeedsServerStore"],
            [
                "built:   NeedsServerStore()",
                "error:   ValueError: no server given",
                "NeedsServerStore takes server, ttl_seconds",
            ],
        ),
        (
            ["--store=redis", "--store-option=url=redis://127.0.0.1:1"],
            [
                "built:   RedisSessionStore(url='redis://127.0.0.1:1')",
                "failed:  calling session_exists on it",
                "is the server running at redis://127.0.0.1:1?",
            ],
        ),
        (
            ["--store=memory", "--store=plugin_targets:NeedsServerStore"],
            [
                "error:   ValueError: no server given",
                "pass them as --store-option plugin_targets:NeedsServerStore:NAME=VALUE",
            ],
        ),
    ],
    ids=["bad-option", "constructor-raises", "unreachable-backend", "one-of-several"],
)
def test_a_broken_setup_stops_the_run_in_one_short_block(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    run = run_pytest(tmp_path, *args, report=False)
    assert run.returncode != 0
    assert len(run.output.strip().splitlines()) <= 25, run.output
    assert "the store could not be set up, so no clause was judged" in run.output
    for text in expected:
        assert text in run.output, run.output
    assert "Traceback" not in run.output
    _no_verdicts(run.output)


@pytest.mark.parametrize(
    ("args", "repeated"),
    [
        (
            ["--store=postgres", "--store-option=dsn=postgresql://postgres@127.0.0.1:1/postgres"],
            "port 1 failed: Connection refused",
        ),
        (["--store=redis", "--store-option=url=redis://127.0.0.1:1"], "Error 111 connecting"),
    ],
    ids=["postgres", "redis"],
)
def test_a_setup_error_is_the_kits_block_alone_said_once(
    tmp_path: Path, args: list[str], repeated: str
) -> None:
    run = run_pytest(tmp_path, *args, report=False)
    assert run.returncode != 0
    lines = run.output.strip().splitlines()
    assert lines[0].startswith("ERROR: --store="), run.output  # no backend log before it
    assert run.output.count(repeated) == 1, run.output
    verbose = run_pytest(tmp_path, *args, "-v", report=False)
    if "postgres" in args[0]:  # psycopg_pool logs each failed attempt: -v shows them, after
        assert "held back (-v shows them)" in run.output
        block_end = verbose.output.index("held back during the check:")
        assert "WARNING psycopg.pool: error connecting" in verbose.output[block_end:]
        assert "error connecting" not in verbose.output[:block_end]


def test_err_backends_failing_store_is_not_set_up_checked(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        "--store=broken_stores:DeadBackendStore",
        "--failing-store-option=dead=true",
        "--clause=ERR-BACKEND",
    )
    assert run.returncode == 0, run.output[-2000:]
    assert run.status("broken_stores:DeadBackendStore", "ERR-BACKEND") == "pass"


def test_clause_selects_one_clause_or_a_glob(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "--clause=GET-EXPIRED", "--clause=TTL-*")
    assert run.returncode == 0, run.output[-2000:]
    chosen = set(run.statuses("memory"))
    assert chosen == {"GET-EXPIRED"} | {c.id for c in CLAUSES if c.id.startswith("TTL-")}


def test_a_clause_matching_nothing_is_a_usage_error(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "--clause=GET-EXPRED", report=False)
    assert run.returncode == 4
    assert "--clause GET-EXPRED: no clause of SPEC.md matches it" in run.output


def test_k_matches_clause_ids(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "-k", "GET-EXPIRED")
    assert run.returncode == 0, run.output[-2000:]
    assert set(run.statuses("memory")) == {"GET-EXPIRED"}


def _run_command(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "pytest"
    environment = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    environment.pop("MCP_SESSION_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[1:]],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_each_failed_line_ends_with_the_command_that_reruns_its_clause(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path, "--store=broken_stores:UpsertingUpdateStore", "-rf", env={"CI": "true"}
    )
    assert run.returncode == 1
    failed = [line for line in run.output.splitlines() if line.startswith("FAILED ")]
    assert failed
    for line in failed:
        assert " violated; rerun alone: pytest --store=broken_stores:UpsertingUpdateStore" in line
        assert line.split(" --clause=")[-1] in {c.id for c in CLAUSES}
    command = next(
        line.split("rerun alone: ", 1)[1] for line in failed if "UPDATE-NO-UPSERT" in line
    )
    assert command.endswith("--clause=UPDATE-NO-UPSERT")
    rerun = _run_command(tmp_path, command)
    assert rerun.returncode == 1, rerun.stdout[-2000:]
    assert "1 failed" in rerun.stdout
    assert "FAIL   MUST   UPDATE-NO-UPSERT" in rerun.stdout
    # the conformance section's FAIL line carries the same command
    assert f"rerun alone: {command}" in run.output


def test_a_failed_node_id_pasted_back_runs_that_test(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=broken_stores:UpsertingUpdateStore", "-rf")
    node = next(
        line.split()[1]
        for line in run.output.splitlines()
        if line.startswith("FAILED ") and "test_update_of_a_missing_id_creates_nothing" in line
    )
    for args in ([node], ["--store=broken_stores:UpsertingUpdateStore", node]):
        again = run_pytest(tmp_path, *args)
        assert again.returncode == 1, again.output[-2000:]
        assert "1 failed" in again.output
        assert again.statuses("broken_stores:UpsertingUpdateStore") == {"UPDATE-NO-UPSERT": "fail"}


def _project_with_its_own_test(folder: Path) -> None:
    (folder / "tests").mkdir()
    (folder / "tests" / "test_own.py").write_text("def test_own():\n    assert False, 'own'\n")
    (folder / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")


def test_fallbacks_add_the_suite_to_the_users_own_tests(tmp_path: Path) -> None:
    _project_with_its_own_test(tmp_path)
    run = run_pytest(tmp_path, env={"MCP_SESSION_STORE": "memory"})
    assert "store under test: memory (from $MCP_SESSION_STORE)" in run.output
    assert "tests/test_own.py::test_own" in run.output
    assert run.returncode == 1  # the user's own failing test counts
    assert run.status("memory", "CREATE-EXISTS") == "pass"
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\nsession_store = memory\n")
    run = run_pytest(tmp_path)
    assert "store under test: memory (from ini option session_store" in run.output
    assert "tests/test_own.py::test_own" in run.output
    assert run.returncode == 1
    # An explicit --store without paths runs the suite alone.
    run = run_pytest(tmp_path, "--store=memory")
    assert "test_own" not in run.output
    assert run.returncode == 0, run.output[-2000:]


def test_the_report_states_a_verdict_and_reads_cleanly(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=broken_stores:SharedObjectStore")
    assert run.report is not None
    assert run.report["verdict"] == "fail"
    assert run.report["counts"]["fail"] >= 1
    assert sum(run.report["counts"].values()) == len(CLAUSES)
    rows = {row["clause"]: row for row in run.report["results"]}
    assert not rows["ERR-BACKEND"]["reason"].startswith(("n/a", "ERR-BACKEND"))
    assert "object at 0x" not in run.output
    assert "PytestDeprecationWarning" not in run.output
    for line in run.output.splitlines():
        if line.startswith(VERDICT_LINE) and "…" in line:
            assert line.rstrip()[-2] != " "  # cut at a word boundary
            before = line.rstrip()[:-1]
            assert before.rsplit(" ", 1)[-1] in rows[line.split()[2]]["reason"].split()
    run = run_pytest(tmp_path, "--store=memory")
    assert run.report is not None
    assert run.report["verdict"] == "pass"


def test_strict_baseline_fails_on_a_stale_entry(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.txt"
    baseline.write_text("CREATE-EXISTS\n")
    run = run_pytest(tmp_path, "--store=memory", f"--conformance-baseline={baseline}")
    assert run.returncode == 0
    assert run.status("memory", "CREATE-EXISTS") == "stale"
    run = run_pytest(
        tmp_path,
        "--store=memory",
        f"--conformance-baseline={baseline}",
        "--conformance-strict-baseline",
    )
    assert run.returncode == 1
    assert run.report is not None
    assert run.report["verdict"] == "fail"
    last_lines = run.output.strip().splitlines()[-2:]
    assert last_lines[0] == (
        "conformance: the run failed because of 1 stale baseline entry "
        "(--conformance-strict-baseline): CREATE-EXISTS (memory) passes now; "
        f"remove it from {baseline}"
    ), run.output[-2000:]
    assert "1 stale in baseline" in last_lines[1]  # pytest's counts, not all green


def test_model_sequences_print_their_seed_and_replay_it(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "--clause=MODEL-SEQUENCES")
    seed = run.report["settings"]["seed"] if run.report else None
    assert isinstance(seed, int)
    assert f"seed {seed} (--conformance-seed {seed} replays them)" in run.output
    again = run_pytest(
        tmp_path, "--store=memory", "--clause=MODEL-SEQUENCES", "--conformance-seed=7"
    )
    assert again.report is not None
    assert again.report["settings"]["seed"] == 7
    assert "--conformance-seed 7 replays them" in again.output


def test_a_repro_is_in_the_report_and_in_the_repro_dir(tmp_path: Path) -> None:
    folder = tmp_path / "repros"
    run = run_pytest(
        tmp_path, "--store=broken_stores:NoCopyInStore", f"--conformance-repro-dir={folder}"
    )
    assert run.report is not None
    row = next(r for r in run.report["results"] if r["clause"] == "DATA-COPY-IN")
    script = (folder / "broken_stores_NoCopyInStore__DATA-COPY-IN.py").read_text()
    assert row["repro"] == script
    assert 'given1["obj"]["inner"][0]["x"] = "2"' in script  # the mutation that broke it
    assert "\na repro, runnable as printed" in run.output
    assert max(len(line) for line in run.output.splitlines()) <= 200
    ran = subprocess.run(
        [sys.executable, str(folder / "broken_stores_NoCopyInStore__DATA-COPY-IN.py")],
        cwd=TESTS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 1
    assert "AssertionError: DATA-COPY-IN violated" in ran.stderr
    json.dumps(run.report)  # the report stays plain JSON


def test_the_repro_printed_in_the_terminal_runs_when_pasted(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=broken_stores:NoCopyInStore", "--clause=DATA-COPY-IN")
    assert run.returncode == 1
    lines = run.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("a repro, runnable"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("="))
    pasted = tmp_path / "pasted.py"
    pasted.write_text("\n".join(lines[start + 1 : end]) + "\n")
    environment = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    assert repro_failure(pasted, tmp_path, environment).startswith(
        "AssertionError: DATA-COPY-IN violated"
    )


def test_a_run_ends_naming_each_file_it_wrote(tmp_path: Path) -> None:
    """The README's CI command, from an empty directory: each file has a line that names it."""
    run = run_pytest(
        tmp_path,
        "--store=broken_stores:NoCopyInStore",
        "--conformance-report=conformance.json",
        "--conformance-html=conformance.html",
        "--conformance-repro-dir=repros",
        "--conformance-badge=conformance-badge.svg",
        report=False,
    )
    assert run.returncode == 1
    closing = run.output.strip().splitlines()[-7:]
    for line in (
        "conformance: JSON report written to conformance.json",
        "conformance: HTML matrix written to conformance.html",
        "conformance: 1 repro script written to repros",
    ):
        assert line in closing, run.output[-2000:]
    badge_line = f"conformance: badge written to conformance-badge.svg (SPEC {SPEC_VERSION}, "
    assert any(line.startswith(badge_line) and line.endswith(", fail)") for line in closing)
    assert (tmp_path / "conformance.json").is_file()
    assert (tmp_path / "conformance.html").is_file()
    assert (tmp_path / "conformance-badge.svg").is_file()
    assert len(list((tmp_path / "repros").iterdir())) == 1
    passing = run_pytest(tmp_path, "--store=memory", "--conformance-repro-dir=repros2")
    assert "conformance: no clause failed with a repro, so none was written to repros2" in (
        passing.output
    )
