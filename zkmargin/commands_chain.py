"""zkmargin CLI commands: chain (filled in by the chain work)."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Attach this module's commands to the main group."""
