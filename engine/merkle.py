"""The 4-ary Poseidon Merkle tree of ZKPM-2 (spec section 5), sparse, for any leaves.

Node ``Poseidon4(c0, c1, c2, c3)`` of its children in index order; an empty leaf is 0
and an empty subtree's root is the root of all-zero leaves. The instrument tree
(``engine.commitments.InstrumentTree``, leaves keyed by instrument id) and the accounts
tree (``engine.accounts_tree``, leaves keyed by position) are both this tree. Each level
is hashed in one batched call (``poseidon_many``: every core when the native module is
built), so a tree of a million leaves takes seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.errors import InputError
from engine.poseidon import poseidon, poseidon_many

ARITY = 4  # children per node


def node_hash(children: Sequence[int]) -> int:
    """An inner node: Poseidon4 of its children in index order."""
    if len(children) != ARITY:
        raise ValueError(f"a node has {ARITY} children, got {len(children)}")
    return poseidon(children)


_EMPTY_CACHE: list[int] = [0]


def empty_subtree_root(height: int) -> int:
    """Root of a subtree of ``height`` levels whose leaves are all 0 (height 0: a leaf)."""
    while len(_EMPTY_CACHE) <= height:
        _EMPTY_CACHE.append(node_hash([_EMPTY_CACHE[-1]] * ARITY))
    return _EMPTY_CACHE[height]


@dataclass(frozen=True)
class MerklePath:
    """Authentication path of leaf ``index`` of a 4-ary tree.

    ``positions[l]`` and ``siblings[l]`` describe level ``l`` counted from the leaf
    upward (``l = 0`` is the leaf's own group of four, ``l = d - 1`` the root's
    children). ``positions[l]`` is base-4 digit ``l`` of ``index``
    (``(index >> 2*l) & 3``): the place of the current node among its parent's four
    children. ``siblings[l]`` are the other three children of that parent, in
    increasing child index with the current node left out. The parent is rebuilt by
    inserting the current node at ``positions[l]``:
    ``children = siblings[l][:pos] + (node,) + siblings[l][pos:]`` and
    ``parent = Poseidon4(*children)``. For example with ``pos = 2`` the children are
    ``(s0, s1, node, s2)``.
    """

    index: int
    leaf: int  # the leaf hash, or 0 for an empty slot
    positions: tuple[int, ...]
    siblings: tuple[tuple[int, int, int], ...]

    def compute_root(self, leaf: int | None = None) -> int:
        """The root this path leads to from ``leaf`` (default: ``self.leaf``)."""
        node = self.leaf if leaf is None else leaf
        for pos, sibs in zip(self.positions, self.siblings, strict=True):
            node = node_hash((*sibs[:pos], node, *sibs[pos:]))
        return node


class SparseTree:
    """Sparse 4-ary Poseidon Merkle tree of ``depth`` levels over ``leaves`` (index -> hash).

    Only non-empty subtrees are hashed; empty ones use ``empty_subtree_root``.
    ``levels[0]`` maps leaf index to leaf hash, ``levels[l]`` node index to hash at
    height ``l``; ``levels[depth]`` holds the root at index 0 (if non-empty). ``noun``
    names the index in errors ("instrument id", "position").
    """

    def __init__(self, leaves: Mapping[int, int], depth: int, noun: str = "index") -> None:
        if depth < 1:
            raise InputError("depth", f"must be at least 1, got {depth}")
        self.depth = depth
        self.capacity = ARITY**depth
        self.noun = noun
        for index in leaves:
            self._check_index(f"leaves[{index}]", index)
        self.levels: list[dict[int, int]] = [dict(leaves)]
        for height in range(depth):
            below = self.levels[-1]
            empty = empty_subtree_root(height)
            parents = sorted({index // ARITY for index in below})
            children = [[below.get(p * ARITY + c, empty) for c in range(ARITY)] for p in parents]
            self.levels.append(dict(zip(parents, poseidon_many(children), strict=True)))

    def _check_index(self, field: str, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int):
            raise InputError(field, f"{self.noun} must be an integer, got {index!r}")
        if not 0 <= index < self.capacity:
            raise InputError(
                field, f"{self.noun} must satisfy 0 <= id < 4**{self.depth} = {self.capacity}, got {index}"
            )

    @property
    def root(self) -> int:
        """The tree root (the root of an all-empty tree when there are no leaves)."""
        return self.levels[self.depth].get(0, empty_subtree_root(self.depth))

    def node(self, height: int, index: int) -> int:
        """Hash of node ``index`` at ``height`` (0 = leaves)."""
        return self.levels[height].get(index, empty_subtree_root(height))

    def leaf(self, index: int) -> int:
        """Leaf hash at ``index`` (0 for an empty slot)."""
        self._check_index(self.noun.replace(" ", "_"), index)
        return self.node(0, index)

    def path(self, index: int) -> MerklePath:
        """Authentication path of leaf ``index`` (see ``MerklePath`` for the layout)."""
        self._check_index(self.noun.replace(" ", "_"), index)
        positions: list[int] = []
        siblings: list[tuple[int, int, int]] = []
        at = index
        for height in range(self.depth):
            pos = at % ARITY
            base = at - pos
            others = [self.node(height, base + c) for c in range(ARITY) if c != pos]
            positions.append(pos)
            siblings.append((others[0], others[1], others[2]))
            at //= ARITY
        return MerklePath(index, self.node(0, index), tuple(positions), tuple(siblings))
