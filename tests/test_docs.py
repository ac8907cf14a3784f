"""The docs hold together: every relative link resolves, and every option the plugin takes is
documented where users look for it."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "SPEC.md", *sorted((ROOT / "docs").glob("*.md"))]

# [text](target) outside code; images and autolinks alike. Targets with a scheme are not ours.
_LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")


def _prose(text: str) -> str:
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings (lowercase, punctuation dropped, - for space)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in _FENCE.sub("", page.read_text()).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        text = heading.group(1).lower()
        slug = "".join(
            ch
            for ch in text
            if ch in "-_ " or unicodedata.category(ch)[0] in "LN"  # letters, digits
        ).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _relative_links(page: Path) -> list[str]:
    return [
        target
        for target in _LINK.findall(_prose(page.read_text()))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _relative_links(page):
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target}: no {resolved.relative_to(ROOT.parent)}")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: {resolved.name} has no heading #{anchor}")
    assert broken == [], f"{page.name}: " + "; ".join(broken)


def test_the_link_check_sees_a_broken_link(tmp_path: Path) -> None:
    """The check itself can fail: a link from docs/ written as if from the root is caught."""
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    page.write_text("# Title\n\nSee [the guide](docs/guide.md) and [above](#title).\n")
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n")
    assert _relative_links(page) == ["docs/guide.md", "#title"]
    assert not (page.parent / "docs/guide.md").exists()
    assert "title" in _anchors(page)


def _plugin_options() -> list[str]:
    """The options of the kit's group in ``pytest --help``, as a user sees them."""
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    section = ran.stdout.split("MCP session store conformance (SPEC.md):", 1)[1]
    section = re.split(r"\n\S", section, maxsplit=1)[0]  # up to the next group's heading
    return sorted(set(re.findall(r"^\s{2}(--[a-z][a-z0-9-]*)", section, re.MULTILINE)))


def test_every_option_of_the_plugin_is_documented() -> None:
    options = _plugin_options()
    assert "--store" in options
    assert "--conformance-timeout" in options
    documented = "\n".join(page.read_text() for page in PAGES)
    missing = [option for option in options if not re.search(re.escape(option) + r"\b", documented)]
    assert missing == [], f"in pytest --help but in no page: {missing}"
