"""Session restoration for the official MCP SDK (mcp_sessions).

In-process tests drive the ASGI app directly (the session manager run by
hand, httpx2's ASGI transport, no GET streams); end-to-end tests run the
counter example in real uvicorn processes on loopback, stop, kill and restart
them, and talk to them with the SDK's own client in the handshake (legacy)
protocol mode, over SQLite and over real Redis.

One piece: the in-process and end-to-end tests share the servers, stores and helpers set up here.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")

import anyio
import httpx2
from clocks import ManualClock
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from conformance import SessionStoreContract
from examples.counter_server import build_server
from mcp_sessions import (
    APP_KEY,
    DEFAULT_MODIFY_ATTEMPTS,
    DEFAULT_PURGE_INTERVAL,
    RESTORE_KEY,
    PersistentSessions,
    RevisionsUnsupportedError,
    SDKCompatibilityError,
    SessionNotStoredError,
    StoreBackedSessionManager,
    TooManyConflictsError,
    _sdk_check,
    check_sdk_compatibility,
    session_id_of,
)
from mcp_sessions._manager import take_request_read
from reference_stores import InMemorySessionStore, SessionData, SessionStoreError
from reference_stores.errors import RevisionConflictError

try:  # tests/ as a package or as a plain folder on sys.path
    from .mcp_support import (
        REPO_ROOT,
        ServerProcess,
        call_increment,
        count_of,
        demo_auth_options,
        headers,
        open_raw_session,
        response_message,
        started_servers,
    )
    from .redis_servers import REDIS_URL, RedisServer, delete_keys_under
except ImportError:
    from mcp_support import (  # type: ignore[no-redef]
        REPO_ROOT,
        ServerProcess,
        call_increment,
        count_of,
        demo_auth_options,
        headers,
        open_raw_session,
        response_message,
        started_servers,
    )
    from redis_servers import (  # type: ignore[no-redef]
        REDIS_URL,
        RedisServer,
        delete_keys_under,
    )

BASE_URL = "http://127.0.0.1:8000"
URL = f"{BASE_URL}/mcp"
NOT_FOUND = {"code": -32600, "message": "Session not found"}


# --- in-process helpers ----------------------------------------------------------------------


class ObservedStore:
    """A memory store that counts calls and can be switched to failing like a dead backend."""

    supports_revisions = True

    def __init__(
        self, ttl_seconds: float | None = None, clock: Any = None, *, inner: Any = None
    ) -> None:
        self.inner = inner or InMemorySessionStore(ttl_seconds=ttl_seconds, clock=clock)
        self.ttl_seconds = ttl_seconds
        self.calls: dict[str, int] = {}
        self.failing: bool | set[str] = False  # True: every call fails; a set: those named

    def _enter(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.failing is True or (isinstance(self.failing, set) and name in self.failing):
            raise SessionStoreError(f"memory: {name} failed: backend down (test)")

    async def session_exists(self, session_id: str) -> bool:
        self._enter("session_exists")
        return await self.inner.session_exists(session_id)

    async def create_session(self, session_id: str, data: Mapping[str, Any] | None = None) -> None:
        self._enter("create_session")
        await self.inner.create_session(session_id, data)

    async def get_session(self, session_id: str) -> SessionData | None:
        self._enter("get_session")
        return await self.inner.get_session(session_id)

    async def update_session(
        self, session_id: str, updates: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> None:
        self._enter("touch" if not updates else "update_session")
        await self.inner.update_session(session_id, updates, expected_revision=expected_revision)

    async def delete_session(self, session_id: str) -> None:
        self._enter("delete_session")
        await self.inner.delete_session(session_id)

    def store_calls(self) -> int:
        return sum(self.calls.values())


def counter_app(store: Any, **options: Any) -> tuple[PersistentSessions, Any]:
    """The counter example's server over ``store``; ``options`` for its app, auth and refresh."""
    refresh_interval = options.pop("refresh_interval", None)
    purge_interval = options.pop("purge_interval", None)
    read_ahead = options.pop("read_ahead", True)
    server_options = {key: options.pop(key) for key in ("auth", "token_verifier") if key in options}
    sessions = PersistentSessions(
        store,
        refresh_interval=refresh_interval,
        purge_interval=purge_interval,
        read_ahead=read_ahead,
    )
    mcp = build_server(sessions, **server_options)
    return sessions, sessions.streamable_http_app(mcp, **options)


@asynccontextmanager
async def running(store: Any, **options: Any) -> AsyncIterator[tuple[httpx2.AsyncClient, Any]]:
    """One server 'process': the app and its session manager, with a client for it."""
    sessions, app = counter_app(store, **options)
    async with (
        sessions.session_manager.run(),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL) as http,
    ):
        yield http, sessions.session_manager


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    anyio.run(scenario)


def run_showing_logs(scenario: Callable[[], Awaitable[None]], *servers: Any) -> None:
    """``run(scenario)``; if it fails, the server processes' logs say why."""
    try:
        run(scenario)
    except BaseException:
        for server in servers:
            print(server.log())
        raise


def assert_not_found(response: Any, where: object = None) -> None:
    """The SDK's own answer for a session it does not know: 404, "Session not found"."""
    assert response.status_code == 404, (where, response.text) if where else response.text
    assert response.json()["error"] == NOT_FOUND


def auth_options() -> dict[str, Any]:
    return demo_auth_options(BASE_URL)


# --- the canary ------------------------------------------------------------------------------


def test_sdk_canary_the_internals_restoration_relies_on_are_there() -> None:
    problems = check_sdk_compatibility()
    assert not problems, str(SDKCompatibilityError(problems))


def test_sdk_canary_names_a_changed_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(StreamableHTTPSessionManager, "_serve_opening_request")
    _sdk_check._cached_problems.cache_clear()
    try:
        problems = check_sdk_compatibility()
        assert any("_serve_opening_request is gone" in problem for problem in problems), problems
        with pytest.raises(SDKCompatibilityError, match="_serve_opening_request is gone"):
            StoreBackedSessionManager(Server("canary"), InMemorySessionStore())
    finally:
        monkeypatch.undo()
        _sdk_check._cached_problems.cache_clear()
    assert check_sdk_compatibility() == []


def test_reference_stores_imports_without_the_sdk() -> None:
    probe = (
        "import sys\n"
        "sys.modules['mcp'] = None\n"  # makes any import of the SDK fail
        "import reference_stores\n"
        "assert 'mcp_sessions' not in sys.modules\n"
        "try:\n"
        "    import mcp_sessions\n"
        "except ImportError as error:\n"
        "    assert '[mcp]' in str(error), error\n"
        "else:\n"
        "    raise SystemExit('imported without the SDK')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --- in process ------------------------------------------------------------------------------


def test_the_handshake_is_recorded_apart_from_the_tools_state() -> None:
    async def scenario() -> None:
        store = ObservedStore()
        async with running(store) as (http, _manager):
            session_id = await open_raw_session(http, URL, None)
            stored = await store.get_session(session_id)
            assert stored is not None
            record = stored.data[RESTORE_KEY]
            assert record["format"] == 1
            assert record["protocol_version"] == "2025-11-25"
            assert record["client_params"]["clientInfo"]["name"] == "raw-test-client"
            assert record["owner"] is None
            assert stored.data[APP_KEY] == {}
            assert count_of(await call_increment(http, URL, None, session_id, by=5)) == 5
            stored = await store.get_session(session_id)
            assert stored is not None
            assert stored.data[APP_KEY] == {"count": 5}
            assert stored.data[RESTORE_KEY] == record

    run(scenario)


def test_a_stored_session_is_restored_by_a_new_server_under_its_id() -> None:
    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=60)
        async with running(store) as (http, _manager):
            session_id = await open_raw_session(http, URL, None)
            assert count_of(await call_increment(http, URL, None, session_id)) == 1
        # Shutdown: the process forgets the session, the store keeps it.
        assert await store.session_exists(session_id)
        async with running(store) as (http, manager):
            assert session_id not in manager._server_instances
            response = await call_increment(http, URL, None, session_id)
            assert count_of(response) == 2
            assert response.headers["mcp-session-id"] == session_id
            assert session_id in manager._server_instances
            listed = await http.post(
                URL,
                json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
                headers=headers(None, session_id),
            )
            tools = response_message(listed)["result"]["tools"]
            assert [tool["name"] for tool in tools] == ["increment"]

    run(scenario)


