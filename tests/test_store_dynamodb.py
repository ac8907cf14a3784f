"""DynamoDBSessionStore: the contract on a moto server and dynalite; LeanMCP interop;
one request per operation; numbers; the table helper; failures.

One piece: every test runs on the same emulators (moto in process, moto server, dynalite) set up here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import threading
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError
from clocks import ManualClock
from revision_races import check_revision_semantics, race_conditional_writers
from work_counts import WorkCounter, check_work_per_operation, work

from conformance import SessionStoreContract
from reference_stores import (
    RevisionConflictError,
    SessionExistsError,
    SessionStoreError,
    dynamodb_codec,
)
from reference_stores import dynamodb as dynamodb_store
from reference_stores.dynamodb import (
    DEFAULT_TABLE_NAME,
    DEFAULT_TTL_SECONDS,
    MAX_NATIVE_DEPTH,
    DynamoDBSessionStore,
    create_table,
    session_from_item,
)
from reference_stores.validation import iso_from_ms

try:  # tests/ as a package or as a plain folder on sys.path
    from .dynamodb_backends import (
        AWS_REDIRECTING_VARIABLES,
        AWS_TEST_ENVIRONMENT,
        atomic_moto_mock,
        client_for,
        delete_table,
        dynalite_server,
        free_port,
        install_dynalite,
        leanmcp_item,
        moto_server,
        require_node,
        unique_table_name,
    )
except ImportError:
    from dynamodb_backends import (  # type: ignore[no-redef]
        AWS_REDIRECTING_VARIABLES,
        AWS_TEST_ENVIRONMENT,
        atomic_moto_mock,
        client_for,
        delete_table,
        dynalite_server,
        free_port,
        install_dynalite,
        leanmcp_item,
        moto_server,
        require_node,
        unique_table_name,
    )

pytestmark = pytest.mark.dynamodb

CONFIGURED_ENDPOINT = os.environ.get("DYNAMODB_ENDPOINT_URL") or None
"""A DynamoDB endpoint of the machine's own (e.g. DynamoDB Local): when set, its tests run too."""

ISO_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# Real HTTP on two independent implementations. In-process moto serves the tests of the
# store's own logic (moto_backend) only: for the contract it would repeat the moto server.
BACKENDS = [
    "moto-server",
    pytest.param("dynalite", marks=pytest.mark.node),
    *(["configured"] if CONFIGURED_ENDPOINT else []),
]


