pragma circom 2.1.0;

include "hash_list.circom";

// The margin model's number (engine.aggregation.MODEL_ID): 2 for ZKPM-2.
function MODEL_ID() { return 2; }

// ParamsHash(A): spec section 5 params hash
//   hash_list(MODEL_ID, mm_factor, kappa[0..A-1], rho[a][b] for a <= b, row by row),
// MODEL_ID = 2 (ZKPM-2) a constant: a commitment to these integers under one model is
// never one under another,
// and rho symmetric: every lower-triangle entry equals its upper-triangle twin,
// so the full matrix is the one the hash binds. `upper` is that upper triangle,
// row by row (diagonal included), the order CorrelatedRisk reads.
// No precondition. Cost: ceil((2 + A + A(A+1)/2) / 15) Poseidon16 + A(A-1)/2.
template ParamsHash(A) {
    signal input mm_factor;
    signal input kappa[A];
    signal input rho[A][A];
    signal output out;
    signal output upper[A * (A + 1) \ 2];

    component h = HashList(2 + A + A * (A + 1) \ 2);
    h.in[0] <== MODEL_ID();
    h.in[1] <== mm_factor;
    for (var a = 0; a < A; a++) {
        h.in[2 + a] <== kappa[a];
    }
    var pos = 2 + A;
    for (var a = 0; a < A; a++) {
        for (var b = a; b < A; b++) {
            h.in[pos] <== rho[a][b];
            upper[pos - 2 - A] <== rho[a][b];
            pos++;
        }
        for (var b = 0; b < a; b++) {
            rho[a][b] === rho[b][a];
        }
    }
    out <== h.out;
}
