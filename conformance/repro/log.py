"""What a scenario did, written down as it happened: the record a repro script is made from.

A trial records every store it built, every call (with its arguments, in the order the calls
started, and which ones overlapped), every move of the clock and every change the scenario made
to an object it gave to or got from the store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Build",
    "Bulk",
    "Call",
    "ClockMove",
    "Mutation",
    "ReproLog",
    "Sleep",
    "Step",
    "ZoneChange",
]


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
    step: int | None = None
    """The step of a generated sequence the call belongs to (counted from 1), if it is one."""


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


@dataclass
class Bulk:
    """``count`` calls of one method, one for each id ``prefix`` + five digits of ``n``; a
    ``create_session`` gives ``{"n": n, "pad": "x" * pad}``. Written down as one step, so that
    a check of thousands of sessions gives a repro of a loop, not of thousands of lines."""

    store: str
    method: str
    count: int
    prefix: str
    pad: int = 0


def bulk_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:05d}"


def bulk_data(n: int, pad: int) -> dict[str, Any]:
    return {"n": n, "pad": "x" * pad}


Step = Build | Call | Bulk | ClockMove | Sleep | Mutation | ZoneChange


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

    def bulk(self, step: Bulk) -> None:
        self.steps.append(step)

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
        self,
        operations: list[tuple[str, int, Any]],
        ids: list[str],
        ttl_seconds: Any,
        clock: bool,
        skipped: frozenset[int] = frozenset(),
    ) -> None:
        """Record a generated sequence (MODEL-SEQUENCES) the way the model checked it.

        Steps in ``skipped`` were left out when the store met them (they lean on a clause
        the store fails): the record leaves them out too, so it holds exactly the calls the
        store saw. Each call carries the number of its step, as the suite's message counts.
        """
        self.steps = [Build("store", ttl_seconds, clock)]
        if clock and self.clock_start is None:
            self.clock_start = math.floor(time.time() * 1000) / 1000
        elif not clock:
            self.clock_start = None
        moved = 0.0
        for index, (name, slot, argument) in enumerate(operations):
            if name == "advance":
                moved += argument
                self.steps.append(ClockMove(round(moved, 3)))
                continue
            if index in skipped:
                continue
            args: tuple[Any, ...] = (ids[slot],)
            if argument is not None or name == "create_session":
                args = (ids[slot], argument)
            self.start("store", name, args).step = index + 1
            if name not in ("get_session", "session_exists"):
                self.start("store", "get_session", (ids[slot],)).step = index + 1
        for call in self.steps:
            if isinstance(call, Call):
                call.ended = call.started  # replayed one at a time
                call.seen = False
