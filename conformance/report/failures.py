"""How a clause's failure reads: its FAILED line, its rerun command, its one-line problem.

pytest's FAILED line names the clause and ends with the command that reruns it alone; the
summary shows the problem's first line.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

import pytest

__all__ = ["ClauseFailure", "clean_reason", "first_line", "rerun_command", "skip_reason"]


def rerun_command(item: pytest.Item, clause_id: str) -> str:
    """The command that runs one clause of one store alone, as the user can paste it."""
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("session_store_target") if callspec is not None else None
    if target is None:  # a suite the user subclassed: its file, one clause
        path = str(item.path)
        with_file = os.path.relpath(path, item.config.invocation_params.dir)
        return f"pytest {shlex.quote(with_file)} --clause {clause_id}"
    from ..strict_backends.placeholders import restore
    from ..strict_backends.run import active_addresses

    addresses = active_addresses()  # a rerun starts its own endpoints: placeholders, not ports
    parts = ["pytest", f"--store={target.label}"]
    for option in ("conformance_strict_dynamodb", "conformance_faulty_redis"):
        upstream = item.config.getoption(option, default=None)
        if upstream:
            parts.append(f"--{option.replace('_', '-')}={upstream}")
    parts += [
        f"--store-option={_option_text(k, restore(v, addresses))}"
        for k, v in target.options.items()
    ]
    for key, value in (target.failing_options or {}).items():
        parts.append(f"--failing-store-option={_option_text(key, restore(value, addresses))}")
    runner = item.config.getoption("node_runner")
    if runner:
        parts.append(f"--node-runner={runner}")
    if clause_id == "MODEL-SEQUENCES" or addresses:  # the endpoints' schedules follow the seed too
        parts.append(f"--conformance-seed={item.config.option.conformance_seed}")
    parts.append(f"--clause={clause_id}")
    return " ".join(shlex.quote(part) for part in parts)


def _option_text(key: str, value: Any) -> str:
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return f"{key}={value}"
    return f"{key}={json.dumps(value)}"


class _CrashLine:
    def __init__(self, message: str) -> None:
        self.message = message


class ClauseFailure:
    """A failure's text whose one-line form (pytest's FAILED line) ends with the rerun command."""

    def __init__(self, text: str, line: str) -> None:
        self.text = text
        self.reprcrash = _CrashLine(line)

    def toterminal(self, out: Any) -> None:
        for line in self.text.splitlines():
            out.line(line)

    def __str__(self) -> str:
        return self.text


def clean_reason(reason: str, clause_id: str) -> str:
    for prefix in (f"n/a: {clause_id}: ", "baseline: ", "SHOULD not met: ", "problem: "):
        if reason.startswith(prefix):
            reason = reason[len(prefix) :]
    return reason.removeprefix("problem: ")


def first_line(report: pytest.TestReport) -> str:
    lines = str(report.longrepr or "").strip().splitlines()
    problem = next((line for line in lines if line.startswith("problem: ")), None)
    return problem or (lines[0] if lines else "")


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")
