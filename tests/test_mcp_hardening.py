"""The MCP integration as an attacker and a careless client would meet it.

- One era per request: a 2026-07-28 request never reaches a handshake session,
  whatever ``Mcp-Session-Id`` it carries (real server processes, the official
  Python SDK client in both eras, FastMCP's client).
- Bounded state: what ``initialize`` may make the restore record, and what a
  tool may keep, are capped; a refused write changes nothing.
- No oracle, no leak: a foreign handle costs what an unknown one costs, and
  logs the same; session ids and handles reach no log.
- The examples check their inputs.

One piece: the servers, clients and stores of the attack tests are set up here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

import anyio
import httpx2
import mcp_types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError

from examples import basket_server, counter_server
from mcp_sessions import (
    APP_KEY,
    MAX_RESTORE_RECORD_BYTES,
    RESTORE_KEY,
    HandleStateTooLargeError,
    PersistentSessions,
    SessionStateTooLargeError,
    SessionStoreBusyError,
    StateHandles,
)
from mcp_sessions._log_ids import log_id
from mcp_sessions._store_busy import store_busy_as_tool_error
from reference_stores import InMemorySessionStore
from reference_stores.errors import StoreBusyError

try:  # tests/ as a package or as a plain folder on sys.path
    from .mcp_support import ServerProcess, open_raw_session, started_servers
    from .test_state_handles import _NO_AUTH, MODERN, Caller, CountingStore, basket_app
except ImportError:
    from mcp_support import (  # type: ignore[no-redef]
        ServerProcess,
        open_raw_session,
        started_servers,
    )
    from test_state_handles import (  # type: ignore[no-redef]
        _NO_AUTH,
        MODERN,
        Caller,
        CountingStore,
        basket_app,
    )

NO_SESSION = "this tool needs a session of the MCP handshake protocol"


class KeyedStore(InMemorySessionStore):
    """The in-memory store, keeping the ids it was asked to create (``created``)."""

    def __init__(self, ttl_seconds: float | None = None) -> None:
        super().__init__(ttl_seconds=ttl_seconds)
        self.created: list[str] = []

    async def create_session(self, session_id: str, data: Any = None) -> None:
        await super().create_session(session_id, data)
        self.created.append(session_id)


def run(scenario: Callable[[], Any]) -> None:
    anyio.run(scenario)


def run_showing_log(scenario: Callable[[], Any], server: ServerProcess) -> None:
    """``run(scenario)``; if it fails, the server's log says why."""
    try:
        run(scenario)
    except BaseException:
        print(server.log())
        raise


# --- one era per request: real server processes, real clients --------------------------------


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    args = ["--store", "sqlite", "--sqlite-path", str(tmp_path / "sessions.sqlite3")]
    with started_servers(tmp_path) as make:
        yield lambda module, *, auth: make(args, auth=auth, module=module)


class HandshakeClient:
    """A handshake-era client of the server: the official SDK's, or FastMCP's; knows its id."""

    def __init__(self, url: str, token: str | None, *, fastmcp: bool) -> None:
        self.url = url
        self.token = token
        self.fastmcp = fastmcp
        self.session_id: str | None = None

    async def __aenter__(self) -> HandshakeClient:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        if self.fastmcp:
            import fastmcp
            from fastmcp.client.transports import StreamableHttpTransport

            self._transport = StreamableHttpTransport(self.url, headers=headers)
            self._client: Any = await fastmcp.Client(self._transport, mode="legacy").__aenter__()
            self.session_id = self._transport.get_session_id()
        else:

            async def remember(response: httpx2.Response) -> None:
                if session_id := response.headers.get("mcp-session-id"):
                    self.session_id = session_id

            self._http = httpx2.AsyncClient(
                headers=headers, event_hooks={"response": [remember]}, timeout=30
            )
            await self._http.__aenter__()
            self._client = await Client(
                streamable_http_client(self.url, http_client=self._http), mode="legacy"
            ).__aenter__()
        assert self.session_id, "the server gave the client no session"
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._client.__aexit__(*exc_info)
        if not self.fastmcp:
            await self._http.__aexit__(*exc_info)

    async def increment(self, by: int = 1) -> int:
        result = await self._client.call_tool("increment", {"by": by})
        assert not result.is_error, result.content
        return int(result.structured_content["result"])


