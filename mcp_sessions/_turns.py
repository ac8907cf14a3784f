"""Calls for one key take turns within a process, so they do not make each other retry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

__all__ = ["Turns"]


class _Turn:
    """The lock that calls for one key queue on, and how many do."""

    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.waiting = 0


class Turns:
    """An in-process lock per key, kept only while some call holds or waits for it.

    Conditional writes (``expected_revision``) from one process for one key would
    otherwise race each other and spend their retries on their own siblings; in
    turn, only writers in other processes can still conflict.
    """

    def __init__(self) -> None:
        self._turns: dict[str, _Turn] = {}

    def queued(self, key: str) -> bool:
        """Whether a call for ``key`` holds or waits for its turn now."""
        return key in self._turns

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        """Wait for ``key``'s turn, hold it for the block, then pass it on."""
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.waiting += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.waiting -= 1
            if turn.waiting == 0:
                del self._turns[key]
