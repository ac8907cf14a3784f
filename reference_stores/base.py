"""What every reference store shares: its TTL in whole milliseconds, and closing."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

from .validation import validate_ttl_seconds

__all__ = ["ReferenceStore", "ttl_ms_from_seconds"]

_Store = TypeVar("_Store", bound="ReferenceStore")


def ttl_ms_from_seconds(ttl_seconds: object) -> int | None:
    """Validate ``ttl_seconds`` and turn it into whole milliseconds, rounded up.

    Rounded up, so a session is never live for less than ``ttl_seconds``; through
    whole microseconds first, so 0.3 s is 300 ms and not 301.
    """
    ttl = validate_ttl_seconds(ttl_seconds)
    return None if ttl is None else -(-round(ttl * 1_000_000) // 1000)


class ReferenceStore:
    """The base of the reference stores: ``ttl_seconds``, ``aclose()`` and ``async with``."""

    _ttl_ms: int | None = None

    @property
    def ttl_seconds(self) -> float | None:
        """The TTL the store applies, in seconds (whole milliseconds); None: never expire."""
        return None if self._ttl_ms is None else self._ttl_ms / 1000

    async def aclose(self) -> None:
        """Release what the store opened; a store that opened nothing has nothing to do."""

    async def __aenter__(self: _Store) -> _Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
