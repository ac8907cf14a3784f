"""Which version of an item an eventually consistent read is served, on a seeded schedule.

DynamoDB serves a read without ``ConsistentRead: true`` from any replica, which
may not have the latest write yet: it returns an earlier version of the item,
or none. Emulators always return the latest. This history remembers, per item,
the version before the last write, and serves it to the first N eventually
consistent reads after that write; N is 1 to 3, fixed by the run's seed and the
key, so every run meets a stale read, and a consistent read never does.

Only a write that replaced an item that existed (an update, or a put over an
item) opens such a window. A read right after a create or a delete is served
the truth: the suite's checks of GET-MISSING and IFACE-RECORD, which every
other clause leans on through CONS-READ-YOUR-WRITES, read right there, and an
eventually consistent store is then reported once, under CONS-READ-YOUR-WRITES,
instead of under a clause that clause leans on.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .schedule import seeded_int

__all__ = ["ItemHistory", "key_text", "project"]

MAX_STALE_READS = 3


def key_text(table: str, key: Mapping[str, Any]) -> str:
    """One string per item: its table and key, in a canonical form."""
    return json.dumps([table, key], sort_keys=True, separators=(",", ":"))


@dataclass
class _Window:
    previous: dict[str, Any]
    reads_left: int


class ItemHistory:
    """The previous version of each recently replaced item, and how many stale reads it has left."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._windows: dict[str, _Window] = {}
        self._writes: dict[str, int] = {}
        self._lock = threading.Lock()
        self.stale_reads_served = 0

    def written(self, item_key: str, previous: Mapping[str, Any] | None, exists_now: bool) -> None:
        """A write to the item finished; ``previous`` is the item before it (None: there was none)."""
        with self._lock:
            count = self._writes.get(item_key, 0) + 1
            self._writes[item_key] = count
            if previous is None or not exists_now:
                self._windows.pop(item_key, None)
                return
            reads = 1 + seeded_int(self.seed, item_key, count, below=MAX_STALE_READS)
            self._windows[item_key] = _Window(dict(previous), reads)

    def stale_version(self, item_key: str) -> dict[str, Any] | None:
        """The version an eventually consistent read of the item gets instead, if its window is open."""
        with self._lock:
            window = self._windows.get(item_key)
            if window is None:
                return None
            window.reads_left -= 1
            if window.reads_left <= 0:
                del self._windows[item_key]
            self.stale_reads_served += 1
            return window.previous


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def project(
    item: Mapping[str, Any],
    projection: str | None,
    names: Mapping[str, str] | None,
    attributes_to_get: list[str] | None = None,
) -> dict[str, Any]:
    """``item`` as a read with this ``ProjectionExpression`` (or ``AttributesToGet``) returns it."""
    if attributes_to_get:
        return {name: item[name] for name in attributes_to_get if name in item}
    if not projection:
        return dict(item)
    result: dict[str, Any] = {}
    for path_text in projection.split(","):
        path = [
            (names or {}).get(name, name) if name else int(index)
            for name, index in _PATH_PART.findall(path_text.strip())
        ]
        _copy_path(item, result, path)
    return result


def _copy_path(source: Mapping[str, Any], target: dict[str, Any], path: list[Any]) -> None:
    # Map paths (a.b.c) are followed exactly; a path through a list element keeps the
    # whole top-level attribute, a superset of what the service returns.
    if not path or not isinstance(path[0], str) or path[0] not in source:
        return
    if not all(isinstance(part, str) for part in path):
        target[path[0]] = source[path[0]]
        return
    value: Any = source[path[0]]
    for part in path[1:]:
        inner = value.get("M") if isinstance(value, Mapping) else None
        if not isinstance(inner, Mapping) or part not in inner:
            return
        value = inner[part]
    node = target
    for part in path[:-1]:
        node = node.setdefault(part, {"M": {}})["M"]
    node[path[-1]] = value
