"""Model-based clause: random sequences of operations against a plain model of the contract.

Hypothesis cannot drive async rules, so it generates a whole sequence; each
example runs in its own event loop (on a worker thread, beside the trial's loop)
against a fresh store. A failure shrinks to a minimal sequence, printed as a
script that replays it.

One piece: the model, the operations it draws and the runner that compares them change together.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from reference_stores.errors import SessionExistsError

from ..repro.script import script_for
from ..runner import contract_test
from ..stores import UNSET, StoreBuilder, matches_error
from ..strategies import ALL_KINDS, json_objects
from ..trial import ClauseViolation, FakeClock, Trial
from .checks import json_difference, snapshot

MODEL_TTL_SECONDS = 10
ID_POOL = 3

# What the generated sequences draw or compare, and the clauses that judge each: a
# feature is used only while its clauses pass against the store, so that a mistake
# they already report is not reported a second time here.
FEATURE_CLAUSES: dict[str, tuple[str, ...]] = {
    "null": ("DATA-TYPES",),
    "bool": ("DATA-TYPES",),
    "small-int": ("DATA-TYPES",),
    "float": ("DATA-TYPES",),
    "int64": ("DATA-TYPES", "DATA-INTEGERS"),
    "unicode": ("DATA-STRINGS",),
    "touch": ("UPDATE-TOUCH",),
    "data-update": ("UPDATE-REPLACE",),
    "default-data": ("CREATE-DEFAULT-DATA",),
    "create-over-live": ("CREATE-EXISTS",),
    "update-missing": ("UPDATE-NO-UPSERT",),
    "delete-missing": ("DELETE-MISSING",),
    "exists": ("EXISTS-MATCHES-GET",),
    "recreate": ("DELETE-REMOVES",),
    "timestamps": ("CREATE-NEW", "UPDATE-TIMES", "TIME-UTC", "TIME-MILLIS"),
    "ttl-field": ("TTL-FIELD",),
    "time": (
        "GET-EXPIRED",
        "TTL-WINDOW",
        "EXISTS-MATCHES-GET",
        "GET-NO-REFRESH",
        "EXISTS-NO-REFRESH",
        "UPDATE-TTL-RESTART",
        "UPDATE-EXPIRED",
        "CREATE-OVER-EXPIRED",
    ),
}
CONSULTED = tuple(dict.fromkeys(c for clauses in FEATURE_CLAUSES.values() for c in clauses))


def usable_features(verdicts: dict[str, str]) -> frozenset[str]:
    """The features whose clauses all pass (a clause not judged at all counts as failing)."""
    return frozenset(
        feature
        for feature, clauses in FEATURE_CLAUSES.items()
        if all(verdicts.get(clause) == "pass" for clause in clauses)
    )


Operation = tuple[str, int, Any]
"""(name, index into the id pool, argument): name is a store method or ``advance``."""


def operations(with_clock: bool, features: frozenset[str]) -> st.SearchStrategy[list[Operation]]:
    # Repeats weight the draw towards writes followed by reads, so a bug needs few examples.
    kinds = ["create_session"] * 3 + ["update_session"] * 3 + ["get_session"] * 3
    kinds += ["session_exists"] if "exists" in features else []
    kinds += ["delete_session"] + (["advance"] * 2 if with_clock and "time" in features else [])
    data = json_objects(max_leaves=6, min_size=1, kinds=features & ALL_KINDS)
    created = (st.none() | data) if "default-data" in features else data
    updates: st.SearchStrategy[dict[str, Any]] = st.nothing()
    if "data-update" in features:
        updates = updates | st.builds(dict, data=data)
    if "touch" in features:
        updates = updates | st.just({})
    if updates.is_empty:
        kinds = [kind for kind in kinds if kind != "update_session"]
    steps = st.sampled_from([MODEL_TTL_SECONDS + 1.5, 0.5, 4.0, MODEL_TTL_SECONDS - 0.5])

    @st.composite
    def operation(draw: st.DrawFn) -> Operation:
        kind = draw(st.sampled_from(kinds))
        slot = draw(st.integers(0, ID_POOL - 1))
        if kind == "create_session":
            return (kind, slot, draw(created))
        if kind == "update_session":
            return (kind, slot, draw(updates))
        if kind == "advance":
            return (kind, 0, draw(steps))
        return (kind, slot, None)

    return st.lists(operation(), min_size=6, max_size=40).map(_mark_writes)


def _mark_writes(ops: list[Operation]) -> list[Operation]:
    """Give every write a key of its own, so merged, stale or mixed-up data always shows."""
    marked: list[Operation] = []
    for index, (kind, slot, argument) in enumerate(ops):
        if kind == "create_session" and argument is not None:
            argument = {**argument, f"write{index}": "yes"}
        elif kind == "update_session" and "data" in argument:
            argument = {"data": {**argument["data"], f"write{index}": "yes"}}
        marked.append((kind, slot, argument))
    return marked


def explicit_sequences(with_clock: bool, features: frozenset[str]) -> list[list[Operation]]:
    """Sequences every run tries first: the classic mistakes, found whatever the random draw."""
    writes: list[Operation] = [
        ("create_session", 0, {"a": "1", "n": ["x", "y"]}),
        ("update_session", 0, {"data": {"b": "2"}}),
        ("update_session", 0, {}),
        ("update_session", 1, {"data": {"c": "3"}}),
        ("create_session", 0, {"d": "4"}),
        ("delete_session", 0, None),
        ("update_session", 0, {"data": {"e": "5"}}),
        ("create_session", 0, None),
    ]
    sequences = [_mark_writes(writes)]
    if with_clock:
        timed: list[Operation] = [
            ("create_session", 0, {"a": "yes"}),
            ("advance", 0, 4.0),
            ("update_session", 0, {}),
            ("advance", 0, MODEL_TTL_SECONDS - 0.5),
            ("get_session", 0, None),
            ("advance", 0, MODEL_TTL_SECONDS + 1.5),
            ("get_session", 0, None),
            ("session_exists", 0, None),
            ("update_session", 0, {"data": {"x": "1"}}),
            ("create_session", 0, {"y": "2"}),
        ]
        sequences.append(_mark_writes(timed))
    return [[op for op in sequence if _drawable(op, features)] for sequence in sequences]


def _drawable(op: Operation, features: frozenset[str]) -> bool:
    name, _slot, argument = op
    if name == "session_exists":
        return "exists" in features
    if name == "create_session" and argument is None:
        return "default-data" in features
    if name == "update_session":
        return ("data-update" if "data" in argument else "touch") in features
    if name == "advance":
        return "time" in features
    return True


EXPIRY_SLACK_MS = 1000
"""TTL-WINDOW: a session may outlive its TTL by up to a second, so either answer is right then."""


@dataclass
class _Session:
    data: dict[str, Any]
    created_ms: int
    updated_ms: int
    expires_ms: int | None
    unsure: bool = False
    """An update reached it inside the expiry window: the next read tells whether it took."""


@dataclass
class Model:
    """The contract as a dict: what every call must answer."""

    ttl_ms: int | None
    sessions: dict[str, _Session] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)

    def lookup(self, key: str, now_ms: int) -> tuple[_Session | None, bool]:
        """The session the contract expects, and whether the contract leaves no choice."""
        session = self.sessions.get(key)
        if session is None:
            return None, True
        if session.unsure:
            return session, False
        if session.expires_ms is None or now_ms < session.expires_ms:
            return session, True
        if now_ms >= session.expires_ms + EXPIRY_SLACK_MS:
            del self.sessions[key]
            return None, True
        return session, False

    def settle(self, key: str, live: bool) -> None:
        """Follow the store's answer inside the window."""
        if live:
            self.sessions[key].unsure = False
        else:
            self.sessions.pop(key, None)


