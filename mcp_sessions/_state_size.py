"""The cap on what a tool keeps: a session's or a handle's state, measured as stored JSON."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["DEFAULT_MAX_STATE_BYTES", "resolve_max_state_bytes", "state_size_problem"]

DEFAULT_MAX_STATE_BYTES = 1024 * 1024
"""Largest state a tool may keep, in bytes of compact UTF-8 JSON (1 MiB)."""


def resolve_max_state_bytes(max_state_bytes: int | None) -> int | None:
    """``max_state_bytes`` checked: a positive int, or None for no cap."""
    if max_state_bytes is None:
        return None
    if type(max_state_bytes) is not int or max_state_bytes < 1:
        raise ValueError(
            f"max_state_bytes must be a positive int (bytes) or None, not {max_state_bytes!r}"
        )
    return max_state_bytes


def state_size_problem(state: Any, max_state_bytes: int | None) -> str | None:
    """Why ``state`` may not be written (its size against the cap), or None when it fits.

    A state that is not JSON at all is left to the store, which refuses it with
    its own, more precise error.
    """
    if max_state_bytes is None:
        return None
    try:
        text = json.dumps(state, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= max_state_bytes:
        return None
    return (
        f"the new state takes {size:,} bytes as JSON, over this server's cap of {max_state_bytes:,}"
    )
