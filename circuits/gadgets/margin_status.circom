pragma circom 2.1.0;

include "is_negative.circom";
include "less_than_signed.circom";

// MarginStatus(CB): spec section 3 status and shortfall from equity E and the
// margins IM, MM (signed integers).
//   status = 3 if E < 0, else 2 if E < MM, else 1 if E < IM, else 0
//   shortfall = max(0, MM - E) = (E < MM) * (MM - E)
// The if-chain is computed as written, so it needs no ordering MM <= IM.
// Precondition (enforced by the comparators' range checks): -2^CB <= E, IM, MM < 2^CB.
// Cost: 3 comparisons (~3 CB) + 4 constraints.
template MarginStatus(CB) {
    signal input E;
    signal input IM;
    signal input MM;
    signal output status;
    signal output shortfall;

    component negE = IsNegative(CB);
    negE.in <== E;
    component belowMM = LessThanSigned(CB);
    belowMM.a <== E;
    belowMM.b <== MM;
    component belowIM = LessThanSigned(CB);
    belowIM.a <== E;
    belowIM.b <== IM;

    signal restricted;
    restricted <== (1 - belowMM.out) * belowIM.out;
    signal solventCode;
    solventCode <== (1 - negE.out) * (2 * belowMM.out + restricted);
    status <== 3 * negE.out + solventCode;
    shortfall <== belowMM.out * (MM - E);
}
