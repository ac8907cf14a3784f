"""The pytest plugin: ``pytest --store=TARGET`` runs the contract suite against TARGET.

Registered through the ``pytest11`` entry point. Without a store named it adds
nothing but the per-clause summary for suites users subclass themselves.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections import defaultdict
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from .clauses import CLAUSES, SPEC_VERSION, clause_by_id

ENV_STORE = "MCP_SESSION_STORE"
_TARGETS = pytest.StashKey[list[Any]]()
_SOURCE = pytest.StashKey[str]()
_BASELINE = pytest.StashKey[frozenset[str]]()

_STATUS_ORDER = ("fail", "error", "warn", "expected-fail", "pass", "n/a")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("session-store-conformance", "MCP session store conformance (SPEC.md)")
    group.addoption(
        "--store",
        action="append",
        default=[],
        metavar="TARGET",
        help="run the contract suite against TARGET: a short name (memory, sqlite, redis, ...), "
        "MODULE:ATTRIBUTE, or node:PATH[:EXPORT]. Repeat for several stores. "
        f"Fallbacks: ${ENV_STORE}, then the ini option session_store.",
    )
    group.addoption(
        "--store-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword argument for the store (VALUE read as JSON when it parses, else a string); repeatable",
    )
    group.addoption(
        "--failing-store-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="options that point the store at a backend that is down, for the ERR-BACKEND clause; repeatable",
    )
    group.addoption(
        "--node-runner",
        metavar="COMMAND",
        help="run node:... stores through COMMAND (for example tsx, for TypeScript)",
    )
    group.addoption(
        "--conformance-report", metavar="FILE", help="write the per-clause results as JSON to FILE"
    )
    group.addoption(
        "--conformance-baseline",
        metavar="FILE",
        help="clause ids expected to fail, one per line; those that pass are reported stale",
    )
    group.addoption(
        "--conformance-race-rounds",
        type=int,
        metavar="N",
        help="rounds of each race clause (default 20)",
    )
    group.addoption(
        "--conformance-race-concurrency",
        type=int,
        metavar="N",
        help="concurrent calls per race round (default 8)",
    )
    group.addoption(
        "--conformance-timeout",
        type=float,
        metavar="SECONDS",
        help="time limit of one scenario (default 60)",
    )
    group.addoption(
        "--conformance-examples",
        type=int,
        metavar="N",
        help="generated examples for model-based clauses (default 60)",
    )
    parser.addini(
        "session_store", type="linelist", help="store targets to judge when --store is not given"
    )
    parser.addini(
        "session_store_options",
        type="linelist",
        help="KEY=VALUE store options when --store-option is not given",
    )


def _chosen_targets(config: pytest.Config) -> tuple[list[str], str]:
    given: list[str] = config.getoption("store")
    if given:
        return given, "--store"
    from_env = os.environ.get(ENV_STORE, "").split()
    if from_env:
        return from_env, f"${ENV_STORE}"
    from_ini: list[str] = config.getini("session_store")
    if from_ini:
        return from_ini, f"ini option session_store ({config.inipath})"
    return [], ""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance_clause(id): the SPEC.md clause this test checks"
    )
    config.pluginmanager.register(ConformanceReport(config), "session-store-conformance-report")
    config.stash[_BASELINE] = _read_baseline(config.getoption("conformance_baseline"))
    specs, source = _chosen_targets(config)
    if not specs:
        return
    from . import suite
    from .targets import StoreTarget, TargetError, parse_store_option, resolve_target

    try:
        raw_options = config.getoption("store_option") or config.getini("session_store_options")
        options = dict(parse_store_option(text) for text in raw_options)
        failing_raw = config.getoption("failing_store_option")
        failing = dict(parse_store_option(text) for text in failing_raw) if failing_raw else None
        cwd = config.invocation_params.dir
        targets = []
        for spec in specs:
            factory = resolve_target(spec, node_runner=config.getoption("node_runner"), cwd=cwd)
            targets.append(StoreTarget(spec, source, factory, options, failing))
        for target in targets:
            if not inspect.isclass(target.factory):
                asyncio.run(_probe(target))
    except TargetError as error:
        raise pytest.UsageError(str(error)) from None
    labels = [target.label for target in targets]
    if len(set(labels)) != len(labels):
        raise pytest.UsageError(f"--store names the same target twice: {', '.join(labels)}")
    config.stash[_TARGETS] = targets
    config.stash[_SOURCE] = source
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args.append(str(Path(suite.__file__)))
    else:  # testpaths or the current directory: the user asked for the suite alone
        config.args[:] = [str(Path(suite.__file__))]


async def _probe(target: Any) -> None:
    """Build one store and close it, so a factory that builds no store fails in one line."""
    from .targets import StoreBuilder, TargetError

    builder = StoreBuilder(target.factory, target.options)
    async with AsyncExitStack() as stack:
        try:
            await builder.open(stack)
        except TargetError as error:
            raise TargetError(f"--store={target.label}: {error}") from None
        except Exception as error:
            raise TargetError(
                f"--store={target.label}: building the store raised {type(error).__name__}: {error}"
            ) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from .suite import TestSessionStoreConformance

    if (
        metafunc.cls is TestSessionStoreConformance
        and "session_store_target" in metafunc.fixturenames
    ):
        targets = metafunc.config.stash.get(_TARGETS, [])
        metafunc.parametrize(
            "session_store_target", targets, ids=[t.label for t in targets], indirect=True
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    from reference_stores import __version__

    lines = [f"mcp-session-store-kit {__version__}, SPEC.md {SPEC_VERSION}"]
    for target in config.stash.get(_TARGETS, []):
        from .targets import StoreBuilder

        builder = StoreBuilder(target.factory, target.options)
        ttl = (
            "not applicable (no ttl_seconds parameter)"
            if not builder.accepts_ttl
            else "fake clock"
            if builder.accepts_clock
            else "real time (a few seconds of waiting)"
        )
        lines.append(f"store under test: {target.label} (from {target.source}); TTL clauses: {ttl}")
    return lines


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    marker = item.get_closest_marker("conformance_clause")
    if marker is None:
        yield
        return
    clause = clause_by_id(marker.args[0])
    if call.when == "setup":
        item.user_properties.append(("conformance_clause", clause.id))
        item.user_properties.append(("conformance_store", _store_label(item)))
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    level = dict(item.user_properties).get("conformance_level", clause.level)
    first_line = _first_line(report) or clause.id
    if level == "SHOULD":
        report.outcome = "skipped"
        report.wasxfail = f"SHOULD not met: {first_line}"
    elif clause.id in item.config.stash.get(_BASELINE, frozenset()):
        report.outcome = "skipped"
        report.wasxfail = f"baseline: {first_line}"


def _store_label(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "session_store_target" in callspec.params:
        return str(callspec.params["session_store_target"].label)
    cls = getattr(item, "cls", None)
    name = cls.__name__ if cls is not None else item.name
    return f"{name}[{callspec.id}]" if callspec is not None else name


def _read_baseline(path: str | None) -> frozenset[str]:
    if not path:
        return frozenset()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise pytest.UsageError(f"--conformance-baseline={path}: {error.strerror}") from None
    ids = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        clause_id = entry.split()[0]
        try:
            clause_by_id(clause_id)
        except KeyError:
            raise pytest.UsageError(
                f"--conformance-baseline={path}:{number}: no clause {clause_id!r} in SPEC.md"
            ) from None
        ids.add(clause_id)
    return frozenset(ids)


class ConformanceReport:
    """Collects per-clause results (also from xdist workers) and prints and writes them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: dict[str, dict[str, list[tuple[str, str, str]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.ttl_modes: dict[str, str] = {}

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
            elif report.failed:
                status = "fail"
                reason = _first_line(report)
            elif hasattr(report, "wasxfail"):
                status = "warn" if report.wasxfail.startswith("SHOULD") else "expected-fail"
                reason = report.wasxfail
            else:
                status = "n/a"
                reason = _skip_reason(report)
        elif report.failed:
            status = "error"
            reason = _first_line(report)
        elif report.skipped and report.when == "setup":
            status = "n/a"
            reason = _skip_reason(report)
        if status is None:
            return
        store = str(properties.get("conformance_store", "?"))
        if "conformance_ttl" in properties:
            self.ttl_modes[store] = properties["conformance_ttl"]
        self.results[store][clause_id].append((status, reason, report.nodeid))

    def summary(self) -> list[dict[str, Any]]:
        rows = []
        baseline = self.config.stash.get(_BASELINE, frozenset())
        for store, by_clause in self.results.items():
            for clause in CLAUSES:
                outcomes = by_clause.get(clause.id)
                if not outcomes:
                    continue
                statuses = [status for status, _reason, _node in outcomes]
                status = next(s for s in _STATUS_ORDER if s in statuses)
                reasons = [reason for s, reason, _node in outcomes if s == status and reason]
                if status == "pass" and "n/a" in statuses:
                    reasons = ["partly n/a: " + next(r for s, r, _n in outcomes if s == "n/a")]
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
                        "tests": [node for _s, _r, node in outcomes],
                    }
                )
        return rows

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        rows = self.summary()
        if not rows:
            return
        write = terminalreporter.write_line
        terminalreporter.section("session store conformance, by SPEC.md clause")
        write(self.settings_line())
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
                mark = {
                    "pass": "PASS",
                    "fail": "FAIL",
                    "error": "ERROR",
                    "warn": "WARN",
                    "n/a": "N/A",
                    "expected-fail": "XFAIL",
                    "stale": "STALE",
                }[row["status"]]
                detail = (
                    f"  {row['reason'][:110]}" if row["reason"] and row["status"] != "pass" else ""
                )
                colour = {
                    "red": mark in ("FAIL", "ERROR"),
                    "yellow": mark in ("WARN", "STALE", "XFAIL"),
                }
                terminalreporter.write(f"  {mark:6} {row['level']:6} {row['clause']:22}", **colour)
                write(detail)

    def settings(self) -> dict[str, Any]:
        from .contract import settings_from

        return dict(settings_from(self.config).__dict__)

    def settings_line(self) -> str:
        chosen = self.settings()
        return (
            f"races: {chosen['race_rounds']} rounds of {chosen['race_concurrency']} concurrent calls; "
            f"MODEL-SEQUENCES: {chosen['examples']} generated sequences"
        )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.config.getoption("conformance_report")
        if not path or hasattr(self.config, "workerinput"):
            return
        from reference_stores import __version__

        document = {
            "kit_version": __version__,
            "spec_version": SPEC_VERSION,
            "settings": self.settings(),
            "stores": [
                {"store": t.label, "source": t.source} for t in self.config.stash.get(_TARGETS, [])
            ],
            "results": self.summary(),
        }
        Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _first_line(report: pytest.TestReport) -> str:
    lines = str(report.longrepr or "").strip().splitlines()
    problem = next((line for line in lines if line.startswith("problem: ")), None)
    return problem or (lines[0] if lines else "")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")
