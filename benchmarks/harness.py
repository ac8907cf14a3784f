"""One harness for every backend: each store operation against the raw client call doing the same job.

A backend module (``benchmarks/bench_<name>.py``) exposes ``cases()``, an async
context manager yielding a list of ``Case``. For each case the harness runs the
store call and the raw call alternately, sequentially and with N concurrent
tasks, several rounds each, and reports the median throughput and the ratio
store/raw measured in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Case", "Result", "RevisionedSessions", "measure"]

Call = Callable[[int], Awaitable[object]]
"""Called with a running index, so a call can pick a distinct id per iteration."""


@dataclass(frozen=True)
class Case:
    operation: str
    store_call: Call
    raw_call: Call
    raw_label: str
    concurrent: bool | None = None
    """Whether to run it with N tasks too; None: as the backend module's ``CONCURRENT`` says."""


class RevisionedSessions:
    """Sessions a conditional-update case takes turns on, each with the revision it is at.

    A call takes a session no call in flight holds, so concurrent conditional updates
    never conflict: the case measures the conditional write, not a retry. Hold more
    sessions than the tasks in flight. Store and raw sides each use their own.
    """

    def __init__(self, session_ids: Iterable[object], revision: int = 1) -> None:
        """``session_ids``: what each side addresses a session by (an id, or a table key)."""
        self._free: list[list[Any]] = [[session_id, revision] for session_id in session_ids]

    def take(self) -> list[Any]:
        """``[session_id, revision]``; hand it back with :meth:`written` once the write landed."""
        return self._free.pop()

    def written(self, taken: list[Any]) -> None:
        taken[1] += 1
        self._free.append(taken)


@dataclass(frozen=True)
class Result:
    backend: str
    operation: str
    mode: str
    store_ops_per_s: float
    raw_ops_per_s: float
    raw_label: str

    @property
    def ratio(self) -> float:
        return self.store_ops_per_s / self.raw_ops_per_s


async def _throughput(call: Call, start: int, count: int, concurrency: int) -> float:
    began = time.perf_counter()
    if concurrency == 1:
        for index in range(start, start + count):
            await call(index)
    else:
        queue = iter(range(start, start + count))

        async def worker() -> None:
            for index in queue:
                await call(index)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - began)


async def measure(
    backend: str,
    case: Case,
    *,
    mode: str,
    concurrency: int,
    ops: int,
    rounds: int,
) -> Result:
    """Median throughput over ``rounds``, store and raw interleaved so drift hits both alike."""
    warm_up = max(ops // 10, 10)
    await _throughput(case.store_call, 0, warm_up, concurrency)
    await _throughput(case.raw_call, 0, warm_up, concurrency)
    store_rates: list[float] = []
    raw_rates: list[float] = []
    for round_index in range(rounds):
        # Past the warm-up's indices, however few the ops: a create must get fresh ids.
        start = warm_up + round_index * ops
        store_rates.append(await _throughput(case.store_call, start, ops, concurrency))
        raw_rates.append(await _throughput(case.raw_call, start, ops, concurrency))
    return Result(
        backend=backend,
        operation=case.operation,
        mode=mode,
        store_ops_per_s=statistics.median(store_rates),
        raw_ops_per_s=statistics.median(raw_rates),
        raw_label=case.raw_label,
    )
