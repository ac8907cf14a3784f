"""The pytest plugin: ``pytest --store=TARGET`` runs the contract suite against TARGET.

Registered through the ``pytest11`` entry point. Without a store named it adds
nothing but the per-clause summary for suites users subclass themselves.
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import shlex
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from .clauses import CLAUSES, SPEC_VERSION, clause_by_id
from .repro import shorten

ENV_STORE = "MCP_SESSION_STORE"
_TARGETS = pytest.StashKey[list[Any]]()
_SOURCE = pytest.StashKey[str]()
_BASELINE = pytest.StashKey[frozenset[str]]()
_SUITE_CLASS = "TestSessionStoreConformance"

# "blocked": not judged because a clause it leans on fails; neither a pass nor a second failure.
_STATUS_ORDER = ("fail", "error", "blocked", "warn", "expected-fail", "pass", "n/a")


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
        "--clause",
        action="append",
        default=[],
        metavar="ID",
        help="run only the tests of clause ID (a glob such as 'TTL-*' selects a section); "
        "repeatable. -k matches clause ids too",
    )
    group.addoption(
        "--failing-store-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="options that point the store at a backend that is down, for the ERR-BACKEND clause; repeatable",
    )
    group.addoption(
        "--conformance-strict-dynamodb",
        metavar="UPSTREAM_URL",
        help="start a strict DynamoDB endpoint in front of the emulator at UPSTREAM_URL (stale "
        "eventually consistent reads, DynamoDB's limits, throttling); {strict_dynamodb} in a "
        "--store-option value is its address",
    )
    group.addoption(
        "--conformance-faulty-redis",
        metavar="UPSTREAM_URL",
        help="start a fault-injecting relay in front of the Redis at UPSTREAM_URL (dropped and "
        "late replies, -READONLY, -LOADING); {faulty_redis} in a --store-option value is its address",
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
        "--conformance-html",
        metavar="FILE",
        help="write the results as one self-contained HTML page: stores as columns, clauses as rows",
    )
    group.addoption(
        "--conformance-repro-dir",
        metavar="DIR",
        help="write the repro script of each failed clause into DIR, one file per store and clause",
    )
    group.addoption(
        "--conformance-baseline",
        metavar="FILE",
        help="clause ids expected to fail, one per line; those that pass are reported stale",
    )
    group.addoption(
        "--conformance-strict-baseline",
        action="store_true",
        help="fail the run when a baseline entry is stale (its clause passes now)",
    )
    group.addoption(
        "--conformance-seed",
        type=int,
        metavar="N",
        help="seed of MODEL-SEQUENCES' generated sequences (each run prints the one it used)",
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


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance_clause(id): the SPEC.md clause this test checks"
    )
    config.pluginmanager.register(ConformanceReport(config), "session-store-conformance-report")
    config.stash[_BASELINE] = _read_baseline(config.getoption("conformance_baseline"))
    _choose_seed(config)
    from .strict_backends.run import start_for_run

    addresses = start_for_run(config)  # before the options, whose placeholders name them
    for pattern in config.getoption("clause"):
        if not any(_clause_matches(clause.id, pattern) for clause in CLAUSES):
            raise pytest.UsageError(
                f"--clause {pattern}: no clause of SPEC.md matches it "
                "(ids look like GET-EXPIRED; 'TTL-*' selects every clause starting TTL-)"
            )
    from . import suite

    suite_path = str(Path(suite.__file__))
    picked = _suite_selections(config, suite_path)
    specs, source = _chosen_targets(config)
    if not specs and picked:
        # A FAILED node id pasted back on its own: its brackets name the store.
        specs, source = list(dict.fromkeys(picked)), "the node id"
    if not specs:
        return
    from .targets import StoreTarget, TargetError, parse_store_option, resolve_target

    try:
        raw_options = config.getoption("store_option") or config.getini("session_store_options")
        options = dict(parse_store_option(text, addresses) for text in raw_options)
        failing_raw = config.getoption("failing_store_option")
        failing = (
            dict(parse_store_option(text, addresses) for text in failing_raw)
            if failing_raw
            else None
        )
        cwd = config.invocation_params.dir
        targets = []
        for spec in specs:
            factory = resolve_target(spec, node_runner=config.getoption("node_runner"), cwd=cwd)
            targets.append(StoreTarget(spec, source, factory, options, failing))
    except TargetError as error:
        raise pytest.UsageError(str(error)) from None
    if not hasattr(config, "workerinput"):  # the controller checks once, for every worker
        from .setup_check import setup_problem

        for target in targets:
            problem = setup_problem(target)
            if problem:
                raise pytest.UsageError(problem)
    labels = [target.label for target in targets]
    if len(set(labels)) != len(labels):
        raise pytest.UsageError(f"--store names the same target twice: {', '.join(labels)}")
    config.stash[_TARGETS] = targets
    config.stash[_SOURCE] = source
    if picked:  # node ids of the suite were given: run those, not the whole suite
        return
    if source == "--store" and config.args_source != pytest.Config.ArgsSource.ARGS:
        # An explicit --store without test paths: the user asked for the suite alone.
        config.args[:] = [suite_path]
        # pytest-asyncio warns about the user's own settings, which this run does not use.
        warnings.filterwarnings(
            "ignore", message=".*asyncio_default_fixture_loop_scope.*", category=DeprecationWarning
        )
    else:  # paths given, or a fallback chose the store: the suite joins the user's own tests
        config.args.append(suite_path)


def _suite_selections(config: pytest.Config, suite_path: str) -> list[str]:
    """Point node ids of the suite (as FAILED lines print them) at its file; the stores they name.

    Outside the rootdir the suite's node ids start with ``::``, which pytest cannot resolve.
    """
    stores = []
    base = Path(config.invocation_params.dir)
    for index, arg in enumerate(config.args):
        path, sep, rest = arg.partition("::")
        if not sep or not rest.startswith(_SUITE_CLASS):
            continue
        if path and (base / path).resolve() != Path(suite_path).resolve():
            continue
        config.args[index] = f"{suite_path}::{rest}"
        if rest.endswith("]") and "[" in rest:
            stores.append(rest[rest.index("[") + 1 : -1])
    return stores


def _choose_seed(config: pytest.Config) -> None:
    """One seed per run, the same on every xdist worker, printed so a run can be replayed."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "conformance_seed" in workerinput:
        config.option.conformance_seed = workerinput["conformance_seed"]
    elif getattr(config.option, "conformance_seed", None) is None:
        config.option.conformance_seed = random.randrange(2**32)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["conformance_seed"] = node.config.option.conformance_seed


