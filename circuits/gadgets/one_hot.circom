pragma circom 2.1.0;

// OneHot(n): e[i] = 1 exactly when index == i, proving 0 <= index < n.
//   e[i] * (e[i] - 1) == 0, sum e[i] == 1, sum i * e[i] == index.
// e is hinted; the three constraints fix it: exactly one e[i] is 1 and its
// position is index, so an index outside 0..n-1 has no witness.
// Cost: n + 2 constraints.
template OneHot(n) {
    signal input index;
    signal output e[n];
    var total = 0;
    var weighted = 0;
    for (var i = 0; i < n; i++) {
        e[i] <-- index == i ? 1 : 0;
        e[i] * (e[i] - 1) === 0;
        total += e[i];
        weighted += i * e[i];
    }
    total === 1;
    weighted === index;
}
