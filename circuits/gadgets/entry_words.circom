pragma circom 2.1.0;

include "widths.circom";

// EntryWords(K): the spec section 6b public words of K batch entries, two per word:
//   words[j] = entries[2j] + 2^126 entries[2j + 1]   (a last odd entry alone).
// Precondition: every entry is below 2^126 (BatchEntry), so each word is below
// 2^252 < r and names its two entries uniquely. Cost: 0 constraints (linear).
template EntryWords(K) {
    assert(K >= 1 && ENTRIES_PER_WORD() == 2);
    var W = entryWords(K);
    signal input entries[K];
    signal output words[W];

    for (var j = 0; j < W; j++) {
        if (2 * j + 1 < K) {
            words[j] <== entries[2 * j] + (1 << ENTRY_BITS()) * entries[2 * j + 1];
        } else {
            words[j] <== entries[2 * j];
        }
    }
}