async def modern_increment(url: str, token: str | None, session_id: str | None) -> str:
    """One 2026-07-28 ``increment`` by the official SDK client, carrying ``session_id`` as
    ``Mcp-Session-Id`` on every request; the tool error's text (it must be one)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if session_id is not None:
        headers["mcp-session-id"] = session_id
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=MODERN) as client,
    ):
        result = await client.call_tool("increment", {"by": 100})
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("module", "auth"),
    [
        ("examples.counter_server", False),
        ("examples.counter_server", True),
        ("examples.fastmcp_counter_server", False),
        ("examples.fastmcp_counter_server", True),
    ],
)
def test_a_2026_request_with_another_sessions_id_neither_reads_nor_changes_it(
    server_factory: Callable[..., ServerProcess], module: str, auth: bool
) -> None:
    if "fastmcp" in module:
        pytest.importorskip("fastmcp", reason="the [fastmcp] extra is not installed")
    server = server_factory(module, auth=auth)
    server.start()
    owner, attacker = ("alice-token", "bob-token") if auth else (None, None)
    fastmcp = "fastmcp" in module

    async def scenario() -> None:
        async with HandshakeClient(server.url, owner, fastmcp=fastmcp) as victim:
            assert await victim.increment(5) == 5
            session_id = victim.session_id
            async with HandshakeClient(server.url, owner, fastmcp=fastmcp) as ended:
                assert await ended.increment() == 1
                deleted_id = ended.session_id
            # Leaving the client sent its DELETE: that id existed, and is gone.
            no_header = await modern_increment(server.url, attacker, None)
            assert NO_SESSION in no_header
            for carried in (session_id, deleted_id, "0" * 32):
                # The same answer whatever the id: neither used, nor told apart.
                assert await modern_increment(server.url, attacker, carried) == no_header
            if auth:  # the owner's own token does not make a 2026-07-28 request a session's
                assert await modern_increment(server.url, owner, session_id) == no_header
            assert await victim.increment() == 6, "a 2026-07-28 request changed the session"

    run_showing_log(scenario, server)
    assert server.stop(), server.log()


# --- bounded state ---------------------------------------------------------------------------


def test_an_initialize_over_the_cap_is_refused_and_nothing_is_stored() -> None:
    async def scenario() -> None:
        store = KeyedStore()
        sessions = PersistentSessions(store)
        app = sessions.streamable_http_app(counter_server.build_server(sessions))
        huge = mcp_types.Implementation(
            name="huge-client", version="1", description="x" * 3_500_000
        )
        icon = mcp_types.Icon(src="data:image/png;base64," + "A" * 100_000)
        with_icons = mcp_types.Implementation(name="icons", version="1", icons=[icon])
        async with (
            sessions.session_manager.run(),
            httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
            ) as http,
        ):
            url = "http://127.0.0.1:8000/mcp"
            await assert_initialize_refused(url, http, huge)
            assert store.created == [], "a refused initialize stored something"
            # Icons are for display: a restored session does without them.
            async with Client(
                streamable_http_client(url, http_client=http),
                mode="legacy",
                client_info=with_icons,
            ) as client:
                assert not (await client.call_tool("increment", {})).is_error
                (stored,) = [await store.get_session(key) for key in store.created]
                assert stored is not None
                info = stored.data[RESTORE_KEY]["client_params"]["clientInfo"]
                assert info == {"name": "icons", "version": "1"}

    run(scenario)


async def assert_initialize_refused(
    url: str, http: httpx2.AsyncClient, client_info: mcp_types.Implementation
) -> None:
    """The official SDK client's handshake with ``client_info`` is refused over the cap."""
    try:
        async with Client(
            streamable_http_client(url, http_client=http), mode="legacy", client_info=client_info
        ):
            raise AssertionError("the oversized initialize was accepted")
    except BaseException as error:  # the client's task groups wrap it
        refused = _innermost(error, MCPError)
    assert refused.error.code == -32602
    assert f"at most {MAX_RESTORE_RECORD_BYTES:,}" in refused.error.message


