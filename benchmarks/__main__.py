"""Run the store-versus-raw-client benchmarks: ``python -m benchmarks [BACKEND ...]``."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path
from types import ModuleType

from .harness import Result, measure
from .records import Record, host_facts, load_average, utc_now, write_record
from .text_tables import console_table

BACKENDS = ("memory", "sqlite", "redis", "postgres", "dynamodb")


async def run_backend(module: ModuleType, name: str, args: argparse.Namespace) -> list[Result]:
    concurrent_by_default = getattr(module, "CONCURRENT", True)
    results = []
    async with module.cases() as cases:
        for case in cases:
            modes = [("sequential", 1)]
            concurrent = concurrent_by_default if case.concurrent is None else case.concurrent
            if args.concurrency > 1 and concurrent:
                modes.append((f"{args.concurrency} tasks", args.concurrency))
            for mode, concurrency in modes:
                results.append(
                    await measure(
                        name,
                        case,
                        mode=mode,
                        concurrency=concurrency,
                        ops=args.ops,
                        rounds=args.rounds,
                    )
                )
    return results


def command_for(name: str, args: argparse.Namespace) -> str:
    """The command that repeats this backend's run, every option spelled out."""
    return (
        f"python -m benchmarks {name} --ops {args.ops} --rounds {args.rounds} "
        f"--concurrency {args.concurrency}"
    )


def result_fields(result: Result) -> dict[str, object]:
    return {**result.__dict__, "ratio": result.ratio}


def results_table(results: list[Result]) -> str:
    header = ["backend", "operation", "mode", "store op/s", "raw op/s", "ratio", "raw call"]
    rows = [
        [
            r.backend,
            r.operation,
            r.mode,
            f"{r.store_ops_per_s:.0f}",
            f"{r.raw_ops_per_s:.0f}",
            f"{r.ratio:.2f}",
            r.raw_label,
        ]
        for r in results
    ]
    return console_table(header, rows, [False, False, False, True, True, True, False])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "backends",
        nargs="*",
        default=[],
        help=f"any of {', '.join(BACKENDS)} (default: all of them), or mcp, mcp_http",
    )
    parser.add_argument("--ops", type=int, default=2000, help="operations per round (default 2000)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds; the median is reported (default 5)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=50, help="tasks in the concurrent mode (default 50)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--results",
        metavar="DIR",
        type=Path,
        help="also write DIR/BACKEND.json per backend: results, command, host, load, duration "
        "(the pages' tables are rendered from benchmarks/results: python -m benchmarks.tables)",
    )
    args = parser.parse_args(argv)
    names = args.backends or [
        name for name in BACKENDS if importlib.util.find_spec(f"benchmarks.bench_{name}")
    ]
    results: list[Result] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        # What the run leaves out must be said, not found missing from the table.
        notes: list[str] = module.notes() if hasattr(module, "notes") else []
        for note in notes:
            print(f"{name}: {note}", flush=True)
        started, load_start, began = utc_now(), load_average(), time.monotonic()
        backend_results = asyncio.run(run_backend(module, name, args))
        seconds = time.monotonic() - began
        results.extend(backend_results)
        if args.results:
            record = Record(
                benchmark=name,
                command=command_for(name, args),
                started=started,
                seconds=round(seconds, 1),
                load_average_start=load_start,
                load_average_end=load_average(),
                host=host_facts(),
                notes=notes,
                results=[result_fields(result) for result in backend_results],
            )
            write_record(args.results, record)
    print(
        f"python {platform.python_version()}, {args.ops} ops x {args.rounds} rounds, median throughput"
    )
    print(results_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([result_fields(r) for r in results], handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
