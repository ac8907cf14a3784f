"""The DynamoDB item codec alone (``reference_stores.dynamodb_codec``), no endpoint at all.

Round trips at the documented limits (docs/dynamodb.md, "Numbers and other data"):
nesting (``MAX_NATIVE_DEPTH`` containers native, deeper ones escaped as a Binary
attribute of JSON text, up to the stores' ``validation.MAX_DEPTH``), DynamoDB's
numbers (38 significant digits, magnitudes 1e-130 to under 1e126), which Python
types survive, map keys DynamoDB refuses as names, empty values, the 400 KB item
limit, and the errors bad input raises. The store's own tests
(``test_store_dynamodb.py``) check the same format on real endpoints.

One piece: a table of the codec's limits, each with its round trip.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from work_counts import WorkCounter

from reference_stores import SessionStoreError, dynamodb_codec
from reference_stores import dynamodb as dynamodb_store
from reference_stores.dynamodb_codec import (
    MAX_ITEM_BYTES,
    MAX_NATIVE_DEPTH,
    item_from_session,
    session_from_item,
)
from reference_stores.validation import MAX_DEPTH, validate_data

pytestmark = pytest.mark.dynamodb

CREATED_MS = 1_795_461_768_123  # 2026-11-23T19:22:48.123Z
UPDATED_MS = CREATED_MS + 1_500
LARGEST_N = 10**38 - 1
"""The largest integer of 38 digits, DynamoDB's most precise number."""


