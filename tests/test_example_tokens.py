"""The example servers' ``--token PRINCIPAL=SECRET``: bearer-token auth binding sessions and handles.

The flag's errors, in process; then real server processes of the three
examples on loopback (SQLite in the test's folder), each with two principals,
spoken to with raw HTTP requests, the SDK's Python client and the official
TypeScript clients (v2 ``@modelcontextprotocol/client`` in both eras, v1
``@modelcontextprotocol/sdk``), the tokens taken from the docs' own commands.
The servers run with the root logger at DEBUG, and their logs must hold no
secret, not even a wrong token a client sent.

One piece: the flag, the servers and the clients of the --token tests share their helpers here.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from examples import basket_server, counter_server
from examples.bearer_tokens import StaticTokens, Token, base_url, parse_token

try:  # tests/ as a package or as a plain folder on sys.path
    from .basket_support import (
        UNKNOWN_BASKET,
        install_ts_client,
        install_ts_sdk_v1,
        require_node,
        ts_call_tools,
        ts_refusal,
    )
    from .mcp_support import (
        REPO_ROOT,
        ServerProcess,
        call_increment,
        count_of,
        free_port,
        headers,
        open_raw_session,
    )
except ImportError:
    from basket_support import (  # type: ignore[no-redef]
        UNKNOWN_BASKET,
        install_ts_client,
        install_ts_sdk_v1,
        require_node,
        ts_call_tools,
        ts_refusal,
    )
    from mcp_support import (  # type: ignore[no-redef]
        REPO_ROOT,
        ServerProcess,
        call_increment,
        count_of,
        free_port,
        headers,
        open_raw_session,
    )

MODERN = "2026-07-28"
NOT_FOUND = {"code": -32600, "message": "Session not found"}

ALICE, ALICE_TOO, BOB = "alice-Q7f2-first-secret", "alice-W9k4-second-secret", "bob-Z3x8-secret"
WRONG = "alice-Q7f2-first-secreT"  # one letter off alice's: a near miss must not be logged either
TOKEN_ARGS = [
    *("--token", f"alice={ALICE}"),
    *("--token", f"bob={BOB}"),
    *("--token", f"alice={ALICE_TOO}"),
]
STARTUP_LINE = "bearer-token auth on: 3 tokens, 2 principals (alice, bob)"


# --- the flag --------------------------------------------------------------------------------


def parse(*args: str) -> argparse.Namespace:
    return counter_server.argument_parser().parse_args(list(args))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("hunter2", "expected PRINCIPAL=SECRET, for example --token alice=s3cret-for-alice"),
        ("=hunter2", "PRINCIPAL is empty in PRINCIPAL=SECRET"),
        ("alice=", "alice's SECRET is empty"),
        ("alice=hunter 2", "alice's SECRET may hold only visible ASCII characters, without spaces"),
        ("alice=hunter2\u00e9", "alice's SECRET may hold only visible ASCII characters"),
        (" alice=hunter2", "principal 'alice': a principal is printable text"),
        ("al\tice=hunter2", "principal 'al\\tice': a principal is printable text"),
    ],
)
def test_a_malformed_token_is_a_usage_error_that_never_shows_the_secret(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        parse("--token", value)
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument --token: {message}" in err, err
    assert "hunter" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alice=hunter2", "bob=hunter2"], "the same SECRET is given for both alice and bob"),
        (["alice=hunter2", "alice=hunter2"], "the same SECRET is given for alice twice"),
    ],
)
def test_a_secret_given_twice_is_a_usage_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        parse(*[arg for value in args for arg in ("--token", value)])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument --token: {message}; each token needs its own secret" in err, err
    assert "hunter" not in err


def test_every_example_takes_the_flag_and_no_flag_means_no_auth() -> None:
    for parser in (counter_server.argument_parser(), basket_server.argument_parser()):
        assert parser.parse_args([]).tokens == []
        options = parser.parse_args(["--token", "alice=a=b=c", "--token", "alice=d"])
        assert options.tokens == [Token("alice", "a=b=c"), Token("alice", "d")]
        assert "a=b=c" not in repr(options)  # a Namespace printed shows no secret
    from examples import bearer_tokens

    assert bearer_tokens.static_tokens(parse()) is None


def test_a_token_maps_to_its_principal_in_constant_time_over_every_secret() -> None:
    tokens = StaticTokens([Token("alice", "one"), Token("bob", "two"), Token("alice", "three")])
    assert [tokens.principal_of(token) for token in ("one", "two", "three")] == [
        "alice",
        "bob",
        "alice",
    ]
    for other in ("", "on", "one ", "ONE", "two\x00", "x" * 10_000):
        assert tokens.principal_of(other) is None
    access = anyio.run(tokens.verify_token, "three")
    assert access is not None
    assert (access.client_id, access.subject, access.claims, access.scopes) == (
        "alice",
        "alice",
        None,
        [],
    )
    assert anyio.run(tokens.verify_token, "nope") is None
    assert tokens.describe() == "bearer-token auth on: 3 tokens, 2 principals (alice, bob)"
    assert StaticTokens([Token("bob", "x")]).describe() == "bearer-token auth on: 1 principal (bob)"
    settings = tokens.auth_settings(base_url("::1", 8000))
    assert str(settings.issuer_url).rstrip("/") == "http://[::1]:8000"
    assert settings.resource_server_url is None
    with pytest.raises(ValueError, match="expected PRINCIPAL=SECRET"):
        parse_token("alice")
    with pytest.raises(ValueError):
        StaticTokens([])


# --- server processes ------------------------------------------------------------------------


class DebugLoggedServer(ServerProcess):
    """An example server whose root logger is at DEBUG (the example's own setup then adds none)."""

    def command(self) -> list[str]:
        launch = (
            "import logging, runpy; logging.basicConfig(level=logging.DEBUG); "
            f"runpy.run_module({self.module!r}, run_name='__main__')"
        )
        return [sys.executable, "-c", launch]

    def full_log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., DebugLoggedServer]]:
    started: list[DebugLoggedServer] = []

    def make(module: str, token_args: list[str]) -> DebugLoggedServer:
        database = tmp_path / f"{module.rsplit('.', 1)[-1]}-{len(started)}.sqlite3"
        server = DebugLoggedServer(
            ["--sqlite-path", str(database), "--ttl", "60", *token_args],
            port=free_port(),
            log_path=tmp_path / f"server-{len(started)}.log",
            auth=False,  # the tokens are in the arguments
            module=module,
        )
        started.append(server)
        return server

    yield make
    for server in started:
        server.kill()


