"""Data clauses: a JSON object round-trips exactly, and nothing else gets in."""

from __future__ import annotations

import random
import string
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

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
]


class DataClauses:
    @contract_test("DATA-TYPES")
    async def test_json_values_come_back_with_their_types(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
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
        await store.create_session(session_id, data)
        check_data(trial, data, (await read(trial, store, session_id)).data, "after create_session")
        changed = {
            "true": 1,
            "one": True,
            "float": 2.75,
            "list": [{"x": [False, 0, 0.25]}],
            "null": "None",
        }
        await store.update_session(session_id, {"data": changed})
        check_data(
            trial, changed, (await read(trial, store, session_id)).data, "after update_session"
        )

    @contract_test("DATA-INTEGERS")
    async def test_int64_integers_come_back_exactly(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        data = {
            "list": INT64_EDGES,
            **{f"i{index}": value for index, value in enumerate(INT64_EDGES)},
        }
        await store.create_session(session_id, data)
        check_data(trial, data, (await read(trial, store, session_id)).data, "after create_session")
        nested = {"deep": {"edges": list(reversed(INT64_EDGES))}}
        await store.update_session(session_id, {"data": nested})
        check_data(
            trial, nested, (await read(trial, store, session_id)).data, "after update_session"
        )

    @contract_test("DATA-BIG-INTEGERS")
    async def test_integers_beyond_int64_are_exact_or_refused(self, trial: Trial) -> None:
        store = await trial.open()
        for value in BEYOND_INT64:
            session_id = trial.new_id()
            try:
                await store.create_session(session_id, {"big": value})
            except (TypeError, ValueError):
                trial.check(
                    await store.session_exists(session_id) is False,
                    f"a refused create of {value} still created the session",
                )
                continue
            found = json_difference({"big": value}, (await read(trial, store, session_id)).data)
            trial.check(found is None, f"the integer {value} was silently altered: {found}")

    @contract_test("DATA-STRINGS")
    async def test_any_unicode_string_comes_back_unchanged(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        data = {"values": STRINGS, **{text: text for text in STRINGS}}
        await store.create_session(session_id, data)
        check_data(trial, data, (await read(trial, store, session_id)).data, "after create_session")
        swapped = {text[::-1] + "k": {"v": text} for text in STRINGS}
        await store.update_session(session_id, {"data": swapped})
        check_data(
            trial, swapped, (await read(trial, store, session_id)).data, "after update_session"
        )

    @contract_test("DATA-TYPES")
    async def test_fractional_floats_come_back_as_the_same_float(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        data = {
            "floats": FRACTIONAL_FLOATS,
            **{f"f{index}": value for index, value in enumerate(FRACTIONAL_FLOATS)},
        }
        await store.create_session(session_id, data)
        check_data(trial, data, (await read(trial, store, session_id)).data, "after create_session")

    @contract_test("DATA-NESTING")
    async def test_32_levels_of_nesting_round_trip(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        objects: Any = {"leaf": [1, {"x": True}]}
        arrays: Any = ["leaf"]
        mixed: Any = {"end": None}
        for level in range(40):
            objects = {f"l{level}": objects}
            arrays = [arrays]
            mixed = [mixed] if level % 2 else {"m": mixed}
        data = {"objects": objects, "arrays": arrays, "mixed": mixed}
        await store.create_session(session_id, data)
        check_data(trial, data, (await read(trial, store, session_id)).data, "after create_session")
        await store.update_session(session_id, {"data": {"again": objects}})
        check_data(
            trial,
            {"again": objects},
            (await read(trial, store, session_id)).data,
            "after update_session",
        )

    @contract_test("DATA-SIZE")
    async def test_100_kib_of_data_round_trips(self, trial: Trial) -> None:
        store = await trial.open()
        session_id = trial.new_id()
        chooser = random.Random(session_id)
        data = {
            "blob": "".join(chooser.choice(string.printable) for _ in range(60 * 1024)),
            "unicode": "é😀中" * 2048,
            "items": [
                {"i": index, "s": f"item-{index}", "f": index + 0.5, "b": index % 2 == 0}
                for index in range(600)
            ],
        }
        await store.create_session(session_id, data)
        check_data(
            trial,
            data,
            (await read(trial, store, session_id)).data,
            "after create_session of ~110 KiB",
        )
        data["blob"] = data["blob"][::-1]
        await store.update_session(session_id, {"data": data})
        check_data(
            trial,
            data,
            (await read(trial, store, session_id)).data,
            "after update_session of ~110 KiB",
        )

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
        ]
        for bad in invalid:
            session_id = trial.new_id()
            await expect_error(
                store.create_session(session_id, bad),
                (TypeError, ValueError),
                f"create_session(id, {bad!r})",
            )
            trial.check(
                await store.session_exists(session_id) is False,
                f"create_session(id, {bad!r}) raised but still created the session",
            )
        session_id = trial.new_id()
        await store.create_session(session_id, {"ok": 1})
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
        session_id = trial.new_id()
        given: dict[str, Any] = {"list": [1], "obj": {"k": "v", "inner": [{"x": 1}]}}
        await store.create_session(session_id, given)
        given["list"].append(2)
        given["obj"]["k"] = "changed"
        given["obj"]["inner"][0]["x"] = 2
        given["added"] = True
        check_data(
            trial,
            {"list": [1], "obj": {"k": "v", "inner": [{"x": 1}]}},
            (await read(trial, store, session_id)).data,
            "after mutating the dict given to create_session",
        )
        replacement: dict[str, Any] = {"r": [1, {"y": 1}]}
        updates: dict[str, Any] = {"data": replacement}
        await store.update_session(session_id, updates)
        replacement["r"][1]["y"] = 2
        replacement["r"].append(3)
        updates["data"] = {"swapped": True}
        check_data(
            trial,
            {"r": [1, {"y": 1}]},
            (await read(trial, store, session_id)).data,
            "after mutating the dict given to update_session",
        )
