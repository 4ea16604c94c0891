"""The keeper's two kinds of failure: one that stops it, one that fails a snapshot."""

from __future__ import annotations

from engine.errors import ZkmarginError


class KeeperError(ZkmarginError):
    """A fatal problem (configuration, chain): the keeper stops with exit code 2."""


class SnapshotFailed(Exception):
    """This snapshot cannot be processed; the reason is recorded and the loop goes on."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def short(value: int | str) -> str:
    """A hash or root shortened for a log line or message (``0x12345678…abcd``)."""
    text = hex(value) if isinstance(value, int) else value
    return text if len(text) <= 14 else f"{text[:10]}…{text[-4:]}"
