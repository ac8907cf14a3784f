"""Hypothesis strategies for what the contract says a store must hold."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

__all__ = ["json_objects", "json_values", "session_ids"]

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FRACTIONAL_FLOATS = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda value: not value.is_integer()
)
# Every plane, U+0000 included; surrogates are not text and are outside the contract.
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
ID_ALPHABET = "".join(chr(code) for code in range(0x21, 0x7F))
KEYS = st.sampled_from(["a", "b", "c", "d"]) | TEXT
"""Mostly a few short names, so two generated objects overlap and differ in telling ways."""


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | INT64 | FRACTIONAL_FLOATS | TEXT
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def json_objects(max_leaves: int = 8, min_size: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(KEYS, json_values(max_leaves), min_size=min_size, max_size=5)


def session_ids() -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(ID_ALPHABET + string.ascii_letters), min_size=1, max_size=256)
