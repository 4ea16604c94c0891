// ZKPM-2 section 3 in BigInt: the margin of one account, a second implementation written
// from the spec (the Python engine is the first; tests/web checks the two agree on every
// parity account). No floating point anywhere; the cross-asset rule is aggregation.js's.

import { combinedRisk, correlatedSum, directionalSum, splitRisk } from "./aggregation.js";
import { fdiv, SCALE } from "./fixedpoint.js";

export const SCENARIOS = 16;
export const STATUS_NAMES = ["healthy", "restricted", "liquidatable", "insolvent"];

const max = (a, b) => (a > b ? a : b);
const abs = (a) => (a < 0n ? -a : a);

/**
 * The margin of `account` in `market` under resolved `params` (A kappas, A x A rho).
 * Returns every number of section 3 plus, per asset, the first worst scenario: per asset
 * the worst loss W, the raw directional sum D, the signed direction Dir, the directional part S and the rest U; the
 * correlated sum X, R's directional part Rdir and R = Rdir + sum U.
 */
export function computeMargin(market, params, account) {
  const n = market.profile.assets;
  const sums = Array.from({ length: n }, () => new Array(SCENARIOS).fill(0n));
  const nd = new Array(n).fill(0n);
  let scSum = 0n;
  let valueSum = 0n;
  account.slots.forEach((slot, j) => {
    const q = slot.q;
    if (q === 0n) return;
    const row = market.rows.get(slot.instrumentId);
    if (!row) {
      throw new Error(
        `account.positions: instrument ${slot.instrumentId} (slot ${j}) is not in the market (epoch ${market.epoch})`,
      );
    }
    const acc = sums[row.asset];
    for (let s = 0; s < SCENARIOS; s++) acc[s] += q * row.ra[s];
    nd[row.asset] += q * row.delta;
    scSum += max(0n, q) * row.cLong + max(0n, -q) * row.cShort;
    valueSum += q * row.mark;
  });
  const W = [];
  const worstScenario = [];
  for (const assetSums of sums) {
    let worst = 0;
    for (let s = 1; s < SCENARIOS; s++) if (assetSums[s] < assetSums[worst]) worst = s;
    worstScenario.push(worst);
    // max over s of -L[a][s] = -fdiv(min_s sum, SCALE): fdiv is monotone
    W.push(max(0n, -fdiv(assetSums[worst], SCALE)));
  }
  const D = sums.map(directionalSum);
  const split = D.map((d, a) => splitRisk(d, W[a]));
  const S = split.map((x) => x.S);
  const U = split.map((x) => x.U);
  const { X, Rdir, R } = combinedRisk(correlatedSum(S, params.rho), U);
  const LQ = [];
  for (let a = 0; a < n; a++) {
    const N = fdiv(abs(nd[a]) * market.assets[a].spot, SCALE * SCALE);
    LQ.push(fdiv(params.kappa[a] * N * N, market.assets[a].depth * SCALE));
  }
  const SC = fdiv(scSum, SCALE);
  const IM = R + LQ.reduce((x, y) => x + y, 0n) + SC;
  const MM = fdiv(IM * params.mmFactor, SCALE);
  const E = account.cash + fdiv(valueSum, SCALE);
  const status = E < 0n ? 3 : E < MM ? 2 : E < IM ? 1 : 0;
  return {
    W,
    worstScenario,
    D,
    Dir: split.map((x) => x.Dir),
    S,
    U,
    X,
    Rdir,
    R,
    LQ,
    SC,
    IM,
    MM,
    E,
    status,
    shortfall: max(0n, MM - E),
  };
}
