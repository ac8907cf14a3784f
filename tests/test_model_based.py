"""The model-based clause finds a broken store and prints a script that replays the failure."""

from __future__ import annotations

import os
import re
from pathlib import Path

from kit_runs import TESTS_DIR, repro_failure, run_pytest


def test_a_resurrecting_store_fails_model_sequences_with_a_runnable_repro(tmp_path: Path) -> None:
    folder = tmp_path / "repros"
    run = run_pytest(
        tmp_path,
        "--store=broken_stores:ResurrectingCreateStore",
        "-k",
        "model",
        f"--conformance-repro-dir={folder}",
    )
    assert run.status("broken_stores:ResurrectingCreateStore", "MODEL-SEQUENCES") == "fail"
    script = folder / "broken_stores_ResurrectingCreateStore__MODEL-SEQUENCES.py"
    # The sequence is rebuilt from the model's operations, not recorded: no answer is claimed.
    assert "# in the suite:" not in script.read_text()
    last = repro_failure(script, tmp_path, env={**os.environ, "PYTHONPATH": str(TESTS_DIR)})
    # The same step as the suite's message, and the very message the suite quotes from it.
    step = re.search(r"step (\d+) of a generated sequence", run.output)
    assert step is not None, run.output[-3000:]
    assert last.startswith(f"AssertionError: MODEL-SEQUENCES violated: step {step[1]}: "), last
    assert f"its repro fails there too: {last.removeprefix('AssertionError: ')}" in run.output


def test_the_same_seed_finds_the_same_sequence(tmp_path: Path) -> None:
    scripts = []
    for attempt in range(2):
        folder = tmp_path / f"repros{attempt}"
        run_pytest(
            tmp_path,
            "--store=broken_stores:ResurrectingCreateStore",
            "--clause=MODEL-SEQUENCES",
            "--conformance-seed=12345",
            f"--conformance-repro-dir={folder}",
        )
        script = (folder / "broken_stores_ResurrectingCreateStore__MODEL-SEQUENCES.py").read_text()
        # ids and the clock's start differ per run; the operations do not
        body = script.split("async def main", 1)[1]
        scripts.append(re.sub(r"FakeClock\(start=[0-9.]+\)", "", body))
    assert scripts[0] == scripts[1]


def test_the_sequences_leave_out_what_a_failing_clause_judges(tmp_path: Path) -> None:
    # Judged alone (-k), MODEL-SEQUENCES still judges UPDATE-REPLACE first, in its process.
    run = run_pytest(tmp_path, "--store=broken_stores:MergingUpdateStore", "-k", "model")
    assert run.status("broken_stores:MergingUpdateStore", "MODEL-SEQUENCES") == "pass"


def test_the_reference_store_matches_the_model_over_many_examples(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "-k", "model", "--conformance-examples=200")
    assert run.status("memory", "MODEL-SEQUENCES") == "pass", run.output[-2000:]
