"""Run every benchmark the pages quote, then rewrite the pages' tables: one command.

``python -m benchmarks.refresh`` runs each benchmark in the form its page quotes
(``FULL``; how long each takes is in the README's durations table), writing
``benchmarks/results/NAME.json``, then ``python -m benchmarks.tables`` puts the
figures on the pages. ``--quick`` runs the short forms (``QUICK``), which only keep
the machinery and the pages in step: their figures are noise. Name benchmarks to
run only those. Needs ``REDIS_URL`` and ``DATABASE_URL``: without them the pages
would lose their Redis and PostgreSQL rows.

``--time-readme-in CLONE`` first times the README's two commands, as the README
spells them, in CLONE (a fresh clone: the first command makes its virtual
environment), for the README's table of durations.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import tables, timed
from .records import RESULTS_DIR

FULL: dict[str, list[str]] = {
    "memory": ["--ops", "20000", "--rounds", "11"],
    "sqlite": ["--rounds", "11"],
    "redis": ["--rounds", "11"],
    "postgres": ["--ops", "500", "--rounds", "9"],
    "dynamodb": ["--ops", "300", "--rounds", "7"],
    "mcp": ["--concurrency", "20", "--ops", "1000", "--rounds", "7"],
    "mcp_http": ["--concurrency", "20", "--ops", "1000", "--rounds", "7"],
}
QUICK: dict[str, list[str]] = {
    "memory": ["--ops", "2000", "--rounds", "3"],
    "sqlite": ["--ops", "200", "--rounds", "3"],
    "redis": ["--ops", "200", "--rounds", "3"],
    "postgres": ["--ops", "100", "--rounds", "3"],
    "dynamodb": ["--ops", "30", "--rounds", "3"],
    "mcp": ["--concurrency", "20", "--ops", "60", "--rounds", "3"],
    "mcp_http": ["--concurrency", "20", "--ops", "60", "--rounds", "3"],
}
REQUIRED_VARIABLES = ("REDIS_URL", "DATABASE_URL")


def readme_commands(readme: Path) -> list[str]:
    """The commands of the README's "Set up and run", as a reader copies them."""
    section = readme.read_text(encoding="utf-8").split("\n## Set up and run\n", 1)[1]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def time_readme_commands(clone: Path, results: Path) -> None:
    names = list(tables.README_COMMANDS)
    commands = readme_commands(tables.REPO_ROOT / "README.md")
    for name, command in zip(names, commands, strict=True):
        print(f"$ {command}", flush=True)
        log = Path(tempfile.gettempdir()) / f"{name}.log"
        argv = [name, command, "--cwd", str(clone), "--log", str(log)]
        timed.main([*argv, "--results", str(results / tables.TIMINGS)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.refresh", description=__doc__)
    parser.add_argument("benchmarks", nargs="*", help=f"any of {', '.join(FULL)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="the short forms (QUICK)")
    parser.add_argument(
        "--time-readme-in", metavar="CLONE", type=Path, help="time the README's commands there"
    )
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.benchmarks) - set(FULL))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)}")
    missing = [name for name in REQUIRED_VARIABLES if not os.environ.get(name)]
    if missing:
        parser.error(f"set {' and '.join(missing)}: the pages quote those stores too")
    if args.time_readme_in:
        time_readme_commands(args.time_readme_in, args.results)
    forms = QUICK if args.quick else FULL
    for name in args.benchmarks or list(forms):
        command = [sys.executable, "-m", "benchmarks", name, *forms[name]]
        print(f"$ python -m benchmarks {name} {' '.join(forms[name])}", flush=True)
        subprocess.run([*command, "--results", str(args.results)], check=True)
        if not args.quick:  # the record now gives the full form's duration
            (args.results / tables.TIMINGS / f"full-{name}.json").unlink(missing_ok=True)
    return tables.main(["--results", str(args.results)])


if __name__ == "__main__":
    sys.exit(main())
