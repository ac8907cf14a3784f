"""A MODEL-SEQUENCES repro holds exactly the calls the store saw, numbered as the suite counts."""

from __future__ import annotations

from conformance.repro.log import Call, ReproLog
from conformance.repro.script import Target, render

IDS = ["model-a-0", "model-a-1", "model-a-2"]
SEQUENCE = [
    ("create_session", 0, {"a": "1"}),
    ("create_session", 0, {"skipped": "yes"}),  # a create over a live session, left out
    ("advance", 0, 4.0),
    ("update_session", 0, {"data": {"b": "2"}}),
    ("get_session", 0, None),
]


def _recorded(skipped: frozenset[int]) -> ReproLog:
    log = ReproLog()
    log.replace_with_sequence(SEQUENCE, IDS, 10, True, skipped)
    return log


def test_a_step_the_suite_skipped_is_not_in_the_repro() -> None:
    calls = [step for step in _recorded(frozenset({1})).steps if isinstance(step, Call)]
    assert [(call.method, call.step) for call in calls] == [
        ("create_session", 1),
        ("get_session", 1),
        ("update_session", 4),
        ("get_session", 4),
        ("get_session", 5),
    ]
    assert all(call.args[-1] != {"skipped": "yes"} for call in calls)


def test_without_skipped_steps_every_step_is_replayed() -> None:
    calls = [step for step in _recorded(frozenset()).steps if isinstance(step, Call)]
    assert [call.step for call in calls] == [1, 1, 2, 2, 4, 4, 5]


def test_the_script_names_each_step_before_its_calls() -> None:
    script = render(
        log=_recorded(frozenset({1})),
        clause_id="MODEL-SEQUENCES",
        clause_level="MUST",
        clause_text="text",
        problem="step 5 of a generated sequence: get_session returned None",
        label="Store",
        target=Target(("from somewhere import Store",), "Store", {}),
        kit_version="0",
    )
    body = script.split("async def main", 1)[1]
    assert "check.step(1)" in body
    assert "check.step(4)" in body
    assert "check.step(5)" in body
    assert "check.step(2)" not in body
    assert "'skipped'" not in body
    assert body.index("check.step(4)") < body.index("'update_session'")
