"""Every benchmark figure on a page comes from a committed record, and says where it ran.

The pages' tables are rendered from ``benchmarks/results`` by ``python -m
benchmarks.tables``; these tests hold each page to exactly that text, so the README
and a store's page can no longer quote different figures for the same command.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from benchmarks import tables
from benchmarks.records import RESULTS_DIR, read_record
from benchmarks.refresh import FULL, QUICK, readme_commands
from benchmarks.text_tables import markdown_table

REPO_ROOT = Path(__file__).resolve().parent.parent
RECORDS = sorted(RESULTS_DIR.glob("*.json")) + sorted((RESULTS_DIR / tables.TIMINGS).glob("*.json"))


def block(page: str, name: str) -> str:
    text = (REPO_ROOT / page).read_text(encoding="utf-8")
    for match in tables.BLOCK.finditer(text):
        if match["name"] == name:
            return match["body"]
    raise AssertionError(f"{page} has no <!-- benchmark-table: {name} --> block")


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of a Markdown table's body rows (header and rule left out)."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


@pytest.mark.parametrize("page", list(tables.PAGES))
def test_each_page_holds_exactly_the_tables_its_records_render(page: str) -> None:
    text, rendered = tables.rendered_pages(REPO_ROOT, RESULTS_DIR)[page]
    assert text == rendered, f"{page} is stale: run python -m benchmarks.tables"


def test_a_figure_changed_in_a_record_makes_its_page_stale(tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(RESULTS_DIR, results)
    for page in tables.PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / page, tmp_path / page)
    record = json.loads((results / "sqlite.json").read_text())
    for result in record["results"]:
        if result["operation"] == "update (conditional)":  # quoted by the README too
            result["store_ops_per_s"] *= 2
    (results / "sqlite.json").write_text(json.dumps(record))
    pages = tables.rendered_pages(tmp_path, results)
    stale = {page for page, (text, rendered) in pages.items() if text != rendered}
    # The store's page and the README's conditional-update table both quote the sqlite run.
    assert stale == {"docs/sqlite.md", "README.md"}


@pytest.mark.parametrize("path", RECORDS, ids=lambda path: path.stem)
def test_every_record_says_the_command_host_load_and_duration_of_its_run(path: Path) -> None:
    record = read_record(path.parent, path.stem)
    assert record["benchmark"] == path.stem
    assert record["command"].startswith(("python -m benchmarks ", "python ", ".venv/"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", record["started"])
    assert record["seconds"] > 0
    assert len(record["load_average_start"]) == len(record["load_average_end"]) == 3
    host = record["host"]
    assert host["cpu_count"]
    assert host["python"]
    assert host["sqlite"]
    assert "/" not in json.dumps(host), "no path of the machine in a committed record"


def test_records_exist_for_every_benchmark_a_page_quotes() -> None:
    assert {path.stem for path in RESULTS_DIR.glob("*.json")} == set(tables.BENCHMARKS)
    # The one command reruns each of them, in a full and a quick form.
    assert set(FULL) == set(QUICK) == set(tables.BENCHMARKS)


def test_the_readme_summary_gives_each_stores_lowest_and_highest_ratio_from_its_page() -> None:
    summary = {row[0]: row for row in table_rows(block("README.md", "summary"))}
    for benchmark, store in tables.STORE_BENCHMARKS.items():
        page_rows = table_rows(block(f"docs/{benchmark}.md", benchmark))
        same_job = [
            float(row[4])
            for row in page_rows
            if "(less" not in row[5] and "(run_in_executor)" not in row[5]
        ]
        lowest, highest = float(summary[store][3]), float(summary[store][4])
        assert (lowest, highest) == (min(same_job), max(same_job)), store
        assert f"`{read_record(RESULTS_DIR, benchmark)['command']}`" == summary[store][1]


def test_the_readme_conditional_update_ratios_are_the_pages() -> None:
    readme = table_rows(block("README.md", "conditional-update"))
    for benchmark, store in tables.STORE_BENCHMARKS.items():
        page = [
            (row[1], row[4])
            for row in table_rows(block(f"docs/{benchmark}.md", benchmark))
            if row[0] == "update (conditional)"
        ]
        assert page, f"docs/{benchmark}.md has no conditional update row"
        assert [(row[1], row[2]) for row in readme if row[0] == store] == page


@pytest.mark.parametrize("benchmark", list(tables.STORE_BENCHMARKS))
def test_no_store_page_calls_its_benchmark_sequential_only_when_it_runs_tasks_too(
    benchmark: str,
) -> None:
    modes = {result["mode"] for result in read_record(RESULTS_DIR, benchmark)["results"]}
    text = (REPO_ROOT / f"docs/{benchmark}.md").read_text(encoding="utf-8")
    section = text[: text.index(f"<!-- benchmark-table: {benchmark} -->")]
    section = section[section.rindex("\n## ") :]
    if modes != {"sequential"}:
        assert not re.search(r"sequential[ -]only", section, re.IGNORECASE), modes


def test_the_readme_states_how_long_its_commands_and_each_benchmark_take() -> None:
    rows = table_rows(block("README.md", "durations"))
    took = {row[0]: row[1] for row in rows}
    for what in tables.README_COMMANDS.values():
        assert re.fullmatch(r"\d+ s|\d+ min \d+ s", took[f"README, {what}"]), what
    # Timed as the README spells them: a changed command needs a new timing.
    timed = [read_record(RESULTS_DIR / tables.TIMINGS, name) for name in tables.README_COMMANDS]
    assert [record["command"] for record in timed] == readme_commands(REPO_ROOT / "README.md")
    for benchmark in tables.BENCHMARKS:
        command = f"`{read_record(RESULTS_DIR, benchmark)['command']}`"
        assert re.fullmatch(r"\d+ s|\d+ min \d+ s", took[command]), command
    # Each row says when it ran and at what load: a loaded machine takes longer.
    assert all(re.search(r"load average [\d.]+ at start, [\d.]+ at end", row[3]) for row in rows)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("\n## Set up and run\n", 1)[1].split("\n## ", 1)[0]
    assert "(#how-long-it-takes)" in setup, "the commands point to their durations"


def test_the_sqlite_page_states_how_long_its_tests_took_as_timed() -> None:
    record = read_record(RESULTS_DIR / tables.TIMINGS, "sqlite-store-tests")
    stated = block("docs/sqlite.md", "sqlite-tests-duration")
    assert record["command"].endswith("tests/test_store_sqlite.py")
    assert re.match(rf"`{re.escape(record['command'])}` took \d+ (s|min \d+ s) \(", stated)
    assert "about 10 s" not in (REPO_ROOT / "docs/sqlite.md").read_text(encoding="utf-8")


TABLE_BLOCKS = [(p, n) for p, ns in tables.PAGES.items() for n in ns if not n.endswith("-duration")]


@pytest.mark.parametrize(("page", "name"), TABLE_BLOCKS)
def test_every_table_on_the_pages_keeps_its_columns_in_line(page: str, name: str) -> None:
    lines = [line for line in block(page, name).splitlines() if line.startswith("|")]
    assert len(lines) >= 3
    pipes = {tuple(index for index, char in enumerate(line) if char == "|") for line in lines}
    assert len(pipes) == 1, f"{page} {name}: columns out of line"


def test_a_long_case_name_widens_its_column_instead_of_shifting_its_row() -> None:
    table = markdown_table(
        ["operation", "mode", "ratio"],
        [["create", "sequential", "1.00"], ["update (conditional)", "50 tasks", "0.98"]],
        [False, False, True],
    )
    lines = table.splitlines()
    assert lines[1] == "| -------------------- | ---------- | ----: |"
    assert lines[3] == "| update (conditional) | 50 tasks   |  0.98 |"
    assert len({line.index("|", 2) for line in lines}) == 1


@pytest.mark.parametrize("cell", ["EVALSHA <the store's script>", "a | b"])
def test_a_cell_markdown_would_hide_or_split_is_refused(cell: str) -> None:
    with pytest.raises(ValueError, match="cannot show"):
        markdown_table(["raw call"], [[cell]], [False])
