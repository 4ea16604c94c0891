// ZKPM-2 section 5 in the browser: Poseidon (circomlib's, BN254, from poseidon-lite) and
// every hash the audit recomputes. Inputs are BigInt; signed values enter the field as
// x mod p, as the circuit sees them.
import { poseidon2 } from "poseidon-lite/poseidon2";
import { poseidon3 } from "poseidon-lite/poseidon3";
import { poseidon4 } from "poseidon-lite/poseidon4";
import { poseidon5 } from "poseidon-lite/poseidon5";
import { poseidon7 } from "poseidon-lite/poseidon7";
import { poseidon16 } from "poseidon-lite/poseidon16";
import { MODEL_ID } from "./aggregation.js";

export const FIELD_P =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const CHUNK = 15; // hash_list: Poseidon16 of the running hash and 15 values

export function toField(x) {
  const r = x % FIELD_P;
  return r < 0n ? r + FIELD_P : r;
}

const BY_WIDTH = { 2: poseidon2, 3: poseidon3, 4: poseidon4, 5: poseidon5, 7: poseidon7, 16: poseidon16 };

export function poseidon(inputs) {
  const fn = BY_WIDTH[inputs.length];
  if (!fn) throw new Error(`no Poseidon of ${inputs.length} inputs is used by the model`);
  return fn(inputs.map(toField));
}

/** Chained Poseidon16 over chunks of 15 values, the last padded with zeros; 0 for none. */
export function hashList(xs) {
  let h = 0n;
  for (let start = 0; start < xs.length; start += CHUNK) {
    const chunk = xs.slice(start, start + CHUNK);
    while (chunk.length < CHUNK) chunk.push(0n);
    h = poseidon([h, ...chunk]);
  }
  return h;
}

/** Leaf of an instrument row: Poseidon7(id, a, M, delta, c_long, c_short, Poseidon16(RA)). */
export function rowLeaf(row) {
  return poseidon([
    row.instrumentId,
    BigInt(row.asset),
    row.mark,
    row.delta,
    row.cLong,
    row.cShort,
    poseidon(row.ra),
  ]);
}

/** Root of a sparse 4-ary tree of `depth` levels; `leaves` maps index -> leaf, others 0. */
export function sparseRoot(leaves, depth) {
  let level = new Map(leaves);
  let empty = 0n;
  for (let h = 0; h < depth; h++) {
    const parents = new Map();
    for (const index of level.keys()) {
      const parent = index >> 2n;
      if (parents.has(parent)) continue;
      const children = [0n, 1n, 2n, 3n].map((c) => level.get(parent * 4n + c) ?? empty);
      parents.set(parent, poseidon(children));
    }
    empty = poseidon([empty, empty, empty, empty]);
    level = parents;
  }
  return level.get(0n) ?? empty;
}

/** The root a path gives: at each level the node goes in at its base-4 digit. */
export function pathRoot(leaf, position, siblings) {
  let node = leaf;
  let index = position;
  for (const sibs of siblings) {
    const digit = Number(index & 3n);
    const children = [...sibs.slice(0, digit), node, ...sibs.slice(digit)];
    node = poseidon(children);
    index >>= 2n;
  }
  return node;
}

export function assetHash(assets) {
  return hashList(assets.flatMap((a) => [a.spot, a.depth]));
}

/** tree_root, asset_hash and market_root = Poseidon3(tree_root, asset_hash, epoch). */
export function marketHashes(market) {
  const leaves = new Map([...market.rows.values()].map((r) => [r.instrumentId, rowLeaf(r)]));
  const treeRoot = sparseRoot(leaves, market.profile.depth);
  const assets = assetHash(market.assets);
  return { treeRoot, assetHash: assets, marketRoot: poseidon([treeRoot, assets, market.epoch]) };
}

/**
 * hash_list([MODEL_ID, mm_factor, kappa..., rho's upper triangle row by row, diagonal
 * included]): the model's number first, so ZKPM-2 parameters never hash as another model's.
 */
export function paramsHash(params) {
  const n = params.kappa.length;
  const upper = [];
  for (let a = 0; a < n; a++) for (let b = a; b < n; b++) upper.push(params.rho[a][b]);
  return hashList([MODEL_ID, params.mmFactor, ...params.kappa, ...upper]);
}

/** Poseidon5(account_id, nonce, salt, cash, hash_list(id_0, q_0, ..., id_{k-1}, q_{k-1})). */
export function commitment(account) {
  const positions = hashList(account.slots.flatMap((s) => [s.instrumentId, s.q]));
  return poseidon([account.accountId, account.nonce, account.salt, account.cash, positions]);
}

/** The accounts-tree leaf binding an id to its commitment: Poseidon2(id, commitment). */
export function accountLeaf(accountId, accountCommitment) {
  return poseidon([accountId, accountCommitment]);
}
