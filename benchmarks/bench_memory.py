"""InMemorySessionStore against a plain dict of JSON text that copies the same way.

The store must return copies that share nothing with what it holds, and check every
write, so the raw side copies as any safe caller would have to: it keeps each
session as JSON text, decodes it on a read and encodes the data on a write, with
the serializer the store itself uses (orjson when installed, else the stdlib's
``json``). The ratio then charges the store for what it adds: the id, data and
revision checks, proving its text exact, the record and its datetimes.

One store with a one-hour TTL and 1,000 live sessions; the data is about 1 KB of
JSON. The headline case is "get + update": a read, then a write of the data read,
as a server does per request; one op is the pair. Sequential only: no call of this
store ever awaits anything, so N tasks would measure the event loop, not the store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from reference_stores import InMemorySessionStore
from reference_stores.validation import dump_json

from .harness import Case

CONCURRENT = False
TTL_SECONDS = 3600
LIVE_SESSIONS = 1000
HOT_ID = "s500"
DATA: dict[str, Any] = {
    "client": {"name": "example-client", "version": "1.4.2"},
    "capabilities": {"sampling": {}, "roots": {"listChanged": True}},
    "protocolVersion": "2025-06-18",
    "logLevel": "info",
    "requests": 42,
    "history": [
        {"tool": f"search-{n}", "ok": n % 3 != 0, "ms": 12.5 + n, "args": {"q": "weather"}}
        for n in range(12)
    ],
    "user": {"id": "u-123456", "scopes": ["read", "write"], "tz": "Europe/Paris"},
}
"""A session of about 1 KB of JSON."""
DATA_BYTES = len(dump_json(DATA).encode())


def _serializer() -> tuple[str, Callable[[Any], Any], Callable[[Any], Any]]:
    try:
        import orjson
    except ImportError:
        return "json", dump_json, json.loads
    return "orjson", orjson.dumps, orjson.loads


@asynccontextmanager
async def cases() -> AsyncIterator[list[Case]]:
    name, dumps, loads = _serializer()
    store = InMemorySessionStore(ttl_seconds=TTL_SECONDS)
    raw: dict[str, Any] = {}
    for n in range(LIVE_SESSIONS):
        await store.create_session(f"s{n}", DATA)
        raw[f"s{n}"] = dumps(DATA)

    async def store_get(_: int) -> object:
        return await store.get_session(HOT_ID)

    async def raw_get(_: int) -> object:
        return loads(raw[HOT_ID])

    async def store_update(_: int) -> None:
        await store.update_session(HOT_ID, {"data": DATA})

    async def raw_update(_: int) -> None:
        raw[HOT_ID] = dumps(DATA)

    async def store_pair(_: int) -> None:
        session = await store.get_session(HOT_ID)
        assert session is not None
        session.data["requests"] += 1
        await store.update_session(HOT_ID, {"data": session.data})

    async def raw_pair(_: int) -> None:
        data = loads(raw[HOT_ID])
        data["requests"] += 1
        raw[HOT_ID] = dumps(data)

    async def store_exists(_: int) -> bool:
        return await store.session_exists(HOT_ID)

    async def raw_exists(_: int) -> bool:
        return HOT_ID in raw

    async def store_touch(_: int) -> None:
        await store.update_session(HOT_ID, {})

    async def raw_touch(_: int) -> None:
        raw[HOT_ID] = raw[HOT_ID]

    label = f"dict of {name} text, {DATA_BYTES} B"
    yield [
        Case("get + update", store_pair, raw_pair, f"{label}: loads, then dumps"),
        Case("get", store_get, raw_get, f"{label}: loads"),
        Case("update (data)", store_update, raw_update, f"{label}: dumps"),
        Case("update (touch)", store_touch, raw_touch, "dict item set"),
        Case("exists", store_exists, raw_exists, "key in dict"),
    ]
