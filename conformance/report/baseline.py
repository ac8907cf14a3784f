"""The baseline: clause ids a store is expected to fail, read from ``--conformance-baseline``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..clauses import clause_by_id

__all__ = ["BASELINE", "read_baseline"]

BASELINE = pytest.StashKey[frozenset[str]]()
"""The clause ids of the baseline, on the run's config."""


def read_baseline(path: str | None) -> frozenset[str]:
    if not path:
        return frozenset()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise pytest.UsageError(f"--conformance-baseline={path}: {error.strerror}") from None
    ids = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        clause_id = entry.split()[0]
        try:
            clause_by_id(clause_id)
        except KeyError:
            raise pytest.UsageError(
                f"--conformance-baseline={path}:{number}: no clause {clause_id!r} in SPEC.md"
            ) from None
        ids.add(clause_id)
    return frozenset(ids)
