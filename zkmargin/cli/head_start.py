"""`zkmargin prove`'s head start: when the keys of the market file's profile are already
cached, node, the circuit's wasm and the proving key are warmed up in threads
(``prover.backends.warm``) while the command imports the engine and reads its files.

It only saves time (docs/prover.md, "`zkmargin prove` as a whole command"): anything
unclear gives no head start, and the command then reads, checks and reports everything
in its usual order.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zkmargin.cli.options import prover_backend as resolve_prover

if TYPE_CHECKING:
    from engine.model import Market
    from prover.backends.warm import Warmup
    from prover.keys.artifacts import CircuitArtifacts


class HeadStart:
    """`zkmargin prove`'s head start: the cached keys of the market file's profile, and their
    warm-up (node, the wasm, the proving key) running while the files are read."""

    def __init__(self, profile: str, artifacts: CircuitArtifacts, warm: Warmup) -> None:
        self.profile = profile
        self.artifacts = artifacts
        self.warm = warm

    def artifacts_for(self, market: Market) -> CircuitArtifacts | None:
        return self.artifacts if market.profile.name == self.profile else None

    def stop(self) -> None:
        """The warm-up ended and its worker stopped (a no-op once a Prover stopped it)."""
        self.warm.wait()
        if self.warm.worker is not None:
            self.warm.worker.stop()


def head_start(
    market_path: Path, ptau: Path | None, batch: bool, no_worker: bool, flag: str | None
) -> HeadStart | None:
    """A head start when the keys are already cached (no --ptau), else None. It only saves
    time: anything unclear (an unreadable file, missing keys, a bad setting) gives None, and
    the command then reads, checks and reports everything in its usual order."""
    if no_worker:
        return None
    try:
        from engine.formats.json_text import loads_json  # the nesting check first
        from engine.profiles import get_profile
        from prover.backends.choice import SNARKJS, resolve_backend
        from prover.backends.node_worker import NodeWorker
        from prover.backends.warm import Warmup
        from prover.keys.artifacts import find_artifacts
        from prover.keys.ptau import ptau_named
        from prover.toolchain.build import batch_spec

        if ptau_named(ptau):
            return None
        profile = get_profile(loads_json(market_path.read_text(encoding="utf-8"), "market")["profile"])
        artifacts = find_artifacts(batch_spec(profile) if batch else profile.name)
        if artifacts is None or artifacts.setup is None:
            return None
        backend = resolve_backend(resolve_prover(flag))
        warm = Warmup(backend, artifacts.wasm, artifacts.zkey, NodeWorker(witness_only=backend != SNARKJS))
    except Exception:  # a head start never decides an outcome
        return None
    return HeadStart(profile.name, artifacts, warm)
