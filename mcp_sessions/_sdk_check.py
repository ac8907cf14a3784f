"""The canary: which parts of the MCP SDK restoration relies on, checked against the installed SDK.

The SDK keeps streamable-HTTP sessions in private attributes of
``StreamableHTTPSessionManager`` and offers no hook for a store, so the
integration subclasses the manager and uses some of its private members. Any
release may change them; this module names each one and says what is missing,
so an upgrade fails at startup (and in the canary test) with a clear message
instead of misbehaving later.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any

__all__ = [
    "TESTED_SDK_VERSIONS",
    "SDKCompatibilityError",
    "check_sdk_compatibility",
    "installed_sdk_version",
]

TESTED_SDK_VERSIONS = "2.3"
"""The ``mcp`` minor versions this integration is tested on (the ``[mcp]`` extra pins them)."""


class SDKCompatibilityError(RuntimeError):
    """The installed MCP SDK lacks internals that session restoration relies on."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"mcp {installed_sdk_version()} changed internals that session restoration "
            f"(mcp_sessions) relies on; it is tested on mcp {TESTED_SDK_VERSIONS}.x. "
            f"Pin mcp to {TESTED_SDK_VERSIONS}.x (the [mcp] extra does) or update the integration:\n"
            f"{listing}"
        )


def installed_sdk_version() -> str:
    try:
        return importlib.metadata.version("mcp")
    except importlib.metadata.PackageNotFoundError:
        return "(unknown version)"


@functools.cache
def _cached_problems() -> tuple[str, ...]:
    return tuple(_find_problems())


def check_sdk_compatibility() -> list[str]:
    """Every relied-on SDK internal that is missing or changed; empty when all is as expected."""
    return list(_cached_problems())


def _find_problems() -> list[str]:
    problems: list[str] = []
    try:
        _check(problems)
    except Exception as error:  # an import or construction failing is itself the finding
        problems.append(f"checking the SDK failed: {type(error).__name__}: {error}")
    return problems


