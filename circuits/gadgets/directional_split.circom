pragma circom 2.1.0;

include "widths.circom";
include "floor_div_const.circom";
include "less_than_signed.circom";

// DirectionalSplit(k): spec section 3 (ZKPM-2) for one asset: its worst loss W split
// into a signed directional part S and a non-directional rest U,
//   D   = (sum[10] + sum[11]) - (sum[12] + sum[13])   (the +1 scan moves minus the -1 moves)
//   Dir = fdiv(D, 4 * SCALE),   S = clamp(Dir, -W, W),   U = W - |S|.
// Preconditions: |sum[s]| < 2^sumBits(k) (so |D| < 2^dirSumBits(k)) and
// 0 <= W < 2^lossBits(k) (WorstLoss output). Then |Dir| < 2^lossBits(k) (the quotient's
// range check), both comparisons below are exact, and |S| <= W, 0 <= U <= W.
// Outputs: S (signed), U, and Dir (for tests and the report).
// Cost: FloorDivConst(dirSumBits, 4 * 10^6) + 2 LessThanSigned(lossBits) + 4.
template DirectionalSplit(k) {
    var LB = lossBits(k);
    signal input up;    // sum[10] + sum[11]
    signal input down;  // sum[12] + sum[13]
    signal input W;
    signal output Dir;
    signal output S;
    signal output U;

    component div = FloorDivConst(dirSumBits(k), 4 * SCALE());
    div.n <== up - down;
    Dir <== div.q;
    _ <== div.r;  // constrained inside FloorDivConst

    // above = 1 when W < Dir (S = W); below = 1 when Dir < -W (S = -W); never both (W >= 0)
    component above = LessThanSigned(LB);
    above.a <== W;
    above.b <== Dir;
    component below = LessThanSigned(LB);
    below.a <== Dir;
    below.b <== -W;

    signal toTop;
    signal toBottom;
    toTop <== above.out * (W - Dir);
    toBottom <== below.out * (-W - Dir);
    S <== Dir + toTop + toBottom;

    // |S| = W when clamped, else |Dir| = Dir (1 - 2 neg), so U = inside * (W - |Dir|)
    signal dirNeg;
    dirNeg <== Dir * div.qneg;
    signal inside;
    inside <== 1 - above.out - below.out;
    U <== inside * (W - (Dir - 2 * dirNeg));
}
