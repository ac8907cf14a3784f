"""Stores that each break one clause of SPEC.md, so the kit's tests can prove the suite catches it.

Each is the in-memory reference store with one behaviour changed; ``BROKEN_STORES``
maps each class to the clause it must fail. Several copy LeanMCP's own stores.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from reference_stores import (
    InMemorySessionStore,
    SessionData,
    SessionExistsError,
    SessionStoreError,
)
from reference_stores.memory import _Record
from reference_stores.validation import (
    clone_json,
    datetime_from_ms,
    now_ms,
    validate_session_id,
    validate_updates,
)


class SyncExistsStore(InMemorySessionStore):
    def session_exists(self, session_id: str) -> bool:  # type: ignore[override]
        return validate_session_id(session_id) in self._records


class IntExistsStore(InMemorySessionStore):
    async def session_exists(self, session_id: str) -> bool:
        return int(await super().session_exists(session_id))  # type: ignore[return-value]


class NoPercentIdsStore(InMemorySessionStore):
    """Refuses ids with characters its author thought unsafe."""

    def _live(self, key: str, now: int) -> _Record | None:
        if any(c in key for c in "%*?[]\\\"'"):
            raise SessionStoreError(f"unsafe id {key!r}")
        return super()._live(key, now)


class StrippingIdsStore(InMemorySessionStore):
    """Strips whitespace instead of refusing it."""

    async def session_exists(self, session_id: str) -> bool:
        return await super().session_exists(_stripped(session_id))

    async def get_session(self, session_id: str) -> SessionData | None:
        return await super().get_session(_stripped(session_id))

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        await super().create_session(_stripped(session_id), data)

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        await super().update_session(_stripped(session_id), updates)

    async def delete_session(self, session_id: str) -> None:
        await super().delete_session(_stripped(session_id))


def _stripped(session_id: Any) -> Any:
    return session_id.strip() if isinstance(session_id, str) else session_id


class CaseFoldingStore(InMemorySessionStore):
    def _live(self, key: str, now: int) -> _Record | None:
        return super()._live(key.lower(), now)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        await super().create_session(validate_session_id(session_id).lower(), data)

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.session_id = session_id
        return record

    async def delete_session(self, session_id: str) -> None:
        await super().delete_session(validate_session_id(session_id).lower())


class TruncatingStore(InMemorySessionStore):
    """Keys are cut to 250 characters, as a fixed-width column would."""

    def _live(self, key: str, now: int) -> _Record | None:
        return super()._live(key[:250], now)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        await super().create_session(validate_session_id(session_id)[:250], data)

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.session_id = session_id
        return record

    async def delete_session(self, session_id: str) -> None:
        await super().delete_session(validate_session_id(session_id)[:250])


class BackdatedCreateStore(InMemorySessionStore):
    """created_at is an hour early."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        await super().create_session(session_id, data)
        record = self._records[session_id]
        record.created_ms -= 3_600_000
        record.updated_ms = record.created_ms


class NoneDataStore(InMemorySessionStore):
    """Omitted data is stored as None rather than {}."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        await super().create_session(session_id, data)
        if data is None:
            self._records[session_id].data = None  # type: ignore[assignment]

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None and self._records[session_id].data is None:
            record.data = None  # type: ignore[assignment]
        return record


class OverwritingCreateStore(InMemorySessionStore):
    """LeanMCP's stores: a duplicate create overwrites."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        self._records.pop(validate_session_id(session_id), None)
        await super().create_session(session_id, data)


class ExpiredBlocksCreateStore(InMemorySessionStore):
    """A create looks at what is held, expired or not."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        if validate_session_id(session_id) in self._records:
            raise SessionExistsError(session_id)
        await super().create_session(session_id, data)


class RacyCreateStore(InMemorySessionStore):
    """Checks, yields to the loop, then writes: two creates can both win."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        if await self.session_exists(session_id):
            raise SessionExistsError(session_id)
        await asyncio.sleep(0)
        self._records.pop(session_id, None)
        await super().create_session(session_id, data)


