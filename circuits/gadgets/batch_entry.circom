pragma circom 2.1.0;

include "widths.circom";

// BatchEntry(SB): spec section 6b public entry of one account in a batch,
//   entry = used * (account_id + 2^64 status + 2^66 shortfall),
// so a padding entry (used = 0) is 0 whatever its witness.
// Preconditions: used is a bit, 0 <= account_id < 2^64, 0 <= status <= 3 and
// 0 <= shortfall < 2^SB with 66 + SB <= 253 (asserted): the sum is then below
// 2^253 < r, never wraps, and the gate's decoding by shifts is unique.
// Cost: 1 constraint.
template BatchEntry(SB) {
    assert(ENTRY_SHORTFALL_SHIFT() + SB <= ENTRY_BITS());
    signal input used;
    signal input account_id;
    signal input status;
    signal input shortfall;
    signal output entry;

    entry <== used * (account_id + (1 << ENTRY_STATUS_SHIFT()) * status
                      + (1 << ENTRY_SHORTFALL_SHIFT()) * shortfall);
}
