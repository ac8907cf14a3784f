"""The model-based clause finds a broken store and prints a script that replays the failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kit_runs import TESTS_DIR, run_pytest

MARKER = "(the minimal failing sequence, as a script that replays it:)"


def test_a_merging_store_fails_model_sequences_with_a_runnable_repro(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=broken_stores:MergingUpdateStore", "-k", "model")
    assert run.status("broken_stores:MergingUpdateStore", "MODEL-SEQUENCES") == "fail"
    after = run.output.split(MARKER, 1)[1].splitlines()[1:]
    script_lines = []
    for line in after:
        if not line.startswith("    ") and line.strip():
            break
        script_lines.append(line[4:])
    script = tmp_path / "repro.py"
    script.write_text("\n".join(script_lines))
    replay = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(TESTS_DIR)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    assert "then get_session -> SessionData(" in replay.stdout


def test_the_reference_store_matches_the_model_over_many_examples(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "-k", "model", "--conformance-examples=200")
    assert run.status("memory", "MODEL-SEQUENCES") == "pass", run.output[-2000:]
