"""Counts the work a store call does: JSON serializations, JSON decodes, checked Python walks.

A regression guard without a clock: each store's tests pin these counts per operation,
so a second serialization, a decode nobody needs or a copy made by walking the data in
Python fails the test, however fast the machine. Round trips are counted beside them,
in each store's own tests.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest

from reference_stores import validation

KINDS = ("dumps", "loads", "walks")

# Decoders a store module may call by name. Serializations are counted inside
# ``validation``: each check in C (one serialization, read back to prove it) and each
# ``dump_json``; a walk is the checked copy in Python.
_DECODERS = ("decode_data", "load_json_object")


class _CountingJSON:
    """The ``json`` module, with ``dumps`` and ``loads`` counted."""

    def __init__(self, counts: Counter[str]) -> None:
        self._counts = counts

    def dumps(self, *args: Any, **kwargs: Any) -> str:
        self._counts["dumps"] += 1
        return json.dumps(*args, **kwargs)

    def loads(self, *args: Any, **kwargs: Any) -> Any:
        self._counts["loads"] += 1
        return json.loads(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


class _CountingDecoder:
    def __init__(self, decoder: json.JSONDecoder, counts: Counter[str]) -> None:
        self._decoder = decoder
        self._counts = counts

    def decode(self, text: str) -> Any:
        self._counts["loads"] += 1
        return self._decoder.decode(text)


class WorkCounter:
    """Patches ``store_module``, the ``helper_modules`` it calls and ``validation`` to count a
    store's work (a store whose codec is a module of its own names that module too)."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        store_module: ModuleType,
        *helper_modules: ModuleType,
    ) -> None:
        self.counts: Counter[str] = Counter()
        modules = (store_module, *helper_modules)
        for module in modules:
            for name in _DECODERS:
                if hasattr(module, name):
                    monkeypatch.setattr(
                        module, name, self._counting(getattr(module, name), "loads")
                    )
        dump_json = self._counting(validation.dump_json, "dumps")
        monkeypatch.setattr(validation, "dump_json", dump_json)
        for module in modules:
            if hasattr(module, "dump_json"):
                monkeypatch.setattr(module, "dump_json", dump_json)
        monkeypatch.setattr(
            validation, "_fast_checked", self._counting(validation._fast_checked, "dumps")
        )
        for module in modules:
            if getattr(module, "json", None) is json:
                monkeypatch.setattr(module, "json", _CountingJSON(self.counts))
            decoder = getattr(module, "_JSON_DECODER", None)
            if decoder is not None:
                monkeypatch.setattr(module, "_JSON_DECODER", _CountingDecoder(decoder, self.counts))
        monkeypatch.setattr(
            validation, "_copy_checked", self._counting(validation._copy_checked, "walks")
        )

    def _counting(self, function: Callable[..., Any], kind: str) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[kind] += 1
            return function(*args, **kwargs)

        return counted

    async def of(self, operation: Awaitable[object]) -> dict[str, int]:
        """The work ``operation`` did, every kind named (0 for none)."""
        self.counts.clear()
        await operation
        return {kind: self.counts[kind] for kind in KINDS}


def work(dumps: int = 0, loads: int = 0, walks: int = 0) -> dict[str, int]:
    return {"dumps": dumps, "loads": loads, "walks": walks}


async def check_work_per_operation(
    store: Any, counter: WorkCounter, *, write: dict[str, int], read: dict[str, int]
) -> None:
    """Each operation of a store with revisions, once, against the work it may do.

    ``write`` is a data write's work (create and update, conditional or not), ``read``
    a read's; exists, touch and delete serialize and decode nothing.
    """
    data = {"user": "alice", "scopes": ["read"], "n": 1, "nested": {"deep": [{"x": 1.5}]}}
    assert await counter.of(store.create_session("counted", data)) == write
    assert await counter.of(store.get_session("counted")) == read
    assert await counter.of(store.session_exists("counted")) == work()
    assert await counter.of(store.update_session("counted", {"data": data})) == write
    assert await counter.of(store.update_session("counted", {})) == work()
    conditional = store.update_session("counted", {"data": data}, expected_revision=2)
    assert await counter.of(conditional) == write
    assert await counter.of(store.delete_session("counted")) == work()
