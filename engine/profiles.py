"""Circuit profiles: the one place that fixes the shapes (A, k, d).

A profile fixes the number of asset slots ``A``, position slots ``k`` per account
and the depth ``d`` of the 4-ary instrument tree (capacity 4**d instruments), and for
batched proofs (docs/margin-model.md section 6b) the batch size ``K`` (accounts per
proof) and the depth ``D`` of the 4-ary accounts tree (capacity 4**D accounts).
Engine, circuit builder, prover and contracts all read profiles from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InputError
from engine.fixedpoint import MAX_ASSETS


@dataclass(frozen=True)
class Profile:
    name: str
    assets: int  # A
    slots: int  # k
    depth: int  # d (4-ary tree)
    batch_size: int = 1  # K: accounts per batch proof
    accounts_depth: int = 10  # D: depth of the 4-ary accounts tree

    @property
    def accounts_capacity(self) -> int:
        """Number of accounts the accounts tree can hold (4**D)."""
        return 4**self.accounts_depth

    @property
    def capacity(self) -> int:
        """Number of instrument ids the tree can hold (4**d)."""
        return 4**self.depth

    def __post_init__(self) -> None:
        if not 1 <= self.assets <= MAX_ASSETS:
            raise ValueError(f"profile {self.name}: A must be in 1..{MAX_ASSETS}")
        if self.slots < 1 or self.depth < 1:
            raise ValueError(f"profile {self.name}: k and d must be positive")
        if self.batch_size < 1 or self.accounts_depth < 1:
            raise ValueError(f"profile {self.name}: K and D must be positive")


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("test", assets=2, slots=4, depth=2, batch_size=4, accounts_depth=5),
        Profile("demo", assets=4, slots=8, depth=3, batch_size=8, accounts_depth=6),
        Profile("standard", assets=4, slots=16, depth=5, batch_size=32, accounts_depth=10),
        # the crash drill's (bench/crash_drill.py): the test profile's shape with room for
        # 16,384 accounts (D = 7) and batches of 8
        Profile("drill", assets=2, slots=4, depth=2, batch_size=8, accounts_depth=7),
    )
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError("profile", f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
