"""Call the counter server's ``increment`` tool, in a new session or in one opened earlier.

    python -m examples.counter_client                          # open a session, count once
    python -m examples.counter_client --session-id ID          # count again in session ID
    python -m examples.counter_client --session-id ID --end    # end session ID (DELETE)

A new session is opened with the MCP SDK's own client (handshake protocol) and
left open when the client exits. A later run continues it by its id alone, the
way a client that outlived a server restart would: one ``tools/call`` POST
with the ``Mcp-Session-Id`` header, no new handshake.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

import anyio

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types.version import LATEST_HANDSHAKE_VERSION

DEFAULT_URL = "http://127.0.0.1:8000/mcp"


def add_token_argument(parser: argparse.ArgumentParser) -> None:
    """``--token SECRET`` (default ``$MCP_BEARER_TOKEN``), as both example clients take it."""
    parser.add_argument(
        "--token",
        metavar="SECRET",
        default=os.environ.get("MCP_BEARER_TOKEN"),
        help="bearer token, for a server started with --token PRINCIPAL=SECRET "
        "(default: $MCP_BEARER_TOKEN)",
    )


def bearer(token: str | None) -> dict[str, str]:
    """The header that sends ``token`` (a server's ``--token`` SECRET); none without one."""
    return {"authorization": f"Bearer {token}"} if token else {}


async def new_session(url: str, by: int, token: str | None = None) -> tuple[str, int]:
    """Open a session with the SDK's client, call the tool once, leave the session open."""
    session_ids: list[str] = []
    refused: list[httpx2.Response] = []

    async def remember(response: httpx2.Response) -> None:
        if session_id := response.headers.get("mcp-session-id"):
            session_ids.append(session_id)
        if response.status_code in (401, 403):
            refused.append(response)

    try:
        async with (
            httpx2.AsyncClient(headers=bearer(token), event_hooks={"response": [remember]}) as http,
            Client(
                streamable_http_client(url, http_client=http, terminate_on_close=False),
                mode="legacy",
            ) as client,
        ):
            result = await client.call_tool("increment", {"by": by})
    except Exception as error:
        if refused:  # the SDK's own error does not say why
            raise ClientError(_refusal(url, refused[0].status_code, token)) from error
        raise
    if result.is_error or not session_ids:
        raise SystemExit(f"the call failed: {result.content}")
    return session_ids[-1], _count(result.structured_content)


async def continue_session(
    url: str, session_id: str, by: int, token: str | None = None
) -> int | None:
    """Call the tool in an existing session by its id; None when the server does not know it."""
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "increment", "arguments": {"by": by}},
    }
    async with httpx2.AsyncClient(headers=bearer(token), timeout=30) as http:
        response = await http.post(url, json=request, headers=_headers(session_id))
    if response.status_code == 404:
        return None
    _check_status(response, url)
    message = _response_message(response)
    if "error" in message:
        raise SystemExit(f"the call failed: {message['error']}")
    result = message["result"]
    if result.get("isError"):
        raise SystemExit(f"the tool failed: {result.get('content')}")
    return _count(result.get("structuredContent"))


async def end_session(url: str, session_id: str, token: str | None = None) -> bool:
    """DELETE the session; False when the server does not know it."""
    async with httpx2.AsyncClient(headers=bearer(token), timeout=30) as http:
        response = await http.delete(url, headers=_headers(session_id))
    if response.status_code == 404:
        return False
    _check_status(response, url)
    return True


class ClientError(Exception):
    """A failure the client reports in one line."""


def _refusal(url: str, status: int, token: str | None) -> str:
    return f"the server at {url} answered {status}: it wants a bearer token " + (
        "other than the one given" if token else "(--token SECRET, or $MCP_BEARER_TOKEN)"
    )


