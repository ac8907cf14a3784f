"""RedisSessionStore: the contract (fakeredis, real server, real cluster), faults, round trips.

One piece: every test shares the servers (real, private, cluster, fakeredis) set up here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import fakeredis
import pytest
import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, OutOfMemoryError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from revision_races import check_revision_semantics, race_conditional_writers
from work_counts import WorkCounter, check_work_per_operation, work

from conformance import SessionStoreContract
from reference_stores import (
    RevisionConflictError,
    SessionExistsError,
    SessionStoreError,
    StoreBusyError,
)
from reference_stores import redis as redis_store
from reference_stores.redis import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_POOL_TIMEOUT,
    DEFAULT_REDIS_URL,
    PoolExhaustedError,
    RedisSessionStore,
)

try:  # tests/ as a package or as a plain folder on sys.path
    from .redis_servers import (
        REDIS_URL,
        RedisCluster3,
        RedisServer,
        command,
        command_calls,
        delete_keys_under,
        free_port,
        glob_escape,
    )
except ImportError:
    from redis_servers import (  # type: ignore[no-redef]
        REDIS_URL,
        RedisCluster3,
        RedisServer,
        command,
        command_calls,
        delete_keys_under,
        free_port,
        glob_escape,
    )

pytestmark = pytest.mark.redis

RUN_PREFIX = f"mcp-session-store-kit:test:{uuid.uuid4().hex[:12]}:"
"""Every key these tests write on a shared server starts with this; it is removed after."""


def run(coroutine: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coroutine

    return asyncio.run(main())


def given_client_store(make_client: Callable[[], Any], **options: Any) -> Callable[..., Any]:
    """A --store target: each store gets a new client from ``make_client``, closed after it."""

    def open_store(
        ttl_seconds: float | None = 86400,
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        @contextlib.asynccontextmanager
        async def opened() -> AsyncIterator[RedisSessionStore]:
            client = make_client()
            try:
                yield RedisSessionStore(client, ttl_seconds=ttl_seconds, **options)
            finally:
                await client.aclose()

        return opened()

    return open_store


def shared_cluster_client_store(url: str, **options: Any) -> Callable[..., Any]:
    """A --store target: the stores open at one time in one event loop share one RedisCluster
    client, as an app's stores would. Each new cluster client loads the slot map and the
    command table (over 100 ms of CPU on a busy machine): one per store would stall the loop
    in the concurrent real-time TTL scenarios, whose 2 s TTL leaves 0.4 s of slack."""
    clients: dict[asyncio.AbstractEventLoop, list[Any]] = {}

    def open_store(
        ttl_seconds: float | None = 86400,
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        @contextlib.asynccontextmanager
        async def opened() -> AsyncIterator[RedisSessionStore]:
            loop = asyncio.get_running_loop()
            entry = clients.get(loop)
            if entry is None:
                entry = clients[loop] = [RedisCluster.from_url(url), 0]
            entry[1] += 1
            try:
                yield RedisSessionStore(entry[0], ttl_seconds=ttl_seconds, **options)
            finally:
                entry[1] -= 1
                if entry[1] == 0:
                    del clients[loop]
                    await entry[0].aclose()

        return opened()

    return open_store


def unreachable_store() -> Callable[..., Any]:
    """A target whose server is down: a loopback port nothing listens on."""
    return functools.partial(
        RedisSessionStore,
        url=f"redis://127.0.0.1:{free_port()}/0",
        socket_timeout=1,
        socket_connect_timeout=1,
    )


@pytest.fixture(scope="module")
def shared_server_prefix() -> Iterator[str]:
    """A prefix for one module's keys on the REDIS_URL server; all of them are deleted after."""
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    prefix = f"{RUN_PREFIX}shared:"
    yield prefix
    delete_keys_under(REDIS_URL, prefix)


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster3]:
    with RedisCluster3() as cluster:
        yield cluster


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer() as private:
        yield private


# --- the contract, three ways ------------------------------------------------------------------


class TestRedisStoreContractFakeredis(SessionStoreContract):
    """Runs everywhere, with no server: fakeredis (with Lua) behind a client the caller owns."""

    # The heavy checks (10,000 sessions, 64 KiB races) run once per backend, in its main
    # contract class; this one judges a variant of the same store.
    conformance_skip_heavy = True

    @pytest.fixture
    def session_store_factory(self) -> Callable[..., Any]:
        if importlib.util.find_spec("lupa") is None:
            pytest.fail("fakeredis runs Lua scripts only with lupa: pip install 'fakeredis[lua]'")
        fake_server = fakeredis.FakeServer()
        return given_client_store(
            lambda: fakeredis.FakeAsyncRedis(server=fake_server), key_prefix="contract:"
        )

    @pytest.fixture
    def failing_session_store_factory(self) -> Callable[..., Any]:
        return unreachable_store()


class TestRedisStoreContractServer(SessionStoreContract):
    """The real server from REDIS_URL, the way ``--store=redis`` builds the store."""

    @pytest.fixture
    def session_store_factory(self, shared_server_prefix: str) -> Callable[..., Any]:
        return functools.partial(
            RedisSessionStore, url=REDIS_URL, key_prefix=f"{shared_server_prefix}contract:"
        )

    @pytest.fixture
    def failing_session_store_factory(self) -> Callable[..., Any]:
        return unreachable_store()


