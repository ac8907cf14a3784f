"""State handles for 2026-07-28 servers (mcp_sessions.handles) and the basket example.

In-process tests drive the apps through httpx2's ASGI transport with the SDK's
own client, in the 2026-07-28 mode unless said otherwise; end-to-end tests run
the basket example in real uvicorn processes on loopback, over SQLite, real
Redis and real PostgreSQL, and call it with the SDK's Python client in both
eras and with the TypeScript SDK v2 client pinned to 2026-07-28.

One piece: the in-process and end-to-end tests share the callers and servers set up here.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")

import anyio
import anyio.lowlevel
import httpx2
import mcp_types
from clocks import ManualClock
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server

from examples import basket_server, counter_server
from mcp_sessions import (
    HandleBusyError,
    HandshakeSessionRequiredError,
    PersistentSessions,
    RevisionsUnsupportedError,
    StateHandles,
    UnknownHandleError,
    install_handle_error_results,
)
from reference_stores import InMemorySessionStore, SessionData
from reference_stores.errors import RevisionConflictError

try:  # tests/ as a package or as a plain folder on sys.path
    from .basket_support import (
        UNKNOWN_BASKET,
        BasketServer,
        dropped_postgres_table,
        install_ts_client,
        require_node,
        ts_call_tools,
    )
    from .mcp_support import ServerProcess, demo_auth_options, free_port
    from .redis_servers import REDIS_URL, RedisServer, delete_keys_under
except ImportError:
    from basket_support import (  # type: ignore[no-redef]
        UNKNOWN_BASKET,
        BasketServer,
        dropped_postgres_table,
        install_ts_client,
        require_node,
        ts_call_tools,
    )
    from mcp_support import (  # type: ignore[no-redef]
        ServerProcess,
        demo_auth_options,
        free_port,
    )
    from redis_servers import (  # type: ignore[no-redef]
        REDIS_URL,
        RedisServer,
        delete_keys_under,
    )

MODERN = "2026-07-28"
BASE_URL = "http://127.0.0.1:8000"
URL = f"{BASE_URL}/mcp"
DATABASE_URL = os.environ.get("DATABASE_URL") or None


# --- in-process helpers ----------------------------------------------------------------------


class CountingStore:
    """A memory store with revisions that counts calls, and can yield between a read and a write.

    ``interleave``: every ``get_session`` yields to the event loop, so concurrent
    read-apply-writes really overlap, as they do across processes.
    """

    supports_revisions = True

    def __init__(
        self, ttl_seconds: float | None = None, clock: Any = None, *, interleave: bool = False
    ) -> None:
        self.inner = InMemorySessionStore(ttl_seconds=ttl_seconds, clock=clock)
        self.ttl_seconds = ttl_seconds
        self.interleave = interleave
        self.calls: dict[str, int] = {}
        # Called with the id before each data write: another writer getting in first.
        self.before_write: Callable[[str], Awaitable[None]] | None = None

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    async def session_exists(self, session_id: str) -> bool:
        self._count("session_exists")
        return await self.inner.session_exists(session_id)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        self._count("create_session")
        await self.inner.create_session(session_id, data)

    async def get_session(self, session_id: str) -> SessionData | None:
        self._count("get_session")
        stored = await self.inner.get_session(session_id)
        if self.interleave:
            await anyio.lowlevel.checkpoint()
        return stored

    async def update_session(
        self, session_id: str, updates: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> None:
        self._count("touch" if not updates else "update_session")
        if updates and self.before_write is not None:
            await self.before_write(session_id)
        try:
            await self.inner.update_session(
                session_id, updates, expected_revision=expected_revision
            )
        except RevisionConflictError:
            self._count("conflict")
            raise

    async def delete_session(self, session_id: str) -> None:
        self._count("delete_session")
        await self.inner.delete_session(session_id)


class StoreWithoutRevisions:
    """A conforming store that keeps no revisions (no ``supports_revisions``)."""

    def __init__(self) -> None:
        self.inner = InMemorySessionStore()

    async def session_exists(self, session_id: str) -> bool:
        return await self.inner.session_exists(session_id)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        await self.inner.create_session(session_id, data)

    async def get_session(self, session_id: str) -> SessionData | None:
        return await self.inner.get_session(session_id)

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        await self.inner.update_session(session_id, updates)

    async def delete_session(self, session_id: str) -> None:
        await self.inner.delete_session(session_id)


def auth_options() -> dict[str, Any]:
    return demo_auth_options(BASE_URL)


class ToolCalls:
    """``ok`` and ``error`` over a ``call`` of the subclass's own."""

    async def call(self, tool: str, **arguments: Any) -> mcp_types.CallToolResult:
        raise NotImplementedError

    async def ok(self, tool: str, **arguments: Any) -> Any:
        result = await self.call(tool, **arguments)
        assert not result.is_error, result.content
        return result.structured_content

    async def error(self, tool: str, **arguments: Any) -> str:
        result = await self.call(tool, **arguments)
        assert result.is_error, result.structured_content
        assert result.structured_content is None
        return " ".join(getattr(block, "text", "") for block in result.content)


