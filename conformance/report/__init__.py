"""The conformance report: what the plugin prints and writes about the clauses it judged.

``summary``: the rows by store and clause, the terminal summary, the JSON report and the repro
files; ``html``: the HTML matrix; ``baseline``: the clauses expected to fail; ``failures``: how
one failure reads.
"""

from __future__ import annotations

from .summary import ConformanceReport

__all__ = ["ConformanceReport"]