def assert_no_secret_logged(server: DebugLoggedServer, *secrets: str) -> None:
    log = server.full_log()
    assert "DEBUG" in log, "the server did not log at DEBUG"
    for secret in secrets:
        assert secret not in log, f"a secret is in the server's log:\n{log[-4000:]}"


def run_showing_log(scenario: Callable[[], Any], server: DebugLoggedServer) -> None:
    try:
        anyio.run(scenario)
    except BaseException:
        print(server.log())
        raise


async def assert_refused(http: httpx2.AsyncClient, url: str) -> None:
    """No token, a wrong one, another scheme: 401, whatever the request."""
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for token in (None, WRONG):
        response = await http.post(url, json=request, headers=headers(token))
        assert response.status_code == 401, (token, response.text)
    basic = {**headers(None), "authorization": f"Basic {ALICE}"}
    response = await http.post(url, json=request, headers=basic)
    assert response.status_code == 401, response.text


@pytest.mark.e2e
@pytest.mark.parametrize("module", ["examples.counter_server", "examples.fastmcp_counter_server"])
def test_a_session_is_its_principals_and_no_secret_is_logged(
    module: str, server_factory: Callable[..., DebugLoggedServer]
) -> None:
    if module.startswith("examples.fastmcp"):
        pytest.importorskip("fastmcp", reason="the [fastmcp] extra is not installed")
    server = server_factory(module, TOKEN_ARGS)
    server.start()

    async def scenario() -> None:
        url = server.url
        async with httpx2.AsyncClient(timeout=30) as http:
            await assert_refused(http, url)
            session_id = await open_raw_session(http, url, ALICE)
            assert count_of(await call_increment(http, url, ALICE, session_id, by=5)) == 5

            async def bob_is_refused() -> None:
                response = await call_increment(http, url, BOB, session_id, by=100)
                assert response.status_code == 404, response.text
                assert response.json()["error"] == NOT_FOUND
                response = await http.delete(url, headers=headers(BOB, session_id))
                assert response.status_code == 404, response.text
                for token in (None, WRONG):
                    response = await call_increment(http, url, token, session_id, by=100)
                    assert response.status_code == 401, response.text

            await bob_is_refused()
            # Alice's other token is alice: the same session, the count unchanged by bob.
            assert count_of(await call_increment(http, url, ALICE_TOO, session_id)) == 6
            assert server.stop(), server.log()
            server.start()  # the session now comes back from the store, owner and all
            await bob_is_refused()
            assert count_of(await call_increment(http, url, ALICE_TOO, session_id)) == 7
            assert count_of(await call_increment(http, url, ALICE, session_id)) == 8
            response = await http.delete(url, headers=headers(ALICE, session_id))
            assert response.status_code == 200, response.text
            response = await call_increment(http, url, ALICE, session_id)
            assert response.status_code == 404, response.text

    run_showing_log(scenario, server)
    assert server.stop(), server.log()
    assert STARTUP_LINE in server.full_log()
    assert_no_secret_logged(server, ALICE, ALICE_TOO, BOB, WRONG)