class Caller(ToolCalls):
    """Calls tools of one in-process app, each call with a fresh client (as a stateless model)."""

    def __init__(self, app: Any, token: str | None = None, *, mode: str = MODERN) -> None:
        self.app = app
        self.token = token
        self.mode = mode

    async def call(self, tool: str, **arguments: Any) -> mcp_types.CallToolResult:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        async with (
            httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=self.app), base_url=BASE_URL, headers=headers
            ) as http,
            Client(streamable_http_client(URL, http_client=http), mode=self.mode) as client,
        ):
            result: mcp_types.CallToolResult = await client.call_tool(tool, arguments)
        return result


@asynccontextmanager
async def basket_app(
    store: Any, *, refresh_interval: float | None = None, auth: bool = False
) -> AsyncIterator[tuple[Any, StateHandles]]:
    """The basket example's server over ``store``, its app running; and its handles."""
    baskets = StateHandles(store, "basket", refresh_interval=refresh_interval)
    mcp = basket_server.build_server(baskets, **(auth_options() if auth else {}))
    sessions = PersistentSessions(store, refresh_interval=refresh_interval)
    app = sessions.streamable_http_app(mcp)
    async with sessions.session_manager.run():
        yield app, baskets


def run(scenario: Callable[[], Any]) -> None:
    anyio.run(scenario)


# --- handles ---------------------------------------------------------------------------------


def test_handles_are_unguessable_and_stored_under_a_digest() -> None:
    async def scenario() -> None:
        store = CountingStore()
        async with basket_app(store) as (app, baskets):
            caller = Caller(app)
            ids = [(await caller.ok("create_basket"))["basket_id"] for _ in range(20)]
        assert len(set(ids)) == 20
        for basket_id in ids:
            # "basket_" and 24 bytes of secrets.token_urlsafe: 192 bits, URL-safe base64.
            assert re.fullmatch(r"basket_[A-Za-z0-9_-]{32}", basket_id), basket_id
            key = baskets.store_key(basket_id)
            assert re.fullmatch(r"basket:[0-9a-f]{64}", key)
            stored = await store.get_session(key)
            assert stored is not None
            assert stored.data == {
                "handle": {"format": 1, "kind": "basket", "owner": None},
                "state": {"items": []},
            }
            assert basket_id not in json.dumps(stored.data)
            assert await store.get_session(basket_id) is None

    run(scenario)


def test_both_protocol_eras_use_the_same_baskets() -> None:
    async def scenario() -> None:
        async with basket_app(CountingStore()) as (app, _baskets):
            modern, legacy = Caller(app), Caller(app, mode="legacy")
            basket_id = (await modern.ok("create_basket"))["basket_id"]
            assert await legacy.ok("add_item", basket_id=basket_id, item="apple") == {
                "items": ["apple"]
            }
            assert await modern.ok("add_item", basket_id=basket_id, item="pear") == {
                "items": ["apple", "pear"]
            }
            assert await legacy.ok("view_basket", basket_id=basket_id) == {
                "items": ["apple", "pear"]
            }
            assert await modern.ok("close_basket", basket_id=basket_id) == {"closed": True}
            assert await legacy.error("view_basket", basket_id=basket_id) == UNKNOWN_BASKET.format(
                tool="view_basket"
            )

    run(scenario)


