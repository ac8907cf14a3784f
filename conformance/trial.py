"""One run of one contract scenario: a fresh event loop, fresh stores, fresh ids, a repro log."""

from __future__ import annotations

import asyncio
import math
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from datetime import datetime, timezone
from typing import Any

from reference_stores.interface import SESSION_STORE_METHODS

from .clauses import Clause
from .local_time import LocalZone, can_set_local_zone, local_time_zone
from .repro.log import Bulk, ReproLog, bulk_data, bulk_id
from .stores import UNSET, StoreBuilder, declared_not_applicable

__all__ = [
    "ID_ALPHABET",
    "PLAIN_ID_ALPHABET",
    "ClauseViolation",
    "FakeClock",
    "NotApplicable",
    "RecordingStore",
    "Trial",
]

ID_ALPHABET = "".join(chr(code) for code in range(0x21, 0x7F))
"""Every character a session id may hold (0x21-0x7E)."""

PLAIN_ID_ALPHABET = string.ascii_letters + string.digits
"""Ids for clauses that are not about ids: nothing a store could mangle, so an id mistake
shows under the ID clauses alone."""

FAKE_CLOCK_OFFSET = 1_000_003.437
"""How far ahead of real time the fake clock starts: a store that stamps a time from any
other clock (the database's, the host's) is off by days, never by a lucky millisecond."""

REAL_TIME_TTL_SECONDS = 2
"""The TTL used when the store takes no clock and the suite has to wait for real."""

NO_CLOCK_STEP_BACK = "step-back not tried: the store takes no clock"
NO_CLOCK_YEARS = "a wait of years not tried: the store takes no clock"
NO_CLOCK_LOCAL_ZONE = (
    "a local time zone other than the host's not tried: the store takes no clock, so the TTL "
    "checks run together in real time"
)


class ClauseViolation(AssertionError):
    """The store broke the clause under test; the message says how."""


class NotApplicable(Exception):
    """The clause cannot be checked against this store; the message says why."""


class FakeClock:
    """A clock the suite moves by hand: Unix epoch seconds as float, days ahead of real time."""

    def __init__(self, start: float | None = None) -> None:
        if start is None:
            self._now = math.floor(time.time()) + FAKE_CLOCK_OFFSET
        else:
            self._now = math.floor(start * 1000) / 1000

    def __call__(self) -> float:
        return self._now

    def set(self, moment: float) -> None:
        self._now = max(self._now, moment)

    def step_back(self, seconds: float) -> None:
        """Move backwards, as a system clock step would (``set`` only moves forwards)."""
        self._now -= seconds


class RecordingStore:
    """Passes every call to the store and writes it down, so a failure can show how it came about."""

    def __init__(
        self, store: Any, name: str, log: list[str], repro: ReproLog | None = None
    ) -> None:
        self.wrapped = store
        self._name = name
        self._log = log
        self._repro = repro
        for method in SESSION_STORE_METHODS:
            setattr(self, method, self._recorded(method))

    def _recorded(self, method: str) -> Callable[..., Awaitable[Any]]:
        target = getattr(self.wrapped, method)

        async def call(*args: Any, **keywords: Any) -> Any:
            shown = [_short_repr(a) for a in args]
            shown += [f"{name}={_short_repr(value)}" for name, value in keywords.items()]
            text = f"await {self._name}.{method}({', '.join(shown)})"
            step = self._repro.start(self._name, method, args, keywords) if self._repro else None
            try:
                result = await target(*args, **keywords)
            except BaseException as error:
                if step is not None and self._repro is not None:
                    self._repro.finish(step, error=error)
                self._log.append(f"{text}  # raised {type(error).__name__}: {_first_line(error)}")
                raise
            if step is not None and self._repro is not None:
                self._repro.finish(step, result)
            self._log.append(f"{text}  # -> {_short_repr(result)}")
            return result

        call.__name__ = method
        return call

    def __repr__(self) -> str:
        return f"<{self._name}: {type(self.wrapped).__name__}>"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else ""


def _short_repr(value: Any, limit: int = 300) -> str:
    text = repr(value)
    if len(text) > limit:
        return f"{text[: limit - 40]}...<{len(text)} characters>...{text[-20:]}"
    return text


