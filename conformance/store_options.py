"""``--store-option`` and ``--failing-store-option``: for every store, or scoped to one.

``KEY=VALUE`` goes to every store of the run; ``TARGET:KEY=VALUE`` only to the store whose
``--store`` value is TARGET, exactly as given (``redis:key_prefix=test:``,
``mymodule:MyStore:url=...``, ``node:./store.mjs:makeStore:url=...``). Targets hold colons
themselves, so an option is matched against the run's own ``--store`` values, the longest
first, and is scoped to one only when the rest after its colon is ``KEY=VALUE`` with KEY an
identifier: a KEY never holds a colon, so no other reading is possible. A scoped option wins
over an unscoped one with the same KEY, whatever their order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .stores import StoreBuilder, TargetError
from .targets import parse_store_option

__all__ = [
    "StoreOption",
    "failing_options_for",
    "options_for",
    "read_store_options",
    "unscoped_problem",
]


@dataclass(frozen=True)
class StoreOption:
    key: str
    value: Any
    text: str
    """As the user gave it, for messages."""
    target: str | None = None
    """The ``--store`` value it is scoped to; None: every store of the run."""


def read_store_options(
    texts: Sequence[str],
    targets: Sequence[str],
    flag: str,
    addresses: Mapping[str, str] | None = None,
) -> list[StoreOption]:
    """Parse each option, scoped to one of ``targets`` or to all; TargetError when malformed.

    ``addresses``: the strict endpoints' placeholders and what they stand for.
    """
    return [_read_one(text, targets, flag, addresses) for text in texts]


def _read_one(
    text: str, targets: Sequence[str], flag: str, addresses: Mapping[str, str] | None
) -> StoreOption:
    for target in sorted({t.strip() for t in targets}, key=len, reverse=True):
        if text.startswith(target + ":"):
            rest = text[len(target) + 1 :]
            if rest.partition("=")[0].strip().isidentifier() and "=" in rest:
                key, value = parse_store_option(rest, flag, addresses)
                return StoreOption(key, value, text, target)
    name, _, raw = text.partition("=")
    if ":" in name:  # a KEY holds no colon: this was meant as TARGET:KEY=VALUE
        named, _, key = name.rpartition(":")
        raise TargetError(
            f"{flag} {text!r}: {named!r} is not a --store of this run ({', '.join(targets)}); "
            "to give an option to one store, start it with that --store value exactly as "
            f"given and a colon, as in {flag} {targets[0]}:{key}={raw}"
        )
    key, value = parse_store_option(text, flag, addresses)
    return StoreOption(key, value, text)


def options_for(target: str, options: Sequence[StoreOption]) -> dict[str, Any]:
    """The keyword arguments of one store: the unscoped options, then those scoped to it."""
    chosen = {o.key: o.value for o in options if o.target is None}
    chosen.update({o.key: o.value for o in options if o.target == target.strip()})
    return chosen


def failing_options_for(target: str, options: Sequence[StoreOption]) -> dict[str, Any] | None:
    """The options of one store's failing twin; None when none is given for it (ERR-BACKEND
    is then not applicable to it)."""
    if not any(o.target in (None, target.strip()) for o in options):
        return None
    return options_for(target, options)


def unscoped_problem(
    options: Sequence[StoreOption], factories: Mapping[str, Callable[..., Any]], flag: str
) -> str | None:
    """In a run of several stores: the error for an unscoped option a store cannot take.

    With one store the setup check reports it, with the options the store does take.
    """
    if len(factories) < 2:
        return None
    builders = {label: StoreBuilder(factory) for label, factory in factories.items()}
    for option in options:
        if option.target is not None:
            continue
        refusing = [label for label, b in builders.items() if not b.accepts_keyword(option.key)]
        if not refusing:
            continue
        taking = [label for label in builders if label not in refusing]
        names = ", ".join(f"{builders[label].description} (--store={label})" for label in refusing)
        scoped = (
            "scope it to the stores that take it: "
            + " ".join(f"{flag} {label}:{option.text}" for label in taking)
            if taking
            else f"no store of this run takes {option.key}"
        )
        return (
            f"{flag} {option.text} goes to every store of this run, and {names} "
            f"take{'s' if len(refusing) == 1 else ''} no {option.key} parameter; {scoped}"
        )
    return None