def test_unknown_and_expired_ids_get_the_sdks_own_404() -> None:
    clock = ManualClock()
    store = ObservedStore(ttl_seconds=30, clock=clock)

    async def scenario() -> None:
        async with running(store, refresh_interval=1) as (http, _manager):
            response = await call_increment(http, URL, None, "no-such-session")
            assert_not_found(response)
            live = await open_raw_session(http, URL, None)
            held = await open_raw_session(http, URL, None)
            assert count_of(await call_increment(http, URL, None, held)) == 1
        async with running(store, refresh_interval=1) as (http, manager):
            ticks = manager.monotonic = ManualClock()
            expired_in_store = live
            clock.advance(31)
            response = await call_increment(http, URL, None, expired_in_store)
            assert_not_found(response)
            # A session this process holds is checked against the store once a refresh is due.
            fresh = await open_raw_session(http, URL, None)
            assert count_of(await call_increment(http, URL, None, fresh)) == 1
            clock.advance(31)
            ticks.advance(1)  # the refresh interval passed
            response = await call_increment(http, URL, None, fresh)
            assert_not_found(response)
            assert held  # never restored after expiry either
            response = await call_increment(http, URL, None, held)
            assert response.status_code == 404

    run(scenario)


def test_requests_keep_a_session_alive_and_refresh_at_most_once_per_interval() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        store = ObservedStore(ttl_seconds=0.8, clock=clock)
        async with running(store, refresh_interval=0.2) as (http, manager):
            ticks = manager.monotonic = ManualClock()

            def time_passes(seconds: float) -> None:
                clock.advance(seconds)
                ticks.advance(seconds)

            session_id = await open_raw_session(http, URL, None)
            assert count_of(await call_increment(http, URL, None, session_id)) == 1  # warm up
            store.calls.clear()
            for expected in range(2, 5):  # within the interval: no refresh
                time_passes(0.05)
                assert count_of(await call_increment(http, URL, None, session_id)) == expected
            # Each request reads the session once; the tool's conditional write starts from it.
            assert store.calls == {"get_session": 3, "update_session": 3}
            store.calls.clear()
            # Active for twice the TTL: still alive, refreshed by each request after the interval.
            count = 4
            for _ in range(7):
                time_passes(0.25)
                count += 1
                assert count_of(await call_increment(http, URL, None, session_id)) == count
            assert store.calls == {"touch": 7, "get_session": 7, "update_session": 7}
            # Idle for longer than the TTL: gone.
            time_passes(1.0)
            response = await call_increment(http, URL, None, session_id)
            assert response.status_code == 404
            assert await store.get_session(session_id) is None

    run(scenario)


def test_a_restored_session_answers_only_the_credential_that_opened_it() -> None:
    async def scenario() -> None:
        store = ObservedStore()
        async with running(store, **auth_options()) as (http, _manager):
            session_id = await open_raw_session(http, URL, "alice-token")
            assert count_of(await call_increment(http, URL, "alice-token", session_id)) == 1
            stored = await store.get_session(session_id)
            assert stored is not None
            assert stored.data[RESTORE_KEY]["owner"] == {
                "client_id": "alice",
                "issuer": None,
                "subject": "alice",
            }
        async with running(store, **auth_options()) as (http, manager):
            response = await call_increment(http, URL, "bob-token", session_id)
            assert_not_found(response)
            assert session_id not in manager._server_instances  # not even restored for bob
            response = await http.post(URL, json={}, headers=headers(None, session_id))
            assert response.status_code == 401
            assert count_of(await call_increment(http, URL, "alice-token", session_id)) == 2
            response = await call_increment(http, URL, "bob-token", session_id)
            assert response.status_code == 404
            response = await http.delete(URL, headers=headers("bob-token", session_id))
            assert response.status_code == 404
            assert await store.session_exists(session_id)
            assert count_of(await call_increment(http, URL, "alice-token", session_id)) == 3

    run(scenario)


def test_the_session_limit_counts_restored_sessions() -> None:
    async def scenario() -> None:
        store = ObservedStore()
        async with running(store, max_sessions=1) as (http, _manager):
            first = await open_raw_session(http, URL, None)
        async with running(store, max_sessions=1) as (http, _manager):
            second = await open_raw_session(http, URL, None)
            response = await call_increment(http, URL, None, first)
            assert response.status_code == 503
            assert response.json()["error"]["message"] == "Too many open sessions"
            response = await http.delete(URL, headers=headers(None, second))
            assert response.status_code == 200
            assert count_of(await call_increment(http, URL, None, first)) == 1

    run(scenario)


def test_only_delete_removes_the_stored_session() -> None:
    async def scenario() -> None:
        store = ObservedStore()
        async with running(store, session_idle_timeout=0.3) as (http, manager):
            session_id = await open_raw_session(http, URL, None)
            assert count_of(await call_increment(http, URL, None, session_id)) == 1
            # Idle eviction drops the session here, not in the store.
            for _ in range(100):  # 0.3 s idle, then the SDK's reaper: give a loaded machine 10 s
                await anyio.sleep(0.1)
                if session_id not in manager._server_instances:
                    break
            assert session_id not in manager._server_instances
            assert await store.session_exists(session_id)
            assert count_of(await call_increment(http, URL, None, session_id)) == 2
            # A DELETE the store cannot carry out is an error, and changes nothing stored.
            store.failing = {"delete_session"}
            response = await http.delete(URL, headers=headers(None, session_id))
            assert response.status_code == 503
            store.failing = False
            assert await store.session_exists(session_id)
            response = await http.delete(URL, headers=headers(None, session_id))
            assert response.status_code == 200
            assert store.calls["delete_session"] == 2
            assert not await store.session_exists(session_id)
            response = await call_increment(http, URL, None, session_id)
            assert_not_found(response)
            survivor = await open_raw_session(http, URL, None)
        # Shutdown kept the other one.
        assert await store.session_exists(survivor)
        assert store.calls["delete_session"] == 2

    run(scenario)


def test_a_store_failure_is_an_error_never_a_404() -> None:
    async def scenario() -> None:
        store = ObservedStore()
        async with running(store) as (http, _manager):
            session_id = await open_raw_session(http, URL, None)
        async with running(store) as (http, _manager):
            store.failing = True
            response = await call_increment(http, URL, None, session_id)
            assert response.status_code == 503
            assert response.json()["error"]["message"] == "Session store unavailable"
            assert response.headers["retry-after"] == "1"  # a retry may well succeed
            # A handshake that cannot be recorded fails: the session would not survive.
            initialize = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
            response = await http.post(URL, json=initialize, headers=headers(None))
            error = response_message(response)["error"]
            assert "Session store unavailable" in error["message"]
            store.failing = False
            assert count_of(await call_increment(http, URL, None, session_id)) == 1

    run(scenario)


def test_tool_state_helpers_need_a_stored_session() -> None:
    async def scenario() -> None:
        store = InMemorySessionStore()

        async def forget_and_write(sessions: PersistentSessions, ctx: Context) -> list[object]:
            await store.delete_session(session_id_of(ctx))
            seen: list[object] = [await sessions.get_session_data(ctx)]
            try:
                await sessions.update_session_data(ctx, {"x": 1})
            except SessionNotStoredError as error:
                seen.append(error)
            return seen

        session_id, seen = await _tool_calling(store, forget_and_write)()
        assert seen[0] == {}
        assert isinstance(seen[1], SessionNotStoredError)
        assert await store.get_session(session_id) is None  # no upsert

    run(scenario)


