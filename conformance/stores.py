"""A store as the kit handles it whatever the clause: built, closed, its errors recognised.

Built from its factory and closed when done, its interface checked, its errors matched by
class or class name. At the bottom of the kit, it imports nothing of the suite: the repro
scripts' ``Referee`` builds and judges stores with it as the suite does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

from reference_stores.interface import SESSION_STORE_METHODS

__all__ = [
    "UNSET",
    "StoreBuilder",
    "TargetError",
    "close_store",
    "declared_not_applicable",
    "interface_problems",
    "matches_error",
    "read_declarations",
    "revisions_not_kept",
]


class TargetError(Exception):
    """A ``--store`` target cannot be used; the message is one line for the user."""


def interface_problems(obj: object) -> str:
    """Empty when ``obj`` (a store or its class) has the five methods as coroutine functions."""
    missing = [name for name in SESSION_STORE_METHODS if not callable(getattr(obj, name, None))]
    not_async = [
        name
        for name in SESSION_STORE_METHODS
        if name not in missing and not inspect.iscoroutinefunction(getattr(obj, name))
    ]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if not_async:
        parts.append("not async (not a coroutine function): " + ", ".join(not_async))
    return "; ".join(parts)


def _accepted_keywords(factory: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return frozenset(), True
    names = set()
    takes_any = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            takes_any = True
        elif parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            names.add(parameter.name)
    return frozenset(names), takes_any


UNSET: Any = object()


class StoreBuilder:
    """Builds stores from a target inside the running event loop and closes what it built."""

    def __init__(
        self, factory: Callable[..., Any], options: Mapping[str, Any] | None = None
    ) -> None:
        self.factory = factory
        self.options = dict(options or {})
        names, takes_any = _accepted_keywords(factory)
        self._keywords, self._takes_any_keyword = names, takes_any
        self.accepts_ttl = takes_any or "ttl_seconds" in names
        self.accepts_clock = takes_any or "clock" in names
        # A factory taking **options may say it takes no TTL, or cannot follow a clock (its
        # backend expires sessions in real time: the suite then waits instead). The Node
        # bridge's factories say both for the JavaScript store they build.
        declared_ttl = getattr(factory, "accepts_ttl", None)
        if isinstance(declared_ttl, bool):
            self.accepts_ttl = declared_ttl and self.accepts_ttl
        declared = getattr(factory, "accepts_clock", None)
        if isinstance(declared, bool):
            self.accepts_clock = declared and self.accepts_clock
        self.description = getattr(factory, "__qualname__", None) or repr(factory)
        # What the TTL is called where the store is written (the Node bridge: ttlSeconds).
        self.ttl_parameter: str = getattr(factory, "ttl_parameter", "ttl_seconds")

    def accepts_keyword(self, name: str) -> bool:
        """Whether the factory's signature takes ``name`` (or any keyword, or cannot be read)."""
        return self._takes_any_keyword or name in self._keywords

    def call_text(self, *, ttl_seconds: Any = UNSET, clock: bool = False) -> str:
        """How the store is built, as Python, for a repro."""
        arguments = [f"{key}={value!r}" for key, value in self.options.items()]
        if ttl_seconds is not UNSET:
            arguments.append(f"ttl_seconds={ttl_seconds!r}")
        if clock:
            arguments.append("clock=clock")
        return f"{self.description}({', '.join(arguments)})"

    async def open(
        self,
        stack: AsyncExitStack,
        *,
        ttl_seconds: Any = UNSET,
        clock: Callable[[], float] | None = None,
    ) -> Any:
        keywords = dict(self.options)
        if ttl_seconds is not UNSET:
            keywords["ttl_seconds"] = ttl_seconds
        if clock is not None and self.accepts_clock:
            keywords["clock"] = clock
        made = self.factory(**keywords)
        if inspect.isawaitable(made) and not _looks_like_store(made):
            made = await made
        if not _looks_like_store(made) and hasattr(made, "__aenter__"):
            made = await stack.enter_async_context(made)
        elif not _looks_like_store(made) and hasattr(made, "__enter__"):
            made = stack.enter_context(made)
        else:
            stack.push_async_callback(close_store, made)
        problems = interface_problems(made)
        if problems:
            raise TargetError(
                f"{self.description} built a {type(made).__name__}, which is not a session store: {problems}"
            )
        return made


def _looks_like_store(obj: object) -> bool:
    return all(hasattr(obj, name) for name in SESSION_STORE_METHODS)


async def close_store(store: object) -> None:
    closer = getattr(store, "aclose", None)
    if callable(closer):
        result = closer()
        if inspect.isawaitable(result):
            await result
        return
    closer = getattr(store, "close", None)
    if callable(closer):
        result = closer()
        if inspect.isawaitable(result):
            await result


def matches_error(error: BaseException, expected: type[BaseException]) -> bool:
    # A store with its own exception hierarchy conforms when the class name matches.
    if isinstance(error, expected):
        return True
    return any(klass.__name__ == expected.__name__ for klass in type(error).__mro__)


_ABSENT: Any = object()


def declared_not_applicable(store: object, clause_id: str) -> str | None:
    """The reason ``store`` gives for ``clause_id`` in ``conformance_not_applicable``, if any."""
    reasons = getattr(store, "conformance_not_applicable", None) or {}
    if not isinstance(reasons, Mapping):
        return None
    reason = reasons.get(clause_id)
    return str(reason) if reason else None


def revisions_not_kept(store: object) -> str | None:
    """Why the Revisions clauses do not bind ``store``; None when it declares it keeps them."""
    declared = getattr(store, "supports_revisions", _ABSENT)
    if declared is True:
        return None
    if declared is _ABSENT:
        return "the store does not declare supports_revisions = True: it keeps no revisions"
    return f"the store declares supports_revisions = {declared!r}: it keeps no revisions"


async def read_declarations(builder: StoreBuilder, *, accepts_ttl: bool) -> object | None:
    """A store built from ``builder`` and closed at once, to read what it declares.

    None when it cannot be built: the checks themselves then say why.
    """
    try:
        async with AsyncExitStack() as stack:
            ttl: Any = 60 if accepts_ttl else UNSET
            clock = (lambda: 1_700_000_000.0) if builder.accepts_clock else None
            store: object = await builder.open(stack, ttl_seconds=ttl, clock=clock)
            return store
    except Exception:  # a store that cannot be built is judged by the checks, not here
        return None