def encode(data: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` attribute for ``data``, validated first as the store does."""
    attribute: dict[str, Any] = item_from_session("s", CREATED_MS, UPDATED_MS, None, data)["data"]
    return attribute


def round_trip(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` through a whole item and back, validated first as the store does."""
    checked = validate_data(data)
    item = item_from_session("s", CREATED_MS, UPDATED_MS, 1_795_465_369, checked, 7)
    return session_from_item(item).data


def read_data(attribute: dict[str, Any]) -> dict[str, Any]:
    """``session_from_item`` of an item whose ``data`` attribute is ``attribute``."""
    item = {"sessionId": {"S": "s"}, "updatedAt": {"S": "2026-11-23T19:22:48.123Z"}}
    return session_from_item({**item, "data": attribute}).data


def same(left: Any, right: Any) -> bool:
    """Equal with the types too (``1 == 1.0 == True`` in Python; not here)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return bool(left == right)


def whole(value: float) -> int:
    """The int a float without a fraction comes back as: that of its text, ``repr(value)``.

    As DynamoDB reads the number's text (``1e20`` is ``100000000000000000000``); past 2**53
    it can differ from ``int(value)``, and ``float()`` of it is ``value`` again.
    """
    return int(Decimal(repr(value)))


def in_range(value: float) -> bool:
    """Whether DynamoDB's numbers hold ``value`` (magnitude 1e-130 to under 1e126, or 0)."""
    return value == 0 or -130 <= Decimal(repr(value)).adjusted() <= 125


def refused_name(key: str) -> bool:
    """A map key DynamoDB does not take as an attribute name, or ``__proto__``."""
    return key in ("", "__proto__") or len(key.encode("utf-8")) > 65535


def expected_back(value: Any, depth: int = 1) -> Any:
    """What the docs say comes back for ``value`` at nesting level ``depth``.

    A float without a fraction comes back as int; but what is escaped (a float outside
    DynamoDB's range, a map or list deeper than ``MAX_NATIVE_DEPTH``, a map with a key
    DynamoDB refuses) comes back exactly as JSON reads it, its whole floats still floats.
    """
    if isinstance(value, float) and value.is_integer() and in_range(value):
        return whole(value)
    if isinstance(value, dict):
        if depth > MAX_NATIVE_DEPTH or any(map(refused_name, value)):
            return value
        return {key: expected_back(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        if depth > MAX_NATIVE_DEPTH:
            return value
        return [expected_back(item, depth + 1) for item in value]
    return value


def nested(levels: int, *, kind: str = "map") -> dict[str, Any]:
    """Data nested ``levels`` containers deep, ``data`` itself being level 1."""
    inner: Any = "leaf"
    for _ in range(levels - 1):
        inner = {"k": inner} if kind == "map" else [inner]
    return {"k": inner}


def binary_depth(attribute: dict[str, Any]) -> int | None:
    """The nesting level of the first Binary attribute on the path down, or None."""
    depth = 1
    node = attribute
    while "B" not in node:
        ((kind, inner),) = node.items()
        if kind == "M":
            node = inner["k"]
        elif kind == "L":
            node = inner[0]
        else:
            return None
        depth += 1
    return depth


def binaries(attribute: Any) -> list[bytes]:
    """Every Binary attribute anywhere under ``attribute``."""
    if not isinstance(attribute, dict):
        return []
    ((kind, inner),) = attribute.items()
    if kind == "B":
        return [inner]
    if kind == "M":
        return [blob for item in inner.values() for blob in binaries(item)]
    if kind == "L":
        return [blob for item in inner for blob in binaries(item)]
    return []


# -- the item ---------------------------------------------------------------------------------


def test_an_item_is_leanmcps_attributes_and_reads_back_whole() -> None:
    item = item_from_session("id-1", CREATED_MS, UPDATED_MS, 1_795_465_369, {"n": 1}, 3)
    assert item == {
        "sessionId": {"S": "id-1"},
        "createdAt": {"S": "2026-11-23T19:22:48.123Z"},
        "updatedAt": {"S": "2026-11-23T19:22:49.623Z"},
        "ttl": {"N": "1795465369"},
        "data": {"M": {"n": {"N": "1"}}},
        "revision": {"N": "3"},
    }
    session = session_from_item(item)
    assert session.session_id == "id-1"
    assert session.created_at.isoformat() == "2026-11-23T19:22:48.123000+00:00"
    assert session.updated_at.isoformat() == "2026-11-23T19:22:49.623000+00:00"
    assert session.ttl == 1_795_465_369
    assert session.data == {"n": 1}
    assert session.revision == 3


def test_leanmcps_own_item_has_no_ttl_or_revision_when_asked_and_reads_as_revision_1() -> None:
    item = item_from_session("id-2", CREATED_MS, CREATED_MS, None, {}, None)
    assert set(item) == {"sessionId", "createdAt", "updatedAt", "data"}
    assert item["data"] == {"M": {}}
    session = session_from_item(item)
    assert (session.ttl, session.revision, session.data) == (None, 1, {})
    assert session_from_item(item, session_id="other").session_id == "other"


# -- nesting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["map", "list"])
def test_the_deepest_native_nesting_has_no_binary_and_one_more_level_is_escaped(kind: str) -> None:
    deepest_native = nested(MAX_NATIVE_DEPTH, kind=kind)
    attribute = encode(deepest_native)
    assert binaries(attribute) == []
    assert binary_depth(attribute) is None
    assert same(round_trip(deepest_native), deepest_native)

    one_deeper = nested(MAX_NATIVE_DEPTH + 1, kind=kind)
    attribute = encode(one_deeper)
    # Levels 1..31 stay maps/lists; level 32 is a Binary attribute of that value's JSON.
    assert binary_depth(attribute) == MAX_NATIVE_DEPTH + 1
    (blob,) = binaries(attribute)
    assert json.loads(blob) == ({"k": "leaf"} if kind == "map" else ["leaf"])
    assert same(round_trip(one_deeper), one_deeper)


def test_dynamodbs_32_levels_are_the_native_limit_the_docs_name() -> None:
    # 31 containers plus the scalar at the bottom: DynamoDB's 32 levels.
    assert MAX_NATIVE_DEPTH == 31


def test_the_deepest_data_the_stores_accept_round_trips_and_one_deeper_is_refused() -> None:
    # The codec itself sets no limit (it escapes); validation.MAX_DEPTH is the stores' limit,
    # checked before the codec is reached.
    deepest = nested(MAX_DEPTH)
    assert same(round_trip(deepest), deepest)
    mixed: Any = 0.5
    for level in range(MAX_DEPTH - 1):
        mixed = [mixed] if level % 2 else {"m": mixed}
    assert same(round_trip({"k": mixed}), {"k": mixed})
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_DEPTH} levels"):
        validate_data(nested(MAX_DEPTH + 1))


def test_escaping_costs_one_serialization_and_one_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    # The work counter reaches the codec module (the store's work test relies on it).
    counter = WorkCounter(monkeypatch, dynamodb_store, dynamodb_codec)
    item = item_from_session("s", CREATED_MS, UPDATED_MS, None, nested(MAX_NATIVE_DEPTH + 5))
    assert counter.counts["dumps"] == 1
    session_from_item(item)
    assert counter.counts["loads"] == 1
    counter.counts.clear()
    session_from_item(item_from_session("s", CREATED_MS, UPDATED_MS, None, nested(5)))
    assert (counter.counts["dumps"], counter.counts["loads"]) == (0, 0)


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        0,
        -1,
        2**53 + 1,  # past a double's exact integers
        -(2**63),
        2**64 + 1,
        LARGEST_N,
        -LARGEST_N,
        10**38,  # 39 digits but one significant: DynamoDB holds it
        10**125,  # the largest power of ten under 1e126
        -(10**125),
        int("9" * 38) * 10**88,  # 38 significant digits at the top of the range
    ],
)
def test_integers_dynamodb_holds_come_back_as_the_same_int(value: int) -> None:
    attribute = encode({"v": value})
    assert attribute == {"M": {"v": {"N": str(value)}}}
    assert same(round_trip({"v": value}), {"v": value})


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (LARGEST_N * 10 + 9, "39 significant digits, over DynamoDB's 38"),
        (-(10**39 + 1), "40 significant digits, over DynamoDB's 38"),
        (10**126, "outside DynamoDB's range"),
        (-(10**126), "outside DynamoDB's range"),
        (int("9" * 38) * 10**89, "outside DynamoDB's range"),
    ],
)
def test_integers_dynamodb_cannot_hold_raise_value_error_before_any_item(
    value: int, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        item_from_session("s", CREATED_MS, UPDATED_MS, None, {"ok": 1, "deep": [{"v": value}]})
    assert "DynamoDB cannot store this integer" in str(raised.value)


def test_a_huge_integer_is_named_shortly_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"\(4001 characters\)") as raised:
        encode({"v": 10**4000})
    assert len(str(raised.value)) < 200


