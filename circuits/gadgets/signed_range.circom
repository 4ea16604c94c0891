pragma circom 2.1.0;

include "signed_bits.circom";

// SignedRange(n): proves the strict bound -2^n < in < 2^n, as section 1 of the
// spec writes its input bounds (|q| < 2^48, |cash| < 2^80), and outputs neg = 1
// exactly when in < 0.
// How: SignedBits(n) gives -2^n <= in < 2^n; in + 2^n != 0 (shown by a hinted
// inverse) removes the single value -2^n.
// Preconditions: 1 <= n <= 251.  Cost: n + 3 constraints.
template SignedRange(n) {
    signal input in;
    signal output neg;
    component sb = SignedBits(n);
    sb.in <== in;
    neg <== sb.neg;

    signal shifted;
    shifted <== in + (1 << n);
    signal inv;
    inv <-- shifted != 0 ? 1 / shifted : 0;
    shifted * inv === 1;
}
