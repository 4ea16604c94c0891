pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";
include "merkle4.circom";

// AccountInclusion(D): spec section 5 accounts tree. The leaf
// Poseidon2(account_id, commitment) sits at `position` of the 4-ary Poseidon
// tree with root `accountsRoot`, unless enabled = 0 (a padding entry).
//   position in [0, 4^D) (Num2Bits(2 D), whose bits are the path's base-4 digits),
//   enabled * (Merkle4Root(leaf, digits, siblings) - accountsRoot) == 0.
// Preconditions: enabled is a bit. The position is not otherwise bound: the leaf
// names the id, and the ids of one batch strictly increase (MarginBatch).
// Cost: Poseidon2 (~240) + 2 D + 1 + D * (7 + ~300) + 1 constraints.
template AccountInclusion(D) {
    signal input enabled;
    signal input account_id;
    signal input commitment;
    signal input position;
    signal input siblings[D][3];
    signal input accountsRoot;

    component positionBits = Num2Bits(2 * D);
    positionBits.in <== position;

    component leaf = Poseidon(2);
    leaf.inputs[0] <== account_id;
    leaf.inputs[1] <== commitment;

    component path = Merkle4Root(D);
    path.leaf <== leaf.out;
    for (var l = 0; l < D; l++) {
        path.digitBits[l][0] <== positionBits.out[2 * l];
        path.digitBits[l][1] <== positionBits.out[2 * l + 1];
        for (var i = 0; i < 3; i++) {
            path.siblings[l][i] <== siblings[l][i];
        }
    }
    enabled * (path.root - accountsRoot) === 0;
}
