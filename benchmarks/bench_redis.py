"""RedisSessionStore against the raw redis-py command doing the same single job, same client.

Needs a Redis server: ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). Every key
lives under a per-run prefix, deleted at the end; keys also expire after five minutes.

A raw write serializes the session as any hand-written code must (``json.dumps`` and
a timestamp header, per call); a raw read is the bare command, its reply left unparsed.
So the ratio charges the store for what it adds: validating and copying the data, the
contract's checks, and parsing the record it reads.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from reference_stores.redis import DEFAULT_REDIS_URL, UPDATE_SCRIPT_SHA, RedisSessionStore
from reference_stores.validation import dump_json

from .harness import Case, RevisionedSessions

TTL_SECONDS = 300
CONDITIONAL_SESSIONS = 64
"""More than the tasks in flight: concurrent conditional updates never share a session."""
DATA = {
    "client": {"name": "example-client", "version": "1.4.2"},
    "capabilities": {"sampling": {}, "roots": {"listChanged": True}},
    "protocolVersion": "2025-06-18",
    "logLevel": "info",
    "requests": 42,
}
"""A typical MCP session record: a few hundred bytes of JSON."""


@asynccontextmanager
async def cases() -> AsyncIterator[list[Case]]:
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    prefix = f"mcp-session-store-kit:bench:{uuid.uuid4().hex[:12]}:"
    store = RedisSessionStore(url=url, key_prefix=f"{prefix}store:", ttl_seconds=TTL_SECONDS)
    client = store.client  # the raw calls go through the very client the store uses
    raw_prefix = f"{prefix}raw:"
    ttl_ms = TTL_SECONDS * 1000
    text = dump_json(DATA)
    value = f"1795000000000:1795000000000:{1795000000000 + ttl_ms}:1:{text}".encode()
    # Existing sessions for get/exists/update/touch, on both sides.
    await store.create_session("live", DATA)
    await client.set(f"{raw_prefix}live", value, px=ttl_ms)
    await store.update_session("live", {})  # the server knows the script from here on
    # Sessions at revision 1 for the conditional updates, on both sides.
    store_revisions = RevisionedSessions(f"cond{n}" for n in range(CONDITIONAL_SESSIONS))
    raw_revisions = RevisionedSessions(f"{raw_prefix}cond{n}" for n in range(CONDITIONAL_SESSIONS))
    for n in range(CONDITIONAL_SESSIONS):
        await store.create_session(f"cond{n}", DATA)
        await client.set(f"{raw_prefix}cond{n}", value, px=ttl_ms)
    created_store, created_raw = itertools.count(), itertools.count()
    deleted_store, deleted_raw = itertools.count(), itertools.count()
    raw_live = f"{raw_prefix}live"

    async def store_create(_: int) -> None:
        await store.create_session(f"c{next(created_store)}", DATA)

    def record() -> str:
        now = int(time.time() * 1000)
        return f"{now}:{now}:{now + ttl_ms}:1:{json.dumps(DATA)}"

    async def raw_create(_: int) -> object:
        return await client.set(f"{raw_prefix}c{next(created_raw)}", record(), nx=True, px=ttl_ms)

    async def store_delete(_: int) -> None:
        # The ids the create case made: each delete removes a real key.
        await store.delete_session(f"c{next(deleted_store)}")

    async def raw_delete(_: int) -> object:
        return await client.delete(f"{raw_prefix}c{next(deleted_raw)}")

    async def store_get(_: int) -> object:
        return await store.get_session("live")

    async def raw_get(_: int) -> object:
        reply = cast(bytes, await client.get(raw_live))  # the client does not decode replies
        return json.loads(reply.decode().split(":", 4)[4])

    async def store_exists(_: int) -> object:
        return await store.session_exists("live")

    async def raw_exists(_: int) -> object:
        return await client.exists(raw_live)

    async def store_update(_: int) -> None:
        await store.update_session("live", {"data": DATA})

    async def raw_update(_: int) -> object:
        return await client.set(raw_live, record(), xx=True, px=ttl_ms)

    async def raw_script_update(_: int) -> object:
        # The same atomic update done by hand: isolates what the store adds to the script.
        now = str(int(time.time() * 1000))
        return await client.evalsha(
            UPDATE_SCRIPT_SHA, 1, raw_live, now, str(ttl_ms), "", json.dumps(DATA)
        )

    async def store_conditional(_: int) -> None:
        taken = store_revisions.take()
        await store.update_session(taken[0], {"data": DATA}, expected_revision=taken[1])
        store_revisions.written(taken)

    async def raw_conditional(_: int) -> None:
        # The store's script by hand, with the expected revision; a caller must check it won.
        taken = raw_revisions.take()
        now = str(int(time.time() * 1000))
        outcome = await client.evalsha(
            UPDATE_SCRIPT_SHA, 1, taken[0], now, str(ttl_ms), str(taken[1]), json.dumps(DATA)
        )
        if outcome <= 0:
            raise RuntimeError(f"conditional update refused: {outcome}")
        raw_revisions.written(taken)

    async def store_touch(_: int) -> None:
        await store.update_session("live", {})

    async def raw_touch(_: int) -> object:
        return await client.pexpire(raw_live, ttl_ms)

    async def raw_script_touch(_: int) -> object:
        # A touch moves updated_at too, which PEXPIRE does not: the same job is the script.
        now = str(int(time.time() * 1000))
        return await client.evalsha(UPDATE_SCRIPT_SHA, 1, raw_live, now, str(ttl_ms), "")

    try:
        yield [
            Case("create", store_create, raw_create, "SET key value NX PX ttl"),
            Case("get", store_get, raw_get, "GET key"),
            Case("exists", store_exists, raw_exists, "EXISTS key"),
            Case(
                "update (data)",
                store_update,
                raw_update,
                "SET key value XX PX ttl (less: loses created_at)",
            ),
            Case("update (data)", store_update, raw_script_update, "EVALSHA of the store's script"),
            Case("update (touch)", store_touch, raw_touch, "PEXPIRE key ttl (less: no updated_at)"),
            Case("update (touch)", store_touch, raw_script_touch, "EVALSHA of the store's script"),
            Case(
                "update (conditional)",
                store_conditional,
                raw_conditional,
                "EVALSHA of the store's script, with the revision",
            ),
            Case("delete", store_delete, raw_delete, "DEL key"),
        ]
    finally:
        await remove_keys_under(client, prefix)
        await store.aclose()


async def remove_keys_under(client: Any, prefix: str) -> None:
    """Remove every key that starts with ``prefix``, and nothing else (never a flush)."""
    keys = [key async for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=1000)]
    for start in range(0, len(keys), 500):
        await client.unlink(*keys[start : start + 500])


def _glob_escape(text: str) -> str:
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)
