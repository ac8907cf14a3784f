"""JavaScript stores and their Python twins get the same verdict, clause by clause.

Each pair is one behaviour written twice: a JavaScript store in ``tests/js_stores`` judged
through the Node bridge, and its Python twin in ``tests/twin_stores.py``. The kit must give
both the same status on every clause, and the same partial verdict where a part was not
tried. The only differences allowed are the platform limits docs/node-bridge.md documents,
each named below and allowed only to the pairs that meet it, with the status it must take.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kit_runs import KitRun, kit_run_once, run_pytest

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PlatformLimit:
    """A documented way a JavaScript store's verdict may differ from its Python twin's."""

    clause: str
    javascript_status: str
    why: str
    javascript_reason: str = ""
    """Text the JavaScript verdict's reason must hold (for a partial pass, what was left out)."""


BRIDGE_INPUTS = PlatformLimit(
    "DATA-INVALID",
    "n/a",
    "its inputs (NaN, bytes, sets, datetimes, ...) have no JavaScript form to send",
)
DOUBLE_INTEGERS = PlatformLimit(
    "DATA-INTEGERS",
    "fail",
    "JSON.stringify cannot write a BigInt, and a JavaScript number cannot hold an integer "
    "beyond 2^53",
)
DOUBLE_INTEGERS_BASELINED = PlatformLimit(
    "DATA-INTEGERS", "expected-fail", DOUBLE_INTEGERS.why + " (listed in the baseline)"
)
INTEGERS_NOT_DRAWN = PlatformLimit(
    "MODEL-SEQUENCES",
    "pass",
    "integers beyond 2^53 belong to DATA-INTEGERS alone: the generated sequences leave them "
    "out while that clause does not pass, and the pass says so",
    javascript_reason="partial: not drawn, as their clauses do not pass against the store: "
    "int64 (DATA-INTEGERS)",
)
BIG_INTEGERS_BLOCKED = PlatformLimit(
    "DATA-BIG-INTEGERS",
    "blocked",
    "it leans on DATA-INTEGERS, which such a store fails, baselined or not",
)


@dataclass(frozen=True)
class Twin:
    behaviour: str
    javascript: str
    python: str
    breaks: frozenset[str]
    """Clauses both must fail: the behaviour is really there, on both sides (the clauses
    that lean on these may be blocked instead; the pair must agree on that too)."""
    limits: tuple[PlatformLimit, ...] = (BRIDGE_INPUTS,)
    options: tuple[str, ...] = field(default=())

    @property
    def javascript_label(self) -> str:
        return f"node:{REPO / self.javascript}"

    @property
    def python_label(self) -> str:
        return f"twin_stores:{self.python}"


TWINS = [
    Twin("a correct store", "examples/js/memory-store.js", "CorrectStore", frozenset()),
    Twin(
        "LeanMCP-like memory: no options, so no TTL and no clock",
        "tests/js_stores/twin-leanmcp-memory.mjs",
        "LeanMemoryStore",
        frozenset({"CREATE-EXISTS", "GET-ISOLATED", "UPDATE-KEYS", "DATA-COPY-IN"}),
    ),
    Twin(
        "overwrite on create",
        "tests/js_stores/overwrite-on-create.mjs",
        "OverwritingCreateStore",
        frozenset({"CREATE-EXISTS"}),
    ),
    Twin(
        "shared objects",
        "tests/js_stores/twin-shared-objects.mjs",
        "SharedObjectsStore",
        frozenset({"GET-ISOLATED", "DATA-COPY-IN"}),
    ),
    Twin(
        "upsert on update",
        "tests/js_stores/upsert-on-update.mjs:UpsertingUpdateStore",
        "UpsertingUpdateStore",
        frozenset({"UPDATE-NO-UPSERT"}),
    ),
    Twin(
        "a touch wipes the data",
        "tests/js_stores/wipe-on-touch.cjs",
        "WipingTouchStore",
        frozenset({"UPDATE-TOUCH"}),
    ),
    Twin(
        "expiry never compared with the time",
        "tests/js_stores/expired-still-returned.cjs:ExpiredStillReturnedStore",
        "ExpiredReadableStore",
        frozenset({"GET-EXPIRED"}),
    ),
]
SWALLOWING = Twin(
    "swallowed backend errors",
    "tests/js_stores/twin-swallowing.mjs",
    "SwallowingStore",
    frozenset({"ERR-BACKEND"}),
    options=("--failing-store-option=down=true",),
)
JSON_TEXT = Twin(
    "data kept as JSON text, DATA-INTEGERS in a one-line baseline",
    "tests/js_stores/twin-json-text.mjs",
    "JsonTextStore",
    frozenset(),
    limits=(BRIDGE_INPUTS, DOUBLE_INTEGERS_BASELINED, BIG_INTEGERS_BLOCKED, INTEGERS_NOT_DRAWN),
)
BASELINE = "DATA-INTEGERS   # JavaScript numbers: integers beyond 2^53 are not kept\n"


def judge(directory: Path, twins: list[Twin], *options: str) -> KitRun:
    stores = [f"--store={label}" for t in twins for label in (t.javascript_label, t.python_label)]
    return run_pytest(
        directory,
        *stores,
        *options,
        "--conformance-race-rounds=5",
        "--conformance-examples=10",
        # A heavy check's verdict may depend on speed (how many of 10,000 sessions a store
        # writes in its budget), and the bridge is slower than Python: the twins would differ
        # for no behaviour of theirs. test_node_bridge judges the heavy checks over the bridge.
        "--conformance-skip-heavy",
        "-n",
        "2",
        "-q",
    )


