"""Expired sessions removed in the background, for stores that keep them until purged."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

__all__ = [
    "DEFAULT_PURGE_INTERVAL",
    "purge_expired_periodically",
    "purger_of",
    "resolve_purge_interval",
]

logger = logging.getLogger(__name__)

DEFAULT_PURGE_INTERVAL = 300.0
"""Seconds between two background ``purge_expired()`` calls of one process."""

Purge = Callable[[], Awaitable[Any]]


def resolve_purge_interval(purge_interval: float | None) -> float | None:
    """``purge_interval`` checked: a positive, finite number of seconds, or None (off)."""
    if purge_interval is None:
        return None
    if isinstance(purge_interval, bool) or not isinstance(purge_interval, (int, float)):
        raise TypeError(
            f"purge_interval must be a number of seconds or None (off), "
            f"not {type(purge_interval).__name__}"
        )
    if not (math.isfinite(purge_interval) and purge_interval > 0):
        raise ValueError(
            f"purge_interval must be positive and finite (or None: off), not {purge_interval!r}"
        )
    return float(purge_interval)


def purger_of(store: object) -> Purge | None:
    """The store's ``purge_expired`` (called without arguments), or None when it has none."""
    purge = getattr(store, "purge_expired", None)
    return purge if callable(purge) else None


async def purge_expired_periodically(
    purge: Purge,
    interval: float,
    *,
    sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
) -> None:
    """Call ``purge()`` now and then every ``interval`` seconds, until cancelled.

    Expired sessions are already invisible: purging only frees their space, so
    a failed purge is logged and tried again at the next interval.
    """
    while True:
        try:
            purged = await purge()
        except Exception:
            logger.warning("Could not purge expired sessions from the store", exc_info=True)
        else:
            logger.debug("Purged %s expired sessions from the store", purged)
        await sleep(interval)
