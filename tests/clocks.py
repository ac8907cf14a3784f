"""A clock the tests move by hand: a store's wall clock, or an integration's monotonic one."""

from __future__ import annotations


class ManualClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