class BasketCaller:
    """The SDK's Python client of one server process, for one call at a time, with a token."""

    def __init__(self, url: str, token: str | None, mode: str = MODERN) -> None:
        self.url, self.token, self.mode = url, token, mode

    async def call(self, tool: str, **arguments: Any) -> tuple[bool, Any, str]:
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with (
            httpx2.AsyncClient(headers=auth, timeout=30) as http,
            Client(streamable_http_client(self.url, http_client=http), mode=self.mode) as client,
        ):
            result = await client.call_tool(tool, arguments)
        text = " ".join(getattr(block, "text", "") for block in result.content)
        return bool(result.is_error), result.structured_content, text

    async def ok(self, tool: str, **arguments: Any) -> Any:
        is_error, structured, text = await self.call(tool, **arguments)
        assert not is_error, text
        return structured

    async def error(self, tool: str, **arguments: Any) -> str:
        is_error, structured, text = await self.call(tool, **arguments)
        assert is_error, structured
        assert structured is None
        return text


@pytest.mark.e2e
def test_a_basket_is_its_principals_and_no_secret_is_logged(
    server_factory: Callable[..., DebugLoggedServer],
) -> None:
    server = server_factory("examples.basket_server", TOKEN_ARGS)
    server.start()

    async def scenario() -> None:
        async with httpx2.AsyncClient(timeout=30) as http:
            await assert_refused(http, server.url)
        alice = BasketCaller(server.url, ALICE)
        alice_too = BasketCaller(server.url, ALICE_TOO, mode="legacy")
        bobs = [BasketCaller(server.url, BOB), BasketCaller(server.url, BOB, mode="legacy")]
        basket_id = (await alice.ok("create_basket"))["basket_id"]
        assert await alice.ok("add_item", basket_id=basket_id, item="apple") == {"items": ["apple"]}
        unknown = "basket_" + "U" * 32
        for bob in bobs:
            for tool, extra in (
                ("view_basket", {}),
                ("add_item", {"item": "x"}),
                ("close_basket", {}),
            ):
                expected = UNKNOWN_BASKET.format(tool=tool)
                assert await bob.error(tool, basket_id=basket_id, **extra) == expected
                assert await bob.error(tool, basket_id=unknown, **extra) == expected
        # Alice's other token is alice; her basket is as she left it.
        assert await alice_too.ok("view_basket", basket_id=basket_id) == {"items": ["apple"]}
        assert await alice_too.ok("add_item", basket_id=basket_id, item="pear") == {
            "items": ["apple", "pear"]
        }
        assert await alice.ok("close_basket", basket_id=basket_id) == {"closed": True}

    run_showing_log(scenario, server)
    assert server.stop(), server.log()
    assert STARTUP_LINE in server.full_log()
    assert_no_secret_logged(server, ALICE, ALICE_TOO, BOB, WRONG)


