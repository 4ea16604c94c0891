pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "unsigned_range.circom";

// CanonicalSlots(k, IDB): spec section 2 canonical form of an account's slots.
//   nz[j] = (q[j] != 0)                                   (IsZero, 2 constraints)
//   nz[j+1] * (1 - nz[j]) == 0       slots with q != 0 come first
//   (1 - nz[j]) * id[j] == 0         a slot with q = 0 has id 0
//   nz[j+1] * (id[j+1] - id[j] - 1) in [0, 2^IDB)   ids strictly increase
// Precondition: 0 <= id[j] < 2^IDB (the caller range-checks ids, e.g. by the
// Num2Bits(2 d) that yields the Merkle digits), IDB <= 250; then a non-positive
// step id[j+1] - id[j] - 1 < 0 wraps to p - (small) and fails the range check.
// Cost per slot: 2 (IsZero) + 1 + 1 + 1 + IDB + 1.
template CanonicalSlots(k, IDB) {
    signal input q[k];
    signal input id[k];
    signal output nz[k];

    component isZero[k];
    for (var j = 0; j < k; j++) {
        isZero[j] = IsZero();
        isZero[j].in <== q[j];
        nz[j] <== 1 - isZero[j].out;
        (1 - nz[j]) * id[j] === 0;
    }
    signal step[k - 1];
    component stepRange[k - 1];
    for (var j = 0; j + 1 < k; j++) {
        nz[j + 1] * (1 - nz[j]) === 0;
        step[j] <== nz[j + 1] * (id[j + 1] - id[j] - 1);
        stepRange[j] = UnsignedRange(IDB);
        stepRange[j].in <== step[j];
    }
}
