"""Session id clauses: the whole MCP alphabet accepted, everything else refused, ids never confused."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from reference_stores.errors import InvalidSessionIdError

from ..corpora import ID_LOOKALIKES, INVALID_ID_LOOKALIKES, filled
from ..runner import contract_test
from ..trial import ID_ALPHABET, ClauseViolation, Trial
from .checks import check_data, check_unchanged, expect_error, read, snapshot


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
        # Characters that normalising, case folding or stripping would turn into a valid id.
        *(base + entry.value for entry in INVALID_ID_LOOKALIKES),
        *(base[:8] + entry.value + base[8:] for entry in INVALID_ID_LOOKALIKES),
    ]


def _lookalike_groups(token: str) -> list[list[str]]:
    """Every group of ``ID_LOOKALIKES``, filled with ``token``: valid ids a backend's path,
    URL or escape handling would store under one key."""
    return [list(dict.fromkeys(filled(t, token) for t in entry.value)) for entry in ID_LOOKALIKES]


def _every_operation(store: Any, session_id: Any) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "session_exists": lambda: store.session_exists(session_id),
        "get_session": lambda: store.get_session(session_id),
        "create_session": lambda: store.create_session(session_id, {"v": 2}),
        "update_session": lambda: store.update_session(session_id, {"data": {"v": 3}}),
        "delete_session": lambda: store.delete_session(session_id),
    }


# Where a store's key layout could put a session's auxiliary keys (its metadata, lock,
# index) next to its own: an id extended by a separator and a common word, or prefixed so.
_SEPARATORS = [":", "/", ".", "-", "_", "|", "#", "::"]
_WORDS = [
    "",
    "data",
    "meta",
    "lock",
    "ttl",
    "exp",
    "expires",
    "rev",
    "session",
    "s",
    "d",
    "m",
    "0",
    "1",
]


def _layout_neighbours(base: str) -> list[str]:
    suffixes = [sep + word for sep in _SEPARATORS for word in _WORDS]
    suffixes += list(ID_ALPHABET)
    prefixes = [word + sep for sep in _SEPARATORS for word in _WORDS if word]
    found = [base + suffix for suffix in suffixes] + [prefix + base for prefix in prefixes]
    return [n for n in dict.fromkeys(found) if n != base and len(n) <= 256]


class IdClauses:
    @contract_test("ID-VALID")
    async def test_every_operation_accepts_every_valid_id(self, trial: Trial) -> None:
        store = await trial.open()
        alphabet = list(ID_ALPHABET)
        random.shuffle(alphabet)
        ids = [
            trial.remember("".join(alphabet)),  # all 94 characters, random order
            trial.new_id(256, ID_ALPHABET),  # full length
            trial.new_id(255, ID_ALPHABET),
            trial.new_id(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),  # mixed case
            trial.new_id(32, "\"'\\`$%*?[]{}()<>|&;#~^=+,:/@!"),  # quoting, glob, escapes
            trial.new_id(36, "0123456789abcdef-"),  # uuid-like
            # Percent escapes, always (the random ids above hold one only by chance).
            trial.remember(trial.new_id(24, "abcdefghijklmnopqrstuvwxyz") + "%41%2F%25%20"),
            # Path, URL and escape syntax a backend may take apart (corpora.ID_LOOKALIKES).
            *dict.fromkeys(
                trial.remember(session_id)
                for group in _lookalike_groups(trial.new_id(16, "abcdefghijklmnopqrstuvwxyz"))
                for session_id in group
            ),
        ]
        for session_id in ids:
            data = {"id": session_id}
            await store.create_session(session_id, data)
            await store.session_exists(session_id)
            seen = await read(trial, store, session_id)
            trial.check(
                seen.session_id == session_id,
                f"the record's session_id is {seen.session_id!r}, not {session_id!r}",
            )
            check_data(trial, data, seen.data, f"get_session({session_id!r})")
            updated = {"id": "updated " + session_id}
            await store.update_session(session_id, {"data": updated})
            check_data(trial, updated, (await read(trial, store, session_id)).data, "after update")
            await store.delete_session(session_id)
            record = await store.get_session(session_id)
            trial.check(
                record is None, f"get_session({session_id!r}) after delete returned {record!r}"
            )
        # One-character ids exist on shared servers too: only read them, never write.
        for character in ID_ALPHABET:
            await store.session_exists(character)
            await store.get_session(character)

    @contract_test("ID-INVALID", needs=("ID-VALID",))  # it reads a 256-character id
    async def test_every_operation_refuses_invalid_ids(self, trial: Trial) -> None:
        store = await trial.open()
        base = trial.new_id(24)
        await store.create_session(base, {"v": "1"})
        before = await read(trial, store, base)
        for bad in _invalid_variants(base):
            for name, call in _every_operation(store, bad).items():
                await expect_error(call(), (InvalidSessionIdError,), f"{name}({bad!r})")
        await check_unchanged(trial, store, base, before, "calls with invalid ids")
        record = await store.get_session((base * 11)[:256])
        trial.check(
            record is None,
            f"after create_session of a 257-character id was refused, get_session of its "
            f"first 256 characters returned {record!r}",
        )

    @contract_test("ID-DISTINCT")
    async def test_distinct_ids_never_share_state(self, trial: Trial) -> None:
        store = await trial.open()
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        mixed = trial.new_id(20, letters)
        variants = [mixed.swapcase(), mixed.lower(), mixed.upper()]
        prefix = trial.new_id(255, ID_ALPHABET)
        long_pair = [prefix + "a", prefix + "b"]
        mid = trial.new_id(150, ID_ALPHABET)
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
            await _check_distinct(trial, store, list(dict.fromkeys(group)))
        # Ids a backend's path, URL or escape handling would make one, each created first.
        # A fresh token per group: no id is created twice (re-creating is DELETE-REMOVES').
        for reverse in (False, True):
            for index in range(len(ID_LOOKALIKES)):
                token = trial.new_id(16, "abcdefghijklmnopqrstuvwxyz")
                group = _lookalike_groups(token)[index]
                await _check_distinct(trial, store, group[::-1] if reverse else group)
        # A key layout that keeps a session's metadata under its id plus a suffix: the base
        # created first, then the neighbours; and the neighbours first, then the base.
        for neighbours_first in (False, True):
            base = trial.new_id(24)
            group = [base, *_layout_neighbours(base)]
            await _check_distinct(trial, store, group[::-1] if neighbours_first else group)


async def _check_distinct(trial: Trial, store: Any, group: list[str]) -> None:
    """Create the first id, then the others; each must stay alone, and removing the first
    spares the rest. Calls on distinct ids go out together, so a large group stays quick."""
    for session_id in group:
        trial.remember(session_id)
    first, others = group[0], group[1:]
    await store.create_session(first, {"n": "0"})
    records = await _each(others, store.get_session)
    for other, record in zip(others, records, strict=True):
        trial.check(
            record is None,
            f"only {first!r} was created, and get_session({other!r}) returned {record!r}",
        )
    numbered = dict(zip(others, range(1, len(group)), strict=True))
    created = await _each(
        others, lambda other: store.create_session(other, {"n": str(numbered[other])}), errors=True
    )
    for other, outcome in zip(others, created, strict=True):
        if isinstance(outcome, BaseException):
            raise ClauseViolation(
                f"with {first!r} live, create_session({other!r}) raised "
                f"{type(outcome).__name__}: {outcome}"
            ) from outcome
    records = await _each(group, store.get_session)
    for index, (session_id, record) in enumerate(zip(group, records, strict=True)):
        trial.check(
            record is not None,
            f"get_session({session_id!r}) returned None with {len(group) - 1} neighbouring ids live",
        )
        check_data(
            trial,
            {"n": str(index)},
            snapshot(record).data,
            f"get_session({session_id!r}) with {len(group) - 1} neighbouring ids live",
        )
    await store.delete_session(first)
    records = await _each(others, store.get_session)
    for other, record in zip(others, records, strict=True):
        trial.check(
            record is not None,
            f"after delete_session({first!r}), get_session({other!r}) returned None",
        )
    await _each(others, store.delete_session)


async def _each(ids: list[str], call: Any, *, errors: bool = False) -> list[Any]:
    """``call(id)`` for every id, 32 at a time."""
    results: list[Any] = []
    for start in range(0, len(ids), 32):
        chunk = ids[start : start + 32]
        results.extend(
            await asyncio.gather(*(call(one) for one in chunk), return_exceptions=errors)
        )
    return results
