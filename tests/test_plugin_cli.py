"""The plugin as a user meets it: a subprocess, an empty directory, the options and the messages."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from kit_runs import run_pytest
from plugin_targets import CLOSE_LOG

from conformance import CLAUSES, SessionStoreContract


def test_memory_passes_from_an_empty_directory_with_a_summary(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory")
    assert run.returncode == 0, run.output[-3000:]
    assert "store under test: memory (from --store); TTL clauses: fake clock" in run.output
    assert "session store conformance, by SPEC.md clause" in run.output
    assert "PASS   MUST   CREATE-EXISTS" in run.output
    assert "N/A    MUST   SHARED-INSTANCES" in run.output
    assert "Traceback" not in run.output


def test_the_report_file_has_a_verdict_per_clause(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory")
    report = run.report
    assert report is not None
    assert report["spec_version"] == "1.2"
    assert report["kit_version"]
    assert report["stores"] == [{"store": "memory", "source": "--store"}]
    assert report["settings"]["examples"] == 10  # kit_runs asks for 10
    assert report["settings"]["race_rounds"] == 20
    assert (
        "races: 20 rounds of 8 concurrent calls; MODEL-SEQUENCES: 10 generated sequences"
        in run.output
    )
    rows = {row["clause"]: row for row in report["results"]}
    assert rows["CREATE-EXISTS"]["status"] == "pass"
    assert rows["CREATE-EXISTS"]["level"] == "MUST"
    assert rows["DATA-BIG-INTEGERS"]["level"] == "SHOULD"
    assert rows["GET-EXPIRED"]["capability"] == {"ttl": "fake clock"}
    assert rows["ERR-BACKEND"]["status"] == "n/a"
    assert "--failing-store-option" in rows["ERR-BACKEND"]["reason"]
    assert set(rows) == {clause.id for clause in CLAUSES}


def test_a_broken_store_fails_naming_its_clause(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=broken_stores:UpsertingUpdateStore")
    assert run.returncode == 1
    assert run.status("broken_stores:UpsertingUpdateStore", "UPDATE-NO-UPSERT") == "fail"
    assert "FAIL   MUST   UPDATE-NO-UPSERT" in run.output
    assert "UPDATE-NO-UPSERT (MUST) violated" in run.output


def test_the_baseline_accepts_listed_failures_and_flags_stale_entries(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.txt"
    baseline.write_text(
        "# known problems\nCREATE-EXISTS  # overwrites, like LeanMCP\nCREATE-RACE\nMODEL-SEQUENCES\nUPDATE-REPLACE\n"
    )
    run = run_pytest(
        tmp_path,
        "--store=broken_stores:OverwritingCreateStore",
        f"--conformance-baseline={baseline}",
    )
    assert run.returncode == 0, run.output[-3000:]
    store = "broken_stores:OverwritingCreateStore"
    assert run.status(store, "CREATE-EXISTS") == "expected-fail"
    assert run.status(store, "UPDATE-REPLACE") == "stale"
    assert "STALE  MUST   UPDATE-REPLACE" in run.output


def test_a_baseline_naming_an_unknown_clause_is_a_usage_error(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.txt"
    baseline.write_text("CREATE-EXSTS\n")
    run = run_pytest(tmp_path, "--store=memory", f"--conformance-baseline={baseline}", report=False)
    assert run.returncode == 4
    assert "no clause 'CREATE-EXSTS' in SPEC.md" in run.output


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_for_the_kit:Store", "cannot import module 'no_such_module_for_the_kit'"),
        ("plugin_targets:NoSuchStore", "module 'plugin_targets' has no attribute 'NoSuchStore'"),
        (
            "plugin_targets:MissingDeleteStore",
            "does not implement the session store interface: missing delete_session",
        ),
        ("plugin_targets:SyncGetStore", "not async (not a coroutine function): get_session"),
        (
            "plugin_targets:factory_of_a_dict",
            "built a dict, which is not a session store: missing session_exists",
        ),
        ("plugin_targets:NOT_CALLABLE", "'NOT_CALLABLE' is a int, not a class or callable"),
        ("no-such-short-name", "expected a short name (dynamodb, memory, postgres, redis, sqlite)"),
    ],
)
def test_bad_targets_get_one_line_errors(tmp_path: Path, target: str, message: str) -> None:
    run = run_pytest(tmp_path, f"--store={target}", report=False)
    assert run.returncode == 4, run.output
    assert message in run.output
    assert "Traceback" not in run.output
    error_lines = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(error_lines) == 1


def test_a_malformed_store_option_is_a_usage_error(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "--store-option=novalue", report=False)
    assert run.returncode == 4
    assert "expected KEY=VALUE" in run.output


def test_store_options_reach_the_store_as_json_or_text(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        "--store=plugin_targets:PrefixedStore",
        "--store-option=prefix=kit:",
        "--store-option=limit=5",
    )
    assert run.returncode == 0, run.output[-3000:]


@pytest.mark.parametrize(
    ("target", "closed"),
    [
        ("plugin_targets:sync_factory", "aclose"),
        ("plugin_targets:async_factory", "close"),
        ("plugin_targets:context_factory", "context exit"),
    ],
)
def test_factories_of_every_shape_are_built_and_closed(
    tmp_path: Path, target: str, closed: str
) -> None:
    log = tmp_path / "closed.log"
    run = run_pytest(tmp_path, f"--store={target}", env={CLOSE_LOG: str(log)})
    assert run.returncode == 0, run.output[-3000:]
    events = log.read_text().split("\n")
    assert events.count(closed) >= len(CLAUSES)  # at least one store per test, each closed


def test_the_environment_variable_and_the_ini_option_are_fallbacks(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, env={"MCP_SESSION_STORE": "memory"})
    assert run.returncode == 0, run.output[-2000:]
    assert "store under test: memory (from $MCP_SESSION_STORE)" in run.output
    (tmp_path / "pytest.ini").write_text("[pytest]\nsession_store = memory\n")
    run = run_pytest(tmp_path)
    assert run.returncode == 0, run.output[-2000:]
    assert "store under test: memory (from ini option session_store" in run.output


def test_several_stores_each_get_their_own_run(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "--store=plugin_targets:sync_factory")
    assert run.returncode == 0, run.output[-2000:]
    assert run.statuses("memory")["CREATE-RACE"] == "pass"
    assert run.statuses("plugin_targets:sync_factory")["CREATE-RACE"] == "pass"


def test_a_store_without_ttl_seconds_gets_ttl_clauses_as_not_applicable(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=plugin_targets:NoTtlStore")
    assert run.returncode == 0, run.output[-2000:]
    statuses = run.statuses("plugin_targets:NoTtlStore")
    for clause in (
        "GET-EXPIRED",
        "TTL-WINDOW",
        "TTL-FIELD",
        "UPDATE-TTL-RESTART",
        "CREATE-OVER-EXPIRED",
    ):
        assert statuses[clause] == "n/a"
    assert statuses["CREATE-EXISTS"] == "pass"
    assert "does not accept ttl_seconds" in run.output


def test_a_store_without_a_clock_waits_real_time_once(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    run = run_pytest(tmp_path, "--store=plugin_targets:RealTimeStore", "--durations=0", "-vv")
    assert run.returncode == 0, run.output[-3000:]
    statuses = run.statuses("plugin_targets:RealTimeStore")
    for clause in (
        "GET-EXPIRED",
        "TTL-WINDOW",
        "TTL-FIELD",
        "UPDATE-TTL-RESTART",
        "GET-NO-REFRESH",
    ):
        assert statuses[clause] == "pass"
    assert "TTL clauses: real time" in run.output
    record_property("real_time_ttl_output_tail", run.output[-600:])


@pytest.mark.parametrize(
    "plugin_args",
    [
        ["-p", "no:asyncio"],
        pytest.param(
            ["-p", "asyncio", "-o", "asyncio_mode=auto"],
            marks=pytest.mark.skipif(
                not importlib.util.find_spec("pytest_asyncio"),
                reason="pytest-asyncio not installed",
            ),
        ),
        pytest.param(
            ["-p", "asyncio", "-o", "asyncio_mode=strict"],
            marks=pytest.mark.skipif(
                not importlib.util.find_spec("pytest_asyncio"),
                reason="pytest-asyncio not installed",
            ),
        ),
        pytest.param(
            ["-n", "2"],
            marks=pytest.mark.skipif(
                not importlib.util.find_spec("xdist"), reason="pytest-xdist not installed"
            ),
        ),
    ],
    ids=["no-asyncio", "asyncio-auto", "asyncio-strict", "xdist"],
)
def test_the_suite_runs_under_any_async_setup(tmp_path: Path, plugin_args: list[str]) -> None:
    run = run_pytest(tmp_path, "--store=memory", *plugin_args)
    assert run.returncode == 0, run.output[-3000:]
    assert run.statuses("memory")["CREATE-RACE"] == "pass"
    assert len(run.statuses("memory")) == len(CLAUSES)


def test_subclassing_the_contract_in_a_users_own_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_my_store="""
        import pytest
        from conformance import SessionStoreContract
        from reference_stores import InMemorySessionStore

        class TestMyStore(SessionStoreContract):
            @pytest.fixture
            def session_store_factory(self):
                return InMemorySessionStore
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # Every test of the contract runs; four clauses are n/a for the in-memory store (ERR-BACKEND,
    # TIME-TEXT-FORMAT and both SHARED-INSTANCES clauses: it declares its sessions private).
    tests = [name for name in dir(SessionStoreContract) if name.startswith("test_")]
    result.assert_outcomes(passed=len(tests) - 4, skipped=4)
    result.stdout.fnmatch_lines(
        ["*session store conformance, by SPEC.md clause*", "TestMyStore: *"]
    )


def test_a_subclass_with_a_non_async_method_fails_iface_methods(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        test_sync_store="""
        import pytest
        from conformance import SessionStoreContract
        from reference_stores import InMemorySessionStore

        class SyncExists(InMemorySessionStore):
            def session_exists(self, session_id):
                return False

        class TestSync(SessionStoreContract):
            @pytest.fixture
            def session_store_factory(self):
                return SyncExists
        """
    )
    report = tmp_path / "report.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--conformance-report={report}"
    )
    assert result.ret == 1
    rows = {row["clause"]: row for row in json.loads(report.read_text())["results"]}
    assert rows["IFACE-METHODS"]["status"] == "fail"
    assert "not async" in rows["IFACE-METHODS"]["reason"]