class TestRedisStoreContractCluster(SessionStoreContract):
    """A real three-master Redis Cluster through RedisCluster (a store opening its own
    cluster client is tested below)."""

    # The heavy checks (10,000 sessions, 64 KiB races) run once per backend, in its main
    # contract class; this one judges a variant of the same store.
    conformance_skip_heavy = True

    @pytest.fixture
    def session_store_factory(self, redis_cluster: RedisCluster3) -> Callable[..., Any]:
        return shared_cluster_client_store(redis_cluster.url, key_prefix="contract:")

    @pytest.fixture
    def failing_session_store_factory(self) -> Callable[..., Any]:
        return functools.partial(unreachable_store(), cluster=True)


# --- building and closing -----------------------------------------------------------------------


def test_redis_url_is_the_fallback_then_the_local_default(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.9:6390/3")
        async with RedisSessionStore() as from_env:
            kwargs = from_env.client.connection_pool.connection_kwargs  # type: ignore[union-attr]
            assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.9", 6390, 3)
            assert kwargs["socket_timeout"] == 5.0
            assert kwargs["socket_connect_timeout"] == 5.0
        monkeypatch.delenv("REDIS_URL")
        async with RedisSessionStore() as default:
            kwargs = default.client.connection_pool.connection_kwargs  # type: ignore[union-attr]
            assert DEFAULT_REDIS_URL == "redis://127.0.0.1:6379/0"
            assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 6379, 0)
        async with RedisSessionStore(url="redis://127.0.0.8:7000/1") as explicit:
            kwargs = explicit.client.connection_pool.connection_kwargs  # type: ignore[union-attr]
            assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.8", 7000, 1)

    run(scenario())


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError):
        RedisSessionStore(url="redis://127.0.0.1:1/0", ttl_seconds=0)
    with pytest.raises(ValueError):
        RedisSessionStore(url="redis://127.0.0.1:1/0", ttl_seconds=-1)
    with pytest.raises(ValueError):
        RedisSessionStore(url="redis://127.0.0.1:1/0", ttl_seconds=1e12)
    with pytest.raises(ValueError):
        RedisSessionStore(url="redis://127.0.0.1:1/0", socket_timeout=0)
    with pytest.raises(TypeError):
        RedisSessionStore(url="redis://127.0.0.1:1/0", key_prefix=b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        RedisSessionStore(fakeredis.FakeAsyncRedis(), url="redis://127.0.0.1:1/0")
    with pytest.raises(TypeError):
        RedisSessionStore(object())  # type: ignore[arg-type]


def test_defaults_and_sharing_declaration() -> None:
    store = RedisSessionStore(fakeredis.FakeAsyncRedis())
    assert store.ttl_seconds == 86400
    assert store.key_prefix == "mcp:session:"
    assert RedisSessionStore.shares_sessions_across_instances is True
    assert RedisSessionStore(fakeredis.FakeAsyncRedis(), ttl_seconds=None).ttl_seconds is None
    # Sub-millisecond TTLs round up, never down.
    assert RedisSessionStore(fakeredis.FakeAsyncRedis(), ttl_seconds=0.0001).ttl_seconds == 0.001


def test_a_given_client_stays_open_and_an_opened_one_is_closed(server: RedisServer) -> None:
    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(server.url)
        async with RedisSessionStore(client, key_prefix="given:") as store:
            await store.create_session("a")
        assert await client.exists("given:a") == 1  # still usable: the store did not close it
        await client.aclose()

        owned = RedisSessionStore(url=server.url, key_prefix="owned:")
        await owned.create_session("a")
        connections = list(owned.client.connection_pool._available_connections)  # type: ignore[union-attr]
        assert connections
        assert all(connection.is_connected for connection in connections)
        await owned.aclose()
        await owned.aclose()  # twice is harmless
        assert not any(connection.is_connected for connection in connections)

    run(scenario())


def test_importing_the_package_does_not_import_redis() -> None:
    code = "import sys, reference_stores; print('redis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_store_short_name_builds_from_redis_url_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.targets import StoreBuilder, resolve_target

    assert resolve_target("redis") is RedisSessionStore
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.7:6391/2")

    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as stack:
            store = await StoreBuilder(resolve_target("redis")).open(stack, ttl_seconds=5)
            kwargs = store.client.connection_pool.connection_kwargs
            assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.7", 6391, 2)
            assert store.ttl_seconds == 5

    run(scenario())


# --- what is stored, and how --------------------------------------------------------------------


def test_record_layout_and_data_kept_as_opaque_json_text() -> None:
    """Lua's cjson would turn {} into [] and round 2**63-1; the script never decodes the data."""
    data = {
        "empty": {},
        "list": [],
        "big": 2**63 - 1,
        "neg": -(2**63),
        "f": 0.1,
        "s": "\U0001f600\x00",
    }

    async def scenario() -> None:
        client = fakeredis.FakeAsyncRedis()
        store = RedisSessionStore(client, key_prefix="p:", ttl_seconds=60)
        await store.create_session("s", data)
        raw = await client.get("p:s")
        created, updated, expires, revision, text = raw.split(b":", 4)
        assert int(updated) == int(created)
        assert int(expires) == int(created) + 60_000
        assert revision == b"1"
        await store.update_session("s", {})  # a touch rewrites the header around the same text
        assert (await client.get("p:s")).split(b":", 4)[3:] == [b"1", text]
        await store.update_session("s", {"data": {"nested": {"empty": {}, "list": []}}})
        assert (await client.get("p:s")).split(b":", 4)[3] == b"2"
        record = await store.get_session("s")
        assert record is not None
        assert record.revision == 2
        assert record.data == {"nested": {"empty": {}, "list": []}}
        assert type(record.data["nested"]["empty"]) is dict
        assert type(record.data["nested"]["list"]) is list
        await store.update_session("s", {"data": data})
        record = await store.get_session("s")
        assert record is not None
        assert record.data == data
        assert type(record.data["big"]) is int
        assert type(record.data["f"]) is float
        assert 59_000 < await client.pttl("p:s") <= 60_000

    run(scenario())


def test_ids_with_glob_and_hash_tag_characters_are_plain_key_suffixes() -> None:
    async def scenario() -> None:
        client = fakeredis.FakeAsyncRedis()
        store = RedisSessionStore(client, key_prefix="p:")
        ids = ["a*", "a?", "[ab]", "a\\b", "{tag}x", "%s", "'\"", "a:b"]
        for number, session_id in enumerate(ids):
            await store.create_session(session_id, {"n": number})
        assert sorted(await client.keys("*")) == sorted(f"p:{i}".encode() for i in ids)
        await store.delete_session("a*")
        assert await store.session_exists("a?")
        assert await store.session_exists("[ab]")
        assert store.key_for("{tag}x") == "p:{tag}x"
        for number, session_id in enumerate(ids[1:], start=1):
            record = await store.get_session(session_id)
            assert record is not None
            assert record.data == {"n": number}

    run(scenario())


def test_prefixes_keep_stores_apart_and_equal_prefixes_share() -> None:
    async def scenario() -> None:
        fake_server = fakeredis.FakeServer()
        one = RedisSessionStore(fakeredis.FakeAsyncRedis(server=fake_server), key_prefix="one:")
        two = RedisSessionStore(fakeredis.FakeAsyncRedis(server=fake_server), key_prefix="two:")
        one_again = RedisSessionStore(
            fakeredis.FakeAsyncRedis(server=fake_server), key_prefix="one:"
        )
        await one.create_session("s", {"by": "one"})
        assert await two.get_session("s") is None
        await two.create_session("s", {"by": "two"})
        record = await one_again.get_session("s")
        assert record is not None
        assert record.data == {"by": "one"}

    run(scenario())


def test_client_decoding_responses_works_too() -> None:
    async def scenario() -> None:
        store = RedisSessionStore(fakeredis.FakeAsyncRedis(decode_responses=True), ttl_seconds=None)
        await store.create_session("s", {"text": "\u00e9\U0001f600"})
        await store.update_session("s", {})
        record = await store.get_session("s")
        assert record is not None
        assert record.data == {"text": "\u00e9\U0001f600"}
        assert record.ttl is None

    run(scenario())


def test_without_ttl_keys_never_expire_and_update_keeps_it_so() -> None:
    async def scenario() -> None:
        client = fakeredis.FakeAsyncRedis()
        store = RedisSessionStore(client, key_prefix="p:", ttl_seconds=None)
        await store.create_session("s")
        assert await client.pttl("p:s") == -1
        await store.update_session("s", {"data": {"a": 1}})
        assert await client.pttl("p:s") == -1
        record = await store.get_session("s")
        assert record is not None
        assert record.ttl is None
        assert record.data == {"a": 1}

    run(scenario())


def test_updated_at_never_moves_back_when_a_writer_clock_is_behind() -> None:
    async def scenario() -> None:
        client = fakeredis.FakeAsyncRedis()
        store = RedisSessionStore(client, key_prefix="p:", ttl_seconds=10)
        ahead = int(time.time() * 1000) + 5_000
        # A record written by a host whose clock runs 5 s ahead of this one.
        await client.set("p:s", f"{ahead}:{ahead}:{ahead + 10_000}:{{}}", px=10_000)
        await store.update_session("s", {"data": {"a": 1}})
        record = await store.get_session("s")
        assert record is not None
        assert record.updated_at.timestamp() * 1000 == ahead
        assert record.ttl == (ahead + 10_000) // 1000
        # The key lives until updated_at + ttl, as the record says.
        assert 14_000 < await client.pttl("p:s") <= 15_000

    run(scenario())


# --- revisions ----------------------------------------------------------------------------------


def test_revisions_follow_data_writes_on_fakeredis() -> None:
    async def scenario() -> None:
        await check_revision_semantics(
            RedisSessionStore(fakeredis.FakeAsyncRedis(), ttl_seconds=60)
        )
        await check_revision_semantics(
            RedisSessionStore(fakeredis.FakeAsyncRedis(decode_responses=True), ttl_seconds=None)
        )

    run(scenario())


def test_revisions_on_the_real_server_and_cluster(
    shared_server_prefix: str, redis_cluster: RedisCluster3
) -> None:
    async def scenario() -> None:
        async with RedisSessionStore(url=REDIS_URL, key_prefix=shared_server_prefix) as store:
            await check_revision_semantics(store)
        async with RedisSessionStore(
            url=redis_cluster.url, cluster=True, key_prefix="rev:"
        ) as on_cluster:
            await check_revision_semantics(on_cluster)

    run(scenario())


def test_concurrent_conditional_writers_on_the_real_server(shared_server_prefix: str) -> None:
    # Four store objects, four clients: the writers race on separate connections.
    async def scenario() -> None:
        stores = [
            RedisSessionStore(url=REDIS_URL, key_prefix=shared_server_prefix) for _ in range(4)
        ]
        try:
            await race_conditional_writers(stores)
        finally:
            for store in stores:
                await store.aclose()

    run(scenario())


def test_concurrent_conditional_writers_on_the_cluster(redis_cluster: RedisCluster3) -> None:
    async def scenario() -> None:
        stores = [
            RedisSessionStore(url=redis_cluster.url, cluster=True, key_prefix="race:")
            for _ in range(4)
        ]
        try:
            await race_conditional_writers(stores)
        finally:
            for store in stores:
                await store.aclose()

    run(scenario())


def test_a_record_written_before_revisions_is_at_revision_1() -> None:
    async def scenario() -> None:
        client = fakeredis.FakeAsyncRedis()
        store = RedisSessionStore(client, key_prefix="p:", ttl_seconds=10)
        now = int(time.time() * 1000)
        await client.set("p:s", f'{now}:{now}:{now + 10_000}:{{"n":1}}', px=10_000)
        old = await store.get_session("s")
        assert old is not None
        assert (old.data, old.revision) == ({"n": 1}, 1)
        await store.update_session("s", {}, expected_revision=1)  # a touch keeps it at 1
        assert (await client.get("p:s")).split(b":", 4)[3:] == [b"1", b'{"n":1}']
        with pytest.raises(RevisionConflictError) as refused:
            await store.update_session("s", {"data": {"n": 2}}, expected_revision=2)
        assert refused.value.current_revision == 1
        await store.update_session("s", {"data": {"n": 2}}, expected_revision=1)
        new = await store.get_session("s")
        assert new is not None
        assert (new.data, new.revision) == ({"n": 2}, 2)

    run(scenario())


def test_revisions_are_compared_as_written_digits() -> None:
    # Beyond 2**53 a Lua number would round; the script compares the digits instead.
    async def scenario() -> None:
        client = fakeredis.FakeAsyncRedis()
        store = RedisSessionStore(client, key_prefix="p:", ttl_seconds=None)
        now = int(time.time() * 1000)
        await client.set("p:s", f"{now}:{now}::9007199254740993:{{}}")
        with pytest.raises(RevisionConflictError):
            await store.update_session("s", {}, expected_revision=9007199254740992)
        await store.update_session("s", {}, expected_revision=9007199254740993)
        session = await store.get_session("s")
        assert session is not None
        assert session.revision == 9007199254740993

    run(scenario())


# --- failures -----------------------------------------------------------------------------------


def test_foreign_or_corrupt_keys_under_the_prefix_raise_store_errors(server: RedisServer) -> None:
    async def scenario() -> None:
        async with RedisSessionStore(url=server.url, key_prefix="p:") as store:
            command(server.port, "HSET", "p:hash", "a", "1")
            command(server.port, "SET", "p:junk", "not a session record")
            for session_id, cause in (("hash", ResponseError), ("junk", ValueError)):
                with pytest.raises(SessionStoreError) as caught:
                    await store.get_session(session_id)
                assert isinstance(caught.value.__cause__, cause)
            for session_id in ("hash", "junk"):
                with pytest.raises(SessionStoreError) as caught:
                    await store.update_session(session_id, {"data": {}})
                assert isinstance(caught.value.__cause__, ResponseError)
            assert command(server.port, "GET", "p:junk") == b"not a session record"

    run(scenario())


def test_server_error_reply_becomes_store_error_then_recovers(server: RedisServer) -> None:
    async def scenario() -> None:
        async with RedisSessionStore(url=server.url, key_prefix="p:") as store:
            await store.create_session("before")
            assert command(server.port, "CONFIG", "SET", "maxmemory", "1") == b"+OK"
            for operation in (
                store.create_session("s", {"a": 1}),
                store.update_session("before", {"data": {"a": 1}}),
            ):
                with pytest.raises(SessionStoreError) as caught:
                    await operation
                assert isinstance(caught.value.__cause__, OutOfMemoryError)
            command(server.port, "CONFIG", "SET", "maxmemory", "0")
            await store.create_session("s", {"a": 1})
            record = await store.get_session("s")
            assert record is not None
            assert record.data == {"a": 1}

    run(scenario())


def test_killed_server_raises_promptly_then_the_store_recovers(server: RedisServer) -> None:
    """Kill redis-server under load: every call fails with a cause, none hangs; restart: works."""

    async def scenario() -> None:
        store = RedisSessionStore(
            url=server.url, key_prefix="p:", socket_timeout=1, socket_connect_timeout=1
        )
        async with store:
            await store.create_session("s", {"n": 0})

            async def keep_updating(worker: int) -> BaseException:
                n = 0
                while True:
                    n += 1
                    try:
                        await store.update_session("s", {"data": {"worker": worker, "n": n}})
                        await store.get_session("s")
                    except SessionStoreError as error:
                        return error

            workers = [asyncio.create_task(keep_updating(worker)) for worker in range(20)]
            await asyncio.sleep(0.2)
            assert not any(worker.done() for worker in workers)
            killed_at = time.monotonic()
            server.kill()
            errors = await asyncio.wait_for(asyncio.gather(*workers), 5)
            assert time.monotonic() - killed_at < 2.5
            for error in errors:
                assert isinstance(error, SessionStoreError)
                assert isinstance(error.__cause__, (RedisConnectionError, OSError))

            # While it is down: each operation fails within the connect timeout.
            for operation in (
                store.session_exists("s"),
                store.create_session("t"),
                store.get_session("s"),
                store.update_session("s", {}),
                store.delete_session("s"),
            ):
                began = time.monotonic()
                with pytest.raises(SessionStoreError) as caught:
                    await operation
                assert time.monotonic() - began < 2.5
                assert isinstance(caught.value.__cause__, (RedisConnectionError, OSError))

            server.start()  # same port, empty: it kept nothing on disk
            assert await store.get_session("s") is None
            await store.create_session("s", {"back": True})
            record = await store.get_session("s")
            assert record is not None
            assert record.data == {"back": True}

    run(scenario())


def test_hung_server_times_out_within_socket_timeout_then_recovers(server: RedisServer) -> None:
    async def scenario() -> None:
        store = RedisSessionStore(
            url=server.url, key_prefix="p:", socket_timeout=0.5, socket_connect_timeout=0.5
        )
        async with store:
            await store.create_session("s", {"n": 1})
            server.pause()
            try:
                for operation in (store.get_session("s"), store.update_session("s", {})):
                    began = time.monotonic()
                    with pytest.raises(SessionStoreError) as caught:
                        await operation
                    assert time.monotonic() - began < 2.0
                    assert isinstance(caught.value.__cause__, (RedisTimeoutError, TimeoutError))
            finally:
                server.resume()
            record = await store.get_session("s")
            assert record is not None
            assert record.data == {"n": 1}

    run(scenario())


# --- bursts: the pool of the client the store opens ----------------------------------------------


def test_pool_options_are_checked() -> None:
    url = "redis://127.0.0.1:1/0"
    for too_small in (0, -1):
        with pytest.raises(ValueError, match="max_connections must be at least 1"):
            RedisSessionStore(url=url, max_connections=too_small)
    for not_an_int in (2.5, "2", True, None):
        with pytest.raises(TypeError, match="max_connections must be an int"):
            RedisSessionStore(url=url, max_connections=not_an_int)  # type: ignore[arg-type]
    for bad in (0, -1, "5", None, True, float("nan")):
        with pytest.raises(ValueError, match="pool_timeout must be a positive number"):
            RedisSessionStore(url=url, pool_timeout=bad)  # type: ignore[arg-type]
    for bad in (0, -1):  # checked with a client too, as the other options are
        with pytest.raises(ValueError, match="max_connections"):
            RedisSessionStore(fakeredis.FakeAsyncRedis(), max_connections=bad)


def test_the_opened_client_has_a_waiting_pool_and_no_retries() -> None:
    """Defaults: redis-py's 100 connections, then a wait of up to 5 s; the no-retry policy
    reaches every connection the pool opens (redis-py keeps the retry policy on each one)."""

    async def scenario() -> None:
        async with RedisSessionStore(url="redis://127.0.0.1:1/0") as default:
            pool = default.client.connection_pool  # type: ignore[union-attr]
            assert (pool.max_connections, pool.turns.size, pool.turns.timeout) == (100, 100, 5.0)
            assert (DEFAULT_MAX_CONNECTIONS, DEFAULT_POOL_TIMEOUT) == (100, 5.0)
            connection = pool.make_connection()  # as the pool makes each connection
            assert connection.retry.get_retries() == 0
            assert connection.socket_timeout == connection.socket_connect_timeout == 5.0
        async with RedisSessionStore(
            url="redis://127.0.0.1:1/0", max_connections=3, pool_timeout=0.25, socket_timeout=2
        ) as sized:
            pool = sized.client.connection_pool  # type: ignore[union-attr]
            assert (pool.max_connections, pool.turns.size, pool.turns.timeout) == (3, 3, 0.25)
            connection = pool.make_connection()
            assert connection.retry.get_retries() == 0
            assert connection.socket_timeout == 2

    run(scenario())


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait, polling, until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


def _connections_received(server: RedisServer) -> int:
    """Connections the server has accepted since it started (this one included)."""
    info = command(server.port, "INFO", "stats").decode()
    return int(info.split("total_connections_received:")[1].split()[0])


def test_a_burst_beyond_the_pool_waits_for_its_connections(server: RedisServer) -> None:
    """250 operations at once through 2 connections: each waits its turn and succeeds.

    A caller's client with redis-py's usual non-blocking pool fails the same burst at
    once, as StoreBusyError (a MaxConnectionsError behind it)."""

    async def scenario() -> None:
        before = _connections_received(server)
        async with RedisSessionStore(
            url=server.url, key_prefix="p:", max_connections=2, pool_timeout=10
        ) as store:
            ids = [f"id-{n}" for n in range(50)]
            await asyncio.gather(*(store.create_session(i, {"n": 0}) for i in [*ids, "s"]))
            results = await asyncio.gather(
                *(store.update_session("s", {"data": {"n": n}}) for n in range(100)),
                *(store.update_session(i, {}) for i in ids),
                *(store.get_session(i) for i in ids),
                *(store.session_exists(i) for i in ids),
            )
            assert results[-50:] == [True] * 50
            record = await store.get_session("s")
            assert record is not None
            assert record.revision == 101  # every write landed
            # The store opened 2 connections, no more (the second INFO is one more).
            assert _connections_received(server) - before == 2 + 1

        client = redis.asyncio.Redis.from_url(server.url, max_connections=2)
        try:
            given = RedisSessionStore(client, key_prefix="p:")
            outcomes = await asyncio.gather(
                *(given.get_session("s") for _ in range(50)), return_exceptions=True
            )
            busy = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
            assert busy
            for error in busy:
                assert isinstance(error, StoreBusyError)
                assert isinstance(error.__cause__, MaxConnectionsError)
        finally:
            await client.aclose()

    run(scenario())


def test_a_pool_busy_beyond_pool_timeout_raises_store_busy_error(server: RedisServer) -> None:
    """Both connections held (BLPOP): every operation waits pool_timeout, then fails with
    StoreBusyError naming the two options, and sends nothing; freed, the pool serves again."""

    async def scenario() -> None:
        async with RedisSessionStore(
            url=server.url, key_prefix="p:", max_connections=2, pool_timeout=0.3
        ) as store:
            await store.create_session("s", {"n": 1})
            pool = store.client.connection_pool  # type: ignore[union-attr]
            holds = [
                asyncio.create_task(store.client.blpop(["p:hold"], timeout=10)) for _ in range(2)
            ]
            await _until(pool.turns.all_taken)
            began = time.monotonic()
            outcomes = await asyncio.gather(
                store.session_exists("s"),
                store.create_session("new"),
                store.get_session("s"),
                store.update_session("s", {"data": {"n": 2}}),
                store.delete_session("s"),
                return_exceptions=True,
            )
            waited = time.monotonic() - began
            command(server.port, "RPUSH", "p:hold", "a", "b")  # frees both connections
            popped = sorted(tuple(reply) for reply in await asyncio.gather(*holds))
            assert popped == [(b"p:hold", b"a"), (b"p:hold", b"b")]
            assert 0.3 <= waited < 2.5
            for operation, error in zip(
                ("session_exists", "create_session", "get_session", "update_session", "delete"),
                outcomes,
                strict=True,
            ):
                assert isinstance(error, StoreBusyError), error
                assert isinstance(error, SessionStoreError)
                assert str(error).startswith(f"redis: {operation}")
                assert "all 2 connections (max_connections) stayed busy for 0.3 s" in str(error)
                assert "(pool_timeout)" in str(error)
                cause = error.__cause__
                assert isinstance(cause, PoolExhaustedError)
                assert isinstance(cause, MaxConnectionsError)
                assert (cause.max_connections, cause.pool_timeout) == (2, 0.3)
            # Nothing was sent: no session "new", "s" as it was.
            assert await store.session_exists("new") is False
            record = await store.get_session("s")
            assert record is not None
            assert (record.data, record.revision) == ({"n": 1}, 1)

    run(scenario())


def test_failed_connections_and_cancelled_calls_give_their_turn_back(server: RedisServer) -> None:
    """A connection that cannot be opened, a call cancelled while it waits and one cancelled
    while it holds the connection: each gives its turn back, so none is lost for good."""

    async def scenario() -> None:
        down = RedisSessionStore(
            url=f"redis://127.0.0.1:{free_port()}/0", max_connections=1, socket_connect_timeout=1
        )
        async with down:
            for _ in range(3):
                with pytest.raises(SessionStoreError) as caught:
                    await down.get_session("s")
                assert not isinstance(caught.value, StoreBusyError)
                assert isinstance(caught.value.__cause__, (RedisConnectionError, OSError))

        async with RedisSessionStore(
            url=server.url, key_prefix="p:", max_connections=1, pool_timeout=10
        ) as store:
            await store.create_session("s")
            pool = store.client.connection_pool  # type: ignore[union-attr]
            holder = asyncio.create_task(store.client.blpop(["p:hold"], timeout=10))
            await _until(pool.turns.all_taken)
            waiters = [asyncio.create_task(store.session_exists("s")) for _ in range(10)]
            await asyncio.sleep(0.05)
            for waiter in waiters[:5]:
                waiter.cancel()
            holder.cancel()  # cancelled while it holds the only connection
            assert await asyncio.gather(*waiters[5:]) == [True] * 5
            for waiter in waiters[:5]:
                assert waiter.cancelled()
            assert holder.cancelled()
            assert not pool.turns.all_taken()
            assert await store.session_exists("s") is True

    run(scenario())


def test_a_burst_on_a_cluster_store_waits_for_a_turn(redis_cluster: RedisCluster3) -> None:
    """redis-py's cluster client has no blocking pool: a full node raises MaxConnectionsError
    at once. The store's own cluster client lets max_connections commands run at a time
    and makes the others wait, up to pool_timeout."""

    async def scenario() -> None:
        ids = [f"id-{n}" for n in range(12)]  # spread over the three masters
        async with RedisSessionStore(
            url=redis_cluster.url, cluster=True, key_prefix="burst:", max_connections=2
        ) as store:
            await asyncio.gather(*(store.create_session(i, {"n": 0}) for i in ids))
            await asyncio.gather(
                *(store.update_session(i, {"data": {"n": n}}) for n in range(20) for i in ids),
                *(store.get_session(i) for _ in range(10) for i in ids),
            )
            for i in ids:
                record = await store.get_session(i)
                assert record is not None
                assert record.revision == 21

        async with RedisSessionStore(
            url=redis_cluster.url,
            cluster=True,
            key_prefix="burst:",
            max_connections=2,
            pool_timeout=0.3,
        ) as store:
            await store.session_exists(ids[0])  # the slot map is loaded
            holds = [
                asyncio.create_task(store.client.blpop(["burst:hold"], timeout=10))
                for _ in range(2)
            ]
            await _until(store.client.turns.all_taken)  # type: ignore[union-attr]
            with pytest.raises(StoreBusyError, match=r"all 2 connections .* 0\.3 s") as caught:
                await store.get_session(ids[0])
            assert isinstance(caught.value.__cause__, PoolExhaustedError)
            pusher = RedisCluster.from_url(redis_cluster.url)
            await pusher.rpush("burst:hold", "a", "b")
            await pusher.aclose()
            await asyncio.gather(*holds)
            for i in ids:
                await store.delete_session(i)

        # A caller's cluster client: a full node fails at once, as StoreBusyError.
        client = RedisCluster.from_url(redis_cluster.url, max_connections=1)
        try:
            given = RedisSessionStore(client, key_prefix="burst:")
            await given.session_exists(ids[0])
            outcomes = await asyncio.gather(
                *(given.get_session(ids[0]) for _ in range(30)), return_exceptions=True
            )
            busy = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
            assert busy
            assert all(isinstance(error, StoreBusyError) for error in busy), busy
            assert all(isinstance(error.__cause__, MaxConnectionsError) for error in busy)
        finally:
            await client.aclose()

    run(scenario())


# --- one round trip per operation ---------------------------------------------------------------


class CountingConnection(redis.asyncio.Connection):
    """Writes down the name of every command it sends and counts the replies it reads."""

    sent: list[str] = []  # noqa: RUF012 - one log shared by the pool's connections
    replies = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        packed = command if isinstance(command, (bytes, str)) else b"".join(command)
        packed = packed.encode() if isinstance(packed, str) else packed
        CountingConnection.sent.append(packed.split(b"\r\n", 3)[2].decode().upper())
        await super().send_packed_command(command, check_health)

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        CountingConnection.replies += 1
        return await super().read_response(*args, **kwargs)


def test_each_operation_is_one_command_and_one_reply(server: RedisServer) -> None:
    """Client side: one command out, one reply in. Server side: one top-level command."""

    async def scenario() -> None:
        pool = redis.asyncio.ConnectionPool(port=server.port, connection_class=CountingConnection)
        client = redis.asyncio.Redis(connection_pool=pool)
        store = RedisSessionStore(client, key_prefix="p:", ttl_seconds=60)
        await store.create_session("warm")
        await store.update_session("warm", {})  # loads the script; the connection is open now

        async def one_round_trip(operation: Awaitable[Any], expected: list[str]) -> None:
            CountingConnection.sent.clear()
            CountingConnection.replies = 0
            calls_before = command_calls(server.port)
            await operation
            assert CountingConnection.sent == expected
            assert CountingConnection.replies == 1
            calls_after = command_calls(server.port)
            executed = {
                name: calls_after[name] - calls_before.get(name, 0)
                for name in calls_after
                if name != "info" and calls_after[name] != calls_before.get(name, 0)
            }
            top_level = {name: n for name, n in executed.items() if name not in ("get", "set")}
            if expected == ["EVALSHA"]:
                assert top_level == {"evalsha": 1}  # GET and SET ran inside it
            else:
                assert executed == {expected[0].lower(): 1}

        await one_round_trip(store.create_session("s", {"a": 1}), ["SET"])
        await one_round_trip(store.get_session("s"), ["GET"])
        await one_round_trip(store.session_exists("s"), ["EXISTS"])
        await one_round_trip(store.update_session("s", {"data": {"a": 2}}), ["EVALSHA"])
        await one_round_trip(store.update_session("s", {}), ["EVALSHA"])
        await one_round_trip(store.update_session("missing", {}), ["EVALSHA"])
        await one_round_trip(
            store.update_session("s", {"data": {"a": 3}}, expected_revision=2), ["EVALSHA"]
        )
        with pytest.raises(RevisionConflictError):  # the refusal names the revision: no read
            await one_round_trip(
                store.update_session("s", {"data": {"a": 4}}, expected_revision=2), ["EVALSHA"]
            )
        assert CountingConnection.sent == ["EVALSHA"]
        await one_round_trip(store.delete_session("s"), ["DEL"])
        with pytest.raises(SessionExistsError):
            await one_round_trip(store.create_session("warm"), ["SET"])
        assert CountingConnection.sent == ["SET"]

        # 50 concurrent operations: 50 commands, no more (once the pool has 50 connections).
        await asyncio.gather(*(store.session_exists("warm") for _ in range(50)))
        CountingConnection.sent.clear()
        await asyncio.gather(*(store.update_session("warm", {"data": {"i": i}}) for i in range(50)))
        assert CountingConnection.sent == ["EVALSHA"] * 50

        # A server that lost its script cache costs one extra command, once.
        command(server.port, "SCRIPT", "FLUSH")
        CountingConnection.sent.clear()
        await store.update_session("warm", {"data": {"after": "flush"}})
        assert CountingConnection.sent == ["EVALSHA", "EVAL"]
        CountingConnection.sent.clear()
        await store.update_session("warm", {})
        assert CountingConnection.sent == ["EVALSHA"]
        record = await store.get_session("warm")
        assert record is not None
        assert record.data == {"after": "flush"}
        await client.aclose()
        await pool.aclose()

    run(scenario())


def test_one_command_per_operation_on_the_cluster(redis_cluster: RedisCluster3) -> None:
    """Through RedisCluster: each operation is one command on the node that owns the key."""

    def cluster_calls() -> dict[str, int]:
        total: dict[str, int] = {}
        for port in redis_cluster.ports:
            for name, calls in command_calls(port).items():
                total[name] = total.get(name, 0) + calls
        return total

    async def scenario() -> None:
        client = RedisCluster.from_url(redis_cluster.url)
        store = RedisSessionStore(client, key_prefix="rt:", ttl_seconds=60)
        ids = [f"id-{n}" for n in range(12)]  # spread over the three masters
        for session_id in ids:
            await store.create_session(session_id)
            await store.update_session(session_id, {})  # loads the script on every node
        before = cluster_calls()
        for session_id in ids:
            await store.get_session(session_id)
            await store.session_exists(session_id)
            await store.update_session(session_id, {"data": {"id": session_id}})
            await store.delete_session(session_id)
            await store.create_session(session_id)
        after = cluster_calls()
        executed = {
            name: after[name] - before.get(name, 0)
            for name in after
            if name not in ("info", "get", "set") and after[name] != before.get(name, 0)
        }
        n = len(ids)
        assert executed == {"evalsha": n, "exists": n, "del": n}
        assert after["get"] - before["get"] == 2 * n  # GET alone plus GET inside the script
        assert after["set"] - before["set"] == 2 * n  # SET alone plus SET inside the script
        assert {store.client.keyslot(store.key_for(i)) for i in ids}  # type: ignore[union-attr]
        await client.aclose()

    run(scenario())


def test_cluster_from_url_owns_and_closes_its_client(redis_cluster: RedisCluster3) -> None:
    async def scenario() -> None:
        store = RedisSessionStore(url=redis_cluster.url, cluster=True, key_prefix="own:")
        assert isinstance(store.client, RedisCluster)
        await store.create_session("{same-slot}a", {"x": 1})
        record = await store.get_session("{same-slot}a")
        assert record is not None
        assert record.data == {"x": 1}
        await store.delete_session("{same-slot}a")
        await store.aclose()

    run(scenario())


def test_concurrent_first_operations_on_a_fresh_cluster_client(
    redis_cluster: RedisCluster3,
) -> None:
    """redis-py's cluster client fails commands sent concurrently before its first topology
    load (connection errors, even AttributeError); the store loads it first."""

    async def scenario(round_number: int) -> None:
        async with RedisSessionStore(
            url=redis_cluster.url, cluster=True, key_prefix="fresh:"
        ) as store:
            session_id = f"race-{round_number}"
            results = await asyncio.gather(
                *(store.create_session(session_id, {"writer": n}) for n in range(8)),
                return_exceptions=True,
            )
            winners = [n for n, result in enumerate(results) if result is None]
            assert len(winners) == 1, results
            losers = [result for result in results if result is not None]
            assert all(isinstance(result, SessionExistsError) for result in losers), results
            record = await store.get_session(session_id)
            assert record is not None
            assert record.data == {"writer": winners[0]}
            await store.delete_session(session_id)

    for round_number in range(5):
        run(scenario(round_number))


def test_teardown_helper_escapes_glob_characters_in_the_prefix() -> None:
    assert glob_escape("a*b?c[d]e\\f") == "a\\*b\\?c\\[d\\]e\\\\f"


def test_teardown_deletes_only_keys_under_the_prefix(server: RedisServer) -> None:
    prefix = "run[1]*:"
    for key in (f"{prefix}a", f"{prefix}b", "run1x:a", "run[1]x:a", "other"):
        command(server.port, "SET", key, "v")
    assert delete_keys_under(server.url, prefix) == 2
    left = [key for key in ("run1x:a", "run[1]x:a", "other", f"{prefix}a") if _exists(server, key)]
    assert left == ["run1x:a", "run[1]x:a", "other"]


def _exists(server: RedisServer, key: str) -> bool:
    return command(server.port, "EXISTS", key) == b":1"


def test_real_server_from_redis_url_is_used_when_set(shared_server_prefix: str) -> None:
    """With REDIS_URL set these tests run against it; keys stay under this run's prefix."""
    assert os.environ["REDIS_URL"] == REDIS_URL

    async def scenario() -> None:
        async with RedisSessionStore(url=REDIS_URL, key_prefix=shared_server_prefix) as store:
            await store.create_session("probe", {"ok": True})
            raw = redis.asyncio.Redis.from_url(REDIS_URL)
            assert await raw.exists(f"{shared_server_prefix}probe") == 1
            await raw.aclose()
            await store.delete_session("probe")

    run(scenario())


def test_each_operation_serializes_or_decodes_once_at_most_and_never_walks(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work per operation, counted (no clock): a regression of that kind fails here."""
    counter = WorkCounter(monkeypatch, redis_store)

    async def scenario() -> None:
        client = redis.asyncio.Redis(port=server.port)
        store = RedisSessionStore(client, key_prefix="p:", ttl_seconds=60)
        try:
            await check_work_per_operation(store, counter, write=work(dumps=1), read=work(loads=1))
        finally:
            await client.aclose()

    run(scenario())
