"""Call the basket server's tools, one call per run, as a model would across a conversation.

    python -m examples.basket_client create                  # prints a new basket_id
    python -m examples.basket_client add BASKET_ID apple     # add an item
    python -m examples.basket_client view BASKET_ID          # list the items
    python -m examples.basket_client close BASKET_ID         # close the basket

Each run is a fresh client of the MCP SDK speaking the 2026-07-28 protocol: no
handshake, no session; the basket_id is all that carries over. ``--legacy``
speaks the handshake protocol instead, against the same tools.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from examples.counter_client import add_token_argument, bearer

DEFAULT_URL = "http://127.0.0.1:8000/mcp"
MODERN_PROTOCOL = "2026-07-28"


async def call(
    url: str, tool: str, arguments: dict[str, Any], *, legacy: bool, token: str | None = None
) -> Any:
    """Call one tool; its structured result, or SystemExit with the tool's error message."""
    mode = "legacy" if legacy else MODERN_PROTOCOL
    async with (
        httpx2.AsyncClient(headers=bearer(token), timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise SystemExit(text or f"{tool} failed")
    return result.structured_content


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.basket_client", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")
    parser.add_argument("--legacy", action="store_true", help="use the handshake protocol")
    add_token_argument(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create", help="create a basket")
    add = commands.add_parser("add", help="add an item to a basket")
    add.add_argument("basket_id")
    add.add_argument("item")
    for name in ("view", "close"):
        commands.add_parser(name, help=f"{name} a basket").add_argument("basket_id")
    options = parser.parse_args(argv)

    basket = {"basket_id": options.basket_id} if options.command != "create" else {}
    tool, arguments = {
        "create": ("create_basket", {}),
        "add": ("add_item", {**basket, "item": getattr(options, "item", None)}),
        "view": ("view_basket", basket),
        "close": ("close_basket", basket),
    }[options.command]
    try:
        result = anyio.run(
            functools.partial(
                call, options.url, tool, arguments, legacy=options.legacy, token=options.token
            )
        )
    except SystemExit as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if options.command == "create":
        print(result["basket_id"])
    else:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
