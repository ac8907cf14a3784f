"""The contract suite as ``pytest --store=...`` runs it: one parametrized run per store target.

The plugin adds this file to the collection only when a store is named.
"""

from __future__ import annotations

from typing import Any

import pytest

from .contract import SessionStoreContract
from .targets import StoreTarget


class TestSessionStoreConformance(SessionStoreContract):
    @pytest.fixture
    def session_store_target(self, request: pytest.FixtureRequest) -> StoreTarget:
        target: StoreTarget = request.param
        return target

    @pytest.fixture
    def session_store_factory(self, session_store_target: StoreTarget) -> Any:
        return session_store_target.factory

    @pytest.fixture
    def session_store_options(self, session_store_target: StoreTarget) -> dict[str, Any]:
        return dict(session_store_target.options)

    @pytest.fixture
    def failing_session_store_factory(self, session_store_target: StoreTarget) -> Any:
        if session_store_target.failing_options is None:
            return None
        factory = session_store_target.factory
        failing = dict(session_store_target.failing_options)

        def build_failing(**options: Any) -> Any:
            return factory(**{**options, **failing})

        build_failing.__signature__ = _signature_of(factory)  # type: ignore[attr-defined]
        build_failing.__qualname__ = getattr(factory, "__qualname__", "store")
        # The ERR-BACKEND repro builds the target itself with the failing options.
        build_failing.conformance_factory = factory  # type: ignore[attr-defined]
        build_failing.conformance_failing_options = failing  # type: ignore[attr-defined]
        for declaration in ("accepts_ttl", "accepts_clock"):  # what the target declares
            if hasattr(factory, declaration):
                setattr(build_failing, declaration, getattr(factory, declaration))
        return build_failing


def _signature_of(factory: Any) -> Any:
    import inspect

    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):
        return None