def test_a_low_level_server_is_restored_too() -> None:
    import mcp_types
    from mcp.server.context import ServerRequestContext

    async def scenario() -> None:
        store = InMemorySessionStore()

        def build() -> tuple[PersistentSessions, Any]:
            sessions = PersistentSessions(store)

            async def call_tool(
                ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
            ) -> mcp_types.CallToolResult:
                state = await sessions.get_session_data(ctx)
                seen = [*state.get("seen", []), params.name]
                await sessions.update_session_data(ctx, {"seen": seen})
                return mcp_types.CallToolResult(
                    content=[mcp_types.TextContent(type="text", text=",".join(seen))]
                )

            server: Server[Any] = Server("low-level", on_call_tool=call_tool)
            return sessions, sessions.streamable_http_app(server)

        async def call(http: httpx2.AsyncClient, session_id: str, name: str) -> str:
            request = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": name, "arguments": {}},
            }
            response = await http.post(URL, json=request, headers=headers(None, session_id))
            return str(response_message(response)["result"]["content"][0]["text"])

        for round_number in range(2):
            sessions, app = build()
            async with (
                sessions.session_manager.run(),
                httpx2.AsyncClient(
                    transport=httpx2.ASGITransport(app=app), base_url=BASE_URL
                ) as http,
            ):
                if round_number == 0:
                    session_id = await open_raw_session(http, URL, None)
                    assert await call(http, session_id, "a") == "a"
                else:
                    assert await call(http, session_id, "b") == "a,b"

    run(scenario)


def test_a_fastmcp_server_is_restored_and_agrees_with_other_instances() -> None:
    pytest.importorskip("fastmcp", reason="the [fastmcp] extra is not installed")
    from examples.fastmcp_counter_server import build_app

    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=600)
        async with AsyncExitStack() as stack:
            clients = []
            for _ in range(2):  # two instances of the FastMCP server on one store
                app = build_app(store)
                await stack.enter_async_context(app.router.lifespan_context(app))
                clients.append(
                    await stack.enter_async_context(
                        httpx2.AsyncClient(
                            transport=httpx2.ASGITransport(app=app), base_url=BASE_URL
                        )
                    )
                )
            http_a, http_b = clients
            session_id = await open_raw_session(http_a, URL, None)
            stored = await store.get_session(session_id)
            assert stored is not None
            assert stored.data[RESTORE_KEY]["client_params"]["clientInfo"]["name"] == (
                "raw-test-client"
            )
            assert count_of(await call_increment(http_a, URL, None, session_id)) == 1
            assert count_of(await call_increment(http_b, URL, None, session_id, by=2)) == 3
            assert count_of(await call_increment(http_a, URL, None, session_id)) == 4
            response = await http_b.delete(URL, headers=headers(None, session_id))
            assert response.status_code == 200
            response = await call_increment(http_a, URL, None, session_id)
            assert_not_found(response)

    run(scenario)


def test_refresh_interval_must_be_shorter_than_the_ttl() -> None:
    with pytest.raises(ValueError, match="shorter than the store's ttl_seconds"):
        PersistentSessions(InMemorySessionStore(ttl_seconds=10), refresh_interval=10)
    with pytest.raises(ValueError, match="positive"):
        PersistentSessions(InMemorySessionStore(), refresh_interval=0)
    assert PersistentSessions(InMemorySessionStore(ttl_seconds=50)).refresh_interval == 5
    assert PersistentSessions(InMemorySessionStore()).refresh_interval == 60


# --- several instances on one store -------------------------------------------------------


def test_a_session_deleted_through_one_instance_is_gone_on_every_other_at_once() -> None:
    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=600)  # refresh interval 60 s: never due here
        async with (
            running(store) as (http_a, manager_a),
            running(store) as (http_b, manager_b),
            running(store) as (http_c, manager_c),
        ):
            session_id = await open_raw_session(http_a, URL, None)
            clients = [http_a, http_b, http_c, http_a, http_b, http_c]
            for count, http in enumerate(clients, start=1):  # no sticky routing
                assert count_of(await call_increment(http, URL, None, session_id)) == count
            for manager in (manager_a, manager_b, manager_c):
                assert session_id in manager._server_instances
            response = await http.delete(URL, headers=headers(None, session_id))  # on C
            assert response.status_code == 200
            for http, manager in ((http_a, manager_a), (http_b, manager_b)):
                response = await call_increment(http, URL, None, session_id)
                assert_not_found(response)
                assert session_id not in manager._server_instances  # ended here too
                response = await http.post(
                    URL,
                    json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                    headers=headers(None, session_id),
                )
                assert response.status_code == 404  # and never served again
            # A GET or DELETE for it fares no better.
            response = await http_a.delete(URL, headers=headers(None, session_id))
            assert response.status_code == 404

    run(scenario)


def test_a_session_expired_in_the_store_answers_404_on_every_instance_holding_it() -> None:
    now = [1_000_000.0]

    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=30, clock=lambda: now[0])
        async with (
            running(store, refresh_interval=20) as (http_a, manager_a),
            running(store, refresh_interval=20) as (http_b, manager_b),
        ):
            session_id = await open_raw_session(http_a, URL, None)
            assert count_of(await call_increment(http_a, URL, None, session_id)) == 1
            assert count_of(await call_increment(http_b, URL, None, session_id)) == 2
            now[0] += 31  # expired in the store; both processes still hold it
            for http, manager in ((http_a, manager_a), (http_b, manager_b)):
                response = await call_increment(http, URL, None, session_id)
                assert_not_found(response)
                assert session_id not in manager._server_instances

    run(scenario)


def test_a_held_session_costs_one_store_call_per_request_and_a_touch_per_interval() -> None:
    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=600)
        async with running(store, refresh_interval=0.3) as (http, manager):
            ticks = manager.monotonic = ManualClock()
            session_id = await open_raw_session(http, URL, None)
            listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
            store.calls.clear()
            for _ in range(5):
                ticks.advance(0.05)
                response = await http.post(URL, json=listing, headers=headers(None, session_id))
                assert "result" in response_message(response)
            assert store.calls == {"get_session": 5}  # a POST's check reads the session
            ticks.advance(0.3)  # the interval passed: the next request also refreshes
            store.calls.clear()
            for _ in range(3):
                response = await http.post(URL, json=listing, headers=headers(None, session_id))
                assert "result" in response_message(response)
            assert store.calls == {"touch": 1, "get_session": 3}
            # The counter tool adds only its conditional write: it starts from the check's read.
            store.calls.clear()
            assert count_of(await call_increment(http, URL, None, session_id)) == 1
            assert store.calls == {"get_session": 1, "update_session": 1}
            # A request without a body to serve (here DELETE) asks the cheaper question.
            store.calls.clear()
            response = await http.delete(URL, headers=headers(None, session_id))
            assert response.status_code == 200
            assert store.calls == {"session_exists": 1, "delete_session": 1}

    run(scenario)


def test_without_read_ahead_a_post_asks_session_exists_and_the_tool_reads_for_itself() -> None:
    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=600)
        async with (
            running(store, read_ahead=False) as (http_a, manager_a),
            running(store, read_ahead=False) as (http_b, _manager_b),
        ):
            assert manager_a.read_ahead is False
            session_id = await open_raw_session(http_a, URL, None)
            listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
            store.calls.clear()
            response = await http_a.post(URL, json=listing, headers=headers(None, session_id))
            assert "result" in response_message(response)
            assert store.calls == {"session_exists": 1}
            store.calls.clear()
            assert count_of(await call_increment(http_a, URL, None, session_id)) == 1
            assert store.calls == {"session_exists": 1, "get_session": 1, "update_session": 1}
            # The cheaper check still ends a session deleted through another instance.
            response = await http_b.delete(URL, headers=headers(None, session_id))
            assert response.status_code == 200
            assert_not_found(await call_increment(http_a, URL, None, session_id))
            assert session_id not in manager_a._server_instances

    run(scenario)


