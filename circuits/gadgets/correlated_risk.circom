pragma circom 2.1.0;

include "widths.circom";
include "floor_div_const.circom";
include "isqrt.circom";

// CorrelatedRisk(A, k): spec section 3 (ZKPM-2), the directional parts combined
//   X = fdiv(sum_{a,b} rho[a][b] S[a] S[b], SCALE),   R = isqrt(max(0, X)).
// Only the upper triangle of rho is an input (the matrix is symmetric, and
// params_hash binds exactly the upper triangle):
//   sum = sum_a rho[a][a] S[a]^2 + 2 sum_{a<b} rho[a][b] S[a] S[b].
// Preconditions: |S[a]| < 2^lossBits(k) (DirectionalSplit output), |rho| <= 10^6
// (bound by params_hash to governed, engine-validated parameters). Then
// |sum| < 2^corrSumBits(A, k) <= 2^188 < p / 2: no wrap-around.
// Outputs: X (signed, |X| < 2^xBits), R.
template CorrelatedRisk(A, k) {
    var TB = corrSumBits(A, k);
    var XB = xBits(A, k);
    var U = A * (A + 1) \ 2;
    signal input S[A];
    signal input rhoUpper[U];  // rho[a][b] for a <= b, row by row (params_hash order)
    signal output X;
    signal output R;

    signal ww[U];
    signal term[U];
    var total = 0;
    var u = 0;
    for (var a = 0; a < A; a++) {
        for (var b = a; b < A; b++) {
            ww[u] <== S[a] * S[b];
            term[u] <== rhoUpper[u] * ww[u];
            total += (a == b ? 1 : 2) * term[u];
            u++;
        }
    }
    component div = FloorDivConst(TB, SCALE());
    div.n <== total;
    X <== div.q;
    _ <== div.r;  // constrained inside FloorDivConst

    signal xPos;
    xPos <== X * (1 - div.qneg);
    component root = ISqrt(XB);
    root.x <== xPos;
    R <== root.out;
}
