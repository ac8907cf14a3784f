"""Bearer-token auth for the example servers: ``--token PRINCIPAL=SECRET``, repeatable.

    python -m examples.counter_server --token alice=ALICES-SECRET --token bob=BOBS-SECRET

A request must then carry ``Authorization: Bearer ALICES-SECRET`` (or bob's);
without a token, or with one not given on the command line, it gets 401. The
token's principal (``alice``) is the access token's ``client_id`` and
``subject``: the SDK binds a session to the principal that opened it, and
``StateHandles`` a handle to the principal that created it. Two tokens given
for one principal are that one principal. Without ``--token`` the servers run
open, as before.

The check goes through the SDK's own auth hooks (``TokenVerifier`` and
``AuthSettings``, FastMCP's ``TokenVerifier`` for the FastMCP example); the
secrets are compared in constant time and never logged or printed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl

__all__ = ["StaticTokens", "Token", "add_token_argument", "base_url", "static_tokens"]

EXAMPLE = "--token alice=s3cret-for-alice"


@dataclass(frozen=True)
class Token:
    """One ``--token PRINCIPAL=SECRET``; its repr leaves the secret out."""

    principal: str
    secret: str = field(repr=False)


def parse_token(value: str) -> Token:
    """``PRINCIPAL=SECRET`` as a ``Token``; a ``ValueError`` whose message never holds the secret."""
    principal, equals, secret = value.partition("=")
    if not equals:
        raise ValueError(f"expected PRINCIPAL=SECRET, for example {EXAMPLE} (no '=' in the value)")
    if not principal:
        raise ValueError(f"PRINCIPAL is empty in PRINCIPAL=SECRET (for example {EXAMPLE})")
    if principal != principal.strip() or not principal.isprintable():
        raise ValueError(
            f"principal {principal.strip()!r}: a principal is printable text, "
            "without spaces at either end"
        )
    if not secret:
        raise ValueError(f"{principal}'s SECRET is empty (for example {EXAMPLE})")
    if not all("!" <= character <= "~" for character in secret):
        # A header carries visible ASCII unchanged; anything else could never match.
        raise ValueError(
            f"{principal}'s SECRET may hold only visible ASCII characters, "
            "without spaces (it is sent as an HTTP header)"
        )
    return Token(principal, secret)


class TokenAction(argparse.Action):
    """Collects each ``--token`` into ``Token``s; a malformed one or a repeated secret is an error."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if not isinstance(values, str):  # pragma: no cover - nargs is None: one string
            raise argparse.ArgumentError(self, "expected PRINCIPAL=SECRET")
        try:
            token = parse_token(values)
        except ValueError as error:
            raise argparse.ArgumentError(self, str(error)) from None
        tokens: list[Token] = list(getattr(namespace, self.dest, None) or [])
        for earlier in tokens:
            if hmac.compare_digest(earlier.secret.encode(), token.secret.encode()):
                whose = (
                    f"{token.principal} twice"
                    if earlier.principal == token.principal
                    else f"both {earlier.principal} and {token.principal}"
                )
                raise argparse.ArgumentError(
                    self, f"the same SECRET is given for {whose}; each token needs its own secret"
                )
        setattr(namespace, self.dest, [*tokens, token])


def add_token_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--token PRINCIPAL=SECRET`` (repeatable) to ``parser``; ``options.tokens`` holds them."""
    parser.add_argument(
        "--token",
        action=TokenAction,
        dest="tokens",
        default=[],
        metavar="PRINCIPAL=SECRET",
        help="require a bearer token: requests carrying 'Authorization: Bearer SECRET' act as "
        "PRINCIPAL, the owner of the sessions and handles they create; repeat it for more "
        "tokens (default: no auth)",
    )


def _digest(secret: str) -> bytes:
    # Equal-length digests: compare_digest then takes the same time whatever the token's length.
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest()


class StaticTokens:
    """The SDK's ``TokenVerifier`` for a fixed set of tokens, each standing for a principal.

    A token's principal is both the ``client_id`` and the ``subject`` of its
    ``AccessToken``, with no issuer claim: the SDK's principal (``client_id``,
    issuer, subject) is thus the same for every token of one principal, and on
    every server instance, whatever its address.
    """

    def __init__(self, tokens: Iterable[Token]) -> None:
        self._tokens = [(_digest(token.secret), token.principal) for token in tokens]
        if not self._tokens:
            raise ValueError("StaticTokens needs at least one token")
        self.principals = tuple(dict.fromkeys(principal for _, principal in self._tokens))

    def principal_of(self, token: str) -> str | None:
        """The principal of ``token``, or None: compared with every secret, in constant time."""
        offered = _digest(token)
        found = None
        for digest, principal in self._tokens:  # no early exit: each token costs the same
            if hmac.compare_digest(offered, digest):
                found = principal
        return found

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = self.principal_of(token)
        if principal is None:
            return None
        return AccessToken(token=token, client_id=principal, scopes=[], subject=principal)

    def auth_settings(self, base_url: str) -> AuthSettings:
        """The SDK's ``AuthSettings`` for these tokens, on a server at ``base_url``."""
        # The SDK requires an issuer; with static tokens the server's operator issues them, on
        # its command line, so the server names itself. It is advertised nowhere: there is no
        # OAuth authorization server to point a client at, so no resource_server_url, and so
        # no Protected Resource Metadata and no resource_metadata in the 401 (a client is not
        # sent into an OAuth flow that cannot succeed). No token carries the issuer either: it
        # is not part of the principal, so instances on other addresses share principals.
        return AuthSettings(issuer_url=AnyHttpUrl(base_url), resource_server_url=None)

    def describe(self) -> str:
        """The start-up line: how many principals, and their names; never a secret."""
        count = len(self.principals)
        tokens = f"{len(self._tokens)} tokens, " if len(self._tokens) != count else ""
        names = ", ".join(self.principals)
        return f"bearer-token auth on: {tokens}{count} principal{'s' * (count != 1)} ({names})"


def static_tokens(options: argparse.Namespace) -> StaticTokens | None:
    """The verifier for the command line's ``--token``s; None when none was given."""
    tokens: list[Token] = getattr(options, "tokens", None) or []
    return StaticTokens(tokens) if tokens else None


def base_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
