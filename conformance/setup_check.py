"""The setup check: build each store once and make one harmless call before any clause runs.

A store that cannot be built, or whose backend does not answer, would otherwise fail every
clause for the same reason. The check turns that into one short block: what was built, the
error and its causes, and a hint. What the backend's client logs meanwhile (psycopg_pool
logs each failed connection attempt) is held back, so the block is all the user reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

from .stores import StoreBuilder, TargetError
from .targets import StoreTarget
from .text import shorten

__all__ = ["SETUP_TIMEOUT_SECONDS", "setup_problem"]

SETUP_TIMEOUT_SECONDS = 30.0

_ADDRESS_KEYS = ("url", "dsn", "endpoint_url", "host", "address", "conninfo")


def setup_problem(
    target: StoreTarget, *, show_log: bool = False, one_of_several: bool = False
) -> str | None:
    """None when the store builds and answers ``session_exists``; else the block to print.

    ``show_log`` (pytest -v) appends the log lines held back during the check to the block;
    ``one_of_several`` hints at options scoped to the store (``TARGET:NAME=VALUE``).
    """
    builder = StoreBuilder(target.factory, target.options)
    reached = ["building it"]
    with _held_log() as held:
        try:
            asyncio.run(_build_and_ask(builder, reached))
        except Exception as error:
            problem = _block(target, builder, reached[-1], error, one_of_several)
        else:
            return None
    if not held:
        return problem
    if not show_log:
        count = len(held)
        return (
            f"{problem}\n  log:     {count} line{'' if count == 1 else 's'} of the backend "
            "client's log held back (-v shows them)"
        )
    return "\n".join(
        [problem, "  log:     held back during the check:", *(f"    {line}" for line in held)]
    )


class _HoldingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # a record that cannot be formatted is dropped
            message = record.getMessage().splitlines()
            self.lines.append(f"{record.levelname} {record.name}: {message[0] if message else ''}")


@contextlib.contextmanager
def _held_log() -> Iterator[list[str]]:
    """Log records of the check go to a list instead of stderr (logging's last resort)."""
    root = logging.getLogger()
    handler = _HoldingHandler()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)


async def _build_and_ask(builder: StoreBuilder, reached: list[str]) -> None:
    async with AsyncExitStack() as stack:
        try:
            store = await asyncio.wait_for(builder.open(stack), SETUP_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no store after {SETUP_TIMEOUT_SECONDS:g} s") from None
        reached.append("calling session_exists on it")
        probe_id = f"setup-check-{secrets.token_hex(8)}"
        try:
            answer = await asyncio.wait_for(store.session_exists(probe_id), SETUP_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer after {SETUP_TIMEOUT_SECONDS:g} s") from None
        del answer  # any answer is fine here: the clauses judge it
        reached.append("closing it")


def _block(
    target: StoreTarget,
    builder: StoreBuilder,
    step: str,
    error: BaseException,
    one_of_several: bool = False,
) -> str:
    lines = [
        f"--store={target.label}: the store could not be set up, so no clause was judged.",
        f"  built:   {shorten(builder.call_text(), 200)}",
        f"  failed:  {step}",
        f"  error:   {_describe(error)}",
    ]
    seen = {id(error)}
    cause = error.__cause__ or error.__context__
    while cause is not None and id(cause) not in seen and len(lines) < 10:
        seen.add(id(cause))
        # A wrapper often quotes its cause ("redis: ... failed: ConnectionError: ..."):
        # a cause whose text is already on screen adds nothing.
        if not any(_message(cause) in line for line in lines):
            lines.append(f"  cause:   {_describe(cause)}")
        cause = cause.__cause__ or cause.__context__
    lines.extend(
        f"  hint:    {hint}" for hint in _hints(target, builder, step, error, one_of_several)
    )
    return "\n".join(lines)


def _message(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return shorten(text[0], 300) if text else type(error).__name__


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(error, TargetError):
        return shorten(first, 300)
    return shorten(f"{type(error).__name__}: {first}" if first else type(error).__name__, 300)


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _hints(
    target: StoreTarget,
    builder: StoreBuilder,
    step: str,
    error: BaseException,
    one_of_several: bool = False,
) -> list[str]:
    chain = _chain(error)
    hints = []
    unreachable = any(
        isinstance(e, (ConnectionError, TimeoutError, OSError)) for e in chain
    ) or any("connect" in str(e).lower() for e in chain)
    if unreachable:
        address = _address(target)
        hints.append(
            f"is the server running at {address}?"
            if address
            else "is the backend's server running, and reachable from here?"
        )
    if (step == "building it" and not unreachable) or isinstance(error, TypeError):
        accepted = _accepted(builder.factory)
        if accepted:
            hints.append(
                f"{builder.description} takes {', '.join(accepted)}: "
                f"pass them as --store-option {target.label + ':' if one_of_several else ''}"
                "NAME=VALUE"
            )
    if not hints:
        hints.append("the suite builds the store exactly as 'built' shows; try that in Python")
    return hints


def _address(target: StoreTarget) -> str:
    for key in _ADDRESS_KEYS:
        value = target.options.get(key)
        if isinstance(value, str) and value:
            return value
    for value in target.options.values():
        if isinstance(value, str) and "://" in value:
            return value
    # The short names read their address from the environment when no option gives one.
    variable = {"redis": "REDIS_URL", "postgres": "DATABASE_URL"}.get(target.label)
    return os.environ.get(variable, "") if variable else ""


def _accepted(factory: Any) -> list[str]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in parameters
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in ("clock", "self")
    ]