@pytest.fixture(scope="module")
def twin_verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    return kit_run_once(tmp_path_factory, "twins", lambda folder: judge(folder, TWINS))


@pytest.fixture(scope="module")
def swallowing_verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    return kit_run_once(
        tmp_path_factory,
        "twins-backend",
        lambda folder: judge(folder, [SWALLOWING], *SWALLOWING.options),
    )


@pytest.fixture(scope="module")
def json_text_verdicts(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    def judge_with_baseline(directory: Path) -> KitRun:
        (directory / "conformance-baseline.txt").write_text(BASELINE, encoding="utf-8")
        return judge(directory, [JSON_TEXT], "--conformance-baseline=conformance-baseline.txt")

    return kit_run_once(tmp_path_factory, "twins-json", judge_with_baseline)


def rows(run: KitRun, store: str) -> dict[str, tuple[str, str]]:
    assert run.report is not None, run.output[-3000:]
    found = {
        row["clause"]: (row["status"], row["reason"])
        for row in run.report["results"]
        if row["store"] == store
    }
    assert found, f"no verdicts for {store}:\n{run.output[-3000:]}"
    return found


def partial(reason: str) -> str:
    return reason if reason.startswith("partial: ") else ""


def differences(run: KitRun, twin: Twin) -> list[str]:
    """Every clause on which the pair's verdicts differ beyond the limits the pair may meet."""
    javascript, python = rows(run, twin.javascript_label), rows(run, twin.python_label)
    assert set(javascript) == set(python)
    limits = {limit.clause: limit for limit in twin.limits}
    found = []
    for clause, (status, reason) in javascript.items():
        twin_status, twin_reason = python[clause]
        if clause in limits:
            limit = limits[clause]
            if status != limit.javascript_status or limit.javascript_reason not in reason:
                found.append(
                    f"{clause}: JavaScript {status} ({reason[:200]}), not {limit.javascript_status} "
                    f"{limit.javascript_reason!r} as the platform limit ({limit.why}) says"
                )
        elif (status, partial(reason)) != (twin_status, partial(twin_reason)):
            found.append(
                f"{clause}: JavaScript {status} {partial(reason)!r} ({reason[:200]}), "
                f"Python {twin_status} {partial(twin_reason)!r} ({twin_reason[:200]})"
            )
    for clause in sorted(twin.breaks):
        if (javascript[clause][0], python[clause][0]) != ("fail", "fail"):
            found.append(f"{clause}: the behaviour must fail it on both sides")
    return found


@pytest.mark.parametrize("twin", TWINS, ids=lambda twin: twin.behaviour)
def test_a_javascript_store_and_its_python_twin_get_the_same_verdicts(
    twin_verdicts: KitRun, twin: Twin
) -> None:
    assert differences(twin_verdicts, twin) == []


def test_swallowed_backend_errors_get_the_same_verdicts(swallowing_verdicts: KitRun) -> None:
    assert differences(swallowing_verdicts, SWALLOWING) == []


def test_a_store_without_options_is_judged_without_ttl_or_clock_on_both_sides(
    twin_verdicts: KitRun,
) -> None:
    lean = TWINS[1]
    for label in (lean.javascript_label, lean.python_label):
        verdicts = rows(twin_verdicts, label)
        assert verdicts["TTL-CONFIG"][0] == "n/a"
        assert verdicts["TIME-ORDER"] == (
            "pass",
            "partial: step-back not tried: the store takes no clock",
        )
        assert verdicts["UPDATE-TIMES"][1] == (
            "partial: step-back not tried: the store takes no clock"
        )


def test_a_json_text_store_with_a_one_line_baseline_passes_the_run(
    json_text_verdicts: KitRun,
) -> None:
    # Integers beyond 2^53 belong to DATA-INTEGERS alone: baselined there, they must not
    # fail MODEL-SEQUENCES (or any other clause) in its stead.
    assert differences(json_text_verdicts, JSON_TEXT) == []
    verdicts = rows(json_text_verdicts, JSON_TEXT.javascript_label)
    assert {clause for clause, (status, _) in verdicts.items() if status == "expected-fail"} == {
        "DATA-INTEGERS"
    }
    assert json_text_verdicts.returncode == 0, json_text_verdicts.output[-3000:]


def test_the_summary_shows_what_a_pass_left_untried(twin_verdicts: KitRun) -> None:
    lines = [line for line in twin_verdicts.output.splitlines() if "TIME-ORDER" in line]
    assert any(
        "PASS" in line and "partial: step-back not tried: the store takes no clock" in line
        for line in lines
    ), lines


def test_a_python_factory_may_declare_that_it_takes_no_ttl_as_a_javascript_store_may() -> None:
    from conformance.targets import StoreBuilder

    def open_store(**options: object) -> object:
        raise AssertionError("not built here")

    assert StoreBuilder(open_store).accepts_ttl is True
    open_store.accepts_ttl = False  # type: ignore[attr-defined]
    builder = StoreBuilder(open_store)
    assert (builder.accepts_ttl, builder.accepts_clock) == (False, True)
