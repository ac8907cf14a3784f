"""Run pytest the way a user does: a subprocess, in a directory of the test's choosing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).parent


@dataclass
class KitRun:
    returncode: int
    output: str
    report: dict[str, Any] | None

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
    environment = {**os.environ, **(env or {})}
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
    return KitRun(completed.returncode, completed.stdout + completed.stderr, loaded)
