"""Repros that run: what a scenario did, written down as it happened and turned into a script.

A trial records its steps in a ``ReproLog`` (``log``); ``render`` turns a failed trial's record
into a standalone Python script (``script``). The script makes the same calls on the store and,
side by side, on the kit's in-memory reference store, which meets SPEC.md; ``Referee``
(``referee``) compares each answer and raises ``AssertionError`` naming the clause at the first
one that differs. Once the store is fixed the script runs to the end and exits 0.

Scripts import ``from conformance.repro import Referee``: that line must keep working for
scripts already written.
"""

from __future__ import annotations

from ..text import shorten
from .log import ReproLog
from .referee import Keywords, Referee
from .script import render, script_for

__all__ = ["Keywords", "Referee", "ReproLog", "render", "script_for", "shorten"]