def test_unknown_malformed_expired_closed_and_foreign_handles_give_one_error() -> None:
    now = [1_000_000.0]
    store = CountingStore(ttl_seconds=60, clock=lambda: now[0])

    async def scenario() -> None:
        async with basket_app(store, auth=True, refresh_interval=1) as (app, baskets):
            alice, bob = Caller(app, "alice-token"), Caller(app, "bob-token")
            legacy_bob = Caller(app, "bob-token", mode="legacy")
            alices = (await alice.ok("create_basket"))["basket_id"]
            await alice.ok("add_item", basket_id=alices, item="apple")
            closed = (await alice.ok("create_basket"))["basket_id"]
            await alice.ok("close_basket", basket_id=closed)
            expiring = (await alice.ok("create_basket"))["basket_id"]
            stored = await store.get_session(baskets.store_key(alices))
            assert stored is not None
            assert json.loads(stored.data["handle"]["owner"]) == ["alice", None, "alice"]
            unknown = "basket_" + "A" * 32
            other_kind = StateHandles(store, "cart")
            store.calls.clear()
            for tool, extra in (
                ("view_basket", {}),
                ("add_item", {"item": "x"}),
                ("close_basket", {}),
            ):
                expected = UNKNOWN_BASKET.format(tool=tool)
                for basket_id in (unknown, "basket_short", "cart_" + alices[7:], closed):
                    assert await bob.error(tool, basket_id=basket_id, **extra) == expected
                assert await bob.error(tool, basket_id=alices, **extra) == expected
                assert await legacy_bob.error(tool, basket_id=alices, **extra) == expected
            assert "update_session" not in store.calls  # nothing was written for bob
            assert other_kind.store_key("cart_x").startswith("cart:")
        # Alice's basket is untouched by all that, and still hers.
        async with basket_app(store, auth=True) as (app, _baskets):
            alice = Caller(app, "alice-token")
            assert await alice.ok("view_basket", basket_id=alices) == {"items": ["apple"]}
            # The store frees expired sessions for good: this one is checked last.
            now[0] += 61
            assert await alice.error("view_basket", basket_id=expiring) == UNKNOWN_BASKET.format(
                tool="view_basket"
            )

    run(scenario)


def test_modify_is_atomic_under_concurrency_across_instances() -> None:
    async def scenario() -> None:
        store = CountingStore(interleave=True)
        first = StateHandles(store, "basket", backoff_base=0.001)
        second = StateHandles(store, "basket", backoff_base=0.001)
        basket_id = await first.create(_NO_AUTH, {"items": []})
        limit = anyio.Semaphore(10)

        async def add(number: int) -> None:
            async with limit:
                handles = first if number % 2 else second
                await handles.modify(
                    _NO_AUTH, basket_id, lambda state: {"items": [*state["items"], number]}
                )

        async with anyio.create_task_group() as group:
            for number in range(30):
                group.start_soon(add, number)
        state = await second.read(_NO_AUTH, basket_id)
        assert sorted(state["items"]) == list(range(30))
        assert store.calls.get("conflict", 0) > 0, "the writes never overlapped: nothing tested"
        assert store.calls["update_session"] == 30 + store.calls["conflict"]

    run(scenario)


def test_modify_gives_up_when_it_keeps_losing_and_writes_nothing_on_error() -> None:
    async def scenario() -> None:
        store = CountingStore()
        handles = StateHandles(store, "basket", max_attempts=3, backoff_base=0)
        basket_id = await handles.create(_NO_AUTH, {"n": 0})
        key = handles.store_key(basket_id)

        async def another_writer_comes_first(session_id: str) -> None:
            stored = await store.inner.get_session(session_id)
            assert stored is not None
            await store.inner.update_session(session_id, {"data": stored.data})

        store.before_write = another_writer_comes_first
        with pytest.raises(HandleBusyError, match=r"basket_id is busy.*3 attempts"):
            await handles.modify(_NO_AUTH, basket_id, lambda state: {"n": state["n"] + 1})
        store.before_write = None
        assert store.calls["conflict"] == 3
        stored = await store.get_session(key)
        assert stored is not None
        assert stored.data["state"] == {"n": 0}
        assert stored.revision == 4  # the other writer's three writes, none of ours

        def refuse(state: dict[str, Any]) -> dict[str, Any]:
            raise ValueError("no")

        writes = store.calls["update_session"]
        with pytest.raises(ValueError, match="no"):
            await handles.modify(_NO_AUTH, basket_id, refuse)
        with pytest.raises(TypeError, match="mapping"):
            await handles.modify(_NO_AUTH, basket_id, lambda state: [1])  # type: ignore[arg-type,return-value]
        assert store.calls["update_session"] == writes
        # A handle closed between the read and the write: the one error, nothing recreated.
        store.before_write = store.inner.delete_session
        with pytest.raises(UnknownHandleError):
            await handles.modify(_NO_AUTH, basket_id, lambda state: {"n": 1})
        assert await store.inner.get_session(key) is None

    run(scenario)


