"""The contract suite for MCP session stores, as a pytest plugin (``pytest --store=...``)."""

from __future__ import annotations

from .clauses import CLAUSES, SPEC_VERSION, Clause, clause_by_id
from .contract import SessionStoreContract

__all__ = ["CLAUSES", "SPEC_VERSION", "Clause", "SessionStoreContract", "clause_by_id"]
