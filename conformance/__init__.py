"""The contract suite for MCP session stores, as a pytest plugin (``pytest --store=...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clauses import CLAUSES, SPEC_VERSION, Clause, clause_by_id

if TYPE_CHECKING:
    from .contract import SessionStoreContract

__all__ = ["CLAUSES", "SPEC_VERSION", "Clause", "SessionStoreContract", "clause_by_id"]


def __getattr__(name: str) -> Any:
    # pytest loads the plugin in every run of a project that has the kit installed; the
    # contract (and hypothesis with it) is imported only when a run asks for the suite.
    if name == "SessionStoreContract":
        from .contract import SessionStoreContract

        return SessionStoreContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