def test_read_ahead_is_checked() -> None:
    assert PersistentSessions(InMemorySessionStore()).read_ahead is True
    for wrong in (1, "no", None):
        with pytest.raises(TypeError, match="read_ahead must be True or False"):
            PersistentSessions(InMemorySessionStore(), read_ahead=wrong)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="read_ahead must be True or False"):
            StoreBackedSessionManager(
                Server("counter"),
                InMemorySessionStore(),
                read_ahead=wrong,  # type: ignore[arg-type]
            )


def test_a_held_session_the_store_cannot_confirm_gets_503_not_service() -> None:
    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=600)
        async with running(store) as (http, manager):
            session_id = await open_raw_session(http, URL, None)
            store.failing = {"get_session"}
            store.calls.clear()
            response = await call_increment(http, URL, None, session_id)
            assert response.status_code == 503
            assert response.json()["error"]["message"] == "Session store unavailable"
            assert store.calls == {"get_session": 1}  # the tool never ran
            assert session_id in manager._server_instances  # not ended: the store may have it
            store.failing = False
            assert count_of(await call_increment(http, URL, None, session_id)) == 1

    run(scenario)


# --- atomic state changes ----------------------------------------------------------------------


class RemoteStore(ObservedStore):
    """Every read waits a little, as for a network round trip: concurrent writers interleave."""

    async def get_session(self, session_id: str) -> SessionData | None:
        result = await super().get_session(session_id)
        await anyio.sleep(0.002)
        return result


def test_concurrent_increments_on_several_instances_lose_no_update() -> None:
    async def scenario() -> None:
        store = RemoteStore(ttl_seconds=600)
        async with (
            running(store) as (http_a, _a),
            running(store) as (http_b, _b),
            running(store) as (http_c, _c),
        ):
            session_id = await open_raw_session(http_a, URL, None)
            clients = [http_a, http_b, http_c]
            seen: list[int] = []

            async def increment(index: int) -> None:
                http = clients[index % 3]
                response = await call_increment(http, URL, None, session_id, request_id=index)
                seen.append(count_of(response))

            async with anyio.create_task_group() as task_group:
                for index in range(60):
                    task_group.start_soon(increment, index)
            assert sorted(seen) == list(range(1, 61))  # each call saw its own, distinct count
            stored = await store.get_session(session_id)
            assert stored is not None
            assert stored.data[APP_KEY] == {"count": 60}
            assert store.calls["update_session"] > 60, (
                "no conflict happened: the test proves nothing"
            )

    run(scenario)


