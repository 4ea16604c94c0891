"""The four margin statuses of ZKPM-2 section 3, in one place for engine, CLI, chain and keeper."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """An account's margin status; the integer is what the circuit outputs and the gate stores."""

    HEALTHY = 0
    RESTRICTED = 1
    LIQUIDATABLE = 2
    INSOLVENT = 3

    @property
    def label(self) -> str:
        """The lower-case name used in reports and JSON (``"liquidatable"``)."""
        return self.name.lower()

    @property
    def style(self) -> str:
        """The rich style the CLI shows it in."""
        return _STYLES[self]

    @property
    def opens_liquidation(self) -> bool:
        """Statuses 2 and 3 let the gate open a liquidation case."""
        return self >= Status.LIQUIDATABLE

    @classmethod
    def label_of(cls, value: int) -> str:
        """The label of ``value``, or ``"unknown"`` for an integer that is no status."""
        try:
            return cls(value).label
        except ValueError:
            return "unknown"


_STYLES = {
    Status.HEALTHY: "green",
    Status.RESTRICTED: "yellow",
    Status.LIQUIDATABLE: "red",
    Status.INSOLVENT: "bold red",
}
