pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "widths.circom";

// BatchEntry(SB): spec section 6b public entry of one account in a batch,
//   entry = used * (account_id + 2^64 status + 2^66 min(shortfall, CAP)),
// CAP = 2^60 - 1, so a padding entry (used = 0) is 0 whatever its witness.
// Preconditions: used is a bit, 0 <= account_id < 2^64, 0 <= status <= 3 and
// 0 <= shortfall < 2^SB with 60 < SB <= 252 (asserted): the capped shortfall is
// below 2^60, the entry below 2^126, and the gate's decoding by shifts is unique.
// Cost: SB + 1 (LessThan) + 1 (cap) + 1 (entry) constraints.
template BatchEntry(SB) {
    assert(ENTRY_SHORTFALL_SHIFT() + ENTRY_SHORTFALL_BITS() == ENTRY_BITS());
    assert(SB > ENTRY_SHORTFALL_BITS() && SB <= 252);
    signal input used;
    signal input account_id;
    signal input status;
    signal input shortfall;
    signal output entry;

    var CAP = (1 << ENTRY_SHORTFALL_BITS()) - 1;
    component below = LessThan(SB);
    below.in[0] <== shortfall;
    below.in[1] <== CAP;
    signal capped <== CAP + below.out * (shortfall - CAP);

    entry <== used * (account_id + (1 << ENTRY_STATUS_SHIFT()) * status
                      + (1 << ENTRY_SHORTFALL_SHIFT()) * capped);
}
