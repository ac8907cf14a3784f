"""Shared fixtures of the kit's own tests."""

from __future__ import annotations

pytest_plugins = ["pytester"]
