"""Judge session stores written in JavaScript or TypeScript: ``--store=node:PATH[:EXPORT]``.

A Node process runs ``host.mjs`` (beside this file), which imports the user's module, builds the store
with one options object and serves its five camelCase methods over line-based JSON on
stdio. ``NodeSessionStore`` presents it to the suite as an ordinary ``SessionStore``.

The Python half, by role (each imports only those above it in this list):

- ``wire``: values, session records and thrown errors as they cross the pipe;
- ``watch``: snapshots of crossed objects, diffed to mirror the caller's changes;
- ``declarations``: what a store declares, and the bridge's own notes on clauses;
- ``host``: the host process, and its lifetime per target;
- ``store``: ``NodeSessionStore``, the proxy;
- ``target``: ``node_store_target``, which opens a target and builds stores.

This module only re-exports.
"""

from __future__ import annotations

from .declarations import NOT_APPLICABLE as NOT_APPLICABLE
from .declarations import declared_capabilities as declared_capabilities
from .host import STARTUP_TIMEOUT_SECONDS as STARTUP_TIMEOUT_SECONDS
from .host import WATCHED_PER_HOST as WATCHED_PER_HOST
from .store import NodeSessionStore
from .target import NOT_GIVEN, node_store_target
from .target import _host_of as _host_of
from .wire import HOST_PATH, JavaScriptError, JavaScriptValue, NodeBridgeError
from .wire import MAX_SAFE_INTEGER as MAX_SAFE_INTEGER
from .wire import decode_value as decode_value
from .wire import encode_value as encode_value

__all__ = [
    "HOST_PATH",
    "NOT_GIVEN",
    "JavaScriptError",
    "JavaScriptValue",
    "NodeBridgeError",
    "NodeSessionStore",
    "node_store_target",
]
