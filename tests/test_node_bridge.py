"""The Node bridge: JavaScript stores judged through ``--store=node:PATH[:EXPORT]``.

Bridge mechanics are tested on the proxy directly; one subprocess run of the kit then judges
the JavaScript example and the LeanMCP-like broken stores side by side, as a user would.

One piece: every test shares the Node host and the JavaScript stores set up here.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kit_runs import KitRun, kit_run_once, repro_failure, run_pytest

from conformance.local_time import local_time_zone
from conformance.node_bridge import (
    JavaScriptError,
    JavaScriptValue,
    NodeBridgeError,
    NodeSessionStore,
    _host_of,
    node_store_target,
)
from conformance.targets import StoreBuilder
from reference_stores.errors import InvalidSessionIdError, SessionExistsError, SessionStoreError

NODE = shutil.which("node")
pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
]

REPO = Path(__file__).resolve().parent.parent
JS_STORES = "tests/js_stores"
EXAMPLE = "examples/js/memory-store.js"

T = TypeVar("T")


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def target(spec: str, **kwargs: Any) -> Callable[..., Any]:
    return node_store_target(spec, cwd=REPO, **kwargs)


async def opened(factory: Callable[..., Any], **options: Any) -> NodeSessionStore:
    store: NodeSessionStore = await factory(**options)
    return store


def node_major() -> int:
    assert NODE is not None
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True).stdout
    return int(version.strip().lstrip("v").split(".")[0])


# --- loading modules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "js_class"),
    [
        (EXAMPLE, "MemorySessionStore"),  # CommonJS, module.exports = the class
        (f"{EXAMPLE}:MemorySessionStore", "MemorySessionStore"),  # CommonJS, named
        (f"{JS_STORES}/overwrite-on-create.mjs", "OverwritingCreateStore"),  # ESM, default
        (
            f"{JS_STORES}/upsert-on-update.mjs:UpsertingUpdateStore",
            "UpsertingUpdateStore",
        ),  # ESM, named
        (
            f"{JS_STORES}/expired-still-returned.cjs:ExpiredStillReturnedStore",
            "ExpiredStillReturnedStore",
        ),
        (
            f"{JS_STORES}/bridge-exports-object.cjs:SecondStore",
            "SecondStore",
        ),  # module.exports = {...}
        (
            f"{JS_STORES}/bridge-broken-shapes.mjs:makeStore",
            "MemorySessionStore",
        ),  # async factory function
    ],
)
def test_esm_and_commonjs_modules_load_by_default_or_named_export(spec: str, js_class: str) -> None:
    factory = target(spec)

    async def scenario() -> None:
        async with factory(ttl_seconds=30) as store:
            assert store.js_class == js_class
            await store.create_session("abc", {"k": [1, "v"]})
            record = await store.get_session("abc")
            assert record is not None
            assert record.session_id == "abc"
            assert record.data == {"k": [1, "v"]}

    run(scenario())


@pytest.mark.parametrize(
    ("spec", "runner", "expected"),
    [
        (f"{JS_STORES}/no-such-store.js", None, "module not found: "),
        (
            f"{JS_STORES}/bridge-broken-shapes.mjs:Nope",
            None,
            "has no export named Nope; it exports MissingMethods",
        ),
        (f"{JS_STORES}/bridge-broken-shapes.mjs", None, "default export of "),
        (
            f"{JS_STORES}/bridge-broken-shapes.mjs:notAFunction",
            None,
            "is a plain object, not a class or factory function",
        ),
        (
            f"{JS_STORES}/bridge-exports-object.cjs",
            None,
            "it exports FirstStore, SecondStore: name one as node:PATH:EXPORT",
        ),
        (
            f"{JS_STORES}/bridge-throws-on-import.mjs",
            None,
            "Error: this module cannot be loaded: missing configuration",
        ),
        (
            f"{JS_STORES}/typed-store.ts",
            None,
            "a TypeScript module needs a runner: pass --node-runner=tsx",
        ),
        (
            EXAMPLE,
            "no-such-runner-here",
            "the node runner 'no-such-runner-here' was not found on PATH",
        ),
        (EXAMPLE, "node --no-such-flag", "died before it was ready: "),
    ],
)
def test_startup_problems_are_one_line(spec: str, runner: str | None, expected: str) -> None:
    with pytest.raises(NodeBridgeError) as caught:
        target(spec, runner=runner)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_a_host_that_dies_at_startup_names_its_stderr() -> None:
    with pytest.raises(NodeBridgeError) as caught:
        target(EXAMPLE, runner="node --no-such-flag")
    assert "bad option: --no-such-flag" in str(caught.value)


def test_node_missing_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        NodeBridgeError, match=r"^node was not found on PATH: install Node\.js 18"
    ) as caught:
        target(EXAMPLE)
    assert "\n" not in str(caught.value)


def test_a_store_without_a_method_is_refused_in_one_line_when_built() -> None:
    factory = target(f"{JS_STORES}/bridge-broken-shapes.mjs:MissingMethods")
    with pytest.raises(NodeBridgeError) as caught:
        run(opened(factory))
    message = str(caught.value)
    assert "has no method getSession, deleteSession" in message
    assert "it has get_session: JavaScript stores use the camelCase names" in message
    assert "\n" not in message


def test_a_method_that_returns_no_promise_fails_its_call_in_one_line() -> None:
    factory = target(f"{JS_STORES}/bridge-broken-shapes.mjs:SyncMethods")

    async def scenario() -> None:
        async with factory() as store:
            assert store.js_methods["sessionExists"] == "function"
            assert store.js_methods["getSession"] == "async"
            with pytest.raises(NodeBridgeError) as caught:
                await store.session_exists("abc")
            assert "sessionExists returned a boolean (false), not a Promise" in str(caught.value)
            assert "\n" not in str(caught.value)
            assert await store.get_session("abc") is None  # the other methods still work

    run(scenario())


def test_a_plain_function_returning_a_promise_counts_as_async() -> None:
    # Compiled TypeScript (target ES2015) turns async methods into such functions.
    factory = target(f"{JS_STORES}/bridge-barrier.mjs")

    async def scenario() -> None:
        async with factory(width=1) as store:
            assert store.js_methods["sessionExists"] == "function"
            assert await store.session_exists("abc") is True

    run(scenario())


# --- calls ------------------------------------------------------------------------------------


def test_concurrent_calls_overlap_inside_the_javascript_store() -> None:
    # Each call answers True only while all 8 are waiting in the store at once.
    factory = target(f"{JS_STORES}/bridge-barrier.mjs")

    async def scenario() -> list[bool]:
        async with factory(width=8) as store:
            return list(await asyncio.gather(*(store.session_exists(f"id{n}") for n in range(8))))

    assert run(scenario()) == [True] * 8


def test_a_host_crash_fails_pending_calls_with_its_stderr_and_the_next_store_gets_a_new_host() -> (
    None
):
    factory = target(f"{JS_STORES}/bridge-crash.mjs")

    async def scenario() -> None:
        store = await opened(factory)
        waiting = asyncio.ensure_future(store.session_exists("never-answered"))
        await asyncio.sleep(0.05)
        with pytest.raises(SessionStoreError) as crashed:
            await asyncio.wait_for(store.get_session("crash"), 10)
        with pytest.raises(SessionStoreError) as pending:
            await asyncio.wait_for(waiting, 10)
        for error in (crashed.value, pending.value):
            assert "exited with code 7 while this call was pending" in str(error)
            assert "CrashingStore: about to crash on purpose" in str(error)
        with pytest.raises(SessionStoreError, match="exited with code 7"):
            await store.session_exists("after the crash")
        await store.aclose()
        async with factory() as fresh:
            assert await fresh.get_session("fine") is None

    run(scenario())


@pytest.mark.parametrize(
    ("session_id", "expected", "shown"),
    [
        ("type", TypeError, "TypeError: data must be an object"),
        ("range", ValueError, "RangeError: ttlSeconds must be positive"),
        ("value", ValueError, "ValueError: updates may only hold data"),
        ("exists", SessionExistsError, "SessionExistsError: session exists"),
        ("invalid", InvalidSessionIdError, "Error: bad id"),  # by the class name in its chain
        ("subclass", TypeError, "StoreFailure: a TypeError by inheritance"),
        ("backend", SessionStoreError, "SessionStoreError: backend down"),
        (
            "plain",
            SessionStoreError,
            "Error (JavaScript; reported as SessionStoreError): something else",
        ),
        (
            "string",
            SessionStoreError,
            "non-Error (JavaScript; reported as SessionStoreError): a bare string (a string was thrown, not an Error)",
        ),
    ],
)
def test_thrown_errors_map_by_name_with_message_and_stack(
    session_id: str, expected: type[Exception], shown: str
) -> None:
    factory = target(f"{JS_STORES}/bridge-errors.mjs")

    async def scenario() -> None:
        async with factory() as store:
            for call in (store.get_session, store.session_exists, store.delete_session):
                with pytest.raises(expected) as caught:
                    await call(session_id)
                text = str(caught.value)
                assert text.startswith(shown)
                if session_id != "string":
                    assert "JavaScript stack:" in text
                    assert "bridge-errors.mjs" in text
                    assert "node_bridge/host.mjs" not in text
                    assert caught.value.js_name  # type: ignore[attr-defined]

    run(scenario())


def test_a_javascript_error_cause_becomes_the_python_cause() -> None:
    factory = target(f"{JS_STORES}/bridge-errors.mjs")

    async def scenario() -> None:
        async with factory() as store:
            with pytest.raises(SessionStoreError) as caught:
                await store.update_session("backend", {"data": {}})
            cause = caught.value.__cause__
            assert isinstance(cause, JavaScriptError)
            assert cause.js_message == "connect ECONNREFUSED 127.0.0.1:6379"
            with pytest.raises(SessionStoreError) as plain:
                await store.update_session("plain", {})
            assert plain.value.__cause__ is None

    run(scenario())


def test_constructor_errors_map_too() -> None:
    factory = target(EXAMPLE)
    with pytest.raises(
        ValueError, match="RangeError: ttlSeconds must be positive and finite, not 0"
    ):
        run(opened(factory, ttl_seconds=0))
    with pytest.raises(TypeError, match="TypeError: ttlSeconds must be a number"):
        run(opened(factory, ttl_seconds="60"))


def test_the_store_gets_one_options_object_with_ttl_seconds_as_ttlSeconds() -> None:
    factory = target(f"{JS_STORES}/bridge-echo.mjs:EchoStore")

    async def options_of(**options: Any) -> Any:
        async with factory(**options) as store:
            record = await store.get_session("options")
            assert record is not None
            return record.data

    assert run(options_of(ttl_seconds=5, url="redis://127.0.0.1:6379", keyPrefix="p:")) == {
        "url": "redis://127.0.0.1:6379",
        "keyPrefix": "p:",
        "ttlSeconds": 5,
    }
    assert run(options_of()) == {}  # the store's own default, not the kit's
    assert run(options_of(ttl_seconds=None)) == {"ttlSeconds": None}  # explicitly no expiry
    assert run(options_of(ttlSeconds=7)) == {"ttlSeconds": 7}  # a --store-option, as given


def test_the_fake_clock_drives_date_now_and_new_date() -> None:
    factory = target(f"{JS_STORES}/bridge-echo.mjs:EchoStore")
    moment = [1_900_000_000.25]

    async def scenario() -> None:
        async with factory(clock=lambda: moment[0]) as store:
            assert store.clock_mode == "fake"
            for when in (1_900_000_000.25, 1_900_000_123.4567, 1_800_000_000.0):  # also backwards
                moment[0] = when
                record = await store.get_session("now")
                assert record is not None
                expected = datetime.fromtimestamp(math.floor(when * 1000) / 1000, timezone.utc)
                assert record.created_at == expected
                assert record.updated_at == expected
                assert record.ttl == math.floor(when * 1000)
                assert str(expected.year) in record.data["string"]

    run(scenario())


def test_the_host_follows_the_local_time_zone_a_check_moves_and_then_its_own() -> None:
    factory = target(f"{JS_STORES}/bridge-echo.mjs:EchoStore")

    async def zone_offset(store: Any) -> int:
        record = await store.get_session("now")
        assert record is not None
        offset: int = record.data["zoneOffset"]  # minutes west of UTC, as JavaScript counts
        return offset

    async def scenario() -> None:
        async with factory() as store:
            own = await zone_offset(store)
            with local_time_zone() as zone:
                assert await zone_offset(store) == -zone.offset_seconds // 60
            assert await zone_offset(store) == own

    run(scenario())


def test_without_a_clock_the_store_sees_real_time() -> None:
    factory = target(f"{JS_STORES}/bridge-echo.mjs:EchoStore")

    async def scenario() -> None:
        async with factory(clock=lambda: 1_000_000_000.0) as fake:
            await fake.get_session("now")
        async with factory() as store:
            assert store.clock_mode == "real"
            before = time.time()
            record = await store.get_session("now")
            after = time.time()
            assert record is not None
            assert before - 0.01 <= record.created_at.timestamp() <= after + 0.01

    run(scenario())


def test_values_cross_with_their_javascript_types() -> None:
    factory = target(f"{JS_STORES}/bridge-echo.mjs:EchoStore")
    data = {
        "int64": 2**63 - 1,
        "safe": 2**53 - 1,
        "huge": -(2**100),
        "float": 0.1,
        "bytes": b"\x00\xff",
        "nan": float("nan"),
        "tuple": (1, "two"),
        "text": "😀\x00é",
        "nested": {"list": [True, None, 1.5]},
    }

    async def scenario() -> None:
        async with factory() as store:
            await store.create_session("typed", data)
            record = await store.get_session("typed")
            assert record is not None
            assert record.created_at == datetime(
                2023, 11, 14, 22, 13, 20, 123000, tzinfo=timezone.utc
            )
            assert record.data["types"] == {
                "int64": "bigint",
                "safe": "number",
                "huge": "bigint",
                "float": "number",
                "bytes": "Uint8Array",
                "nan": "number NaN",
                "tuple": ["number", "string"],
                "text": "string",
                "nested": {"list": ["boolean", "null", "number"]},
            }
            given = record.data["given"]
            assert given["int64"] == 2**63 - 1
            assert given["huge"] == -(2**100)
            assert given["bytes"] == b"\x00\xff"
            assert math.isnan(given["nan"])
            assert given["tuple"] == [1, "two"]
            assert given["text"] == "😀\x00é"

            odd = await store.get_session("odd")
            assert odd is not None
            assert (
                odd.created_at == "2026-01-02T03:04:05.678Z"
            )  # not a Date: passed on for the suite to judge
            assert odd.updated_at is None  # an invalid Date
            assert odd.ttl == 2**60  # an integral double beyond 2^53, exactly
            assert odd.data["map"] == JavaScriptValue("a Map of 1")
            assert odd.data["big"] == 2**70
            assert odd.data["bytes"] == b"\x01\x02\xff"
            assert odd.data["inf"] == float("-inf")
            assert odd.data["fn"] == JavaScriptValue("a function fn")

    run(scenario())


def test_create_without_data_leaves_the_argument_out() -> None:
    factory = target(f"{JS_STORES}/bridge-echo.mjs:EchoStore")

    async def scenario() -> None:
        async with factory() as store:
            await store.create_session("omitted")
            await store.create_session("none", None)
            for session_id in ("omitted", "none"):
                record = await store.get_session(session_id)
                assert record is not None
                assert record.data == {"types": "undefined", "argumentCount": 1}

    run(scenario())


@pytest.mark.parametrize(
    "bad", [{"set": {1, 2}}, {1: "int key"}, {"when": datetime.now(timezone.utc)}]
)
def test_what_javascript_cannot_receive_is_refused_before_sending(bad: Any) -> None:
    factory = target(f"{JS_STORES}/bridge-echo.mjs:EchoStore")

    async def scenario() -> None:
        async with factory() as store:
            with pytest.raises(TypeError, match=r"cannot send .* to JavaScript"):
                await store.create_session("refused", bad)
            assert await store.session_exists("refused") is False

    run(scenario())


def test_store_output_goes_to_stderr_not_the_protocol() -> None:
    factory = target(f"{JS_STORES}/bridge-echo.mjs:EchoStore")

    async def scenario() -> None:
        async with factory() as store:
            await store.create_session("printed", {})
            assert await store.session_exists("printed") is True

    run(scenario())
    # stderr is read by a thread of its own: a line may arrive after the answer that followed it.
    host = _host_of(factory)
    deadline = time.monotonic() + 10
    while 'createSession("printed")' not in host.stderr_tail() and time.monotonic() < deadline:
        time.sleep(0.01)
    tail = host.stderr_tail()
    assert "EchoStore built: this line must not reach the protocol" in tail
    assert 'createSession("printed")' in tail


def test_declarations_reach_the_suite() -> None:
    async def scenario() -> None:
        async with target(EXAMPLE)() as store:
            assert store.shares_sessions_across_instances is False
            # The store declares nothing of the kind: the reason names who rules it out.
            assert store.conformance_not_applicable["DATA-INVALID"].startswith("the Node bridge")
            assert "2^53" in store.conformance_notes["DATA-INTEGERS"]
            assert "fake clock" not in store.conformance_notes["GET-EXPIRED"]
        async with target(EXAMPLE)(clock=time.time) as timed:
            assert "fake clock" in timed.conformance_notes["GET-EXPIRED"]
        async with target(f"{JS_STORES}/bridge-echo.mjs")() as echo:
            assert not hasattr(echo, "shares_sessions_across_instances")  # declared nothing

    run(scenario())


@pytest.mark.parametrize(
    ("export", "accepts_ttl", "accepts_clock"),
    [
        # Read from the parameter list, as Python reads a signature.
        ("NoConstructor", False, False),
        ("EmptyConstructor", False, False),
        ("CommentOnlyConstructor", False, False),
        ("FixesItsOwnTtl", False, False),
        ("makeWithoutOptions", False, False),
        ("arrowWithoutOptions", False, False),
        ("DefaultedOptions", True, True),
        ("DestructuredOptions", True, True),
        ("InheritsOptions", True, True),
        ("makeWithOptions", True, True),
        ("arrowWithOptions", True, True),
        ("arrowSingleParameter", True, True),
        ("LegacyConstructor", True, True),
        # Static declarations override what was read.
        ("DeclaresNoTtl", False, True),
        ("DeclaresNoClock", True, False),
        ("DeclaresTtlAndClock", True, True),
    ],
)
def test_whether_a_store_takes_a_ttl_and_a_clock_is_read_from_its_parameters(
    export: str, accepts_ttl: bool, accepts_clock: bool
) -> None:
    builder = StoreBuilder(target(f"{JS_STORES}/declarations.mjs:{export}"))
    assert (builder.accepts_ttl, builder.accepts_clock) == (accepts_ttl, accepts_clock)


def test_a_store_that_takes_no_options_gets_no_ttl_and_sees_real_time() -> None:
    factory = target(f"{JS_STORES}/declarations.mjs:EmptyConstructor")

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            builder = StoreBuilder(factory)
            store = await builder.open(stack, clock=lambda: 1_000_000.0)
            assert store.clock_mode == "real"
            before = time.time()
            await store.create_session("s", {})
            record = await store.get_session("s")
            assert record is not None
            assert record.ttl is None
            assert record.created_at.timestamp() >= before - 1
            assert "acceptsClock = false" in store.conformance_notes["TIME-ORDER"]

    run(scenario())


def test_static_declarations_reach_the_suite_as_class_attributes_do() -> None:
    async def scenario() -> None:
        async with target(f"{JS_STORES}/declarations.mjs:StaticDeclarations")() as store:
            assert store.shares_sessions_across_instances is True
            assert store.conformance_not_applicable["CREATE-RACE"] == "declared on the class"
            assert "DATA-INVALID" in store.conformance_not_applicable  # the bridge's own
            assert store.conformance_notes["DATA-TYPES"].startswith("a note declared on the class")

    run(scenario())


def test_the_callers_changes_reach_objects_the_store_kept() -> None:
    # A store that hands out its own data object is caught as a JavaScript caller would catch it.
    async def changed_after_mutation(spec: str) -> Any:
        async with target(spec)() as store:
            await store.create_session("shared", {"list": [1], "obj": {"k": "v"}})
            record = await store.get_session("shared")
            assert record is not None
            record.data["list"].append(2)
            record.data["obj"]["k"] = "changed"
            del record.data["obj"]
            record.data = {"replaced": True}  # after the in-place changes: those still count
            again = await store.get_session("shared")
            assert again is not None
            return again.data

    assert run(changed_after_mutation(f"{JS_STORES}/own-object.js")) == {"list": [1, 2]}
    assert run(changed_after_mutation(EXAMPLE)) == {"list": [1], "obj": {"k": "v"}}


def test_a_runner_command_runs_the_host() -> None:
    if node_major() < 20:
        pytest.skip("module.register() in the test's loader needs Node 20.6 or later")
    loader = REPO / JS_STORES / "strip-types-loader.mjs"
    factory = target(f"{JS_STORES}/plain-typescript.ts", runner=f"node --import {loader.as_uri()}")

    async def scenario() -> None:
        async with factory(ttl_seconds=10) as store:
            assert store.js_class == "PlainTypeScriptStore"
            await store.create_session("ts", {"typed": True})
            assert await store.session_exists("ts") is True

    run(scenario())


@pytest.mark.skipif(
    shutil.which("tsx") is None, reason="tsx is not installed (npm install --global tsx)"
)
def test_a_typescript_store_runs_through_tsx() -> None:
    factory = target(f"{JS_STORES}/typed-store.ts:TypedMemoryStore", runner="tsx")

    async def scenario() -> None:
        async with factory(ttl_seconds=10, clock=time.time) as store:
            assert store.js_class == "TypedMemoryStore"
            await store.create_session("ts", {"typed": True})
            record = await store.get_session("ts")
            assert record is not None
            assert record.data == {"typed": True}

    run(scenario())


# --- the kit, as a user runs it ------------------------------------------------------------------

BROKEN_JS_STORES = {
    # store spec -> the clause the suite must fail it on
    f"{JS_STORES}/overwrite-on-create.mjs": "CREATE-EXISTS",
    f"{JS_STORES}/upsert-on-update.mjs:UpsertingUpdateStore": "UPDATE-NO-UPSERT",
    f"{JS_STORES}/wipe-on-touch.cjs": "UPDATE-TOUCH",
    f"{JS_STORES}/expired-still-returned.cjs:ExpiredStillReturnedStore": "GET-EXPIRED",
    f"{JS_STORES}/own-object.js": "GET-ISOLATED",
    f"{JS_STORES}/by-reference.mjs": "DATA-COPY-IN",
    f"{JS_STORES}/assigned-keys.mjs": "DATA-STRINGS",
    f"{JS_STORES}/local-wall-clock.mjs:LocalWallClockStore": "TIME-UTC",
    f"{JS_STORES}/loose-dirty-check.mjs": "UPDATE-REPLACE",
    f"{JS_STORES}/escaped-keys.mjs": "DATA-STRINGS",
    f"{JS_STORES}/marker-codec.mjs": "DATA-TYPES",
}


def label(spec: str) -> str:
    return f"node:{REPO / spec}"


@pytest.fixture(scope="module")
def example_verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    return kit_run_once(
        tmp_path_factory,
        "node-example",
        lambda folder: run_pytest(
            folder,
            f"--store={label(EXAMPLE)}",
            "--conformance-race-rounds=5",
            "--conformance-examples=10",
            "-q",
        ),
    )


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    # The model-based clause shrinks every failure it finds: seconds per broken store, and
    # the clause each store breaks is checked by a scenario of its own anyway. No store here
    # breaks a clause only the heavy checks reach (the example's run above makes them over
    # the bridge), and 10,000 sessions over the bridge double the time of each store's run.
    return kit_run_once(
        tmp_path_factory,
        "node-broken",
        lambda folder: run_pytest(
            folder,
            *(f"--store={label(spec)}" for spec in BROKEN_JS_STORES),
            "--conformance-race-rounds=5",
            "--conformance-skip-heavy",
            "-k",
            "not random_operation_sequences",
            "-q",
        ),
    )


def test_the_javascript_example_passes_every_clause_that_applies(example_verdicts: KitRun) -> None:
    verdicts = example_verdicts
    statuses = verdicts.statuses(label(EXAMPLE))
    assert statuses, verdicts.output[-3000:]
    assert verdicts.returncode == 0
    assert {clause for clause, status in statuses.items() if status not in ("pass", "n/a")} == set()
    not_applicable = {clause for clause, status in statuses.items() if status == "n/a"}
    assert "DATA-INVALID" in not_applicable
    assert {
        "DATA-INTEGERS",
        "DATA-BIG-INTEGERS",
        "GET-ISOLATED",
        "DATA-COPY-IN",
        "CREATE-RACE",
    } <= {clause for clause, status in statuses.items() if status == "pass"}
    assert f"{label(EXAMPLE)}: " in verdicts.output
    assert "(TTL clauses: fake clock)" in verdicts.output


@pytest.mark.parametrize(("spec", "clause"), sorted(BROKEN_JS_STORES.items()))
def test_the_suite_fails_each_broken_javascript_store_on_its_clause_and_no_other(
    verdicts: KitRun, spec: str, clause: str
) -> None:
    statuses = verdicts.statuses(label(spec))
    assert statuses.get(clause) == "fail", statuses
    # Its clause alone: every other one passes, is not applicable, or is BLOCKED by it.
    assert {c for c, status in statuses.items() if status in ("fail", "error")} == {clause}
    assert statuses.get("IFACE-RECORD") == "pass"


def test_a_failure_report_carries_the_javascript_side(verdicts: KitRun) -> None:
    output = verdicts.output
    assert "CREATE-EXISTS (MUST) violated" in output
    assert "check.open(node_store_target(" in output  # the repro rebuilds the JavaScript store
    assert (
        "note: the host ran this store on the suite's fake clock" in output
    )  # on the TTL failures


def test_the_repro_of_a_javascript_store_runs_and_fails_on_its_clause(
    verdicts: KitRun, tmp_path: Path
) -> None:
    assert verdicts.report is not None
    row = next(
        r
        for r in verdicts.report["results"]
        if r["clause"] == "CREATE-EXISTS" and r["status"] == "fail" and r["repro"]
    )
    script = tmp_path / "repro.py"
    script.write_text(row["repro"])
    last = repro_failure(script, tmp_path)
    assert last.startswith("AssertionError: CREATE-EXISTS violated"), last


def test_a_bad_node_target_stops_the_run_with_one_line(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, f"--store=node:{tmp_path / 'missing.js'}", report=False)
    assert result.returncode == 4, result.output[-2000:]
    lines = [line for line in result.output.splitlines() if "module not found" in line]
    assert lines == [
        f"ERROR: --store=node:{tmp_path / 'missing.js'}: module not found: {tmp_path / 'missing.js'}"
    ]


def test_the_javascript_sources_are_valid_for_node() -> None:
    assert NODE is not None
    sources = [
        REPO / EXAMPLE,
        REPO / "conformance" / "node_bridge" / "host.mjs",
        *sorted((REPO / JS_STORES).glob("*.*js")),
    ]
    for source in sources:
        checked = subprocess.run(
            [NODE, "--check", str(source)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, f"{source}: {checked.stderr}"


def test_a_store_that_expires_in_real_time_is_judged_without_the_fake_clock(tmp_path: Path) -> None:
    target = f"node:{Path(__file__).parent / 'js_stores' / 'real-time-store.mjs'}"
    run = run_pytest(tmp_path, f"--store={target}", "-k", "ttl or expired or refresh")
    assert run.returncode == 0, run.output[-3000:]
    assert "TTL clauses: real time" in run.output
    statuses = run.statuses(target)
    for clause in ("TTL-WINDOW", "GET-EXPIRED", "UPDATE-TTL-RESTART", "GET-NO-REFRESH"):
        assert statuses[clause] == "pass"
