"""Runs contract scenarios and turns what happened into a pytest outcome that names the clause."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from .clauses import Clause, clause_by_id
from .targets import StoreBuilder, TargetError
from .trial import ClauseViolation, NotApplicable, Trial

__all__ = ["Kit", "Outcome", "Settings", "contract_test"]

Scenario = Callable[[Trial], Awaitable[None]]
Status = Literal["pass", "fail", "n/a"]


@dataclass(frozen=True)
class Settings:
    race_rounds: int = 20
    race_concurrency: int = 8
    scenario_timeout: float = 60.0
    examples: int = 60


@dataclass
class Outcome:
    status: Status
    message: str = ""
    level: str | None = None
    notes: list[str] = field(default_factory=list)


def contract_test(
    clause_id: str, *, ttl: bool = False
) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """Mark an ``async def scenario(self, trial)`` method as the test of one clause.

    The test pytest sees is a plain function that runs the scenario in a new
    event loop, so the suite works with or without any async plugin.
    """
    clause = clause_by_id(clause_id)

    def decorate(scenario: Callable[..., Awaitable[None]]) -> Any:
        def test(self: Any, session_store_kit: Kit) -> None:
            session_store_kit.run(
                scenario.__name__, clause, lambda trial: scenario(self, trial), ttl=ttl
            )

        test.__name__ = scenario.__name__
        test.__qualname__ = scenario.__qualname__
        test.__doc__ = scenario.__doc__ or clause.text
        test._conformance_scenario = scenario  # type: ignore[attr-defined]
        test._conformance_ttl = ttl  # type: ignore[attr-defined]
        test._conformance_clause = clause  # type: ignore[attr-defined]
        return pytest.mark.conformance_clause(clause.id)(test)

    return decorate


class Kit:
    """The per-test handle a contract test uses: the store's builder and the suite's settings."""

    def __init__(
        self,
        *,
        key: str,
        builder: StoreBuilder,
        failing_builder: StoreBuilder | None,
        settings: Settings,
        contract: Any,
        batch_cache: dict[str, dict[str, Outcome]],
        item: pytest.Item,
    ) -> None:
        self.key = key
        self.builder = builder
        self.failing_builder = failing_builder
        self.settings = settings
        self.contract = contract
        self._batch_cache = batch_cache
        self._item = item

    def ttl_mode(self) -> str:
        if not self.builder.accepts_ttl:
            return "n/a: the target does not accept ttl_seconds"
        return "fake clock" if self.builder.accepts_clock else "real time"

    def run(self, name: str, clause: Clause, scenario: Scenario, *, ttl: bool) -> None:
        self._item.user_properties.append(("conformance_ttl", self.ttl_mode()))
        if ttl and not self.builder.accepts_ttl:
            outcome = Outcome(
                "n/a", "the target does not accept ttl_seconds, so TTL clauses cannot be checked"
            )
        elif ttl and not self.builder.accepts_clock:
            outcome = self._real_time_batch()[name]
        else:
            outcome = asyncio.run(
                execute(
                    self.builder,
                    clause,
                    scenario,
                    self.settings,
                    use_ttl=ttl,
                    failing=self.failing_builder,
                )
            )
        report(self._item, clause, outcome)

    def _real_time_batch(self) -> dict[str, Outcome]:
        # Without a clock every TTL scenario has to wait for real; running them all
        # at once costs one wait instead of one per clause.
        if self.key not in self._batch_cache:
            scenarios = {
                name: (member._conformance_clause, member._conformance_scenario)
                for name in dir(type(self.contract))
                if getattr(member := getattr(type(self.contract), name), "_conformance_ttl", False)
            }

            async def run_all() -> dict[str, Outcome]:
                names = list(scenarios)
                results = await asyncio.gather(
                    *(
                        execute(
                            self.builder,
                            scenarios[name][0],
                            _bind(scenarios[name][1], self.contract),
                            self.settings,
                            use_ttl=True,
                            failing=self.failing_builder,
                        )
                        for name in names
                    )
                )
                return dict(zip(names, results, strict=True))

            self._batch_cache[self.key] = asyncio.run(run_all())
        return self._batch_cache[self.key]


def _bind(scenario: Callable[..., Awaitable[None]], contract: Any) -> Scenario:
    return lambda trial: scenario(contract, trial)


async def execute(
    builder: StoreBuilder,
    clause: Clause,
    scenario: Scenario,
    settings: Settings,
    *,
    use_ttl: bool,
    failing: StoreBuilder | None = None,
) -> Outcome:
    """Run one scenario to an outcome; never raises for what the store did."""
    outcome: Outcome
    trial: Trial | None = None
    try:
        async with AsyncExitStack() as stack:
            trial = Trial(builder, clause, stack, use_ttl=use_ttl, settings=settings.__dict__)
            trial.failing_builder = failing
            trial.start()
            try:
                await asyncio.wait_for(scenario(trial), settings.scenario_timeout)
            except NotApplicable as reason:
                outcome = Outcome("n/a", str(reason))
            except ClauseViolation as violation:
                outcome = Outcome(
                    "fail", _failure(clause, str(violation), trial), trial.level_override
                )
            except AssertionError as error:
                detail = str(error) or "an assertion failed"
                outcome = Outcome("fail", _failure(clause, detail, trial), trial.level_override)
            except asyncio.TimeoutError:
                outcome = Outcome(
                    "fail",
                    _failure(
                        clause,
                        f"the scenario got no answer within {settings.scenario_timeout:g} s",
                        trial,
                    ),
                )
            except TargetError as error:
                outcome = Outcome("fail", f"cannot build the store: {error}")
            except Exception as error:
                problem = f"the store raised {type(error).__name__}: {error}\n" + "".join(
                    traceback.format_exception(type(error), error, error.__traceback__)[-6:]
                )
                outcome = Outcome("fail", _failure(clause, problem, trial), trial.level_override)
            else:
                outcome = Outcome("pass")
            await _delete_created(trial)
    except Exception as error:  # closing the store failed
        if trial is None:
            raise
        problem = f"closing the store raised {type(error).__name__}: {error}"
        if outcome.status == "pass":
            outcome = Outcome("fail", _failure(clause, problem, trial))
    if trial is not None:
        outcome.notes = trial.notes()
        if outcome.status == "fail" and outcome.notes:
            outcome.message += "\nnote: " + "\nnote: ".join(outcome.notes)
    return outcome


async def _delete_created(trial: Trial) -> None:
    """Leave nothing behind on a shared backend: delete every id the scenario made up."""
    stores = [store for store, _raw in trial._stores]
    if not stores:
        return
    cleaner = stores[0].wrapped
    for session_id in dict.fromkeys(trial.created_ids):
        try:
            await asyncio.wait_for(cleaner.delete_session(session_id), 10)
        except Exception:  # the scenario's verdict stands; cleanup is best effort
            break


def _failure(clause: Clause, problem: str, trial: Trial) -> str:
    lines = [
        f"{clause.id} ({clause.level}) violated: {clause.text}",
        f"problem: {problem}",
        "operations that led to it (a repro):",
    ]
    lines.extend(f"    {line}" for line in trial.log or ["(none)"])
    return "\n".join(lines)


def report(item: pytest.Item, clause: Clause, outcome: Outcome) -> None:
    """Hand the outcome to pytest; the plugin's report hooks turn SHOULD failures into warnings."""
    if outcome.level:
        item.user_properties.append(("conformance_level", outcome.level))
    if outcome.status == "n/a":
        item.user_properties.append(("conformance_status", "n/a"))
        pytest.skip(f"n/a: {clause.id}: {outcome.message}")
    if outcome.status == "fail":
        pytest.fail(outcome.message, pytrace=False)
