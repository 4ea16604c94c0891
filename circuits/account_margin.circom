pragma circom 2.1.0;

// AccountMargin(A, k, d): one account's side of ZKPM-2 (spec sections 3 and 5),
// shared by MarginCheck (one account) and MarginBatch (K accounts):
//   the account's commitment (spec section 5) from its fields, the rows of its
//   slots proven in the instrument tree `tree_root`, and its status and shortfall
//   (spec section 3) under the market values (spot, depth) and the parameters.
// Preconditions: the caller binds tree_root, spot, depth to a market root and
// mm_factor, kappa and rho's upper triangle (row by row, diagonal included) to a
// params hash (MarketRoot; ParamsHash, which also proves rho symmetric and outputs
// that triangle); nothing else is assumed about any input.
// Design, signal list and every bit width: docs/circuit.md.

include "circomlib/circuits/poseidon.circom";
include "gadgets/widths.circom";
include "gadgets/unsigned_range.circom";
include "gadgets/signed_range.circom";
include "gadgets/one_hot.circom";
include "gadgets/hash_list.circom";
include "gadgets/canonical_slots.circom";
include "gadgets/slot_inclusion.circom";
include "gadgets/worst_loss.circom";
include "gadgets/directional_split.circom";
include "gadgets/correlated_risk.circom";
include "gadgets/liquidity_addon.circom";
include "gadgets/floor_div_const.circom";
include "gadgets/margin_status.circom";

