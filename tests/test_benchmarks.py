"""The benchmark harness runs, and the MCP benchmarks count what the docs say a call costs.

Speed is measured by ``python -m benchmarks``, never asserted here; these runs are
a few calls each, to keep the harness from rotting between measurements.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_benchmarks(tmp_path: Path, *backends: str) -> list[dict[str, object]]:
    report = tmp_path / "results.json"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    options = ("--ops", "4", "--rounds", "1", "--concurrency", "2", "--json", str(report))
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
    return results


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
