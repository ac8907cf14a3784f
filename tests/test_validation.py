"""The shared validation and conversions every reference store uses."""

from __future__ import annotations

import contextlib
import enum
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_stores import InvalidSessionIdError, validation
from reference_stores.validation import (
    MAX_DEPTH,
    datetime_from_ms,
    decode_data,
    encode_data,
    iso_from_ms,
    load_json_object,
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


def test_datetimes_from_the_table_are_exact_for_any_value_and_the_table_stays_bounded() -> None:
    for ms in (0, 1, 999, 1_795_000_000_123, -1, 253_402_300_799_999):
        expected = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
        assert datetime_from_ms(ms) == expected
        assert datetime_from_ms(ms) == expected  # the second one from the table
    for ms in range(validation._DATETIMES_KEPT * 2):
        datetime_from_ms(ms)
    assert len(validation._DATETIMES) <= validation._DATETIMES_KEPT


# --- load_json_object: orjson's read is kept only when it is exactly the stdlib's ---------------

_STORED_TEXTS = [
    '{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
    '{"big":123456789012345678901234567890}',  # orjson alone: a float
    '{"big":-9223372036854775809,"u64":18446744073709551615,"past":18446744073709551616}',
    '{"f":1.0,"g":-0.0,"h":1e300,"i":5e-324,"j":0.1}',
    '{"f":1e+16,"g":1E5}',  # the stdlib's and others' float forms
    '{ "a" : 1 , "b" : [ 1 , 2 ] }',  # another writer's spacing
    '{"s":"\\ud800 lone"}',  # orjson refuses lone surrogates
    '{"n":NaN,"i":Infinity}',  # the stdlib reads these
    '{"k":1,"k":2}',
    '{"s":"é 🎉 \\u0000 \\"q\\""}',
    '{"deep":' + "[" * 300 + "]" * 300 + "}",  # past orjson's own nesting limit
]


@pytest.mark.parametrize("text", _STORED_TEXTS, ids=lambda text: text[:40])
@pytest.mark.parametrize("kind", ["str", "bytes"])
def test_load_json_object_reads_exactly_what_the_stdlib_reads(
    serializer: str, kind: str, text: str
) -> None:
    given: str | bytes = text if kind == "str" else text.encode()
    expected = json.loads(text)
    assert repr(_typed(load_json_object(given))) == repr(_typed(expected))


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(data=st.dictionaries(st.text(max_size=4), _JSON_VALUES, max_size=4))
def test_load_json_object_agrees_with_the_stdlib_whoever_wrote_the_text(data: Any) -> None:
    texts = [json.dumps(data), json.dumps(data, separators=(",", ":"), ensure_ascii=False)]
    if validation._orjson is not None:
        with contextlib.suppress(TypeError):  # an int past 64 bits: orjson does not write it
            texts.append(validation._orjson.dumps(data).decode())
    for text in texts:
        expected = repr(_typed(json.loads(text)))
        assert repr(_typed(load_json_object(text))) == expected
        assert repr(_typed(load_json_object(text.encode()))) == expected


def test_load_json_object_reads_orjsons_own_text_without_the_stdlib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if validation._orjson is None:
        pytest.skip("orjson is not installed: the stdlib path is the only one")
    data = {"a": [1, 2.5, "é"], "b": {"c": None}, "big": 2**63}
    text, _ = encode_data(data)
    assert isinstance(text, bytes)  # orjson's own
    monkeypatch.setattr(validation, "json", None)  # any use of the stdlib raises
    for stored in (text, text.decode()):
        assert load_json_object(stored) == data


@pytest.mark.parametrize("text", ["[1,2]", '"text"', "3", "null"])
def test_load_json_object_refuses_anything_but_an_object(serializer: str, text: str) -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        load_json_object(text)


# --- encode_data: the C fast path refuses and accepts exactly what the checked walk does ------


class _Color(enum.Enum):
    RED = 1


class _Level(enum.IntEnum):
    HIGH = 3


class _Text(str):
    pass


@dataclass
class _Point:
    x: int


def _nested(depth: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for _ in range(depth - 1):
        data = {"a": data}
    return data


_REFUSED: list[object] = [
    {"x": math.nan},
    {"x": [1.0, math.inf]},
    {"x": {"y": -math.inf}},
    {"x": b"bytes"},
    {"x": {1, 2}},
    {"x": (1, 2)},
    {"x": datetime(2026, 1, 1, tzinfo=timezone.utc)},
    {"x": Decimal("1.5")},
    {"x": uuid.UUID(int=7)},
    {"x": _Color.RED},
    {"x": _Point(1)},
    {1: "int key"},
    {True: "bool key"},
    {None: "None key"},
    {1.5: "float key"},
    {"1": "a", 1: "b"},
    {"lone \ud800 in a key": 1},
    {"x": ["lone \udfff in a value"]},
    _nested(MAX_DEPTH + 1),
    {"x": [_nested(MAX_DEPTH - 1)]},
]
_ACCEPTED: list[object] = [
    {},
    {"big": 2**64, "small": -(2**63) - 1, "huge": 10**40},
    {"f": 1.0, "g": -0.0, "h": 1e300, "i": 5e-324},
    {"s": 'é 🎉 \u0000 "quoted" {[', "b": [True, False, None]},
    _nested(MAX_DEPTH),
    {"brackets": "{" * 300},
    {"level": _Level.HIGH, _Text("k"): _Text("v")},
    MappingProxyType({"a": [1, {"b": 2}]}),
]


@pytest.fixture(params=["orjson", "stdlib"])
def serializer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "orjson":
        if validation._orjson is None:
            pytest.skip("orjson is not installed: the stdlib path is the only one")
    else:
        monkeypatch.setattr(validation, "_orjson", None)
    param: str = request.param
    return param


def _outcome(call: Any, data: object) -> tuple[type[BaseException], str] | None:
    try:
        call(data)
    except (TypeError, ValueError) as error:
        return type(error), str(error)
    return None


@pytest.mark.parametrize("data", _REFUSED, ids=lambda data: repr(data)[:40])
def test_encode_data_refuses_what_validate_data_refuses_with_the_same_error(
    serializer: str, data: object
) -> None:
    expected = _outcome(validation._copy_checked, data)  # the walk: the reference
    assert expected is not None
    assert _outcome(validate_data, data) == expected
    assert _outcome(encode_data, data) == expected


@pytest.mark.parametrize("data", _ACCEPTED, ids=lambda data: repr(data)[:40])
def test_encode_data_keeps_every_value_and_type_and_shares_nothing(
    serializer: str, data: Any
) -> None:
    expected = validation._copy_checked(data)  # the walk: the reference
    text, copy = encode_data(data)
    for value in (copy, validate_data(data), decode_data(text), decode_data(text)):
        assert value == expected
        assert _typed(value) == _typed(expected)
        assert type(value) is dict
    decode_data(text)["added"] = copy["added"] = 1  # the text is unchanged by that
    assert decode_data(text) == expected
    if data:
        assert not _shares_containers(copy, data)


def _typed(value: Any) -> Any:
    """The value with each leaf's exact type beside it: 1 and 1.0 and True differ here."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__ if type(value) in (int, float, bool, str) else "other", value)


def _shares_containers(left: Any, right: Any) -> bool:
    containers: set[int] = set()

    def collect(value: Any, into: set[int]) -> None:
        if isinstance(value, (dict, list, MappingProxyType)):
            into.add(id(value))
            for item in value.values() if not isinstance(value, list) else value:
                collect(item, into)

    collect(left, containers)
    others: set[int] = set()
    collect(right, others)
    return bool(containers & others)
