"""Opening a ``node:PATH[:EXPORT]`` target: the store factory the suite calls and its opening."""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
from collections.abc import Callable, Generator
from pathlib import Path
from types import TracebackType
from typing import Any

from .declarations import declared_capabilities
from .host import _Host, _NodeTarget
from .store import NodeSessionStore
from .wire import HOST_PATH, NodeBridgeError, _exception_from, encode_value

_EXPORT_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()
"""``ttl_seconds`` left out: the store's options object gets no ``ttlSeconds`` from the kit."""


class _Opening:
    """What the factory returns: await it for the store, or use it with ``async with``."""

    def __init__(
        self, target: _NodeTarget, options: dict[str, Any], clock: Callable[[], float] | None
    ) -> None:
        self._target = target
        self._options = options
        self._clock = clock
        self._store: NodeSessionStore | None = None

    def __await__(self) -> Generator[Any, None, NodeSessionStore]:
        return self._open().__await__()

    async def _open(self) -> NodeSessionStore:
        target = self._target
        host = target.live_host()
        if host is None:
            host = await asyncio.to_thread(target.host)
        try:
            encoded, specials = encode_value(self._options)
        except (TypeError, ValueError) as error:
            raise TypeError(f"store options cannot be sent to JavaScript: {error}") from None
        message = {"op": "construct", "options": encoded, "specials": specials}
        host.set_time(message, self._clock)
        answer = await host.request(message)
        if not answer.get("ok"):
            if answer.get("kind") == "bridge":
                raise NodeBridgeError(f"{target.label}: {answer['error']['message']}")
            raise _exception_from(answer["error"])
        self._store = NodeSessionStore(target, host, answer["result"], self._clock)
        return self._store

    async def __aenter__(self) -> NodeSessionStore:
        return await self._open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.aclose()


def _parse_spec(spec: str) -> tuple[str, str | None]:
    path, sep, export = spec.rpartition(":")
    if sep and path and _EXPORT_NAME.fullmatch(export):
        return path, export
    return spec, None


def node_store_target(
    spec: str, *, runner: str | None = None, cwd: Path | None = None
) -> Callable[..., Any]:
    """The store factory for ``--store=node:SPEC``, SPEC being ``PATH[:EXPORT]``.

    ``runner`` is a command that runs the host instead of ``node`` (``tsx`` for TypeScript;
    split like a shell would, so ``"npx tsx"`` and ``"node --import tsx"`` work too). The
    module is loaded once here, so a missing node, module or export fails at once, in one line.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    path_text, export = _parse_spec(spec.strip())
    if not path_text:
        raise NodeBridgeError(
            "node: needs a module path, as in node:./my-store.js or node:./my-store.js:MyStore"
        )
    if runner:
        argv = shlex.split(runner)
        if not argv:
            raise NodeBridgeError("--node-runner is empty")
        found = shutil.which(argv[0])
        if found is None:
            raise NodeBridgeError(
                f"the node runner {argv[0]!r} was not found on PATH "
                f"(install it, for example: npm install --global {argv[0]})"
            )
    else:
        found = shutil.which("node")
        if found is None:
            raise NodeBridgeError(
                "node was not found on PATH: "
                "install Node.js 18 or later to judge a JavaScript store"
            )
        argv = ["node"]
    argv = [found, *argv[1:], str(HOST_PATH)]
    module = (base / path_text).resolve()
    if not module.is_file():
        raise NodeBridgeError(f"module not found: {module}")
    label = f"node:{spec}"
    target = _NodeTarget(argv, module, export, base, label)
    target.host()  # fail now, in one line, if the module or its export cannot be used

    def open_node_store(
        ttl_seconds: Any = NOT_GIVEN, clock: Callable[[], float] | None = None, **options: Any
    ) -> _Opening:
        """Build the JavaScript store from one options object (``ttl_seconds`` as ``ttlSeconds``)."""
        given = dict(options)
        if ttl_seconds is not NOT_GIVEN:
            given["ttlSeconds"] = ttl_seconds
        return _Opening(target, given, clock)

    # Repro lines then read "store = MemorySessionStore(ttl_seconds=60, clock=clock)", and a
    # script's import line names the JavaScript module.
    export_name = target.export_info.get("name") or export or "default_export"
    open_node_store.__qualname__ = open_node_store.__name__ = export_name
    open_node_store.__module__ = label
    open_node_store.node_target = target  # type: ignore[attr-defined]
    accepts_ttl, accepts_clock = declared_capabilities(target.export_info)
    open_node_store.accepts_ttl = accepts_ttl  # type: ignore[attr-defined]
    open_node_store.accepts_clock = accepts_clock  # type: ignore[attr-defined]
    open_node_store.ttl_parameter = "ttlSeconds"  # type: ignore[attr-defined]
    open_node_store.conformance_repro = (  # type: ignore[attr-defined]
        "from conformance.node_bridge import node_store_target",
        f"node_store_target({str(module) + (':' + export if export else '')!r}, runner={runner!r})",
    )
    return open_node_store


# Kept for tests and tools that want to read a target's host.
def _host_of(factory: Callable[..., Any]) -> _Host:
    target: _NodeTarget = factory.node_target  # type: ignore[attr-defined]
    return target.host()
