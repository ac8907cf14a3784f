"""Run the store-versus-raw-client benchmarks: ``python -m benchmarks [BACKEND ...]``."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import platform
import sys

from .harness import Result, measure

BACKENDS = ("memory", "sqlite", "redis", "postgres", "dynamodb")


async def run_backend(name: str, args: argparse.Namespace) -> list[Result]:
    module = importlib.import_module(f"benchmarks.bench_{name}")
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
    args = parser.parse_args(argv)
    names = args.backends or [
        name for name in BACKENDS if importlib.util.find_spec(f"benchmarks.bench_{name}")
    ]
    results: list[Result] = []
    for name in names:
        results.extend(asyncio.run(run_backend(name, args)))
    print(
        f"python {platform.python_version()}, {args.ops} ops x {args.rounds} rounds, median throughput"
    )
    print(
        f"{'backend':9} {'operation':15} {'mode':11} {'store op/s':>11} {'raw op/s':>11} {'ratio':>6}  raw call"
    )
    for r in results:
        print(
            f"{r.backend:9} {r.operation:15} {r.mode:11} {r.store_ops_per_s:11.0f} "
            f"{r.raw_ops_per_s:11.0f} {r.ratio:6.2f}  {r.raw_label}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([{**r.__dict__, "ratio": r.ratio} for r in results], handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
