"""The local time zone TIME-UTC's check moves: away from UTC and the host's own, then back."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from conformance import local_time
from conformance.local_time import LocalZone, local_time_zone, requested_zone

pytestmark = pytest.mark.skipif(
    not local_time.can_set_local_zone(), reason="this Python cannot move its local time zone"
)


@pytest.fixture
def host_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test's own TZ, put back (with tzset) whatever a test does to it."""
    monkeypatch.setenv("TZ", os.environ.get("TZ", "UTC"))
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_zone")
def test_the_zone_is_far_from_utc_inside_and_the_hosts_own_after() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    with local_time_zone() as zone:
        assert zone.offset_seconds == 5 * 3600 + 45 * 60
        assert time.localtime().tm_gmtoff == zone.offset_seconds
        assert requested_zone() == zone
        wall_clock = datetime.now()
        utc = datetime.now(timezone.utc).replace(tzinfo=None)
        assert abs((wall_clock - utc).total_seconds() - zone.offset_seconds) < 5
    assert time.localtime().tm_gmtoff == 0
    assert os.environ["TZ"] == "UTC"
    assert requested_zone() is None


@pytest.mark.usefixtures("host_zone")
def test_a_host_already_at_that_offset_gets_another_zone() -> None:
    os.environ["TZ"] = "<+0545>-05:45"
    time.tzset()
    with local_time_zone() as zone:
        assert zone.name == "Pacific/Marquesas"
        assert time.localtime().tm_gmtoff == -(9 * 3600 + 30 * 60)
    assert time.localtime().tm_gmtoff == 5 * 3600 + 45 * 60


@pytest.mark.usefixtures("host_zone")
def test_without_tz_data_for_the_name_the_posix_string_sets_the_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    os.environ.pop("TZ")
    time.tzset()
    unknown = LocalZone("Nowhere/Kathmandu", "<+0545>-05:45", 5 * 3600 + 45 * 60)
    monkeypatch.setattr(local_time, "ZONES", (unknown,))
    with local_time_zone():
        assert time.localtime().tm_gmtoff == unknown.offset_seconds
        assert os.environ["TZ"] == unknown.posix
    assert "TZ" not in os.environ


@pytest.mark.usefixtures("host_zone")
def test_the_zone_is_put_back_when_the_block_raises() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    with pytest.raises(RuntimeError), local_time_zone():
        raise RuntimeError("a check failed")
    assert time.localtime().tm_gmtoff == 0
    assert requested_zone() is None
