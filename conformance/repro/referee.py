"""What a repro script runs: ``Referee``, the store's answers against the reference store's.

It makes each call on the store and on the kit's in-memory reference store, which meets
SPEC.md, and raises ``AssertionError`` naming the clause at the first answer that differs.
Scripts written by an older run import it, so it leans on nothing of the suite: the reference
stores and the modules at the bottom of the kit (``stores``, ``local_time``, ``text``).
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

from reference_stores import InMemorySessionStore
from reference_stores.errors import SessionStoreError

from ..local_time import move_local_zone
from ..stores import UNSET, StoreBuilder, matches_error
from ..text import shorten

__all__ = ["Keywords", "Referee"]


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
        self._step = ""

    def step(self, number: int) -> None:
        """The calls that follow make step ``number`` of a generated sequence (MODEL-SEQUENCES)."""
        self._step = f"step {number}: "

    def fail(self, what: str, got: str, expected: str) -> None:
        raise AssertionError(
            f"{self.clause_id} violated: {self._step}{what}: the store {got}, "
            f"where a store that meets SPEC.md {expected}"
        )

    async def open(self, factory: Callable[..., Any], **options: Any) -> Any:
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
