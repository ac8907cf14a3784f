"""The per-clause summary of a run, printed and written to the files the options ask for.

Every test's verdict is gathered (from xdist workers too) into one row per store and clause;
the rows are printed after the run and written as the JSON report, the repro files and the
HTML matrix (``html``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from ..clauses import CLAUSES, SPEC_VERSION
from ..repro.script import file_name, safe_file_part
from ..text import shorten
from .baseline import BASELINE
from .failures import clean_reason, first_line, skip_reason

__all__ = ["ConformanceReport"]

# "blocked": not judged because a clause it leans on fails; neither a pass nor a second failure.
_STATUS_ORDER = ("fail", "error", "blocked", "warn", "expected-fail", "pass", "n/a")

_MARKS = {
    "pass": "PASS",
    "fail": "FAIL",
    "error": "ERROR",
    "blocked": "BLOCKED",
    "warn": "WARN",
    "n/a": "N/A",
    "expected-fail": "XFAIL",
    "stale": "STALE",
}


class ConformanceReport:
    """Collects per-clause results (also from xdist workers) and prints and writes them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.ttl_modes: dict[str, str] = {}
        self.targets: list[Any] = []
        """The stores the run judges (``StoreTarget``), which the plugin sets."""
        self.written: list[str] = []
        """What the run wrote, one line each, for the run's last lines (``closing``)."""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties: dict[str, Any] = dict(report.user_properties)
        clause_id = properties.get("conformance_clause")
        if clause_id is None:
            return
        status: str | None = None
        reason = ""
        if report.when == "call":
            if report.passed:
                status = "pass"
                if "conformance_partial" in properties:
                    reason = f"partial: {properties['conformance_partial']}"
            elif report.failed:
                status = "fail"
                reason = first_line(report)
            elif hasattr(report, "wasxfail"):
                status = "warn" if report.wasxfail.startswith("SHOULD") else "expected-fail"
                reason = report.wasxfail
            elif properties.get("conformance_status") == "blocked":
                status = "blocked"
                reason = skip_reason(report)
            else:
                status = "n/a"
                reason = skip_reason(report)
        elif report.failed:
            status = "error"
            reason = first_line(report)
        elif report.skipped and report.when == "setup":
            status = "n/a"
            reason = skip_reason(report)
        if status is None:
            return
        store = str(properties.get("conformance_store", "?"))
        if "conformance_ttl" in properties:
            self.ttl_modes[store] = properties["conformance_ttl"]
        self.results[store][clause_id].append(
            {
                "status": status,
                "reason": clean_reason(reason, clause_id),
                "test": report.nodeid,
                "repro": str(properties.get("conformance_repro", "")),
                "rerun": str(properties.get("conformance_rerun", "")),
            }
        )

    def summary(self) -> list[dict[str, Any]]:
        from ..strict_backends.run import through

        rows = []
        baseline = self.config.stash.get(BASELINE, frozenset())
        options = {t.label: t.options for t in self.targets}
        for store, by_clause in self.results.items():
            for clause in CLAUSES:
                outcomes = by_clause.get(clause.id)
                if not outcomes:
                    continue
                statuses = [outcome["status"] for outcome in outcomes]
                status = next(s for s in _STATUS_ORDER if s in statuses)
                chosen = [o for o in outcomes if o["status"] == status]
                reasons = [o["reason"] for o in chosen if o["reason"]]
                if status == "pass" and "n/a" in statuses and not reasons:
                    reasons = [
                        "partly n/a: " + next(o["reason"] for o in outcomes if o["status"] == "n/a")
                    ]
                if status == "pass" and clause.id in baseline:
                    status = "stale"
                    reasons = ["listed in the baseline but passes now: remove it from the baseline"]
                rows.append(
                    {
                        "store": store,
                        "clause": clause.id,
                        "level": clause.level,
                        "section": clause.section,
                        "status": status,
                        "reason": reasons[0] if reasons else "",
                        "capability": {"ttl": self.ttl_modes.get(store, "")},
                        "tests": [o["test"] for o in outcomes],
                        "rerun": next((o["rerun"] for o in chosen if o["rerun"]), ""),
                        "repro": next((o["repro"] for o in chosen if o["repro"]), ""),
                        # A strict endpoint the clause was judged through; "" for none.
                        "through": through(options.get(store, {}), clause.id),
                    }
                )
        return rows

    def failed(self, rows: list[dict[str, Any]]) -> bool:
        strict = self.config.getoption("conformance_strict_baseline")
        return any(
            row["status"] in ("fail", "error") or (strict and row["status"] == "stale")
            for row in rows
        )

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        rows = self.summary()
        if not rows:
            return
        write = terminalreporter.write_line
        terminalreporter.section("session store conformance, by SPEC.md clause")
        write(self.settings_line())
        width = max(
            (getattr(terminalreporter, "_tw", None) and terminalreporter._tw.fullwidth) or 0, 100
        )
        for store in dict.fromkeys(row["store"] for row in rows):
            mine = [row for row in rows if row["store"] == store]
            counts: dict[str, int] = defaultdict(int)
            for row in mine:
                counts[row["status"]] += 1
            ttl = self.ttl_modes.get(store, "")
            write(
                f"{store}: "
                + ", ".join(f"{n} {s}" for s, n in counts.items())
                + (f"  (TTL clauses: {ttl})" if ttl else "")
            )
            for row in mine:
                mark = _MARKS[row["status"]]
                detail = ""
                # A pass is shown with its reason only when it is partial (parts not tried).
                shown = row["status"] != "pass" or row["reason"].startswith("partial: ")
                if row["reason"] and shown:
                    detail = "  " + shorten(row["reason"], max(width - 40, 60))
                colour = {
                    "red": mark in ("FAIL", "ERROR"),
                    "yellow": mark in ("WARN", "STALE", "XFAIL", "BLOCKED"),
                }
                terminalreporter.write(f"  {mark:6} {row['level']:6} {row['clause']:22}", **colour)
                if row["through"]:
                    detail = f"  [through the {row['through']}]{detail}"
                write(detail)
                if row["rerun"]:
                    write(f"{'':38}rerun alone: {row['rerun']}")

    def settings(self) -> dict[str, Any]:
        from ..contract import settings_from

        return dict(settings_from(self.config).__dict__)

    def settings_line(self) -> str:
        chosen = self.settings()
        return (
            f"races: {chosen['race_rounds']} rounds of {chosen['race_concurrency']} concurrent calls; "
            f"MODEL-SEQUENCES: {chosen['examples']} generated sequences, "
            f"seed {chosen['seed']} (--conformance-seed {chosen['seed']} replays them)"
        )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        if hasattr(self.config, "workerinput"):
            yield
            return
        rows = self.summary()
        if (
            self.config.getoption("conformance_strict_baseline")
            and any(row["status"] == "stale" for row in rows)
            and session.exitstatus == pytest.ExitCode.OK
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.write_files(rows)
        yield

    def write_files(self, rows: list[dict[str, Any]]) -> None:
        from reference_stores import __version__

        stores = [{"store": t.label, "source": t.source} for t in self.targets]
        counts: dict[str, int] = defaultdict(int)
        for row in rows:
            counts[row["status"]] += 1
        document = {
            "kit_version": __version__,
            "spec_version": SPEC_VERSION,
            "verdict": "fail" if self.failed(rows) else "pass",
            "counts": dict(counts),
            "settings": self.settings(),
            "stores": stores,
            "results": rows,
        }
        path = self.config.getoption("conformance_report")
        if path:
            Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            self.written.append(f"JSON report written to {path}")
        folder = self.config.getoption("conformance_repro_dir")
        if folder:
            target = Path(folder)
            target.mkdir(parents=True, exist_ok=True)
            scripts = 0
            for row in rows:
                if row["repro"]:
                    name = file_name(row["store"], row["clause"])
                    (target / name).write_text(row["repro"], encoding="utf-8")
                    scripts += 1
            self.written.append(
                f"{scripts} repro script{'' if scripts == 1 else 's'} written to {folder}"
                if scripts
                else f"no clause failed with a repro, so none was written to {folder}"
            )
        page = self.config.getoption("conformance_html")
        if page:
            from .html import matrix_page

            Path(page).write_text(matrix_page(document), encoding="utf-8")
            self.written.append(f"HTML matrix written to {page}")
        badge = self.config.getoption("conformance_badge")
        if badge:
            self.write_badges(badge, rows)

    def write_badges(self, path: str, rows: list[dict[str, Any]]) -> None:
        from .badge import badge_figures, badge_svg

        stores = list(dict.fromkeys(row["store"] for row in rows))
        if len(stores) != 1 and "{store}" not in path:
            self.written.append(
                f"no badge written to {path}: a badge shows one store and "
                f"{len(stores)} were judged (put {{store}} in the path for one each)"
            )
            return
        for store in stores:
            figures = badge_figures([row for row in rows if row["store"] == store], len(CLAUSES))
            file = Path(path.replace("{store}", safe_file_part(store)))
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(badge_svg(SPEC_VERSION, figures), encoding="utf-8")
            self.written.append(
                f"badge written to {file} (SPEC {SPEC_VERSION}, "
                f"{figures['passed']}/{figures['applicable']}, {figures['verdict']})"
            )
