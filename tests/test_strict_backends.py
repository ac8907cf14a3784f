"""The strict endpoints: what each strictness refuses or injects, and the kit's verdicts through them.

Each broken store of ``strict_broken_stores`` fails exactly its clause through
the strict endpoints in five seeded runs, and passes that clause on the plain
emulator or Redis; the reference stores pass every clause through them.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser
from strict_broken_stores import STRICT_BROKEN_STORES

from conformance.strict_backends.dynamodb_history import ItemHistory, project
from conformance.strict_backends.dynamodb_limits import KeySchema, check_request, item_size
from conformance.strict_backends.dynamodb_throttling import BLOCK, ThrottleSchedule
from conformance.strict_backends.placeholders import PlaceholderError, restore, substitute
from conformance.strict_backends.redis_faults import FaultSchedule
from conformance.strict_backends.resp_frames import command_name, frame_end
from reference_stores.dynamodb import create_table

try:  # tests/ as a package or as a plain folder on sys.path
    from .dynamodb_backends import (
        AWS_TEST_ENVIRONMENT,
        client_for,
        delete_table,
        dynalite_server,
        install_dynalite,
        moto_server,
        require_node,
        unique_table_name,
    )
    from .kit_runs import KitRun, kit_run_once, run_pytest
except ImportError:
    from dynamodb_backends import (  # type: ignore[no-redef]
        AWS_TEST_ENVIRONMENT,
        client_for,
        delete_table,
        dynalite_server,
        install_dynalite,
        moto_server,
        require_node,
        unique_table_name,
    )
    from kit_runs import KitRun, kit_run_once, run_pytest  # type: ignore[no-redef]

SEEDS = (101, 202, 303, 404, 505)
"""Five seeded runs: each seed gives other stale-read windows, throttles and faults."""
JUDGED = ("CONS-READ-YOUR-WRITES", "DATA-NESTING", "ERR-BACKEND")
"""The clauses the strict endpoints add to. Each broken store is a reference store with one
mistake, and the reference stores pass every clause through the endpoints (the CI step
``tests/strict_reference_runs.py``, and the dynalite and JavaScript runs here): so the broken
stores are judged on these three, one failed and two passed."""
JUDGED_CLAUSES = tuple(f"--clause={clause}" for clause in JUDGED)
DYNAMODB_STORES = [
    f"strict_broken_stores:{cls.__name__}"
    for cls in STRICT_BROKEN_STORES
    if "DynamoDB" in cls.__name__
]
REDIS_STORE = "strict_broken_stores:NoneOnDroppedConnectionRedisStore"
EXPECTED = {f"strict_broken_stores:{cls.__name__}": c for cls, c in STRICT_BROKEN_STORES.items()}
REDIS_URL = os.environ.get("REDIS_URL") or ""
DYNAMODB = botocore.session.get_session().get_service_model("dynamodb")


# -- the DynamoDB limits, read through botocore's service model ------------------------------


def _nested(wraps: int) -> dict[str, Any]:
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(wraps):
        value = {"M": {"k": value}}
    return value


SESSIONS = KeySchema(("sessionId", "S"))


def _put(**attributes: Any) -> Any:
    shape = DYNAMODB.operation_model("PutItem").input_shape
    request = {"TableName": "t", "Item": {"sessionId": {"S": "id"}, **attributes}}
    return check_request(shape, "PutItem", request, lambda table: SESSIONS)


def test_31_nested_wraps_are_accepted_and_32_refused_as_dynamodb_does() -> None:
    assert _put(data=_nested(31)) is None
    refusal = _put(data=_nested(32))
    assert refusal is not None
    assert refusal.code == "ValidationException"
    assert refusal.message.startswith("Nesting Levels have exceeded supported limits")


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("1" * 39, "38 significant digits"),
        ("1E+126", "Number overflow"),
        ("1E-131", "Number underflow"),
    ],
)
def test_numbers_dynamodb_cannot_hold_are_refused(number: str, words: str) -> None:
    assert _put(n={"N": "9.9999999999999999999999999999999999999E+125"}) is None
    refusal = _put(n={"L": [{"N": number}]})
    assert refusal is not None
    assert words in refusal.message


def test_items_over_400_kb_names_and_keys_are_refused() -> None:
    assert _put(s={"S": "x" * 400_000}) is None
    assert "Item size has exceeded" in str(_put(s={"S": "x" * 410_000}))
    assert "attribute name cannot be empty" in str(_put(m={"M": {"": {"S": "x"}}}))
    assert "Size of hashkey" in str(_put(sessionId={"S": "x" * 2049}))
    assert "cannot contain an empty string" in str(_put(sessionId={"S": ""}))
    assert item_size({"ab": {"S": "é"}, "n": {"N": "123"}}) == 2 + 2 + 1 + 3


def test_refusals_read_back_as_the_service_error_through_botocores_parser() -> None:
    from conformance.strict_backends.dynamodb_endpoint import StrictDynamoDBEndpoint
    from conformance.strict_backends.dynamodb_limits import Refusal

    endpoint = StrictDynamoDBEndpoint("http://127.0.0.1:1", seed=1)
    parser = create_parser("json")
    for code in ("ValidationException", "ThrottlingException"):
        status, headers, body = endpoint.error(Refusal(code, "said"))
        parsed = parser.parse(
            {"status_code": status, "headers": dict(headers), "body": body},
            DYNAMODB.operation_model("GetItem").output_shape,
        )
        assert (status, parsed["Error"]["Code"], parsed["Error"]["Message"]) == (400, code, "said")


# -- stale reads, throttling and Redis faults: seeded and deterministic ------------------------


def test_a_stale_window_opens_only_when_an_item_is_replaced() -> None:
    history = ItemHistory(seed=7)
    old = {"v": {"N": "1"}}
    history.written("created", None, exists_now=True)
    history.written("deleted", old, exists_now=False)
    assert history.stale_version("created") is None
    assert history.stale_version("deleted") is None
    history.written("replaced", old, exists_now=True)
    served = 0
    while history.stale_version("replaced") == old:
        served += 1
    assert 1 <= served <= 3
    again = ItemHistory(seed=7)
    again.written("replaced", old, exists_now=True)
    assert sum(again.stale_version("replaced") is not None for _ in range(4)) == served


def test_a_stale_version_is_projected_as_the_read_asked() -> None:
    item = {"sessionId": {"S": "a"}, "ttl": {"N": "5"}, "data": {"M": {"x": {"S": "y"}}}}
    assert project(item, "sessionId, #t", {"#t": "ttl"}) == {
        "sessionId": {"S": "a"},
        "ttl": {"N": "5"},
    }
    assert project(item, "#d.x", {"#d": "data"}) == {"data": {"M": {"x": {"S": "y"}}}}
    assert project(item, None, None, ["ttl"]) == {"ttl": {"N": "5"}}


def _throttles(seed: int, calls: int) -> list[tuple[str | None, str | None]]:
    schedule = ThrottleSchedule(seed)
    outcomes = []
    for number in range(calls):
        headers = {"amz-sdk-invocation-id": f"call-{number}"}
        first = schedule.refuse("GetItem", headers, b"{}")
        second = schedule.refuse("GetItem", headers, b"{}")  # the SDK's retry of the same call
        outcomes.append((first, second))
    return outcomes


@pytest.mark.parametrize("seed", SEEDS)
def test_each_block_of_calls_has_one_lasting_and_one_passing_throttle(seed: int) -> None:
    outcomes = _throttles(seed, 3 * BLOCK)
    for start in range(0, len(outcomes), BLOCK):
        block = outcomes[start : start + BLOCK]
        lasting = [o for o in block if o[0] and o[1]]
        passing = [o for o in block if o[0] and not o[1]]
        assert len(lasting) == 1, block
        assert len(passing) == 1, block
        assert {lasting[0][0], passing[0][0]} == {
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
        }
    assert outcomes == _throttles(seed, 3 * BLOCK)


@pytest.mark.parametrize("seed", SEEDS)
def test_each_redis_command_meets_each_fault_once_per_block(seed: int) -> None:
    schedule = FaultSchedule(seed)
    gets = [schedule.fault_for("GET") for _ in range(12)]
    sets = [schedule.fault_for("SET") for _ in range(8)]
    assert sorted(filter(None, gets[:6])) == ["delay", "drop", "loading"]
    assert sorted(filter(None, gets[6:])) == ["drop", "loading"]  # delays only in the first
    assert sorted(filter(None, sets)) == ["delay", "drop", "loading", "readonly"]
    assert [schedule.fault_for("HELLO") for _ in range(20)] == [None] * 20


def test_resp_frames_end_where_redis_says() -> None:
    command = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
    assert frame_end(command) == len(command)
    assert frame_end(command[:-1]) is None
    assert command_name(command) == "GET"
    assert frame_end(b"$-1\r\n") == 5
    assert frame_end(b"%1\r\n+a\r\n:1\r\n") == 12
    assert frame_end(b">2\r\n+m\r\n$1\r\nx") is None
    assert command_name(b"PING\r\n") == "PING"


def test_placeholders_become_addresses_and_back() -> None:
    addresses = {"strict_dynamodb": "http://127.0.0.1:5"}
    assert substitute("{strict_dynamodb}", addresses) == "http://127.0.0.1:5"
    assert restore("http://127.0.0.1:5", addresses) == "{strict_dynamodb}"
    assert substitute(3, addresses) == 3
    with pytest.raises(PlaceholderError, match="--conformance-faulty-redis"):
        substitute("{faulty_redis}/0", addresses)


# -- the kit's verdicts through the endpoints ----------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _dynamodb_run(
    folder: Path,
    upstream: str,
    *args: str,
    strict: bool = True,
    options: tuple[str, str] = ("table_name", "endpoint_url"),
) -> KitRun:
    folder.mkdir(exist_ok=True)
    table = unique_table_name("strict")
    client = client_for(upstream)
    create_table(table, client=client)
    endpoint = "{strict_dynamodb}" if strict else upstream
    try:
        return run_pytest(
            folder,
            *args,
            f"--store-option={options[0]}={table}",
            f"--store-option={options[1]}={endpoint}",
            *([f"--conformance-strict-dynamodb={upstream}"] if strict else []),
            "--conformance-race-rounds=4",
            "--conformance-skip-heavy",  # what the endpoints add is judged, not capacity
            env=dict(AWS_TEST_ENVIRONMENT),
            timeout=900,
        )
    finally:
        delete_table(client, table)
        client.close()


PYTHON_REDIS_OPTIONS = ("url", "key_prefix", "socket_timeout=2")


def _redis_run(
    folder: Path,
    *args: str,
    strict: bool = True,
    options: tuple[str, str, str] = PYTHON_REDIS_OPTIONS,
) -> KitRun:
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set: no Redis server to relay to")
    folder.mkdir(exist_ok=True)
    prefix = f"strict-test-{secrets.token_hex(4)}:"
    url = "{faulty_redis}/0" if strict else REDIS_URL
    try:
        return run_pytest(
            folder,
            *args,
            f"--store-option={options[0]}={url}",
            f"--store-option={options[1]}={prefix}",
            f"--store-option={options[2]}",
            *([f"--conformance-faulty-redis={REDIS_URL}"] if strict else []),
            "--conformance-race-rounds=4",
            "--conformance-skip-heavy",  # what the endpoints add is judged, not capacity
            timeout=900,
        )
    finally:
        _check_no_keys_left(prefix)


def _check_no_keys_left(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        left = list(client.scan_iter(match=f"{prefix}*"))
        client.delete(*left) if left else None
    finally:
        client.close()
    assert not left, f"the run left {len(left)} keys under {prefix}"


def _store_args(*stores: str) -> list[str]:
    return [f"--store={store}" for store in stores]


def _only_own_clause_fails(run: KitRun, store: str) -> None:
    statuses = run.statuses(store)
    failing = {clause for clause, status in statuses.items() if status in ("fail", "error")}
    assert failing == {EXPECTED[store]}, (store, failing, run.output[-3000:])


@pytest.mark.dynamodb
def test_dynamodb_broken_stores_fail_exactly_their_clause_through_the_strict_endpoint(
    tmp_path_factory: pytest.TempPathFactory, moto_url: str
) -> None:
    run = kit_run_once(
        tmp_path_factory,
        "strict-dynamodb-broken",
        lambda folder: _dynamodb_run(
            folder,
            moto_url,
            *_store_args(*DYNAMODB_STORES),
            *JUDGED_CLAUSES,
            f"--conformance-seed={SEEDS[0]}",
        ),
    )
    assert run.returncode == 1, run.output[-3000:]
    for store in DYNAMODB_STORES:
        _only_own_clause_fails(run, store)
    rows = [row for row in run.report["results"] if row["store"] in DYNAMODB_STORES]  # type: ignore[index]
    assert all(row["through"].startswith("strict DynamoDB endpoint") for row in rows)
    assert "through the strict DynamoDB endpoint" in run.output
    assert "--conformance-strict-dynamodb=" in run.output  # the rerun command starts it again
    assert "{strict_dynamodb}" in run.output


@pytest.mark.redis
def test_the_redis_store_returning_none_fails_err_backend_and_the_reference_passes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run = kit_run_once(
        tmp_path_factory,
        "strict-redis",
        lambda folder: _redis_run(
            folder, *_store_args(REDIS_STORE, "redis"), f"--conformance-seed={SEEDS[0]}"
        ),
    )
    _only_own_clause_fails(run, REDIS_STORE)
    assert not [s for s in run.statuses("redis").values() if s in ("fail", "error")]
    assert run.status("redis", "ERR-BACKEND") == "pass"
    assert "fault-injecting Redis endpoint: injected" in run.output


@pytest.mark.dynamodb
@pytest.mark.redis
@pytest.mark.parametrize("seed", SEEDS[1:])
def test_every_seeded_run_meets_each_broken_store_on_its_clause(
    tmp_path: Path, moto_url: str, seed: int
) -> None:
    dynamodb = _dynamodb_run(
        tmp_path / "dynamodb",
        moto_url,
        *_store_args(*DYNAMODB_STORES),
        *JUDGED_CLAUSES,
        f"--conformance-seed={seed}",
    )
    for store in DYNAMODB_STORES:
        _only_own_clause_fails(dynamodb, store)
    redis_run = _redis_run(
        tmp_path / "redis", *_store_args(REDIS_STORE), *JUDGED_CLAUSES, f"--conformance-seed={seed}"
    )
    _only_own_clause_fails(redis_run, REDIS_STORE)


@pytest.mark.dynamodb
@pytest.mark.redis
def test_on_the_plain_emulator_and_redis_the_broken_stores_pass_their_clause(
    tmp_path: Path, moto_url: str
) -> None:
    dynamodb = _dynamodb_run(
        tmp_path / "dynamodb",
        moto_url,
        *_store_args(*DYNAMODB_STORES),
        *JUDGED_CLAUSES,
        "--failing-store-option=endpoint_url=http://127.0.0.1:1",
        "--failing-store-option=connect_timeout=1",
        strict=False,
    )
    for store in DYNAMODB_STORES:
        assert dynamodb.status(store, EXPECTED[store]) == "pass", dynamodb.output[-3000:]
    redis_run = _redis_run(
        tmp_path / "redis",
        *_store_args(REDIS_STORE),
        *JUDGED_CLAUSES,
        "--failing-store-option=url=redis://127.0.0.1:1/0",
        strict=False,
    )
    assert redis_run.status(REDIS_STORE, "ERR-BACKEND") == "pass", redis_run.output[-3000:]


@pytest.mark.dynamodb
@pytest.mark.node
def test_the_reference_store_on_dynalite_passes_every_clause_through_the_strict_endpoint(
    tmp_path: Path,
) -> None:
    node, npm = require_node()
    server = dynalite_server(node, install_dynalite(node, npm))
    try:
        run = _dynamodb_run(tmp_path, server.url, "--store=dynamodb")
    finally:
        server.stop()
    assert run.returncode == 0, run.output[-3000:]
    statuses = run.statuses("dynamodb")
    assert statuses["ERR-BACKEND"] == "pass"
    assert statuses["DATA-NESTING"] == "pass"
    assert "served 0 stale reads" in run.output  # ConsistentRead on every read
    report = json.loads((tmp_path / "conformance-report.json").read_text())
    assert {row["through"] for row in report["results"]} == {
        "strict DynamoDB endpoint",
        "strict DynamoDB endpoint (throttling)",
    }


JS_DYNAMODB = Path(__file__).parent / "js_stores" / "dynamodb-stores.mjs"
JS_BROKEN = {
    f"node:{JS_DYNAMODB}:EventualDynamoDBStore": "CONS-READ-YOUR-WRITES",
    f"node:{JS_DYNAMODB}:ThrottleSwallowingDynamoDBStore": "ERR-BACKEND",
    f"node:{JS_DYNAMODB}:NativeNestingDynamoDBStore": "DATA-NESTING",
}
JS_OPTIONS = ("tableName", "endpoint")
JS_REDIS = Path(__file__).parent / "js_stores" / "redis-stores.mjs"
JS_REDIS_BROKEN = f"node:{JS_REDIS}:NoneOnDroppedConnectionRedisStore"
JS_REDIS_OPTIONS = ("url", "keyPrefix", "timeoutMs=2000")


@pytest.mark.dynamodb
@pytest.mark.node
def test_javascript_dynamodb_stores_meet_the_strict_endpoint_through_the_bridge(
    tmp_path: Path, moto_url: str
) -> None:
    # The bridge's stores get what Python's get: the sound one passes every clause, each
    # broken one fails its own of the clauses the endpoint adds to.
    require_node()
    correct = f"node:{JS_DYNAMODB}"
    failing = "--failing-store-option=endpoint=http://127.0.0.1:1"
    run = _dynamodb_run(
        tmp_path / "sound", moto_url, f"--store={correct}", failing, options=JS_OPTIONS
    )
    assert run.returncode == 0, run.output[-3000:]
    assert run.status(correct, "ERR-BACKEND") == "pass"
    assert run.status(correct, "DATA-NESTING") == "pass"
    broken = _dynamodb_run(
        tmp_path / "broken",
        moto_url,
        *_store_args(*JS_BROKEN),
        *JUDGED_CLAUSES,
        f"--conformance-seed={SEEDS[0]}",
        failing,
        options=JS_OPTIONS,
    )
    for store, clause in JS_BROKEN.items():
        statuses = broken.statuses(store)
        assert {c for c, status in statuses.items() if status in ("fail", "error")} == {clause}, (
            store,
            statuses,
            broken.output[-3000:],
        )


@pytest.mark.dynamodb
@pytest.mark.node
def test_javascript_dynamodb_stores_pass_their_clause_on_the_plain_emulator(
    tmp_path: Path, moto_url: str
) -> None:
    require_node()
    run = _dynamodb_run(
        tmp_path,
        moto_url,
        *_store_args(*JS_BROKEN),
        *JUDGED_CLAUSES,
        "--failing-store-option=endpoint=http://127.0.0.1:1",
        strict=False,
        options=JS_OPTIONS,
    )
    for store, clause in JS_BROKEN.items():
        assert run.status(store, clause) == "pass", (store, run.output[-3000:])


@pytest.mark.redis
@pytest.mark.node
def test_javascript_redis_stores_meet_the_fault_injecting_endpoint_through_the_bridge(
    tmp_path: Path,
) -> None:
    require_node()
    correct = f"node:{JS_REDIS}"
    failing = "--failing-store-option=url=redis://127.0.0.1:1/0"
    strict = _redis_run(
        tmp_path / "strict",
        *_store_args(correct, JS_REDIS_BROKEN),
        f"--conformance-seed={SEEDS[0]}",
        failing,
        options=JS_REDIS_OPTIONS,
    )
    assert not [s for s in strict.statuses(correct).values() if s in ("fail", "error")], (
        strict.output[-3000:]
    )
    assert strict.status(correct, "ERR-BACKEND") == "pass"
    broken = strict.statuses(JS_REDIS_BROKEN)
    assert {c for c, status in broken.items() if status in ("fail", "error")} == {"ERR-BACKEND"}
    plain = _redis_run(
        tmp_path / "plain",
        *_store_args(JS_REDIS_BROKEN),
        "--clause=ERR-BACKEND",
        failing,
        strict=False,
        options=JS_REDIS_OPTIONS,
    )
    assert plain.status(JS_REDIS_BROKEN, "ERR-BACKEND") == "pass", plain.output[-3000:]
