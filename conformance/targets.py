"""Turn ``--store`` targets into store factories (building and closing stores: ``stores``)."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, cast

from .stores import StoreBuilder, TargetError, interface_problems

__all__ = [
    "STORE_ENTRY_POINT_GROUP",
    "StoreBuilder",
    "StoreTarget",
    "TargetError",
    "parse_store_option",
    "resolve_target",
]

STORE_ENTRY_POINT_GROUP = "mcp_session_store_kit.stores"


@dataclass(frozen=True)
class StoreTarget:
    """One store under test: what the user named, where the name came from, how to build it."""

    label: str
    source: str
    factory: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    failing_options: Mapping[str, Any] | None = None


def parse_store_option(
    text: str, flag: str = "--store-option", addresses: Mapping[str, str] | None = None
) -> tuple[str, Any]:
    """``KEY=VALUE``; VALUE is read as JSON when it parses, else kept as a string.

    ``{strict_dynamodb}`` and ``{faulty_redis}`` in a string VALUE become the
    addresses of this run's strict endpoints (``addresses``).
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise TargetError(
            f"{flag} {text!r}: expected KEY=VALUE with KEY a Python identifier "
            "(or TARGET:KEY=VALUE for one store of several)"
        )
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    from .strict_backends.placeholders import PlaceholderError, substitute

    try:
        value = substitute(value, addresses or {})
    except PlaceholderError as error:
        raise TargetError(f"{flag} {text!r}: {error}") from None
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
