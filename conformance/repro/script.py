"""From the record of a failed trial to a standalone Python script, and its terminal view.

The script makes the trial's calls on the store and, side by side, on the kit's in-memory
reference store through ``Referee`` (``referee``), which raises ``AssertionError`` naming the
clause at the first answer that differs.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import pprint
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..stores import UNSET
from ..text import shorten
from .log import Build, Bulk, Call, ClockMove, Mutation, ReproLog, Sleep, Step, ZoneChange

if TYPE_CHECKING:  # the type alone: trial loads this package (for ``log``) as it loads
    from ..trial import Trial

__all__ = [
    "Target",
    "file_name",
    "render",
    "safe_file_part",
    "script_for",
    "source",
    "target_of",
    "terminal_view",
]


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
        return repr(value)  # "datetime.datetime(...)": the script imports the module
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


_OUTCOME_MARK = "  # in the suite: "


def _outcome_comment(call: Call) -> str:
    if call.ended < 0 or not call.seen:
        return ""
    if call.error is not None:
        seen = f"raised {type(call.error).__name__}"
    else:
        seen = "-> " + shorten(repr(call.result), 50)
    return f"{_OUTCOME_MARK}{seen}"


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
    step: int | None = None
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
        elif isinstance(first, Bulk):
            prefix = names.value(first.prefix)
            data = (
                f", {{'n': n, 'pad': 'x' * {first.pad}}}"
                if first.method == "create_session"
                else ""
            )
            body += [
                f"    for n in range({first.count}):  # the suite made these calls many at a time",
                f"        await check({first.store}, {first.method!r}, {prefix} + f'{{n:05d}}'{data})",
            ]
        elif isinstance(first, ZoneChange):
            body.append(f"    check.local_time_zone({first.zone!r})")
        elif isinstance(first, Mutation):
            name = names.objects.get(id(first.target), "obj")
            for line in first.code.format(name).splitlines():
                body.append(f"    {line}")
        elif len(group) == 1 and isinstance(first, Call):
            if first.step is not None and first.step != step:
                step = first.step
                body.append(f"    check.step({step})")
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
        # The path scripts already written import: it stays, whatever moves behind it.
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


def terminal_view(script: str, full_copy: str, max_lines: int = 50, width: int = 120) -> list[str]:
    """The script as the terminal shows it, after a line that says how to use it.

    A script that fits is shown whole from its first import, so pasted into a file it runs.
    A longer one is shown cut (long runs of lines and long lines) and says so, naming where
    the full script is (``full_copy``: its file, or how to get one).
    """
    lines = [_fit_comment(line, width) for line in script.rstrip("\n").splitlines()]
    first_import = next((i for i, line in enumerate(lines) if line.startswith("import ")), 0)
    whole = lines[first_import:]
    if len(whole) <= max_lines and all(len(line) <= width for line in whole):
        return [
            "a repro, runnable as printed (save it as a .py file, run it with python from this "
            "folder):",
            *whole,
        ]
    # Cut: the import header goes first, as it says nothing about the failure.
    start = next((i for i, line in enumerate(lines) if line.startswith("from conformance")), 0)
    shown = [line if len(line) <= width else line[: width - 1] + "…" for line in lines[start:]]
    if len(shown) > max_lines:
        hidden = len(shown) - max_lines
        shown = [
            *shown[: max_lines // 2],
            f"    # ... {hidden} more lines ...",
            *shown[-max_lines // 2 :],
        ]
    return [f"a repro, shortened here so it does not run as printed; in full: {full_copy}", *shown]


def _fit_comment(line: str, width: int) -> str:
    """A long line whose excess is the suite's outcome comment: that comment cut, the code kept."""
    code, marker, comment = line.rpartition(_OUTCOME_MARK)
    if len(line) <= width or not marker or len(code) + len(marker) + 2 > width:
        return line
    return code + marker + shorten(comment, width - len(code) - len(marker))


def file_name(store_label: str, clause_id: str) -> str:
    """The name of a repro's file in ``--conformance-repro-dir``: one per store and clause."""
    return f"{safe_file_part(store_label)}__{clause_id}.py"


def safe_file_part(store_label: str) -> str:
    """A store's label as part of a file name (``broken_stores:X`` -> ``broken_stores_X``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in store_label)


def script_for(trial: Trial, problem: str) -> str:
    """The repro script of a failed trial."""
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
