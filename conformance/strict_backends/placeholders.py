"""``{strict_dynamodb}`` and ``{faulty_redis}`` in option values: the endpoints' addresses.

``--store-option endpoint_url={strict_dynamodb}`` hands the store the strict
DynamoDB endpoint's URL; ``url={faulty_redis}/0`` the Redis relay's. Rerun
commands show the placeholder again, since the addresses change every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PLACEHOLDERS", "restore", "substitute"]

PLACEHOLDERS = {
    "strict_dynamodb": "--conformance-strict-dynamodb",
    "faulty_redis": "--conformance-faulty-redis",
}
"""Each placeholder, and the option that starts the endpoint it stands for."""


class PlaceholderError(ValueError):
    """A placeholder names an endpoint this run does not start."""


def substitute(value: Any, addresses: Mapping[str, str]) -> Any:
    """``value`` with each placeholder replaced by its endpoint's address."""
    if not isinstance(value, str):
        return value
    for name, option in PLACEHOLDERS.items():
        token = "{" + name + "}"
        if token not in value:
            continue
        if name not in addresses:
            raise PlaceholderError(
                f"{value!r} names {token}, but no such endpoint runs: start it with "
                f"{option} UPSTREAM_URL"
            )
        value = value.replace(token, addresses[name])
    return value


def restore(value: Any, addresses: Mapping[str, str]) -> Any:
    """``value`` with each endpoint's address put back as its placeholder."""
    if not isinstance(value, str):
        return value
    for name, address in addresses.items():
        if name in PLACEHOLDERS and address:
            value = value.replace(address, "{" + name + "}")
    return value