def _check(problems: list[str]) -> None:
    from mcp.server import connection as connection_module
    from mcp.server import runner as runner_module
    from mcp.server import streamable_http as transport_module
    from mcp.server import streamable_http_manager as manager_module
    from mcp.server.auth.middleware import bearer_auth
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer
    from mcp.shared import jsonrpc_dispatcher
    from mcp_types import version as version_module

    manager_class = manager_module.StreamableHTTPSessionManager
    transport_class = transport_module.StreamableHTTPServerTransport

    def need_attribute(owner: object, name: str, what: str) -> Any:
        if not hasattr(owner, name):
            problems.append(f"{what} is gone")
            return None
        return getattr(owner, name)

    def need_parameters(
        function: Callable[..., Any] | None, names: tuple[str, ...], what: str
    ) -> None:
        if function is None:
            return
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            problems.append(f"{what}: its signature cannot be read")
            return
        missing = [name for name in names if name not in parameters]
        if missing:
            problems.append(f"{what} no longer takes {', '.join(missing)}")

    def need_in_source(
        function: Callable[..., Any] | None, fragments: tuple[str, ...], what: str
    ) -> None:
        if function is None:
            return
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            problems.append(f"{what}: its source cannot be read to verify it")
            return
        missing = [fragment for fragment in fragments if fragment not in source]
        if missing:
            problems.append(f"{what} no longer does: {'; '.join(missing)}")

    # The manager: overridden methods and the call paths through them.
    manager = "StreamableHTTPSessionManager"
    need_parameters(
        need_attribute(
            manager_class, "_handle_stateful_request", f"{manager}._handle_stateful_request"
        ),
        ("scope", "receive", "send"),
        f"{manager}._handle_stateful_request",
    )
    need_parameters(
        need_attribute(
            manager_class, "_serve_opening_request", f"{manager}._serve_opening_request"
        ),
        ("http_transport", "scope", "receive", "send"),
        f"{manager}._serve_opening_request",
    )
    need_parameters(
        need_attribute(manager_class, "_discard_session", f"{manager}._discard_session"),
        ("session_id", "transport"),
        f"{manager}._discard_session",
    )
    need_parameters(
        manager_class.__init__,
        (
            "app",
            "event_store",
            "json_response",
            "stateless",
            "security_settings",
            "retry_interval",
            "session_idle_timeout",
            "max_request_body_size",
            "max_sessions",
        ),
        f"{manager}.__init__",
    )
    need_in_source(
        need_attribute(manager_class, "_handle_request", f"{manager}._handle_request"),
        ("HANDSHAKE_PROTOCOL_VERSIONS", "self._handle_stateful_request("),
        f"{manager}._handle_request (handshake-era requests go to _handle_stateful_request)",
    )
    need_in_source(
        getattr(manager_class, "_handle_stateful_request", None),
        (
            "in self._server_instances",
            "self._session_owners.get(",
            "self._serve_opening_request(",
            '"Session not found", 404',
        ),
        f"{manager}._handle_stateful_request (lookup in _server_instances, owner check, "
        "opening request, 404 for unknown ids)",
    )
    need_in_source(
        getattr(manager_class, "_serve_opening_request", None),
        ("serve_loop(", "self._discard_session("),
        f"{manager}._serve_opening_request (serves the opening request with serve_loop "
        "and discards through _discard_session)",
    )
    need_in_source(
        getattr(manager_class, "_discard_session", None),
        ("self._server_instances.pop(", "self._session_owners.pop("),
        f"{manager}._discard_session (forgets the id in _server_instances and _session_owners)",
    )
    need_in_source(
        getattr(runner_module, "serve_loop", None),
        ('inline_methods=frozenset({"initialize"})', "Connection.for_loop("),
        "mcp.server.runner.serve_loop (initialize runs inline, before the next message)",
    )
    sample = manager_class(Server("sdk-canary"))
    for name, kind in (
        ("_server_instances", dict),
        ("_session_owners", dict),
        ("_session_creation_lock", None),
        ("_task_group", None),
        ("_lifespan_state", None),
        ("app", None),
        ("event_store", None),
        ("json_response", bool),
        ("security_settings", None),
        ("retry_interval", None),
        ("session_idle_timeout", None),
        ("max_sessions", None),
    ):
        value = need_attribute(sample, name, f"{manager}().{name}")
        if kind is not None and name in vars(sample) and not isinstance(value, kind):
            problems.append(f"{manager}().{name} is no longer a {kind.__name__}")
    need_attribute(manager_module, "StreamableHTTPASGIApp", "StreamableHTTPASGIApp")

    # The transport a restored session is served by.
    transport = "StreamableHTTPServerTransport"
    need_parameters(
        transport_class.__init__,
        (
            "mcp_session_id",
            "is_json_response_enabled",
            "event_store",
            "security_settings",
            "retry_interval",
            "idle_timeout",
        ),
        f"{transport}.__init__",
    )
    for name in ("connect", "handle_request", "terminate", "is_terminated"):
        need_attribute(transport_class, name, f"{transport}.{name}")
    need_attribute(
        transport_class(mcp_session_id="canary"), "idle_scope", f"{transport}().idle_scope"
    )
    need_attribute(
        transport_module, "MCP_SESSION_ID_HEADER", "streamable_http.MCP_SESSION_ID_HEADER"
    )

    # What a restored session is run with.
    connection_class = connection_module.Connection
    need_parameters(
        need_attribute(connection_class, "for_loop", "Connection.for_loop"),
        ("outbound", "session_id", "protocol_version_hint"),
        "Connection.for_loop",
    )
    client_params = getattr(connection_class, "client_params", None)
    if not isinstance(client_params, property) or client_params.fset is None:
        problems.append("Connection.client_params is no longer a settable property")
    need_parameters(
        need_attribute(runner_module, "serve_connection", "mcp.server.runner.serve_connection"),
        ("server", "dispatcher", "connection", "lifespan_state"),
        "mcp.server.runner.serve_connection",
    )
    need_parameters(
        jsonrpc_dispatcher.JSONRPCDispatcher.__init__,
        ("read_stream", "write_stream", "inline_methods"),
        "JSONRPCDispatcher.__init__",
    )

    # How the handshake is observed and who owns a session.
    fields = getattr(ServerRequestContext, "__dataclass_fields__", {})
    missing_fields = [
        name for name in ("method", "params", "request", "request_id") if name not in fields
    ]
    if missing_fields:
        problems.append(f"ServerRequestContext lost the fields {', '.join(missing_fields)}")
    if not isinstance(getattr(Server("sdk-canary"), "middleware", None), list):
        problems.append("Server().middleware is no longer a list")
    for name in ("authorization_context", "AuthenticatedUser", "AuthorizationContext"):
        need_attribute(bearer_auth, name, f"bearer_auth.{name}")
    need_attribute(
        version_module,
        "HANDSHAKE_PROTOCOL_VERSIONS",
        "mcp_types.version.HANDSHAKE_PROTOCOL_VERSIONS",
    )

    # What the app builder reads off an MCPServer.
    server = MCPServer("sdk-canary")
    for name in (
        "_lowlevel_server",
        "_token_verifier",
        "_auth_server_provider",
        "_custom_starlette_routes",
    ):
        need_attribute(server, name, f"MCPServer().{name}")
    if not hasattr(getattr(server, "settings", None), "auth"):
        problems.append("MCPServer().settings.auth is gone")
