"""The pages' benchmark tables, rendered from the benchmarks' JSON records: ``python -m benchmarks.tables``.

Each table sits on its page between ``<!-- benchmark-table: NAME -->`` and
``<!-- /benchmark-table -->``; this rewrites what is between them from
``benchmarks/results`` (``--check``: change nothing, exit 1 if a page is stale).
One source, so the README and a store's page can no longer quote different
figures for the same run; ``tests/test_benchmark_tables.py`` holds every page to it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .records import RESULTS_DIR, Record, read_record
from .text_tables import markdown_table

__all__ = ["PAGES", "TABLES", "render", "rendered_pages"]

REPO_ROOT = Path(__file__).resolve().parent.parent
STORE_BENCHMARKS = {
    "sqlite": "SQLite",
    "redis": "Redis",
    "postgres": "PostgreSQL",
    "dynamodb": "DynamoDB (moto server)",
}
BENCHMARKS = ("memory", *STORE_BENCHMARKS, "mcp", "mcp_http")
TIMINGS = "timings"
"""Records of ``python -m benchmarks.timed``: the README's commands, the full forms."""
README_COMMANDS = {
    "readme-first-command": "first command (contract suite, SQLite)",
    "readme-second-command": "second command (the project's tests)",
}
BLOCK = re.compile(
    r"(<!-- benchmark-table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /benchmark-table -->)",
    re.DOTALL,
)

Renderer = Callable[[Path], str]


def _host(record: Record) -> str:
    host = record["host"]
    orjson = f", orjson {host['orjson']}" if host["orjson"] else ""
    return (
        f"{host['cpu_count']} CPUs ({host['machine']}, {host['system']}), "
        f"Python {host['python']}, SQLite {host['sqlite']}{orjson}"
    )


def _when(record: Record) -> str:
    """When, and the load: above the CPU count, the figures are skewed."""
    start, end = record["load_average_start"][0], record["load_average_end"][0]
    cpus = record["host"]["cpu_count"] or 1
    loaded = " (loaded: above its CPU count)" if max(start, end) > cpus else ""
    return f"{record['started']}, load average {start:.2f} at start, {end:.2f} at end{loaded}"


def _hosts(records: Iterable[Record]) -> str:
    return "; ".join(dict.fromkeys(_host(record) for record in records))


