pragma circom 2.1.0;

// QuadPlace(): the four children of a 4-ary Merkle node, given the node's own
// child `cur` at position digit = b[0] + 2 b[1] and the other three children
// `sib` in index order (spec section 5: children in index order).
//   digit 0: (cur, s0, s1, s2)   digit 1: (s0, cur, s1, s2)
//   digit 2: (s0, s1, cur, s2)   digit 3: (s0, s1, s2, cur)
// Precondition: b[0], b[1] are bits (the caller takes them from a Num2Bits).
// Cost: 7 constraints (e3 = b0 b1, then one product per selected difference).
template QuadPlace() {
    signal input cur;
    signal input sib[3];
    signal input b[2];
    signal output c[4];

    // one-hot of the digit: e0..e3
    signal e3;
    e3 <== b[0] * b[1];
    var e0 = 1 - b[0] - b[1] + e3;
    var e1 = b[0] - e3;
    var e2 = b[1] - e3;

    signal t0;
    t0 <== e0 * (cur - sib[0]);
    c[0] <== sib[0] + t0;

    signal t1a;
    signal t1b;
    t1a <== e0 * (sib[0] - sib[1]);
    t1b <== e1 * (cur - sib[1]);
    c[1] <== sib[1] + t1a + t1b;

    signal t2a;
    signal t2b;
    t2a <== e2 * (cur - sib[1]);
    t2b <== e3 * (sib[2] - sib[1]);
    c[2] <== sib[1] + t2a + t2b;

    signal t3;
    t3 <== e3 * (cur - sib[2]);
    c[3] <== sib[2] + t3;
}
