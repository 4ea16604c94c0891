pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

// RowLeaf(): spec section 5 leaf of instrument row i,
//   Poseidon7(instrument_id, a, M, delta, c_long, c_short, Poseidon16(RA[0..15])).
// No precondition (any field elements; the values are bound, not interpreted).
// Cost: Poseidon16 + Poseidon7, about 609 + 384 constraints.
template RowLeaf() {
    signal input id;
    signal input asset;
    signal input mark;
    signal input delta;
    signal input cLong;
    signal input cShort;
    signal input ra[16];
    signal output leaf;

    component raHash = Poseidon(16);
    for (var s = 0; s < 16; s++) {
        raHash.inputs[s] <== ra[s];
    }
    component h = Poseidon(7);
    h.inputs[0] <== id;
    h.inputs[1] <== asset;
    h.inputs[2] <== mark;
    h.inputs[3] <== delta;
    h.inputs[4] <== cLong;
    h.inputs[5] <== cShort;
    h.inputs[6] <== raHash.out;
    leaf <== h.out;
}
