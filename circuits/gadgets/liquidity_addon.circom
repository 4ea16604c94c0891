pragma circom 2.1.0;

include "widths.circom";
include "signed_bits.circom";
include "floor_div_const.circom";
include "floor_div_signal.circom";

// LiquidityAddOn(k): spec section 3 for one asset
//   N  = fdiv(|ND| * S, SCALE^2)
//   LQ = fdiv(kappa * N^2, D * SCALE) = fdiv(fdiv(kappa * N^2, SCALE), D)
// (floor(floor(x / a) / b) = floor(x / (a b)) for integers x and a, b > 0; the
// split keeps the signal-divisor division within the field: see docs/circuit.md).
// Preconditions: |ND| < 2^ndBits(k) (from |q| < 2^48, |delta| <= 16 * 10^6),
// 0 <= S < 2^48, 0 <= kappa < 2^32, 1 <= D < 2^64 (S, D, kappa bound by
// market_root / params_hash to engine-validated public data).
// Outputs: N (< 2^notionalBits), LQ (< 2^lqBits).
template LiquidityAddOn(k) {
    var NDB = ndBits(k);
    signal input ND;
    signal input spot;
    signal input depth;
    signal input kappa;
    signal output N;
    signal output LQ;

    component sign = SignedBits(NDB);
    sign.in <== ND;
    signal absND;
    absND <== ND * (1 - 2 * sign.neg);
    signal notionalNum;
    notionalNum <== absND * spot;
    component nDiv = FloorDivConst(NDB + SPOT_BITS(), SCALE() * SCALE());
    nDiv.n <== notionalNum;
    N <== nDiv.q;
    _ <== nDiv.r;  // remainders and signs below are constrained inside the dividers
    _ <== nDiv.qneg;

    signal n2;
    n2 <== N * N;
    signal lqNum;
    lqNum <== kappa * n2;
    component midDiv = FloorDivConst(lqNumBits(k), SCALE());
    midDiv.n <== lqNum;
    component depthDiv = FloorDivSignal(lqBits(k), DEPTH_BITS());
    depthDiv.n <== midDiv.q;
    depthDiv.d <== depth;
    LQ <== depthDiv.q;
    _ <== midDiv.r;
    _ <== midDiv.qneg;
    _ <== depthDiv.r;
}
