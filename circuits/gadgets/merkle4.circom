pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "quad_place.circom";

// Merkle4Root(d): the root of a 4-ary Poseidon tree of depth d reached from
// `leaf` with the leaf index given by its base-4 digits, least significant
// (leaf level) first, each digit as two bits, and per level the 3 siblings in
// index order. Node = Poseidon4(c0, c1, c2, c3) (spec section 5).
// Precondition: every digitBits[l][i] is a bit (the caller gets them from a
// Num2Bits(2 d) of the leaf index, which also proves index < 4^d).
// Cost: d * (7 + Poseidon4 ~ 300) constraints.
template Merkle4Root(d) {
    signal input leaf;
    signal input digitBits[d][2];
    signal input siblings[d][3];
    signal output root;

    // level[l]: the hash of the path's node at height l (level[0] = leaf)
    signal level[d + 1];
    level[0] <== leaf;
    component place[d];
    component node[d];
    for (var l = 0; l < d; l++) {
        place[l] = QuadPlace();
        place[l].cur <== level[l];
        for (var i = 0; i < 3; i++) {
            place[l].sib[i] <== siblings[l][i];
        }
        place[l].b[0] <== digitBits[l][0];
        place[l].b[1] <== digitBits[l][1];
        node[l] = Poseidon(4);
        for (var i = 0; i < 4; i++) {
            node[l].inputs[i] <== place[l].c[i];
        }
        level[l + 1] <== node[l].out;
    }
    root <== level[d];
}
