"""The benchmark harness runs, and the MCP benchmarks count what the docs say a call costs.

Speed is measured by ``python -m benchmarks``, never asserted here; these runs are
a few calls each, to keep the harness from rotting between measurements.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_benchmarks(tmp_path: Path, *backends: str) -> list[dict[str, object]]:
    return run_benchmarks_printing(tmp_path, *backends)[0]


def run_benchmarks_printing(
    tmp_path: Path,
    *backends: str,
    unset: tuple[str, ...] = (),
    ops: int = 4,
    records: bool = False,
) -> tuple[list[dict[str, object]], str]:
    """The results, and what the run printed; ``unset``: variables taken from its environment;
    ``records``: also write a record per backend under ``tmp_path / "records"``."""
    report = tmp_path / "results.json"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for variable in unset:
        environment.pop(variable, None)
    options = ("--ops", str(ops), "--rounds", "1", "--concurrency", "2", "--json", str(report))
    if records:
        options += ("--results", str(tmp_path / "records"))
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", *backends, *options],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results: list[dict[str, object]] = json.loads(report.read_text())
    return results, completed.stdout


def expected_stores() -> set[str]:
    stores = {"memory", "sqlite"}
    if os.environ.get("REDIS_URL"):
        stores.add("redis")
    if os.environ.get("DATABASE_URL"):
        stores.add("postgres")
    return stores


def stores_by_case(results: list[dict[str, object]]) -> dict[str, set[str]]:
    """The stores each case ran on: ``tools/call`` (the integration) and ``floor``."""
    by_case: dict[str, set[str]] = {"tools/call": set(), "floor": set()}
    for result in results:
        case, store = str(result["operation"]).split(" ", 1)
        by_case[case].add(store)
    return by_case


def test_the_mcp_benchmark_counts_one_read_and_one_conditional_write_per_tool_call(
    tmp_path: Path,
) -> None:
    results = run_benchmarks(tmp_path, "mcp")
    # A floor case follows each store a call reaches over the network.
    assert stores_by_case(results) == {
        "tools/call": expected_stores(),
        "floor": expected_stores() & {"redis", "postgres"},
    }
    assert {result["mode"] for result in results} == {"sequential", "2 tasks"}
    assert all(float(str(result["ratio"])) > 0 for result in results)
    for result in results:
        if str(result["operation"]).startswith("floor "):
            continue
        # The request's check reads the session; increment's write starts from that read.
        assert str(result["raw_label"]).endswith(
            "store calls per tool call: 2 (get_session 1, update_session 1)"
        ), result
        assert float(str(result["ratio"])) > 0


def test_the_served_mcp_benchmark_runs_every_store_in_its_own_process(tmp_path: Path) -> None:
    results = run_benchmarks(tmp_path, "mcp_http")
    assert stores_by_case(results) == {
        "tools/call": expected_stores(),
        "floor": expected_stores() & {"redis", "postgres"},
    }
    assert all(float(str(result["ratio"])) > 0 for result in results)


def test_the_printed_table_keeps_its_columns_in_line_past_a_long_case_name(
    tmp_path: Path,
) -> None:
    # sqlite's "update (conditional)" is longer than the other operations.
    results, printed = run_benchmarks_printing(tmp_path, "sqlite", ops=10)
    lines = printed.splitlines()
    header = next(line for line in lines if line.startswith("backend"))
    rows = lines[lines.index(header) + 1 :]
    assert len(rows) == len(results)
    assert any(result["operation"] == "update (conditional)" for result in results)
    for row, result in zip(rows, results, strict=True):
        # Every row's last column, the raw call, starts under its title.
        assert row.index(str(result["raw_label"])) == header.index("raw call"), row


@pytest.mark.parametrize("benchmark", ["mcp", "mcp_http"])
def test_an_mcp_benchmark_says_which_stores_it_leaves_out_and_why(
    tmp_path: Path, benchmark: str
) -> None:
    results, printed = run_benchmarks_printing(
        tmp_path, benchmark, unset=("REDIS_URL", "DATABASE_URL")
    )
    said = [
        f"{benchmark}: redis left out: REDIS_URL is unset",
        f"{benchmark}: postgres left out: DATABASE_URL is unset",
    ]
    assert [line for line in printed.splitlines() if "left out" in line] == said
    assert stores_by_case(results)["tools/call"] == {"memory", "sqlite"}


def test_a_record_holds_the_results_with_the_command_host_load_and_what_was_left_out(
    tmp_path: Path,
) -> None:
    results, _ = run_benchmarks_printing(tmp_path, "mcp", unset=("DATABASE_URL",), records=True)
    record = json.loads((tmp_path / "records" / "mcp.json").read_text())
    assert record["results"] == results
    assert record["command"] == "python -m benchmarks mcp --ops 4 --rounds 1 --concurrency 2"
    # The record keeps what the run said it left out, so a page rendered from it says so too.
    assert record["notes"] == ["postgres left out: DATABASE_URL is unset"]
    assert record["host"]["cpu_count"] == os.cpu_count()
    assert record["host"]["python"] == platform.python_version()
    assert len(record["load_average_start"]) == 3
    assert record["seconds"] > 0


def test_fewer_ops_than_the_warm_up_still_give_every_create_a_fresh_id(tmp_path: Path) -> None:
    # The warm-up makes at least 10 calls; a round of 4 must not reuse their session ids.
    results = run_benchmarks(tmp_path, "sqlite")
    assert {result["operation"] for result in results} >= {"create_session", "delete_session"}
