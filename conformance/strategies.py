"""Hypothesis strategies for what the contract says a store must hold."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from .corpora import KEY_COLLISIONS, RESERVED_KEYS, STRING_VALUES

__all__ = ["json_objects", "json_values", "session_ids"]

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FRACTIONAL_FLOATS = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda value: not value.is_integer()
)
# Every plane, U+0000 included; surrogates are not text and are outside the contract.
# Beside random text, the corpora's strings: text at which backends are known to differ.
TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    [entry.value for entry in STRING_VALUES]
)
ID_ALPHABET = "".join(chr(code) for code in range(0x21, 0x7F))
CORPUS_KEYS = st.sampled_from(
    [key for entry in KEY_COLLISIONS for key in entry.value]
    + [entry.value for entry in RESERVED_KEYS]
)
KEYS = st.sampled_from(["a", "b", "c", "d"]) | CORPUS_KEYS | TEXT
"""Mostly a few short names, so two generated objects overlap and differ in telling ways;
keys a codec or a normaliser would make one come up often enough to meet each other."""


ASCII_TEXT = st.text(st.sampled_from(string.ascii_letters + string.digits + " -_."), max_size=12)
"""Text no store could mangle, for when DATA-STRINGS fails."""
SMALL_INTS = st.integers(min_value=-(2**31), max_value=2**31 - 1)

ALL_KINDS = frozenset({"null", "bool", "small-int", "int64", "float", "unicode"})
"""Kinds of JSON value beyond plain ASCII text, each of which a data clause judges."""


def json_values(max_leaves: int = 8, kinds: frozenset[str] = ALL_KINDS) -> st.SearchStrategy[Any]:
    scalars: st.SearchStrategy[Any] = TEXT if "unicode" in kinds else ASCII_TEXT
    for kind, strategy in (
        ("null", st.none()),
        ("bool", st.booleans()),
        ("small-int", SMALL_INTS),
        ("int64", INT64),
        ("float", FRACTIONAL_FLOATS),
    ):
        if kind in kinds:
            scalars = scalars | strategy
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(KEYS if "unicode" in kinds else ASCII_TEXT, children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def json_objects(
    max_leaves: int = 8, min_size: int = 0, kinds: frozenset[str] = ALL_KINDS
) -> st.SearchStrategy[dict[str, Any]]:
    keys = KEYS if "unicode" in kinds else st.sampled_from(["a", "b", "c", "d"]) | ASCII_TEXT
    return st.dictionaries(keys, json_values(max_leaves, kinds), min_size=min_size, max_size=5)


def session_ids() -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(ID_ALPHABET + string.ascii_letters), min_size=1, max_size=256)
