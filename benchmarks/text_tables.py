"""Tables whose columns line up however long a cell is: in the console and in Markdown.

Widths come from the widest cell of each column, so a long case name (``update
(conditional)``, ``tools/call postgres``) widens its column instead of pushing the
rest of its row out of line.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["console_table", "markdown_table"]


def _padded(rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[list[str]]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(right))]
    return [
        [
            cell.rjust(width) if align_right else cell.ljust(width)
            for cell, width, align_right in zip(row, widths, right, strict=True)
        ]
        for row in rows
    ]


def console_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]
) -> str:
    """Columns two spaces apart; ``right[i]``: column i is right-aligned (numbers)."""
    padded = _padded([header, *rows], right)
    return "\n".join("  ".join(line).rstrip() for line in padded)


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]
) -> str:
    """A GitHub Markdown table, padded so it reads as a table in the source too."""
    for cell in (*header, *(cell for row in rows for cell in row)):
        if "|" in cell or "<" in cell:  # a new column, or an HTML tag that hides the text
            raise ValueError(f"a Markdown table cannot show {cell!r} as it is")
    rule = ["-" * max(3, len(title)) for title in header]
    padded = _padded([header, rule, *rows], right)
    lines = []
    for index, line in enumerate(padded):
        if index == 1:  # the rule: dashes across, a colon marks a right-aligned column
            line = [
                "-" * (len(cell) - 1) + ":" if align_right else "-" * len(cell)
                for cell, align_right in zip(line, right, strict=True)
            ]
        lines.append("| " + " | ".join(line) + " |")
    return "\n".join(lines)