class _RacingStore(ObservedStore):
    """Before each conditional write, another writer changes the session first."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    async def update_session(
        self, session_id: str, updates: Mapping[str, Any], *, expected_revision: int | None = None
    ) -> None:
        if expected_revision is not None and self.races > 0:
            self.races -= 1
            stored = await self.inner.get_session(session_id)
            assert stored is not None
            app_state = stored.data[APP_KEY]
            other = {**app_state, "other": app_state.get("other", 0) + 1}
            await self.inner.update_session(session_id, {"data": {**stored.data, APP_KEY: other}})
        await super().update_session(session_id, updates, expected_revision=expected_revision)


def _tool_calling(
    store: Any, tool: Callable[[PersistentSessions, Context], Awaitable[Any]]
) -> Callable[[], Awaitable[list[Any]]]:
    """A server with ``tool`` on ``store``: returns what one call of it returned or raised."""

    async def call() -> list[Any]:
        sessions = PersistentSessions(store)
        mcp: MCPServer[Any] = MCPServer("modify")
        outcomes: list[Any] = []

        @mcp.tool()
        async def change(ctx: Context) -> str:
            try:
                outcomes.append(await tool(sessions, ctx))
            except Exception as error:
                outcomes.append(error)
            return "done"

        app = sessions.streamable_http_app(mcp)
        async with (
            sessions.session_manager.run(),
            httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL) as http,
        ):
            session_id = await open_raw_session(http, URL, None)
            outcomes.append(session_id)
            if isinstance(store, ObservedStore):
                store.calls.clear()  # from here on: the tool call's alone
            request = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "change", "arguments": {}},
            }
            await http.post(URL, json=request, headers=headers(None, session_id))
        return outcomes

    return call


def _add_one(state: dict[str, Any]) -> dict[str, Any]:
    return {**state, "count": state.get("count", 0) + 1}


@pytest.mark.parametrize(("races", "attempts"), [(1, 1), (3, DEFAULT_MODIFY_ATTEMPTS)])
def test_modify_session_data_retries_a_conflict_and_keeps_the_other_write(
    races: int, attempts: int
) -> None:
    async def scenario() -> None:
        store = _RacingStore(races=races)  # another writer lands before each of the first writes
        seen: list[dict[str, Any]] = []

        def add_one(state: dict[str, Any]) -> dict[str, Any]:
            seen.append(state)
            return _add_one(state)

        async def tool(sessions: PersistentSessions, ctx: Context) -> Any:
            return await sessions.modify_session_data(ctx, add_one, attempts=attempts)

        session_id, written = await _tool_calling(store, tool)()
        assert written == {"count": 1, "other": races}
        assert seen[0] == {}  # the first try starts from the request's read
        assert seen[-1] == {"other": races}
        assert len(seen) == races + 1  # each conflict, then the write
        # The check's read serves the first try, which costs none of the attempts; each
        # later try reads for itself.
        assert store.calls == {"get_session": races + 1, "update_session": races + 1}
        stored = await store.inner.get_session(session_id)
        assert stored is not None
        assert stored.data[APP_KEY] == {"count": 1, "other": races}

    run(scenario)


def test_modify_session_data_gives_up_after_its_attempts_and_changes_nothing() -> None:
    async def scenario() -> None:
        store = _RacingStore(races=100)

        async def tool(sessions: PersistentSessions, ctx: Context) -> Any:
            return await sessions.modify_session_data(ctx, _add_one, attempts=3)

        session_id, outcome = await _tool_calling(store, tool)()
        assert isinstance(outcome, TooManyConflictsError)
        assert isinstance(outcome, RevisionConflictError)
        assert outcome.attempts == 3
        assert "3 attempts" in str(outcome)
        stored = await store.inner.get_session(session_id)
        assert stored is not None
        # Only the other writer's changes: it raced the try from the request's read, then 3 more.
        assert stored.data[APP_KEY] == {"other": 4}

    run(scenario)


def test_only_a_requests_first_modify_starts_from_its_read_and_reads_see_the_writes() -> None:
    async def scenario() -> None:
        store = ObservedStore()

        async def tool(sessions: PersistentSessions, ctx: Context) -> Any:
            await sessions.modify_session_data(ctx, _add_one)
            await sessions.modify_session_data(ctx, _add_one)
            # Written behind the integration's back: plain reads always ask the store.
            stored = await store.inner.get_session(session_id_of(ctx))
            assert stored is not None
            state = {**stored.data[APP_KEY], "noted": True}
            await store.inner.update_session(
                session_id_of(ctx), {"data": {**stored.data, APP_KEY: state}}
            )
            return await sessions.get_session_data(ctx)

        _session_id, state = await _tool_calling(store, tool)()
        assert state == {"count": 2, "noted": True}
        # The check's read (taken by the first modify), the second modify's read, get_session_data.
        assert store.calls == {"get_session": 3, "update_session": 2}

    run(scenario)


def test_a_requests_read_is_never_left_to_a_later_request_or_another_store() -> None:
    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=600)
        other = ObservedStore(ttl_seconds=600)

        async def peek(sessions: PersistentSessions, ctx: Context) -> list[Any]:
            session_id = session_id_of(ctx)
            return [
                take_request_read(other, session_id),  # another store's: none
                take_request_read(store, session_id + "x"),  # another session's: none
            ]

        session_id, taken = await _tool_calling(store, peek)()
        assert taken == [None, None]
        # The ASGI transport served in this very task, and nothing took the read: it must
        # not outlive its request all the same.
        assert take_request_read(store, session_id) is None

        async def take_twice(sessions: PersistentSessions, ctx: Context) -> list[Any]:
            session_id = session_id_of(ctx)
            return [take_request_read(store, session_id), take_request_read(store, session_id)]

        session_id, taken = await _tool_calling(store, take_twice)()
        assert isinstance(taken[0], SessionData)
        assert taken[0].session_id == session_id
        assert taken[1] is None  # spent by the first taker

    run(scenario)


class _NoRevisionsStore(ObservedStore):
    supports_revisions = False


def test_modify_session_data_refuses_a_store_without_revisions() -> None:
    async def scenario() -> None:
        store = _NoRevisionsStore()

        async def tool(sessions: PersistentSessions, ctx: Context) -> Any:
            return await sessions.modify_session_data(ctx, _add_one)

        session_id, outcome = await _tool_calling(store, tool)()
        assert isinstance(outcome, RevisionsUnsupportedError)
        assert "supports_revisions" in str(outcome)
        assert "_NoRevisionsStore" in str(outcome)
        assert "update_session_data" in str(outcome)
        assert store.calls.get("update_session", 0) == 0
        stored = await store.get_session(session_id)
        assert stored is not None
        assert stored.data[APP_KEY] == {}

    run(scenario)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda state: [1, 2], "as a mapping, not list"),
        (lambda state: None, "as a mapping, not NoneType"),
    ],
)
def test_modify_session_data_refuses_a_bad_new_state_and_changes_nothing(
    fn: Callable[[dict[str, Any]], Any], message: str
) -> None:
    async def scenario() -> None:
        store = ObservedStore()

        async def tool(sessions: PersistentSessions, ctx: Context) -> Any:
            return await sessions.modify_session_data(ctx, fn)

        _session_id, outcome = await _tool_calling(store, tool)()
        assert isinstance(outcome, TypeError)
        assert message in str(outcome)
        assert store.calls.get("update_session", 0) == 0

    run(scenario)


def test_modify_session_data_refuses_an_async_function() -> None:
    async def scenario() -> None:
        store = ObservedStore()

        async def add_later(state: dict[str, Any]) -> dict[str, Any]:
            return _add_one(state)

        async def tool(sessions: PersistentSessions, ctx: Context) -> Any:
            return await sessions.modify_session_data(ctx, add_later)  # type: ignore[arg-type]

        _session_id, outcome = await _tool_calling(store, tool)()
        assert isinstance(outcome, TypeError)
        assert "not an awaitable" in str(outcome)
        assert store.calls.get("update_session", 0) == 0

    run(scenario)


def test_modify_session_data_on_a_deleted_session_raises_session_not_stored() -> None:
    async def scenario() -> None:
        store = ObservedStore()

        async def tool(sessions: PersistentSessions, ctx: Context) -> Any:
            await store.delete_session(session_id_of(ctx))
            return await sessions.modify_session_data(ctx, _add_one)

        session_id, outcome = await _tool_calling(store, tool)()
        assert isinstance(outcome, SessionNotStoredError)
        assert await store.get_session(session_id) is None  # no upsert

    run(scenario)


# --- expired sessions cleaned up ---------------------------------------------------------------


class PurgeableStore(ObservedStore):
    def __init__(self) -> None:
        super().__init__()
        self._waiting: list[tuple[int, anyio.Event]] = []

    async def purge_expired(self) -> int:
        try:
            self._enter("purge_expired")
            return int(await self.inner.purge_expired())
        finally:
            for count, reached in self._waiting:
                if self.calls["purge_expired"] >= count:
                    reached.set()

    async def purges_reach(self, count: int) -> None:
        reached = anyio.Event()
        self._waiting.append((count, reached))
        if self.calls.get("purge_expired", 0) >= count:
            reached.set()
        with anyio.fail_after(30):  # however loaded the machine
            await reached.wait()


def test_the_app_purges_expired_sessions_in_the_background_unless_switched_off() -> None:
    async def scenario() -> None:
        store = PurgeableStore()
        sessions, _app = counter_app(store, purge_interval=0.1)
        assert sessions.purge_interval == 0.1
        async with sessions.session_manager.run():
            started = time.monotonic()
            await store.purges_reach(3)
            elapsed = time.monotonic() - started
        assert elapsed >= 0.18, elapsed  # at start, then once per 0.1 s, never sooner
        purges = store.calls["purge_expired"]
        await anyio.sleep(0.2)
        assert store.calls["purge_expired"] == purges  # stopped with the app

        store = PurgeableStore()
        sessions, _app = counter_app(store, purge_interval=None)
        async with sessions.session_manager.run():
            await anyio.sleep(0.25)
        assert "purge_expired" not in store.calls

        store = PurgeableStore()
        store.failing = {"purge_expired"}  # a failed purge is logged, and tried again
        sessions, _app = counter_app(store, purge_interval=0.1)
        async with sessions.session_manager.run():
            await store.purges_reach(2)

    run(scenario)


def test_purge_interval_is_checked() -> None:
    assert PersistentSessions(InMemorySessionStore()).purge_interval == DEFAULT_PURGE_INTERVAL
    with pytest.raises(ValueError, match="positive"):
        PersistentSessions(InMemorySessionStore(), purge_interval=0)
    with pytest.raises(ValueError, match="positive"):
        PersistentSessions(InMemorySessionStore(), purge_interval=float("inf"))
    with pytest.raises(TypeError, match="number of seconds or None"):
        PersistentSessions(InMemorySessionStore(), purge_interval="60")  # type: ignore[arg-type]


class _MonthOver(Exception):
    pass


class MonthOfTraffic:
    """Clients that come and go for 30 days of a fake clock, and what the store may hold.

    A session is opened every ``30 days / sessions``, used once more half an hour
    later (a touch, as a request does), then abandoned: it expires
    ``TTL`` after that. ``step(seconds)`` plays the traffic of the next
    ``seconds``, checking after every operation (or only at the end, just before
    a purge, when nothing but a purge frees space) that the store holds no more
    than the live sessions plus those that expired in the last ``interval``.
    """

    TTL = 3600.0
    MONTH = 30 * 86_400.0
    USE_AFTER = 1800.0

    def __init__(
        self,
        sessions: int,
        interval: float,
        count_rows: Callable[[], int],
        *,
        check_every_operation: bool = True,
    ) -> None:
        self.check_every_operation = check_every_operation
        self.now = 1_000_000.0
        self.start = self.now
        self.sessions = sessions
        self.interval = interval
        self.count_rows = count_rows
        self.gap = self.MONTH / sessions
        self.opened = 0
        self.used = 0
        self.most_rows = 0
        self.most_expired_held = 0

    def clock(self) -> float:
        return self.now

    def expiry(self, index: int) -> float:
        return self.start + index * self.gap + self.USE_AFTER + self.TTL

    def allowed(self) -> int:
        """Live sessions plus those that expired within the last interval."""
        horizon = self.now - self.interval
        # The sessions opened so far whose expiry is after the horizon.
        first_kept = max(0, int((horizon - self.start - self.USE_AFTER - self.TTL) // self.gap))
        while first_kept < self.opened and self.expiry(first_kept) <= horizon:
            first_kept += 1
        return self.opened - first_kept

    async def step(self, store: Any, seconds: float) -> None:
        end = self.now + seconds
        while True:
            next_open = self.start + self.opened * self.gap
            next_use = self.start + self.used * self.gap + self.USE_AFTER
            if self.used >= self.opened:
                next_use = math.inf
            if self.opened >= self.sessions:
                next_open = math.inf
            at = min(next_open, next_use)
            if at > end:
                break
            self.now = at
            if at == next_use:
                await store.update_session(f"s{self.used}", {})
                self.used += 1
            else:
                await store.create_session(f"s{self.opened}", {"app": {"count": 1}})
                self.opened += 1
            if self.check_every_operation:
                self.check()
        if self.used >= self.sessions:
            raise _MonthOver  # the last client is gone: the month is over
        self.now = end
        self.check()

    def check(self) -> None:
        rows = self.count_rows()
        allowed = self.allowed()
        assert rows <= allowed, (self.now - self.start, rows, allowed)
        self.most_rows = max(self.most_rows, rows)


async def _forever(step: Callable[[], Awaitable[None]]) -> None:
    while True:
        await step()


@pytest.mark.parametrize(("kind", "sessions"), [("memory", 100_000), ("sqlite", 5_000)])
def test_a_month_of_traffic_holds_the_live_sessions_and_at_most_one_interval_of_expired(
    kind: str, sessions: int, tmp_path: Path
) -> None:
    """The memory store frees as it goes; SQLite is purged by the integration's background task.

    SQLite runs fewer sessions: each of its writes goes to a file.
    """
    import sqlite3

    from mcp_sessions._purge import purge_expired_periodically, purger_of
    from reference_stores.sqlite import SQLiteSessionStore

    interval = 600.0
    store: Any
    if kind == "memory":
        traffic = MonthOfTraffic(sessions, interval, lambda: len(store._records))
        store = InMemorySessionStore(ttl_seconds=MonthOfTraffic.TTL, clock=traffic.clock)
    else:
        path = tmp_path / "month.sqlite3"

        def count_rows() -> int:
            with contextlib.closing(sqlite3.connect(path)) as connection:
                (rows,) = connection.execute("SELECT COUNT(*) FROM mcp_sessions").fetchone()
            return int(rows)

        traffic = MonthOfTraffic(sessions, interval, count_rows, check_every_operation=False)
        store = SQLiteSessionStore(path, ttl_seconds=MonthOfTraffic.TTL, clock=traffic.clock)

    async def scenario() -> None:
        try:
            if kind == "memory":  # no purge at all: the store's own operations free space
                with pytest.raises(_MonthOver):
                    await _forever(functools.partial(traffic.step, store, interval))
                return
            purge = purger_of(store)
            assert purge is not None
            with pytest.raises(_MonthOver):  # the integration's task, the clock its sleep
                await purge_expired_periodically(
                    purge, interval, sleep=functools.partial(traffic.step, store)
                )
        finally:
            await store.aclose()

    run(scenario)
    assert traffic.opened == sessions
    live_at_once = int((MonthOfTraffic.USE_AFTER + MonthOfTraffic.TTL) / traffic.gap) + 1
    per_interval = int(interval / traffic.gap) + 1
    assert traffic.most_rows <= live_at_once + per_interval, traffic.most_rows
    assert traffic.most_rows >= live_at_once - 1  # live sessions were all kept


# --- the custom store example ---------------------------------------------------------------


class TestCustomStoreExampleContract(SessionStoreContract):
    """examples/custom_store.py, as ``pytest --store=examples.custom_store:JSONFileSessionStore``."""

    # Built for few sessions: every operation rewrites the whole file, so 10,000 sessions
    # would take minutes. Its heavy checks are reported N/A, saying so.
    conformance_skip_heavy = True

    @pytest.fixture
    def session_store_factory(self, tmp_path: Path) -> Any:
        from examples.custom_store import JSONFileSessionStore

        return functools.partial(JSONFileSessionStore, tmp_path / "sessions.json")

    @pytest.fixture
    def failing_session_store_factory(self, tmp_path: Path) -> Any:
        from examples.custom_store import JSONFileSessionStore

        return functools.partial(JSONFileSessionStore, tmp_path / "missing" / "sessions.json")


# --- end to end: real server processes --------------------------------------------------------


RUN_PREFIX = f"mcp-session-store-kit:test:mcp-restore:{uuid.uuid4().hex[:12]}:"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """REDIS_URL (keys under a per-run prefix, removed after), else a private redis-server."""
    if REDIS_URL:
        yield REDIS_URL
        delete_keys_under(REDIS_URL, RUN_PREFIX)
        return
    with RedisServer() as private:
        yield private.url


class Backend:
    """How the server processes and the test reach one store."""

    def __init__(self, name: str, args: list[str], open_store: Callable[[], Any]) -> None:
        self.name = name
        self.args = args
        self.open_store = open_store

    async def get(self, session_id: str) -> SessionData | None:
        store = self.open_store()
        try:
            result: SessionData | None = await store.get_session(session_id)
            return result
        finally:
            await store.aclose()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """DATABASE_URL, every table in a schema of this run (dropped after) through search_path."""
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        pytest.skip("DATABASE_URL is not set: a PostgreSQL server these tests may use")
    import psycopg

    schema = f"mcp_sessions_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if name == "postgres":
        from reference_stores.postgres import PostgresSessionStore

        url = request.getfixturevalue("postgres_url")
        return Backend(
            "postgres",
            ["--store", "postgres", "--database-url", url],
            functools.partial(PostgresSessionStore, url),
        )
    return _make_file_or_redis_backend(name, request, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return make_backend(request.param, request, tmp_path)


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A store several server processes share over the network."""
    return make_backend(request.param, request, tmp_path)


