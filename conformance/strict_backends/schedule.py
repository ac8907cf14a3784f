"""Seeded, deterministic choices: the same seed gives the same faults in every run.

Each choice is a hash of the run's seed and what it is about (a key, a command
name, an occurrence), so it does not depend on the order in which requests
arrive from concurrent clients, threads or xdist workers.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["seeded_int", "seeded_positions"]


def seeded_int(seed: int, *about: object, below: int) -> int:
    """A number in ``range(below)`` fixed by ``seed`` and ``about``."""
    digest = hashlib.sha256(repr((seed, *about)).encode()).digest()
    return int.from_bytes(digest[:8], "big") % below


def seeded_positions(seed: int, *about: object, count: int, within: int) -> list[int]:
    """``count`` distinct positions in ``range(within)``, fixed by ``seed`` and ``about``."""
    chooser = random.Random(seeded_int(seed, *about, below=2**63))
    return chooser.sample(range(within), count)
