"""The conformance matrix as one static HTML page: stores as columns, clauses as rows.

No network and no external asset: the styles and the small script that opens a cell's
details are inline, and every detail (clause text, problem, repro) is in the page.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..clauses import CLAUSES

__all__ = ["STATUS_COLOURS", "matrix_page"]

STATUS_COLOURS = {
    "pass": ("#1a7f37", "#ffffff", "pass"),
    "fail": ("#cf222e", "#ffffff", "fail"),
    "error": ("#82071e", "#ffffff", "error"),
    "blocked": ("#8250df", "#ffffff", "blocked"),
    "warn": ("#d4a72c", "#1f2328", "warn"),
    "expected-fail": ("#fb8f44", "#1f2328", "expected failure"),
    "stale": ("#bf8700", "#ffffff", "stale baseline"),
    "n/a": ("#d0d7de", "#1f2328", "n/a"),
}

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; }
th.section { background: #f6f8fa; font-size: 13px; }
td.cell { cursor: pointer; text-align: center; min-width: 6em; }
td.cell:focus { outline: 3px solid #0969da; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 6px; border-radius: 3px; }
#details { margin-top: 1.5em; border-top: 2px solid #d0d7de; padding-top: 1em; }
#details pre { background: #f6f8fa; padding: 1em; overflow-x: auto; max-height: 40em; }
.verdict-pass { color: #1a7f37; } .verdict-fail { color: #cf222e; }
"""

_SCRIPT = """
const cells = JSON.parse(document.getElementById('cells').textContent);
function show(key) {
  const cell = cells[key];
  const box = document.getElementById('details');
  box.replaceChildren();
  const add = (tag, text, cls) => {
    const node = document.createElement(tag);
    node.textContent = text;
    if (cls) node.className = cls;
    box.appendChild(node);
    return node;
  };
  add('h2', cell.clause + ' (' + cell.level + ') on ' + cell.store + ': ' + cell.status);
  add('p', cell.text, 'clause-text');
  if (cell.reason) add('p', 'Problem: ' + cell.reason, 'problem');
  if (cell.rerun) add('p', 'Rerun alone: ' + cell.rerun, 'rerun');
  if (cell.repro) { add('h3', 'Repro'); add('pre', cell.repro, 'repro'); }
  box.scrollIntoView();
}
document.querySelectorAll('td.cell').forEach((td) => {
  td.addEventListener('click', () => show(td.dataset.key));
  td.addEventListener('keydown', (e) => { if (e.key === 'Enter') show(td.dataset.key); });
});
"""


def matrix_page(document: dict[str, Any]) -> str:
    """The page for a report document (the same data ``--conformance-report`` writes)."""
    rows = document["results"]
    stores = list(dict.fromkeys([s["store"] for s in document.get("stores", [])]))
    stores += [row["store"] for row in rows if row["store"] not in stores]
    by_key = {(row["store"], row["clause"]): row for row in rows}
    cells: dict[str, dict[str, Any]] = {}
    body: list[str] = []
    section = None
    clause_count = 0
    for clause in CLAUSES:
        if not any((store, clause.id) in by_key for store in stores):
            continue
        if clause.section != section:
            section = clause.section
            body.append(
                f'<tr><th class="section" colspan="{len(stores) + 2}">{html.escape(section)}</th></tr>'
            )
        clause_count += 1
        cols = [
            f'<th scope="row" title="{html.escape(clause.text)}">{html.escape(clause.id)}</th>',
            f"<td>{clause.level}</td>",
        ]
        for index, store in enumerate(stores):
            row = by_key.get((store, clause.id))
            if row is None:
                cols.append('<td class="missing">-</td>')
                continue
            key = f"{index}:{clause.id}"
            status = row["status"]
            background, colour, word = STATUS_COLOURS.get(status, ("#ffffff", "#1f2328", status))
            cells[key] = {
                "store": store,
                "clause": clause.id,
                "level": row.get("level", clause.level),
                "status": word,
                "text": clause.text,
                "reason": row.get("reason", ""),
                "rerun": row.get("rerun", ""),
                "repro": row.get("repro", ""),
            }
            cols.append(
                f'<td class="cell status-{status.replace("/", "").replace(" ", "-")}" tabindex="0" '
                f'data-key="{html.escape(key)}" data-status="{html.escape(status)}" '
                f'style="background:{background};color:{colour}">{html.escape(word)}</td>'
            )
        body.append("<tr>" + "".join(cols) + "</tr>")
    header = "".join(f'<th scope="col">{html.escape(store)}</th>' for store in stores)
    legend = "".join(
        f'<span style="background:{bg};color:{fg}">{word}</span>'
        for bg, fg, word in STATUS_COLOURS.values()
    )
    verdict = document.get("verdict", "")
    counts = ", ".join(f"{n} {s}" for s, n in document.get("counts", {}).items())
    # The cell data sits in a JSON script element; "</" is escaped so no text can close it.
    data = json.dumps(cells).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Session store conformance: {html.escape(", ".join(stores))}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Session store conformance</h1>
<p>mcp-session-store-kit {html.escape(str(document.get("kit_version", "")))}, SPEC.md {html.escape(str(document.get("spec_version", "")))}.
Verdict: <strong class="verdict-{html.escape(verdict)}">{html.escape(verdict)}</strong> ({html.escape(counts)}).
{clause_count} clauses, {len(stores)} store{"s" if len(stores) != 1 else ""}. Click a cell for the clause, the problem and the repro.</p>
<p class="legend">{legend}</p>
<table id="matrix">
<thead><tr><th>clause</th><th>level</th>{header}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<section id="details" aria-live="polite"></section>
<script type="application/json" id="cells">{data}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""
