"""Runs contract scenarios and turns what happened into a pytest outcome that names the clause."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from .clauses import Clause, clause_by_id, prerequisites
from .repro.script import file_name, script_for, terminal_view
from .stores import (
    StoreBuilder,
    TargetError,
    declared_not_applicable,
    read_declarations,
    revisions_not_kept,
)
from .trial import ClauseViolation, NotApplicable, Trial

__all__ = ["Kit", "Outcome", "Settings", "contract_test", "scenarios_of"]

Scenario = Callable[[Trial], Awaitable[None]]
_UNREAD: Any = object()
HEAVY_SKIPPED = (
    "a heavy check (thousands of sessions, or large payloads), skipped by --conformance-skip-heavy"
)
Status = Literal["pass", "fail", "n/a", "blocked"]


@dataclass(frozen=True)
class Settings:
    race_rounds: int = 20
    race_concurrency: int = 8
    scenario_timeout: float = 60.0
    examples: int = 60
    seed: int | None = None
    """The seed of MODEL-SEQUENCES' generated sequences; None lets Hypothesis choose."""
    skip_heavy: bool = False
    """Report checks marked heavy (``contract_test(..., heavy=True)``) N/A instead of running them."""


@dataclass
class Outcome:
    status: Status
    message: str = ""
    level: str | None = None
    notes: list[str] = field(default_factory=list)
    blocked_by: tuple[str, ...] = ()
    untried: list[str] = field(default_factory=list)
    """For a pass: the parts of the clause not tried on this store (a partial verdict)."""
    repro: str = ""


def contract_test(
    clause_id: str,
    *,
    ttl: bool = False,
    needs: tuple[str, ...] = (),
    consults: tuple[str, ...] = (),
    heavy: bool = False,
) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """Mark an ``async def scenario(self, trial)`` method as the test of one clause.

    ``needs`` names clauses this scenario leans on beyond its clause's own
    ``leans_on``; ``consults`` names clauses whose verdict the scenario reads
    (``trial.verdicts``) to leave out what they already judged. ``heavy`` marks a check
    that ``--conformance-skip-heavy`` reports N/A instead of running.

    The test pytest sees is a plain function that runs the scenario in a new
    event loop, so the suite works with or without any async plugin.
    """
    clause = clause_by_id(clause_id)
    for other in (*needs, *consults):
        clause_by_id(other)

    def decorate(scenario: Callable[..., Awaitable[None]]) -> Any:
        def test(self: Any, session_store_kit: Kit) -> None:
            session_store_kit.run(scenario.__name__, clause)

        test.__name__ = scenario.__name__
        test.__qualname__ = scenario.__qualname__
        test.__doc__ = scenario.__doc__ or clause.text
        test._conformance_scenario = scenario  # type: ignore[attr-defined]
        test._conformance_ttl = ttl  # type: ignore[attr-defined]
        test._conformance_clause = clause  # type: ignore[attr-defined]
        test._conformance_needs = needs  # type: ignore[attr-defined]
        test._conformance_consults = consults  # type: ignore[attr-defined]
        test._conformance_heavy = heavy  # type: ignore[attr-defined]
        return pytest.mark.conformance_clause(clause.id)(test)

    return decorate


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    clause: Clause
    scenario: Callable[..., Awaitable[None]]
    ttl: bool
    needs: tuple[str, ...]
    consults: tuple[str, ...]
    heavy: bool = False


def scenarios_of(contract_class: type) -> dict[str, ScenarioInfo]:
    """Every contract scenario of a contract class, by test name."""
    found = {}
    for name in dir(contract_class):
        member = getattr(contract_class, name)
        clause = getattr(member, "_conformance_clause", None)
        if clause is not None:
            found[name] = ScenarioInfo(
                name,
                clause,
                member._conformance_scenario,
                member._conformance_ttl,
                member._conformance_needs,
                member._conformance_consults,
                member._conformance_heavy,
            )
    return found


