pragma circom 2.1.0;

include "one_hot.circom";
include "unsigned_range.circom";

// First index of the minimum of values[0..n-1], comparing as signed integers
// (circom's < reads field elements as integers in (-p/2, p/2)).
function argmin_hint(n, values) {
    var best = 0;
    for (var i = 1; i < n; i++) {
        if (values[i] < values[best]) { best = i; }
    }
    return best;
}

// MinAtIndex(n, NB): out = v[index] and v[i] - out >= 0 for every i, so out is
// the minimum; index is an input (tests feed wrong indices here).
// Precondition: -2^NB <= v[i] < 2^NB (signed), so 0 <= v[i] - min < 2^(NB+1)
// and a negative difference wraps to p - (small), failing UnsignedRange(NB+1).
// Preconditions: NB + 1 <= 252.  Cost: n (one-hot) + 2 + n (selection) + n (NB + 2).
template MinAtIndex(n, NB) {
    signal input v[n];
    signal input index;
    signal output out;

    component sel = OneHot(n);
    sel.index <== index;
    signal picked[n];
    var acc = 0;
    for (var i = 0; i < n; i++) {
        picked[i] <== sel.e[i] * v[i];
        acc += picked[i];
    }
    out <== acc;
    component geq[n];
    for (var i = 0; i < n; i++) {
        geq[i] = UnsignedRange(NB + 1);
        geq[i].in <== v[i] - out;
    }
}

// MinByIndex(n, NB): the minimum of n signed values, with its (first) index
// hinted and proven by MinAtIndex. Ties are harmless: every tied index
// selects the same value.
template MinByIndex(n, NB) {
    signal input v[n];
    signal output out;
    signal output index;
    var values[n];
    for (var i = 0; i < n; i++) {
        values[i] = v[i];
    }
    index <-- argmin_hint(n, values);
    component check = MinAtIndex(n, NB);
    for (var i = 0; i < n; i++) {
        check.v[i] <== v[i];
    }
    check.index <== index;
    out <== check.out;
}