class Mismatch(AssertionError):
    def __init__(self, step: int, problem: str) -> None:
        super().__init__(problem)
        self.step = step
        self.problem = problem
        self.skipped: set[int] = set()
        """Steps left out because they lean on a clause the store fails."""


async def _replay(
    builder: StoreBuilder,
    ops: list[Operation],
    ids: list[str],
    with_clock: bool,
    features: frozenset[str] = frozenset(FEATURE_CLAUSES),
) -> None:
    clock = FakeClock() if with_clock else None
    ttl: Any = MODEL_TTL_SECONDS if with_clock else (None if builder.accepts_ttl else UNSET)
    model = Model(ttl_ms=MODEL_TTL_SECONDS * 1000 if with_clock else None)
    skipped: set[int] = set()
    async with AsyncExitStack() as stack:
        store = await builder.open(stack, ttl_seconds=ttl, clock=clock)
        try:
            for step, (name, slot, argument) in enumerate(ops):
                now = math.floor(clock() * 1000) if clock is not None else 0
                if name == "advance":
                    assert clock is not None
                    clock.set(clock() + argument)
                    continue
                if not _applies(model, name, ids[slot], now, features):
                    skipped.add(step)
                    continue
                try:
                    await _check_step(store, model, step, name, ids[slot], argument, now, features)
                    if name not in ("get_session", "session_exists"):
                        # Check every write at once: a bug shows at the step that caused it.
                        await _check_step(
                            store, model, step, "get_session", ids[slot], None, now, features
                        )
                except Mismatch as mismatch:
                    mismatch.skipped = skipped
                    raise
        finally:
            for session_id in ids:  # best effort: the verdict is the steps', not the cleanup's
                with contextlib.suppress(Exception):
                    await store.delete_session(session_id)