def _check_status(response: httpx2.Response, url: str) -> None:
    if response.status_code >= 500:
        raise ClientError(
            f"the server at {url} answered {response.status_code}: its session store may be down "
            "(the server's output says why)"
        )
    if response.status_code in (401, 403):
        raise ClientError(_refusal(url, response.status_code, None))
    if response.status_code >= 400:
        raise ClientError(
            f"the server at {url} answered {response.status_code}: {response.text[:200]}"
        )


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _one_line(error: BaseException, url: str) -> str:
    """What went wrong, in one line, whatever depth of exception groups the SDK raised."""
    for leaf in _leaves(error):
        if isinstance(leaf, ClientError):
            return str(leaf)
    for leaf in _leaves(error):
        if isinstance(leaf, (httpx2.ConnectError, ConnectionError, OSError)):
            return (
                f"cannot reach the MCP server at {url}: is it running? "
                "(start it with: python -m examples.counter_server)"
            )
        if isinstance(leaf, httpx2.TimeoutException):
            return f"the MCP server at {url} did not answer in time"
        if isinstance(leaf, httpx2.HTTPStatusError):
            return (
                f"the server at {url} answered {leaf.response.status_code}: its session store "
                "may be down (the server's output says why)"
            )
    leaf = _leaves(error)[0]
    text = str(leaf).strip().splitlines()
    message = text[0] if text else type(leaf).__name__
    if "store" in message.lower():
        return (
            f"the server at {url} cannot use its session store: {message} "
            "(the server's output says why)"
        )
    return f"the call failed: {message}"


def _headers(session_id: str) -> dict[str, str]:
    return {
        "accept": "application/json, text/event-stream",
        "mcp-session-id": session_id,
        "mcp-protocol-version": LATEST_HANDSHAKE_VERSION,
    }


def _response_message(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC response in a JSON body or in the SSE stream the server answered with."""
    if response.headers.get("content-type", "").startswith("application/json"):
        message: dict[str, Any] = response.json()
        return message
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            event: dict[str, Any] = json.loads(line[5:])
            if "result" in event or "error" in event:
                return event
    raise SystemExit("the server answered without a JSON-RPC response")


def _count(structured: Any) -> int:
    if not isinstance(structured, dict) or not isinstance(structured.get("result"), int):
        raise SystemExit(f"unexpected tool result: {structured!r}")
    return int(structured["result"])


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except Exception as error:  # one line, not the SDK's nested exception groups
        url = _url_of(argv)
        print(f"error: {_one_line(error, url)}", file=sys.stderr)
        return 1


def _url_of(argv: Sequence[str] | None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    for index, arg in enumerate(args):
        if arg.startswith("--url="):
            return arg.split("=", 1)[1]
        if arg == "--url" and index + 1 < len(args):
            return args[index + 1]
    return DEFAULT_URL


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.counter_client", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")
    parser.add_argument("--session-id", help="continue this session instead of opening one")
    parser.add_argument("--by", type=int, default=1, help="how much to add (default 1)")
    parser.add_argument("--end", action="store_true", help="end the session (needs --session-id)")
    add_token_argument(parser)
    options = parser.parse_args(argv)

    if options.end:
        if not options.session_id:
            parser.error("--end needs --session-id")
        if anyio.run(end_session, options.url, options.session_id, options.token):
            print(f"session {options.session_id} ended")
            return 0
        print(f"error: session {options.session_id} not found at {options.url}", file=sys.stderr)
        return 1
    if options.session_id:
        count = anyio.run(
            continue_session, options.url, options.session_id, options.by, options.token
        )
        if count is None:
            print(
                f"error: session {options.session_id} not found at {options.url} "
                "(unknown, expired or ended; with --store memory, a server restart ends it): "
                "start a new one with: python -m examples.counter_client"
                + ("" if options.url == DEFAULT_URL else f" --url {shlex.quote(options.url)}"),
                file=sys.stderr,
            )
            return 1
        print(f"session {options.session_id}: count = {count}")
        return 0
    session_id, count = anyio.run(new_session, options.url, options.by, options.token)
    print(f"session {session_id}: count = {count}")
    url = "" if options.url == DEFAULT_URL else f" --url {shlex.quote(options.url)}"
    print(
        f"continue it with: python -m examples.counter_client{url} "
        f"--session-id {shlex.quote(session_id)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
