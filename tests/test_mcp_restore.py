"""Session restoration for the official MCP SDK (reference_stores.mcp_restore).

In-process tests drive the ASGI app directly (the session manager run by
hand, httpx2's ASGI transport, no GET streams); end-to-end tests run the
counter example in real uvicorn processes on loopback, stop, kill and restart
them, and talk to them with the SDK's own client in the handshake (legacy)
protocol mode, over SQLite and over real Redis.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.settings import AuthSettings
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import AnyHttpUrl

from conformance import SessionStoreContract
from examples.counter_server import build_server
from reference_stores import InMemorySessionStore, SessionData, SessionStoreError
from reference_stores.mcp_restore import (
    APP_KEY,
    RESTORE_KEY,
    PersistentSessions,
    SDKCompatibilityError,
    SessionNotStoredError,
    StoreBackedSessionManager,
    _sdk_check,
    check_sdk_compatibility,
    session_id_of,
)

try:  # tests/ as a package or as a plain folder on sys.path
    from .mcp_support import (
        REPO_ROOT,
        DemoTokenVerifier,
        ServerProcess,
        call_increment,
        count_of,
        free_port,
        headers,
        open_raw_session,
        response_message,
    )
    from .redis_servers import REDIS_URL, RedisServer, delete_keys_under
except ImportError:
    from mcp_support import (  # type: ignore[no-redef]
        REPO_ROOT,
        DemoTokenVerifier,
        ServerProcess,
        call_increment,
        count_of,
        free_port,
        headers,
        open_raw_session,
        response_message,
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

    def __init__(self, ttl_seconds: float | None = None, clock: Any = None) -> None:
        self.inner = InMemorySessionStore(ttl_seconds=ttl_seconds, clock=clock)
        self.ttl_seconds = ttl_seconds
        self.calls: dict[str, int] = {}
        self.failing = False

    def _enter(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.failing:
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

    async def update_session(self, session_id: str, updates: Mapping[str, Any]) -> None:
        self._enter("touch" if not updates else "update_session")
        await self.inner.update_session(session_id, updates)

    async def delete_session(self, session_id: str) -> None:
        self._enter("delete_session")
        await self.inner.delete_session(session_id)


def counter_app(store: Any, **options: Any) -> tuple[PersistentSessions, Any]:
    """The counter example's server over ``store``; ``options`` for its app, auth and refresh."""
    refresh_interval = options.pop("refresh_interval", None)
    server_options = {key: options.pop(key) for key in ("auth", "token_verifier") if key in options}
    sessions = PersistentSessions(store, refresh_interval=refresh_interval)
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


def auth_options() -> dict[str, Any]:
    return {
        "auth": AuthSettings(
            issuer_url=AnyHttpUrl("https://issuer.example.test"), resource_server_url=None
        ),
        "token_verifier": DemoTokenVerifier(),
    }


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
        "assert 'reference_stores.mcp_restore' not in sys.modules\n"
        "try:\n"
        "    import reference_stores.mcp_restore\n"
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
    now = [1_000_000.0]
    store = ObservedStore(ttl_seconds=30, clock=lambda: now[0])

    async def scenario() -> None:
        async with running(store, refresh_interval=1) as (http, _manager):
            response = await call_increment(http, URL, None, "no-such-session")
            assert response.status_code == 404
            assert response.json()["error"] == NOT_FOUND
            live = await open_raw_session(http, URL, None)
            held = await open_raw_session(http, URL, None)
            assert count_of(await call_increment(http, URL, None, held)) == 1
        async with running(store, refresh_interval=1) as (http, _manager):
            expired_in_store = live
            now[0] += 31
            response = await call_increment(http, URL, None, expired_in_store)
            assert response.status_code == 404
            assert response.json()["error"] == NOT_FOUND
            # A session this process holds is checked against the store once a refresh is due.
            fresh = await open_raw_session(http, URL, None)
            assert count_of(await call_increment(http, URL, None, fresh)) == 1
            now[0] += 31
            await anyio.sleep(1.05)  # let the refresh interval (monotonic) pass
            response = await call_increment(http, URL, None, fresh)
            assert response.status_code == 404
            assert response.json()["error"] == NOT_FOUND
            assert held  # never restored after expiry either
            response = await call_increment(http, URL, None, held)
            assert response.status_code == 404

    run(scenario)


