pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "hash_list.circom";

// MarketRoot(A): spec section 5 market root
//   Poseidon3(tree_root, hash_list(S[0], D[0], ..., S[A-1], D[A-1]), epoch).
// No precondition (the values are bound, not interpreted).
// Cost: ceil(2A / 15) Poseidon16 + Poseidon3, about 609 + 240 constraints for A <= 7.
template MarketRoot(A) {
    signal input tree_root;
    signal input spot[A];
    signal input depth[A];
    signal input epoch;
    signal output root;

    component assetHash = HashList(2 * A);
    for (var a = 0; a < A; a++) {
        assetHash.in[2 * a] <== spot[a];
        assetHash.in[2 * a + 1] <== depth[a];
    }
    component h = Poseidon(3);
    h.inputs[0] <== tree_root;
    h.inputs[1] <== assetHash.out;
    h.inputs[2] <== epoch;
    root <== h.out;
}
