"""The conformance badge: figures, colour by verdict, a self-contained SVG, one per store."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from kit_runs import run_pytest

from conformance import CLAUSES, SPEC_VERSION
from conformance.report.badge import COLOURS, badge_figures, badge_svg

SVG = "{http://www.w3.org/2000/svg}"


def _rows(*statuses: str) -> list[dict[str, str]]:
    return [{"status": status} for status in statuses]


@pytest.mark.parametrize(
    ("statuses", "verdict", "score"),
    [
        (("pass", "pass", "n/a", "stale"), "pass", (3, 3)),
        (("pass", "warn", "n/a"), "warn", (1, 2)),
        (("pass", "warn", "fail", "blocked"), "fail", (1, 4)),
        (("pass", "expected-fail"), "fail", (1, 2)),  # a baselined MUST failure still fails
    ],
)
def test_the_badge_counts_applicable_clauses_and_takes_the_verdicts_colour(
    statuses: tuple[str, ...], verdict: str, score: tuple[int, int]
) -> None:
    figures = badge_figures(_rows(*statuses), len(statuses))
    assert (figures["passed"], figures["applicable"]) == score
    assert figures["verdict"] == verdict
    svg = ElementTree.fromstring(badge_svg("1.1", figures))
    fills = [rect.get("fill") for rect in svg.iter(f"{SVG}rect")]
    assert COLOURS[verdict] in fills
    texts = [text.text for text in svg.iter(f"{SVG}text")]
    assert texts.count(f"{score[0]}/{score[1]}") == 2  # the text and its shadow
    assert "SPEC 1.1" in texts


def test_a_run_of_some_clauses_says_so_on_its_badge() -> None:
    figures = badge_figures(_rows("pass"), len(CLAUSES))
    assert "SPEC 1.1 (partial run)" in badge_svg("1.1", figures)


def _badge(path: Path) -> tuple[ElementTree.Element, str]:
    text = path.read_text()
    # Self-contained: nothing to fetch, no script, no reference outside the file.
    assert "href" not in text
    assert "<script" not in text
    assert "@import" not in text
    assert text.count("http") == 1  # the SVG namespace alone
    return ElementTree.fromstring(text), text


def test_a_store_gets_its_badge_and_the_run_names_the_file(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--store=memory", "--conformance-badge=badge.svg")
    assert run.returncode == 0, run.output[-3000:]
    assert run.report is not None
    counts = run.report["counts"]
    applicable = sum(n for status, n in counts.items() if status != "n/a")
    score = f"{counts['pass']}/{applicable}"
    svg, text = _badge(tmp_path / "badge.svg")
    assert f"MCP session store | SPEC {SPEC_VERSION} | {score}" in text
    assert svg.find(f"{SVG}title") is not None
    assert COLOURS["pass"] in text
    assert f"conformance: badge written to badge.svg (SPEC {SPEC_VERSION}, {score}, pass)" in (
        run.output
    )


def test_several_stores_need_store_in_the_badge_path_and_get_one_each(tmp_path: Path) -> None:
    stores = ["--store=memory", "--store=broken_stores:UpsertingUpdateStore"]
    refused = run_pytest(tmp_path, *stores, "--conformance-badge=badge.svg", report=False)
    assert refused.returncode == 4
    assert "put {store} in the path for one badge each" in refused.output
    run = run_pytest(
        tmp_path, *stores, "--clause=UPDATE-*", "--conformance-badge=badges/{store}.svg"
    )
    assert run.returncode == 1
    _svg, memory = _badge(tmp_path / "badges" / "memory.svg")
    _svg, broken = _badge(tmp_path / "badges" / "broken_stores_UpsertingUpdateStore.svg")
    assert COLOURS["pass"] in memory
    assert "(partial run)" in memory
    assert COLOURS["fail"] in broken
    assert "conformance: badge written to badges/broken_stores_UpsertingUpdateStore.svg" in (
        run.output
    )
