"""Repros that run: what a scenario did, written down as it happened and turned into a script.

A trial records every store it built, every call (with its arguments, in the order the calls
started, and which ones overlapped), every move of the clock and every change the scenario made
to an object it gave to or got from the store. ``render`` turns that record into a standalone
Python script. The script makes the same calls on the store and, side by side, on the kit's
in-memory reference store, which meets SPEC.md; ``Referee`` compares each answer and raises
``AssertionError`` naming the clause at the first one that differs. Once the store is fixed the
script runs to the end and exits 0.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import decimal
import math
import pprint
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from .local_time import move_local_zone
from .targets import UNSET

__all__ = ["Keywords", "Referee", "ReproLog", "render", "script_for", "shorten"]


# What a trial records.


@dataclass
class Build:
    name: str
    ttl_seconds: Any
    clock: bool
    failing: bool = False


@dataclass
class Call:
    store: str
    method: str
    args: tuple[Any, ...]
    keywords: dict[str, Any]
    started: int
    ended: int = -1
    result: Any = None
    error: BaseException | None = None
    seen: bool = True
    """False for a call rebuilt from a generated sequence: what it returned was not kept."""


@dataclass
class ClockMove:
    seconds_from_start: float
    back: float = 0.0


@dataclass
class Sleep:
    seconds: float


@dataclass
class Mutation:
    target: Any
    code: str


@dataclass
class ZoneChange:
    zone: str | None
    """An IANA name (``conformance.local_time``); None: the host's own zone again."""


Step = Build | Call | ClockMove | Sleep | Mutation | ZoneChange


@dataclass
class ReproLog:
    """The steps of one trial, in order; a scenario adds to it only through ``Trial``."""

    clock_start: float | None = None
    steps: list[Step] = field(default_factory=list)
    events: int = 0
    complete: bool = True
    """False when a step could not be recorded faithfully (the script says so)."""

    def build(self, name: str, ttl_seconds: Any, clock: bool) -> None:
        self.steps.append(Build(name, ttl_seconds, clock))

    def start(
        self,
        store: str,
        method: str,
        args: tuple[Any, ...],
        keywords: Mapping[str, Any] | None = None,
    ) -> Call:
        self.events += 1
        call = Call(store, method, args, dict(keywords or {}), self.events)
        self.steps.append(call)
        return call

    def finish(self, call: Call, result: Any = None, error: BaseException | None = None) -> None:
        self.events += 1
        call.ended, call.result, call.error = self.events, result, error

    def clock_to(self, moment: float) -> None:
        if self.clock_start is not None:
            self.steps.append(ClockMove(moment - self.clock_start))

    def clock_back(self, moment: float, seconds: float) -> None:
        if self.clock_start is not None:
            self.steps.append(ClockMove(moment - self.clock_start, back=seconds))

    def sleep(self, seconds: float) -> None:
        self.steps.append(Sleep(seconds))

    def mutation(self, target: Any, code: str) -> None:
        self.steps.append(Mutation(target, code))

    def local_zone(self, zone: str | None) -> None:
        self.steps.append(ZoneChange(zone))

    def replace_with_sequence(
        self, operations: list[tuple[str, int, Any]], ids: list[str], ttl_seconds: Any, clock: bool
    ) -> None:
        """Record a generated sequence (MODEL-SEQUENCES) the way the model checked it."""
        self.steps = [Build("store", ttl_seconds, clock)]
        if clock and self.clock_start is None:
            self.clock_start = math.floor(time.time() * 1000) / 1000
        elif not clock:
            self.clock_start = None
        moved = 0.0
        for name, slot, argument in operations:
            if name == "advance":
                moved += argument
                self.steps.append(ClockMove(round(moved, 3)))
                continue
            args: tuple[Any, ...] = (ids[slot],)
            if argument is not None or name == "create_session":
                args = (ids[slot], argument)
            self.start("store", name, args)
            if name not in ("get_session", "session_exists"):
                self.start("store", "get_session", (ids[slot],))
        for call in self.steps:
            if isinstance(call, Call):
                call.ended = call.started  # replayed one at a time
                call.seen = False


# From the record to a script.


@dataclass(frozen=True)
class Target:
    """How a script gets the store's factory: import lines and the expression that names it."""

    imports: tuple[str, ...]
    factory: str
    options: Mapping[str, Any]
    failing_options: Mapping[str, Any] | None = None