def _innermost(error: BaseException, kind: type[MCPError]) -> MCPError:
    """The ``kind`` error inside ``error`` and the exception groups around it."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if not isinstance(error, kind):
        raise error
    return error


def _state_writer(sessions: PersistentSessions) -> MCPServer[Any]:
    mcp: MCPServer[Any] = MCPServer("writer")

    @mcp.tool()
    async def write(ctx: Context, size: int, atomic: bool) -> int:
        def change(state: dict[str, Any]) -> dict[str, Any]:
            return {"blob": "x" * size}

        if atomic:
            await sessions.modify_session_data(ctx, change)
        else:
            await sessions.update_session_data(ctx, change({}))
        return size

    return mcp


@pytest.mark.parametrize("atomic", [True, False])
def test_a_tool_write_over_the_state_cap_is_refused_and_changes_nothing(atomic: bool) -> None:
    async def scenario() -> None:
        store = KeyedStore()
        sessions = PersistentSessions(store, max_state_bytes=1000)
        app = sessions.streamable_http_app(_state_writer(sessions))
        async with (
            sessions.session_manager.run(),
            httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
            ) as http,
            Client(
                streamable_http_client("http://127.0.0.1:8000/mcp", http_client=http),
                mode="legacy",
            ) as client,
        ):
            assert not (await client.call_tool("write", {"size": 900, "atomic": atomic})).is_error
            (key,) = store.created
            before = await store.get_session(key)
            result = await client.call_tool("write", {"size": 1000, "atomic": atomic})
            assert result.is_error
            text = result.content[0].text  # type: ignore[union-attr]
            assert "1,011 bytes as JSON, over this server's cap of 1,000" in text, text
            assert "nothing was changed" in text
            after = await store.get_session(key)
            assert before is not None
            assert after is not None
            assert after.data == before.data
            assert after.updated_at == before.updated_at
            assert len(after.data[APP_KEY]["blob"]) == 900

    run(scenario)


def test_the_state_caps_are_checked_and_default_to_one_mebibyte() -> None:
    store = InMemorySessionStore()
    assert PersistentSessions(store).max_state_bytes == 1024 * 1024
    assert StateHandles(store, "basket").max_state_bytes == 1024 * 1024
    assert PersistentSessions(store, max_state_bytes=None).max_state_bytes is None
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="max_state_bytes must be a positive int"):
            PersistentSessions(store, max_state_bytes=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_state_bytes must be a positive int"):
            StateHandles(store, "basket", max_state_bytes=bad)  # type: ignore[arg-type]
    assert issubclass(SessionStateTooLargeError, ValueError)
    assert issubclass(HandleStateTooLargeError, ValueError)


def test_a_handle_state_over_the_cap_is_refused_and_changes_nothing() -> None:
    async def scenario() -> None:
        store = CountingStore()
        baskets = StateHandles(store, "basket", max_state_bytes=300)
        handle = await baskets.create(_NO_AUTH, {"items": ["a" * 200]})
        with pytest.raises(HandleStateTooLargeError, match="over this server's cap of 300"):
            await baskets.modify(_NO_AUTH, handle, lambda s: {"items": [*s["items"], "b" * 200]})
        assert await baskets.read(_NO_AUTH, handle) == {"items": ["a" * 200]}
        with pytest.raises(HandleStateTooLargeError):
            await baskets.create(_NO_AUTH, {"items": ["c" * 400]})
        assert store.calls["create_session"] == 1

    run(scenario)


def test_the_basket_example_caps_an_items_length() -> None:
    async def scenario() -> None:
        async with basket_app(CountingStore()) as (app, _baskets):
            caller = Caller(app)
            basket = (await caller.ok("create_basket"))["basket_id"]
            longest = "é" * basket_server.MAX_ITEM_LENGTH
            assert await caller.ok("add_item", basket_id=basket, item=longest) == {
                "items": [longest]
            }
            message = await caller.error("add_item", basket_id=basket, item=longest + "x")
            assert f"at most {basket_server.MAX_ITEM_LENGTH} characters" in message
            assert "at least 1 character" in await caller.error(
                "add_item", basket_id=basket, item=""
            )
            assert await caller.ok("view_basket", basket_id=basket) == {"items": [longest]}

    run(scenario)


# --- no oracle, no leak ----------------------------------------------------------------------


def _records(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int, str]]:
    """The integration's own records, and the SDK's at INFO and above: what each says."""
    return [
        (r.name, r.levelno, str(r.msg))
        for r in caplog.records
        if r.name.startswith("mcp_sessions") or r.levelno >= logging.INFO
    ]


def test_a_foreign_handle_makes_the_store_calls_and_log_records_of_an_unknown_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        store = CountingStore()
        async with basket_app(store, auth=True) as (app, baskets):
            alice, bob = Caller(app, "alice-token"), Caller(app, "bob-token")
            mine = (await alice.ok("create_basket"))["basket_id"]
            unknown = baskets.prefix + "A" * len(mine[len(baskets.prefix) :])
            outcomes = []
            for handle in (mine, unknown):
                store.calls.clear()
                caplog.clear()
                with caplog.at_level(logging.DEBUG):
                    text = await bob.error("view_basket", basket_id=handle)
                outcomes.append((text, dict(store.calls), _records(caplog)))
            foreign, not_known = outcomes
            assert foreign == not_known
            # Each did look the handle up, and logged it once, by its digest alone.
            assert foreign[1].get("get_session") == 1
            handle_records = [r for r in caplog.records if "basket handle" in r.getMessage()]
            assert [r.levelno for r in handle_records] == [logging.DEBUG]
            assert log_id(unknown) in handle_records[0].getMessage()
            assert await alice.ok("view_basket", basket_id=mine) == {"items": []}

    run(scenario)


def test_session_ids_and_handles_reach_no_log(caplog: pytest.LogCaptureFixture) -> None:
    secrets: list[str] = []

    async def scenario() -> None:
        store = KeyedStore(ttl_seconds=600)
        url = "http://127.0.0.1:8000/mcp"
        for _instance in range(2):  # the second restores the session the first opened
            sessions = PersistentSessions(store)
            app = sessions.streamable_http_app(
                basket_server.build_server(StateHandles(store, "basket"))
            )
            async with (
                sessions.session_manager.run(),
                httpx2.AsyncClient(
                    transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
                ) as http,
            ):
                if not secrets:  # no client's DELETE: the session outlives this instance
                    session_id = await open_raw_session(http, url, None)
                    created = await Caller(app).ok("create_basket")
                    secrets.extend([created["basket_id"], session_id])
                    continue
                handle, *session_ids = secrets
                for session_id in [*session_ids, "f" * 32]:
                    response = await http.post(
                        url,
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                        headers={
                            "accept": "application/json, text/event-stream",
                            "content-type": "application/json",
                            "mcp-protocol-version": "2025-11-25",
                            "mcp-session-id": session_id,
                        },
                    )
                    assert response.status_code in (200, 404)
                caller = Caller(app)
                await caller.ok("view_basket", basket_id=handle)
                await caller.error("view_basket", basket_id=handle[:-2] + "zz")

    with caplog.at_level(logging.DEBUG):
        run(scenario)
    # The server's side: the kit's records at every level, the rest from INFO up (the SDK's
    # and sse-starlette's DEBUG records quote whole messages, whatever they carry).
    text = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith("mcp.client")
        and (record.name.startswith("mcp_sessions") or record.levelno >= logging.INFO)
    )
    handle, *session_ids = secrets
    assert session_ids, "no session was opened: the test proves nothing"
    for secret in [*secrets, "f" * 32, handle[:-2] + "zz"]:
        assert secret not in text
    # The log does follow the sessions, by digest: the SDK's lines and the kit's.
    assert f"session ID: {log_id(session_ids[0])}" in text
    assert f"Restored session {log_id(session_ids[0])}" in text


def test_the_counter_refuses_what_a_json_client_cannot_read_and_changes_nothing() -> None:
    async def scenario() -> None:
        sessions = PersistentSessions(InMemorySessionStore())
        app = sessions.streamable_http_app(counter_server.build_server(sessions))
        url = "http://127.0.0.1:8000/mcp"
        async with (
            sessions.session_manager.run(),
            httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
            ) as http,
            Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
        ):

            async def increment(by: Any) -> tuple[bool, Any]:
                result = await client.call_tool("increment", {"by": by})
                if result.is_error:
                    return True, " ".join(getattr(b, "text", "") for b in result.content)
                assert isinstance(result.structured_content, dict)
                return False, result.structured_content["result"]

            safe = counter_server.MAX_SAFE_INTEGER
            assert await increment(safe - 1) == (False, safe - 1)
            for bad in (2**63, 10**30, -(2**53), True, False, 1.5, "2", None):
                failed, text = await increment(bad)
                assert failed, bad
                assert "by" in text, text
            failed, text = await increment(2)
            assert failed
            assert "nothing was changed" in text, text
            assert await increment(1) == (False, safe)
            assert await increment(-safe) == (False, 0)

    run(scenario)


class BusyStore(KeyedStore):
    """Its pool is full for every data read and write once ``busy`` is set."""

    supports_revisions = True
    busy = False

    async def get_session(self, session_id: str) -> Any:
        if self.busy:
            raise StoreBusyError("test: every connection stayed busy for 5 s")
        return await super().get_session(session_id)


def test_a_busy_store_is_a_tool_error_that_says_so_and_changes_nothing() -> None:
    async def scenario() -> None:
        store = BusyStore()
        async with basket_app(store) as (app, _baskets):
            caller = Caller(app)
            basket = (await caller.ok("create_basket"))["basket_id"]
            store.busy = True
            for tool, arguments in [
                ("add_item", {"basket_id": basket, "item": "x"}),
                ("view_basket", {"basket_id": basket}),
                ("close_basket", {"basket_id": basket}),
            ]:
                message = await caller.error(tool, **arguments)
                assert message == (
                    f"Error executing tool {tool}: the session store is busy (every connection "
                    "in use): nothing was changed; try again in a moment"
                )
            store.busy = False
            assert await caller.ok("view_basket", basket_id=basket) == {"items": []}
        with pytest.raises(SessionStoreBusyError) as raised, store_busy_as_tool_error():
            raise StoreBusyError("test")
        assert isinstance(raised.value.__cause__, StoreBusyError)

    run(scenario)


@pytest.mark.e2e
def test_a_real_server_refuses_a_3_5_mb_initialize_and_stores_nothing(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    import sqlite3

    from reference_stores.sqlite import TABLE

    server = server_factory("examples.counter_server", auth=False)
    server.start()
    huge = mcp_types.Implementation(name="huge-client", version="1", description="x" * 3_500_000)

    def stored_sessions() -> int:
        with sqlite3.connect(tmp_path / "sessions.sqlite3") as database:
            return int(database.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])

    async def scenario() -> None:
        async with httpx2.AsyncClient(timeout=60) as http:
            await assert_initialize_refused(server.url, http, huge)
            assert stored_sessions() == 0
            async with Client(
                streamable_http_client(server.url, http_client=http), mode="legacy"
            ) as client:
                assert not (await client.call_tool("increment", {})).is_error
                assert stored_sessions() == 1  # the same server stores an ordinary one

    run_showing_log(scenario, server)
    assert server.stop(), server.log()