def _applies(model: Model, name: str, key: str, now: int, features: frozenset[str]) -> bool:
    """Whether to make this call: not where it leans on a clause the store fails."""
    held = key in model.sessions
    session, certain = model.lookup(key, now) if held else (None, True)
    if not certain:
        return name in ("get_session", "session_exists") or "time" in features
    if name == "create_session" and session is not None:
        return "create-over-live" in features
    if name == "create_session" and key in model.deleted:
        return "recreate" in features
    if name == "update_session" and session is None:
        return "update-missing" in features
    if name == "delete_session" and session is None:
        return "delete-missing" in features
    return True


async def _check_step(
    store: Any,
    model: Model,
    step: int,
    name: str,
    key: str,
    argument: Any,
    now: int,
    features: frozenset[str],
) -> None:
    session, certain = model.lookup(key, now)
    try:
        if name == "create_session":
            await store.create_session(key, argument)
            if session is not None and certain:
                raise Mismatch(
                    step,
                    "create_session over a live session returned instead of raising SessionExistsError",
                )
            expires = None if model.ttl_ms is None else now + model.ttl_ms
            model.sessions[key] = _Session(dict(argument or {}), now, now, expires)
            model.deleted.discard(key)
        elif name == "update_session":
            await store.update_session(key, argument)
            if session is not None:
                session.updated_ms = max(session.updated_ms, now)
                if model.ttl_ms is not None:
                    session.expires_ms = session.updated_ms + model.ttl_ms
                if "data" in argument:
                    session.data = dict(argument["data"])
                session.unsure = not certain
        elif name == "delete_session":
            await store.delete_session(key)
            if model.sessions.pop(key, None) is not None:
                model.deleted.add(key)
        elif name == "session_exists":
            exists = await store.session_exists(key)
            if not certain:
                model.settle(key, exists is True)
            elif exists is not (session is not None):
                raise Mismatch(
                    step,
                    f"session_exists returned {exists!r}; the model says {session is not None}",
                )
        elif name == "get_session":
            record = await store.get_session(key)
            if not certain:
                model.settle(key, record is not None)
                if record is None:
                    return
            _compare_record(step, record, session, features)
    except Mismatch:
        raise
    except Exception as error:
        if (
            name == "create_session"
            and session is not None
            and matches_error(error, SessionExistsError)
        ):
            if not certain:
                model.settle(key, True)
            return
        raise Mismatch(step, f"{name} raised {type(error).__name__}: {error}") from error