def target_of(factory: Callable[..., Any], options: Mapping[str, Any]) -> Target:
    failing = getattr(factory, "conformance_failing_options", None)
    factory = getattr(factory, "conformance_factory", factory)
    rebuild = getattr(factory, "conformance_repro", None)
    if isinstance(rebuild, tuple) and len(rebuild) == 2:  # a node: target
        return Target((str(rebuild[0]),), str(rebuild[1]), options, failing)
    module = getattr(factory, "__module__", None) or "your_module"
    qualname = getattr(factory, "__qualname__", None) or "your_store"
    if "<" in qualname:  # a lambda or a function local to a fixture: not importable
        return Target(
            (f"from {module} import {qualname.split('.')[0]}  # the factory is not importable:",),
            "make_store  # define make_store(**options) to build the store as your fixture does",
            options,
            failing,
        )
    top, _, rest = qualname.partition(".")
    return Target((f"from {module} import {top}",), qualname if rest else top, options, failing)


class _Names:
    """Short variable names for ids and big values, so no line of the script runs on and on."""

    def __init__(self) -> None:
        self.constants: dict[str, str] = {}
        self._ids: dict[str, str] = {}
        self._values: dict[str, str] = {}
        self.objects: dict[int, str] = {}

    def session_id(self, value: str) -> str:
        if value not in self._ids:
            name = f"ID{len(self._ids) + 1}"
            self._ids[value] = name
            self.constants[name] = source(value)
        return self._ids[value]

    def value(self, value: Any) -> str:
        text = source(value)
        if len(text) <= 60:
            return text
        if text not in self._values:
            name = f"VALUE{len(self._values) + 1}"
            self._values[text] = name
            self.constants[name] = pprint.pformat(value, width=96) if _plain(value) else text
        return self._values[text]


