"""Data clauses: a JSON object round-trips exactly, and nothing else gets in."""

from __future__ import annotations

import json
import random
import string
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ..corpora import (
    FRACTIONAL_FLOAT_EDGES,
    INTEGER_EDGES,
    KEY_COLLISIONS,
    MARKER_OBJECTS,
    NON_OBJECT_DATA,
    RESERVED_KEYS,
    STRING_VALUES,
)
from ..runner import contract_test
from ..trial import Trial
from .checks import check_data, check_unchanged, expect_error, json_difference, read

INT64_EDGES = [
    0,
    1,
    -1,
    2**31 - 1,
    -(2**31),
    2**32,
    2**53 - 1,
    2**53,
    2**53 + 1,
    -(2**53) - 1,
    2**62,
    2**63 - 1,
    -(2**63),
    -(2**63) + 1,
    10**18,
    123456789012345678,
    -987654321098765432,
]
BEYOND_INT64 = [2**63, -(2**63) - 1, 2**64, 10**30, -(10**40), 2**100]
FRACTIONAL_FLOATS = [
    0.1,
    -0.5,
    0.30000000000000004,
    3.141592653589793,
    1e-300,
    5e-324,
    2.2250738585072014e-308,
    123456.789,
    -1.7976931348623157e-300,
    1.5e-7,
    9007199254740.5,
    0.1 + 0.7,
]

# One character from every Unicode plane, 0 to 16, and the BMP's awkward corners.
PLANE_SAMPLES = [
    chr(plane * 0x10000 + offset)
    for plane, offset in [
        (0, 0x4E2D),
        (1, 0xF600),
        (2, 0x0000),
        (3, 0x0000),
        (4, 0x0001),
        (5, 0x1234),
        (6, 0xABCD),
        (7, 0x0042),
        (8, 0xFFFD),
        (9, 0x0100),
        (10, 0x7777),
        (11, 0x0009),
        (12, 0xFFFF),
        (13, 0x2222),
        (14, 0x0001),
        (15, 0x0000),
        (16, 0xFFFD),
    ]
]
STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "".join(chr(code) for code in range(0x20)) + "\x7f",
    '"\\/\b\f\n\r\t',
    "\u2028\u2029",
    "é",
    "e\u0301",  # must not be normalized into the one above
    "中文 العربية עברית \u200f",
    "\ufeffbom",
    "\ufffd\uffff\ue000",
    "😀👩‍👩‍👧‍👦𝄞",
    "\U0010ffff",
    "".join(PLANE_SAMPLES),
    "<script>&amp;</script>",
    "' OR 1=1; --",
    '{"not": "json"}',
    "%s %d {0} ${x}",
    # Keys a JavaScript object or a template engine treats as its own, not as data.
    "__proto__",
    "constructor",
    "toString",
]


async def _round_trip(trial: Trial, store: Any, data: dict[str, Any], what: str) -> None:
    """``data`` through create and through update alike, each on a session of its own; the
    updated one starts empty, so that nothing but the round trip can show."""
    created, updated = trial.new_id(), trial.new_id()
    await store.create_session(created, data)
    seen = (await read(trial, store, created)).data
    check_data(trial, data, seen, f"{what}, after create_session")
    await store.create_session(updated, {})
    await store.update_session(updated, {"data": data})
    seen = (await read(trial, store, updated)).data
    check_data(trial, data, seen, f"{what}, after update_session")


def _every_corpus_key() -> list[str]:
    keys = [key for entry in KEY_COLLISIONS for key in entry.value]
    return list(dict.fromkeys([*keys, *(entry.value for entry in RESERVED_KEYS)]))


