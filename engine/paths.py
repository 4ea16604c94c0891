"""Where the project's files are: the one place for the project root and the cache.

In a checkout the root is the folder holding ``engine/`` and ``prover/``; in an installed
package it is the folder the packages were installed into (``circuits/`` ships as a
package beside them, so it is found the same way). ``$ZKMARGIN_ROOT`` names another root,
for example the folder where ``npm ci`` installed the node toolchain.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The folder holding ``circuits/`` and ``node_modules/`` (``$ZKMARGIN_ROOT`` overrides)."""
    env = os.environ.get("ZKMARGIN_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent


def cache_root() -> Path:
    """Builds, keys, ptau files, solc artifacts and Poseidon schedules: ``$ZKMARGIN_CACHE``,
    else ``<root>/.cache/zkmargin``."""
    env = os.environ.get("ZKMARGIN_CACHE")
    return Path(env).resolve() if env else project_root() / ".cache" / "zkmargin"