def _clause_matches(clause_id: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(clause_id, pattern.strip().upper())


def pytest_itemcollected(item: pytest.Item) -> None:
    marker = item.get_closest_marker("conformance_clause")
    if marker is not None:  # -k GET-EXPIRED selects the clause's tests
        item.extra_keyword_matches.add(str(marker.args[0]))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    patterns = config.getoption("clause")
    if not patterns:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("conformance_clause")
        chosen = marker is not None and any(
            _clause_matches(str(marker.args[0]), pattern) for pattern in patterns
        )
        (kept if chosen else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def rerun_command(item: pytest.Item, clause_id: str) -> str:
    """The command that runs one clause of one store alone, as the user can paste it."""
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("session_store_target") if callspec is not None else None
    if target is None:  # a suite the user subclassed: its file, one clause
        path = str(item.path)
        with_file = os.path.relpath(path, item.config.invocation_params.dir)
        return f"pytest {shlex.quote(with_file)} --clause {clause_id}"
    from .strict_backends.placeholders import restore
    from .strict_backends.run import active_addresses

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
            f"not applicable (no {builder.ttl_parameter} parameter)"
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
    command = rerun_command(item, clause.id)
    item.user_properties.append(("conformance_rerun", command))
    report.user_properties.append(("conformance_rerun", command))
    line = f"{clause.id} ({level}) violated; rerun alone: {command}"
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and hasattr(crash, "message"):
        crash.message = line  # what pytest's FAILED line shows
    elif isinstance(report.longrepr, str):
        report.longrepr = _ClauseFailure(report.longrepr, line)
    if level == "SHOULD":
        report.outcome = "skipped"
        report.wasxfail = f"SHOULD not met: {first_line}"
    elif clause.id in item.config.stash.get(_BASELINE, frozenset()):
        report.outcome = "skipped"
        report.wasxfail = f"baseline: {first_line}"


class _CrashLine:
    def __init__(self, message: str) -> None:
        self.message = message


class _ClauseFailure:
    """A failure's text whose one-line form (pytest's FAILED line) ends with the rerun command."""

    def __init__(self, text: str, line: str) -> None:
        self.text = text
        self.reprcrash = _CrashLine(line)

    def toterminal(self, out: Any) -> None:
        for line in self.text.splitlines():
            out.line(line)

    def __str__(self) -> str:
        return self.text


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
                reason = _first_line(report)
            elif hasattr(report, "wasxfail"):
                status = "warn" if report.wasxfail.startswith("SHOULD") else "expected-fail"
                reason = report.wasxfail
            elif properties.get("conformance_status") == "blocked":
                status = "blocked"
                reason = _skip_reason(report)
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
        self.results[store][clause_id].append(
            {
                "status": status,
                "reason": _clean_reason(reason, clause_id),
                "test": report.nodeid,
                "repro": str(properties.get("conformance_repro", "")),
                "rerun": str(properties.get("conformance_rerun", "")),
            }
        )

    def summary(self) -> list[dict[str, Any]]:
        from .strict_backends.run import through

        rows = []
        baseline = self.config.stash.get(_BASELINE, frozenset())
        options = {t.label: t.options for t in self.config.stash.get(_TARGETS, [])}
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
        stale = [row for row in rows if row["status"] == "stale"]
        if stale and self.config.getoption("conformance_strict_baseline"):
            write(
                f"--conformance-strict-baseline: {len(stale)} stale baseline "
                f"entr{'y' if len(stale) == 1 else 'ies'} fail the run",
                red=True,
            )

    def settings(self) -> dict[str, Any]:
        from .contract import settings_from

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

        stores = [
            {"store": t.label, "source": t.source} for t in self.config.stash.get(_TARGETS, [])
        ]
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
        folder = self.config.getoption("conformance_repro_dir")
        if folder:
            target = Path(folder)
            target.mkdir(parents=True, exist_ok=True)
            for row in rows:
                if row["repro"]:
                    name = f"{_file_part(row['store'])}__{row['clause']}.py"
                    (target / name).write_text(row["repro"], encoding="utf-8")
        page = self.config.getoption("conformance_html")
        if page:
            from .html_report import matrix_page

            Path(page).write_text(matrix_page(document), encoding="utf-8")


def _file_part(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def _clean_reason(reason: str, clause_id: str) -> str:
    for prefix in (f"n/a: {clause_id}: ", "baseline: ", "SHOULD not met: ", "problem: "):
        if reason.startswith(prefix):
            reason = reason[len(prefix) :]
    return reason.removeprefix("problem: ")


def _first_line(report: pytest.TestReport) -> str:
    lines = str(report.longrepr or "").strip().splitlines()
    problem = next((line for line in lines if line.startswith("problem: ")), None)
    return problem or (lines[0] if lines else "")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")
