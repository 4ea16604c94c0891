"""Where the node toolchain is: ``node_modules`` under the project root (``engine.paths``
defines the root and the cache, the one place for them)."""

from __future__ import annotations

from pathlib import Path

from engine.paths import project_root


def node_modules() -> Path:
    """The pinned node toolchain: ``<root>/node_modules`` (installed by ``npm ci``)."""
    return project_root() / "node_modules"
