pragma circom 2.1.0;

include "unsigned_range.circom";

// FloorDivSignalChecked(NB, DB): floor division of n >= 0 by a signal divisor d,
// with quotient q and remainder r as inputs (tests feed wrong hints here).
//   q * d + r == n,  0 <= r < d  (r and d - 1 - r both in [0, 2^DB)),
//   0 <= q < 2^NB.
// Preconditions: 0 <= n < 2^NB, 1 <= d < 2^DB, NB + DB + 2 <= 252.
// The checks themselves give 0 <= r <= d - 1 and d < 2^(DB+1), so
// q * d + r < 2^(NB + DB + 1) + 2^(DB+1) < p: the field equation is an integer
// equation and q, r are the floor quotient and remainder. A divisor d = 0 has no
// witness (d - 1 - r would be negative).
// Cost: NB + 2 * DB + 4 constraints.
template FloorDivSignalChecked(NB, DB) {
    assert(NB + DB + 2 <= 252);
    signal input n;
    signal input d;
    signal input q;
    signal input r;

    signal qd;
    qd <== q * d;
    qd + r === n;
    component rLow = UnsignedRange(DB);
    rLow.in <== r;
    component rHigh = UnsignedRange(DB);
    rHigh.in <== d - 1 - r;
    component qRange = UnsignedRange(NB);
    qRange.in <== q;
}

// FloorDivSignal(NB, DB): q = floor(n / d) for 0 <= n < 2^NB, 1 <= d < 2^DB;
// quotient and remainder hinted with <--, constrained by FloorDivSignalChecked.
template FloorDivSignal(NB, DB) {
    signal input n;
    signal input d;
    signal output q;
    signal output r;

    q <-- n \ d;
    r <-- n % d;
    component check = FloorDivSignalChecked(NB, DB);
    check.n <== n;
    check.d <== d;
    check.q <== q;
    check.r <== r;
}