def _plain(value: Any) -> bool:
    """Whether pprint writes the value as valid Python (JSON-like values, nan and inf excepted)."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def source(value: Any) -> str:
    """Python source that evaluates to ``value`` (the script imports datetime and Decimal)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(source(item) for item in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{source(k)}: {source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (set, frozenset)):
        items = ", ".join(source(item) for item in sorted(value, key=repr))
        if isinstance(value, frozenset):
            return f"frozenset({{{items}}})" if items else "frozenset()"
        return f"{{{items}}}" if items else "set()"
    if isinstance(value, dt.datetime):
        return f"datetime.{value!r}"
    if isinstance(value, decimal.Decimal):
        return f"decimal.{value!r}"
    if isinstance(value, type):
        return value.__qualname__ if value.__module__ == "builtins" else "object"
    if value is None or isinstance(value, (bool, int, str, bytes, complex)):
        return repr(value)
    return "object()"


def _args(names: _Names, call: Call) -> str:
    parts = []
    for index, argument in enumerate(call.args):
        if id(argument) in names.objects:
            parts.append(names.objects[id(argument)])
        elif index == 0 and isinstance(argument, str):
            parts.append(names.session_id(argument))
        else:
            parts.append(names.value(argument))
    parts += [f"{key}={names.value(value)}" for key, value in call.keywords.items()]
    return ", ".join(parts)


def _groups(steps: list[Step]) -> list[list[Step]]:
    """Calls that overlapped in time form one group; every other step stands alone."""
    groups: list[list[Step]] = []
    latest_end = 0
    for step in steps:
        previous = groups[-1] if groups else None
        if (
            isinstance(step, Call)
            and previous
            and isinstance(previous[0], Call)
            and step.started < latest_end
        ):
            previous.append(step)
        else:
            groups.append([step])
            latest_end = 0
        if isinstance(step, Call):
            latest_end = max(latest_end, step.ended if step.ended >= 0 else step.started + 1)
    return groups


def _outcome_comment(call: Call) -> str:
    if call.ended < 0 or not call.seen:
        return ""
    if call.error is not None:
        seen = f"raised {type(call.error).__name__}"
    else:
        seen = "-> " + shorten(repr(call.result), 50)
    return f"  # in the suite: {seen}"


def render(
    *,
    log: ReproLog,
    clause_id: str,
    clause_level: str,
    clause_text: str,
    problem: str,
    label: str,
    target: Target,
    kit_version: str,
) -> str:
    """The script for one failed clause (see the module's docstring)."""
    names = _Names()
    referenced = {id(step.target) for step in log.steps if isinstance(step, Mutation)}
    body: list[str] = []
    uses_clock = log.clock_start is not None
    if uses_clock:
        body += [
            f"    clock = FakeClock(start={log.clock_start!r})",
            "    start = clock()",
        ]
    body.append(f"    check = Referee({clause_id!r}, clock={'clock' if uses_clock else 'None'})")
    results = 0
    if clause_id == "ERR-BACKEND":
        body += _backend_body(target)
    for group in _groups(log.steps):
        first = group[0]
        if isinstance(first, Build):
            arguments = [f"{key}={source(value)}" for key, value in target.options.items()]
            if first.ttl_seconds is not UNSET:
                arguments.append(f"ttl_seconds={source(first.ttl_seconds)}")
            if first.clock:
                arguments.append("clock=clock")
            body.append(
                f"    {first.name} = await check.open({target.factory.split('  #')[0]}"
                + "".join(f", {argument}" for argument in arguments)
                + ")"
            )
        elif isinstance(first, ClockMove):
            if first.back:
                body.append(f"    clock.step_back({first.back!r})")
            else:
                body.append(f"    clock.set(start + {round(first.seconds_from_start, 6)!r})")
        elif isinstance(first, Sleep):
            body.append(f"    await asyncio.sleep({round(first.seconds, 3)!r})")
        elif isinstance(first, ZoneChange):
            body.append(f"    check.local_time_zone({first.zone!r})")
        elif isinstance(first, Mutation):
            name = names.objects.get(id(first.target), "obj")
            for line in first.code.format(name).splitlines():
                body.append(f"    {line}")
        elif len(group) == 1 and isinstance(first, Call):
            text = f"await check({first.store}, {first.method!r}, {_args(names, first)})".replace(
                ", )", ")"
            )
            binds = [a for a in first.args if id(a) in referenced and id(a) not in names.objects]
            for argument in binds:
                names.objects[id(argument)] = f"given{len(names.objects) + 1}"
                body.append(f"    {names.objects[id(argument)]} = {names.value(argument)}")
            if binds:
                text = f"await check({first.store}, {first.method!r}, {_args(names, first)})"
            if id(first.result) in referenced and first.result is not None:
                results += 1
                names.objects[id(first.result)] = f"result{results}"
                text = f"result{results} = {text}"
            body.append(f"    {text}{_outcome_comment(first)}")
        else:
            body.append(
                f"    # these {len(group)} calls overlapped in the suite: run them together"
            )
            body.append("    await check.together(")
            for call in group:
                if isinstance(call, Call):
                    positional = _args(names, Call(call.store, call.method, call.args, {}, 0))
                    keywords = ", ".join(
                        f"{key!r}: {names.value(value)}" for key, value in call.keywords.items()
                    )
                    extra = f", Keywords({{{keywords}}})" if keywords else ""
                    body.append(f"        ({call.store}, {call.method!r}, {positional}{extra}),")
            body.append("    )")
    body.append("    await check.close()")
    body.append(
        f"    print({clause_id + ': every answer matched the reference store (the store meets the clause here)'!r})"
    )
    header = [
        f"Repro of {clause_id} ({clause_level}) for the store {label}.",
        "",
        *textwrap.wrap(f"{clause_id}: {clause_text}", 96),
        *textwrap.wrap(f"The suite saw: {shorten(problem, 600)}", 96),
        "",
        "Run it from the folder you ran pytest in: python THIS_FILE. It makes the suite's calls on",
        "the store and on the kit's in-memory reference store (which meets SPEC.md) and raises",
        "AssertionError naming the clause at the first answer that differs. Written by",
        f"mcp-session-store-kit {kit_version}.",
    ]
    if not log.complete:
        header.append("Some steps could not be written down; the script may not reproduce it.")
    constants = [f"{name} = {text}" for name, text in names.constants.items()]
    used = "\n".join(constants + body)
    imports = ["asyncio", "contextlib", "datetime", "decimal", "os", "sys"]
    imports = [m for m in imports if m in ("asyncio", "os", "sys") or f"{m}." in used]
    lines = [
        *(f"# {_printable(line)}".rstrip() for line in header),
        "",
        *(f"import {module}" for module in imports),
        "",
        "sys.path.insert(0, os.getcwd())  # the store's module, found as pytest found it",
        "",
        "from conformance.repro import Keywords, Referee  # noqa: E402"
        if "Keywords(" in used
        else "from conformance.repro import Referee  # noqa: E402",
        *(["from conformance.trial import FakeClock  # noqa: E402"] if uses_clock else []),
        *(f"{line}  # noqa: E402" for line in target.imports),
        "",
        *constants,
    ]
    lines += ["", "", "async def main() -> None:", *body, "", "", "asyncio.run(main())", ""]
    return "\n".join(lines)


def _backend_body(target: Target) -> list[str]:
    failing = target.failing_options or {}
    arguments = ", ".join(
        f"{key}={source(value)}" for key, value in {**target.options, **failing}.items()
    )
    factory = target.factory.split("  #")[0]
    return [
        "    # the store built against a backend that is down (--failing-store-option)",
        f"    await check.backend_down({factory}{', ' if arguments else ''}{arguments})",
    ]


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def terminal_view(script: str, max_lines: int = 40, width: int = 120) -> list[str]:
    """The script as the terminal shows it: the calls, long lines and long runs cut."""
    lines = script.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("from conformance")), 0)
    shown = [line if len(line) <= width else line[: width - 1] + "…" for line in lines[start:]]
    if len(shown) > max_lines:
        hidden = len(shown) - max_lines
        shown = [
            *shown[: max_lines // 2],
            f"    ... {hidden} more lines ...",
            *shown[-max_lines // 2 :],
        ]
    return shown


# What a script runs.


class Referee:
    """Makes each call on the store and on a reference store, and compares the answers."""

    def __init__(self, clause_id: str, *, clock: Callable[[], float] | None = None) -> None:
        self.clause_id = clause_id
        self.clock = clock
        self._stack = AsyncExitStack()
        self._twins: dict[int, Any] = {}
        self._shared: Any = None
        self._restore_zone: Callable[[], None] | None = None
        self.timed = clock is not None

    def fail(self, what: str, got: str, expected: str) -> None:
        raise AssertionError(
            f"{self.clause_id} violated: {what}: the store {got}, "
            f"where a store that meets SPEC.md {expected}"
        )

    async def open(self, factory: Callable[..., Any], **options: Any) -> Any:
        from reference_stores import InMemorySessionStore

        from .targets import StoreBuilder

        ttl = options.pop("ttl_seconds", UNSET)
        clock = options.pop("clock", None)
        builder = StoreBuilder(factory, options)
        what = builder.call_text(**({} if ttl is UNSET else {"ttl_seconds": ttl}))
        reference_error: BaseException | None = None
        try:
            reference = InMemorySessionStore(ttl_seconds=None if ttl is UNSET else ttl, clock=clock)
        except Exception as error:
            reference, reference_error = None, error
        try:
            store = await builder.open(
                self._stack, **({} if ttl is UNSET else {"ttl_seconds": ttl}), clock=clock
            )
        except Exception as error:
            if reference_error is None:
                self.fail(f"building {what}", _raised(error), "builds")
            elif not _matches(error, type(reference_error)):
                self.fail(f"building {what}", _raised(error), _raised(reference_error))
            return None
        if reference_error is not None:
            self.fail(f"building {what}", "built a store", _raised(reference_error))
        if getattr(store, "shares_sessions_across_instances", False) is True:
            self._shared = self._shared or reference
            reference = self._shared
        self._twins[id(store)] = reference
        return store

    async def __call__(self, store: Any, method: str, *args: Any, **keywords: Any) -> Any:
        shown = [shorten(repr(a), 40) for a in args]
        shown += [f"{key}={value!r}" for key, value in keywords.items()]
        what = f"{method}({', '.join(shown)})"
        reference = self._twins[id(store)]
        expected = await _outcome(
            getattr(reference, method), copy.deepcopy(args), copy.deepcopy(keywords)
        )
        got = await _outcome(getattr(store, method), args, keywords)
        self._compare(what, got, expected, revisions=_keeps_revisions(store))
        if self.clause_id == "TIME-UTC" and not self.timed:
            self._compare_moments(what, got, expected)
        if isinstance(got, BaseException):
            return None
        return got

    def _compare_moments(self, what: str, got: Any, expected: Any) -> None:
        """Real time: a record's times cannot match the reference store's to the millisecond,
        but each must be UTC and within a second of its (stamped by the call just before)."""
        for name in ("created_at", "updated_at"):
            moment, wanted = getattr(got, name, None), getattr(expected, name, None)
            if not isinstance(wanted, dt.datetime):
                return
            if not (
                isinstance(moment, dt.datetime)
                and moment.utcoffset() == dt.timedelta(0)
                and abs((moment - wanted).total_seconds()) <= 1
            ):
                self.fail(
                    what,
                    f"returned a record whose {name} is {moment!r}",
                    f"returns one within a second of {wanted!r}",
                )

    async def together(self, *calls: tuple[Any, ...]) -> None:
        """Calls the suite made concurrently: the same answers, in any order.

        Each call is ``(store, method, *args)``, with a dict of keyword arguments last when the
        call had any (``_Keywords``).
        """
        split = [_split_keywords(c) for c in calls]
        expected = [
            await _outcome(
                getattr(self._twins[id(c[0])], c[1]), copy.deepcopy(c[2]), copy.deepcopy(c[3])
            )
            for c in split
        ]
        got = await asyncio.gather(*(_outcome(getattr(c[0], c[1]), c[2], c[3]) for c in split))
        revisions = all(_keeps_revisions(c[0]) for c in split)
        wanted = Counter(self._summary(outcome, revisions) for outcome in expected)
        seen = Counter(self._summary(outcome, revisions) for outcome in got)
        if wanted != seen:
            self.fail(
                f"{len(calls)} concurrent calls ({', '.join(sorted({c[1] for c in calls}))})",
                "answered " + _counted(seen),
                "answers " + _counted(wanted),
            )

    async def backend_down(self, factory: Callable[..., Any], **options: Any) -> None:
        """ERR-BACKEND: every call on a store whose backend is down raises, with the cause."""
        from reference_stores.errors import SessionStoreError

        from .targets import StoreBuilder

        builder = StoreBuilder(factory, options)
        try:
            store = await builder.open(self._stack)
        except Exception as error:
            self._backend_error(f"building {builder.call_text()}", error, SessionStoreError)
            return
        calls: list[tuple[str, tuple[Any, ...]]] = [
            ("session_exists", ("repro-id",)),
            ("get_session", ("repro-id",)),
            ("create_session", ("repro-id", {"x": 1})),
            ("update_session", ("repro-id", {"data": {"x": 2}})),
            ("delete_session", ("repro-id",)),
        ]
        for method, args in calls:
            got = await _outcome(getattr(store, method), args)
            if not isinstance(got, BaseException):
                self.fail(f"{method} against a dead backend", f"returned {got!r}", "raises")
            else:
                self._backend_error(method, got, SessionStoreError)

    def _backend_error(self, what: str, error: BaseException, expected: type) -> None:
        if not _matches(error, expected):
            self.fail(what, _raised(error), "raises SessionStoreError")
        if error.__cause__ is None:
            self.fail(what, f"{_raised(error)} with no __cause__", "attaches the backend's error")

    def local_time_zone(self, zone: str | None) -> None:
        """Move the local time zone (this process's, and a Node store's) as the suite did;
        None puts the host's own back."""
        if self._restore_zone is not None:
            self._restore_zone()
            self._restore_zone = None
        if zone is not None:
            _, self._restore_zone = move_local_zone(zone)

    async def close(self) -> None:
        self.local_time_zone(None)
        await self._stack.aclose()

    def _compare(self, what: str, got: Any, expected: Any, *, revisions: bool = False) -> None:
        if isinstance(expected, BaseException):
            if not isinstance(got, BaseException):
                self.fail(what, f"returned {shorten(repr(got), 200)}", _raised(expected))
            elif not _matches(got, type(expected)):
                self.fail(what, _raised(got), _raised(expected))
            elif revisions and hasattr(expected, "current_revision"):
                seen = getattr(got, "current_revision", "no current_revision")
                if seen != expected.current_revision:
                    self.fail(
                        what,
                        f"raised {type(got).__name__} with current_revision={seen!r}",
                        f"raises it with current_revision={expected.current_revision!r}",
                    )
            return
        if isinstance(got, BaseException):
            self.fail(what, _raised(got), f"returns {shorten(repr(expected), 200)}")
        difference = _difference(got, expected, self.timed, revisions)
        if difference:
            self.fail(what, f"returned {difference[0]}", f"returns {difference[1]}")

    def _summary(self, outcome: Any, revisions: bool) -> str:
        if isinstance(outcome, BaseException):
            for name in (
                "SessionExistsError",
                "RevisionConflictError",
                "InvalidSessionIdError",
                "SessionStoreError",
            ):
                if any(k.__name__ == name for k in type(outcome).__mro__):
                    return f"raised {name}"
            return f"raised {type(outcome).__name__}"
        return repr(_plain_view(outcome, self.timed, revisions))


class Keywords(dict[str, Any]):
    """The keyword arguments of a call in ``Referee.together``."""


def _split_keywords(
    call: tuple[Any, ...],
) -> tuple[Any, str, tuple[Any, ...], dict[str, Any]]:
    if call and isinstance(call[-1], Keywords):
        return call[0], call[1], tuple(call[2:-1]), dict(call[-1])
    return call[0], call[1], tuple(call[2:]), {}


def _keeps_revisions(store: Any) -> bool:
    return getattr(store, "supports_revisions", False) is True


async def _outcome(
    method: Callable[..., Any], args: tuple[Any, ...], keywords: Mapping[str, Any] | None = None
) -> Any:
    try:
        return await method(*args, **(keywords or {}))
    except Exception as error:
        return error


def _matches(error: BaseException, expected: type) -> bool:
    from .contract.checks import matches_error

    for klass in expected.__mro__:
        if klass.__module__.startswith("reference_stores") and matches_error(error, klass):
            return True
    return matches_error(error, expected)


def _raised(error: BaseException) -> str:
    return f"raised {type(error).__name__}: {shorten(str(error), 120)}"


def _counted(counts: Counter[str]) -> str:
    return "; ".join(f"{n} x {shorten(text, 80)}" for text, n in sorted(counts.items()))


_FIELDS = ("session_id", "created_at", "updated_at", "ttl", "data")


def _fields(timed: bool, revisions: bool) -> tuple[str, ...]:
    fields = _FIELDS if timed else ("session_id", "data")
    return (*fields, "revision") if revisions else fields


def _plain_view(value: Any, timed: bool, revisions: bool = False) -> Any:
    """A value as comparable plain data: records by their fields, JSON with its types."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return (type(value).__name__, value)
    if isinstance(value, list):
        return ["list", *(_plain_view(item, timed) for item in value)]
    if isinstance(value, dict):
        return {"dict": sorted((repr(k), _plain_view(v, timed)) for k, v in value.items())}
    if all(hasattr(value, name) for name in _FIELDS):
        fields = _fields(timed, revisions)
        view = {name: _plain_view(getattr(value, name, None), timed) for name in fields}
        if timed:
            for name in ("created_at", "updated_at"):
                moment = getattr(value, name)
                view[name] = (repr(moment.tzinfo), moment.isoformat(timespec="microseconds"))
        return {"record": sorted(view.items())}
    return (type(value).__name__, repr(value))


def _difference(
    got: Any, expected: Any, timed: bool, revisions: bool = False
) -> tuple[str, str] | None:
    seen, wanted = _plain_view(got, timed, revisions), _plain_view(expected, timed, revisions)
    if seen == wanted:
        return None
    if all(hasattr(v, name) for v in (got, expected) for name in _FIELDS):
        for name in _fields(timed, revisions):
            a, b = getattr(got, name, None), getattr(expected, name, None)
            if _plain_view(a, timed) != _plain_view(b, timed):
                return (
                    f"a record whose {name} is {shorten(repr(a), 200)}",
                    f"{shorten(repr(b), 200)}",
                )
    return shorten(repr(got), 200), shorten(repr(expected), 200)


def script_for(trial: Any, problem: str) -> str:
    """The repro script of a failed trial (a ``conformance.trial.Trial``)."""
    from reference_stores import __version__

    builder = trial.builder
    factory = builder.factory
    if trial.clause.id == "ERR-BACKEND" and trial.failing_builder is not None:
        factory = trial.failing_builder.factory
    return render(
        log=trial.repro,
        clause_id=trial.clause.id,
        clause_level=trial.level_override or trial.clause.level,
        clause_text=trial.clause.text,
        problem=problem,
        label=builder.description,
        target=target_of(factory, builder.options),
        kit_version=__version__,
    )
