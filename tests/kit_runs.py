"""Run pytest the way a user does: a subprocess, in a directory of the test's choosing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

try:  # tests/ as a package or as a plain folder on sys.path
    from .file_locks import exclusive_lock
except ImportError:
    from file_locks import exclusive_lock  # type: ignore[no-redef]


TESTS_DIR = Path(__file__).parent
PYTEST_CI_MARKERS = ("CI", "BUILD_NUMBER")
"""Variables that make pytest print differently (``_pytest.compat.running_on_ci``)."""


@dataclass
class KitRun:
    returncode: int
    output: str
    report: dict[str, Any] | None
    cwd: str = ""
    """Where it ran."""

    def status(self, store: str, clause: str) -> str | None:
        assert self.report is not None, self.output[-3000:]
        for row in self.report["results"]:
            if row["store"] == store and row["clause"] == clause:
                return str(row["status"])
        return None

    def statuses(self, store: str) -> dict[str, str]:
        assert self.report is not None, self.output[-3000:]
        return {
            row["clause"]: row["status"] for row in self.report["results"] if row["store"] == store
        }


def repro_failure(script: Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a repro script as a user would; it must fail (exit 1): the last line of its stderr."""
    ran = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    return ran.stderr.strip().splitlines()[-1]


def run_pytest(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    report: bool = True,
    timeout: float = 300,
) -> KitRun:
    """``python -m pytest ARGS`` in ``cwd``, with ``tests/`` importable for the broken stores."""
    report_path = cwd / "conformance-report.json"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    if not any(arg.startswith("--conformance-examples") for arg in args):
        command.append("--conformance-examples=10")  # the explicit sequences still run
    if report:
        command.append(f"--conformance-report={report_path}")
    # The output is the same on every machine: pytest fits its separators and summary
    # lines to the terminal's width, and on CI (CI or BUILD_NUMBER set) it does not
    # shorten the summary lines at all.
    environment = {
        **{name: value for name, value in os.environ.items() if name not in PYTEST_CI_MARKERS},
        "COLUMNS": "80",
        **(env or {}),
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS_DIR), *filter(None, [environment.get("PYTHONPATH")])]
    )
    environment.pop(
        "MCP_SESSION_STORE", None
    ) if env is None or "MCP_SESSION_STORE" not in env else None
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    loaded = json.loads(report_path.read_text()) if report and report_path.exists() else None
    return KitRun(completed.returncode, completed.stdout + completed.stderr, loaded, str(cwd))


def kit_run_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, run: Callable[[Path], KitRun]
) -> KitRun:
    """``run(folder)`` once per test session, even across xdist workers.

    A module fixture runs once per worker that takes any of the module's tests; a kit run
    costs up to minutes, so the first worker runs it and the others wait for its result.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return run(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent  # this session's, shared by its workers
    result = shared / f"kit-run-{name}.json"
    with exclusive_lock(shared / f"kit-run-{name}.lock"):
        if result.exists():
            return KitRun(**json.loads(result.read_text()))
        folder = shared / f"kit-run-{name}"
        folder.mkdir()
        kit_run = run(folder)
        result.write_text(json.dumps(asdict(kit_run)))
        return kit_run
