pragma circom 2.1.0;

include "hash_list.circom";

// ParamsHash(A): spec section 5 params hash
//   hash_list(mm_factor, kappa[0..A-1], rho[a][b] for a <= b, row by row),
// and rho symmetric: every lower-triangle entry equals its upper-triangle twin,
// so the full matrix is the one the hash binds. `upper` is that upper triangle,
// row by row (diagonal included), the order CorrelatedRisk reads.
// No precondition. Cost: ceil((1 + A + A(A+1)/2) / 15) Poseidon16 + A(A-1)/2.
template ParamsHash(A) {
    signal input mm_factor;
    signal input kappa[A];
    signal input rho[A][A];
    signal output out;
    signal output upper[A * (A + 1) \ 2];

    component h = HashList(1 + A + A * (A + 1) \ 2);
    h.in[0] <== mm_factor;
    for (var a = 0; a < A; a++) {
        h.in[1 + a] <== kappa[a];
    }
    var pos = 1 + A;
    for (var a = 0; a < A; a++) {
        for (var b = a; b < A; b++) {
            h.in[pos] <== rho[a][b];
            upper[pos - 1 - A] <== rho[a][b];
            pos++;
        }
        for (var b = 0; b < a; b++) {
            rho[a][b] === rho[b][a];
        }
    }
    out <== h.out;
}
