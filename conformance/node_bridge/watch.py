"""Watching what crossed, to mirror the Python caller's later changes to the JavaScript twin.

Objects that cross (the data a caller passes, the record it gets back) are watched: when
the Python caller changes one afterwards, the same change is made to the JavaScript object
the store was given or returned, so a store that keeps or hands out references is caught
just as a JavaScript caller would catch it (DATA-COPY-IN, GET-ISOLATED).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .wire import _RECORD_KEYS, Path_, encode_value


@dataclass
class _Node:
    """What a crossed object held when it was last in step with its JavaScript twin."""

    kind: str  # "map", "list", "record" or "leaf"
    obj: Any
    children: Any = None


def _snapshot(value: Any, record: bool = False) -> _Node:
    if record:
        return _Node(
            "record", value, {name: _snapshot(getattr(value, name, None)) for name in _RECORD_KEYS}
        )
    if isinstance(value, Mapping):
        return _Node("map", value, {key: _snapshot(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return _Node("list", value, [_snapshot(item) for item in value])
    return _Node("leaf", value)


def _same_leaf(node: _Node, value: Any) -> bool:
    if node.kind != "leaf":
        return False
    old = node.obj
    return type(old) is type(value) and (old is value or bool(old == value))


def _set_edit(path: Path_, key: str | int, value: Any, edits: list[list[Any]]) -> None:
    try:
        encoded, specials = encode_value(value)
    except (TypeError, ValueError):
        return  # nothing JavaScript could hold: a JavaScript caller could not have made this change
    edits.append(["set", path, key, encoded, specials])


def _diff(node: _Node, current: Any, path: Path_, edits: list[list[Any]]) -> None:
    """The edits that turn the JavaScript twin of ``node`` into ``current`` (the same object)."""
    if node.kind == "record":
        for name, js_key in _RECORD_KEYS.items():
            _diff_child(node.children[name], getattr(current, name, None), path, js_key, edits)
    elif node.kind == "map":
        for key in node.children:
            if key not in current:
                edits.append(["del", path, key])
        for key, item in current.items():
            old = node.children.get(key)
            if old is None:
                _set_edit(path, str(key), item, edits)
            else:
                _diff_child(old, item, path, str(key), edits)
    elif node.kind == "list":
        for index, item in enumerate(current):
            if index < len(node.children):
                _diff_child(node.children[index], item, path, index, edits)
            else:
                _set_edit(path, index, item, edits)
        if len(current) < len(node.children):
            edits.append(["len", path, len(current)])


def _diff_child(old: _Node, item: Any, path: Path_, key: str | int, edits: list[list[Any]]) -> None:
    if old.kind in ("map", "list"):
        # Changed in place before (or after) being replaced: the JavaScript twin, reachable at
        # this path until the "set" below, takes those changes first.
        _diff(old, old.obj, [*path, key], edits)
        if old.obj is not item:
            _set_edit(path, key, item, edits)
    elif not _same_leaf(old, item):
        _set_edit(path, key, item, edits)


@dataclass
class _Watched:
    handle: int
    obj: Any
    node: _Node
    record: bool