def run(coroutine: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coroutine

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AWS_REDIRECTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in AWS_TEST_ENVIRONMENT.items():
        if name.startswith("AWS_EC2") or not os.environ.get(name):
            monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def moto_server_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def dynalite_url() -> Iterator[str]:
    node, npm = require_node()
    server = dynalite_server(node, install_dynalite(node, npm))
    try:
        yield server.url
    finally:
        server.stop()


@dataclass
class Backend:
    name: str
    endpoint_url: str | None
    client: Any
    table_name: str
    returns_item_on_failure: bool

    def store(self, **options: Any) -> DynamoDBSessionStore:
        return DynamoDBSessionStore(self.table_name, endpoint_url=self.endpoint_url, **options)

    def raw_item(self, session_id: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table_name, Key={"sessionId": {"S": session_id}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def put_raw(self, item: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table_name, Item=item)


@pytest.fixture(scope="module")
def in_process_moto() -> Iterator[None]:
    """moto's mock for this module's tests; requests to loopback endpoints pass through it."""
    with atomic_moto_mock():
        yield


def _endpoint(request: pytest.FixtureRequest, name: str) -> str | None:
    if name == "moto":
        request.getfixturevalue("in_process_moto")
        return None
    if name == "moto-server":
        url: str = request.getfixturevalue("moto_server_url")
        return url
    if name == "dynalite":
        url = request.getfixturevalue("dynalite_url")
        return url
    return CONFIGURED_ENDPOINT


def _returns_item_on_failure(client: Any, table_name: str) -> bool:
    """Whether the endpoint honours ReturnValuesOnConditionCheckFailure (dynalite does not)."""
    probe = {"sessionId": {"S": "probe"}}
    client.put_item(TableName=table_name, Item=probe)
    try:
        client.put_item(
            TableName=table_name,
            Item=probe,
            ConditionExpression="attribute_not_exists(sessionId)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        return "Item" in error.response
    finally:
        client.delete_item(TableName=table_name, Key=probe)
    raise AssertionError("a conditional put over an existing item succeeded")


@contextlib.contextmanager
def _table(name: str, endpoint_url: str | None) -> Iterator[Backend]:
    # A configured endpoint may be real AWS: its own credentials, not the fake ones.
    client = client_for(endpoint_url, fake_credentials=name != "configured")
    table_name = unique_table_name()
    create_table(table_name, client=client)
    try:
        returns_item = _returns_item_on_failure(client, table_name)
        yield Backend(name, endpoint_url, client, table_name, returns_item)
    finally:
        delete_table(client, table_name)
        client.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A fresh table on one DynamoDB implementation, deleted after the test."""
    with _table(request.param, _endpoint(request, request.param)) as made:
        yield made


@pytest.fixture(scope="module", params=BACKENDS)
def contract_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """One table per implementation for the whole contract run (every scenario uses fresh ids)."""
    with _table(request.param, _endpoint(request, request.param)) as made:
        yield made


@pytest.fixture
def moto_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """moto in-process only: for tests about the store's own logic."""
    with _table("moto", _endpoint(request, "moto")) as made:
        yield made


# -- the contract ---------------------------------------------------------------------------


class TestDynamoDBStoreContract(SessionStoreContract):
    @pytest.fixture
    def session_store_factory(self, contract_backend: Backend) -> Any:
        # The heavy checks (10,000 sessions, 64 KiB races) on the moto server and a configured
        # endpoint; on dynalite too they would only add a minute of the same requests.
        self.conformance_skip_heavy = contract_backend.name == "dynalite"
        return functools.partial(
            DynamoDBSessionStore,
            table_name=contract_backend.table_name,
            endpoint_url=contract_backend.endpoint_url,
        )

    @pytest.fixture
    def failing_session_store_factory(self, contract_backend: Backend) -> Any:
        # Nothing listens on that port: every request fails to connect.
        return functools.partial(
            DynamoDBSessionStore,
            table_name=contract_backend.table_name,
            endpoint_url=f"http://127.0.0.1:{free_port()}",
            connect_timeout=1.0,
            read_timeout=1.0,
        )


# -- LeanMCP's item format, both ways ------------------------------------------------------


LEANMCP_DATA = {
    "user": {"S": "ada"},
    "count": {"N": "42"},
    "ratio": {"N": "0.25"},
    "big": {"N": "9007199254740993"},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "empty": {"S": ""},
    "tags": {"L": [{"S": "a"}, {"N": "-1.5"}, {"M": {}}]},
    "nested": {"M": {"deeper": {"M": {"list": {"L": []}}}}},
}
LEANMCP_PLAIN = {
    "user": "ada",
    "count": 42,
    "ratio": 0.25,
    "big": 9007199254740993,
    "flag": True,
    "nothing": None,
    "empty": "",
    "tags": ["a", -1.5, {}],
    "nested": {"deeper": {"list": []}},
}


def _assert_exact_types(value: Any) -> None:
    """Only JSON's Python types anywhere: no Decimal, no set, no bytes."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            _assert_exact_types(item)
    elif isinstance(value, list):
        for item in value:
            _assert_exact_types(item)
    else:
        assert value is None or type(value) in (bool, int, float, str), repr(value)


def test_items_leanmcp_wrote_are_read_right(backend: Backend) -> None:
    clock = ManualClock()
    now_ms = int(clock.now * 1000)
    backend.put_raw(
        leanmcp_item(
            "leanmcp-1",
            created_at=iso_from_ms(now_ms - 5000),
            updated_at=iso_from_ms(now_ms - 1000),
            ttl=int(clock.now) - 1 + 3600,  # floor(now / 1000) + ttlSeconds, a second ago
            data=LEANMCP_DATA,
        )
    )

    async def scenario() -> None:
        async with backend.store(ttl_seconds=3600, clock=clock) as store:
            assert await store.session_exists("leanmcp-1") is True
            session = await store.get_session("leanmcp-1")
            assert session is not None
            assert session.session_id == "leanmcp-1"
            assert session.created_at == datetime.fromtimestamp(
                (now_ms - 5000) / 1000, timezone.utc
            )
            assert session.updated_at == datetime.fromtimestamp(
                (now_ms - 1000) / 1000, timezone.utc
            )
            assert session.ttl == int(clock.now) - 1 + 3600
            assert session.data == LEANMCP_PLAIN
            _assert_exact_types(session.data)
            assert type(session.data["ratio"]) is float
            assert type(session.data["count"]) is int
            await store.update_session("leanmcp-1", {"data": {"seen": True}})
            after = await store.get_session("leanmcp-1")
            assert after is not None
            assert after.created_at == session.created_at
            assert after.updated_at == datetime.fromtimestamp(now_ms / 1000, timezone.utc)
            assert after.data == {"seen": True}

    run(scenario())


def test_leanmcp_upsert_items_without_created_at_are_read(backend: Backend) -> None:
    # LeanMCP's updateSession of a missing id leaves an item with no createdAt.
    clock = ManualClock()
    now_ms = int(clock.now * 1000)
    backend.put_raw(
        leanmcp_item(
            "upserted",
            created_at=None,
            updated_at=iso_from_ms(now_ms - 2000),
            ttl=int(clock.now) + 60,
            data={},
        )
    )

    async def scenario() -> None:
        async with backend.store(ttl_seconds=60, clock=clock) as store:
            session = await store.get_session("upserted")
            assert session is not None
            assert session.created_at == session.updated_at
            assert session.updated_at == datetime.fromtimestamp(
                (now_ms - 2000) / 1000, timezone.utc
            )
            assert session.data == {}
            await store.update_session("upserted", {})
            touched = await store.get_session("upserted")
            assert touched is not None
            assert touched.created_at == datetime.fromtimestamp(now_ms / 1000, timezone.utc)
            raw = backend.raw_item("upserted")
            assert raw is not None
            assert "createdAt" not in raw

    run(scenario())


def test_expired_leanmcp_items_are_hidden_everywhere(backend: Backend) -> None:
    # DynamoDB keeps expired items for days; the store must act as if they were gone.
    clock = ManualClock()
    now_ms = int(clock.now * 1000)
    expired = leanmcp_item(
        "old",
        created_at=iso_from_ms(now_ms - 90_000),
        updated_at=iso_from_ms(now_ms - 90_000),
        ttl=int(clock.now),  # expired exactly now
        data={"stale": {"BOOL": True}},
    )
    backend.put_raw(expired)

    async def scenario() -> None:
        async with backend.store(ttl_seconds=60, clock=clock) as store:
            assert await store.get_session("old") is None
            assert await store.session_exists("old") is False
            await store.update_session("old", {"data": {"revived": True}})
            assert backend.raw_item("old") == expired  # the update did not touch it
            await store.create_session("old", {"fresh": 1})
            session = await store.get_session("old")
            assert session is not None
            assert session.data == {"fresh": 1}
            assert session.created_at == datetime.fromtimestamp(now_ms / 1000, timezone.utc)

    run(scenario())


@pytest.mark.conformance_clause("TIME-TEXT-FORMAT")
def test_items_this_store_writes_are_exactly_leanmcps(backend: Backend) -> None:
    clock = ManualClock(1_800_000_000.123)

    async def scenario() -> None:
        async with backend.store(ttl_seconds=3600, clock=clock) as store:
            await store.create_session(
                "py-1", {"n": 1, "f": 0.5, "s": "x", "b": False, "z": None, "l": [1], "m": {}}
            )
            assert backend.raw_item("py-1") == {
                "sessionId": {"S": "py-1"},
                "createdAt": {"S": "2027-01-15T08:00:00.123Z"},
                "updatedAt": {"S": "2027-01-15T08:00:00.123Z"},
                "ttl": {"N": "1800003601"},
                "data": {
                    "M": {
                        "n": {"N": "1"},
                        "f": {"N": "0.5"},
                        "s": {"S": "x"},
                        "b": {"BOOL": False},
                        "z": {"NULL": True},
                        "l": {"L": [{"N": "1"}]},
                        "m": {"M": {}},
                    }
                },
                "revision": {"N": "1"},  # the one attribute LeanMCP does not write
            }
            clock.now += 10.5
            await store.update_session("py-1", {"data": {"k": "v"}})
            raw = backend.raw_item("py-1")
            assert raw == {
                "sessionId": {"S": "py-1"},
                "createdAt": {"S": "2027-01-15T08:00:00.123Z"},
                "updatedAt": {"S": "2027-01-15T08:00:10.623Z"},
                "ttl": {"N": "1800003611"},
                "data": {"M": {"k": {"S": "v"}}},
                "revision": {"N": "2"},
            }
            clock.now += 1
            await store.update_session("py-1", {})  # a touch keeps data, moves the rest
            raw = backend.raw_item("py-1")
            assert raw is not None
            assert raw["updatedAt"] == {"S": "2027-01-15T08:00:11.623Z"}
            assert raw["ttl"] == {"N": "1800003612"}
            assert raw["data"] == {"M": {"k": {"S": "v"}}}
            assert raw["revision"] == {"N": "2"}
            for attribute in ("createdAt", "updatedAt"):
                assert ISO_FORM.match(raw[attribute]["S"])

    run(scenario())


def test_expiry_is_whole_seconds_rounded_up_and_within_the_window(moto_backend: Backend) -> None:
    clock = ManualClock(1_800_000_000.400)

    async def scenario() -> None:
        async with moto_backend.store(ttl_seconds=2.5, clock=clock) as store:
            await store.create_session("w")
            raw = moto_backend.raw_item("w")
            assert raw is not None
            assert raw["ttl"] == {"N": "1800000003"}
            clock.now = 1_800_000_002.899  # ttl_seconds after the write, minus 1 ms: live
            assert await store.session_exists("w") is True
            clock.now = 1_800_000_002.999  # live until the ttl second begins
            assert await store.session_exists("w") is True
            clock.now = 1_800_000_003.0  # now >= ttl: gone, 0.6 s after the minimum
            assert await store.session_exists("w") is False
            assert await store.get_session("w") is None

    run(scenario())


def test_ttl_none_writes_no_ttl_attribute_and_an_update_removes_one(moto_backend: Backend) -> None:
    clock = ManualClock()

    async def scenario() -> None:
        async with (
            moto_backend.store(ttl_seconds=60, clock=clock) as expiring,
            moto_backend.store(ttl_seconds=None, clock=clock) as forever,
        ):
            await forever.create_session("forever")
            raw = moto_backend.raw_item("forever")
            assert raw is not None
            assert "ttl" not in raw
            assert (await forever.get_session("forever")).ttl is None  # type: ignore[union-attr]
            await expiring.create_session("was-expiring")
            await forever.update_session("was-expiring", {})
            raw = moto_backend.raw_item("was-expiring")
            assert raw is not None
            assert "ttl" not in raw
            clock.now += 10**6
            assert await forever.session_exists("was-expiring") is True

    run(scenario())


# -- one request per operation ---------------------------------------------------------------


class RequestCounter:
    """Counts the HTTP requests botocore sends (retries included) by operation."""

    def __init__(self, client: Any) -> None:
        self.operations: list[str] = []
        self._lock = threading.Lock()
        client.meta.events.register("before-send.dynamodb", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        name = target.decode() if isinstance(target, bytes) else str(target)
        with self._lock:
            self.operations.append(name.rpartition(".")[2])

    def take(self) -> list[str]:
        with self._lock:
            taken, self.operations = self.operations, []
        return taken


def test_each_operation_sends_exactly_one_request(backend: Backend) -> None:
    clock = ManualClock()

    async def scenario() -> None:
        async with backend.store(ttl_seconds=60, clock=clock) as store:
            counter = RequestCounter(store.client)

            async def sends(call: Awaitable[Any], *expected: str) -> None:
                await call
                assert counter.take() == list(expected)

            await sends(store.create_session("one", {"a": 1}), "PutItem")
            await sends(store.get_session("one"), "GetItem")
            await sends(store.session_exists("one"), "GetItem")
            await sends(store.update_session("one", {"data": {"b": 2}}), "UpdateItem")
            await sends(store.update_session("one", {}), "UpdateItem")
            with pytest.raises(SessionExistsError):
                await sends(store.create_session("one"), "PutItem")
            assert counter.take() == ["PutItem"]
            await sends(store.delete_session("one"), "DeleteItem")
            await sends(store.delete_session("one"), "DeleteItem")
            await sends(store.get_session("one"), "GetItem")
            await sends(store.session_exists("one"), "GetItem")
            if backend.name != "configured":
                assert backend.returns_item_on_failure is (backend.name != "dynalite")
            if backend.returns_item_on_failure:
                # The endpoint returns the item with a failed condition: one request.
                await sends(store.update_session("one", {"data": {}}), "UpdateItem")
            else:
                # dynalite does not: the store reads the item to rule out a later updatedAt.
                await sends(store.update_session("one", {"data": {}}), "UpdateItem", "GetItem")
            assert await store.get_session("one") is None  # no upsert

            # Conditional updates: the same one request; a refusal learns the revision from
            # the item the failed condition returns, or (dynalite) from one read.
            await store.create_session("one", {"a": 1})
            counter.take()
            await sends(
                store.update_session("one", {"data": {"b": 2}}, expected_revision=1), "UpdateItem"
            )
            await sends(store.update_session("one", {}, expected_revision=2), "UpdateItem")
            refusal = (
                ["UpdateItem"] if backend.returns_item_on_failure else ["UpdateItem", "GetItem"]
            )
            with pytest.raises(RevisionConflictError):
                await store.update_session("one", {"data": {"c": 3}}, expected_revision=1)
            assert counter.take() == refusal

    run(scenario())


def test_bad_input_sends_no_request(moto_backend: Backend) -> None:
    async def scenario() -> None:
        async with moto_backend.store() as store:
            counter = RequestCounter(store.client)
            with pytest.raises(ValueError):
                await store.create_session("x", {"big": 10**40 + 1})
            with pytest.raises(ValueError):
                await store.create_session("x", {"blob": "x" * (400 * 1024)})
            with pytest.raises(ValueError):
                await store.update_session("x", {"data": {"big": -(10**200)}})
            with pytest.raises(ValueError):
                await store.get_session("bad id")
            with pytest.raises(TypeError):
                await store.update_session("x", {"data": [1]})
            assert counter.take() == []

    run(scenario())


# -- numbers and other data ---------------------------------------------------------------------


def test_numbers_come_back_as_int_or_the_same_float_never_decimal(backend: Backend) -> None:
    data = {
        "ints": [
            0,
            1,
            -1,
            2**53 + 1,
            2**63 - 1,
            -(2**63),
            2**64,
            10**37 + 7,
            -(10**38) + 1,
            10**40,
        ],
        "floats": [
            0.1,
            -2.5,
            0.30000000000000004,
            1.5e-7,
            123456.789,
            9007199254740.5,
            1e-130 * 1.5,
        ],
        "tiny": [1e-300, 5e-324, -2.2250738585072014e-308],
        "huge": [1.7976931348623157e308, -1.5e200],
        "bools": [True, False],
    }

    async def scenario() -> None:
        async with backend.store() as store:
            await store.create_session("numbers", data)
            session = await store.get_session("numbers")
            assert session is not None
            _assert_exact_types(session.data)
            for key, values in data.items():
                for want, got in zip(values, session.data[key], strict=True):
                    assert type(got) is type(want), (key, want, got)
                    assert got == want, (key, want, got)
            raw = backend.raw_item("numbers")
            assert raw is not None
            # In range: native numbers. Outside DynamoDB's range: escaped, read back exactly.
            assert raw["data"]["M"]["floats"]["L"][0] == {"N": "0.1"}
            assert "B" in raw["data"]["M"]["tiny"]["L"][0]
            assert "B" in raw["data"]["M"]["huge"]["L"][0]

    run(scenario())


def test_floats_without_a_fraction_come_back_as_int(moto_backend: Backend) -> None:
    # DynamoDB normalizes 1.0 to 1; the store does the same on every backend.
    async def scenario() -> None:
        async with moto_backend.store() as store:
            await store.create_session("whole", {"one": 1.0, "big": 1e20, "neg": -3.0})
            session = await store.get_session("whole")
            assert session is not None
            assert session.data == {"one": 1, "big": 10**20, "neg": -3}
            assert all(type(value) is int for value in session.data.values())

    run(scenario())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (10**38 + 1, "39 significant digits"),
        (-(10**40) - 1, "41 significant digits"),
        (10**126, "outside DynamoDB's range"),
    ],
)
def test_integers_dynamodb_cannot_hold_are_refused_before_any_write(
    moto_backend: Backend, value: int, message: str
) -> None:
    async def scenario() -> None:
        async with moto_backend.store() as store:
            with pytest.raises(ValueError, match=message):
                await store.create_session("n", {"deep": [{"v": value}]})
            assert moto_backend.raw_item("n") is None
            await store.create_session("n", {"ok": True})
            with pytest.raises(ValueError, match=message):
                await store.update_session("n", {"data": {"v": value}})
            assert (await store.get_session("n")).data == {"ok": True}  # type: ignore[union-attr]

    run(scenario())


def test_items_over_400_kb_are_refused_and_just_under_is_stored(backend: Backend) -> None:
    async def scenario() -> None:
        async with backend.store() as store:
            with pytest.raises(ValueError, match="400"):
                await store.create_session("large", {"blob": "é" * 205_000})
            assert backend.raw_item("large") is None
            await store.create_session("large", {"blob": "x" * 380_000})
            session = await store.get_session("large")
            assert session is not None
            assert len(session.data["blob"]) == 380_000

    run(scenario())


def test_nesting_deeper_than_dynamodb_allows_is_escaped_and_round_trips(backend: Backend) -> None:
    deep: Any = {"leaf": [1, 0.5]}
    for level in range(45):
        deep = {f"l{level}": deep} if level % 3 else [deep]

    async def scenario() -> None:
        async with backend.store() as store:
            await store.create_session("deep", {"d": deep})
            session = await store.get_session("deep")
            assert session is not None
            assert session.data == {"d": deep}
            raw = backend.raw_item("deep")
            assert raw is not None
            # Walk the native part: maps and lists down to MAX_NATIVE_DEPTH, then one Binary.
            node, depth = raw["data"], 1
            while "B" not in node:
                depth += 1
                ((kind, inner),) = node.items()
                node = next(iter(inner.values())) if kind == "M" else inner[0]
            assert depth == MAX_NATIVE_DEPTH + 1
            assert json.loads(node["B"]) is not None

    run(scenario())


def test_strings_keys_and_empty_values_survive(backend: Backend) -> None:
    data = {"nul\x00key": "a\x00b", "astral": "😀\U0010ffff", "e": "", "l": [""], "m": {}}
    empty_keys = {"outer": {"": [], "k": 1}, "plain": {"k": ""}}

    async def scenario() -> None:
        async with backend.store() as store:
            await store.create_session("text", data)
            assert (await store.get_session("text")).data == data  # type: ignore[union-attr]
            raw = backend.raw_item("text")
            assert raw is not None
            assert raw["data"]["M"]["astral"] == {"S": "😀\U0010ffff"}
            # A map with an empty key (not an attribute name DynamoDB accepts, and moto
            # loses it) is escaped as JSON; its siblings stay native.
            await store.update_session("text", {"data": empty_keys})
            assert (await store.get_session("text")).data == empty_keys  # type: ignore[union-attr]
            raw = backend.raw_item("text")
            assert raw is not None
            assert "B" in raw["data"]["M"]["outer"]
            assert raw["data"]["M"]["plain"] == {"M": {"k": {"S": ""}}}

    run(scenario())


def test_a_corrupt_item_raises_instead_of_passing_as_a_session(moto_backend: Backend) -> None:
    moto_backend.put_raw(
        {
            "sessionId": {"S": "odd"},
            "data": {"S": "not a map"},
            "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
        }
    )

    async def scenario() -> None:
        async with moto_backend.store() as store:
            with pytest.raises(SessionStoreError, match="not a session item"):
                await store.get_session("odd")

    run(scenario())


# -- revisions, and a table shared with LeanMCP ------------------------------------------------


def test_revisions_follow_data_writes(backend: Backend) -> None:
    async def scenario() -> None:
        async with backend.store(ttl_seconds=600) as store:
            await check_revision_semantics(store)
        async with backend.store(ttl_seconds=None) as store:
            await check_revision_semantics(store)

    run(scenario())


def test_concurrent_conditional_writers_have_one_winner_per_round(backend: Backend) -> None:
    # Two store objects, two clients and thread pools: the writers' requests really overlap.
    # 30 rounds, not the default 100: the emulators decide a condition under one lock, so
    # what is tried is the store's condition, the same in every round, at 10 ms a request.
    async def scenario() -> None:
        async with backend.store() as one, backend.store() as two:
            await race_conditional_writers([one, two], rounds=30)

    run(scenario())


def _leanmcp_update(backend: Backend, session_id: str, data: dict[str, Any], now_s: int) -> None:
    """LeanMCP's updateSession: one UpdateItem of data, updatedAt and ttl, no condition."""
    backend.client.update_item(
        TableName=backend.table_name,
        Key={"sessionId": {"S": session_id}},
        UpdateExpression="SET #data = :data, updatedAt = :updatedAt, #ttl = :ttl",
        ExpressionAttributeNames={"#data": "data", "#ttl": "ttl"},
        ExpressionAttributeValues={
            ":data": {"M": data},
            ":updatedAt": {"S": iso_from_ms(now_s * 1000)},
            ":ttl": {"N": str(now_s + 3600)},
        },
    )


def _assert_leanmcp_can_read(item: dict[str, Any] | None) -> None:
    # What LeanMCP's getSession needs: ISO timestamps, a numeric ttl, a data map.
    assert item is not None
    assert ISO_FORM.match(item["updatedAt"]["S"])
    assert "createdAt" not in item or ISO_FORM.match(item["createdAt"]["S"])
    assert set(item["ttl"]) == {"N"}
    assert set(item["data"]) == {"M"}


def test_items_leanmcp_wrote_are_at_revision_1_and_take_conditional_writes(
    backend: Backend,
) -> None:
    clock = ManualClock()
    now_s = int(clock.now)
    item = leanmcp_item(
        "lean",
        created_at=iso_from_ms(now_s * 1000 - 5000),
        updated_at=iso_from_ms(now_s * 1000 - 5000),
        ttl=now_s + 3600,
        data={"n": {"N": "1"}},
    )
    backend.put_raw(item)

    async def scenario() -> None:
        async with backend.store(ttl_seconds=3600, clock=clock) as store:
            session = await store.get_session("lean")
            assert session is not None
            assert session.revision == 1
            await store.update_session("lean", {}, expected_revision=1)
            assert "revision" not in (backend.raw_item("lean") or {})  # a touch adds nothing
            with pytest.raises(RevisionConflictError) as refused:
                await store.update_session("lean", {"data": {"n": 2}}, expected_revision=2)
            assert refused.value.current_revision == 1
            await store.update_session("lean", {"data": {"n": 2}}, expected_revision=1)
            after = await store.get_session("lean")
            assert after is not None
            assert (after.data, after.revision) == ({"n": 2}, 2)
            # An unconditional data write on a LeanMCP item counts from 1 too.
            backend.put_raw(item)
            await store.update_session("lean", {"data": {"n": 3}})
            assert (backend.raw_item("lean") or {})["revision"] == {"N": "2"}
            # LeanMCP's upsert of a missing id: an item without createdAt, also at 1.
            _leanmcp_update(backend, "upserted", {"u": {"BOOL": True}}, now_s)
            upserted = await store.get_session("upserted")
            assert upserted is not None
            assert (upserted.data, upserted.revision) == ({"u": True}, 1)
            await store.update_session("upserted", {"data": {"u": False}}, expected_revision=1)
            raw = backend.raw_item("upserted")
            _assert_leanmcp_can_read(raw)
            assert raw is not None
            assert raw["revision"] == {"N": "2"}

    run(scenario())


def test_a_leanmcp_put_over_a_session_starts_it_again_at_1(backend: Backend) -> None:
    # LeanMCP's createSession is an unconditional PutItem: it drops the revision.
    clock = ManualClock()
    now_s = int(clock.now)

    async def scenario() -> None:
        async with backend.store(ttl_seconds=3600, clock=clock) as store:
            await store.create_session("shared", {"v": 1})
            await store.update_session("shared", {"data": {"v": 2}}, expected_revision=1)
            await store.update_session("shared", {"data": {"v": 3}}, expected_revision=2)
            put = leanmcp_item(
                "shared",
                created_at=iso_from_ms(now_s * 1000),
                updated_at=iso_from_ms(now_s * 1000),
                ttl=now_s + 3600,
                data={"by": {"S": "leanmcp"}},
            )
            backend.put_raw(put)
            # A writer holding revision 3 learns of the put and changes nothing.
            with pytest.raises(RevisionConflictError) as refused:
                await store.update_session("shared", {"data": {"v": 4}}, expected_revision=3)
            assert refused.value.current_revision == 1
            assert backend.raw_item("shared") == put
            session = await store.get_session("shared")
            assert session is not None
            assert (session.data, session.revision) == ({"by": "leanmcp"}, 1)
            await store.update_session("shared", {"data": {"v": 5}}, expected_revision=1)
            _assert_leanmcp_can_read(backend.raw_item("shared"))

    run(scenario())


def test_a_leanmcp_update_keeps_the_revision_and_corrupts_nothing(backend: Backend) -> None:
    # LeanMCP's updateSession neither reads nor writes the revision: a conditional writer
    # does not see it, as documented (docs/dynamodb.md); the item stays whole for both.
    clock = ManualClock()
    now_s = int(clock.now)

    async def scenario() -> None:
        async with backend.store(ttl_seconds=3600, clock=clock) as store:
            await store.create_session("mixed", {"v": 1})
            await store.update_session("mixed", {"data": {"v": 2}}, expected_revision=1)
            clock.now += 1
            _leanmcp_update(backend, "mixed", {"by": {"S": "leanmcp"}}, now_s + 1)
            raw = backend.raw_item("mixed")
            _assert_leanmcp_can_read(raw)
            assert raw is not None
            assert raw["revision"] == {"N": "2"}
            session = await store.get_session("mixed")
            assert session is not None
            assert (session.data, session.revision) == ({"by": "leanmcp"}, 2)
            await store.update_session("mixed", {"data": {"v": 3}}, expected_revision=2)
            after = await store.get_session("mixed")
            assert after is not None
            assert (after.data, after.revision) == ({"v": 3}, 3)
            assert after.created_at == session.created_at
            _assert_leanmcp_can_read(backend.raw_item("mixed"))

    run(scenario())


def test_a_corrupt_revision_raises_instead_of_passing_for_one(moto_backend: Backend) -> None:
    item = leanmcp_item(
        "odd-rev",
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
        ttl=4_000_000_000,
        data={},
    )
    item["revision"] = {"S": "7"}
    moto_backend.put_raw(item)

    async def scenario() -> None:
        async with moto_backend.store() as store:
            with pytest.raises(SessionStoreError, match="not a session item"):
                await store.get_session("odd-rev")
            with pytest.raises(SessionStoreError, match="not a session item"):
                await store.update_session("odd-rev", {"data": {}}, expected_revision=7)
            assert moto_backend.raw_item("odd-rev") == item

    run(scenario())


# -- updates and time ---------------------------------------------------------------------------


def test_update_never_moves_updated_at_back_when_another_writer_is_ahead(backend: Backend) -> None:
    ahead, behind = ManualClock(1_800_000_100.0), ManualClock(1_800_000_000.0)

    async def scenario() -> None:
        async with (
            backend.store(ttl_seconds=600, clock=ahead) as fast,
            backend.store(ttl_seconds=600, clock=behind) as slow,
        ):
            await fast.create_session("skew", {"v": 1})
            before = await fast.get_session("skew")
            await slow.update_session("skew", {"data": {"v": 2}})
            after = await slow.get_session("skew")
            assert before is not None
            assert after is not None
            assert after.data == {"v": 2}  # the update happened
            assert after.updated_at == before.updated_at  # max(now, stored), not the slow clock
            assert after.ttl == before.ttl

    run(scenario())


def test_fifty_concurrent_updates_of_one_session_all_land(backend: Backend) -> None:
    """Under contention the conditional update retries at a later moment instead of failing."""

    async def scenario() -> None:
        async with backend.store() as store:
            await store.create_session("hot", {"n": -1})
            before = await store.get_session("hot")
            await asyncio.gather(
                *(store.update_session("hot", {"data": {"n": index}}) for index in range(50))
            )
            after = await store.get_session("hot")
            assert before is not None
            assert after is not None
            assert after.data["n"] in range(50)
            assert after.updated_at >= before.updated_at

    run(scenario())


# -- the event loop and the thread pool -------------------------------------------------------


def test_calls_overlap_and_never_block_the_event_loop(moto_server_url: str) -> None:
    """50 operations in flight at once, while the loop keeps running other tasks."""
    client = client_for(moto_server_url)
    table = unique_table_name()
    create_table(table, client=client)
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()
    loop_ran = threading.Event()

    def hold(**_: Any) -> None:
        nonlocal in_flight, most_in_flight
        with lock:
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
        # Held until a coroutine has run on the loop: a blocked loop would never set it.
        assert loop_ran.wait(timeout=10)
        with lock:
            in_flight -= 1

    async def scenario() -> None:
        async with DynamoDBSessionStore(table, endpoint_url=moto_server_url) as store:
            store.client.meta.events.register("before-send.dynamodb", hold)
            calls = asyncio.gather(*(store.session_exists(f"s{index}") for index in range(50)))

            async def mark_loop_alive() -> None:
                while True:
                    with lock:
                        if in_flight >= 50:
                            break
                    await asyncio.sleep(0.005)
                loop_ran.set()

            results = await asyncio.wait_for(asyncio.gather(calls, mark_loop_alive()), 20)
            assert results[0] == [False] * 50

    try:
        run(scenario())
        assert most_in_flight == 50
    finally:
        delete_table(client, table)
        client.close()


def test_the_thread_pool_is_as_wide_as_the_connection_pool(moto_backend: Backend) -> None:
    store = moto_backend.store(max_pool_connections=64)
    try:
        assert store.client.meta.config.max_pool_connections == 64
        assert store._executor._max_workers == 64
    finally:
        store.close()
    given = client_for(None, max_pool_connections=7)
    store = DynamoDBSessionStore(client=given)
    try:
        assert store._executor._max_workers == 7
    finally:
        store.close()
    given.describe_limits()  # a client passed in stays open
    given.close()


# -- failures ---------------------------------------------------------------------------------


def _throttled(request: Any, **_: Any) -> AWSResponse:
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": "Rate exceeded",
        }
    ).encode()

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, Raw())


def test_throttling_raises_session_store_error_after_the_standard_retries(
    moto_backend: Backend,
) -> None:
    async def scenario() -> None:
        async with moto_backend.store(max_attempts=2) as store:
            counter = RequestCounter(store.client)
            store.client.meta.events.register("before-send.dynamodb", _throttled)
            with pytest.raises(SessionStoreError) as raised:
                await store.get_session("t")
            cause = raised.value.__cause__
            assert isinstance(cause, ClientError)
            assert cause.response["Error"]["Code"] == "ThrottlingException"
            assert counter.take() == ["GetItem", "GetItem"]  # retried, then raised

    run(scenario())


def test_network_errors_raise_session_store_error_with_the_cause() -> None:
    async def scenario() -> None:
        store = DynamoDBSessionStore(
            "t-x", endpoint_url=f"http://127.0.0.1:{free_port()}", connect_timeout=1
        )
        async with store:
            for call in (
                store.session_exists("a"),
                store.get_session("a"),
                store.create_session("a"),
                store.update_session("a", {}),
                store.delete_session("a"),
            ):
                with pytest.raises(SessionStoreError) as raised:
                    await call
                assert isinstance(raised.value.__cause__, EndpointConnectionError)

    run(scenario())


def test_a_missing_table_is_a_session_store_error(moto_backend: Backend) -> None:
    async def scenario() -> None:
        async with DynamoDBSessionStore("no-such-table") as store:
            with pytest.raises(SessionStoreError, match="ResourceNotFoundException"):
                await store.get_session("a")

    run(scenario())


def test_a_closed_store_refuses_calls(moto_backend: Backend) -> None:
    async def scenario() -> None:
        store = moto_backend.store()
        await store.aclose()
        with pytest.raises(SessionStoreError, match="closed"):
            await store.get_session("a")

    run(scenario())


# -- options and the table helper -------------------------------------------------------------


def test_defaults_follow_leanmcp(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULT_TABLE_NAME == "leanmcp-sessions"
    assert DEFAULT_TTL_SECONDS == 86400
    store = DynamoDBSessionStore()
    try:
        assert store.table_name == "leanmcp-sessions"
        assert store.ttl_seconds == 86400
        assert store.client.meta.region_name == "us-east-1"
    finally:
        store.close()
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", "from-env")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8")
    store = DynamoDBSessionStore()  # boto3's own variable, honoured as boto3 does
    try:
        assert store.client.meta.endpoint_url == "http://127.0.0.1:8"
    finally:
        store.close()
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", "http://127.0.0.1:9")
    store = DynamoDBSessionStore()
    try:
        assert store.table_name == "from-env"
        assert store.client.meta.region_name == "eu-west-3"
        assert store.client.meta.endpoint_url == "http://127.0.0.1:9"
    finally:
        store.close()
    store = DynamoDBSessionStore("given", "ap-south-1", endpoint_url="http://127.0.0.1:10")
    try:
        assert (store.table_name, store.client.meta.region_name) == ("given", "ap-south-1")
        assert store.client.meta.endpoint_url == "http://127.0.0.1:10"
    finally:
        store.close()


@pytest.mark.parametrize("ttl", [0, -1, float("inf")])
def test_bad_ttl_is_refused(ttl: float) -> None:
    with pytest.raises(ValueError):
        DynamoDBSessionStore(ttl_seconds=ttl)


def test_client_and_endpoint_together_are_refused(moto_backend: Backend) -> None:
    with pytest.raises(TypeError):
        DynamoDBSessionStore(client=moto_backend.client, endpoint_url="http://127.0.0.1:1")
    with pytest.raises(TypeError):
        DynamoDBSessionStore(client=object())  # type: ignore[arg-type]


def test_create_table_is_idempotent_and_enables_ttl(moto_backend: Backend) -> None:
    client = moto_backend.client
    name = unique_table_name("helper")
    assert create_table(name, client=client) is True
    assert create_table(name, client=client) is False
    table = client.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "sessionId", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")


def test_create_table_refuses_a_table_with_another_key(moto_backend: Backend) -> None:
    client = moto_backend.client
    client.create_table(
        TableName="other-key",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ValueError, match="key schema"):
        create_table("other-key", client=client)


@pytest.mark.node
def test_create_table_tolerates_an_emulator_without_ttl_settings(dynalite_url: str) -> None:
    client = client_for(dynalite_url)
    name = unique_table_name("helper")
    try:
        assert create_table(name, client=client) is True
        assert create_table(name, client=client) is False
    finally:
        delete_table(client, name)
        client.close()


def test_create_table_option_creates_the_table_on_first_use(moto_server_url: str) -> None:
    name = unique_table_name("first-use")
    client = client_for(moto_server_url)

    async def scenario() -> None:
        async with DynamoDBSessionStore(
            name, endpoint_url=moto_server_url, create_table=True
        ) as store:
            await asyncio.gather(store.create_session("a", {"x": 1}), store.session_exists("b"))
            assert (await store.get_session("a")).data == {"x": 1}  # type: ignore[union-attr]
        async with DynamoDBSessionStore(
            name, endpoint_url=moto_server_url, create_table=True
        ) as again:
            assert await again.session_exists("a") is True

    try:
        run(scenario())
    finally:
        delete_table(client, name)
        client.close()


def test_session_from_item_reads_a_bare_item() -> None:
    session = session_from_item(
        {"sessionId": {"S": "bare"}, "updatedAt": {"S": "2026-11-23T19:22:48.123Z"}}
    )
    assert session.session_id == "bare"
    assert session.created_at == session.updated_at
    assert session.ttl is None
    assert session.data == {}


def test_each_operation_checks_data_once_and_never_walks_or_decodes_json(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work per operation, counted (no clock): a regression of that kind fails here.

    A write checks the data once (in C) and converts its copy to attribute values; a
    read converts attribute values back: no JSON either way at this nesting depth.
    """
    counter = WorkCounter(monkeypatch, dynamodb_store, dynamodb_codec)

    async def scenario() -> None:
        async with backend.store(ttl_seconds=600) as store:
            await check_work_per_operation(store, counter, write=work(dumps=1), read=work())

    run(scenario())