class PhantomGetStore(InMemorySessionStore):
    """get of an unknown id returns an empty session."""

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is None:
            moment = datetime.now(timezone.utc).replace(microsecond=0)
            return SessionData(session_id, moment, moment, None, {})
        return record


class ExpiredReadableStore(InMemorySessionStore):
    """LeanMCP's DynamoDB store: expired sessions are returned by get."""

    async def get_session(self, session_id: str) -> SessionData | None:
        record = self._records.get(validate_session_id(session_id))
        if record is None:
            return None
        return SessionData(
            session_id,
            datetime_from_ms(record.created_ms),
            datetime_from_ms(record.updated_ms),
            None if record.expires_ms is None else record.expires_ms // 1000,
            clone_json(record.data),
        )


class SharedObjectStore(InMemorySessionStore):
    """LeanMCP's in-memory store: get hands out the stored data itself."""

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.data = self._records[session_id].data
        return record


class RefreshingGetStore(InMemorySessionStore):
    async def get_session(self, session_id: str) -> SessionData | None:
        record = self._live(validate_session_id(session_id), now_ms(self._clock))
        if record is not None:
            record.expires_ms = self._expiry(now_ms(self._clock))
        return await super().get_session(session_id)


class ExpiredExistsStore(InMemorySessionStore):
    """exists looks at what is held, expired or not."""

    async def session_exists(self, session_id: str) -> bool:
        return validate_session_id(session_id) in self._records


class RefreshingExistsStore(InMemorySessionStore):
    async def session_exists(self, session_id: str) -> bool:
        record = self._live(validate_session_id(session_id), now_ms(self._clock))
        if record is not None:
            record.expires_ms = self._expiry(now_ms(self._clock))
        return record is not None


class MergingUpdateStore(InMemorySessionStore):
    """LeanMCP's documented Redis example: updates are merged into the data."""

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        record = self._live(validate_session_id(session_id), now_ms(self._clock))
        new_data = validate_updates(updates)
        old_data = None if record is None else record.data
        await super().update_session(session_id, updates)
        if record is not None and old_data is not None and new_data is not None:
            record.data = {**old_data, **new_data}


class WipingTouchStore(InMemorySessionStore):
    """LeanMCP's DynamoDB store: an update without data writes {}."""

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        if "data" not in updates:
            updates = {"data": {}}
        await super().update_session(session_id, updates)


class SpreadingUpdateStore(InMemorySessionStore):
    """LeanMCP's in-memory store: every given field is applied; unknown ones are ignored."""

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        await super().update_session(
            session_id, {"data": updates["data"]} if "data" in updates else {}
        )
        record = self._records.get(session_id)
        if record is not None and "ttl" in updates:
            record.expires_ms = int(updates["ttl"]) * 1000


class FrozenUpdatedAtStore(InMemorySessionStore):
    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        record = self._live(validate_session_id(session_id), now_ms(self._clock))
        before = None if record is None else record.updated_ms
        await super().update_session(session_id, updates)
        if record is not None and before is not None:
            record.updated_ms = before


class NoTtlRefreshStore(InMemorySessionStore):
    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        record = self._live(validate_session_id(session_id), now_ms(self._clock))
        expires = None if record is None else record.expires_ms
        await super().update_session(session_id, updates)
        if record is not None:
            record.expires_ms = expires


class UpsertingUpdateStore(InMemorySessionStore):
    """LeanMCP's DynamoDB store: an update of a missing id creates it."""

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        if not await self.session_exists(session_id):
            await self.create_session(session_id, validate_updates(updates) or {})
            return
        await super().update_session(session_id, updates)


class ReviveExpiredStore(InMemorySessionStore):
    """An update of an expired, not yet removed session brings it back."""

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        record = self._records.get(validate_session_id(session_id))
        new_data = validate_updates(updates)
        if record is None:
            return
        now = now_ms(self._clock)
        record.updated_ms = max(now, record.updated_ms)
        record.expires_ms = self._expiry(now)
        if new_data is not None:
            record.data = new_data


