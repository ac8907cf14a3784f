"""Session id clauses: the whole MCP alphabet accepted, everything else refused, ids never confused."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from reference_stores.errors import InvalidSessionIdError

from ..runner import contract_test
from ..trial import ID_ALPHABET, Trial
from .checks import check_data, check_unchanged, expect_error, read


def _invalid_variants(base: str) -> list[Any]:
    return [
        "",
        base + " ",
        " " + base,
        base[:8] + " " + base[8:],
        base + "\t",
        base + "\n",
        base + "\r\n",
        base + "\x00",
        base + "\x7f",
        base + "\x1b",
        base + "é",
        base + "\u00a0",
        base + "\u3000",
        base + "😀",
        (base * 11)[:257],
        None,
        42,
        b"x" + base.encode(),
        base.encode(),
        [base],
    ]


def _every_operation(store: Any, session_id: Any) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "session_exists": lambda: store.session_exists(session_id),
        "get_session": lambda: store.get_session(session_id),
        "create_session": lambda: store.create_session(session_id, {"v": 2}),
        "update_session": lambda: store.update_session(session_id, {"data": {"v": 3}}),
        "delete_session": lambda: store.delete_session(session_id),
    }


class IdClauses:
    @contract_test("ID-VALID")
    async def test_every_operation_accepts_every_valid_id(self, trial: Trial) -> None:
        store = await trial.open()
        alphabet = list(ID_ALPHABET)
        random.shuffle(alphabet)
        ids = [
            trial.remember("".join(alphabet)),  # all 94 characters, random order
            trial.new_id(256),  # full length
            trial.new_id(255),
            trial.new_id(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),  # mixed case
            trial.new_id(
                32, "\"'\\`$%*?[]{}()<>|&;#~^=+,:/@!"
            ),  # quoting, glob and escape characters
            trial.new_id(36, "0123456789abcdef-"),  # uuid-like
        ]
        for session_id in ids:
            data = {"id": session_id}
            await store.create_session(session_id, data)
            trial.check(
                await store.session_exists(session_id) is True,
                f"session_exists({session_id!r}) is not True after create",
            )
            seen = await read(trial, store, session_id)
            trial.check(
                seen.session_id == session_id,
                f"the record's session_id is {seen.session_id!r}, not {session_id!r}",
            )
            check_data(trial, data, seen.data, f"get_session({session_id!r})")
            await store.update_session(session_id, {"data": {"updated": session_id}})
            check_data(
                trial,
                {"updated": session_id},
                (await read(trial, store, session_id)).data,
                "after update",
            )
            await store.delete_session(session_id)
            trial.check(
                await store.get_session(session_id) is None,
                f"get_session({session_id!r}) after delete is not None",
            )
        # One-character ids exist on shared servers too: only read them, never write.
        for character in ID_ALPHABET:
            await store.session_exists(character)
            await store.get_session(character)

    @contract_test("ID-INVALID")
    async def test_every_operation_refuses_invalid_ids(self, trial: Trial) -> None:
        store = await trial.open()
        base = trial.new_id(24)
        await store.create_session(base, {"v": 1})
        before = await read(trial, store, base)
        for bad in _invalid_variants(base):
            for name, call in _every_operation(store, bad).items():
                await expect_error(call(), (InvalidSessionIdError,), f"{name}({bad!r})")
        await check_unchanged(trial, store, base, before, "calls with invalid ids")
        trial.check(
            await store.get_session((base * 11)[:256]) is None,
            "a 257-character id was truncated and stored under its first 256 characters",
        )

    @contract_test("ID-DISTINCT")
    async def test_distinct_ids_never_share_state(self, trial: Trial) -> None:
        store = await trial.open()
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        mixed = trial.new_id(20, letters)
        variants = [mixed.swapcase(), mixed.lower(), mixed.upper()]
        prefix = trial.new_id(255)
        long_pair = [prefix + "a", prefix + "b"]
        mid = trial.new_id(150)
        groups: list[list[str]] = [
            [mixed, *variants],
            long_pair,
            [mid + "x" * 100 + "1", mid + "x" * 100 + "2"],  # equal in their first 250 characters
            [mid, mid + "X", mid[:-1]],  # prefixes of one another
            [mid + "*", mid + "?", mid + "Q"],  # glob characters
            [mid + "%41", mid + "A", mid + "\\x41"],  # percent and backslash escapes
            [mid + '"', mid + "'", mid + "`"],
        ]
        for group in groups:
            unique = list(dict.fromkeys(group))
            for session_id in unique:
                trial.remember(session_id)
            await store.create_session(unique[0], {"n": 0})
            for other in unique[1:]:
                trial.check(
                    await store.session_exists(other) is False,
                    f"session_exists({other!r}) is True, but only {unique[0]!r} was created",
                )
                trial.check(
                    await store.get_session(other) is None,
                    f"get_session({other!r}) returned {unique[0]!r}'s session",
                )
            for index, other in enumerate(unique[1:], start=1):
                await store.create_session(other, {"n": index})
            for index, session_id in enumerate(unique):
                seen = await read(trial, store, session_id)
                check_data(trial, {"n": index}, seen.data, f"get_session({session_id!r})")
            await store.delete_session(unique[0])
            for session_id in unique[1:]:
                trial.check(
                    await store.session_exists(session_id) is True,
                    f"deleting {unique[0]!r} also removed {session_id!r}",
                )