class DataClauses:
    @contract_test("DATA-TYPES")
    async def test_json_values_come_back_with_their_types(self, trial: Trial) -> None:
        store = await trial.open()
        data: dict[str, Any] = {
            "null": None,
            "true": True,
            "false": False,
            "zero": 0,
            "one": 1,
            "minus": -7,
            "float": 0.1,
            "half": -2.5,
            "text": "text",
            "empty_text": "",
            "digits": "1",
            "list": [None, True, False, 0, 1, 0.5, "s", [], {}],
            "bools": [True, False, True],
            "ints": [1, 0, 1],
            "empty_list": [],
            "empty_object": {},
            "object": {"a": {"b": [True, 1, 1.5, "1", None]}},
        }
        await _round_trip(trial, store, data, "JSON values of every type")
        changed = {"true": 1, "one": True, "float": 2.75, "list": [{"x": [False, 0, 0.25]}]}
        await _round_trip(trial, store, changed, "the same keys with other types")

    @contract_test("DATA-TYPES")
    async def test_fractional_floats_come_back_as_the_same_float(self, trial: Trial) -> None:
        store = await trial.open()
        floats = [*FRACTIONAL_FLOATS, *(entry.value for entry in FRACTIONAL_FLOAT_EDGES)]
        data = {
            "floats": floats,
            **{f"f{index}": value for index, value in enumerate(floats)},
        }
        await _round_trip(trial, store, data, "floats with a fraction")

    @contract_test("DATA-TYPES", consults=("DATA-STRINGS",))
    async def test_objects_shaped_like_a_codec_marker_come_back_as_objects(
        self, trial: Trial
    ) -> None:
        # A codec that wraps what JSON lacks in marker objects must not unwrap a caller's
        # object that only looks like one: as a value, nested, and as the whole data.
        if trial.verdicts.get("DATA-STRINGS") != "pass":  # markers' keys ("$date") are its
            trial.not_tried("objects shaped like codec markers: DATA-STRINGS does not pass")
            return
        store = await trial.open()
        markers = [entry.value for entry in MARKER_OBJECTS]
        data = {
            "list": markers,
            "nested": {"deeper": markers[::-1]},
            **{f"m{index}": marker for index, marker in enumerate(markers)},
        }
        await _round_trip(trial, store, data, "objects shaped like a codec's markers")
        for marker in markers:
            await _round_trip(trial, store, marker, f"the data {marker!r}")

    @contract_test("DATA-INTEGERS")
    async def test_int64_integers_come_back_exactly(self, trial: Trial) -> None:
        store = await trial.open()
        edges = [*INT64_EDGES, *(entry.value for entry in INTEGER_EDGES)]
        data = {
            "list": edges,
            **{f"i{index}": value for index, value in enumerate(edges)},
            "deep": {"edges": list(reversed(edges))},
        }
        await _round_trip(trial, store, data, "signed 64-bit integers")

    @contract_test("DATA-BIG-INTEGERS")
    async def test_integers_beyond_int64_are_exact_or_refused(self, trial: Trial) -> None:
        store = await trial.open()
        for value in BEYOND_INT64:
            session_id = trial.new_id()
            try:
                await store.create_session(session_id, {"big": value})
            except (TypeError, ValueError):
                record = await store.get_session(session_id)
                trial.check(
                    record is None,
                    f"create_session with the integer {value} raised, then get_session "
                    f"returned {record!r}",
                )
                continue
            found = json_difference({"big": value}, (await read(trial, store, session_id)).data)
            trial.check(found is None, f"the integer {value} came back altered: {found}")

    @contract_test("DATA-STRINGS")
    async def test_any_unicode_string_comes_back_unchanged(self, trial: Trial) -> None:
        store = await trial.open()
        data = {"values": STRINGS, **{text: text for text in STRINGS}}
        await _round_trip(trial, store, data, "strings as values and keys")
        swapped = {text[::-1] + "k": {"v": text, text: {"k": text}} for text in STRINGS}
        await _round_trip(trial, store, swapped, "strings as nested keys")

    @contract_test("DATA-STRINGS")
    async def test_keys_a_codec_would_make_one_stay_apart(self, trial: Trial) -> None:
        # Each group of keys side by side in one object: a store that escapes, normalises,
        # folds or trims them loses one, or hands back another's value.
        store = await trial.open()
        data: dict[str, Any] = {
            f"group{index}": {key: f"{index}:{number}" for number, key in enumerate(entry.value)}
            for index, entry in enumerate(KEY_COLLISIONS)
        }
        data["values"] = [entry.value for entry in STRING_VALUES]
        data["reserved"] = {entry.value: entry.value for entry in RESERVED_KEYS}
        await _round_trip(trial, store, data, "keys a codec or a normaliser would make one")
        top = {key: str(number) for number, key in enumerate(_every_corpus_key())}
        await _round_trip(trial, store, top, "the same keys at the top level of the data")

    @contract_test("DATA-NESTING")
    async def test_32_levels_of_nesting_round_trip(self, trial: Trial) -> None:
        store = await trial.open()
        objects: Any = {"leaf": ["1", {"x": "y"}]}
        arrays: Any = ["leaf"]
        mixed: Any = {"end": "end"}
        for level in range(40):
            objects = {f"l{level}": objects}
            arrays = [arrays]
            mixed = [mixed] if level % 2 else {"m": mixed}
        data = {"objects": objects, "arrays": arrays, "mixed": mixed}
        await _round_trip(trial, store, data, "40 levels of nesting")

    @contract_test("DATA-SIZE")
    async def test_100_kib_of_data_round_trips(self, trial: Trial) -> None:
        store = await trial.open()
        chooser = random.Random(trial.new_id())
        data = {
            "blob": "".join(chooser.choice(string.printable) for _ in range(80 * 1024)),
            "unicode": "é😀中" * 2048,
            "items": [{"i": f"item-{index}", "s": "x" * 8} for index in range(600)],
        }
        size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
        assert size > 100 * 1024, size  # the suite's own data, not the store's doing
        await _round_trip(trial, store, data, f"{size} bytes of compact UTF-8 JSON")

    @contract_test("DATA-INVALID")
    async def test_values_outside_json_are_refused_and_change_nothing(self, trial: Trial) -> None:
        store = await trial.open()
        invalid: list[Any] = [
            {"nan": float("nan")},
            {"inf": float("inf")},
            {"ninf": float("-inf")},
            {"bytes": b"x"},
            {"set": {1, 2}},
            {"frozenset": frozenset()},
            {"datetime": datetime.now(timezone.utc)},
            {"decimal": Decimal("1.5")},
            {"object": object()},
            {"complex": 1j},
            {"type": int},
            {1: "int key"},
            {None: "None key"},
            {(1, 2): "tuple key"},
            {True: "bool key"},
            {1.5: "float key"},
            {"deep": {"list": [1, {"nan": float("nan")}]}},
            {"deep": [{"k": b"x"}]},
            {"deep": {"k": {2: "v"}}},
            [1, 2],
            "text",
            42,
            # What coercion idioms (dict(x), `data or {}`) would turn into an object.
            *(entry.value for entry in NON_OBJECT_DATA),
        ]
        for bad in invalid:
            session_id = trial.new_id()
            await expect_error(
                store.create_session(session_id, bad),
                (TypeError, ValueError),
                f"create_session(id, {bad!r})",
            )
            record = await store.get_session(session_id)
            trial.check(
                record is None,
                f"create_session(id, {bad!r}) raised, then get_session returned {record!r}",
            )
        session_id = trial.new_id()
        await store.create_session(session_id, {"ok": "1"})
        before = await read(trial, store, session_id)
        await trial.tick()
        for bad in invalid:
            await expect_error(
                store.update_session(session_id, {"data": bad}),
                (TypeError, ValueError),
                f"update_session(id, {{'data': {bad!r}}})",
            )
        await check_unchanged(trial, store, session_id, before, "refused updates")

    @contract_test("DATA-COPY-IN")
    async def test_the_store_copies_what_it_is_given(self, trial: Trial) -> None:
        store = await trial.open()
        created, updated = trial.new_id(), trial.new_id()
        given: dict[str, Any] = {"list": ["1"], "obj": {"k": "v", "inner": [{"x": "1"}]}}
        await store.create_session(created, given)
        given["list"].append("2")
        given["obj"]["k"] = "changed"
        given["obj"]["inner"][0]["x"] = "2"
        given["added"] = "yes"
        trial.mutated(
            given,
            '{0}["list"].append("2")\n{0}["obj"]["k"] = "changed"\n'
            '{0}["obj"]["inner"][0]["x"] = "2"\n{0}["added"] = "yes"',
        )
        check_data(
            trial,
            {"list": ["1"], "obj": {"k": "v", "inner": [{"x": "1"}]}},
            (await read(trial, store, created)).data,
            "after mutating the dict given to create_session",
        )
        await store.create_session(updated, {})
        replacement: dict[str, Any] = {"r": ["1", {"y": "1"}]}
        updates: dict[str, Any] = {"data": replacement}
        await store.update_session(updated, updates)
        replacement["r"][1]["y"] = "2"
        replacement["r"].append("3")
        updates["data"] = {"swapped": "yes"}
        trial.mutated(
            updates,
            '{0}["data"]["r"][1]["y"] = "2"\n{0}["data"]["r"].append("3")\n'
            '{0}["data"] = {{"swapped": "yes"}}',
        )
        check_data(
            trial,
            {"r": ["1", {"y": "1"}]},
            (await read(trial, store, updated)).data,
            "after mutating the dict given to update_session",
        )
