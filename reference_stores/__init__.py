"""The session store interface, its types and reference stores that meet SPEC.md.

Stores whose backend client is an optional extra are imported on first use,
so ``import reference_stores`` needs nothing beyond the standard library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    InvalidSessionIdError,
    RevisionConflictError,
    SessionExistsError,
    SessionStoreError,
    StoreBusyError,
)
from .interface import SESSION_STORE_METHODS, RevisionedSessionStore, SessionData, SessionStore
from .memory import InMemorySessionStore

if TYPE_CHECKING:
    from .dynamodb import DynamoDBSessionStore
    from .postgres import PostgresSessionStore
    from .redis import RedisSessionStore
    from .sqlite import SQLiteSessionStore

__version__ = "0.1.0"

__all__ = [
    "SESSION_STORE_METHODS",
    "DynamoDBSessionStore",
    "InMemorySessionStore",
    "InvalidSessionIdError",
    "PostgresSessionStore",
    "RedisSessionStore",
    "RevisionConflictError",
    "RevisionedSessionStore",
    "SQLiteSessionStore",
    "SessionData",
    "SessionExistsError",
    "SessionStore",
    "SessionStoreError",
    "StoreBusyError",
    "__version__",
]

# Store class name -> module holding it; loaded lazily because each needs an extra.
_LAZY_STORES: dict[str, str] = {
    "SQLiteSessionStore": "sqlite",
    "RedisSessionStore": "redis",
    "DynamoDBSessionStore": "dynamodb",
    "PostgresSessionStore": "postgres",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY_STORES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'reference_stores' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_STORES))
