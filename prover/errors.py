"""The prover's error type: an expected failure the CLI prints as one clear line."""

from __future__ import annotations

from zkmargin.cli_support import CliError


class ProverError(CliError):
    """A prover toolchain failure (missing tool, failed compile, bad key or proof file)."""