# --- as documented ---------------------------------------------------------------------------


def documented_tokens(doc: str, module: str) -> dict[str, str]:
    """principal -> secret, from the ``python -m <module> --token ...`` command in ``docs/<doc>``."""
    text = (REPO_ROOT / "docs" / doc).read_text()
    command = re.search(rf"python -m {re.escape(module)}((?: --token \S+)+)\n", text)
    assert command is not None, f"docs/{doc} shows no {module} --token command"
    pairs = [parse_token(value) for value in command.group(1).split(" --token ")[1:]]
    tokens = {token.principal: token.secret for token in pairs}
    assert set(tokens) == {"alice", "bob"}, tokens
    return tokens


def token_args(tokens: dict[str, str]) -> list[str]:
    return [arg for name, secret in tokens.items() for arg in ("--token", f"{name}={secret}")]


@pytest.mark.e2e
@pytest.mark.node
def test_the_counter_example_with_tokens_as_documented_for_python_and_typescript_clients(
    server_factory: Callable[..., DebugLoggedServer],
) -> None:
    tokens = documented_tokens("mcp-sessions.md", "examples.counter_server")
    node, npm = require_node()
    v2, v1 = install_ts_client(npm), install_ts_sdk_v1(npm)
    server = server_factory("examples.counter_server", token_args(tokens))
    server.start()

    async def python_client() -> None:
        statuses: list[int] = []

        async def record(response: httpx2.Response) -> None:
            statuses.append(response.status_code)

        for token in (None, "not-" + tokens["alice"]):
            auth = {"Authorization": f"Bearer {token}"} if token else {}
            try:
                async with (
                    httpx2.AsyncClient(headers=auth, event_hooks={"response": [record]}) as http,
                    Client(streamable_http_client(server.url, http_client=http), mode="legacy"),
                ):
                    pass
            except Exception:
                pass
            else:
                raise AssertionError(f"the Python client connected with the token {token!r}")
            assert statuses == [401], statuses
            statuses.clear()
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {tokens['alice']}"}) as http,
            Client(streamable_http_client(server.url, http_client=http), mode="legacy") as client,
        ):
            for expected in (1, 3):
                result = await client.call_tool("increment", {"by": 1 if expected == 1 else 2})
                assert not result.is_error, result.content
                assert result.structured_content == {"result": expected}

    run_showing_log(python_client, server)

    calls = [{"name": "increment", "arguments": {"by": 3}}, {"name": "increment"}]
    for package in (v2, v1):  # the v2 client in the handshake era, the v1 SDK
        report = ts_call_tools(node, package, server.url, calls, tokens["alice"], legacy=True)
        assert report["protocolVersion"] == "2025-11-25", report
        assert [result["structuredContent"] for result in report["results"]] == [
            {"result": 3},
            {"result": 4},
        ], report
        for token in (None, "not-" + tokens["alice"]):
            refused = ts_refusal(node, package, server.url, token, legacy=True)
            assert refused["status"] == 401, refused
    # A 2026-07-28 client, with a token, reaches the tool, which needs a session.
    report = ts_call_tools(node, v2, server.url, [{"name": "increment"}], tokens["bob"])
    assert report["results"][0]["text"].startswith(
        "Error executing tool increment: this tool needs a session"
    ), report
    assert ts_refusal(node, v2, server.url)["status"] == 401
    assert server.stop(), server.log()
    assert_no_secret_logged(server, *tokens.values(), "not-" + tokens["alice"])