@pytest.mark.parametrize(
    "value",
    [
        0.1,
        -2.5,
        1.5e-130,
        1e-130,  # DynamoDB's smallest magnitude
        -1e-130,
        math.nextafter(1e126, 0),  # the largest double under 1e126
        1.7976931348623157e125,
        0.30000000000000004,
        2**53 + 0.5,
        123456.789e-120,
    ],
)
def test_floats_in_dynamodbs_range_are_numbers_and_come_back_as_the_same_float(
    value: float,
) -> None:
    attribute = encode({"v": value})
    assert attribute == {"M": {"v": {"N": repr(value)}}}
    back = round_trip({"v": value})["v"]
    if value.is_integer():
        assert same(back, whole(value))
        assert float(back) == value
    else:
        assert same(back, value)


@pytest.mark.parametrize("value", [9.99e-131, 1e-300, 5e-324, -5e-324, 1e126, 1.7e308, -1.7e308])
def test_floats_outside_dynamodbs_range_are_escaped_and_come_back_exactly(value: float) -> None:
    attribute = encode({"v": value})
    assert attribute == {"M": {"v": {"B": repr(value).encode()}}}
    back = round_trip({"v": value})["v"]
    assert type(back) is float
    assert back == value


def test_int_float_and_bool_keep_their_kinds_as_documented() -> None:
    data = {"int": 1, "float": 1.0, "true": True, "false": False, "none": None, "half": 0.5}
    attribute = encode(data)["M"]
    assert attribute["int"] == {"N": "1"}
    assert attribute["float"] == {"N": "1.0"}
    assert attribute["true"] == {"BOOL": True}
    assert attribute["false"] == {"BOOL": False}
    assert attribute["none"] == {"NULL": True}
    back = round_trip(data)
    # bool stays bool (never 1), an int stays int; a float without a fraction comes back as
    # int, as DynamoDB itself normalizes it (SPEC DATA-TYPES allows it).
    assert same(
        back, {"int": 1, "float": 1, "true": True, "false": False, "none": None, "half": 0.5}
    )


