"""Which DynamoDB requests are throttled, on a seeded schedule, call by call.

A throttled request is answered as DynamoDB answers it (HTTP 400,
``ProvisionedThroughputExceededException`` or ``ThrottlingException``, both
retryable) and never reaches the emulator, so it changed nothing.

The schedule decides per call, not per request: SDKs send every attempt of one
call with the same ``amz-sdk-invocation-id`` header (botocore and the
JavaScript SDK v3 both do). In each block of 12 calls of one operation, one call
is throttled on every attempt (a burst longer than any retry policy: the store
has to raise) and one only on its first attempt (a store that retries gets its
answer); which ones, and which of the two error codes, the seed decides. A
request without the header counts as a call of its own.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping

from .schedule import seeded_int, seeded_positions

__all__ = ["THROTTLING_ERRORS", "Throttle", "ThrottleSchedule"]

BLOCK = 12
THROTTLING_ERRORS = {
    "ProvisionedThroughputExceededException": (
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API."
    ),
    "ThrottlingException": "Rate of requests exceeds the allowed throughput.",
}
_CODES = tuple(THROTTLING_ERRORS)
_REMEMBERED_CALLS = 4096


class Throttle:
    """What the schedule decided for one call."""

    def __init__(self, code: str | None, every_attempt: bool) -> None:
        self.code = code
        self.every_attempt = every_attempt
        self.attempts = 0


class ThrottleSchedule:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._calls: OrderedDict[str, Throttle] = OrderedDict()
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.throttled = 0

    def refuse(self, operation: str, headers: Mapping[str, str], body: bytes) -> str | None:
        """The error code to answer this request with, or None to serve it."""
        call_id = headers.get("amz-sdk-invocation-id") or hashlib.sha256(body).hexdigest()
        with self._lock:
            throttle = self._calls.get(f"{operation}:{call_id}")
            if throttle is None:
                throttle = self._decide(operation)
                self._calls[f"{operation}:{call_id}"] = throttle
                if len(self._calls) > _REMEMBERED_CALLS:
                    self._calls.popitem(last=False)
            throttle.attempts += 1
            if throttle.code is None or (not throttle.every_attempt and throttle.attempts > 1):
                return None
            self.throttled += 1
            return throttle.code

    def _decide(self, operation: str) -> Throttle:
        number = self._counts.get(operation, 0)
        self._counts[operation] = number + 1
        block, place = divmod(number, BLOCK)
        every, once = seeded_positions(
            self.seed, "throttle", operation, block, count=2, within=BLOCK
        )
        code = _CODES[seeded_int(self.seed, "throttle-code", operation, block, below=2)]
        if place == every:
            return Throttle(code, every_attempt=True)
        if place == once:
            other = _CODES[1 - _CODES.index(code)]
            return Throttle(other, every_attempt=False)
        return Throttle(None, every_attempt=False)