def _make_file_or_redis_backend(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Backend:
    if name == "sqlite":
        from reference_stores.sqlite import SQLiteSessionStore

        path = str(tmp_path / "sessions.sqlite3")
        return Backend(
            "sqlite",
            ["--store", "sqlite", "--sqlite-path", path],
            functools.partial(SQLiteSessionStore, path),
        )
    from reference_stores.redis import RedisSessionStore

    url = request.getfixturevalue("redis_url")
    prefix = f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}:"
    return Backend(
        "redis",
        ["--store", "redis", "--redis-url", url, "--key-prefix", prefix],
        functools.partial(RedisSessionStore, url=url, key_prefix=prefix),
    )


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    with started_servers(tmp_path) as make:
        yield make


@pytest.mark.e2e
def test_a_session_survives_restart_and_crash_and_ends_with_delete(
    backend: Backend, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory([*backend.args, "--ttl", "60"])
    server.start()

    async def scenario() -> None:
        session_ids: set[str] = set()

        async def remember(response: httpx2.Response) -> None:
            if session_id := response.headers.get("mcp-session-id"):
                session_ids.add(session_id)

        async with (
            httpx2.AsyncClient(
                headers={"authorization": "Bearer alice-token"},
                event_hooks={"response": [remember]},
                timeout=30,
            ) as alice_http,
            httpx2.AsyncClient(timeout=30) as other_http,
        ):
            async with Client(
                streamable_http_client(server.url, http_client=alice_http), mode="legacy"
            ) as alice:

                async def increment() -> int:
                    result = await alice.call_tool("increment", {})
                    assert not result.is_error, (result.content, server.log())
                    assert isinstance(result.structured_content, dict)
                    return int(result.structured_content["result"])

                assert await increment() == 1
                assert await increment() == 2
                (session_id,) = session_ids

                assert server.stop(), server.log()
                stored = await backend.get(session_id)
                assert stored is not None, "a clean shutdown removed the stored session"
                assert stored.data[APP_KEY] == {"count": 2}
                assert stored.data[RESTORE_KEY]["owner"]["client_id"] == "alice"

                server.start()  # a new process, same port, same store
                response = await call_increment(other_http, server.url, "bob-token", session_id)
                assert_not_found(response)
                assert await increment() == 3
                response = await call_increment(other_http, server.url, "bob-token", session_id)
                assert response.status_code == 404, response.text
                response = await call_increment(other_http, server.url, None, session_id)
                assert response.status_code == 401, response.text

                server.kill()  # a crash
                assert await backend.get(session_id) is not None
                server.start()
                assert await increment() == 4
                assert session_ids == {session_id}, "the client was given another session"
            # Leaving the client sends its DELETE.
            assert await backend.get(session_id) is None, "DELETE left the stored session"
            response = await call_increment(other_http, server.url, "alice-token", session_id)
            assert_not_found(response)

    run_showing_logs(scenario, server)
    assert server.stop(), server.log()


@pytest.mark.e2e
def test_an_expired_session_answers_404_before_and_after_a_restart(
    backend: Backend, server_factory: Callable[..., ServerProcess]
) -> None:
    # A TTL of seconds: a request of the active session may take 2 s on a loaded machine.
    server = server_factory([*backend.args, "--ttl", "2.5", "--refresh-interval", "0.2"])
    server.start()

    async def scenario() -> None:
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            httpx2.AsyncClient(
                headers={"authorization": "Bearer alice-token"}, timeout=30
            ) as streaming_http,
            Client(
                streamable_http_client(server.url, http_client=streaming_http), mode="legacy"
            ) as streaming,
        ):
            # The SDK client keeps a GET stream open: that alone keeps its session alive.
            result = await streaming.call_tool("increment", {})
            assert result.structured_content == {"result": 1}, result.content
            idle_held = await open_raw_session(http, server.url, "alice-token")
            idle_restored = await open_raw_session(http, server.url, "alice-token")
            active = await open_raw_session(http, server.url, "alice-token")
            count = 0
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:  # longer than the TTL, active throughout
                count += 1
                response = await call_increment(http, server.url, "alice-token", active)
                assert count_of(response) == count
                await anyio.sleep(0.3)
            # Held by this process, expired in the store: the refresh finds it gone.
            response = await call_increment(http, server.url, "alice-token", idle_held)
            assert_not_found(response)
            assert await backend.get(active) is not None, "activity did not refresh the TTL"
            result = await streaming.call_tool("increment", {})
            assert result.structured_content == {"result": 2}, result.content
        async with httpx2.AsyncClient(timeout=30) as http:
            assert server.stop(), server.log()
            server.start()
            # Not held by the new process, expired in the store: nothing to restore.
            response = await call_increment(http, server.url, "alice-token", idle_restored)
            assert_not_found(response)
            assert await backend.get(idle_restored) is None

    run_showing_logs(scenario, server)
    assert server.stop(), server.log()