template AccountMargin(A, k, d) {
    signal output commitment;
    signal output status;
    signal output shortfall;

    // ---------------------------------------------------------- account
    signal input account_id;
    signal input nonce;
    signal input salt;
    signal input cash;
    signal input slot_id[k];
    signal input slot_q[k];
    // ---------------------------------------------------------- rows of the slots
    signal input row_asset[k];
    signal input row_mark[k];
    signal input row_delta[k];
    signal input row_c_long[k];
    signal input row_c_short[k];
    signal input row_ra[k][16];
    signal input path[k][d][3];
    // ---------------------------------------------------------- market and params (bound by the caller)
    signal input spot[A];
    signal input depth[A];
    signal input tree_root;
    signal input mm_factor;
    signal input kappa[A];
    signal input rho_upper[A * (A + 1) \ 2];

    // ================================================= 1. account -> commitment
    component idRange = UnsignedRange(ID_BITS());
    idRange.in <== account_id;
    component nonceRange = UnsignedRange(ID_BITS());
    nonceRange.in <== nonce;
    component cashRange = SignedRange(CASH_BITS());
    cashRange.in <== cash;
    _ <== cashRange.neg;  // only the range of cash matters

    component positions = HashList(2 * k);
    for (var j = 0; j < k; j++) {
        positions.in[2 * j] <== slot_id[j];
        positions.in[2 * j + 1] <== slot_q[j];
    }
    component commit = Poseidon(5);
    commit.inputs[0] <== account_id;
    commit.inputs[1] <== nonce;
    commit.inputs[2] <== salt;
    commit.inputs[3] <== cash;
    commit.inputs[4] <== positions.out;
    commitment <== commit.out;

    // ================================================= 2. slots: form, ranges, rows
    component canonical = CanonicalSlots(k, 2 * d);
    for (var j = 0; j < k; j++) {
        canonical.q[j] <== slot_q[j];
        canonical.id[j] <== slot_id[j];
    }

    component qRange[k];
    component inclusion[k];
    component assetSel[k];
    for (var j = 0; j < k; j++) {
        qRange[j] = SignedRange(Q_BITS());
        qRange[j].in <== slot_q[j];

        // id < 4^d (CanonicalSlots' precondition) and the row is in the tree
        inclusion[j] = SlotInclusion(d);
        inclusion[j].enabled <== canonical.nz[j];
        inclusion[j].id <== slot_id[j];
        inclusion[j].asset <== row_asset[j];
        inclusion[j].mark <== row_mark[j];
        inclusion[j].delta <== row_delta[j];
        inclusion[j].cLong <== row_c_long[j];
        inclusion[j].cShort <== row_c_short[j];
        for (var s = 0; s < 16; s++) {
            inclusion[j].ra[s] <== row_ra[j][s];
        }
        for (var l = 0; l < d; l++) {
            for (var i = 0; i < 3; i++) {
                inclusion[j].siblings[l][i] <== path[j][l][i];
            }
        }
        inclusion[j].treeRoot <== tree_root;

        // asset index < A, as a one-hot selector
        assetSel[j] = OneHot(A);
        assetSel[j].index <== row_asset[j];
    }

    // ================================================= 3. per-asset sums
    // qa[j][a] = q_j if slot j is on asset a else 0
    signal qa[k][A];
    signal raTerm[k][A][16];
    signal ndTerm[k][A];
    var scen[A][16];
    var nd[A];
    for (var a = 0; a < A; a++) {
        nd[a] = 0;
        for (var s = 0; s < 16; s++) { scen[a][s] = 0; }
    }
    for (var j = 0; j < k; j++) {
        for (var a = 0; a < A; a++) {
            qa[j][a] <== assetSel[j].e[a] * slot_q[j];
            for (var s = 0; s < 16; s++) {
                raTerm[j][a][s] <== qa[j][a] * row_ra[j][s];
                scen[a][s] += raTerm[j][a][s];
            }
            ndTerm[j][a] <== qa[j][a] * row_delta[j];
            nd[a] += ndTerm[j][a];
        }
    }

    // static charges and value: max(0, q) c_long + max(0, -q) c_short, q M
    signal qLong[k];
    signal longCharge[k];
    signal shortCharge[k];
    signal value[k];
    var chargeSum = 0;
    var valueSum = 0;
    for (var j = 0; j < k; j++) {
        qLong[j] <== slot_q[j] * (1 - qRange[j].neg);
        longCharge[j] <== qLong[j] * row_c_long[j];
        shortCharge[j] <== (qLong[j] - slot_q[j]) * row_c_short[j];
        chargeSum += longCharge[j] + shortCharge[j];
        value[j] <== slot_q[j] * row_mark[j];
        valueSum += value[j];
    }

    // ================================================= 4. scenario risk
    signal W[A];
    signal worst[A];
    component worstLoss[A];
    for (var a = 0; a < A; a++) {
        worstLoss[a] = WorstLoss(k);
        for (var s = 0; s < 16; s++) {
            worstLoss[a].sum[s] <== scen[a][s];
        }
        W[a] <== worstLoss[a].W;
        worst[a] <== worstLoss[a].worst;
        _ <== worstLoss[a].Lmin;
    }
    // ZKPM-2: each W splits into a signed directional part S and a rest U; the S are
    // combined through rho with their signs, the U added in full
    signal S[A];
    signal U[A];
    component split[A];
    var uSum = 0;
    for (var a = 0; a < A; a++) {
        split[a] = DirectionalSplit(k);
        split[a].up <== scen[a][10] + scen[a][11];
        split[a].down <== scen[a][12] + scen[a][13];
        split[a].W <== W[a];
        S[a] <== split[a].S;
        U[a] <== split[a].U;
        _ <== split[a].Dir;
        uSum += U[a];
    }
    component corr = CorrelatedRisk(A, k);
    for (var a = 0; a < A; a++) {
        corr.S[a] <== S[a];
    }
    corr.rhoUpper <== rho_upper;
    signal X;
    signal R;
    X <== corr.X;
    R <== corr.R + uSum;

    // ================================================= 5. liquidity add-on
    signal ND[A];
    signal N[A];
    signal LQ[A];
    component liquidity[A];
    var lqSum = 0;
    for (var a = 0; a < A; a++) {
        ND[a] <== nd[a];
        liquidity[a] = LiquidityAddOn(k);
        liquidity[a].ND <== ND[a];
        liquidity[a].spot <== spot[a];
        liquidity[a].depth <== depth[a];
        liquidity[a].kappa <== kappa[a];
        N[a] <== liquidity[a].N;
        LQ[a] <== liquidity[a].LQ;
        lqSum += LQ[a];
    }

    // ================================================= 6. margins, equity, status
    component scDiv = FloorDivConst(sumBits(k), SCALE());
    scDiv.n <== chargeSum;
    signal SC;
    SC <== scDiv.q;
    _ <== scDiv.r;  // remainders and signs of the three divisions: constrained inside
    _ <== scDiv.qneg;

    signal IM;
    IM <== R + lqSum + SC;
    signal mmNum;
    mmNum <== IM * mm_factor;
    component mmDiv = FloorDivConst(imBits(A, k) + MM_FACTOR_BITS(), SCALE());
    mmDiv.n <== mmNum;
    signal MM;
    MM <== mmDiv.q;
    _ <== mmDiv.r;
    _ <== mmDiv.qneg;

    component valueDiv = FloorDivConst(sumBits(k), SCALE());
    valueDiv.n <== valueSum;
    signal E;
    E <== cash + valueDiv.q;
    _ <== valueDiv.r;
    _ <== valueDiv.qneg;

    component verdict = MarginStatus(cmpBits(A, k));
    verdict.E <== E;
    verdict.IM <== IM;
    verdict.MM <== MM;
    status <== verdict.status;
    shortfall <== verdict.shortfall;
}