def test_modify_on_a_store_without_revisions_is_a_clear_error_and_changes_nothing() -> None:
    async def scenario() -> None:
        store = StoreWithoutRevisions()
        handles = StateHandles(store, "basket")
        basket_id = await handles.create(_NO_AUTH, {"items": ["a"]})
        assert await handles.read(_NO_AUTH, basket_id) == {"items": ["a"]}
        with pytest.raises(RevisionsUnsupportedError, match=r"supports_revisions.*StoreWithout"):
            await handles.modify(_NO_AUTH, basket_id, lambda state: {"items": []})
        assert await handles.read(_NO_AUTH, basket_id) == {"items": ["a"]}
        await handles.close(_NO_AUTH, basket_id)
        with pytest.raises(UnknownHandleError):
            await handles.read(_NO_AUTH, basket_id)

    run(scenario)


def test_use_keeps_a_handle_alive_refreshing_at_most_once_per_interval() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        store = CountingStore(ttl_seconds=0.8, clock=clock)
        handles = StateHandles(store, "basket", refresh_interval=0.2)
        ticks = handles.monotonic = ManualClock()

        def time_passes(seconds: float) -> None:
            clock.advance(seconds)
            ticks.advance(seconds)

        basket_id = await handles.create(_NO_AUTH, {"items": []})
        store.calls.clear()
        for _ in range(3):  # within the interval: no refresh
            time_passes(0.05)
            await handles.read(_NO_AUTH, basket_id)
        assert "touch" not in store.calls
        for _ in range(7):  # twice the TTL, read throughout: each read after the interval refreshes
            time_passes(0.25)
            await handles.read(_NO_AUTH, basket_id)
        assert store.calls["touch"] == 7, store.calls
        time_passes(1.0)  # idle longer than the TTL
        with pytest.raises(UnknownHandleError):
            await handles.read(_NO_AUTH, basket_id)

    run(scenario)