class ReadModifyWriteStore(InMemorySessionStore):
    """Reads, yields, writes back: an update racing a delete resurrects the session."""

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        current = await self.get_session(session_id)
        new_data = validate_updates(updates)
        if current is None:
            return
        await asyncio.sleep(0)
        now = now_ms(self._clock)
        self._records[session_id] = _Record(
            int(current.created_at.timestamp() * 1000),
            now,
            self._expiry(now),
            current.data if new_data is None else new_data,
        )


class BlendingUpdateStore(InMemorySessionStore):
    """Writes data key by key, yielding between keys: concurrent updates blend."""

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        new_data = validate_updates(updates)
        record = self._live(validate_session_id(session_id), now_ms(self._clock))
        if record is None:
            return
        if new_data is None:
            await super().update_session(session_id, updates)
            return
        record.data = {}
        for key, value in new_data.items():
            await asyncio.sleep(0)
            record.data[key] = value


class TombstoneStore(InMemorySessionStore):
    """delete leaves a tombstone that blocks creating the id again."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._deleted: set[str] = set()

    async def delete_session(self, session_id: str) -> None:
        await super().delete_session(session_id)
        self._deleted.add(session_id)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        if session_id in self._deleted:
            raise SessionExistsError(session_id)
        await super().create_session(session_id, data)


class StrictDeleteStore(InMemorySessionStore):
    async def delete_session(self, session_id: str) -> None:
        del self._records[validate_session_id(session_id)]


class BoolAsIntStore(InMemorySessionStore):
    """Keeps bools as 0 and 1, as some SQL JSON columns do."""

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.data = _map_values(record.data, lambda v: int(v) if isinstance(v, bool) else v)
        return record


class DoubleIntegerStore(InMemorySessionStore):
    """Integers pass through a double, as in JavaScript: beyond 2**53 they change."""

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.data = _map_values(
                record.data, lambda v: int(float(v)) if type(v) is int and abs(v) > 2**53 else v
            )
        return record


class ClampingIntegerStore(InMemorySessionStore):
    """Integers beyond int64 are clamped instead of kept or refused (a SHOULD clause)."""

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.data = _map_values(
                record.data, lambda v: max(-(2**63), min(2**63 - 1, v)) if type(v) is int else v
            )
        return record


class NormalizingStringStore(InMemorySessionStore):
    """Normalizes text to NFC and drops NUL characters, as some databases do."""

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.data = _map_strings(
                record.data, lambda s: unicodedata.normalize("NFC", s).replace("\x00", "")
            )
        return record


class ShallowStore(InMemorySessionStore):
    """Refuses data nested deeper than 20 levels."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        _refuse_deep(data, 20)
        await super().create_session(session_id, data)

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        _refuse_deep(updates.get("data") if isinstance(updates, Mapping) else None, 20)
        await super().update_session(session_id, updates)


class SmallDataStore(InMemorySessionStore):
    """Refuses data over 64 KiB."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        if data is not None and len(json.dumps(data)) > 64 * 1024:
            raise ValueError("data over 64 KiB")
        await super().create_session(session_id, data)


class LenientDataStore(InMemorySessionStore):
    """Stores anything json.dumps can be talked into (NaN, Decimals as strings, int keys)."""

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        try:
            await super().create_session(session_id, data)
        except (TypeError, ValueError):
            text = json.dumps(data, default=str)
            await super().create_session(
                session_id, json.loads(text) if isinstance(json.loads(text), dict) else {}
            )


class NoCopyInStore(InMemorySessionStore):
    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        await super().create_session(session_id, data)
        if isinstance(data, dict):
            self._records[session_id].data = data


class NaiveTimeStore(InMemorySessionStore):
    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            record.created_at = record.created_at.replace(tzinfo=None)
            record.updated_at = record.updated_at.replace(tzinfo=None)
        return record


class MicrosecondStore(InMemorySessionStore):
    """Keeps the clock's microseconds."""

    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None:
            extra = timedelta(microseconds=123)
            record.created_at += extra
            record.updated_at += extra
        return record


