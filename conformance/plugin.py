"""The pytest plugin: ``pytest --store=TARGET`` runs the contract suite against TARGET.

Registered through the ``pytest11`` entry point. Without a store named it adds
nothing but the per-clause summary for suites users subclass themselves.
"""

from __future__ import annotations

import fnmatch
import os
import random
import warnings
from pathlib import Path
from typing import Any

import pytest

from .clauses import CLAUSES, SPEC_VERSION, clause_by_id
from .report import ConformanceReport
from .report.baseline import BASELINE, read_baseline
from .report.closing import ClosingLines
from .report.failures import ClauseFailure, first_line, rerun_command

ENV_STORE = "MCP_SESSION_STORE"
_TARGETS = pytest.StashKey[list[Any]]()
_SOURCE = pytest.StashKey[str]()
_SUITE_CLASS = "TestSessionStoreConformance"


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
        metavar="[TARGET:]KEY=VALUE",
        help="keyword argument for the store (VALUE read as JSON when it parses, else a string); "
        "repeatable. TARGET:KEY=VALUE gives it to the store whose --store value is TARGET alone",
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
        metavar="[TARGET:]KEY=VALUE",
        help="options that point the store at a backend that is down, for the ERR-BACKEND clause; "
        "repeatable; TARGET:KEY=VALUE for the store whose --store value is TARGET alone",
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
        "--conformance-badge",
        metavar="FILE.svg",
        help="write a conformance badge (SPEC version, clauses passed/applicable, coloured by "
        "verdict) for a README; with several stores, put {store} in FILE for one badge each",
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
    group.addoption(
        "--conformance-skip-heavy",
        action="store_true",
        help="report the heavy checks (10,000 live sessions, races with 64 KiB payloads) "
        "N/A instead of running them",
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
    report = ConformanceReport(config)
    config.pluginmanager.register(report, "session-store-conformance-report")
    config.pluginmanager.register(ClosingLines(report), "session-store-conformance-closing")
    config.stash[BASELINE] = read_baseline(config.getoption("conformance_baseline"))
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
    if len(set(specs)) != len(specs):
        raise pytest.UsageError(f"--store names the same target twice: {', '.join(specs)}")
    from .store_options import (
        failing_options_for,
        options_for,
        read_store_options,
        unscoped_problem,
    )
    from .targets import StoreTarget, TargetError, resolve_target

    try:
        raw_options = config.getoption("store_option") or config.getini("session_store_options")
        options = read_store_options(raw_options, specs, "--store-option", addresses)
        failing = read_store_options(
            config.getoption("failing_store_option"), specs, "--failing-store-option", addresses
        )
        cwd = config.invocation_params.dir
        factories = {
            spec: resolve_target(spec, node_runner=config.getoption("node_runner"), cwd=cwd)
            for spec in specs
        }
    except TargetError as error:
        raise pytest.UsageError(str(error)) from None
    for given, flag in ((options, "--store-option"), (failing, "--failing-store-option")):
        problem = unscoped_problem(given, factories, flag)
        if problem:
            raise pytest.UsageError(problem)
    targets = [
        StoreTarget(
            spec,
            source,
            factory,
            options_for(spec, options),
            failing_options_for(spec, failing),
        )
        for spec, factory in factories.items()
    ]
    if not hasattr(config, "workerinput"):  # the controller checks once, for every worker
        from .setup_check import setup_problem

        for target in targets:
            problem = setup_problem(
                target,
                show_log=config.getoption("verbose") > 0,
                one_of_several=len(targets) > 1,
            )
            if problem:
                raise pytest.UsageError(problem)
    badge = config.getoption("conformance_badge")
    if badge and len(targets) > 1 and "{store}" not in badge:
        raise pytest.UsageError(
            f"--conformance-badge={badge}: a badge shows one store and this run judges "
            f"{len(targets)}; put {{store}} in the path for one badge each "
            "(--conformance-badge=badges/{store}.svg)"
        )
    config.stash[_TARGETS] = targets
    report.targets = targets
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
        from .stores import StoreBuilder

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
    problem = first_line(report) or clause.id
    command = rerun_command(item, clause.id)
    item.user_properties.append(("conformance_rerun", command))
    report.user_properties.append(("conformance_rerun", command))
    line = f"{clause.id} ({level}) violated; rerun alone: {command}"
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and hasattr(crash, "message"):
        crash.message = line  # what pytest's FAILED line shows
    elif isinstance(report.longrepr, str):
        report.longrepr = ClauseFailure(report.longrepr, line)
    if level == "SHOULD":
        report.outcome = "skipped"
        report.wasxfail = f"SHOULD not met: {problem}"
    elif clause.id in item.config.stash.get(BASELINE, frozenset()):
        report.outcome = "skipped"
        report.wasxfail = f"baseline: {problem}"


def _store_label(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "session_store_target" in callspec.params:
        return str(callspec.params["session_store_target"].label)
    cls = getattr(item, "cls", None)
    name = cls.__name__ if cls is not None else item.name
    return f"{name}[{callspec.id}]" if callspec is not None else name
