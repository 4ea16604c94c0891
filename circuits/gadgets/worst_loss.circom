pragma circom 2.1.0;

include "widths.circom";
include "min_by_index.circom";
include "floor_div_const.circom";

// WorstLoss(k): spec section 3 W[a] from one asset's 16 scenario sums
//   sum[s] = sum over the asset's slots of q_j * RA_j[s]   (scale SCALE^2),
//   W = max(0, max_s -fdiv(sum[s], SCALE)) = max(0, -fdiv(min_s sum[s], SCALE))
// (fdiv by a positive constant is monotone, so one division suffices).
// Precondition: |sum[s]| < 2^sumBits(k) (true when |q| < 2^48 and |RA| < 2^48).
// Outputs: W (0 <= W < 2^lossBits(k)), Lmin = fdiv(min, SCALE), worst = index.
// Cost: MinByIndex(16, sumBits) ~ 16 (sumBits + 4) + FloorDivConst + 1.
template WorstLoss(k) {
    var SB = sumBits(k);
    signal input sum[16];
    signal output W;
    signal output Lmin;
    signal output worst;

    component minimum = MinByIndex(16, SB);
    for (var s = 0; s < 16; s++) {
        minimum.v[s] <== sum[s];
    }
    worst <== minimum.index;

    component div = FloorDivConst(SB, SCALE());
    div.n <== minimum.out;
    Lmin <== div.q;
    _ <== div.r;  // constrained inside FloorDivConst
    // W = -Lmin when Lmin < 0, else 0
    W <== -Lmin * div.qneg;
}
