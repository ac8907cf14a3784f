"""The local time zone, moved away from UTC for a check, so that local time labelled UTC shows.

On a host whose local time is UTC, ``datetime.now().replace(tzinfo=timezone.utc)`` gives
the right instant; anywhere else it is off by the zone's offset. TIME-UTC's check runs
inside :func:`local_time_zone`, which sets this process's ``TZ`` (``time.tzset``) and asks
the Node bridge to set its host's too, so the mistake shows whatever the host's own zone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = [
    "LocalZone",
    "can_set_local_zone",
    "local_time_zone",
    "move_local_zone",
    "requested_zone",
]


@dataclass(frozen=True)
class LocalZone:
    name: str
    """Its IANA name, which Python and Node alike understand (given tz data)."""
    posix: str
    """The same offset as a POSIX ``TZ`` string, for a host without tz data."""
    offset_seconds: int
    """East of UTC; neither zone has daylight saving time."""

    @property
    def span(self) -> str:
        """The offset's size, ``"05:45"``."""
        hours, minutes = divmod(abs(self.offset_seconds) // 60, 60)
        return f"{hours:02d}:{minutes:02d}"

    @property
    def label(self) -> str:
        return f"{self.name} (UTC{'+' if self.offset_seconds >= 0 else '-'}{self.span})"


ZONES = (
    LocalZone("Asia/Kathmandu", "<+0545>-05:45", 5 * 3600 + 45 * 60),
    LocalZone("Pacific/Marquesas", "<-0930>09:30", -(9 * 3600 + 30 * 60)),
)
"""Offsets no host is likely to be in, and not whole hours, so no rounding hides them."""

_requested: LocalZone | None = None


def requested_zone() -> LocalZone | None:
    """The zone a check runs in now, which the Node bridge passes on; None: the host's own."""
    return _requested


def can_set_local_zone() -> bool:
    """Whether this Python can change its own local time zone (``time.tzset``, not on Windows)."""
    return hasattr(time, "tzset")


def zone_named(name: str) -> LocalZone:
    for zone in ZONES:
        if zone.name == name:
            return zone
    raise ValueError(f"no local time zone {name!r} here; one of {[z.name for z in ZONES]}")


def move_local_zone(name: str | None = None) -> tuple[LocalZone, Callable[[], None]]:
    """Move the local time zone away from UTC and the host's own (or to ``name``).

    Returns the zone and the call that puts back what was there before.
    """
    global _requested
    own_offset = time.localtime().tm_gmtoff
    if name is not None:
        zone = zone_named(name)
    else:
        zone = next(z for z in ZONES if z.offset_seconds != own_offset)
    saved, previous = os.environ.get("TZ"), _requested
    _requested = zone
    if can_set_local_zone():
        _set_tz(zone.name)
        if time.localtime().tm_gmtoff != zone.offset_seconds:  # no tz data for the name
            _set_tz(zone.posix)

    def restore() -> None:
        global _requested
        _requested = previous
        if can_set_local_zone():
            _set_tz(saved)

    return zone, restore


@contextmanager
def local_time_zone(name: str | None = None) -> Iterator[LocalZone]:
    """Run the block in a local time zone other than UTC and the host's own (or ``name``)."""
    zone, restore = move_local_zone(name)
    try:
        yield zone
    finally:
        restore()


def _set_tz(value: str | None) -> None:
    if value is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = value
    time.tzset()
