"""The conformance badge: one small SVG a store project shows in its README.

"MCP session store | SPEC 1.1 | 52/52": the clauses passed out of those that apply to the
store, coloured by verdict: green when every applicable clause passes, amber when only
SHOULD clauses are not met, red when a MUST clause fails (in the baseline or not). The SVG
is self-contained: no fonts, images or links are fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["COLOURS", "badge_figures", "badge_svg"]

COLOURS = {"pass": "#2ea44f", "warn": "#dfb317", "fail": "#e05d44"}
_FAILING = ("fail", "error", "expected-fail", "blocked")
_LABEL = "MCP session store"
_CHAR_WIDTH = 6.6  # Verdana at 11 px, on average; textLength makes the text fit exactly
_HEIGHT = 20


def badge_figures(rows: Sequence[dict[str, Any]], clause_count: int) -> dict[str, Any]:
    """Passed and applicable clauses of one store's rows, the verdict, and whether the run
    judged only some of the spec's ``clause_count`` clauses."""
    statuses = [row["status"] for row in rows]
    applicable = [s for s in statuses if s != "n/a"]
    passed = sum(1 for s in applicable if s in ("pass", "stale"))
    verdict = (
        "fail" if any(s in _FAILING for s in statuses) else "warn" if "warn" in statuses else "pass"
    )
    return {
        "passed": passed,
        "applicable": len(applicable),
        "verdict": verdict,
        "partial": len(rows) < clause_count,
    }


def badge_svg(spec_version: str, figures: dict[str, Any]) -> str:
    spec = f"SPEC {spec_version}" + (" (partial run)" if figures["partial"] else "")
    score = f"{figures['passed']}/{figures['applicable']}"
    parts = [(_LABEL, "#555"), (spec, "#4a6785"), (score, COLOURS[figures["verdict"]])]
    widths = [round(len(text) * _CHAR_WIDTH) + 12 for text, _ in parts]
    total = sum(widths)
    title = escape(f"{_LABEL} | {spec} | {score}")
    rects, texts = [], []
    x = 0
    for (text, colour), width in zip(parts, widths, strict=True):
        rects.append(f'<rect x="{x}" width="{width}" height="{_HEIGHT}" fill="{colour}"/>')
        centre = x + width / 2
        length = width - 12
        shown = escape(text)
        texts.append(
            f'<text x="{centre:g}" y="15" fill="#010101" fill-opacity=".3" '
            f'textLength="{length}">{shown}</text>'
        )
        texts.append(f'<text x="{centre:g}" y="14" textLength="{length}">{shown}</text>')
        x += width
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{_HEIGHT}" '
            f'role="img" aria-label="{title}">',
            f"<title>{title}</title>",
            '<linearGradient id="shine" x2="0" y2="100%">'
            '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
            '<stop offset="1" stop-opacity=".1"/></linearGradient>',
            f'<clipPath id="round"><rect width="{total}" height="{_HEIGHT}" rx="3" '
            'fill="#fff"/></clipPath>',
            '<g clip-path="url(#round)">',
            *rects,
            f'<rect width="{total}" height="{_HEIGHT}" fill="url(#shine)"/>',
            "</g>",
            '<g fill="#fff" text-anchor="middle" '
            'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">',
            *texts,
            "</g>",
            "</svg>",
            "",
        ]
    )
