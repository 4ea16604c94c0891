"""The prover's error type: an expected failure the CLI prints as one clear line."""

from __future__ import annotations

from engine.errors import ZkmarginError


class ProverError(ZkmarginError):
    """A prover toolchain failure (missing tool, failed compile, bad key or proof file)."""


class ProofMismatch(ProverError):
    """The circuit's public signals differ from what the engine computed."""