def _compare_record(
    step: int, record: Any, live: _Session | None, features: frozenset[str]
) -> None:
    if live is None:
        if record is not None:
            raise Mismatch(step, f"get_session returned a session; the model has none: {record!r}")
        return
    if record is None:
        raise Mismatch(step, "get_session returned None; the model holds a live session")
    seen = snapshot(record)
    found = json_difference(live.data, seen.data)
    if found:
        raise Mismatch(step, f"get_session returned other data: {found}")
    if "time" in features and "timestamps" in features:
        for name, expected in (("created_at", live.created_ms), ("updated_at", live.updated_ms)):
            value = getattr(seen, name)
            got = round(value.timestamp() * 1000)
            if abs(got - expected) > 1:
                raise Mismatch(step, f"{name} is {value}; the model says {expected} ms")
    ttl_compared = "time" in features and "ttl-field" in features
    if (
        ttl_compared
        and live.expires_ms is not None
        and (seen.ttl is None or abs(seen.ttl - live.expires_ms / 1000) > 1)
    ):
        raise Mismatch(
            step, f"ttl is {seen.ttl!r}; the model's expiry is {live.expires_ms / 1000:.3f}"
        )


def repro_script(
    builder: StoreBuilder, ops: list[Operation], ids: list[str], with_clock: bool, failure: Mismatch
) -> str:
    """A script that replays ``ops`` against the store and prints every answer."""
    factory = builder.factory
    module = getattr(factory, "__module__", "your_module")
    name = getattr(factory, "__qualname__", "YourStore").split(".")[0]
    ttl: Any = MODEL_TTL_SECONDS if with_clock else (None if builder.accepts_ttl else UNSET)
    lines = ["import asyncio", "import time", ""]
    # A factory not importable by name (a node: target) says how to rebuild it.
    rebuild = getattr(factory, "conformance_repro", None)
    if isinstance(rebuild, tuple) and len(rebuild) == 2:
        lines += [str(rebuild[0]), "", f"{name} = {rebuild[1]}", ""]
    else:
        lines += [f"from {module} import {name}", ""]
    if with_clock:
        lines += ["now = [round(time.time(), 3)]", "clock = lambda: now[0]", ""]
    lines += [
        "",
        "async def show(call, text):",
        "    try:",
        "        print(text, '->', await call)",
        "    except Exception as error:",
        "        print(text, 'raised', repr(error))",
        "",
        "",
        "async def main():",
        f"    store = {builder.call_text(ttl_seconds=ttl, clock=with_clock)}",
        "    if hasattr(store, '__await__'):",
        "        store = await store",
        "    if not hasattr(store, 'get_session') and hasattr(store, '__aenter__'):",
        "        store = await store.__aenter__()",
    ]
    for step, (op, slot, argument) in enumerate(ops[: failure.step + 1]):
        if step in failure.skipped:
            continue
        if op == "advance":
            lines.append(f"    now[0] += {argument!r}")
            continue
        arguments = repr(ids[slot]) if argument is None else f"{ids[slot]!r}, {argument!r}"
        lines.append(f"    await show(store.{op}({arguments}), {f'{op}({arguments})'!r})")
        if op not in ("get_session", "session_exists"):
            lines.append(f"    await show(store.get_session({ids[slot]!r}), 'then get_session')")
        if step == failure.step:
            lines.append(f"    # ^ the contract's model disagrees: {failure.problem}")
    lines += ["", "", "asyncio.run(main())"]
    return "\n".join(lines)


