pragma circom 2.1.0;

// ZKPM-1 MarginBatch(A, k, d, K, D): "each of the first `count` entries names an
// account of the accounts tree `accounts_root` and its status and shortfall,
// valued with the market `market_root` and the parameters `params_hash`; their
// ids strictly increase; the other entries are 0" (spec section 6b).
// Public signals, all inputs, in this order:
//   [accounts_root, market_root, params_hash, count, words[0..W-1]], W = ceil(K/2),
// words[j] = entry[2j] + 2^126 entry[2j+1] (EntryWords), and
// entry[i] = account_id + 2^64 status + 2^66 min(shortfall, 2^60 - 1) (BatchEntry).
// Per entry: AccountMargin (as in MarginCheck), AccountInclusion in the accounts
// tree of depth D, the packed entry, and the id order. The market root and the
// params hash are proven once for the whole batch.
// Design, signal list, costs: docs/circuit.md section 11.

include "account_margin.circom";
include "gadgets/widths.circom";
include "gadgets/unsigned_range.circom";
include "gadgets/market_root.circom";
include "gadgets/params_hash.circom";
include "gadgets/prefix_mask.circom";
include "gadgets/account_inclusion.circom";
include "gadgets/batch_entry.circom";
include "gadgets/entry_words.circom";

template MarginBatch(A, k, d, K, D) {
    // ---------------------------------------------------------- public
    signal input accounts_root;
    signal input market_root;
    signal input params_hash;
    signal input count;
    signal input words[entryWords(K)];

    // ---------------------------------------------------------- private: K accounts
    signal input account_id[K];
    signal input nonce[K];
    signal input salt[K];
    signal input cash[K];
    signal input slot_id[K][k];
    signal input slot_q[K][k];
    signal input row_asset[K][k];
    signal input row_mark[K][k];
    signal input row_delta[K][k];
    signal input row_c_long[K][k];
    signal input row_c_short[K][k];
    signal input row_ra[K][k][16];
    signal input path[K][k][d][3];
    signal input account_position[K];
    signal input account_path[K][D][3];
    // ---------------------------------------------------------- private: market
    signal input spot[A];
    signal input depth[A];
    signal input tree_root;
    signal input epoch;
    // ---------------------------------------------------------- private: params
    signal input mm_factor;
    signal input kappa[A];
    signal input rho[A][A];

    // ================================================= market and params, once
    component market = MarketRoot(A);
    market.tree_root <== tree_root;
    market.spot <== spot;
    market.depth <== depth;
    market.epoch <== epoch;
    market.root === market_root;

    component params = ParamsHash(A);
    params.mm_factor <== mm_factor;
    params.kappa <== kappa;
    params.rho <== rho;
    params.out === params_hash;

    // ================================================= which entries are used
    component mask = PrefixMask(K);
    mask.count <== count;

    // ================================================= each entry
    component acct[K];
    component member[K];
    component entry[K];
    component order[K];
    component pack = EntryWords(K);
    signal step[K];
    step[0] <== 0;  // the first entry has no predecessor
    for (var i = 0; i < K; i++) {
        acct[i] = AccountMargin(A, k, d);
        acct[i].account_id <== account_id[i];
        acct[i].nonce <== nonce[i];
        acct[i].salt <== salt[i];
        acct[i].cash <== cash[i];
        acct[i].slot_id <== slot_id[i];
        acct[i].slot_q <== slot_q[i];
        acct[i].row_asset <== row_asset[i];
        acct[i].row_mark <== row_mark[i];
        acct[i].row_delta <== row_delta[i];
        acct[i].row_c_long <== row_c_long[i];
        acct[i].row_c_short <== row_c_short[i];
        acct[i].row_ra <== row_ra[i];
        acct[i].path <== path[i];
        acct[i].spot <== spot;
        acct[i].depth <== depth;
        acct[i].tree_root <== tree_root;
        acct[i].mm_factor <== mm_factor;
        acct[i].kappa <== kappa;
        acct[i].rho_upper <== params.upper;

        member[i] = AccountInclusion(D);
        member[i].enabled <== mask.used[i];
        member[i].account_id <== account_id[i];
        member[i].commitment <== acct[i].commitment;
        member[i].position <== account_position[i];
        member[i].siblings <== account_path[i];
        member[i].accountsRoot <== accounts_root;

        entry[i] = BatchEntry(shortfallBits(A, k));
        entry[i].used <== mask.used[i];
        entry[i].account_id <== account_id[i];
        entry[i].status <== acct[i].status;
        entry[i].shortfall <== acct[i].shortfall;
        pack.entries[i] <== entry[i].entry;

        // a used entry's id is above the previous entry's (ids < 2^64, so a
        // non-positive step wraps to p - small and fails the range check)
        if (i > 0) {
            step[i] <== mask.used[i] * (account_id[i] - account_id[i - 1] - 1);
            order[i] = UnsignedRange(ID_BITS());
            order[i].in <== step[i];
        }
    }
    for (var j = 0; j < entryWords(K); j++) {
        pack.words[j] === words[j];
    }
}