def test_negative_zero_comes_back_as_int_zero() -> None:
    # -0.0 has no fraction: like 1.0 it comes back as an int, and an int has no sign of zero.
    assert encode({"z": -0.0}) == {"M": {"z": {"N": "-0.0"}}}
    back = round_trip({"z": -0.0, "p": 0.0})
    assert same(back, {"z": 0, "p": 0})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("-7", -7),
        ("1.0", 1),  # DynamoDB's own normal form of 1.0 is 1; either reads as int
        ("1E+2", 100),
        ("100000000000000000000000000000000000000", 10**38),
        ("1.5", 1.5),
        ("0.10", 0.1),
        ("-0", 0),
        ("1E-130", 1e-130),
        ("9.9999999999999999999999999999999999999E+125", int("9" * 38) * 10**88),
    ],
)
def test_numbers_as_dynamodb_returns_them_read_as_int_or_float(text: str, expected: Any) -> None:
    assert same(read_data({"M": {"v": {"N": text}}}), {"v": expected})


# -- keys and text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "#ttl",
        ":now",
        "a.b",
        "list[0]",
        "with space",
        "line\nbreak",
        "nul\x00key",
        'quote"and\\backslash',
        "constructor",
        "data",
        "ttl",
        "é",  # NFC
        "e\u0301",  # NFD: a different key, kept apart
        "😀\U0010ffff",
        "k" * 65535,  # the longest attribute name DynamoDB accepts, in bytes
        "é" * 32767,  # 65534 bytes of UTF-8
    ],
)
def test_keys_dynamodb_accepts_as_names_stay_native_and_unchanged(key: str) -> None:
    data = {key: {key: key}}
    attribute = encode(data)
    assert binaries(attribute) == []
    assert attribute == {"M": {key: {"M": {key: {"S": key}}}}}
    assert same(round_trip(data), data)


@pytest.mark.parametrize(
    "key",
    [
        "",  # not an attribute name
        "__proto__",  # a JavaScript reader may make it a prototype
        "k" * 65536,  # one byte over DynamoDB's 64 KB names
        "é" * 32768,  # 65536 bytes of UTF-8 in 32768 characters
        "😀" * 16384,  # 65536 bytes in 16384 characters
    ],
)
def test_a_map_with_a_key_dynamodb_refuses_is_escaped_whole_and_its_siblings_stay_native(
    key: str,
) -> None:
    data = {"outer": {key: [1, {"x": ""}], "other": 2}, "k": "native"}
    attribute = encode(data)["M"]
    assert attribute["k"] == {"S": "native"}
    assert set(attribute["outer"]) == {"B"}
    assert json.loads(attribute["outer"]["B"]) == data["outer"]
    assert same(round_trip(data), data)


def test_a_refused_key_in_data_itself_makes_data_the_binary_attribute() -> None:
    data = {"": "empty key", "n": 1}
    attribute = encode(data)
    assert set(attribute) == {"B"}
    assert same(round_trip(data), data)


def test_keys_one_under_the_limits_stay_native() -> None:
    data = {"😀" * 16383 + "abc": 1, "k" * 65535: 2}  # 65535 bytes each
    assert binaries(encode(data)) == []
    assert same(round_trip(data), data)