class ModelClauses:
    @contract_test("MODEL-SEQUENCES", consults=CONSULTED)
    async def test_random_operation_sequences_match_the_model(self, trial: Trial) -> None:
        builder = trial.builder
        with_clock = builder.accepts_clock and builder.accepts_ttl
        if not builder.accepts_clock:
            untried = "time steps and expiry" if builder.accepts_ttl else "time steps"
            trial.not_tried(f"{untried} not tried: the store takes no clock")
        elif not builder.accepts_ttl:
            trial.not_tried("time steps not tried: the store takes no TTL")
        features = usable_features(trial.verdicts)
        if not with_clock:
            features -= {"time"}
        left_out = sorted(
            f"{feature} ({', '.join(c for c in FEATURE_CLAUSES[feature] if trial.verdicts.get(c) != 'pass')})"
            for feature in set(FEATURE_CLAUSES) - features
            if feature != "time" or with_clock
        )
        if left_out:
            trial.log.append("# left out, as their clauses do not pass: " + "; ".join(left_out))
            trial.not_tried(
                "not drawn, as their clauses do not pass against the store: " + "; ".join(left_out)
            )
        examples = int(trial.settings["examples"])
        failures: list[tuple[list[Operation], list[str], Mismatch]] = []

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=False,
            print_blob=False,
            report_multiple_bugs=False,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(ops=operations(with_clock, features))
        def check(ops: list[Operation]) -> None:
            ids = [f"model-{secrets.token_hex(6)}-{slot}" for slot in range(ID_POOL)]
            try:
                asyncio.run(_replay(builder, ops, ids, with_clock, features))
            except Mismatch as mismatch:
                failures.append((ops, ids, mismatch))
                raise

        for sequence in explicit_sequences(with_clock, features):
            check = example(ops=sequence)(check)
        chosen_seed = trial.settings.get("seed")
        replay = ""
        if chosen_seed is not None:
            check = seed(int(chosen_seed))(check)
            replay = f" (seed {chosen_seed}: --conformance-seed {chosen_seed} replays it)"
        try:
            await asyncio.to_thread(check)
        except Mismatch:
            ops, ids, mismatch = failures[-1]
            trial.log.append("(the minimal failing sequence, as a script that replays it:)")
            trial.log.extend(repro_script(builder, ops, ids, with_clock, mismatch).splitlines())
            ttl: Any = MODEL_TTL_SECONDS if with_clock else (None if builder.accepts_ttl else UNSET)
            trial.repro.replace_with_sequence(
                ops[: mismatch.step + 1], ids, ttl, with_clock, frozenset(mismatch.skipped)
            )
            problem = f"step {mismatch.step + 1} of a generated sequence: {mismatch.problem}"
            replayed = await replay_repro(trial, problem, mismatch.step + 1)
            raise ClauseViolation(f"{problem}{replay}\n{replayed}") from None
        except HypothesisException as error:
            raise ClauseViolation(f"the model-based search could not run: {error}") from None
        trial.log.append(f"{examples} generated sequences matched the model{replay}")


async def replay_repro(trial: Trial, problem: str, step: int) -> str:
    """Run the failure's repro script here, as a user would, and say what it reports.

    The script replays exactly the calls the store saw, against the reference store; quoting
    its verdict in the suite's message shows that it fails at the same step, with that message.
    """
    script = script_for(trial, problem)
    namespace: dict[str, Any] = {"__name__": "conformance_repro_replay"}
    path = list(sys.path)
    try:
        await asyncio.to_thread(exec, compile(script, "<repro>", "exec"), namespace)
    except AssertionError as error:
        there = "there too" if f" step {step}: " in str(error) else "at another step"
        return f"its repro fails {there}: {error}"
    except Exception as error:  # the script itself could not run: say so, not why the store failed
        return f"its repro could not run: {type(error).__name__}: {error}"
    finally:
        sys.path[:] = path  # the script puts the folder it runs in on sys.path
    return (
        "its repro does not fail: the reference store answers as this store did, where the "
        "model allowed either answer (the second after an expiry)"
    )