@dataclass
class StoreVerdicts:
    """What this process has learnt about one store: outcomes by scenario name.

    A clause's verdict may rest on clauses whose tests run on another xdist
    worker, so each process judges the prerequisites it needs itself, once.
    """

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    real_time_batch: dict[str, Outcome] | None = None
    declarations: Any = _UNREAD
    """A store built from the target, closed: what it declares (see ``Kit._declarations``)."""


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
        batch_cache: dict[str, Any],
        item: pytest.Item,
    ) -> None:
        self.key = key
        self.builder = builder
        self.failing_builder = failing_builder
        self.settings = settings
        self.contract = contract
        self._verdicts: StoreVerdicts = batch_cache.setdefault(key, StoreVerdicts())
        self._scenarios = scenarios_of(type(contract))
        self._item = item

    def ttl_mode(self) -> str:
        if not self.builder.accepts_ttl:
            return f"n/a: the target does not accept {self.builder.ttl_parameter}"
        return "fake clock" if self.builder.accepts_clock else "real time"

    def run(self, name: str, clause: Clause) -> None:
        self._item.user_properties.append(("conformance_ttl", self.ttl_mode()))
        report(self._item, clause, self.scenario_outcome(name))

    def clause_outcome(self, clause_id: str) -> Outcome:
        """The verdict on a clause against this store, from every scenario that checks it."""
        outcomes = [
            self.scenario_outcome(info.name)
            for info in self._scenarios.values()
            if info.clause.id == clause_id
        ]
        for status in ("fail", "blocked", "pass"):
            chosen = [outcome for outcome in outcomes if outcome.status == status]
            if chosen:
                if status == "blocked":
                    roots = tuple(dict.fromkeys(r for o in chosen for r in o.blocked_by))
                    return Outcome("blocked", chosen[0].message, blocked_by=roots)
                return chosen[0]
        return Outcome("n/a", outcomes[0].message if outcomes else "no scenario checks it")

    def blockers(self, clause_ids: tuple[str, ...]) -> tuple[str, ...]:
        """The clauses, among ``clause_ids`` and all they lean on, that fail against the store.

        A prerequisite that is itself only blocked blocks nothing by that alone: what
        blocks it is among the clauses it leans on, and so among these too, unless it was
        a check of its own that this one does not lean on.
        """
        closure = list(clause_ids)
        for clause_id in clause_ids:
            closure.extend(prerequisites(clause_id))
        return tuple(
            clause_id
            for clause_id in dict.fromkeys(closure)
            if self.clause_outcome(clause_id).status == "fail"
        )

    def scenario_outcome(self, name: str) -> Outcome:
        cached = self._verdicts.outcomes.get(name)
        if cached is not None:
            return cached
        info = self._scenarios[name]
        # Applicability first: a check that cannot apply to the store is N/A whatever its
        # prerequisites do; BLOCKED would promise a verdict once they pass.
        blocked_by = self.blockers((*info.clause.leans_on, *info.needs))
        not_applicable = self._not_applicable(info, probe=bool(blocked_by))
        if not_applicable is not None:
            outcome = Outcome("n/a", not_applicable)
        elif blocked_by:
            outcome = Outcome(
                "blocked",
                f"BLOCKED by {', '.join(blocked_by)}: this check leans on "
                f"{'that clause' if len(blocked_by) == 1 else 'those clauses'}, which the store "
                "fails; it is judged once they pass",
                blocked_by=blocked_by,
            )
        elif info.heavy and self.settings.skip_heavy:
            outcome = Outcome("n/a", HEAVY_SKIPPED)
        elif info.ttl and not self.builder.accepts_clock:
            outcome = self._real_time_batch()[name]
        else:
            verdicts = {
                clause_id: self.clause_outcome(clause_id).status
                for clause_id in info.consults
                if self.builder.accepts_clock or not clause_by_id(clause_id).needs_ttl
            }
            outcome = asyncio.run(
                execute(
                    self.builder,
                    info.clause,
                    _bind(info.scenario, self.contract),
                    self.settings,
                    use_ttl=info.ttl,
                    failing=self.failing_builder,
                    verdicts=verdicts,
                )
            )
        self._verdicts.outcomes[name] = outcome
        return outcome

    def _not_applicable(self, info: ScenarioInfo, *, probe: bool) -> str | None:
        """Why ``info`` cannot be checked against this store, when that is known before it runs.

        What the store object declares (``supports_revisions``, ``conformance_not_applicable``)
        is read off a store built for the purpose, only when the check would otherwise be
        reported BLOCKED (``probe``): otherwise the scenario finds it out itself.
        """
        if info.ttl and not self.builder.accepts_ttl:
            return (
                f"the target does not accept {self.builder.ttl_parameter}, so TTL clauses "
                "cannot be checked"
            )
        if not probe:
            return None
        store = self._declarations()
        if store is None:
            return None
        declared = declared_not_applicable(store, info.clause.id)
        if declared:
            return declared
        if info.clause.section == "Revisions":
            return revisions_not_kept(store)
        return None

    def _declarations(self) -> Any:
        """A store built once per process, closed at once: only its declarations are read."""
        if self._verdicts.declarations is _UNREAD:
            self._verdicts.declarations = asyncio.run(
                read_declarations(self.builder, accepts_ttl=self.builder.accepts_ttl)
            )
        return self._verdicts.declarations

    def _real_time_batch(self) -> dict[str, Outcome]:
        # Without a clock every TTL scenario has to wait for real; running them all
        # at once costs one wait instead of one per clause.
        if self._verdicts.real_time_batch is None:
            timed = [
                info
                for info in self._scenarios.values()
                if info.ttl and not (info.heavy and self.settings.skip_heavy)
            ]

            async def run_all() -> dict[str, Outcome]:
                results = await asyncio.gather(
                    *(
                        execute(
                            self.builder,
                            info.clause,
                            _bind(info.scenario, self.contract),
                            self.settings,
                            use_ttl=True,
                            failing=self.failing_builder,
                        )
                        for info in timed
                    )
                )
                return {info.name: result for info, result in zip(timed, results, strict=True)}

            self._verdicts.real_time_batch = asyncio.run(run_all())
        return self._verdicts.real_time_batch


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
    verdicts: Mapping[str, str] | None = None,
) -> Outcome:
    """Run one scenario to an outcome; never raises for what the store did."""
    outcome: Outcome
    trial: Trial | None = None
    try:
        async with AsyncExitStack() as stack:
            trial = Trial(builder, clause, stack, use_ttl=use_ttl, settings=settings.__dict__)
            trial.failing_builder = failing
            trial.verdicts = dict(verdicts or {})
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
        if outcome.status == "fail":
            outcome.repro = trial.repro_script
        outcome.notes = trial.notes()
        if outcome.status == "pass":
            outcome.untried = list(trial.untried)
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
    trial.repro_script = script_for(trial, problem)
    return f"{clause.id} ({clause.level}) violated: {clause.text}\nproblem: {problem}"


