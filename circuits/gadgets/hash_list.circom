pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

// HashList(n): spec section 5 hash_list(xs) for a list of n >= 1 field elements.
//   h = 0; for each chunk of 15 consecutive values (the last padded with zeros):
//   h = Poseidon16(h, chunk[0..14]); out = the last h.
// No precondition on the values (any field elements).
// Cost: ceil(n / 15) Poseidon16 permutations (about 609 constraints each).
template HashList(n) {
    assert(n >= 1);
    var CHUNK = 15;
    var chunks = (n + CHUNK - 1) \ CHUNK;
    signal input in[n];
    signal output out;

    component h[chunks];
    for (var c = 0; c < chunks; c++) {
        h[c] = Poseidon(CHUNK + 1);
        if (c == 0) {
            h[c].inputs[0] <== 0;
        } else {
            h[c].inputs[0] <== h[c - 1].out;
        }
        for (var i = 0; i < CHUNK; i++) {
            var idx = c * CHUNK + i;
            if (idx < n) {
                h[c].inputs[i + 1] <== in[idx];
            } else {
                h[c].inputs[i + 1] <== 0;
            }
        }
    }
    out <== h[chunks - 1].out;
}
