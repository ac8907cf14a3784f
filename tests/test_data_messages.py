"""A data failure names the path, the value sent and the value read back, code points included."""

from __future__ import annotations

from conformance.contract.checks import json_difference


def test_the_path_names_every_key_and_index() -> None:
    found = json_difference({"a": [0, 1, 2, {"k": "x"}]}, {"a": [0, 1, 2, {"k": "y"}]})
    assert found == 'data["a"][3]["k"]: sent the str "x", read back the str "y"'


def test_a_changed_type_shows_both_types() -> None:
    found = json_difference({"t": True}, {"t": 1})
    assert found == 'data["t"]: sent True (bool), read back 1 (int)'


def test_non_ascii_text_shows_its_code_points_on_both_sides() -> None:
    found = json_difference({"s": "\u00e9"}, {"s": "e\u0301"})
    assert found is not None
    assert "U+00E9" in found
    assert "U+0065 U+0301" in found
    assert found.startswith('data["s"]: sent the str "\\u00e9"')


def test_a_changed_key_names_the_key_sent_and_the_key_read_back() -> None:
    found = json_difference({"x": {"\u00e9": 1}}, {"x": {"e\u0301": 1}})
    assert (
        found
        == 'data["x"]: sent the keys ["\\u00e9"], read back the keys ["e\\u0301"] in their place'
    )


def test_a_lost_character_in_a_long_string_is_located() -> None:
    sent = "\U0001f600" + "x" * 40
    found = json_difference({"s": sent}, {"s": "?" + "x" * 40})
    assert found is not None
    assert "\\U0001f600" in found
    assert "from index 0: U+003F" in found


def test_equal_data_has_no_difference() -> None:
    assert json_difference({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}) is None
