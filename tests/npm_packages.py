"""Pinned npm packages the tests run (dynalite, the TypeScript SDK client), installed once
into a cache folder outside the tree."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

try:  # tests/ as a package or as a plain folder on sys.path
    from .file_locks import exclusive_lock
except ImportError:
    from file_locks import exclusive_lock  # type: ignore[no-redef]


def install_pinned(npm: str, name: str, version: str, *, folder: str, cache_env: str) -> Path:
    """``name@version`` under ``$cache_env`` (default: the temp dir's kit folder); its package
    folder. Install scripts stay off: nothing the tests run needs a native build."""
    base = Path(
        os.environ.get(cache_env) or Path(tempfile.gettempdir()) / "mcp-session-store-kit-npm"
    )
    prefix = base / folder
    package = prefix / "node_modules" / name
    if (package / "package.json").is_file():
        return package
    prefix.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(prefix / ".install-lock"):  # pytest-xdist workers may install at once
        if not (package / "package.json").is_file():
            result = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--no-save",
                    "--no-package-lock",
                    "--ignore-scripts",
                    "--loglevel=error",
                    "--prefix",
                    str(prefix),
                    f"{name}@{version}",
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0 or not (package / "package.json").is_file():
                raise RuntimeError(
                    f"npm install {name}@{version} failed:\n{result.stdout}\n{result.stderr}"
                )
    return package