def test_empty_strings_lists_and_maps_survive_natively() -> None:
    data: dict[str, Any] = {"s": "", "l": [], "m": {}, "nested": [[], {}, "", [""], {"e": {}}]}
    attribute = encode(data)["M"]
    assert attribute["s"] == {"S": ""}
    assert attribute["l"] == {"L": []}
    assert attribute["m"] == {"M": {}}
    assert binaries(encode(data)) == []
    assert same(round_trip(data), data)
    assert same(round_trip({}), {})


def test_strings_of_every_plane_and_escapable_characters_survive() -> None:
    text = '\x00\x01\x1f"\\/\u2028\u2029\ufeff\uffff😀\U0010ffff' + "".join(
        chr(code) for code in range(0x20, 0x7F)
    )
    data = {"t": text, "l": [text], text: text}
    assert encode(data)["M"]["t"] == {"S": text}
    assert same(round_trip(data), data)


# -- size -------------------------------------------------------------------------------------


def test_a_100_kib_session_fits_and_a_400_kb_one_is_refused() -> None:
    fits = {"blob": "x" * (100 * 1024)}
    assert same(round_trip(fits), fits)
    assert same(
        round_trip({"blob": "x" * (MAX_ITEM_BYTES - 1024)}), {"blob": "x" * (MAX_ITEM_BYTES - 1024)}
    )
    with pytest.raises(ValueError, match="over DynamoDB's 400 KB item limit"):
        encode({"blob": "x" * MAX_ITEM_BYTES})


def test_the_size_counts_utf8_bytes_not_characters() -> None:
    characters = MAX_ITEM_BYTES // 2 + 1024  # fits as ASCII, over the limit as 2-byte UTF-8
    assert encode({"ascii": "x" * characters}) == {"M": {"ascii": {"S": "x" * characters}}}
    with pytest.raises(ValueError, match="400 KB"):
        encode({"two_bytes": "é" * characters})
    with pytest.raises(ValueError, match="400 KB"):
        encode({"escaped": nested(MAX_NATIVE_DEPTH + 1) | {"": "x" * MAX_ITEM_BYTES}})


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [Decimal("1.5"), b"bytes", (1, 2), {1, 2}, object()],
    ids=["Decimal", "bytes", "tuple", "set", "object"],
)
def test_what_is_not_validated_json_raises_type_error(value: Any) -> None:
    # item_from_session takes validated data; anything else is a caller's bug, named.
    with pytest.raises(TypeError, match="is not a JSON type"):
        encode({"v": value})


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"sessionId": {"S": "s"}}, "neither createdAt nor updatedAt"),
        ({"updatedAt": {"S": "2026-11-23T19:22:48.123Z"}}, "sessionId"),
        ({"sessionId": {"S": "s"}, "updatedAt": {"S": "yesterday"}}, "'yesterday'"),
        ({"sessionId": {"S": "s"}, "updatedAt": {"N": "1"}}, "S"),
    ],
)
def test_an_item_that_is_no_session_raises_session_store_error(
    item: dict[str, Any], reason: str
) -> None:
    with pytest.raises(SessionStoreError, match=r"dynamodb: not a session item") as raised:
        session_from_item(item)
    assert reason in str(raised.value)


@pytest.mark.parametrize(
    ("attribute", "reason"),
    [
        ({"S": "text"}, "data is not a map"),
        ({"L": []}, "data is not a map"),
        ({"M": {"v": {"BS": [b"x"]}}}, "a BS attribute is not JSON data"),
        ({"M": {"v": {"X": 1}}}, "a X attribute is not JSON data"),
        ({"M": {"v": {"B": b"{not json"}}}, "Expecting property name"),
        ({"M": {"v": {"N": "twelve"}}}, "could not convert"),
        ({"M": {"v": {"N": "1", "S": "1"}}}, "too many values"),
    ],
)
def test_data_that_is_no_json_raises_session_store_error(
    attribute: dict[str, Any], reason: str
) -> None:
    with pytest.raises(SessionStoreError, match=r"dynamodb: not a session item") as raised:
        read_data(attribute)
    assert reason in str(raised.value)


