pragma circom 2.1.0;

include "signed_bits.circom";
include "unsigned_range.circom";
include "widths.circom";

// floor(log2(D)) for D >= 1: the largest f with 2^f <= D.
function flog2(D) {
    var f = 0;
    while ((2 << f) <= D) { f++; }
    return f;
}

// Signed floor division of a field element read as a signed integer by a
// positive integer D, rounding toward minus infinity (spec fdiv).
function fdiv_hint(n, D) {
    if (n < 0) {
        var m = -n;
        return -((m + D - 1) \ D);
    }
    return n \ D;
}

// FloorDivConstChecked(NB, D): the constraints of floor division by a constant
// with the quotient q and remainder r given as inputs (used directly by tests
// to present a wrong but consistent hint).
//   q * D + r == n,  0 <= r < D,  -2^QB <= q < 2^QB with QB = NB - floor(log2 D).
// Precondition: -2^NB < n < 2^NB; then floor(n / D) lies in the q range.
// Uniqueness: |q * D + r| < 2^(QB + clog2 D + 1) <= 2^(NB + 2) < p / 2, so the field
// equation is an integer equation and (q, r) is the floor quotient/remainder.
// Outputs qneg = 1 when q < 0.
// Cost: (QB + 2) + 2 * clog2(D) constraints (the product q * D is linear).
template FloorDivConstChecked(NB, D) {
    var QB = NB - flog2(D);
    var RB = clog2(D);
    assert(D >= 2);
    assert(NB + 2 <= 251);
    signal input n;
    signal input q;
    signal input r;
    signal output qneg;

    n === q * D + r;
    component rLow = UnsignedRange(RB);
    rLow.in <== r;
    component rHigh = UnsignedRange(RB);
    rHigh.in <== D - 1 - r;
    component qRange = SignedBits(QB);
    qRange.in <== q;
    qneg <== qRange.neg;
}

// FloorDivConst(NB, D): q = fdiv(n, D), r = n - q * D, quotient and remainder
// hinted with <-- and constrained by FloorDivConstChecked.
// Precondition: -2^NB < n < 2^NB (signed), D >= 2 a constant.
template FloorDivConst(NB, D) {
    signal input n;
    signal output q;
    signal output r;
    signal output qneg;

    q <-- fdiv_hint(n, D);
    r <== n - q * D;  // linear in q: a constraint, not a hint
    component check = FloorDivConstChecked(NB, D);
    check.n <== n;
    check.q <== q;
    check.r <== r;
    qneg <== check.qneg;
}
