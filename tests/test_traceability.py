"""SPEC.md, the suite and the broken stores name the same clauses, and each clause is tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from broken_stores import BROKEN_STORES, WARNING_STORES

from conformance import CLAUSES, SessionStoreContract, clause_by_id
from conformance.clauses import prerequisites
from conformance.runner import ScenarioInfo, scenarios_of

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "SPEC.md"
CLAUSE_HEADING = re.compile(r"^#### ([A-Z0-9-]+) · (MUST|SHOULD)$")
LEANS_ON = re.compile(r"^\*Leans on:\* (.+)\.$")

# Clauses whose failing store is proven outside broken_stores.py: test file -> test name.
PROVEN_ELSEWHERE = {
    "IFACE-METHODS": (
        "test_plugin_cli.py",
        "test_a_subclass_with_a_non_async_method_fails_iface_methods",
    ),
    "ERR-BACKEND": (
        "test_suite_catches_broken_stores.py",
        "test_backend_errors_turned_into_none_fail_err_backend",
    ),
}
# Invisible through the interface: checked on raw records by the text-backed stores' own tests.
CHECKED_BY_STORE_TESTS = {"TIME-TEXT-FORMAT"}


def spec_clauses() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    lines = SPEC.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        match = CLAUSE_HEADING.match(line)
        if match:
            assert match.group(1) not in found, f"SPEC.md states {match.group(1)} twice"
            found[match.group(1)] = (match.group(2), lines[index + 1])
    return found


def suite_scenarios() -> dict[str, ScenarioInfo]:
    return scenarios_of(SessionStoreContract)


def spec_leans_on() -> dict[str, tuple[str, ...]]:
    """Each clause's *Leans on* line, read from its block of SPEC.md."""
    found: dict[str, tuple[str, ...]] = {}
    current = None
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        heading = CLAUSE_HEADING.match(line)
        if heading:
            current = heading.group(1)
            found[current] = ()
        elif line.startswith("#"):
            current = None
        elif current is not None and (leans := LEANS_ON.match(line)):
            found[current] = tuple(part.strip("` ") for part in leans.group(1).split(","))
    return found


def suite_tests() -> dict[str, list[str]]:
    by_clause: dict[str, list[str]] = {}
    for name in dir(SessionStoreContract):
        clause = getattr(getattr(SessionStoreContract, name), "_conformance_clause", None)
        if clause is not None:
            by_clause.setdefault(clause.id, []).append(name)
    return by_clause


def test_spec_and_the_suite_state_the_same_clauses_word_for_word() -> None:
    stated = spec_clauses()
    assert list(stated) == [clause.id for clause in CLAUSES]
    for clause in CLAUSES:
        assert stated[clause.id] == (clause.level, clause.text), clause.id


def test_spec_and_the_suite_state_the_same_dependencies() -> None:
    stated = spec_leans_on()
    for clause in CLAUSES:
        assert stated[clause.id] == clause.leans_on, clause.id


def test_dependencies_name_clauses_and_never_come_back_round() -> None:
    for clause in CLAUSES:
        for other in clause.leans_on:
            clause_by_id(other)
        assert clause.id not in prerequisites(clause.id), clause.id
    for members in suite_scenarios().values():
        for other in (*members.needs, *members.consults):
            clause_by_id(other)
            assert members.clause.id not in (other, *prerequisites(other)), members.name


@pytest.mark.parametrize("clause", [c.id for c in CLAUSES])
def test_every_clause_has_a_suite_test(clause: str) -> None:
    assert suite_tests().get(clause), f"no test in the suite checks {clause}"


@pytest.mark.parametrize("clause", [c.id for c in CLAUSES])
def test_every_clause_has_a_store_that_fails_it(clause: str) -> None:
    if clause in CHECKED_BY_STORE_TESTS:
        mentions = [
            p.name
            for p in (ROOT / "tests").glob("test_store_*.py")
            if clause in p.read_text(encoding="utf-8")
        ]
        assert mentions, f"no store test checks {clause} on raw records"
        return
    if clause in PROVEN_ELSEWHERE:
        file_name, test_name = PROVEN_ELSEWHERE[clause]
        assert f"def {test_name}(" in (ROOT / "tests" / file_name).read_text(encoding="utf-8")
        return
    assert clause in {*BROKEN_STORES.values(), *WARNING_STORES.values()}, (
        f"no broken store proves the suite fails {clause}"
    )


def test_every_clause_id_named_in_the_tests_exists() -> None:
    known = {clause.id for clause in CLAUSES}
    named = {
        *BROKEN_STORES.values(),
        *WARNING_STORES.values(),
        *PROVEN_ELSEWHERE,
        *CHECKED_BY_STORE_TESTS,
    }
    assert named <= known
    assert set(suite_tests()) <= known
