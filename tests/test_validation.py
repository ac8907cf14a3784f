"""The shared validation and conversions every reference store uses."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from reference_stores import InvalidSessionIdError
from reference_stores.validation import (
    MAX_DEPTH,
    datetime_from_ms,
    iso_from_ms,
    ms_from_iso,
    validate_data,
    validate_session_id,
    validate_ttl_seconds,
    validate_updates,
)


def test_ids_of_the_whole_alphabet_pass_and_others_name_the_character() -> None:
    alphabet = "".join(chr(c) for c in range(0x21, 0x7F))
    assert validate_session_id(alphabet) == alphabet
    with pytest.raises(InvalidSessionIdError, match=r"U\+0020"):
        validate_session_id("a b")
    with pytest.raises(InvalidSessionIdError, match="1 to 256"):
        validate_session_id("x" * 257)
    with pytest.raises(InvalidSessionIdError, match="must be a str, not bytes"):
        validate_session_id(b"abc")
    assert isinstance(InvalidSessionIdError("x"), ValueError)


def test_ttl_seconds_must_be_positive_finite_or_none() -> None:
    assert validate_ttl_seconds(None) is None
    assert validate_ttl_seconds(5) == 5.0
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            validate_ttl_seconds(bad)
    for wrong in (True, "60"):
        with pytest.raises(TypeError):
            validate_ttl_seconds(wrong)


def test_data_is_copied_into_plain_dicts_and_lists() -> None:
    given = {"a": [1, {"b": True}]}
    copy = validate_data(given)
    assert copy == given
    assert copy["a"] is not given["a"]
    assert validate_data(None) == {}


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"x": float("nan")}, ValueError),
        ({"x": (1, 2)}, TypeError),
        ({1: "x"}, TypeError),
        ({"x": "\ud800"}, ValueError),
        ([1], TypeError),
    ],
)
def test_data_outside_json_is_refused_with_the_path(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="data"):
        validate_data(bad)


def test_nesting_beyond_the_limit_is_a_value_error_not_a_recursion_error() -> None:
    deep: object = {}
    for _ in range(MAX_DEPTH + 5):
        deep = {"d": deep}
    with pytest.raises(ValueError, match="nested deeper"):
        validate_data(deep)


def test_updates_take_only_data() -> None:
    assert validate_updates({}) is None
    assert validate_updates({"data": {"a": 1}}) == {"a": 1}
    with pytest.raises(ValueError, match="'ttl'"):
        validate_updates({"data": {}, "ttl": 1})
    with pytest.raises(TypeError):
        validate_updates({"data": None})


def test_timestamps_use_javascripts_iso_form_and_round_trip() -> None:
    assert iso_from_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_from_ms(1_795_000_000_123) == "2026-11-18T11:06:40.123Z"
    assert ms_from_iso("2026-11-18T11:06:40.123Z") == 1_795_000_000_123
    assert datetime_from_ms(1_795_000_000_123) == datetime(
        2026, 11, 18, 11, 6, 40, 123000, tzinfo=timezone.utc
    )
