pragma circom 2.1.0;

// Bit widths of ZKPM-2 (spec section 1 bounds), as functions of the profile.
// Every range check in MarginCheck takes its width from here; docs/circuit.md
// derives each one. "x has B bits (signed)" means -2^B <= x < 2^B.

// ceil(log2(n)) for n >= 1: the smallest b with 2^b >= n.
function clog2(n) {
    var b = 0;
    while ((1 << b) < n) { b++; }
    return b;
}


// ---- section 1 input bounds (strict: |x| < 2^B unless noted)
function Q_BITS() { return 48; }        // |q| < 2^48
function CASH_BITS() { return 80; }     // |cash| < 2^80
function VALUE_BITS() { return 48; }    // |M|, |RA[s]|, c_long, c_short < 2^48
function DELTA_BITS() { return 24; }    // |delta| <= 16 * 10^6 < 2^24
function SPOT_BITS() { return 48; }     // 0 <= S < 2^48
function DEPTH_BITS() { return 64; }    // 0 < D < 2^64
function KAPPA_BITS() { return 32; }    // 0 <= kappa < 2^32
function RHO_BITS() { return 20; }      // |rho| <= 10^6 < 2^20
function MM_FACTOR_BITS() { return 20; } // 0 < mm_factor <= 10^6 < 2^20
function ID_BITS() { return 64; }       // account_id, nonce < 2^64
function SCALE() { return 1000000; }
function SCALE_LOG_FLOOR() { return 19; }   // 2^19 <= 10^6
function SCALE2_LOG_FLOOR() { return 39; }  // 2^39 <= 10^12

// |sum_j q_j * x_j| over k slots, x in {RA[s], M, charge}: each term < 2^96.
function sumBits(k) { return Q_BITS() + VALUE_BITS() + clog2(k); }
// |fdiv(sum, 10^6)|, also bounds W[a] and fdiv(value_sum, 10^6) and SC.
function lossBits(k) { return sumBits(k) - SCALE_LOG_FLOOR(); }
// |D| = |(sum[10] + sum[11]) - (sum[12] + sum[13])| < 4 * 2^sumBits (ZKPM-2's direction);
// its quotient by 4 * 10^6 >= 2^21 is below 2^(dirSumBits - 21) = 2^lossBits.
function dirSumBits(k) { return sumBits(k) + 2; }
// |sum_{a,b} rho[a][b] S[a] S[b]|: A^2 terms, each < 2^20 * 2^(2 lossBits) (|S| <= W).
function corrSumBits(A, k) { return 2 * lossBits(k) + RHO_BITS() + clog2(A * A); }
// |X| = |fdiv(corrSum, 10^6)|.
function xBits(A, k) { return corrSumBits(A, k) - SCALE_LOG_FLOOR(); }
// R_dir = isqrt(max(0, X)) < 2^ceil(xBits / 2); ZKPM-2's R = R_dir + sum_a U[a] <= sum_a W[a]
// < A 2^lossBits <= 2^rootBits (rootBits >= lossBits + clog2(A): docs/circuit.md).
function rootBits(A, k) { return (xBits(A, k) + 1) \ 2; }
// |ND[a]| = |sum q * delta| < k * 2^48 * 2^24.
function ndBits(k) { return Q_BITS() + DELTA_BITS() + clog2(k); }
// N[a] = fdiv(|ND| * S, 10^12) < 2^(ndBits + 48 - 39).
function notionalBits(k) { return ndBits(k) + SPOT_BITS() - SCALE2_LOG_FLOOR(); }
// kappa * N^2 < 2^(32 + 2 notionalBits).
function lqNumBits(k) { return KAPPA_BITS() + 2 * notionalBits(k); }
// fdiv(kappa N^2, 10^6) and LQ = fdiv(that, D) (D >= 1) are below 2^lqBits.
function lqBits(k) { return lqNumBits(k) - SCALE_LOG_FLOOR(); }
// IM = R + sum_a LQ[a] + SC: A + 2 terms.
function imBits(A, k) {
    var m = rootBits(A, k);
    if (lqBits(k) > m) { m = lqBits(k); }
    if (lossBits(k) > m) { m = lossBits(k); }
    return m + clog2(A + 2);
}
// |E| = |cash + fdiv(value_sum, 10^6)|.
function equityBits(k) {
    var m = CASH_BITS();
    if (lossBits(k) > m) { m = lossBits(k); }
    return m + 1;
}
// Operands of the status comparisons (E, MM, IM) are all below 2^cmpBits.
function cmpBits(A, k) {
    var m = equityBits(k);
    if (imBits(A, k) > m) { m = imBits(A, k); }
    return m;
}

// ---- batch entries (spec section 6b): an entry is
//   id + 2^64 status + 2^66 min(shortfall, 2^60 - 1) < 2^126,
// and two entries share one public word, entry[2j] + 2^126 entry[2j+1] < 2^252 < r.
function ENTRY_STATUS_SHIFT() { return 64; }
function ENTRY_SHORTFALL_SHIFT() { return 66; }
function ENTRY_SHORTFALL_BITS() { return 60; }  // the shortfall is capped at 2^60 - 1
function ENTRY_BITS() { return 126; }
function ENTRIES_PER_WORD() { return 2; }
// W, the public words of K entries: ceil(K / 2).
function entryWords(K) { return (K + 1) \ 2; }
function shortfallBits(A, k) { return cmpBits(A, k) + 1; }