def test_handle_options_are_checked() -> None:
    store = InMemorySessionStore(ttl_seconds=10)
    for name in ("Basket", "basket-x", "", "9b", "a__b", "a" * 33, None):
        with pytest.raises(ValueError, match="name must be"):
            StateHandles(store, name)  # type: ignore[arg-type]
    for entropy_bytes in (15, 65, 16.0):
        with pytest.raises(ValueError, match="128 bits"):
            StateHandles(store, "basket", entropy_bytes=entropy_bytes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shorter than the store's ttl_seconds"):
        StateHandles(store, "basket", refresh_interval=10)
    with pytest.raises(ValueError, match="max_attempts"):
        StateHandles(store, "basket", max_attempts=0)
    handles = StateHandles(store, "shopping_cart")
    assert handles.unknown_message == (
        "unknown or expired shopping_cart_id; create a new shopping cart"
    )
    assert handles.refresh_interval == 1


def test_a_low_level_server_returns_handle_errors_as_tool_results() -> None:
    async def scenario() -> None:
        handles = StateHandles(InMemorySessionStore(), "note")

        async def call_tool(
            ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
        ) -> mcp_types.CallToolResult:
            arguments = params.arguments or {}
            if params.name == "create_note":
                note_id = await handles.create(ctx, {"text": arguments["text"]})
                return mcp_types.CallToolResult(
                    content=[mcp_types.TextContent(type="text", text=note_id)]
                )
            state = await handles.read(ctx, arguments.get("note_id"))
            return mcp_types.CallToolResult(
                content=[mcp_types.TextContent(type="text", text=state["text"])]
            )

        async def list_tools(
            ctx: ServerRequestContext[Any, Any], params: mcp_types.PaginatedRequestParams | None
        ) -> mcp_types.ListToolsResult:
            schema = {"type": "object", "properties": {"note_id": {"type": "string"}}}
            return mcp_types.ListToolsResult(
                tools=[
                    mcp_types.Tool(name=name, input_schema=schema)
                    for name in ("create_note", "read_note")
                ]
            )

        server: Server[Any] = Server("notes", on_call_tool=call_tool, on_list_tools=list_tools)
        install_handle_error_results(server)
        install_handle_error_results(server)
        assert sum(type(m).__name__ == "_HandleErrorResults" for m in server.middleware) == 1
        sessions = PersistentSessions(InMemorySessionStore())
        app = sessions.streamable_http_app(server)
        async with sessions.session_manager.run():
            for mode in (MODERN, "legacy"):
                caller = Caller(app, mode=mode)
                created = await caller.call("create_note", text="hello")
                note_id = created.content[0].text  # type: ignore[union-attr]
                assert note_id.startswith("note_")
                read = await caller.call("read_note", note_id=note_id)
                assert read.content[0].text == "hello"  # type: ignore[union-attr]
                assert await caller.error("read_note", note_id="note_gone") == (
                    "unknown or expired note_id; create a new note"
                )

    run(scenario)


def test_a_session_tool_answers_a_2026_client_with_a_clear_tool_error() -> None:
    async def scenario() -> None:
        sessions = PersistentSessions(InMemorySessionStore())
        app = sessions.streamable_http_app(counter_server.build_server(sessions))
        async with sessions.session_manager.run():
            message = await Caller(app).error("increment")
            assert message.startswith("Error executing tool increment: this tool needs a session")
            assert "handshake protocol" in message
            assert f"protocol {MODERN} has no sessions" in message
            # The same server still serves handshake-era clients.
            assert await Caller(app, mode="legacy").ok("increment") == {"result": 1}
        assert issubclass(HandshakeSessionRequiredError, LookupError)

    run(scenario)


# For calls outside a request: the default principal binding reads the request's access
# token (none here), not the context, so any context object will do.
_NO_AUTH: Any = ServerRequestContext.__new__(ServerRequestContext)


# --- end to end: real server processes -------------------------------------------------------


RUN_PREFIX = f"mcp-session-store-kit:test:handles:{uuid.uuid4().hex[:12]}:"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """REDIS_URL (keys under a per-run prefix, removed after), else a private redis-server."""
    if REDIS_URL:
        yield REDIS_URL
        delete_keys_under(REDIS_URL, RUN_PREFIX)
        return
    with RedisServer() as private:
        yield private.url


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def store_args(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Command-line options that put the servers of one test on one store of their own."""
    if request.param == "sqlite":
        yield ["--store", "sqlite", "--sqlite-path", str(tmp_path / "baskets.sqlite3")]
    elif request.param == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}:"
        yield ["--store", "redis", "--redis-url", url, "--key-prefix", prefix]
    else:
        if DATABASE_URL is None:
            pytest.skip("DATABASE_URL is not set: the PostgreSQL end-to-end test needs a server")
        table = f"handles_test_{uuid.uuid4().hex[:12]}"
        with dropped_postgres_table(DATABASE_URL, table):
            yield [
                "--store",
                "postgres",
                "--database-url",
                DATABASE_URL,
                "--postgres-table",
                table,
            ]


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., BasketServer]]:
    started: list[BasketServer] = []

    def make(args: list[str], *, auth: bool = True) -> BasketServer:
        server = BasketServer(
            args, port=free_port(), log_path=tmp_path / f"server-{len(started)}.log", auth=auth
        )
        started.append(server)
        return server

    yield make
    for server in started:
        server.kill()


class HttpCaller(ToolCalls):
    """One SDK Python client of a server process (``async with``), calling its tools over HTTP.

    In the 2026-07-28 mode each call is a request of its own, with no session; in the
    handshake mode the calls share the client's session.
    """

    def __init__(self, url: str, token: str | None, *, mode: str = MODERN) -> None:
        self.url = url
        self.token = token
        self.mode = mode
        self._exit_stack = AsyncExitStack()
        self._client: Client | None = None

    async def __aenter__(self) -> HttpCaller:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        http = await self._exit_stack.enter_async_context(
            httpx2.AsyncClient(headers=headers, timeout=30)
        )
        self._client = await self._exit_stack.enter_async_context(
            Client(streamable_http_client(self.url, http_client=http), mode=self.mode)
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._exit_stack.aclose()

    async def call(self, tool: str, **arguments: Any) -> mcp_types.CallToolResult:
        assert self._client is not None, "use the caller in async with"
        result: mcp_types.CallToolResult = await self._client.call_tool(tool, arguments)
        return result


@pytest.mark.e2e
def test_two_instances_share_baskets_through_crashes_and_closing(
    store_args: list[str], server_factory: Callable[..., BasketServer]
) -> None:
    first = server_factory([*store_args, "--ttl", "60"])
    second = server_factory([*store_args, "--ttl", "60"])
    first.start()
    second.start()

    async def scenario() -> None:
        async with (
            HttpCaller(first.url, "alice-token") as on_first,
            HttpCaller(second.url, "alice-token") as on_second,
            # Every third call from a handshake-era client: both eras change one basket at once.
            HttpCaller(first.url, "alice-token", mode="legacy") as legacy_on_first,
            HttpCaller(second.url, "alice-token", mode="legacy") as legacy_on_second,
        ):
            basket_id = (await on_first.ok("create_basket"))["basket_id"]
            limit = anyio.Semaphore(10)
            in_flight = 0
            most_in_flight = 0

            async def add(number: int) -> None:
                nonlocal in_flight, most_in_flight
                if number % 3 == 0:
                    caller = (legacy_on_first, legacy_on_second)[number % 2]
                else:
                    caller = (on_first, on_second)[number % 2]
                async with limit:
                    in_flight += 1
                    most_in_flight = max(most_in_flight, in_flight)
                    try:
                        await caller.ok("add_item", basket_id=basket_id, item=f"item-{number}")
                    finally:
                        in_flight -= 1

            async with anyio.create_task_group() as group:
                for number in range(30):
                    group.start_soon(add, number)
            assert most_in_flight == 10
            items = (await on_second.ok("view_basket", basket_id=basket_id))["items"]
            assert sorted(items) == sorted(f"item-{number}" for number in range(30))

        first.kill()  # a crash
        first.start()
        async with (
            HttpCaller(first.url, "alice-token") as on_first,
            HttpCaller(second.url, "alice-token") as on_second,
            HttpCaller(first.url, "alice-token", mode="legacy") as legacy_on_first,
            HttpCaller(second.url, "bob-token") as bob,
        ):
            assert (await on_first.ok("view_basket", basket_id=basket_id))["items"] == items
            assert (await legacy_on_first.ok("view_basket", basket_id=basket_id))["items"] == items

            # Another principal gets exactly what an unknown basket_id gets.
            unknown = "basket_" + "B" * 32
            for tool, extra in (("view_basket", {}), ("add_item", {"item": "x"})):
                expected = UNKNOWN_BASKET.format(tool=tool)
                assert await bob.error(tool, basket_id=basket_id, **extra) == expected
                assert await bob.error(tool, basket_id=unknown, **extra) == expected

            assert await on_first.ok("close_basket", basket_id=basket_id) == {"closed": True}
            assert await on_second.error("view_basket", basket_id=basket_id) == (
                UNKNOWN_BASKET.format(tool="view_basket")
            )
            assert await on_first.error("close_basket", basket_id=basket_id) == (
                UNKNOWN_BASKET.format(tool="close_basket")
            )

    try:
        run(scenario)
    except BaseException:
        print(first.log(), second.log())
        raise
    assert first.stop(), first.log()
    assert second.stop(), second.log()


@pytest.mark.e2e
@pytest.mark.node
def test_the_typescript_v2_client_pinned_to_2026_07_28(
    tmp_path: Path, server_factory: Callable[..., BasketServer]
) -> None:
    node, npm = require_node()
    package = install_ts_client(npm)
    store = ["--store", "sqlite", "--sqlite-path", str(tmp_path / "baskets.sqlite3")]
    server = server_factory([*store, "--ttl", "60"])
    server.start()
    basket = {"$result": 0, "key": "basket_id"}
    report = ts_call_tools(
        node,
        package,
        server.url,
        [
            {"name": "create_basket"},
            {"name": "add_item", "arguments": {"basket_id": basket, "item": "apple"}},
            {"name": "add_item", "arguments": {"basket_id": basket, "item": "pear"}},
            {"name": "view_basket", "arguments": {"basket_id": basket}},
        ],
        token="alice-token",
    )
    assert report["protocolVersion"] == MODERN
    results = report["results"]
    assert [result["isError"] for result in results] == [False] * 4, results
    basket_id = results[0]["structuredContent"]["basket_id"]
    assert results[3]["structuredContent"] == {"items": ["apple", "pear"]}

    server.kill()
    server.start()
    report = ts_call_tools(
        node,
        package,
        server.url,
        [
            {"name": "view_basket", "arguments": {"basket_id": basket_id}},
            {"name": "close_basket", "arguments": {"basket_id": basket_id}},
            {"name": "view_basket", "arguments": {"basket_id": basket_id}},
        ],
        token="alice-token",
    )
    viewed, closed, gone = report["results"]
    assert viewed["structuredContent"] == {"items": ["apple", "pear"]}, viewed
    assert closed["structuredContent"] == {"closed": True}, closed
    assert gone["isError"] is True
    assert gone["text"] == UNKNOWN_BASKET.format(tool="view_basket")
    # Bob, with a basket_id of alice's, gets what any unknown basket_id gets.
    report = ts_call_tools(
        node,
        package,
        server.url,
        [
            {"name": "create_basket"},
            {"name": "view_basket", "arguments": {"basket_id": basket_id}},
        ],
        token="alice-token",
    )
    alices = report["results"][0]["structuredContent"]["basket_id"]
    report = ts_call_tools(
        node,
        package,
        server.url,
        [
            {"name": "view_basket", "arguments": {"basket_id": alices}},
            {"name": "view_basket", "arguments": {"basket_id": "basket_" + "C" * 32}},
        ],
        token="bob-token",
    )
    foreign, unknown = report["results"]
    assert (
        foreign
        == unknown
        == {
            "isError": True,
            "structuredContent": None,
            "text": UNKNOWN_BASKET.format(tool="view_basket"),
        }
    )
    assert server.stop(), server.log()


@pytest.mark.e2e
@pytest.mark.node
def test_the_counter_example_answers_the_typescript_client_with_a_clear_tool_error(
    tmp_path: Path,
) -> None:
    """A handshake-era tool, called by a 2026-07-28 client: a tool error that says why."""
    node, npm = require_node()
    package = install_ts_client(npm)
    server = ServerProcess(
        ["--sqlite-path", str(tmp_path / "counter.sqlite3")],
        port=free_port(),
        log_path=tmp_path / "counter.log",
        auth=False,
    )
    server.start()
    try:
        report = ts_call_tools(node, package, server.url, [{"name": "increment"}])
    finally:
        server.kill()
    (result,) = report["results"]
    assert result["isError"] is True
    assert result["text"].startswith("Error executing tool increment: this tool needs a session")
    assert "LookupError" not in server.log()


@pytest.mark.e2e
def test_the_readme_walkthrough(
    tmp_path: Path,
    server_factory: Callable[..., BasketServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The basket example server and its client, as the README shows them, on the default store."""
    from examples import basket_client

    server = server_factory(["--sqlite-path", str(tmp_path / "walkthrough.sqlite3")], auth=False)

    def client(*args: str) -> tuple[int, str, str]:
        code = basket_client.main(["--url", server.url, *args])
        out, err = capsys.readouterr()
        return code, out.strip(), err.strip()

    server.start()
    code, basket_id, err = client("create")
    assert code == 0, err + server.log()
    assert re.fullmatch(r"basket_[A-Za-z0-9_-]{32}", basket_id)
    assert client("add", basket_id, "apple") == (0, '{"items": ["apple"]}', "")
    assert client("add", basket_id, "pear") == (0, '{"items": ["apple", "pear"]}', "")
    assert server.stop(), server.log()
    server.start()
    assert client("view", basket_id) == (0, '{"items": ["apple", "pear"]}', "")
    assert client("--legacy", "view", basket_id) == (0, '{"items": ["apple", "pear"]}', "")
    assert client("close", basket_id) == (0, '{"closed": true}', "")
    code, _out, err = client("view", basket_id)
    assert code == 1
    assert err == "error: " + UNKNOWN_BASKET.format(tool="view_basket")
    assert server.stop(), server.log()
