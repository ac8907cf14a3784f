"""The contract suite: one behaviour mixin per section of SPEC.md, joined in ``SessionStoreContract``.

Subclass it in your own tests and define the ``session_store_factory`` fixture::

    class TestMyStore(SessionStoreContract):
        @pytest.fixture
        def session_store_factory(self):
            return MyStore      # or functools.partial(MyStore, url=...), an async factory, ...
"""

from __future__ import annotations

from typing import Any

import pytest

from ..runner import Kit, Settings
from ..stores import StoreBuilder
from .backend_faults import BackendFaultClauses
from .consistency import ConsistencyClauses
from .create import CreateClauses
from .data import DataClauses
from .delete import DeleteClauses
from .errors import ErrorClauses
from .ids import IdClauses
from .interface import InterfaceClauses
from .model import ModelClauses
from .reading import ExistsClauses, GetClauses
from .revisions import RevisionClauses
from .timestamps import TimestampClauses
from .ttl import TtlClauses
from .update import UpdateClauses

__all__ = ["SessionStoreContract"]

_BATCH_CACHE = pytest.StashKey[dict[str, Any]]()


class SessionStoreContract(
    InterfaceClauses,
    IdClauses,
    CreateClauses,
    GetClauses,
    ExistsClauses,
    UpdateClauses,
    DeleteClauses,
    DataClauses,
    TimestampClauses,
    TtlClauses,
    RevisionClauses,
    ErrorClauses,
    BackendFaultClauses,
    ConsistencyClauses,
    ModelClauses,
):
    """Every clause of SPEC.md as tests, against the store ``session_store_factory`` builds."""

    @pytest.fixture
    def session_store_factory(self) -> Any:
        """What to build stores from: anything ``--store`` accepts. Override it."""
        pytest.fail(
            f"{type(self).__name__} must define the session_store_factory fixture", pytrace=False
        )

    conformance_skip_heavy: bool = False
    """True: report the heavy checks N/A for this store, as ``--conformance-skip-heavy`` does
    for every store (for a store built for few sessions, say)."""

    @pytest.fixture
    def session_store_options(self) -> dict[str, Any]:
        """Keyword arguments for every store the suite builds."""
        return {}

    @pytest.fixture
    def failing_session_store_factory(self) -> Any:
        """A target whose backend is down, for ERR-BACKEND; ``None`` leaves that clause not applicable."""
        return None

    @pytest.fixture
    def session_store_kit(
        self,
        request: pytest.FixtureRequest,
        session_store_factory: Any,
        session_store_options: dict[str, Any],
        failing_session_store_factory: Any,
    ) -> Kit:
        config = request.config
        builder = StoreBuilder(session_store_factory, session_store_options)
        failing = None
        if failing_session_store_factory is not None:
            failing = StoreBuilder(failing_session_store_factory, session_store_options)
        node = request.node
        callspec = getattr(node, "callspec", None)
        key = (
            f"{type(self).__module__}.{type(self).__qualname__}[{callspec.id if callspec else ''}]"
        )
        cache = config.stash.setdefault(_BATCH_CACHE, {})
        return Kit(
            key=key,
            builder=builder,
            failing_builder=failing,
            settings=settings_from(config, skip_heavy=self.conformance_skip_heavy),
            contract=self,
            batch_cache=cache,
            item=node,
        )


def settings_from(config: pytest.Config, *, skip_heavy: bool = False) -> Settings:
    def option(name: str, default: Any) -> Any:
        value = config.getoption(name, default=None)
        return default if value is None else value

    defaults = Settings()
    return Settings(
        race_rounds=option("conformance_race_rounds", defaults.race_rounds),
        race_concurrency=option("conformance_race_concurrency", defaults.race_concurrency),
        scenario_timeout=option("conformance_timeout", defaults.scenario_timeout),
        examples=option("conformance_examples", defaults.examples),
        seed=option("conformance_seed", defaults.seed),
        skip_heavy=skip_heavy or bool(option("conformance_skip_heavy", defaults.skip_heavy)),
    )