class Trial:
    """What a scenario works with: stores built from the target, ids, time, and checks."""

    def __init__(
        self,
        builder: StoreBuilder,
        clause: Clause,
        stack: AsyncExitStack,
        *,
        use_ttl: bool,
        settings: Mapping[str, Any],
    ) -> None:
        self.builder = builder
        self.clause = clause
        self.settings = settings
        self.log: list[str] = []
        self.created_ids: list[str] = []
        self._stack = stack
        self._stores: list[tuple[RecordingStore, Any]] = []
        self.clock: FakeClock | None = FakeClock() if builder.accepts_clock else None
        self.ttl_seconds: float = 60 if self.clock is not None else REAL_TIME_TTL_SECONDS
        self.margin = 0.01 if self.clock is not None else 0.25
        """How far from a TTL boundary a check stays, so call latency cannot blur it."""
        self.use_ttl = use_ttl
        self.level_override: str | None = None
        self.untried: list[str] = []
        """Parts of the clause this store could not be put through; a pass then says so."""
        self.failing_builder: StoreBuilder | None = None
        self.verdicts: dict[str, str] = {}
        """Verdicts (``pass``, ``fail``, ...) on the clauses the scenario consults."""
        self._start = 0.0
        self.repro = ReproLog(clock_start=self.clock() if self.clock is not None else None)
        """Every step as it happened, for the repro script of a failure."""
        self.repro_script = ""
        self._bulk_prefixes: dict[str, str] = {}

    async def open(self, *, ttl_seconds: Any = UNSET, name: str | None = None) -> Any:
        """A new store object built from the target (with the trial's clock when it takes one)."""
        if ttl_seconds is UNSET and self.use_ttl:
            ttl_seconds = self.ttl_seconds
        name = name or ("store" if not self._stores else f"store{len(self._stores) + 1}")
        self.log.append(
            f"{name} = {self.builder.call_text(ttl_seconds=ttl_seconds, clock=self.clock is not None)}"
        )
        self.repro.build(name, ttl_seconds, self.clock is not None)
        raw = await self.builder.open(self._stack, ttl_seconds=ttl_seconds, clock=self.clock)
        recorded = RecordingStore(raw, name, self.log, self.repro)
        self._stores.append((recorded, raw))
        reason = self.declared_not_applicable(raw)
        if reason:
            # The reason says who decided: the store, or the bridge it is reached through.
            raise NotApplicable(reason)
        return recorded

    async def tick(self) -> None:
        """Let time pass visibly: 2 s on a fake clock (whole seconds show in ``ttl``), 5 ms for real."""
        await self.sleep(2.0 if self.clock is not None else 0.005)

    def rewind(self, seconds: float) -> None:
        """Move the fake clock backwards, as a system clock step would."""
        assert self.clock is not None
        self.clock.step_back(seconds)
        self.repro.clock_back(self.clock(), seconds)
        self.log.append(f"clock.set({self.clock._now:.3f})  # stepped back {seconds:g} s")

    @contextmanager
    def local_time_zone(self) -> Iterator[LocalZone]:
        """Run the block with the local time zone (here and in a Node host) far from UTC."""
        with local_time_zone() as zone:
            self.repro.local_zone(zone.name)
            self.log.append(f"# the local time zone is now {zone.label}")
            if not can_set_local_zone():
                self.not_tried("a local time zone other than the host's: no time.tzset here")
            try:
                yield zone
            finally:
                self.repro.local_zone(None)
                self.log.append("# the local time zone is the host's own again")

    def mutated(self, target: Any, code: str) -> None:
        """Write down a change the scenario just made to an object it gave to or got from the store.

        ``code`` is Python with ``{0}`` standing for the object, so the repro makes the same change.
        """
        self.repro.mutation(target, code)
        self.log.append(code.format(f"<{type(target).__name__}>"))

    def raw(self, store: RecordingStore) -> Any:
        return store.wrapped

    def new_id(self, length: int = 32, alphabet: str = PLAIN_ID_ALPHABET) -> str:
        """A fresh random id; the ID clauses ask for the whole id alphabet."""
        session_id = "".join(secrets.choice(alphabet) for _ in range(length))
        self.created_ids.append(session_id)
        return session_id

    async def in_bulk(
        self,
        store: RecordingStore,
        method: str,
        count: int,
        *,
        pad: int = 0,
        workers: int = 64,
        budget: float | None = None,
    ) -> list[Any]:
        """Up to ``count`` calls of ``method`` on the ids ``bulk_id`` makes, ``workers`` at a
        time, in the order of ``n``; with a ``budget`` (seconds), no call starts after it.

        Made on the store itself and written down as one step (``Bulk``): recording each
        of thousands of calls would cost more than the calls, and a repro of them is a loop.
        Returns the answers of the calls made, which are the first ones.
        """
        if store._name not in self._bulk_prefixes:
            self._bulk_prefixes[store._name] = self.new_id(20)
        prefix = self._bulk_prefixes[store._name]
        step = Bulk(store._name, method, count, prefix, pad)
        self.repro.bulk(step)
        target = getattr(store.wrapped, method)
        found: list[Any] = [None] * count
        stop_at = None if budget is None else time.monotonic() + budget
        started = 0

        async def worker() -> None:
            nonlocal started
            while started < count and (stop_at is None or time.monotonic() < stop_at):
                n = started
                started += 1
                session_id = bulk_id(prefix, n)
                if method == "create_session":
                    self.created_ids.append(session_id)
                    found[n] = await target(session_id, bulk_data(n, pad))
                else:
                    found[n] = await target(session_id)

        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            step.count = started
            self.log.append(f"# {started} calls of {store._name}.{method}, ids {prefix}00000 on")
        if method == "delete_session":  # deleted here: the cleanup need not, one by one
            gone = {bulk_id(prefix, n) for n in range(started)}
            self.created_ids[:] = [sid for sid in self.created_ids if sid not in gone]
        return found[:started]

    def remember(self, session_id: str) -> str:
        self.created_ids.append(session_id)
        return session_id

    # Time: a fake clock moves at once; without one the suite really waits.
    def now(self) -> float:
        return self.clock() if self.clock is not None else time.time()

    async def sleep_until(self, moment: float) -> None:
        if self.clock is not None:
            self.clock.set(moment)
            self.repro.clock_to(moment)
            self.log.append(f"clock.set({moment:.3f})  # +{moment - self._start:.3f} s")
            return
        delay = moment - time.time()
        if delay > 0:
            self.log.append(f"await asyncio.sleep({delay:.3f})")
            self.repro.sleep(delay)
            await asyncio.sleep(delay)

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + seconds)

    def start(self) -> None:
        self._start = self.now()

    def check(self, condition: object, problem: str) -> None:
        if not condition:
            raise ClauseViolation(problem)

    def not_applicable(self, reason: str) -> None:
        raise NotApplicable(reason)

    def not_tried(self, part: str) -> None:
        """Record a part of the clause this store cannot be tested on (``"step-back: ..."``).

        The scenario goes on; a pass is reported as partial, naming each part not tried.
        """
        if part not in self.untried:
            self.untried.append(part)

    def declared_not_applicable(self, store: Any) -> str | None:
        raw = store.wrapped if isinstance(store, RecordingStore) else store
        return declared_not_applicable(raw, self.clause.id)

    def notes(self) -> list[str]:
        notes = []
        for _recorded, raw in self._stores:
            found = getattr(raw, "conformance_notes", None) or {}
            if isinstance(found, Mapping) and self.clause.id in found:
                notes.append(str(found[self.clause.id]))
        return sorted(set(notes))

    def clock_hint(self) -> str:
        return (
            f" (the store was given a clock reading {FAKE_CLOCK_OFFSET:.0f} s ahead of real time)"
            if self.clock is not None
            else ""
        )

    # Time bounds for checks on timestamps
    def moment_bounds(self, began: float, ended: float) -> tuple[datetime, datetime]:
        """The window a timestamp taken during a call may fall in (1 s slack without a fake clock)."""
        slack = 0.0015 if self.clock is not None else 1.0
        return _utc(began - slack), _utc(ended + slack)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)
