"""The proof-gated keeper: liquidations settle only as fast as they are proved.

An account found liquidatable at a step joins a first-in first-out queue. The keeper
proves batches of ``K`` accounts (a short batch is padded, not waited for); it can start
a batch every ``1 / proofs_per_s`` seconds (its throughput) and a batch settles
``latency_s`` after it starts (one proof's time plus its transaction). A liquidation
settles at the price of the moment it settles. ``instant`` is the reference: every
liquidation settles at the step it is found, at the step's price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

#: The crash drill's figures (bench/crash_drill.py; README: 511 liquidations confirmed in
#: 3.4 min at K = 8, 0.317 proofs/s with two workers), used as the defaults.
DRILL_PROOFS_PER_S = 0.317
DRILL_K = 8
DRILL_LATENCY_S = 2 / DRILL_PROOFS_PER_S  # a proof takes one worker of two 2 / 0.317 s


@dataclass
class Keeper:
    proofs_per_s: float = DRILL_PROOFS_PER_S
    k: int = DRILL_K
    latency_s: float = DRILL_LATENCY_S
    instant: bool = False
    free_at: float = -math.inf
    waiting: list[int] = field(default_factory=list)  # queued, no batch started
    started: dict[int, float] = field(default_factory=dict)  # account -> settlement time

    def enqueue(self, accounts: IntArray) -> None:
        self.waiting.extend(int(i) for i in accounts)

    def due(self, now: float, until: float) -> tuple[IntArray, FloatArray]:
        """Accounts settling in ``[now, until)`` and their settlement times, in queue order."""
        if self.instant:
            out = np.array(self.waiting, dtype=np.int64)
            self.waiting = []
            return out, np.full(out.size, now)
        if self.waiting:
            batches = math.ceil(len(self.waiting) / self.k)
            first = max(self.free_at, now)
            starts = first + np.arange(batches) / self.proofs_per_s
            begun = int(np.searchsorted(starts, until, side="left"))
            for b in range(begun):
                for i in self.waiting[b * self.k : (b + 1) * self.k]:
                    self.started[i] = float(starts[b]) + self.latency_s
            if begun:
                self.free_at = float(starts[begun - 1]) + 1.0 / self.proofs_per_s
            self.waiting = self.waiting[begun * self.k :]
        settled = [(i, t) for i, t in self.started.items() if t < until]
        for i, _ in settled:
            del self.started[i]
        return np.array([i for i, _ in settled], dtype=np.int64), np.array([t for _, t in settled])

    def drain(self) -> IntArray:
        """Every account still queued or in flight (settled at the run's end)."""
        out = np.array([*self.started, *self.waiting], dtype=np.int64)
        self.started, self.waiting = {}, []
        return out

    @property
    def pending(self) -> int:
        return len(self.waiting) + len(self.started)