def _source(record: Record) -> str:
    notes = "".join(f" {note[0].upper()}{note[1:]}." for note in record["notes"])
    return (
        f"`{record['command']}` (`benchmarks/results/{record['benchmark']}.json`), "
        f"{_when(record)}, on {_host(record)}; the run took {_duration(record['seconds'])}."
        f"{notes}"
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _ratio(result: dict[str, Any]) -> float:
    return float(result["store_ops_per_s"]) / float(result["raw_ops_per_s"])


def results_table(results_dir: Path, benchmark: str) -> str:
    """Every row of one run: what ``python -m benchmarks`` printed, as Markdown."""
    record = read_record(results_dir, benchmark)
    rows = [
        [
            str(result["operation"]),
            str(result["mode"]),
            f"{result['store_ops_per_s']:.0f}",
            f"{result['raw_ops_per_s']:.0f}",
            f"{_ratio(result):.2f}",
            str(result["raw_label"]),
        ]
        for result in record["results"]
    ]
    header = ["operation", "mode", "store op/s", "raw op/s", "ratio", "raw call"]
    table = markdown_table(header, rows, [False, False, True, True, True, False])
    return f"From {_source(record)}\n\n{table}\n"


def does_the_same_job(result: dict[str, Any]) -> bool:
    """A like-for-like row: not a raw call that does less (Redis's ``SET XX``, ``PEXPIRE``)
    nor the SQLite baseline through another thread (``run_in_executor``)."""
    label = str(result["raw_label"])
    return "(less" not in label and "(run_in_executor)" not in label


def _operations_by_modes(results: Iterable[dict[str, Any]]) -> str:
    modes: dict[str, list[str]] = {}
    for result in results:
        modes.setdefault(str(result["operation"]), []).append(str(result["mode"]))
    counts: dict[str, int] = {}
    for operation_modes in modes.values():
        key = " and ".join(operation_modes)
        counts[key] = counts.get(key, 0) + 1
    return "; ".join(f"{count} x {key}" for key, count in counts.items())


def summary_table(results_dir: Path) -> str:
    """The README's lowest and highest ratio per store, from the same records as the pages."""
    rows = []
    records = []
    for benchmark, store in STORE_BENCHMARKS.items():
        record = read_record(results_dir, benchmark)
        records.append(record)
        same_job = [result for result in record["results"] if does_the_same_job(result)]
        ratios = [_ratio(result) for result in same_job]
        rows.append(
            [
                store,
                f"`{record['command']}`",
                _operations_by_modes(same_job),
                f"{min(ratios):.2f}",
                f"{max(ratios):.2f}",
                _when(record),
            ]
        )
    header = ["store", "command", "operations x modes", "lowest ratio", "highest", "ran"]
    table = markdown_table(header, rows, [False, False, False, True, True, False])
    return (
        "Rows whose raw call does the same job (not Redis's plain `SET XX` and `PEXPIRE`, "
        "which do less, nor SQLite's `run_in_executor` baseline); every row is on the "
        f"store's page. Host: {_hosts(records)}.\n\n{table}\n"
    )


def conditional_table(results_dir: Path) -> str:
    """The conditional update (``expected_revision``) per store and mode."""
    rows = []
    for benchmark, store in STORE_BENCHMARKS.items():
        record = read_record(results_dir, benchmark)
        for result in record["results"]:
            if result["operation"] == "update (conditional)":
                rows.append([store, str(result["mode"]), f"{_ratio(result):.2f}"])
    table = markdown_table(["store", "mode", "ratio"], rows, [False, False, True])
    return f"{table}\n"


def mcp_table(results_dir: Path) -> str:
    """The integration against plain SDK sessions: a store per row, in process and served."""
    records = {"in process": read_record(results_dir, "mcp")}
    records["served"] = read_record(results_dir, "mcp_http")
    columns: list[tuple[str, str]] = []
    cells: dict[tuple[str, tuple[str, str]], str] = {}
    stores: list[str] = []
    for where, record in records.items():
        for result in record["results"]:
            case, store = str(result["operation"]).split(" ", 1)
            row = store if case == "tools/call" else f"{store} floor"
            column = (where, str(result["mode"]))
            if row not in stores:
                stores.append(row)
            if column not in columns:
                columns.append(column)
            cells[(row, column)] = (
                f"{_ratio(result):.2f} ({result['store_ops_per_s']:.0f} / "
                f"{result['raw_ops_per_s']:.0f})"
            )
    header = ["store", *(f"{where}, {mode}" for where, mode in columns)]
    rows = [[row, *(cells.get((row, column), "not run") for column in columns)] for row in stores]
    table = markdown_table(header, rows, [False, *(True for _ in columns)])
    sources = "\n".join(f"- {where}: {_source(record)}" for where, record in records.items())
    return f"Ratio, then store op/s / plain SDK op/s.\n\n{sources}\n\n{table}\n"


def durations_table(results_dir: Path) -> str:
    """How long each command of the README and each benchmark took, with the load it ran at."""
    rows = []
    records = []
    timings = results_dir / TIMINGS
    for name, what in README_COMMANDS.items():
        if (timings / f"{name}.json").exists():
            record = read_record(timings, name)
            records.append(record)
            outcome = record["notes"][-1]
            rows.append([f"README, {what}", _duration(record["seconds"]), outcome, _when(record)])
    for benchmark in BENCHMARKS:
        # The benchmark's record, then a timing of its full form while the record is a quick one.
        for folder, name in ((results_dir, benchmark), (timings, f"full-{benchmark}")):
            if not (folder / f"{name}.json").exists():
                continue
            record = read_record(folder, name)
            records.append(record)
            if folder == timings:  # its last line of output is a row of figures: not an outcome
                outcome = record["notes"][0]
            else:
                outcome = "; ".join(record["notes"]) or f"{len(record['results'])} rows"
            command = f"`{record['command']}`"
            rows.append([command, _duration(record["seconds"]), outcome, _when(record)])
    header = ["command", "took", "outcome", "ran"]
    table = markdown_table(header, rows, [False, True, False, False])
    return f"Host: {_hosts(records)}.\n\n{table}\n"


def _results_table_of(benchmark: str) -> Renderer:
    return lambda results_dir: results_table(results_dir, benchmark)


def sqlite_tests_duration(results_dir: Path) -> str:
    """How long the SQLite store's own tests took: its page used to guess."""
    record = read_record(results_dir / TIMINGS, "sqlite-store-tests")
    return (
        f"`{record['command']}` took {_duration(record['seconds'])} "
        f"({record['notes'][-1]}), {_when(record)}.\n"
    )


TABLES: dict[str, Renderer] = {
    **{benchmark: _results_table_of(benchmark) for benchmark in ("memory", *STORE_BENCHMARKS)},
    "summary": summary_table,
    "conditional-update": conditional_table,
    "mcp": mcp_table,
    "durations": durations_table,
    "sqlite-tests-duration": sqlite_tests_duration,
}
PAGES: dict[str, list[str]] = {
    "README.md": ["summary", "conditional-update", "memory", "durations"],
    "docs/sqlite.md": ["sqlite-tests-duration", "sqlite"],
    "docs/redis.md": ["redis"],
    "docs/postgres.md": ["postgres"],
    "docs/dynamodb.md": ["dynamodb"],
    "docs/mcp-sessions.md": ["mcp"],
}
"""Each page and the tables it holds, in order."""


def render(name: str, results_dir: Path = RESULTS_DIR) -> str:
    return TABLES[name](results_dir)


def rendered_pages(root: Path, results_dir: Path) -> dict[str, tuple[str, str]]:
    """Each page's text as it is and as it should be; a page missing a table raises."""
    pages = {}
    for page, names in PAGES.items():
        text = (root / page).read_text(encoding="utf-8")
        found = [match["name"] for match in BLOCK.finditer(text)]
        if found != names:
            raise ValueError(f"{page}: benchmark tables {found}, expected {names}")
        updated = BLOCK.sub(
            lambda match: match[1] + render(match["name"], results_dir) + match[4], text
        )
        pages[page] = (text, updated)
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tables", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    stale = []
    for page, (text, updated) in rendered_pages(REPO_ROOT, args.results).items():
        if text == updated:
            continue
        stale.append(page)
        if not args.check:
            (REPO_ROOT / page).write_text(updated, encoding="utf-8")
    verb = "stale" if args.check else "rewritten"
    print(f"{verb}: {', '.join(stale)}" if stale else "every benchmark table is up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
