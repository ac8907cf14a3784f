"""A benchmark run as a JSON record: its results, the command, and the host it ran on.

``python -m benchmarks NAME ... --results DIR`` writes ``DIR/NAME.json``; the pages'
tables are rendered from these files (``benchmarks/tables.py``), so a figure on a page
always comes with the run that produced it. The host facts are there because the
figures follow the machine: a loaded machine skews them, and the record says so.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import sqlite3
from pathlib import Path
from typing import Any, TypedDict

__all__ = [
    "RESULTS_DIR",
    "Host",
    "Record",
    "host_facts",
    "load_average",
    "read_record",
    "utc_now",
    "write_record",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
"""Where the committed records live, one per benchmark."""


class Host(TypedDict):
    cpu_count: int | None
    machine: str
    system: str
    python: str
    sqlite: str
    orjson: str | None


class Record(TypedDict):
    benchmark: str
    command: str
    started: str
    seconds: float
    load_average_start: list[float]
    load_average_end: list[float]
    host: Host
    notes: list[str]
    results: list[dict[str, Any]]


def host_facts() -> Host:
    """What the figures depend on; nothing that names the machine or its paths."""
    try:
        orjson: str | None = importlib.metadata.version("orjson")
    except importlib.metadata.PackageNotFoundError:
        orjson = None
    return Host(
        cpu_count=os.cpu_count(),
        machine=platform.machine(),
        system=platform.system(),
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
        orjson=orjson,
    )


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: above the CPU count, the figures are skewed."""
    return [round(value, 2) for value in os.getloadavg()]


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def write_record(folder: Path, record: Record) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{record['benchmark']}.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def read_record(folder: Path, benchmark: str) -> Record:
    record: Record = json.loads((folder / f"{benchmark}.json").read_text(encoding="utf-8"))
    return record