@pytest.mark.e2e
@pytest.mark.node
def test_the_basket_example_with_tokens_as_documented_for_typescript_clients(
    server_factory: Callable[..., DebugLoggedServer],
) -> None:
    tokens = documented_tokens("state-handles.md", "examples.basket_server")
    node, npm = require_node()
    v2, v1 = install_ts_client(npm), install_ts_sdk_v1(npm)
    server = server_factory("examples.basket_server", token_args(tokens))
    server.start()
    basket = {"$result": 0, "key": "basket_id"}
    try:
        report = ts_call_tools(
            node,
            v2,
            server.url,
            [
                {"name": "create_basket"},
                {"name": "add_item", "arguments": {"basket_id": basket, "item": "apple"}},
                {"name": "view_basket", "arguments": {"basket_id": basket}},
            ],
            tokens["alice"],
        )
        assert report["protocolVersion"] == MODERN, report
        assert [result["isError"] for result in report["results"]] == [False] * 3, report
        basket_id = report["results"][0]["structuredContent"]["basket_id"]
        assert report["results"][2]["structuredContent"] == {"items": ["apple"]}

        view = [{"name": "view_basket", "arguments": {"basket_id": basket_id}}]
        for package in (v2, v1):  # the handshake era: the v2 client, and the v1 SDK
            report = ts_call_tools(node, package, server.url, view, tokens["alice"], legacy=True)
            assert report["protocolVersion"] == "2025-11-25", report
            assert report["results"][0]["structuredContent"] == {"items": ["apple"]}, report
            for token in (None, "not-" + tokens["alice"]):
                assert ts_refusal(node, package, server.url, token, legacy=True)["status"] == 401
        for token in (None, "not-" + tokens["alice"]):
            assert ts_refusal(node, v2, server.url, token)["status"] == 401

        # Bob, with alice's basket_id, gets what an unknown one gets; hers is unchanged.
        report = ts_call_tools(
            node,
            v2,
            server.url,
            [
                {"name": "add_item", "arguments": {"basket_id": basket_id, "item": "bobs"}},
                {"name": "view_basket", "arguments": {"basket_id": basket_id}},
                {"name": "view_basket", "arguments": {"basket_id": "basket_" + "U" * 32}},
            ],
            tokens["bob"],
        )
        added, foreign, unknown = report["results"]
        assert added["text"] == UNKNOWN_BASKET.format(tool="add_item"), added
        assert foreign == unknown, report
        assert foreign["text"] == UNKNOWN_BASKET.format(tool="view_basket")
        report = ts_call_tools(node, v1, server.url, view, tokens["alice"], legacy=True)
        assert report["results"][0]["structuredContent"] == {"items": ["apple"]}, report
    except BaseException:
        print(server.log())
        raise
    assert server.stop(), server.log()
    assert_no_secret_logged(server, *tokens.values())


def _client(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One of the example clients, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "MCP_BEARER_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.e2e
def test_the_example_clients_send_a_token_with_their_token_flag(
    server_factory: Callable[..., DebugLoggedServer],
) -> None:
    counter = server_factory("examples.counter_server", ["--token", f"alice={ALICE}"])
    basket = server_factory("examples.basket_server", ["--token", f"alice={ALICE}"])
    for server in (counter, basket):
        server.start()
    opened = _client("examples.counter_client", "--url", counter.url, "--token", ALICE)
    assert opened.returncode == 0, opened.stderr
    session_id = re.search(r"session (\S+): count = 1", opened.stdout)
    assert session_id is not None, opened.stdout
    again = _client(
        "examples.counter_client", "--url", counter.url, "--token", ALICE,
        "--session-id", session_id.group(1), "--by", "2",
    )  # fmt: skip
    assert again.stdout.strip() == f"session {session_id.group(1)}: count = 3", again.stderr
    refused = _client("examples.counter_client", "--url", counter.url)
    assert refused.returncode == 1
    assert "answered 401: it wants a bearer token (--token SECRET" in refused.stderr, refused.stderr
    for legacy in ([], ["--legacy"]):
        created = _client("examples.basket_client", "--url", basket.url, "--token", ALICE, *legacy)
        assert created.returncode == 2  # no command: usage
        made = _client(
            "examples.basket_client", "--url", basket.url, "--token", ALICE, *legacy, "create"
        )
        assert made.returncode == 0, made.stderr
        assert made.stdout.startswith("basket_"), made.stdout
        refused = _client("examples.basket_client", "--url", basket.url, *legacy, "create")
        assert refused.returncode != 0
    for server in (counter, basket):
        assert_no_secret_logged(server, ALICE)
