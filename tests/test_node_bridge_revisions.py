"""Revisions over the Node bridge: the record's revision, updateSession's { expectedRevision },
RevisionConflictError with its currentRevision, and the supportsRevisions declaration."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kit_runs import KitRun, kit_run_once, run_pytest

from conformance import CLAUSES
from conformance.node_bridge import NodeSessionStore, node_store_target
from reference_stores.errors import RevisionConflictError, SessionStoreError

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/js/memory-store.js"
ECHO = "tests/js_stores/bridge-revisions.mjs"
RACY = "tests/js_stores/read-then-write-revision.mjs:ReadThenWriteStore"
REVISION_CLAUSES = [clause.id for clause in CLAUSES if clause.section == "Revisions"]

T = TypeVar("T")


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def target(spec: str) -> Callable[..., Any]:
    return node_store_target(spec, cwd=REPO)


async def calls_seen(store: NodeSessionStore) -> list[dict[str, Any]]:
    record = await store.get_session("calls")
    assert record is not None
    calls: list[dict[str, Any]] = record.data["calls"]
    return calls


def test_a_record_carries_its_revision() -> None:
    async def scenario() -> list[Any]:
        async with target(EXAMPLE)() as store:
            seen = []
            await store.create_session("s", {"v": 0})
            for updates in ({"data": {"v": 1}}, {}, {"data": {"v": 1}}):
                seen.append((await store.get_session("s")).revision)  # type: ignore[union-attr]
                await store.update_session("s", updates)
            seen.append((await store.get_session("s")).revision)  # type: ignore[union-attr]
            return seen

    revisions = run(scenario())
    assert revisions == [1, 2, 2, 3]
    assert all(type(revision) is int for revision in revisions)


def test_expected_revision_reaches_the_store_as_an_options_object_only_when_given() -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with target(f"{ECHO}:EchoRevisionStore")() as store:
            await store.update_session("s", {"data": {}})
            await store.update_session("s", {"data": {}}, expected_revision=None)
            await store.update_session("s", {}, expected_revision=3)
            await store.update_session("s", {}, expected_revision=True)
            await store.update_session("s", {}, expected_revision=2**60)
            return await calls_seen(store)

    assert run(scenario()) == [
        {"argumentCount": 2, "options": "undefined", "type": "undefined"},
        {"argumentCount": 2, "options": "undefined", "type": "undefined"},
        {"argumentCount": 3, "options": {"expectedRevision": 3}, "type": "number"},
        {"argumentCount": 3, "options": {"expectedRevision": True}, "type": "boolean"},
        {"argumentCount": 3, "options": {"expectedRevision": 2**60}, "type": "bigint"},
    ]


def test_a_float_with_an_integral_value_is_refused_before_it_reaches_the_store() -> None:
    # JavaScript would get the integer 1: the store could never refuse it.
    async def scenario() -> list[dict[str, Any]]:
        async with target(f"{ECHO}:EchoRevisionStore")() as store:
            with pytest.raises(TypeError, match=r"not float \(1\.0\): JavaScript has one number"):
                await store.update_session("s", {}, expected_revision=1.0)
            await store.update_session("s", {}, expected_revision=1.5)  # the store judges this one
            return await calls_seen(store)

    assert run(scenario()) == [
        {"argumentCount": 3, "options": {"expectedRevision": 1.5}, "type": "number"}
    ]


@pytest.mark.parametrize(
    ("session_id", "current"),
    [
        ("conflict-3", 3),
        ("conflict-null", None),
        ("conflict-absent", None),
        ("conflict-big", 2**60),
        ("conflict-by-class", 5),
    ],
)
def test_a_revision_conflict_maps_by_name_with_its_current_revision(
    session_id: str, current: int | None
) -> None:
    async def scenario() -> RevisionConflictError:
        async with target(f"{ECHO}:EchoRevisionStore")() as store:
            with pytest.raises(RevisionConflictError) as caught:
                await store.update_session(session_id, {}, expected_revision=1)
            return caught.value

    error = run(scenario())
    assert isinstance(error, SessionStoreError)
    assert error.current_revision == current
    assert type(error.current_revision) is type(current)
    assert "JavaScript stack:" in str(error)


@pytest.mark.parametrize(
    ("export", "declared"),
    [
        ("EchoRevisionStore", True),  # static on its class
        ("DeclinesRevisionsStore", False),  # a subclass's static overrides its parent's
        ("InstanceRevisionsStore", True),  # the object's own property comes first
        ("makeRevisionStore", True),  # static on the factory function
        ("UndeclaredStore", None),
    ],
)
def test_supports_revisions_is_read_off_the_store_its_class_or_the_export(
    export: str, declared: bool | None
) -> None:
    async def scenario() -> Any:
        async with target(f"{ECHO}:{export}")() as store:
            return getattr(store, "supports_revisions", None)

    assert run(scenario()) is declared


def test_the_example_declares_revisions() -> None:
    async def scenario() -> Any:
        async with target(EXAMPLE)() as store:
            return store.supports_revisions

    assert run(scenario()) is True


def test_calls_started_together_start_in_one_tick_of_the_host() -> None:
    # Each batch of calls gathered in Python starts in one synchronous run of the host, so a
    # JavaScript store that awaits between a read and a write is raced in every round.
    async def scenario() -> list[int]:
        async with target(f"{ECHO}:EchoRevisionStore")() as store:
            for _ in range(10):
                await asyncio.gather(*(store.session_exists(f"id{n}") for n in range(16)))
            record = await store.get_session("ticks")
            assert record is not None
            ticks: list[int] = record.data["ticks"]
            return ticks

    assert run(scenario()) == [16] * 10


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    return kit_run_once(
        tmp_path_factory,
        "node-revisions",
        lambda folder: run_pytest(
            folder,
            f"--store=node:{REPO / EXAMPLE}",
            f"--store=node:{REPO / RACY}",
            "--conformance-race-rounds=5",
            "-k",
            "revision or winner or refused",
            "-q",
        ),
    )


def test_the_javascript_example_passes_every_revision_clause(verdicts: KitRun) -> None:
    statuses = verdicts.statuses(f"node:{REPO / EXAMPLE}")
    assert {clause: statuses.get(clause) for clause in REVISION_CLAUSES} == dict.fromkeys(
        REVISION_CLAUSES, "pass"
    )


def test_a_javascript_read_then_write_check_fails_the_race_in_its_first_round(
    verdicts: KitRun,
) -> None:
    statuses = verdicts.statuses(f"node:{REPO / RACY}")
    assert {clause: statuses.get(clause) for clause in REVISION_CLAUSES} == {
        **dict.fromkeys(REVISION_CLAUSES, "pass"),
        "REV-RACE": "fail",
    }
    assert (
        "round 0: 8 of 8 concurrent conditional update_session calls at revision 1 "
        "succeeded" in verdicts.output
    )