class BackwardsClockStore(InMemorySessionStore):
    """updated_at follows the clock even when it steps back."""

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        await super().update_session(session_id, updates)
        record = self._records.get(session_id)
        if record is not None:
            record.updated_ms = now_ms(self._clock)


class ZeroTtlDefaultStore(InMemorySessionStore):
    """LeanMCP's DynamoDB store: ttl_seconds=0 silently means the default."""

    def __init__(self, ttl_seconds: float | None = None, clock: Any = None) -> None:
        if ttl_seconds is not None and ttl_seconds <= 0:
            ttl_seconds = 86400
        super().__init__(ttl_seconds=ttl_seconds, clock=clock)


class EarlyExpiryStore(InMemorySessionStore):
    def _expiry(self, written_ms: int) -> int | None:
        expiry = super()._expiry(written_ms)
        return None if expiry is None else written_ms + (expiry - written_ms) // 2


class MillisecondTtlStore(InMemorySessionStore):
    async def get_session(self, session_id: str) -> SessionData | None:
        record = await super().get_session(session_id)
        if record is not None and record.ttl is not None:
            record.ttl *= 1000
        return record


class DefaultTtlStore(InMemorySessionStore):
    """None means 'use the default', not 'never expire'."""

    def __init__(self, ttl_seconds: float | None = None, clock: Any = None) -> None:
        super().__init__(ttl_seconds=86400 if ttl_seconds is None else ttl_seconds, clock=clock)


