pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "row_leaf.circom";
include "merkle4.circom";

// SlotInclusion(d): a position slot's instrument row is the leaf at index `id`
// of the tree with root `treeRoot`, unless the slot is empty (enabled = 0).
//   id in [0, 4^d) (Num2Bits(2 d), whose bits are the base-4 digits of the path),
//   enabled * (Merkle4Root(leaf, digits, siblings) - treeRoot) == 0.
// An empty slot (q = 0) needs no path: every quantity of spec section 3 takes its
// row values multiplied by q = 0 (see docs/circuit.md).
// Preconditions: enabled is a bit. Output: the id range check is a side effect
// callers rely on (CanonicalSlots' precondition id < 2^(2d)).
// Cost: RowLeaf (~993) + 2 d + 1 + d * (7 + ~300) + 1 constraints.
template SlotInclusion(d) {
    signal input enabled;
    signal input id;
    signal input asset;
    signal input mark;
    signal input delta;
    signal input cLong;
    signal input cShort;
    signal input ra[16];
    signal input siblings[d][3];
    signal input treeRoot;

    component idBits = Num2Bits(2 * d);
    idBits.in <== id;

    component leaf = RowLeaf();
    leaf.id <== id;
    leaf.asset <== asset;
    leaf.mark <== mark;
    leaf.delta <== delta;
    leaf.cLong <== cLong;
    leaf.cShort <== cShort;
    for (var s = 0; s < 16; s++) {
        leaf.ra[s] <== ra[s];
    }

    component path = Merkle4Root(d);
    path.leaf <== leaf.leaf;
    for (var l = 0; l < d; l++) {
        path.digitBits[l][0] <== idBits.out[2 * l];
        path.digitBits[l][1] <== idBits.out[2 * l + 1];
    }
    for (var l = 0; l < d; l++) {
        for (var i = 0; i < 3; i++) {
            path.siblings[l][i] <== siblings[l][i];
        }
    }
    enabled * (path.root - treeRoot) === 0;
}