@pytest.mark.e2e
def test_the_readme_walkthrough(
    tmp_path: Path,
    server_factory: Callable[..., ServerProcess],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The counter example server and its client, as the README shows them, on the default store."""
    from examples import counter_client

    server = server_factory(["--sqlite-path", str(tmp_path / "walkthrough.sqlite3")], auth=False)

    def client(*args: str) -> tuple[int, str, str]:
        code = counter_client.main(["--url", server.url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    server.start()
    code, out, err = client()
    assert code == 0, err + server.log()
    session_id = out.split()[1].rstrip(":")
    assert f"session {session_id}: count = 1" in out
    assert server.stop(), server.log()
    server.start()
    code, out, err = client("--session-id", session_id)
    assert out.strip() == f"session {session_id}: count = 2", err + server.log()
    code, out, err = client("--session-id", session_id, "--end")
    assert code == 0, err
    code, out, err = client("--session-id", session_id)
    assert code == 1
    assert "not found" in err
    assert server.stop(), server.log()


@pytest.mark.e2e
def test_three_instances_without_sticky_routing_count_exactly_and_agree_on_a_delete(
    shared_backend: Backend, server_factory: Callable[..., ServerProcess]
) -> None:
    """Each request goes to the next instance in turn, 10 in flight; then a DELETE on one."""
    servers = [server_factory([*shared_backend.args, "--ttl", "600"]) for _ in range(3)]
    for server in servers:
        server.start()
    calls = 200
    in_flight = 10

    async def scenario() -> None:
        turn = itertools.count()

        def next_url() -> str:
            return servers[next(turn) % len(servers)].url

        async with httpx2.AsyncClient(timeout=60) as http:
            session_id = await open_raw_session(http, next_url(), "alice-token")
            counts: list[int] = []
            pending = iter(range(calls))

            async def worker() -> None:
                for index in pending:
                    response = await call_increment(
                        http, next_url(), "alice-token", session_id, request_id=index + 1
                    )
                    counts.append(count_of(response))

            async with anyio.create_task_group() as task_group:
                for _ in range(in_flight):
                    task_group.start_soon(worker)
            assert sorted(counts) == list(range(1, calls + 1))  # no update lost, none twice
            stored = await shared_backend.get(session_id)
            assert stored is not None
            assert stored.data[APP_KEY] == {"count": calls}

            # Every instance holds the session now; a DELETE on one ends it on all.
            deleting, *others = servers
            response = await http.delete(deleting.url, headers=headers("alice-token", session_id))
            assert response.status_code == 200, response.text
            for server in [*others, deleting]:
                response = await call_increment(http, server.url, "alice-token", session_id)
                assert_not_found(response, server.url)
            assert await shared_backend.get(session_id) is None

    run_showing_logs(scenario, *servers)
    for server in servers:
        assert server.stop(), server.log()


# --- bursts: many more calls in flight than the store has connections ----------------------------


def _unlimited_http(**options: Any) -> httpx2.AsyncClient:
    """An HTTP client that really sends every call at once (httpx2 keeps 100 by default)."""
    return httpx2.AsyncClient(limits=httpx2.Limits(max_connections=None), timeout=120, **options)


async def _gather(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run every call at once; their results in order."""
    results: list[Any] = [None] * len(calls)

    async def one(index: int) -> None:
        results[index] = await calls[index]()

    async with anyio.create_task_group() as task_group:
        for index in range(len(calls)):
            task_group.start_soon(one, index)
    return results


@pytest.mark.e2e
@pytest.mark.redis
def test_bursts_of_250_and_1000_calls_on_one_session_wait_for_the_redis_pool(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    server_factory: Callable[..., ServerProcess],
) -> None:
    """One instance, one session, the SDK's client: 250, then 1,000 calls in flight at once,
    through a store of 10 Redis connections (``--pool-size 10``). Each call waits for a
    connection; none fails, and the count is exact. (Before the store's pool waited, 149
    of 250 calls got a 503 even with the default 100 connections, but not on every run:
    10 makes sure the burst outruns the pool.)

    The wait is 20 s here, not the default 5: on a machine loaded by other work the event
    loop of one process serving 1,000 requests lags, and a connection stays busy until its
    task runs again; 5 s was exceeded there once (by 32 of 1,000 calls, with 100
    connections)."""
    backend = make_backend("redis", request, tmp_path)
    server = server_factory(
        [*backend.args, "--ttl", "600", "--pool-size", "10", "--pool-timeout", "20"], auth=False
    )
    server.start()
    timings: dict[int, float] = {}

    async def scenario() -> None:
        session_ids: set[str] = set()

        async def remember(response: httpx2.Response) -> None:
            if session_id := response.headers.get("mcp-session-id"):
                session_ids.add(session_id)

        async with (
            _unlimited_http(event_hooks={"response": [remember]}) as http,
            Client(streamable_http_client(server.url, http_client=http), mode="legacy") as client,
        ):
            total = 0
            for burst in (250, 1000):
                steps = [index % 7 + 1 for index in range(burst)]

                def increment(by: int) -> Callable[[], Awaitable[Any]]:
                    return lambda: client.call_tool("increment", {"by": by})

                began = time.monotonic()
                results = await _gather([increment(by) for by in steps])
                timings[burst] = time.monotonic() - began
                counts = []
                for result in results:
                    assert not result.is_error, result.content
                    assert isinstance(result.structured_content, dict)
                    counts.append(int(result.structured_content["result"]))
                total += sum(steps)
                # Every call saw its own write: distinct running totals, the last one exact.
                assert len(set(counts)) == burst
                assert max(counts) == total
            (session_id,) = session_ids
            stored = await backend.get(session_id)
            assert stored is not None
            assert stored.data[APP_KEY] == {"count": total}

    run_showing_logs(scenario, server)
    assert server.stop(), server.log()
    print(f"bursts on one session: {', '.join(f'{n} calls {s:.1f} s' for n, s in timings.items())}")
    assert "ERROR" not in server.log(), server.log()


@pytest.mark.e2e
@pytest.mark.redis
def test_a_burst_of_250_add_item_calls_on_one_basket_never_finds_the_store_unavailable(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    server_factory: Callable[..., ServerProcess],
) -> None:
    """The basket example (state handles): 250 add_item calls on one basket at once.

    The store's pool makes every call wait for a connection, and ``StateHandles.modify``
    makes the calls for one basket take turns in the process: every call succeeds, and the
    basket holds every item.
    """
    backend = make_backend("redis", request, tmp_path)
    server = server_factory(
        [*backend.args, "--ttl", "600"], auth=False, module="examples.basket_server"
    )
    server.start()
    burst = 250

    async def scenario() -> None:
        async with (
            _unlimited_http() as http,
            Client(streamable_http_client(server.url, http_client=http), mode="legacy") as client,
        ):
            created = await client.call_tool("create_basket", {})
            assert not created.is_error, created.content
            assert isinstance(created.structured_content, dict)
            basket_id = created.structured_content["basket_id"]

            def add(item: str) -> Callable[[], Awaitable[Any]]:
                return lambda: client.call_tool("add_item", {"basket_id": basket_id, "item": item})

            items = [f"item-{index}" for index in range(burst)]
            began = time.monotonic()
            results = await _gather([add(item) for item in items])
            took = time.monotonic() - began
            failed = [
                " ".join(getattr(part, "text", "") for part in result.content)
                for result in results
                if result.is_error
            ]
            assert failed == [], failed[:3]
            viewed = await client.call_tool("view_basket", {"basket_id": basket_id})
            assert isinstance(viewed.structured_content, dict)
            assert sorted(viewed.structured_content["items"]) == sorted(items)
            print(f"basket burst: {burst} add_item calls {took:.1f} s")

    run_showing_logs(scenario, server)
    assert server.stop(), server.log()
    assert "Session store unavailable" not in server.log(), server.log()
    assert "StoreBusyError" not in server.log(), server.log()


def test_the_examples_pool_flags_reach_the_redis_and_postgres_stores() -> None:
    """--pool-size and --pool-timeout: max_connections and pool_timeout (Redis), max_size and
    pool_timeout (PostgreSQL); without them, each store's own defaults, which --help names."""
    pytest.importorskip("redis")
    pytest.importorskip("psycopg_pool")
    import inspect

    from examples import basket_server, counter_server
    from reference_stores.postgres import PostgresSessionStore
    from reference_stores.redis import RedisSessionStore

    redis_flags = ["--store", "redis", "--redis-url", "redis://127.0.0.1:1/0"]
    postgres_flags = ["--store", "postgres", "--database-url", "postgresql://x@127.0.0.1:1/x"]
    pool_flags = ["--pool-size", "7", "--pool-timeout", "1.5"]
    for parser in (counter_server.argument_parser(), basket_server.argument_parser()):
        redis_store = counter_server.make_store(parser.parse_args([*redis_flags, *pool_flags]))
        assert isinstance(redis_store, RedisSessionStore)
        pool = redis_store.client.connection_pool  # type: ignore[union-attr]
        assert (pool.max_connections, pool.turns.timeout) == (7, 1.5)
        postgres_store = counter_server.make_store(
            parser.parse_args([*postgres_flags, *pool_flags])
        )
        assert isinstance(postgres_store, PostgresSessionStore)
        assert (postgres_store.pool.max_size, postgres_store.pool.timeout) == (7, 1.5)

        redis_store = counter_server.make_store(parser.parse_args(redis_flags))
        assert isinstance(redis_store, RedisSessionStore)
        pool = redis_store.client.connection_pool  # type: ignore[union-attr]
        redis_defaults = inspect.signature(RedisSessionStore).parameters
        assert pool.max_connections == redis_defaults["max_connections"].default == 100
        assert pool.turns.timeout == redis_defaults["pool_timeout"].default == 5.0
        postgres_store = counter_server.make_store(parser.parse_args(postgres_flags))
        assert isinstance(postgres_store, PostgresSessionStore)
        postgres_defaults = inspect.signature(PostgresSessionStore).parameters
        assert postgres_store.pool.max_size == postgres_defaults["max_size"].default == 10
        assert postgres_store.pool.timeout == postgres_defaults["pool_timeout"].default == 5.0
        help_text = " ".join(parser.format_help().split())
        assert "(default: 100 for redis, 10 for postgres)" in help_text
        assert "fails (default 5)" in help_text


@pytest.mark.e2e
def test_an_open_get_stream_ends_when_another_instance_deletes_the_session(
    shared_backend: Backend, server_factory: Callable[..., ServerProcess]
) -> None:
    """The instance holding the stream finds out at its next check, within one interval."""
    refresh = 0.5
    holding, deleting = (
        server_factory([*shared_backend.args, "--ttl", "600", "--refresh-interval", str(refresh)])
        for _ in range(2)
    )
    holding.start()
    deleting.start()

    async def scenario() -> None:
        async with httpx2.AsyncClient(timeout=30) as http:
            session_id = await open_raw_session(http, holding.url, "alice-token")
            stream_headers = {
                **headers("alice-token", session_id),
                "accept": "text/event-stream",
            }
            async with http.stream("GET", holding.url, headers=stream_headers) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                response = await http.delete(
                    deleting.url, headers=headers("alice-token", session_id)
                )
                assert response.status_code == 200, response.text
                deleted_at = time.monotonic()
                with anyio.fail_after(refresh + 5):
                    async for _ in stream.aiter_bytes():
                        pass  # until the server ends the stream
                assert time.monotonic() - deleted_at < refresh + 5
            response = await call_increment(http, holding.url, "alice-token", session_id)
            assert_not_found(response)

    run_showing_logs(scenario, holding, deleting)
    for server in (holding, deleting):
        assert server.stop(), server.log()


@pytest.mark.e2e
def test_the_fastmcp_example_survives_a_crash_and_a_restart(
    backend: Backend, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(
        [*backend.args, "--ttl", "60"], auth=False, module="examples.fastmcp_counter_server"
    )
    server.start()

    async def scenario() -> None:
        session_ids: set[str] = set()

        async def remember(response: httpx2.Response) -> None:
            if session_id := response.headers.get("mcp-session-id"):
                session_ids.add(session_id)

        async with (
            httpx2.AsyncClient(event_hooks={"response": [remember]}, timeout=30) as client_http,
            httpx2.AsyncClient(timeout=30) as other_http,
        ):
            async with Client(
                streamable_http_client(server.url, http_client=client_http), mode="legacy"
            ) as client:

                async def increment(by: int = 1) -> int:
                    result = await client.call_tool("increment", {"by": by})
                    assert not result.is_error, (result.content, server.log())
                    assert isinstance(result.structured_content, dict)
                    return int(result.structured_content["result"])

                assert await increment() == 1
                assert await increment(2) == 3
                (session_id,) = session_ids

                server.kill()  # a crash: SIGKILL
                stored = await backend.get(session_id)
                assert stored is not None
                assert stored.data[APP_KEY] == {"count": 3}
                server.start()
                assert await increment() == 4

                assert server.stop(), server.log()  # a graceful restart
                server.start()
                assert await increment() == 5
                assert session_ids == {session_id}, "the client was given another session"
            # Leaving the client sends its DELETE.
            assert await backend.get(session_id) is None, "DELETE left the stored session"
            response = await call_increment(other_http, server.url, None, session_id)
            assert response.status_code == 404, response.text

    run_showing_logs(scenario, server)
    assert server.stop(), server.log()
