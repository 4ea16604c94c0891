"""The project's error types, at the bottom layer so that every layer can raise them.

* :class:`ZkmarginError` is an expected failure: the CLI prints it as one clear line and
  exits with code 2 (bad input or a failure the user can act on).
* :class:`InputError` is bad input: it names the field and the bound it broke.
* :class:`CheckFailed` is a check that ran and did not pass (an invalid proof, an audit
  mismatch, a snapshot that failed): exit code 1.

Only the CLI maps errors to exit codes; no layer below it knows about them.
"""

from __future__ import annotations


class ZkmarginError(Exception):
    """An expected failure, reported as one line (exit code 2)."""


class InputError(ZkmarginError, ValueError):
    """Input rejected before any computation or proof.

    ``field`` is a dotted path to the offending value (``account.slots[3].q``),
    ``message`` says which bound or rule it broke.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class CheckFailed(ZkmarginError):
    """A check ran and failed (invalid proof, audit mismatch, failed snapshot): exit code 1."""