def _full_repro(item: pytest.Item, clause_id: str) -> str:
    """Where the full repro script is: its file in --conformance-repro-dir, or how to get one."""
    folder = item.config.getoption("conformance_repro_dir", None)
    if folder:
        store = str(dict(item.user_properties).get("conformance_store", item.name))
        return str(Path(folder) / file_name(store, clause_id))
    report_file = item.config.getoption("conformance_report", None)
    where = f' or "repro" in {report_file}' if report_file else ""
    return f"rerun with --conformance-repro-dir=DIR{where}"


def report(item: pytest.Item, clause: Clause, outcome: Outcome) -> None:
    """Hand the outcome to pytest; the plugin's report hooks turn SHOULD failures into warnings."""
    if outcome.level:
        item.user_properties.append(("conformance_level", outcome.level))
    if outcome.status == "n/a":
        item.user_properties.append(("conformance_status", "n/a"))
        pytest.skip(f"n/a: {clause.id}: {outcome.message}")
    if outcome.status == "blocked":
        item.user_properties.append(("conformance_status", "blocked"))
        item.user_properties.append(("conformance_blocked_by", ",".join(outcome.blocked_by)))
        pytest.skip(outcome.message)
    if outcome.status == "fail":
        message = outcome.message
        if outcome.repro:
            item.user_properties.append(("conformance_repro", outcome.repro))
            message += "\n" + "\n".join(terminal_view(outcome.repro, _full_repro(item, clause.id)))
        pytest.fail(message, pytrace=False)
    if outcome.untried:
        item.user_properties.append(("conformance_partial", "; ".join(outcome.untried)))
