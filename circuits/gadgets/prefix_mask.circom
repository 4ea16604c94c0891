pragma circom 2.1.0;

// PrefixMask(K): used[i] = 1 for i < count, 0 for i >= count, and 0 <= count <= K.
//   used[i] is a bit, used[i + 1] * (1 - used[i]) == 0 (ones come first),
//   sum(used) == count.
// A count outside 0..K has no satisfying mask (the sum of K bits is in 0..K).
// No precondition. Cost: K + (K - 1) + 1 constraints.
template PrefixMask(K) {
    assert(K >= 1);
    signal input count;
    signal output used[K];

    var total = 0;
    for (var i = 0; i < K; i++) {
        used[i] <-- i < count ? 1 : 0;
        used[i] * (used[i] - 1) === 0;
        if (i > 0) {
            used[i] * (1 - used[i - 1]) === 0;
        }
        total += used[i];
    }
    total === count;
}
