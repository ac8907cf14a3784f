"""The run's last lines: what the conformance run wrote, and a failure pytest's counts hide.

They come after pytest's short test summary, just above its final counts: the JSON report,
the HTML matrix, the repro folder and the badge, each with its path, and, when stale
baseline entries fail the run under ``--conformance-strict-baseline``, which ones (pytest
counts them as passed, so nothing else near the end says why the run failed).
"""

from __future__ import annotations

from typing import Any

import pytest

from .summary import ConformanceReport

__all__ = ["ClosingLines"]

STALE_KEY = "stale in baseline"
"""The word pytest's final counts line uses for stale entries that fail the run."""


class ClosingLines:
    def __init__(self, report: ConformanceReport) -> None:
        self.report = report

    # The outermost wrapper: its lines follow pytest's own short summary.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Any:
        result = yield
        for line in self.report.written:
            terminalreporter.write_line(f"conformance: {line}")
        config = self.report.config
        if not config.getoption("conformance_strict_baseline"):
            return result
        stale = [row for row in self.report.summary() if row["status"] == "stale"]
        if stale:
            other_failures = terminalreporter.stats.get("failed") or terminalreporter.stats.get(
                "error"
            )
            entries = f"{len(stale)} stale baseline entr{'y' if len(stale) == 1 else 'ies'}"
            listed = ", ".join(f"{row['clause']} ({row['store']})" for row in stale)
            terminalreporter.write_line(
                f"conformance: the run failed {'also ' if other_failures else ''}because of "
                f"{entries} (--conformance-strict-baseline): {listed} "
                f"pass{'es' if len(stale) == 1 else ''} now; remove "
                f"{'it' if len(stale) == 1 else 'them'} from "
                f"{config.getoption('conformance_baseline')}",
                red=True,
            )
            # pytest's final counts name them too, so that line is not green on a failed run.
            terminalreporter.stats.setdefault(STALE_KEY, []).extend(stale)
        return result