class SwallowingStore(InMemorySessionStore):
    """LeanMCP's DynamoDB store on a backend failure: False, None, silence."""

    def __init__(self, fail: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self._fail = fail

    async def session_exists(self, session_id: str) -> bool:
        return False if self._fail else await super().session_exists(session_id)

    async def get_session(self, session_id: str) -> SessionData | None:
        return None if self._fail else await super().get_session(session_id)

    async def delete_session(self, session_id: str) -> None:
        if not self._fail:
            await super().delete_session(session_id)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        if self._fail:
            raise RuntimeError("Failed to create session")
        await super().create_session(session_id, data)

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        if self._fail:
            raise RuntimeError("Failed to update session")
        await super().update_session(session_id, updates)


class StaleReadStore(InMemorySessionStore):
    """Reads are served from a snapshot refreshed only every other read."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._snapshot: dict[str, SessionData | None] = {}
        self._reads = 0

    async def get_session(self, session_id: str) -> SessionData | None:
        self._reads += 1
        if self._reads % 2 == 0 or session_id not in self._snapshot:
            self._snapshot[session_id] = await super().get_session(session_id)
        cached = self._snapshot[session_id]
        return (
            None
            if cached is None
            else SessionData(
                cached.session_id,
                cached.created_at,
                cached.updated_at,
                cached.ttl,
                clone_json(cached.data),
            )
        )


class FalselySharedStore(InMemorySessionStore):
    """Declares itself shared but keeps sessions per instance."""

    shares_sessions_across_instances = True


class UndeclaredPrivateStore(InMemorySessionStore):
    """Declares nothing and keeps sessions per instance (a SHOULD-level warning)."""

    def __getattribute__(self, name: str) -> Any:
        if name == "shares_sessions_across_instances":
            raise AttributeError(name)
        return super().__getattribute__(name)


def _map_values(value: Any, change: Any) -> Any:
    if isinstance(value, dict):
        return {key: _map_values(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_map_values(item, change) for item in value]
    return change(value)


def _map_strings(value: Any, change: Any) -> Any:
    if isinstance(value, dict):
        return {change(key): _map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_map_strings(item, change) for item in value]
    return change(value) if isinstance(value, str) else value


def _refuse_deep(value: Any, limit: int, depth: int = 0) -> None:
    if depth > limit:
        raise ValueError(f"nested deeper than {limit}")
    if isinstance(value, Mapping):
        for item in value.values():
            _refuse_deep(item, limit, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _refuse_deep(item, limit, depth + 1)


# The clause each broken store must fail: what the suite is proven against.
BROKEN_STORES: dict[str, str] = {
    "IntExistsStore": "IFACE-RECORD",
    "NoPercentIdsStore": "ID-VALID",
    "StrippingIdsStore": "ID-INVALID",
    "CaseFoldingStore": "ID-DISTINCT",
    "TruncatingStore": "ID-DISTINCT",
    "BackdatedCreateStore": "CREATE-NEW",
    "NoneDataStore": "CREATE-DEFAULT-DATA",
    "OverwritingCreateStore": "CREATE-EXISTS",
    "ExpiredBlocksCreateStore": "CREATE-OVER-EXPIRED",
    "RacyCreateStore": "CREATE-RACE",
    "PhantomGetStore": "GET-MISSING",
    "ExpiredReadableStore": "GET-EXPIRED",
    "SharedObjectStore": "GET-ISOLATED",
    "RefreshingGetStore": "GET-NO-REFRESH",
    "ExpiredExistsStore": "EXISTS-MATCHES-GET",
    "RefreshingExistsStore": "EXISTS-NO-REFRESH",
    "MergingUpdateStore": "UPDATE-REPLACE",
    "WipingTouchStore": "UPDATE-TOUCH",
    "SpreadingUpdateStore": "UPDATE-KEYS",
    "FrozenUpdatedAtStore": "UPDATE-TIMES",
    "NoTtlRefreshStore": "UPDATE-TTL-RESTART",
    "UpsertingUpdateStore": "UPDATE-NO-UPSERT",
    "ReviveExpiredStore": "UPDATE-EXPIRED",
    "ReadModifyWriteStore": "UPDATE-DELETE-RACE",
    "BlendingUpdateStore": "UPDATE-CONCURRENT",
    "TombstoneStore": "DELETE-REMOVES",
    "StrictDeleteStore": "DELETE-MISSING",
    "BoolAsIntStore": "DATA-TYPES",
    "DoubleIntegerStore": "DATA-INTEGERS",
    "NormalizingStringStore": "DATA-STRINGS",
    "ShallowStore": "DATA-NESTING",
    "SmallDataStore": "DATA-SIZE",
    "LenientDataStore": "DATA-INVALID",
    "NoCopyInStore": "DATA-COPY-IN",
    "NaiveTimeStore": "TIME-UTC",
    "MicrosecondStore": "TIME-MILLIS",
    "BackwardsClockStore": "TIME-ORDER",
    "ZeroTtlDefaultStore": "TTL-CONFIG",
    "EarlyExpiryStore": "TTL-WINDOW",
    "MillisecondTtlStore": "TTL-FIELD",
    "DefaultTtlStore": "TTL-NONE",
    "StaleReadStore": "CONS-READ-YOUR-WRITES",
    "FalselySharedStore": "SHARED-INSTANCES",
}

# Caught by the generated sequences of MODEL-SEQUENCES as well as by its own clause.
MODEL_CAUGHT_STORES = [
    "MergingUpdateStore",
    "UpsertingUpdateStore",
    "WipingTouchStore",
    "BoolAsIntStore",
]

# Broken only at a SHOULD clause: the run warns and still passes.
WARNING_STORES: dict[str, str] = {
    "ClampingIntegerStore": "DATA-BIG-INTEGERS",
    "UndeclaredPrivateStore": "SHARED-INSTANCES",
}


class DeadBackendStore(InMemorySessionStore):
    """Not broken: with ``dead=True`` every call fails the way a store should, with the cause."""

    def __init__(self, dead: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self._dead = dead

    def _live(self, key: str, now: int) -> _Record | None:
        if self._dead:
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except ConnectionRefusedError as error:
                raise SessionStoreError("backend unreachable") from error
        return super()._live(key, now)

    async def delete_session(self, session_id: str) -> None:
        self._live(validate_session_id(session_id), 0)
        await super().delete_session(session_id)
