// ZKPM-2's cross-asset aggregation in BigInt: the page's one place for this rule (the
// engine's is engine/aggregation.py; tests/web checks the two agree number for number).
//
// Each asset's worst loss W splits into a signed directional part S and a non-directional
// rest U = W - |S|. The directional parts combine through rho with their signs, so a hedge
// in a correlated asset lowers the margin and a doubled bet does not; the rest (what a
// straddle loses whichever way the spot moves) is added in full:
//
//   D[a]   = (P[a][10] + P[a][11]) - (P[a][12] + P[a][13])   +1 scan moves minus -1 moves
//   Dir[a] = fdiv(D[a], 4 * SCALE)                            signed, > 0 when long
//   S[a]   = clamp(Dir[a], -W[a], W[a]);  U[a] = W[a] - |S[a]|
//   X      = fdiv(sum_{a,b} rho[a][b] * S[a] * S[b], SCALE)
//   R_dir  = isqrt(max(0, X));  R = R_dir + sum_a U[a]
//
// P are the raw scenario sums (scale SCALE^2).

import { fdiv, isqrt, SCALE } from "./fixedpoint.js";

/** The model the page computes; params files name it. */
export const MODEL = "ZKPM-2";
/** Its number, the first input of the params hash. */
export const MODEL_ID = 2n;

/** Scenarios of the +1 and -1 scan moves (vol up and vol down). */
export const UP_MOVES = [10, 11];
export const DOWN_MOVES = [12, 13];
const DIR_DIVISOR = 2n * BigInt(UP_MOVES.length) * SCALE;

const sumOf = (xs) => xs.reduce((x, y) => x + y, 0n);

/** D: the +1 scan moves' P&L minus the -1 moves' (both vol shocks), raw. */
export function directionalSum(sums) {
  return sumOf(UP_MOVES.map((s) => sums[s])) - sumOf(DOWN_MOVES.map((s) => sums[s]));
}

/** { Dir, S, U } of one asset from its D and its worst loss W >= 0. */
export function splitRisk(dSum, w) {
  const dir = fdiv(dSum, DIR_DIVISOR);
  const s = dir > w ? w : dir < -w ? -w : dir;
  return { Dir: dir, S: s, U: w - (s < 0n ? -s : s) };
}

/** sum_{a,b} rho[a][b] * S[a] * S[b] (scale SCALE^3). */
export function correlatedSum(s, rho) {
  let total = 0n;
  for (let a = 0; a < s.length; a++) for (let b = 0; b < s.length; b++) total += rho[a][b] * s[a] * s[b];
  return total;
}

/** { X, Rdir, R } from the correlated sum and the non-directional rests. */
export function combinedRisk(xSum, u) {
  const X = fdiv(xSum, SCALE);
  const Rdir = isqrt(X > 0n ? X : 0n);
  return { X, Rdir, R: Rdir + sumOf(u) };
}