@pytest.mark.parametrize("revision", ["0", "-1", "1.5", "abc", ""])
def test_a_revision_that_is_no_positive_integer_raises_session_store_error(revision: str) -> None:
    item = item_from_session("s", CREATED_MS, UPDATED_MS, None, {})
    item["revision"] = {"N": revision}
    with pytest.raises(SessionStoreError, match="revision is not a positive integer"):
        session_from_item(item)


def test_leanmcps_sets_and_null_data_read_as_json() -> None:
    # LeanMCP's DocumentClient writes JavaScript Sets as SS/NS; a null data as NULL.
    assert same(read_data({"M": {"s": {"SS": ["a", "b"]}}}), {"s": ["a", "b"]})
    assert same(read_data({"M": {"n": {"NS": ["1", "2.5"]}}}), {"n": [1, 2.5]})
    assert read_data({"NULL": True}) == {}


# -- any data ---------------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
NATIVE_FLOATS = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda x: x == 0 or 1e-129 < abs(x) < 1e125
)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-LARGEST_N, max_value=LARGEST_N)
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)


def json_values(scalars: st.SearchStrategy[Any], keys: st.SearchStrategy[str]) -> Any:
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=20,
    )


KEYS = TEXT | st.sampled_from(["", "__proto__", "constructor", "#ttl"])
WRAPPERS = st.lists(st.sampled_from(["map", "list", "map with a refused key"]), max_size=40)


def wrapped(value: Any, wrappers: list[str]) -> dict[str, Any]:
    """``value`` inside the given containers, innermost last: the depths around the limit."""
    for wrapper in reversed(wrappers):
        if wrapper == "map":
            value = {"w": value}
        elif wrapper == "list":
            value = [value, 1.0]
        else:
            value = {"w": value, "": 2.0}
    return {"data": value}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, json_values(JSON_SCALARS, KEYS)), WRAPPERS)
def test_any_json_data_round_trips_as_documented_with_its_types(
    data: dict[str, Any], wrappers: list[str]
) -> None:
    assert same(round_trip(data), expected_back(data))
    deep = wrapped(data, wrappers)
    assert same(round_trip(deep), expected_back(deep))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        TEXT.filter(lambda key: key not in ("", "__proto__")),
        json_values(
            st.none() | st.booleans() | st.integers(-LARGEST_N, LARGEST_N) | NATIVE_FLOATS | TEXT,
            TEXT.filter(lambda key: key not in ("", "__proto__")),
        ),
    )
)
def test_data_within_dynamodbs_own_types_is_never_escaped(data: dict[str, Any]) -> None:
    assert binaries(encode(validate_data(data))) == []
    assert same(round_trip(data), expected_back(data))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**130), max_value=10**130) | st.integers())
def test_an_integer_comes_back_exactly_or_is_refused_as_documented(value: int) -> None:
    digits = str(abs(value)).rstrip("0")
    exponent = len(str(abs(value))) - 1
    holdable = value == 0 or (len(digits) <= 38 and exponent <= 125)
    if holdable:
        assert same(round_trip({"v": value}), {"v": value})
    else:
        with pytest.raises(ValueError, match="DynamoDB cannot store this integer"):
            round_trip({"v": value})


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_float_comes_back_as_the_same_value(value: float) -> None:
    attribute = encode({"v": value})["M"]["v"]
    assert attribute == ({"N": repr(value)} if in_range(value) else {"B": repr(value).encode()})
    back = round_trip({"v": value})["v"]
    assert float(back) == value
    assert same(back, expected_back(value))
    if not value.is_integer():
        assert math.copysign(1, back) == math.copysign(1, value)
