pragma circom 2.1.0;

include "unsigned_range.circom";

// floor(sqrt(x)) for 0 <= x < 2^(2 RB), bit by bit from the top.
function isqrt_hint(x, RB) {
    var r = 0;
    for (var i = RB - 1; i >= 0; i--) {
        var c = r + (1 << i);
        if (c * c <= x) { r = c; }
    }
    return r;
}

// ISqrtChecked(NB): r is the integer square root of x, given r as an input.
//   0 <= r < 2^RB with RB = ceil(NB / 2),
//   x - r^2 in [0, 2^NB)          (r^2 <= x),
//   r^2 + 2 r - x in [0, 2^(RB+1)) ((r + 1)^2 > x).
// Precondition: 0 <= x < 2^NB, NB <= 240. Since r^2 + 2r < 2^(2 RB + 1) <= 2^(NB+2),
// a negative difference wraps to p - (small) and fails its range check.
// Cost: 2 RB + NB + 4 constraints.
template ISqrtChecked(NB) {
    var RB = (NB + 1) \ 2;
    assert(NB >= 2 && NB <= 240);
    signal input x;
    signal input r;

    component rRange = UnsignedRange(RB);
    rRange.in <== r;
    signal r2;
    r2 <== r * r;
    component below = UnsignedRange(NB);
    below.in <== x - r2;
    component above = UnsignedRange(RB + 1);
    above.in <== r2 + 2 * r - x;
}

// ISqrt(NB): out = floor(sqrt(x)) for 0 <= x < 2^NB, hinted and checked.
template ISqrt(NB) {
    signal input x;
    signal output out;
    out <-- isqrt_hint(x, (NB + 1) \ 2);
    component check = ISqrtChecked(NB);
    check.x <== x;
    check.r <== out;
}
