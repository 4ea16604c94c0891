pragma circom 2.1.0;

// ZKPM-1 MarginCheck(A, k, d): "the account committed as `commitment`, valued
// with the market `market_root` and the parameters `params_hash`, has this
// status and shortfall" (spec section 6). Public signals, in order:
//   [status, shortfall, commitment, market_root, params_hash].
// The account's side is AccountMargin (shared with MarginBatch); this template
// binds it to the three public values.
// Design, signal list and every bit width: docs/circuit.md.

include "account_margin.circom";
include "gadgets/market_root.circom";
include "gadgets/params_hash.circom";

template MarginCheck(A, k, d) {
    // ---------------------------------------------------------- public
    signal input commitment;
    signal input market_root;
    signal input params_hash;
    signal output status;
    signal output shortfall;

    // ---------------------------------------------------------- private: account
    signal input account_id;
    signal input nonce;
    signal input salt;
    signal input cash;
    signal input slot_id[k];
    signal input slot_q[k];
    // ---------------------------------------------------------- private: rows
    signal input row_asset[k];
    signal input row_mark[k];
    signal input row_delta[k];
    signal input row_c_long[k];
    signal input row_c_short[k];
    signal input row_ra[k][16];
    signal input path[k][d][3];
    // ---------------------------------------------------------- private: market
    signal input spot[A];
    signal input depth[A];
    signal input tree_root;
    signal input epoch;
    // ---------------------------------------------------------- private: params
    signal input mm_factor;
    signal input kappa[A];
    signal input rho[A][A];

    // ================================================= market -> market_root
    component market = MarketRoot(A);
    market.tree_root <== tree_root;
    market.spot <== spot;
    market.depth <== depth;
    market.epoch <== epoch;
    market.root === market_root;

    // ================================================= params -> params_hash
    component params = ParamsHash(A);
    params.mm_factor <== mm_factor;
    params.kappa <== kappa;
    params.rho <== rho;
    params.out === params_hash;

    // ================================================= the account
    component acct = AccountMargin(A, k, d);
    acct.account_id <== account_id;
    acct.nonce <== nonce;
    acct.salt <== salt;
    acct.cash <== cash;
    acct.slot_id <== slot_id;
    acct.slot_q <== slot_q;
    acct.row_asset <== row_asset;
    acct.row_mark <== row_mark;
    acct.row_delta <== row_delta;
    acct.row_c_long <== row_c_long;
    acct.row_c_short <== row_c_short;
    acct.row_ra <== row_ra;
    acct.path <== path;
    acct.spot <== spot;
    acct.depth <== depth;
    acct.tree_root <== tree_root;
    acct.mm_factor <== mm_factor;
    acct.kappa <== kappa;
    acct.rho_upper <== params.upper;
    acct.commitment === commitment;
    status <== acct.status;
    shortfall <== acct.shortfall;
}
