"""The HTML conformance matrix, opened in a real headless Chromium (Debian's, through chromedriver)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kit_runs import run_pytest

from conformance import CLAUSES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs chromium and chromedriver (apt-get install chromium chromium-driver; .ci/run does)",
)

STORES = ["memory", "broken_stores:NoCopyInStore"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_matrix_shows_every_store_and_clause_and_a_failed_cells_repro(
    tmp_path: Path, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "matrix.html"
    run = run_pytest(tmp_path, *(f"--store={s}" for s in STORES), f"--conformance-html={page}")
    assert run.returncode == 1, run.output[-2000:]
    text = page.read_text()
    assert "http://" not in text
    assert "https://" not in text
    browser.get(page.as_uri())
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#matrix thead th")]
    assert headers == ["clause", "level", *STORES]
    cells = browser.find_elements(By.CSS_SELECTOR, "#matrix td.cell")
    assert len(cells) == len(CLAUSES) * len(STORES)
    sections = browser.find_elements(By.CSS_SELECTOR, "#matrix th.section")
    assert len(sections) == len({clause.section for clause in CLAUSES})
    failed = [cell for cell in cells if cell.get_attribute("data-status") == "fail"]
    assert [cell.get_attribute("data-key") for cell in failed] == ["1:DATA-COPY-IN"]
    colours = {
        cell.get_attribute("data-status"): cell.value_of_css_property("background-color")
        for cell in cells
    }
    assert len(set(colours.values())) == len(colours)  # a colour per status
    failed[0].click()
    details = browser.find_element(By.ID, "details")
    assert "DATA-COPY-IN (MUST) on broken_stores:NoCopyInStore: fail" in details.text
    repro = details.find_element(By.CSS_SELECTOR, "pre.repro").text
    assert "from broken_stores import NoCopyInStore" in repro
    assert "given1[" in repro
    clause_text = details.find_element(By.CSS_SELECTOR, ".clause-text").text
    assert clause_text == next(c.text for c in CLAUSES if c.id == "DATA-COPY-IN")
