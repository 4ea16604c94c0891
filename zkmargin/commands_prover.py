"""zkmargin CLI commands: prover (filled in by the prover work)."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Attach this module's commands to the main group."""
