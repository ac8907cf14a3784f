"""A strict DynamoDB endpoint on loopback, in front of the emulator a user runs.

It forwards each request to the emulator (moto server, dynalite, DynamoDB Local)
and behaves as the real service does where emulators are lenient:

- eventually consistent reads (``GetItem``, ``BatchGetItem``, ``Query``, ``Scan``
  without ``ConsistentRead: true``) may be served the version before the last
  write (``dynamodb_history``);
- requests past the documented limits are refused (``dynamodb_limits``);
- on its second address, the faults address, calls are throttled on a seeded
  schedule (``dynamodb_throttling``); that address serves no stale reads, so a
  throttle and a stale read never blur each other's verdict.

Requests are read, and errors shaped, through botocore's own service model:
the operation from ``X-Amz-Target``, its input shape to find the attribute
values, the modelled error names and the JSON protocol's error body.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
import zlib
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import botocore.session

from .dynamodb_history import ItemHistory, key_text, project
from .dynamodb_limits import KeySchema, Refusal, check_request
from .dynamodb_throttling import THROTTLING_ERRORS, ThrottleSchedule

__all__ = ["StrictDynamoDBEndpoint"]

# Headers not passed on: hop-by-hop ones, and those this endpoint writes itself.
_NOT_PASSED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "host",
        "x-amz-crc32",
        "server",
        "date",
    }
)
_SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
_READS = ("GetItem", "BatchGetItem", "Query", "Scan")
# botocore reads the error code after '#'; these are the namespaces the service uses.
_VALIDATION_TYPE = "com.amazon.coral.validate#ValidationException"
_SERVICE_NAMESPACE = "com.amazonaws.dynamodb.v20120810#"


class UpstreamUnreachable(Exception):
    """The emulator did not answer; the client sees its connection closed."""


Response = tuple[int, list[tuple[str, str]], bytes]


class StrictDynamoDBEndpoint:
    """Two loopback addresses in front of ``upstream``: ``url`` (strict) and ``faults_url``
    (strict, and throttling)."""

    def __init__(self, upstream: str, seed: int) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f"the DynamoDB emulator's URL must be http://HOST:PORT, not {upstream!r}"
            )
        self.upstream = upstream
        self._upstream_address = (parts.hostname, parts.port or 80)
        self.seed = seed
        self.model = botocore.session.get_session().get_service_model("dynamodb")
        self._target_prefix = str(self.model.metadata["targetPrefix"]) + "."
        self._content_type = f"application/x-amz-json-{self.model.metadata['jsonVersion']}"
        self._modelled_errors = {shape.name for shape in self.model.error_shapes}
        self.history = ItemHistory(seed)
        self.throttles = ThrottleSchedule(seed)
        self.refusals = 0
        self._schemas: dict[str, KeySchema | None] = {}
        self._schema_lock = threading.Lock()
        self._local = threading.local()
        self._servers: list[ThreadingHTTPServer] = []
        self.url = ""
        self.faults_url = ""

    # -- life ----------------------------------------------------------------------------

    def start(self) -> None:
        for throttling in (False, True):
            server = _Server(("127.0.0.1", 0), _Handler, self, throttling)
            threading.Thread(
                target=server.serve_forever, name="strict-dynamodb", daemon=True
            ).start()
            self._servers.append(server)
        self.url, self.faults_url = (
            f"http://127.0.0.1:{server.server_address[1]}" for server in self._servers
        )

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    # -- one request ---------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, *, throttling: bool
    ) -> Response:
        target = headers.get("x-amz-target", "")
        operation = (
            target[len(self._target_prefix) :] if target.startswith(self._target_prefix) else ""
        )
        if operation not in self.model.operation_names:
            return self._forward(method, path, headers, body)
        if throttling:
            code = self.throttles.refuse(operation, headers, body)
            if code is not None:
                return self.error(Refusal(code, THROTTLING_ERRORS[code]))
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self._forward(method, path, headers, body)
        if not isinstance(request, dict):
            return self._forward(method, path, headers, body)
        if operation in ("CreateTable", "DeleteTable", "UpdateTable"):
            with self._schema_lock:
                self._schemas.pop(str(request.get("TableName")), None)
        shape = self.model.operation_model(operation).input_shape
        refusal = check_request(
            shape, operation, request, lambda table: self._key_schema(table, headers)
        )
        if refusal is not None:
            self.refusals += 1
            return self.error(refusal)
        if throttling:
            return self._forward(method, path, headers, body)
        if operation in _SINGLE_WRITES:
            return self._single_write(operation, method, path, headers, request)
        if operation in ("BatchWriteItem", "TransactWriteItems"):
            return self._many_writes(operation, method, path, headers, body, request)
        if operation in _READS:
            return self._read(operation, method, path, headers, body, request)
        return self._forward(method, path, headers, body)

    def error(self, refusal: Refusal) -> Response:
        """The response DynamoDB's JSON protocol gives for an error."""
        if refusal.code in self._modelled_errors:
            error_type = _SERVICE_NAMESPACE + refusal.code
        elif refusal.code == "ValidationException":
            error_type = _VALIDATION_TYPE
        else:
            raise ValueError(f"{refusal.code} is not an error DynamoDB answers with")
        body = json.dumps({"__type": error_type, "message": refusal.message}).encode()
        return 400, [("Content-Type", self._content_type)], body

    # -- writes: remember the version each one replaced ----------------------------------

    def _single_write(
        self,
        operation: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        request: dict[str, Any],
    ) -> Response:
        table = str(request.get("TableName", ""))
        key = self._key_in(operation, table, request, headers)
        asked = request.get("ReturnValues", "NONE")
        sent = dict(request)
        previous: Any = None
        if asked == "NONE":
            sent["ReturnValues"] = "ALL_OLD"  # the replaced version, at no extra request
        elif asked != "ALL_OLD" and key is not None:
            previous = self._consistent_item(table, key, headers)
        status, response_headers, body = self._forward(
            method, path, headers, json.dumps(sent).encode()
        )
        if status != 200:
            return status, response_headers, body
        response = json.loads(body or b"{}")
        if asked in ("NONE", "ALL_OLD"):
            previous = response.get("Attributes")
        if asked == "NONE":
            response.pop("Attributes", None)
            body = json.dumps(response).encode()
        if key is not None:
            self.history.written(key_text(table, key), previous, operation != "DeleteItem")
        return status, response_headers, body

    def _many_writes(
        self,
        operation: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        request: dict[str, Any],
    ) -> Response:
        written = []
        for table, key, exists_now in self._batch_keys(operation, request, headers):
            written.append((table, key, exists_now, self._consistent_item(table, key, headers)))
        status, response_headers, answer = self._forward(method, path, headers, body)
        if status == 200:
            unprocessed = json.dumps(json.loads(answer or b"{}").get("UnprocessedItems") or {})
            for table, key, exists_now, previous in written:
                if json.dumps(key) not in unprocessed:
                    self.history.written(key_text(table, key), previous, exists_now)
        return status, response_headers, answer

    def _batch_keys(
        self, operation: str, request: Mapping[str, Any], headers: Mapping[str, str]
    ) -> list[tuple[str, dict[str, Any], bool]]:
        found: list[tuple[str, dict[str, Any], bool]] = []
        if operation == "BatchWriteItem":
            for table, writes in (request.get("RequestItems") or {}).items():
                for write in writes:
                    if "PutRequest" in write:
                        key = self._key_in("PutItem", table, write["PutRequest"], headers)
                        if key is not None:
                            found.append((table, key, True))
                    elif "DeleteRequest" in write:
                        found.append((table, write["DeleteRequest"]["Key"], False))
            return found
        for entry in request.get("TransactItems") or []:
            for kind, exists_now in (("Put", True), ("Update", True), ("Delete", False)):
                if kind in entry:
                    table = str(entry[kind].get("TableName", ""))
                    key = self._key_in(f"{kind}Item", table, entry[kind], headers)
                    if key is not None:
                        found.append((table, key, exists_now))
        return found

    # -- reads: serve the replaced version while its window is open ----------------------

    def _read(
        self,
        operation: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        request: dict[str, Any],
    ) -> Response:
        status, response_headers, answer = self._forward(method, path, headers, body)
        if status != 200:
            return status, response_headers, answer
        response = json.loads(answer or b"{}")
        changed = False
        if operation == "GetItem":
            if request.get("ConsistentRead") is not True and "Item" in response:
                table = str(request.get("TableName", ""))
                stale = self.history.stale_version(key_text(table, request.get("Key") or {}))
                if stale is not None:
                    response["Item"] = _projected(stale, request)
                    changed = True
        elif operation == "BatchGetItem":
            for table, asked in (request.get("RequestItems") or {}).items():
                if asked.get("ConsistentRead") is not True:
                    items = (response.get("Responses") or {}).get(table) or []
                    changed |= self._stale_items(table, items, asked, headers)
        elif (
            request.get("ConsistentRead") is not True
            and "IndexName" not in request
            and request.get("Select") != "COUNT"
        ):
            table = str(request.get("TableName", ""))
            changed = self._stale_items(table, response.get("Items") or [], request, headers)
        if changed:
            answer = json.dumps(response).encode()
        return status, response_headers, answer

    def _stale_items(
        self,
        table: str,
        items: list[dict[str, Any]],
        request: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> bool:
        schema = self._key_schema(table, headers)
        if schema is None:
            return False
        changed = False
        for index, item in enumerate(items):
            key = schema.key_of(item)  # items projected without their key cannot be told apart
            stale = None if key is None else self.history.stale_version(key_text(table, key))
            if stale is not None:
                items[index] = _projected(stale, request)
                changed = True
        return changed

    # -- the emulator --------------------------------------------------------------------

    def _key_in(
        self, operation: str, table: str, request: Mapping[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any] | None:
        if operation == "PutItem":
            schema = self._key_schema(table, headers)
            return None if schema is None else schema.key_of(request.get("Item") or {})
        key = request.get("Key")
        return dict(key) if isinstance(key, Mapping) else None

    def _key_schema(self, table: str, headers: Mapping[str, str]) -> KeySchema | None:
        with self._schema_lock:
            if table in self._schemas:
                return self._schemas[table]
        status, _headers, body = self._call("DescribeTable", {"TableName": table}, headers)
        schema = None
        if status == 200:
            described = json.loads(body)["Table"]
            types = {
                d["AttributeName"]: d["AttributeType"] for d in described["AttributeDefinitions"]
            }
            roles = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
            partition = (roles["HASH"], types[roles["HASH"]])
            sort = (roles["RANGE"], types[roles["RANGE"]]) if "RANGE" in roles else None
            schema = KeySchema(partition, sort)
            with self._schema_lock:
                self._schemas[table] = schema
        return schema

    def _consistent_item(
        self, table: str, key: Mapping[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any] | None:
        request = {"TableName": table, "Key": key, "ConsistentRead": True}
        status, _headers, body = self._call("GetItem", request, headers)
        item = json.loads(body).get("Item") if status == 200 else None
        return item if isinstance(item, dict) else None

    def _call(
        self, operation: str, request: Mapping[str, Any], headers: Mapping[str, str]
    ) -> Response:
        # The client's own credentials and date: emulators read the region and account off them.
        own = {
            name: value
            for name, value in headers.items()
            if name.startswith(("authorization", "x-amz-date", "x-amz-security-token"))
        }
        own.update(
            {"x-amz-target": self._target_prefix + operation, "content-type": self._content_type}
        )
        return self._forward("POST", "/", own, json.dumps(request).encode())

    def _forward(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        sent = {name: value for name, value in headers.items() if name not in _NOT_PASSED}
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = http.client.HTTPConnection(*self._upstream_address, timeout=60)
                self._local.connection = connection
            try:
                connection.request(method, path, body=body, headers=sent)
                response = connection.getresponse()
                answer = response.read()
            except (http.client.HTTPException, OSError) as error:
                # An idle keep-alive connection the emulator closed: one new connection.
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise UpstreamUnreachable(str(error)) from error
                continue
            kept = [(n, v) for n, v in response.getheaders() if n.lower() not in _NOT_PASSED]
            return response.status, kept, answer
        raise AssertionError("unreachable")


def _projected(item: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    return project(
        item,
        request.get("ProjectionExpression"),
        request.get("ExpressionAttributeNames"),
        request.get("AttributesToGet"),
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        endpoint: StrictDynamoDBEndpoint,
        throttling: bool,
    ) -> None:
        super().__init__(address, handler)
        self.endpoint = endpoint
        self.throttling = throttling


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as SDK connection pools expect
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            status, response_headers, answer = self.server.endpoint.handle(
                self.command, self.path, headers, body, throttling=self.server.throttling
            )
        except UpstreamUnreachable:
            self.close_connection = True  # as an unreachable service: no answer at all
            return
        self.send_response(status)
        for name, value in response_headers:
            self.send_header(name, value)
        # botocore checks DynamoDB's CRC32 header: it must match the body as changed here.
        self.send_header("x-amz-crc32", str(zlib.crc32(answer) & 0xFFFFFFFF))
        if not any(name.lower() == "x-amzn-requestid" for name, _ in response_headers):
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per request would drown pytest's output
