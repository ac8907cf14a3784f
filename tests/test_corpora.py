"""The corpora are what their checks assume: each entry fits the clause that uses it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from conformance import corpora
from conformance.contract.checks import json_difference
from reference_stores import InvalidSessionIdError
from reference_stores.validation import validate_data, validate_session_id, validate_updates

ALL_ENTRIES: list[corpora.Entry[Any]] = [
    entry for name in corpora.__all__ if name.isupper() for entry in getattr(corpora, name)
]


def test_every_entry_says_which_backend_behaviour_it_stands_for() -> None:
    assert len(ALL_ENTRIES) > 100
    assert all(len(entry.why.split()) >= 3 for entry in ALL_ENTRIES), [
        entry for entry in ALL_ENTRIES if len(entry.why.split()) < 3
    ]


@pytest.mark.parametrize("entry", corpora.ID_LOOKALIKES, ids=lambda e: e.why)
def test_id_lookalikes_are_distinct_valid_ids(entry: corpora.Entry[tuple[str, ...]]) -> None:
    ids = [corpora.filled(template, "token") for template in entry.value]
    assert len(set(ids)) == len(ids) >= 2
    for session_id in ids:
        assert validate_session_id(session_id) == session_id


@pytest.mark.parametrize("entry", corpora.INVALID_ID_LOOKALIKES, ids=lambda e: e.why)
def test_invalid_id_lookalikes_make_an_id_invalid(entry: corpora.Entry[str]) -> None:
    with pytest.raises(InvalidSessionIdError):
        validate_session_id("token" + entry.value)


@pytest.mark.parametrize("entry", corpora.KEY_COLLISIONS, ids=lambda e: e.why)
def test_colliding_keys_are_distinct_text(entry: corpora.Entry[tuple[str, ...]]) -> None:
    assert len(set(entry.value)) == len(entry.value) >= 2
    assert validate_data(dict.fromkeys(entry.value, "")) == dict.fromkeys(entry.value, "")


def test_string_values_and_reserved_keys_are_json_text() -> None:
    for entry in (*corpora.STRING_VALUES, *corpora.RESERVED_KEYS):
        assert json.loads(json.dumps(entry.value)) == entry.value


@pytest.mark.parametrize("entry", corpora.MARKER_OBJECTS, ids=lambda e: e.why)
def test_markers_are_plain_json_objects(entry: corpora.Entry[dict[str, Any]]) -> None:
    assert json_difference(entry.value, json.loads(json.dumps(entry.value))) is None


@pytest.mark.parametrize("entry", corpora.TYPE_CHANGES, ids=lambda e: e.why)
def test_a_type_change_is_a_change_in_json_terms(entry: corpora.Entry[tuple[Any, Any]]) -> None:
    old, new = entry.value
    assert json_difference(new, old) is not None  # so a store keeping the old value fails


@pytest.mark.parametrize("entry", corpora.NON_OBJECT_DATA, ids=lambda e: e.why)
def test_non_object_data_is_refused_by_the_reference_validation(entry: corpora.Entry[Any]) -> None:
    assert not isinstance(entry.value, Mapping)
    with pytest.raises((TypeError, ValueError)):
        validate_data(entry.value)


@pytest.mark.parametrize("entry", corpora.NON_MAPPING_UPDATES, ids=lambda e: e.why)
def test_non_mapping_updates_are_refused_by_the_reference_validation(
    entry: corpora.Entry[Any],
) -> None:
    with pytest.raises((TypeError, ValueError)):
        validate_updates(entry.value)


def test_number_edges_are_what_their_clauses_take() -> None:
    for entry in corpora.INTEGER_EDGES:
        assert type(entry.value) is int, entry
        assert -(2**63) <= entry.value < 2**63, entry  # DATA-INTEGERS' range
    for entry in corpora.FRACTIONAL_FLOAT_EDGES:
        assert not entry.value.is_integer(), entry  # DATA-TYPES lets whole floats become ints
