"""Time a command and record it beside the benchmarks: ``python -m benchmarks.timed NAME -- CMD``.

The README states how long its commands take; the figure comes from a record like a
benchmark's (``benchmarks/records.py``): the command, the seconds, the host, the load
at start and end, and the command's last line of output (pytest's tally). The command
runs in a shell, in ``--cwd`` (a fresh clone, say), its output kept in ``--log``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from .records import RESULTS_DIR, Record, host_facts, load_average, utc_now, write_record


def last_line(text: str) -> str:
    lines = [line.strip("= ") for line in text.splitlines() if line.strip("= ")]
    return lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.timed", description=__doc__)
    parser.add_argument("name", help="the record's name: RESULTS/NAME.json")
    parser.add_argument("command", help="the command, as a reader would type it")
    parser.add_argument("--cwd", type=Path, default=Path.cwd())
    parser.add_argument("--log", type=Path, required=True, help="where the output goes")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    # "python" in the command is this Python, so the record's host facts describe what ran.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    started, load_start, began = utc_now(), load_average(), time.monotonic()
    with args.log.open("w", encoding="utf-8") as log:
        completed = subprocess.run(
            ["bash", "-c", args.command],
            cwd=args.cwd,
            env={**os.environ, "PATH": path},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - began
    outcome = last_line(args.log.read_text(encoding="utf-8", errors="replace"))
    record = Record(
        benchmark=args.name,
        command=args.command,
        started=started,
        seconds=round(seconds, 1),
        load_average_start=load_start,
        load_average_end=load_average(),
        host=host_facts(),
        notes=[f"exit status {completed.returncode}", outcome],
        results=[],
    )
    write_record(args.results, record)
    print(f"{args.name}: {seconds:.0f} s, {outcome}")
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
