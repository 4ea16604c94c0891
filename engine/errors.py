"""The one error type for bad input: it names the field and the bound it broke."""

from __future__ import annotations


class InputError(ValueError):
    """Input rejected before any computation or proof.

    ``field`` is a dotted path to the offending value (``account.slots[3].q``),
    ``message`` says which bound or rule it broke.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
