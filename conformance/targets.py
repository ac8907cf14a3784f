"""Turn ``--store`` targets into store factories, and build and close stores from them."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, cast

from reference_stores.interface import SESSION_STORE_METHODS

__all__ = [
    "STORE_ENTRY_POINT_GROUP",
    "StoreBuilder",
    "StoreTarget",
    "TargetError",
    "parse_store_option",
    "resolve_target",
]

STORE_ENTRY_POINT_GROUP = "mcp_session_store_kit.stores"


class TargetError(Exception):
    """A ``--store`` target cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class StoreTarget:
    """One store under test: what the user named, where the name came from, how to build it."""

    label: str
    source: str
    factory: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    failing_options: Mapping[str, Any] | None = None


def parse_store_option(text: str, addresses: Mapping[str, str] | None = None) -> tuple[str, Any]:
    """``KEY=VALUE``; VALUE is read as JSON when it parses, else kept as a string.

    ``{strict_dynamodb}`` and ``{faulty_redis}`` in a string VALUE become the
    addresses of this run's strict endpoints (``addresses``).
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise TargetError(
            f"--store-option {text!r}: expected KEY=VALUE with KEY a Python identifier"
        )
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    from .strict_backends.placeholders import PlaceholderError, substitute

    try:
        value = substitute(value, addresses or {})
    except PlaceholderError as error:
        raise TargetError(f"--store-option {text!r}: {error}") from None
    return key, value


def short_names() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=STORE_ENTRY_POINT_GROUP)}


def resolve_target(
    spec: str, *, node_runner: str | None = None, cwd: Path | None = None
) -> Callable[..., Any]:
    """Find the class or factory a ``--store`` value names."""
    spec = spec.strip()
    if spec.startswith("node:"):
        from . import node_bridge

        try:
            factory: Callable[..., Any] = node_bridge.node_store_target(
                spec[len("node:") :], runner=node_runner, cwd=cwd
            )
        except node_bridge.NodeBridgeError as error:
            raise TargetError(f"--store={spec}: {error}") from None
        return factory
    names = short_names()
    if spec in names:
        try:
            loaded: Callable[..., Any] = names[spec].load()
        except ImportError as error:
            raise TargetError(
                f"--store={spec}: cannot load it ({error}); is its extra installed? "
                f"(pip install 'mcp-session-store-kit[{spec}]')"
            ) from None
        _check_class(spec, loaded)
        return loaded
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        known = ", ".join(sorted(names)) or "none"
        raise TargetError(
            f"--store={spec}: expected a short name ({known}), MODULE:ATTRIBUTE, or node:PATH[:EXPORT]"
        )
    with _cwd_on_path(cwd):
        try:
            module = importlib.import_module(module_name)
        # An import runs arbitrary code: any failure is the user's to see, in one line.
        except Exception as error:
            raise TargetError(
                f"--store={spec}: cannot import module {module_name!r}: {type(error).__name__}: {error}"
            ) from None
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise TargetError(
                f"--store={spec}: module {module_name!r} has no attribute {attribute!r}"
            ) from None
    if not callable(target):
        raise TargetError(
            f"--store={spec}: {attribute!r} is a {type(target).__name__}, not a class or callable"
        )
    _check_class(spec, target)
    return cast("Callable[..., Any]", target)


def _check_class(spec: str, target: object) -> None:
    if inspect.isclass(target):
        problems = interface_problems(target)
        if problems:
            raise TargetError(
                f"--store={spec}: {target.__name__} does not implement the session store "
                f"interface: {problems}"
            )


@contextlib.contextmanager
def _cwd_on_path(cwd: Path | None) -> Any:
    # `pytest --store=mymodule:MyStore` from the module's folder should just work, as `python -m` does.
    folder = str(cwd or Path.cwd())
    import sys

    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)


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
