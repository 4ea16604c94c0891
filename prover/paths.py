"""Where the project's files are: the one place for the project root, the circuits,
node_modules and the cache.

In a checkout the root is the folder holding ``prover/``; in an installed package it is
the folder the packages were installed into (``circuits/`` ships as a package beside
``prover/``, so it is found the same way). ``$ZKMARGIN_ROOT`` names another root, for
example the folder where ``npm ci`` installed the node toolchain.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The folder holding ``circuits/`` and ``node_modules/`` (``$ZKMARGIN_ROOT`` overrides)."""
    env = os.environ.get("ZKMARGIN_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent


def node_modules() -> Path:
    """The pinned node toolchain: ``<root>/node_modules`` (installed by ``npm ci``)."""
    return project_root() / "node_modules"


def cache_root() -> Path:
    """Builds, keys, ptau files and solc artifacts: ``$ZKMARGIN_CACHE``, else ``<root>/.cache/zkmargin``."""
    env = os.environ.get("ZKMARGIN_CACHE")
    return Path(env).resolve() if env else project_root() / ".cache" / "zkmargin"
