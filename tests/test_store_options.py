"""--store-option and --failing-store-option: KEY=VALUE for every store, TARGET:KEY=VALUE for one."""

from __future__ import annotations

import pytest

from conformance.store_options import (
    failing_options_for,
    options_for,
    read_store_options,
    unscoped_problem,
)
from conformance.stores import TargetError
from reference_stores import InMemorySessionStore, RedisSessionStore

TARGETS = ["redis", "mymodule:MyStore", "node:./store.mjs", "node:./store.mjs:makeStore"]


@pytest.mark.parametrize(
    ("text", "target", "key", "value"),
    [
        ("url=redis://127.0.0.1:6379/0", None, "url", "redis://127.0.0.1:6379/0"),
        ("redis:key_prefix=test:", "redis", "key_prefix", "test:"),
        ("mymodule:MyStore:limit=5", "mymodule:MyStore", "limit", 5),
        ("node:./store.mjs:url=redis://h:1", "node:./store.mjs", "url", "redis://h:1"),
        # The longest --store value that fits wins: makeStore is part of the target here.
        ("node:./store.mjs:makeStore:url=x:y", "node:./store.mjs:makeStore", "url", "x:y"),
    ],
)
def test_an_option_is_scoped_to_the_store_value_it_starts_with(
    text: str, target: str | None, key: str, value: object
) -> None:
    [option] = read_store_options([text], TARGETS, "--store-option")
    assert (option.target, option.key, option.value) == (target, key, value)


def test_a_scope_naming_no_store_of_the_run_is_an_error_that_shows_the_form() -> None:
    with pytest.raises(TargetError) as raised:
        read_store_options(["redi:key_prefix=t:"], ["memory", "redis"], "--failing-store-option")
    message = str(raised.value)
    assert "'redi' is not a --store of this run (memory, redis)" in message
    assert "--failing-store-option memory:key_prefix=t:" in message


def test_a_scoped_option_wins_over_an_unscoped_one_and_stays_with_its_store() -> None:
    options = read_store_options(
        ["redis:url=mine", "url=all"], ["memory", "redis"], "--store-option"
    )
    assert options_for("redis", options) == {"url": "mine"}
    assert options_for("memory", options) == {"url": "all"}
    failing = read_store_options(["redis:url=down"], ["memory", "redis"], "--failing-store-option")
    assert failing_options_for("redis", failing) == {"url": "down"}
    assert failing_options_for("memory", failing) is None  # no failing twin: ERR-BACKEND n/a


def test_an_unscoped_option_a_store_cannot_take_names_it_and_the_scoped_form() -> None:
    factories = {"memory": InMemorySessionStore, "redis": RedisSessionStore}
    options = read_store_options(["key_prefix=t:"], list(factories), "--store-option")
    problem = unscoped_problem(options, factories, "--store-option")
    assert problem is not None
    assert "InMemorySessionStore (--store=memory) takes no key_prefix parameter" in problem
    assert problem.endswith("--store-option redis:key_prefix=t:")
    scoped = read_store_options(["redis:key_prefix=t:"], list(factories), "--store-option")
    assert unscoped_problem(scoped, factories, "--store-option") is None
    alone = {"memory": InMemorySessionStore}  # one store: the setup check says it, with more
    assert unscoped_problem(options, alone, "--store-option") is None
