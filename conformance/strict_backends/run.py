"""The strict endpoints of one pytest run: started once, their addresses shared, stopped at the end.

The process that runs pytest (the xdist controller, under xdist) starts the
endpoints its options ask for; workers get their addresses with the seed and
send their requests to them, so one history of writes and one fault schedule
serve the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from .placeholders import PLACEHOLDERS

__all__ = ["active_addresses", "faults_options", "start_for_run", "through"]

_WORKER_KEY = "conformance_strict_backends"
_LABELS = {
    "strict_dynamodb": "strict DynamoDB endpoint",
    "faulty_redis": "fault-injecting Redis endpoint",
}
_FAULTS = {"strict_dynamodb": "throttling", "faulty_redis": "faults injected"}
_addresses: dict[str, str] = {}
"""This process's endpoints: placeholder name -> address, and name + "_faults" -> faults address."""


def active_addresses() -> dict[str, str]:
    return dict(_addresses)


def start_for_run(config: pytest.Config) -> dict[str, str]:
    """Start the endpoints the options ask for (or take a worker's addresses); their addresses."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and _WORKER_KEY in workerinput:
        _addresses.clear()
        _addresses.update(workerinput[_WORKER_KEY])
        return dict(_addresses)
    dynamodb = config.getoption("conformance_strict_dynamodb", default=None)
    redis = config.getoption("conformance_faulty_redis", default=None)
    if not dynamodb and not redis:
        return {}
    seed = int(config.option.conformance_seed)
    endpoints: list[Any] = []
    try:
        if dynamodb:
            from .dynamodb_endpoint import StrictDynamoDBEndpoint

            endpoints.append(("strict_dynamodb", StrictDynamoDBEndpoint(dynamodb, seed)))
        if redis:
            from .redis_faults import FaultyRedisEndpoint

            endpoints.append(("faulty_redis", FaultyRedisEndpoint(redis, seed)))
    except (ValueError, ImportError) as error:
        raise pytest.UsageError(f"strict backends: {error}") from None
    for name, endpoint in endpoints:
        endpoint.start()
        _addresses[name] = endpoint.url
        _addresses[name + "_faults"] = endpoint.faults_url
    config.pluginmanager.register(_RunningEndpoints(endpoints, seed), "strict-backends")
    return dict(_addresses)


def faults_options(options: Mapping[str, Any]) -> dict[str, Any] | None:
    """``options`` pointed at the faults address of each endpoint they name; None if they name none."""
    changed = False
    result = dict(options)
    for name in PLACEHOLDERS:
        address, faults = _addresses.get(name), _addresses.get(name + "_faults")
        if not address or not faults:
            continue
        for key, value in result.items():
            if isinstance(value, str) and address in value:
                result[key] = value.replace(address, faults)
                changed = True
    return result if changed else None


def through(options: Mapping[str, Any], clause_id: str) -> str:
    """What a store built with ``options`` is judged through, in words; "" for its own backend."""
    names = [
        name
        for name in PLACEHOLDERS
        if _addresses.get(name)
        and any(isinstance(v, str) and _addresses[name] in v for v in options.values())
    ]
    if clause_id == "ERR-BACKEND":
        return ", ".join(f"{_LABELS[name]} ({_FAULTS[name]})" for name in names)
    return ", ".join(_LABELS[name] for name in names)


class _RunningEndpoints:
    """A plugin object: hands the addresses to xdist workers, reports, and stops the endpoints."""

    def __init__(self, endpoints: list[tuple[str, Any]], seed: int) -> None:
        self.endpoints = endpoints
        self.seed = seed

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[_WORKER_KEY] = dict(_addresses)

    def pytest_report_header(self) -> list[str]:
        return [
            f"{_LABELS[name]}: {endpoint.url} in front of {endpoint.upstream} "
            f"(faults address {endpoint.faults_url}; schedule seeded by {self.seed})"
            for name, endpoint in self.endpoints
        ]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for name, endpoint in self.endpoints:
            if name == "strict_dynamodb":
                what = (
                    f"served {endpoint.history.stale_reads_served} stale reads, refused "
                    f"{endpoint.refusals} requests past DynamoDB's limits, throttled "
                    f"{endpoint.throttles.throttled} requests"
                )
            else:
                met = endpoint.schedule.met
                what = "injected " + (
                    ", ".join(f"{count} {fault}" for fault, count in sorted(met.items()))
                    or "no fault"
                )
            terminalreporter.write_line(f"{_LABELS[name]}: {what}")

    def pytest_unconfigure(self) -> None:
        for _name, endpoint in self.endpoints:
            endpoint.stop()
        _addresses.clear()