def test_requests_keep_a_session_alive_and_refresh_at_most_once_per_interval() -> None:
    async def scenario() -> None:
        store = ObservedStore(ttl_seconds=0.8)
        async with running(store, refresh_interval=0.2) as (http, _manager):
            session_id = await open_raw_session(http, URL, None)
            assert count_of(await call_increment(http, URL, None, session_id)) == 1  # warm up
            store.calls.clear()
            started = time.monotonic()
            for expected in range(2, 5):  # quicker than the interval: no refresh
                assert count_of(await call_increment(http, URL, None, session_id)) == expected
            assert time.monotonic() - started < 0.2, "too slow to tell"
            assert store.calls.get("touch", 0) == 0
            assert store.calls.get("session_exists", 0) == 0
            # Active for twice the TTL: still alive, refreshed by its requests.
            deadline = time.monotonic() + 1.6
            count = 4
            while time.monotonic() < deadline:
                await anyio.sleep(0.25)
                count += 1
                assert count_of(await call_increment(http, URL, None, session_id)) == count
            touches = store.calls["touch"]
            assert 5 <= touches <= count - 4, store.calls
            assert store.calls["session_exists"] == touches
            # Idle for longer than the TTL: gone.
            await anyio.sleep(1.0)
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
            assert response.status_code == 404
            assert response.json()["error"] == NOT_FOUND
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
            await anyio.sleep(0.6)
            assert session_id not in manager._server_instances
            assert await store.session_exists(session_id)
            assert count_of(await call_increment(http, URL, None, session_id)) == 2
            # A DELETE the store cannot carry out is an error, and changes nothing stored.
            store.failing = True
            response = await http.delete(URL, headers=headers(None, session_id))
            assert response.status_code == 503
            store.failing = False
            assert await store.session_exists(session_id)
            response = await http.delete(URL, headers=headers(None, session_id))
            assert response.status_code == 200
            assert store.calls["delete_session"] == 2
            assert not await store.session_exists(session_id)
            response = await call_increment(http, URL, None, session_id)
            assert response.status_code == 404
            assert response.json()["error"] == NOT_FOUND
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
        sessions = PersistentSessions(store)
        mcp: MCPServer[Any] = MCPServer("state")
        outcomes: list[object] = []

        @mcp.tool()
        async def forget_and_write(ctx: Context) -> str:
            await store.delete_session(session_id_of(ctx))
            outcomes.append(await sessions.get_session_data(ctx))
            try:
                await sessions.update_session_data(ctx, {"x": 1})
            except SessionNotStoredError as error:
                outcomes.append(error)
            return "done"

        app = sessions.streamable_http_app(mcp)
        async with (
            sessions.session_manager.run(),
            httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL) as http,
        ):
            session_id = await open_raw_session(http, URL, None)
            request = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "forget_and_write", "arguments": {}},
            }
            await http.post(URL, json=request, headers=headers(None, session_id))
        assert outcomes[0] == {}
        assert isinstance(outcomes[1], SessionNotStoredError)
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


def test_refresh_interval_must_be_shorter_than_the_ttl() -> None:
    with pytest.raises(ValueError, match="shorter than the store's ttl_seconds"):
        PersistentSessions(InMemorySessionStore(ttl_seconds=10), refresh_interval=10)
    with pytest.raises(ValueError, match="positive"):
        PersistentSessions(InMemorySessionStore(), refresh_interval=0)
    assert PersistentSessions(InMemorySessionStore(ttl_seconds=50)).refresh_interval == 5
    assert PersistentSessions(InMemorySessionStore()).refresh_interval == 60


# --- the custom store example ---------------------------------------------------------------


class TestCustomStoreExampleContract(SessionStoreContract):
    """examples/custom_store.py, as ``pytest --store=examples.custom_store:JSONFileSessionStore``."""

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


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
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
    started: list[ServerProcess] = []

    def make(args: list[str], *, auth: bool = True) -> ServerProcess:
        server = ServerProcess(
            args, port=free_port(), log_path=tmp_path / f"server-{len(started)}.log", auth=auth
        )
        started.append(server)
        return server

    yield make
    for server in started:
        server.kill()


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
                assert response.status_code == 404, response.text
                assert response.json()["error"] == NOT_FOUND
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
            assert response.status_code == 404, response.text
            assert response.json()["error"] == NOT_FOUND

    try:
        run(scenario)
    except BaseException:
        print(server.log())
        raise
    assert server.stop(), server.log()


@pytest.mark.e2e
def test_an_expired_session_answers_404_before_and_after_a_restart(
    backend: Backend, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory([*backend.args, "--ttl", "1.5", "--refresh-interval", "0.2"])
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
            deadline = time.monotonic() + 2.2
            while time.monotonic() < deadline:  # longer than the TTL, active throughout
                count += 1
                response = await call_increment(http, server.url, "alice-token", active)
                assert count_of(response) == count
                await anyio.sleep(0.3)
            # Held by this process, expired in the store: the refresh finds it gone.
            response = await call_increment(http, server.url, "alice-token", idle_held)
            assert response.status_code == 404, response.text
            assert response.json()["error"] == NOT_FOUND
            assert await backend.get(active) is not None, "activity did not refresh the TTL"
            result = await streaming.call_tool("increment", {})
            assert result.structured_content == {"result": 2}, result.content
        async with httpx2.AsyncClient(timeout=30) as http:
            assert server.stop(), server.log()
            server.start()
            # Not held by the new process, expired in the store: nothing to restore.
            response = await call_increment(http, server.url, "alice-token", idle_restored)
            assert response.status_code == 404, response.text
            assert response.json()["error"] == NOT_FOUND
            assert await backend.get(idle_restored) is None

    try:
        run(scenario)
    except BaseException:
        print(server.log())
        raise
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
